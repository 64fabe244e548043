-- multiprocessing.Manager: dict, list and Namespace proxies shared with
-- child processes; operations, errors, snapshots, shutdown.
-- run: --gil=on
-- run: --gil=off
local mp = require "multiprocessing"

local mg = mp.Manager()
assert(mg.pid > 0 and mg.pid ~= os.getpid())
local d = mg:dict({a = 1})
local l = mg:list({10, 20})
local ns = mg:Namespace()
ns.x = 1

local procs = {}
for k = 1, 3 do
  procs[k] = mp.Process{target = function()
    d["k" .. k] = k
    l:append(k)
    ns.x = ns.x + 0   -- a read and a write from the child
  end}
  procs[k]:start()
end
for k = 1, 3 do procs[k]:join(); assert(procs[k].exitcode == 0) end
assert(d.k1 == 1 and d.k2 == 2 and d.k3 == 3 and d.a == 1)
assert(#l == 5 and l[1] == 10 and l[2] == 20)
assert(ns.x == 1)

-- dict operations
assert(d:get("zz", "default") == "default")
assert(d:get("a") == 1 and d:has("a") and not d:has("zz"))
d.a = nil
assert(d.a == nil and not d:has("a"))
d:update({p = 1, q = 2})
assert(d:setdefault("p", 99) == 1 and d:setdefault("r", 3) == 3)
assert(d:pop("r") == 3 and d:pop("r", "none") == "none")
local ok, e = pcall(d.pop, d, "r")
assert(not ok and e:find("KeyError"), e)
local keys = d:keys()
assert(#keys == 5, #keys)
local count = 0
for k, v in pairs(d) do count = count + 1; assert(d[k] == v) end
assert(count == 5 and #d == 5)
local snap = d:copy()
assert(snap.p == 1 and snap.k3 == 3)
d[2] = "two"
assert(d[2] == "two")

-- list operations (the children appended in any order: start afresh)
local fromkids = {}
for i = 3, 5 do fromkids[l[i]] = true end
assert(fromkids[1] and fromkids[2] and fromkids[3])
l:clear()
l:extend({10, 20, 1, 2, 3})
l:insert(1, 5)
assert(l[1] == 5 and #l == 6)
assert(l:pop() == 3 and #l == 5)
assert(l:pop(1) == 5)
l:remove(20)
assert(l:index(10) == 1 and l:count(10) == 1 and l:has(1))
l:extend({7, 7})
assert(l:count(7) == 2 and l[-1] == 7)
l[1] = "first"
assert(l[1] == "first")
ok, e = pcall(function() return l[100] end)
assert(not ok and e:find("IndexError"), e)
ok, e = pcall(l.remove, l, "absent")
assert(not ok and e:find("ValueError"), e)
assert(tostring(l) == "['first', 1, 2, 7, 7]", tostring(l))
local t = l:tolist()
assert(t[1] == "first" and t.n == 5)
l:clear()
assert(#l == 0 and tostring(l) == "[]")
assert(tostring(ns) == "Namespace(x=1)", tostring(ns))

-- values that cannot travel are refused
ok, e = pcall(function() d.co = coroutine.create(print) end)
assert(not ok and e:find("coroutine"), e)

mg:shutdown()
ok, e = pcall(function() return d.p end)
assert(not ok and e:find("shut down"), e)

-- a dead server makes calls fail instead of hanging
local m2 = mp.Manager()
local d2 = m2:dict()
os.kill(m2.pid, "KILL")
ok, e = pcall(function() d2.x = 1 end)
assert(not ok and e:find("gone"), e)
print("ok")

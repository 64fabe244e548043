-- Arena objects inside messages: a Value, Queue, Lock and Manager proxy
-- created AFTER a Pool started travel in task arguments and results, in
-- Queue items and Pipe messages (cycles kept), and in the upvalues of
-- functions sent; the receiver gets a handle on the same shared object.
-- Forged references are refused.
-- run: --gil=on
-- run: --gil=off
local mp = require "multiprocessing"

local pool = mp.Pool(2)
local v = mp.Value("i", 0)          -- all made after the pool's workers forked
local q = mp.Queue()
local l = mp.Lock()
local r = pool:apply_async(function(t)
  for _ = 1, 100 do t.lock:acquire(); t.v.value = t.v.value + 1; t.lock:release() end
  t.q:put({v = t.v, msg = "hi"})
  return t.v
end, {{v = v, q = q, lock = l}})
assert(r:get(10) == v, "the result is the same Value")
local item = q:get(true, 10)
assert(item.v == v and item.msg == "hi")
assert(v.value == 100)
-- two workers update v at once: the read-modify-write takes v's own lock
local counts = pool:map(function(t)
                          local lk = t[1]:get_lock()
                          lk:acquire(); t[1].value = t[1].value + t[2]; lk:release()
                          return t[1].value >= t[2]
                        end, {{v, 1}, {v, 2}, {v, 3}})
assert(counts[1] and counts[3] and v.value == 106, v.value)

-- a Pipe message with a cycle and a shared sub-table
local a, b = mp.Pipe()
local cyc = {v = v}
cyc.self = cyc
cyc.again = {v}
local p = mp.Process{target = function()
  local m = b:recv()
  assert(m.self == m and m.again[1] == m.v)
  m.v.value = m.v.value + 1
  b:send(m.v)
end}
p:start()
a:send(cyc)
assert(a:recv() == v)
p:join()
assert(p.exitcode == 0 and v.value == 107)

-- Manager proxies reach pool workers
local mg = mp.Manager()
local d = mg:dict()
pool:map(function(x) x[1][x[2]] = x[2] * 2 end, {{d, 1}, {d, 2}, {d, 3}})
assert(d[1] == 2 and d[2] == 4 and d[3] == 6)
mg:shutdown()

-- as table keys
q:put({[v] = "value as key"})
local t = q:get(true, 5)
local k = next(t)
assert(k == v and t[k] == "value as key")

-- a forged reference is an error, not a crash
q:put({["\0gillua.mp\0"] = {"multiprocessing.Value", 12345, 1, 0}})
local ok, e = pcall(q.get, q)
assert(not ok and e:find("bad reference"), e)
-- process-local runtime objects are refused when sent, naming where they sit
local th = require "threading"
ok, e = pcall(q.put, q, {lock = th.Lock()})
assert(not ok and e:find("cannot transfer threading.Lock at item.lock", 1, true), e)
ok, e = pcall(pool.apply, pool, function(x) return x end, {require("queue").Queue()})
assert(not ok and e:find("cannot transfer queue.Queue", 1, true), e)
assert(q:empty())

-- closures: objects in a function's upvalues travel too. The function is
-- copied with its upvalues rewritten; the sender's own is left as it was.
local v2 = mp.Value("i", 0)          -- made after the pool started, too
local q2 = mp.Queue()
local function bump(n)
  v2.value = v2.value + n
  q2:put(n)
  return v2
end
assert(pool:apply(bump, {5}) == v2 and v2.value == 5, "task closing over a Value")
assert(q2:get(true, 5) == 5, "task closing over a Queue")
local _, up = debug.getupvalue(bump, 1)
assert(up == v2, "the sender's function keeps its upvalue")
-- through a helper function's upvalue, and a table upvalue that holds it
local box = {v = v2}
local function helper(n) box.v.value = box.v.value + n end
assert(pool:apply(function(n) helper(n); return box.v.value end, {2}) == 7)
-- a recursive local function (its own upvalue)
local function fact(n) if n <= 1 then return v2.value // v2.value end return n * fact(n - 1) end
assert(pool:apply(fact, {5}) == 120)
-- two closures over one variable still share it after the trip
local function make()
  local count = 0
  return function() count = count + 1 end, function() return count, v2 end
end
local inc, get = make()
q:put({inc = inc, get = get})
local m = q:get(true, 5)
assert(m.inc ~= inc, "a copy arrives")
m.inc(); m.inc()
local c, vv = m.get()
assert(c == 2 and vv == v2, "the shared upvalue is kept: " .. tostring(c))
assert(get() == 0, "the sender's closures are untouched")
-- in a Pipe message to another process
local a3, b3 = mp.Pipe()
local child = mp.Process{target = function()
  local f = b3:recv()
  b3:send(f())
end}
child:start()
a3:send(function() v2.value = v2.value + 100; return v2 end)
assert(a3:recv() == v2 and v2.value == 107)
child:join()
assert(child.exitcode == 0)
-- a process-local object in an upvalue is still refused, naming where
local tl = th.Lock()
ok, e = pcall(pool.apply, pool, function() return tl end, {})
assert(not ok and e:find("cannot transfer threading.Lock at upvalue 'tl' of func", 1, true), e)
pool:close()
pool:join()
print("ok")

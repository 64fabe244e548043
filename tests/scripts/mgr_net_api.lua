-- run:
-- run: --gil=off
-- timeout: 60
-- expect-stderr: multiprocessing.managers: 127.0.0.1:%d+: authentication failed
-- multiprocessing.managers over TCP: BaseManager's names and behaviour
-- (register, start with an initializer, port 0, address, proxies that
-- forward calls with results and errors, reference counts, shutdown),
-- SyncManager / mp.Manager{address=}'s types, get_server():serve_forever()
-- in another process, allow_functions, misuse.
local managers, queue = require "multiprocessing.managers", require "queue"
local mp, threading = require "multiprocessing", require "threading"
local E = dofile("tests/lib/expect.lua")

-- a registered class: its public methods are exposed, fields readable
local Counter = {}
Counter.__index = Counter
function Counter:add(n) self.n = self.n + n return self.n end
function Counter:fail() error("boom in the server") end
function Counter:pair() return 1, nil, "three" end
local function new_counter(start) return setmetatable({n = start or 0, label = "c"}, Counter) end

local m = managers.BaseManager{address = {"127.0.0.1", 0}, authkey = "k1"}
m:register("Counter", new_counter)
m:register("shared", function() return SHARED end)   -- set by the initializer
m:register("fn_caller", function() return {call = function(_, f, x) return f(x) end} end)
E.error("Counter%(%): the manager is not started", m.Counter, m)
m:start(function(v) SHARED = queue.Queue() SHARED:put(v) end, {"from init"})
E.error("register types before start", m.register, m, "late", print)
E.error("already started", m.start, m)
local port = m.address[2]
assert(m.address[1] == "127.0.0.1" and math.type(port) == "integer" and port > 0, tostring(port))
assert(tostring(m):find("state=started"), tostring(m))

local c = m:Counter(10)
assert(c:add(5) == 15 and c:add(1) == 16)
assert(c.n == 16 and c.label == "c")           -- fields: read in the server
c.n = 100
assert(c:add(1) == 101)
local a, b, cc = c:pair()
assert(a == 1 and b == nil and cc == "three")
local err = E.error("boom in the server", c.fail, c)
assert(err:find("remote stack traceback", 1, true) and err:find("mgr_net_api.lua", 1, true), err)
assert(m:shared():get() == "from init")         -- the initializer ran in the server

-- reference counting: proxies dropped here free the server's objects
collectgarbage() collectgarbage()
local base = m:_number_of_objects()      -- (sends the drops of proxies collected so far)
do local tmp = {} for i = 1, 20 do tmp[i] = m:Counter(i) end end
assert(m:_number_of_objects() == base + 20, base .. " " .. m:_number_of_objects())
collectgarbage() collectgarbage()
m:Counter()                                      -- the drops travel with a request
collectgarbage() collectgarbage()
assert(m:_number_of_objects() <= base + 1, m:_number_of_objects())

-- Lua functions: refused unless allowed on both sides
local caller = m:fn_caller()
E.error("refuses Lua functions", caller.call, caller, function(x) return x end, 1)
E.error("sent by name", caller.call, caller, os.getenv, "HOME")   -- no os.execute by name either
E.error("sent by name", caller.call, caller, {lib = string}, "x")
m:shutdown()
m:shutdown()                                     -- twice is harmless
E.error("not started or connected", m.Counter, m)
E.error("closed the connection", c.add, c, 1)

local mf = managers.BaseManager{address = {"127.0.0.1", 0}, authkey = "k2", allow_functions = true}
mf:register("fn_caller", function() return {call = function(_, f, x) return f(x) end} end)
mf:start()
local fc = mf:fn_caller()
assert(fc:call(function(x) return x * 2 end, 21) == 42)
assert(fc:call(string.upper, "ok") == "OK")
mf:shutdown()

-- SyncManager's types through multiprocessing.Manager{address=}
local sm <close> = mp.Manager{address = {"127.0.0.1", 0}, authkey = "k3"}
local d, l, ns = sm:dict({a = 1}), sm:list({1, 2}), sm:Namespace()
d.b = 2; d.a = nil
assert(d.b == 2 and d:get("a", "none") == "none" and #d == 1 and tostring(d) == "{'b': 2}")
E.error("KeyError: 'zz'", d.pop, d, "zz")
l:append(3); l[1] = 10
assert(#l == 3 and l[-1] == 3 and tostring(l) == "[10, 2, 3]" and l:index(2) == 2)
E.error("IndexError", function() return l[9] end)
ns.x = 5
assert(ns.x == 5 and tostring(ns) == "Namespace(x=5)")
local sq, lock, ev, v = sm:Queue(), sm:Lock(), sm:Event(), sm:Value("i", 7)
sq:put({k = {1, 2}})
assert(sq:get().k[2] == 2)
E.error("queue.Empty", sq.get, sq, false)
E.error("args%[1%] is a proxy", sq.put, sq, d)
E.error("cannot transfer coroutine at args%[1%]%.co", sq.put, sq, {co = coroutine.create(print)})
assert(select(2, pcall(sq.get, sq, false)) == queue.Empty)   -- the error object itself
assert(lock:acquire() == true and lock:acquire(true, 0.05) == false)
lock:release()
assert(not ev:is_set()); ev:set(); assert(ev:wait(1) == true)
assert(v.value == 7); v.value = 8; assert(v:get() == 8)
local big = {}
for i = 1, 100000 do big[i] = i end
d.big = big                                       -- frames of megabytes, both ways
assert(#d.big == 100000 and d.big[100000] == 100000)

-- a client in another process (connect), and serve_forever in a third
local sm2 = managers.SyncManager{address = {"127.0.0.1", sm.address[2]}, authkey = "k3"}
sm2:connect()
assert(sm2:dict({z = 1}).z == 1)
local p = mp.Process{target = function()
  local cm = managers.SyncManager{address = {"127.0.0.1", sm.address[2]}, authkey = "k3"}
  cm:connect()
  local q2 = cm:Queue()
  q2:put("from child")
  local shared = cm:dict()
  shared.q = "ok"
end}
p:start(); p:join(20)
assert(p.exitcode == 0, tostring(p.exitcode))

local srv_mgr = managers.BaseManager{address = {"127.0.0.1", 0}, authkey = "k4"}
local box = queue.Queue()
srv_mgr:register("box", function() return box end)
local server = srv_mgr:get_server()
local sport = server.address[2]
assert(sport > 0 and srv_mgr.address[2] == sport)
local sp = mp.Process{target = function() server:serve_forever() end}
sp:start()
local cl = managers.BaseManager{address = {"127.0.0.1", sport}, authkey = "k4"}
cl:register("box")
cl:connect()
cl:box():put(42)
assert(cl:box():get(true, 5) == 42)
local wrong = managers.BaseManager{address = {"127.0.0.1", sport}, authkey = "nope"}
E.error("authentication failed", wrong.connect, wrong)
assert(cl:box():qsize() == 0)                    -- still serving the others
sp:terminate(); sp:join(5)

-- a started server ends with the program that started it (no shutdown call)
local r = require("subprocess").run{args = {os.getenv("GILLUA"), "-e", [[
  local m = require("multiprocessing.managers").BaseManager{authkey = "z"}
  m:start() print(m.pid)]]}, capture_output = true, timeout = 20}
local spid = tonumber(r.stdout)
assert(r.returncode == 0 and spid, r.stderr)
local f = io.open("/proc/" .. spid .. "/stat")
assert(f == nil or not f:read("a"):find("%) [^Z]"), "the server outlived its program")

-- at exit, children still using a started server are joined before it stops
-- (the child's pause only makes it use the server after the parent's end)
r = require("subprocess").run{args = {os.getenv("GILLUA"), "-e", [[
  local managers, mp = require "multiprocessing.managers", require "multiprocessing"
  mp.Process{target = function() end}:start()    -- multiprocessing's exit duty first
  local m = managers.SyncManager{authkey = "z"}
  m:start()
  local port = m.address[2]
  mp.Process{target = function()
    require("time").sleep(0.2)
    local c = managers.SyncManager{address = {"127.0.0.1", port}, authkey = "z"}
    c:connect()
    print(c:dict({x = 1}).x)
  end}:start()]]}, capture_output = true, timeout = 20}
assert(r.returncode == 0 and r.stdout == "1\n", r.stdout .. r.stderr)

-- Ctrl-C stops serve_forever with the error "interrupted"
local sf = require("subprocess").Popen{args = {os.getenv("GILLUA"), "-e", [[
  local m = require("multiprocessing.managers").BaseManager{authkey = "z"}
  local s = m:get_server()
  print("serving") io.stdout:flush()
  print(pcall(s.serve_forever, s))]]}, stdout = require("subprocess").PIPE}
assert(sf.stdout:read("l") == "serving")
sf:send_signal("INT")
local rest = sf.stdout:read("a")
local code = sf:wait(20)
assert((code == 0 and rest == "false\tinterrupted\n") or code == 130, code .. " " .. rest)

-- misuse
E.error("address must be", managers.BaseManager, {address = {"h"}})
E.error("authkey must be", managers.BaseManager, {authkey = ""})
E.error("callable expected", srv_mgr.register, managers.BaseManager{}, "x", 5)
E.error("name of the manager", managers.BaseManager{}.register, managers.BaseManager{}, "start")
local mute = managers.BaseManager{address = {"127.0.0.1", sport}, authkey = "k4", timeout = 0.5}
E.error("did not complete the handshake in time", mute.connect, mute)   -- listening, nobody serves
local dead = managers.BaseManager{address = {"127.0.0.1", port}, authkey = "k1"}
E.error("cannot connect to 127.0.0.1:%d+: Connection refused", dead.connect, dead)
E.error("cannot bind", managers.BaseManager{address = {"no.such.host.invalid", 0}}.start,
        managers.BaseManager{address = {"no.such.host.invalid", 0}})
E.error("server process failed to start", function()
  managers.BaseManager{authkey = "x"}:start(function() error("init fails") end)
end)
-- Threads last: every server above was forked before this process ran a
-- thread (ThreadSanitizer cannot follow a process that starts threads
-- after a fork from a multi-threaded one, which the server would be).
local tbox = queue.Queue()
local tm = managers.SyncManager{authkey = "k6"}
tm:register("shared", function() return tbox end)
tm:start()
local td = tm:dict({b = 2})

-- threads of one process, each blocked in the server, do not block each other
-- (with the GIL off a thread is an interpreter of its own: it connects its own manager)
local q = tm:shared()
local tq = require("gil").enabled() and q or nil
local t = threading.Thread{target = function(p)
  local qq = tq
  if not qq then
    local cm = require("multiprocessing.managers").BaseManager{address = {"127.0.0.1", p}, authkey = "k6"}
    cm:register("shared")
    cm:connect()
    qq = cm:shared()
  end
  return qq:get(true, 10)
end, args = {tm.address[2]}}
t:start()
assert(td:get("b") == 2)                         -- answered while t waits in the server
q:put("wake")
E.joined(t)

-- each client thread is one thread in the server: an RLock taken by one
-- is refused to another (not re-entered as if it were the same thread)
-- and released by its owner
if require("gil").enabled() then
  local rl, got, step = tm:RLock(), threading.Event(), threading.Event()
  local t2 = threading.Thread{target = function()
    assert(rl:acquire() == true)
    got:set()
    assert(step:wait(20))
    rl:release()
  end}
  t2:start()
  assert(got:wait(20))
  assert(rl:acquire(true, 0.05) == false)        -- held by t2's thread in the server
  assert(td:get("b") == 2)                        -- this thread's calls go on meanwhile
  step:set()
  E.joined(t2)
  assert(rl:acquire(true, 5) == true)
  rl:release()
end
tm:shutdown()
print("ok")

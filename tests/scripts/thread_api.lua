-- run: --gil=on
-- run: --gil=on --switch=interval:1
-- run: --gil=on --switch=ticks:100
-- run: --gil=on --switch=priority:1
-- run: --gil=off
-- threading.Thread: names, idents, identity of current_thread, enumerate,
-- active_count, join with timeout, is_alive, daemon inheritance, fields.
local threading = require "threading"

local main = threading.current_thread()
assert(main.name == "MainThread", main.name)
assert(main == threading.main_thread())
assert(main.ident == threading.get_ident())
assert(type(main.native_id) == "number")
assert(main.daemon == false)
assert(threading.active_count() == 1)

-- default names count unnamed threads only; named ones keep their name
local t1 = threading.Thread{}
local named = threading.Thread{name = "worker"}
local t2 = threading.Thread{}
assert(t1.name == "Thread-1", t1.name)
assert(named.name == "worker")
assert(t2.name == "Thread-2", t2.name)
assert(t1.ident == nil and not t1:is_alive())
assert(tostring(t1):match("^<Thread%(Thread%-1, initial%)>$"), tostring(t1))

-- a thread runs target(args...) and sees itself as current_thread
local release = threading.Lock()
release:acquire()
local started = threading.Event()
local out = {}
local t = threading.Thread{name = "T", args = {3, 4}, target = function(a, b)
  local me = threading.current_thread()
  out.name, out.sum, out.ident = me.name, a + b, threading.get_ident()
  started:set()
  release:acquire()          -- held by main until main has looked at us
  release:release()
end}
t:start()
assert(started:wait(10), "thread did not start")
assert(t:is_alive())
assert(type(t.ident) == "number" and type(t.native_id) == "number")
assert(tostring(t):match("started"), tostring(t))
assert(threading.active_count() == 2)
local names = {}
for _, th in ipairs(threading.enumerate()) do names[#names + 1] = th.name end
table.sort(names)
assert(table.concat(names, ",") == "MainThread,T", table.concat(names, ","))
assert(t:join(0.05) == false, "join must time out while the thread is blocked")
release:release()
assert(t:join(10) == true)
assert(not t:is_alive())
assert(threading.active_count() == 1)
if require("gil").enabled() then   -- with the GIL off 'out' lives in the thread's interpreter
  assert(out.name == "T" and out.sum == 7 and out.ident == t.ident)
end
assert(tostring(t):match("stopped"))

-- fields and an overriding run (Python's Thread subclass pattern)
local q = require("queue").Queue()
local sub = threading.Thread{name = "Sub"}
sub.urls = {"a", "b", "c"}
function sub:run()
  for _, u in ipairs(self.urls) do q:put(threading.current_thread().name .. ":" .. u) end
end
sub:start()
assert(sub:join(10))
local got = {}
while not q:empty() do got[#got + 1] = q:get() end
assert(table.concat(got, " ") == "Sub:a Sub:b Sub:c", table.concat(got, " "))

-- daemon: set before start, inherited by threads a daemon starts
local d = threading.Thread{daemon = true, target = function()
  local inner = threading.Thread{target = function() end}
  q:put(inner.daemon)
end}
assert(d.daemon == true)
d:start()
assert(d:join(10))
assert(q:get() == true)
local ok, err = pcall(function() d.daemon = false end)
assert(not ok and err:match("cannot set daemon status of active thread"), err)

print("thread_api ok")

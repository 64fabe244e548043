-- multiprocessing.Process: exit codes (return, error, signal, os.exit),
-- the error report on stderr, join timeouts, terminate/kill, names,
-- current_process in the child, active_children, misuse errors.
-- expect-stderr: Process boom:
-- run: --gil=on
-- run: --gil=off
local mp = require "multiprocessing"

local q = mp.Queue()

-- returns normally: exitcode 0; the target sees its args
local p = mp.Process{target = function(a, b, c) q:put({a, b, c, mp.current_process().name}) end,
                     args = {1, "two", {3}}, name = "worker-1"}
assert(p.pid == nil and p.exitcode == nil and p.name == "worker-1" and not p.daemon)
assert(tostring(p):find("initial"))
p:start()
local got = q:get(true, 5)
assert(got[1] == 1 and got[2] == "two" and got[3][1] == 3 and got[4] == "worker-1")
assert(p:join(5) == true)
assert(p.exitcode == 0 and not p:is_alive())
assert(p.pid > 0 and p.pid ~= os.getpid())
assert(tostring(p):find("stopped exitcode=0"))

-- an uncaught error: exitcode 1, "Process NAME:" and traceback on stderr
p = mp.Process{target = function() error("kaboom") end, name = "boom"}
p:start()
p:join()
assert(p.exitcode == 1)

-- os.exit(code) in the child
p = mp.Process{target = function() os.exit(5) end}
p:start(); p:join()
assert(p.exitcode == 5, p.exitcode)

-- killed: exitcode -signal; join with a timeout returns false while alive
local ev = mp.Event()
p = mp.Process{target = function() ev:set(); while true do ev:wait(1) end end}
p:start()
assert(ev:wait(5))
assert(p:is_alive())
assert(p:join(0.05) == false)
local kids = mp.active_children()
assert(#kids == 1 and kids[1] == p)
p:terminate()
assert(p:join(5))
assert(p.exitcode == -15, p.exitcode)
p = mp.Process{target = function() while true do ev:wait(1) end end}
p:start(); p:kill(); p:join()
assert(p.exitcode == -9)
assert(#mp.active_children() == 0)

-- default names, daemon flag, current_process in the parent
local a = mp.Process{target = print}
assert(a.name:match("^Process%-%d+$"))
assert(mp.current_process().name == "MainProcess" and mp.current_process().pid == os.getpid())
assert(mp.cpu_count() >= 1)

-- misuse
p = mp.Process{target = function() end}
p:start()
assert(not pcall(p.start, p), "starting twice must fail")
local ok, err = pcall(function() p.daemon = true end)
assert(not ok and err:find("daemon"), err)
p:join()
ok, err = pcall(mp.Process, {target = 42})
assert(not ok and err:find("callable"), err)
ok, err = pcall(mp.Process, {target = print, args = "test"})
assert(not ok and err:find("args must be a table"), err)
local fresh = mp.Process{target = print}
ok, err = pcall(fresh.join, fresh)
assert(not ok and err:find("started"), err)

-- a daemonic process may not start children
local d = mp.Process{daemon = true, target = function()
  local ok2, e = pcall(function() mp.Process{target = print}:start() end)
  q:put(not ok2 and e:find("daemonic processes are not allowed to have children") ~= nil)
end}
d:start()
assert(q:get(true, 5) == true)
d:join()

-- a child joins its own non-daemon children before it exits
local inner = mp.Value("i", 0)
p = mp.Process{target = function()
  mp.Process{target = function() require("time").sleep(0.1); inner.value = 1 end}:start()
end}
p:start(); p:join()
assert(inner.value == 1, "the grandchild was joined by its parent")
print("ok")

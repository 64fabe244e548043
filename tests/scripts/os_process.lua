-- os extensions: getpid/getppid/fork/waitpid/kill/cpu_count/_exit/getrusage,
-- and fork from a program with a second thread (the child keeps only the
-- calling thread: the other Thread object reports not alive there).
local threading = require "threading"

assert(math.type(os.getpid()) == "integer" and os.getpid() > 1)
assert(os.getppid() > 0)
assert(os.cpu_count() >= 1)

-- fork + exit codes
local pid = os.fork()
if pid == 0 then os._exit(7) end
local p, how, code = os.waitpid(pid)
assert(p == pid and how == "exit" and code == 7, tostring(how) .. tostring(code))

-- killed by a signal, by name and by number
pid = os.fork()
if pid == 0 then while true do os.execute("sleep 1") end end
assert(os.waitpid(pid, true) == 0, "nohang on a running child returns 0")
assert(os.kill(pid, "KILL") == true)
p, how, code = os.waitpid(pid)
assert(p == pid and how == "signal" and code == 9)

-- waiting for nothing fails with a message (Lua's convention)
local r, msg, errno = os.waitpid(pid)
assert(r == nil and msg:find("No child processes") and errno > 0, msg)
assert(os.kill(pid, 0) == nil)
assert(not pcall(os.kill, 1, "NOSUCHSIG"))

-- fork while another thread runs: only the caller survives in the child
local ev, stop = threading.Event(), threading.Event()
local t = threading.Thread{target = function() ev:set(); stop:wait(10) end}
t:start()
assert(ev:wait(5))
pid = os.fork()
if pid == 0 then
  local ok = not t:is_alive() and threading.active_count() == 1
  os._exit(ok and 0 or 1)
end
p, how, code = os.waitpid(pid)
assert(how == "exit" and code == 0, "the other thread must not be alive in the child")
assert(t:is_alive())
stop:set()
t:join()

-- os._exit does not run exit handlers nor flush (as Python's)
pid = os.fork()
if pid == 0 then io.write("lost"); os._exit(0) end
os.waitpid(pid)

-- getrusage
local ru = os.getrusage("self")
assert(type(ru.utime) == "number" and type(ru.stime) == "number" and ru.maxrss > 0)
local rc = os.getrusage("children")
assert(rc.utime >= 0)
assert(not pcall(os.getrusage, "nobody"))

-- a multiprocessing.Process reaped by os.waitpid(-1) still knows its exit code
local mp = require "multiprocessing"
local p = mp.Process{ target = function() os.exit(3) end }
p:start()
local rpid, how, code = os.waitpid(-1)
assert(rpid == p.pid and how == "exit" and code == 3, "waitpid(-1): " .. tostring(rpid) .. " " .. tostring(how))
assert(p:join(10) ~= false)
assert(p.exitcode == 3, "exitcode after os.waitpid reaped it: " .. tostring(p.exitcode))
assert(not p:is_alive())

-- join in one thread while another's os.waitpid(-1) races it for the same
-- child: whoever reaps it, join learns the real exit code (the loser of
-- the race used to see the child gone and report 0)
for round = 1, 20 do
  local child = mp.Process{ target = function() os.exit(5) end }
  child:start()
  local got = {}
  local reaper = threading.Thread{ target = function()
    got.pid, got.how, got.code = os.waitpid(-1)
  end }
  reaper:start()
  assert(child:join(10) ~= false)
  assert(reaper:join(10) ~= false and not reaper:is_alive(), "waitpid(-1) did not return")
  assert(child.exitcode == 5, "round " .. round .. ": exitcode " .. tostring(child.exitcode))
  -- the reaper either took the child (and its status) or found none left
  assert((got.pid == child.pid and got.how == "exit" and got.code == 5) or
         (got.pid == nil and tostring(got.how):find("No child processes")),
         "round " .. round .. ": waitpid(-1) gave " .. tostring(got.pid) .. " " .. tostring(got.how))
end
print("ok")

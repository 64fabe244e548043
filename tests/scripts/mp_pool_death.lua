-- Better than Python: a worker that dies (killed, crashed, os._exit) fails
-- the task it held within 1 s, with an error naming its pid and the
-- signal; the pool replaces it and keeps working.
local mp = require "multiprocessing"
local time = require "time"

-- a global made before the pool: the workers have it in their copy of
-- the program (a function reaches a global through _ENV, which is the
-- worker's own globals table: globals travel by name)
STARTED = mp.Queue()
local started = STARTED
local pool = mp.Pool(2)

-- a worker killed by SIGKILL while running a task
local victim = pool:apply_async(function()
  STARTED:put(os.getpid())
  while true do time.sleep(1) end
end)
local wpid = started:get(true, 10)
local t0 = time.monotonic()
os.kill(wpid, "KILL")
local ok, e = pcall(victim.get, victim, 10)
local dt = time.monotonic() - t0
assert(not ok, "the task must fail")
assert(e:find("worker process " .. wpid .. " died") and e:find("signal 9"), e)
assert(dt < 1.0, "failed after " .. dt .. " s")

-- a worker that leaves with os._exit
local r = pool:apply_async(function() os._exit(4) end)
ok, e = pcall(r.get, r, 10)
assert(not ok and e:find("exited with code 4"), e)

-- a crash (SIGABRT raised at itself: AddressSanitizer builds would catch
-- a SIGSEGV themselves and exit 1)
r = pool:apply_async(function() os.kill(os.getpid(), "ABRT"); time.sleep(5) end)
ok, e = pcall(r.get, r, 10)
assert(not ok and e:find("signal 6"), e)

-- the pool still has two live workers and works
local pids = pool.pids
assert(#pids == 2 and pids[1] > 0 and pids[2] > 0 and pids[1] ~= wpid and pids[2] ~= wpid)
local sq = pool:map(function(x) return x * x end, {1, 2, 3, 4})
assert(sq[4] == 16)
pool:close()
pool:join()

-- a worker that died and was reaped by the script's own os.waitpid: the
-- pool still sees it gone and replaces it (it used to wait forever)
local pool1 = mp.Pool(1)
local w = pool1:apply(os.getpid)
assert(os.kill(w, "KILL"))
assert(os.waitpid(w) == w)
local five = pool1:apply_async(function() return 5 end)
assert(five:get(10) == 5, "the pool did not replace a worker reaped elsewhere")

-- ... and when it died while running a task, the task's error still says
-- how it died: the script's os.waitpid left the status for the pool
local held = pool1:apply_async(function()
  STARTED:put(os.getpid())
  while true do time.sleep(1) end
end)
w = started:get(true, 10)
assert(os.kill(w, "KILL"))
local rw, how, sig = os.waitpid(w)
assert(rw == w and how == "signal" and sig == 9, tostring(how))
ok, e = pcall(held.get, held, 10)
assert(not ok and e:find("worker process " .. w .. " died") and e:find("signal 9"), e)
assert(pool1:apply(function() return 6 end) == 6)
pool1:close()
pool1:join()
print("ok")

-- mutex_20000_threads.lua — 20000 threads each add 1 to a global counter
-- under a mutex (seed notes 004, "互斥锁"). All threads are started, then
-- all are joined; the lock makes every increment count: num is exactly the
-- number of threads.
--
--   gillua scripts/examples/mutex_20000_threads.lua [threads]   (default 20000)
--
-- The counter is a global of the one Lua universe (GIL on). With --gil=off
-- each thread has its own globals; balance_shared.lua shows shared state
-- for that mode.
local threading = require "threading"

local nthreads = tonumber(arg and arg[1]) or 20000

local function run(n)
  lock:acquire()          -- take the lock
  num = num + 1
  lock:release()          -- give it back
end

lock = threading.Lock()   -- one lock object
num = 0
local t_obj = {}

for i = 0, nthreads - 1 do
  local t = threading.Thread{target = run, args = {"t-" .. i}}
  t:start()
  t_obj[#t_obj + 1] = t
end

for _, t in ipairs(t_obj) do
  t:join()
end

print("num:", num)

-- mutex_threads_shared.lua — mutex_20000_threads.lua for --gil=off (runs
-- with the GIL on too): the counter every thread increments under the
-- lock is a multiprocessing.Value (shared memory) instead of a global,
-- because with the GIL off each thread has its own globals. Every GIL-off
-- thread starts a fresh interpreter, so the default is 2000 threads.
--
--   gillua --gil=off scripts/examples/mutex_threads_shared.lua [threads]
local threading = require "threading"
local multiprocessing = require "multiprocessing"

local nthreads = tonumber(arg and arg[1]) or 2000

local lock = threading.Lock()
local num = multiprocessing.Value("i", 0, false)

local function run(n)
  lock:acquire()
  num.value = num.value + 1
  lock:release()
end

local t_obj = {}
for i = 0, nthreads - 1 do
  local t = threading.Thread{target = run, args = {"t-" .. i}}
  t:start()
  t_obj[#t_obj + 1] = t
end
for _, t in ipairs(t_obj) do
  t:join()
end
print("num:", num.value)

-- Seed 001/003/004 "Pool": five long tasks through a Pool of 4 processes,
-- so the fifth waits for a free worker. arg[1] scales the sleeps (default
-- 1; the test uses a small value).
local mp = require "multiprocessing"
local time = require "time"
local SCALE = tonumber(arg and arg[1]) or 1

local function long_time_task(name)
  print(string.format("Run task %s (%d)...", name, os.getpid()))
  local start = time.time()
  time.sleep(math.random() * 3 * SCALE)
  local finish = time.time()
  print(string.format("Task %s runs %0.2f seconds.", name, finish - start))
end

print(string.format("Parent process %d.", os.getpid()))
local p = mp.Pool(4)
for i = 0, 4 do
  p:apply_async(long_time_task, {i})
end
print("Waiting for all subprocesses done...")
p:close()
p:join()
print("All subprocesses done.")

-- Seed 002 "Pool(processes=3)": five tasks on three workers.
-- arg[1] scales the sleeps (default 1).
local mp = require "multiprocessing"
local time = require "time"
local SCALE = tonumber(arg and arg[1]) or 1

local function run_task(name)
  print(string.format("Task %s (pid=%d) is Running...", name, os.getpid()))
  time.sleep(math.random() * 3 * SCALE)
  print(string.format("Task %s end.", name))
end

print(string.format("Current Process %d.", os.getpid()))
local p = mp.Pool{processes = 3}
for i = 0, 4 do
  p:apply_async(run_task, {i})
end
print("Waiting for all subprocesses done...")
p:close()
p:join()
print("All subprocess done.")

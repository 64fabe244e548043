-- Seed 002 "分布式进程" (distributed processes), the master: a server
-- process hands tasks to worker processes over the network. It puts 10
-- numbers in a task queue served by a manager, and prints the results the
-- workers (task_worker.lua, on this or another machine) put back.
--   gillua task_master.lua [port [authkey [workers]]]
-- port 0 picks a free one; with 'workers' the master waits until that many
-- workers have said hello before it hands out the tasks (so that each of
-- them gets a chance at some), and goodbye before it shuts the manager down.
local managers, queue = require "multiprocessing.managers", require "queue"

local port, authkey, workers = tonumber(arg[1] or 5000), arg[2] or "abc", tonumber(arg[3] or 0)
local task_queue, result_queue, hello_queue = queue.Queue(), queue.Queue(), queue.Queue()

local QueueManager = managers.BaseManager{address = {"0.0.0.0", port}, authkey = authkey}
QueueManager:register("get_task_queue", function() return task_queue end)
QueueManager:register("get_result_queue", function() return result_queue end)
QueueManager:register("get_hello_queue", function() return hello_queue end)
QueueManager:start()
print(string.format("Master listening on port %d", QueueManager.address[2]))
io.stdout:flush()

-- through the network, as the workers see them
local task, result = QueueManager:get_task_queue(), QueueManager:get_result_queue()
local hello = QueueManager:get_hello_queue()
for _ = 1, workers do hello:get(true, 30) end
for _ = 1, 10 do
  local n = math.random(0, 10000)
  print(string.format("Put task %d...", n))
  task:put(n)
end
print("Try get results...")
for _ = 1, 10 do
  print("Result: " .. result:get(true, 10))
end
for _ = 1, workers do hello:get(true, 30) end
QueueManager:shutdown()
print("master exit.")

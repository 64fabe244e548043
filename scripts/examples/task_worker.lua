-- Seed 002 "分布式进程", the worker: connects to the master's manager
-- (task_master.lua), takes numbers from the task queue, puts their
-- squares in the result queue, and leaves once the queue stays empty.
--   gillua task_worker.lua [host [port [authkey]]]
local managers, queue = require "multiprocessing.managers", require "queue"

local host, port, authkey = arg[1] or "127.0.0.1", tonumber(arg[2] or 5000), arg[3] or "abc"

local QueueManager = managers.BaseManager{address = {host, port}, authkey = authkey}
QueueManager:register("get_task_queue")      -- the names only: the master holds the queues
QueueManager:register("get_result_queue")
QueueManager:register("get_hello_queue")
print(string.format("Connect to server %s...", host))
QueueManager:connect()

local task, result = QueueManager:get_task_queue(), QueueManager:get_result_queue()
local hello = QueueManager:get_hello_queue()
hello:put(os.getpid())                        -- the master may wait for its workers
while true do
  local ok, n = pcall(task.get, task, true, 1)
  if not ok then
    if n ~= queue.Empty then error(n, 0) end
    print("task queue is empty.")
    break
  end
  print(string.format("run task %d * %d...", n, n))
  result:put(string.format("%d * %d = %d", n, n, n * n))
end
hello:put(os.getpid())
print("worker exit.")

-- queue_writer_reader.lua — a writer and a reader exchange data through a
-- Queue (seed notes 004 "队列" and 003/001, which use processes; here they
-- are threads and the queue is queue.Queue). The reader loops forever as
-- in the seed; it is a daemon thread, so the program does not wait for
-- it: the main thread waits until every item put has been processed
-- (q:join(), with task_done in the reader) and then ends.
--
--   gillua scripts/examples/queue_writer_reader.lua [pause_seconds]   (default 0.5)
--
-- Runs unchanged with --gil=off: the queue is shared, items are copied.
local threading = require "threading"
local queue = require "queue"
local time = require "time"

local pause = tonumber(arg and arg[1]) or 0.5

local function write(q)
  for _, v in ipairs{"A", "B", "C", "D", "E"} do
    print(string.format("Put %s to queue", v))
    q:put(v)
    time.sleep(pause)
  end
end

local function read(q)
  while true do
    local v = q:get(true)
    print(string.format("get %s from queue", v))
    q:task_done()
  end
end

local q = queue.Queue()
local pw = threading.Thread{target = write, args = {q}, name = "writer"}
local pr = threading.Thread{target = read, args = {q}, name = "reader", daemon = true}
print("write thread = ", pw.name)
print("read  thread = ", pr.name)
pw:start()
pr:start()
pw:join()
q:join()      -- every item has been read

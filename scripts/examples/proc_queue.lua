-- Seed 001 "进程间的通信": a writer and a reader process share a Queue; the
-- reader loops forever and is terminated once the writer is done.
-- arg[1] scales the writer's pauses (default 1).
local mp = require "multiprocessing"
local time = require "time"
local SCALE = tonumber(arg and arg[1]) or 1

-- the writer's code
local function write(q)
  print(string.format("Process to write: %d", os.getpid()))
  for _, value in ipairs{"A", "B", "C"} do
    print(string.format("Put %s to queue...", value))
    q:put(value)
    time.sleep(math.random() * SCALE)
  end
end

-- the reader's code ('got' counts what it printed, for the parent)
local function read(q, got)
  print(string.format("Process to read: %d", os.getpid()))
  while true do
    local value = q:get(true)
    print(string.format("Get %s from queue.", value))
    got.value = got.value + 1
  end
end

-- the parent creates the Queue and hands it to both children
local q = mp.Queue()
local pw = mp.Process{target = write, args = {q}}
local got = mp.Value("i", 0)
local pr = mp.Process{target = read, args = {q, got}}
pw:start()            -- start the writer
pr:start()            -- start the reader
pw:join()             -- wait for the writer
-- the reader loops forever: it can only be stopped by force (once it
-- has printed all three, so the output is complete)
while got.value < 3 do time.sleep(0.01) end
pr:terminate()
pr:join()

-- Seed 002 "Queue": two writer processes and one reader on one Queue; the
-- reader is terminated after both writers have finished and the queue has
-- been drained. arg[1] scales the pauses (default 1).
local mp = require "multiprocessing"
local time = require "time"
local SCALE = tonumber(arg and arg[1]) or 1

local function proc_write(q, urls)
  print(string.format("Process (%d) is writing...", os.getpid()))
  for _, url in ipairs(urls) do
    q:put(url)
    print(string.format("Put %s to queue...", url))
    time.sleep(math.random() * SCALE)
  end
end

local function proc_read(q, done)
  print(string.format("Process (%d) is reading...", os.getpid()))
  while true do
    local url = q:get(true)
    print(string.format("Get %s from queue.", url))
    done.value = done.value + 1   -- only this process writes it
  end
end

local q = mp.Queue()
local got = mp.Value("i", 0)
local writer1 = mp.Process{target = proc_write, args = {q, {"url_1", "url_2", "url_3"}}}
local writer2 = mp.Process{target = proc_write, args = {q, {"url_4", "url_5", "url_6"}}}
local reader = mp.Process{target = proc_read, args = {q, got}}
writer1:start()
writer2:start()
reader:start()
writer1:join()
writer2:join()
-- the reader loops forever; stop it once it has printed all six
while got.value < 6 do time.sleep(0.01) end
reader:terminate()
reader:join()

-- Seed 002 "Pipe": one process sends ten urls through a Pipe, another
-- receives them; the receiver is terminated when the sender is done and
-- everything was received. arg[1] scales the pauses (default 1).
local mp = require "multiprocessing"
local time = require "time"
local SCALE = tonumber(arg and arg[1]) or 1

local function proc_send(pipe, urls)
  for _, url in ipairs(urls) do
    print(string.format("Process (%d) send: %s", os.getpid(), url))
    pipe:send(url)
    time.sleep(math.random() * SCALE)
  end
end

local function proc_recv(pipe, count)
  while true do
    print(string.format("Process (%d) recv: %s", os.getpid(), pipe:recv()))
    count.value = count.value + 1
    time.sleep(math.random() * SCALE)
  end
end

local a, b = mp.Pipe()
local urls = {}
for i = 0, 9 do urls[#urls + 1] = "url_" .. i end
local count = mp.Value("i", 0)
local p1 = mp.Process{target = proc_send, args = {a, urls}}
local p2 = mp.Process{target = proc_recv, args = {b, count}}
p1:start()
p2:start()
p1:join()
while count.value < #urls do time.sleep(0.01) end
p2:terminate()
p2:join()

-- thread_loop.lua — start a thread by passing a function to
-- threading.Thread and calling start(); current_thread() names the thread
-- that is running (seed notes 000 and 001: "LoopThread").
--
--   gillua scripts/examples/thread_loop.lua [delay_seconds]   (default 1)
local threading = require "threading"
local time = require "time"

local delay = tonumber(arg and arg[1]) or 1

-- code the new thread runs
local function loop()
  print(string.format("thread %s is running...", threading.current_thread().name))
  local n = 0
  while n < 5 do
    n = n + 1
    print(string.format("thread %s >>> %s", threading.current_thread().name, n))
    time.sleep(delay)
  end
  print(string.format("thread %s ended.", threading.current_thread().name))
end

print(string.format("thread %s is running...", threading.current_thread().name))
local t = threading.Thread{target = loop, name = "LoopThread"}
t:start()
t:join()
print(string.format("thread %s ended.", threading.current_thread().name))

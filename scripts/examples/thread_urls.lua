-- thread_urls.lua — two named threads each walk their own list of URLs,
-- pausing a random moment after each (seed notes 002, 1.1 "函数传入").
-- The interleaving of their lines changes from run to run; each thread's
-- own lines are always in order.
--
--   gillua scripts/examples/thread_urls.lua [max_pause_seconds]   (default 1)
local threading = require "threading"
local time = require "time"

local max_pause = tonumber(arg and arg[1]) or 1

-- code the new threads run
local function thread_run(urls)
  print(string.format("Current %s is running...", threading.current_thread().name))
  for _, url in ipairs(urls) do
    print(string.format("%s---->>> %s", threading.current_thread().name, url))
    time.sleep(math.random() * max_pause)
  end
  print(string.format("%s ended.", threading.current_thread().name))
end

print(string.format("%s is running...", threading.current_thread().name))
local t1 = threading.Thread{target = thread_run, name = "Thread_1", args = {{"url_1", "url_2", "url_3"}}}
local t2 = threading.Thread{target = thread_run, name = "Thread_2", args = {{"url_4", "url_5", "url_6"}}}
t1:start()
t2:start()
t1:join()
t2:join()
print(string.format("%s ended.", threading.current_thread().name))

-- thread_subclass.lua — the same program as thread_urls.lua written the
-- second way of seed notes 002 (1.2 "直接继承"): Python subclasses
-- threading.Thread, stores urls in __init__ and overrides run(). In Lua a
-- Thread object accepts fields and an overriding run method, so a
-- "subclass" is a constructor function that fills them in.
--
--   gillua scripts/examples/thread_subclass.lua [max_pause_seconds]   (default 1)
local threading = require "threading"
local time = require "time"

local max_pause = tonumber(arg and arg[1]) or 1

local function myThread(name, urls)
  local self = threading.Thread{name = name}   -- threading.Thread.__init__(self, name=name)
  self.urls = urls
  self.max_pause = max_pause

  function self:run()
    print(string.format("Current %s is running...", threading.current_thread().name))
    for _, url in ipairs(self.urls) do
      print(string.format("%s---->>> %s", threading.current_thread().name, url))
      time.sleep(math.random() * self.max_pause)
    end
    print(string.format("%s ended.", threading.current_thread().name))
  end

  return self
end

print(string.format("%s is running...", threading.current_thread().name))
local t1 = myThread("Thread_1", {"url_1", "url_2", "url_3"})
local t2 = myThread("Thread_2", {"url_4", "url_5", "url_6"})
t1:start()
t2:start()
t1:join()
t2:join()
print(string.format("%s ended.", threading.current_thread().name))

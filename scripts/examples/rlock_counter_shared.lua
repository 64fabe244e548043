-- rlock_counter_shared.lua — rlock_counter.lua for --gil=off (runs with
-- the GIL on too). With the GIL off each thread is its own interpreter
-- with its own globals, so the seed's global `num` would be a separate
-- counter in each thread (each would count to 4 alone). Here the counter
-- is a multiprocessing.Value in shared memory and the RLock is shared:
-- together the two threads count to 4 exactly once, as in the seed.
--
--   gillua --gil=off scripts/examples/rlock_counter_shared.lua
local threading = require "threading"
local multiprocessing = require "multiprocessing"

local mylock = threading.RLock()
local num = multiprocessing.Value("i", 0, false)   -- guarded by mylock

local function myThread(name)
  local t = threading.Thread{name = name}
  t.lock, t.num = mylock, num       -- fields travel with the thread
  function t:run()
    local mylock, num = self.lock, self.num
    while true do
      mylock:acquire()
      print(string.format("%s locked,Number:%d", threading.current_thread().name, num.value))
      if num.value >= 4 then
        mylock:release()
        print(string.format("%s released,Number:%d", threading.current_thread().name, num.value))
        break
      end
      num.value = num.value + 1
      print(string.format("%s released,Number:%d", threading.current_thread().name, num.value))
      mylock:release()
    end
  end
  return t
end

local t1 = myThread("Thread_1")
local t2 = myThread("Thread_2")
t1:start()
t2:start()

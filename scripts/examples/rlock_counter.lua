-- rlock_counter.lua — two Thread objects with their own run method share
-- a counter guarded by an RLock (seed notes 002, "线程同步"). Each thread
-- takes the lock, reads the counter, increments it while it is below 4,
-- and stops once it sees 4; the lock keeps each read-print-increment-print
-- step whole, so the numbers never jump or repeat.
--
--   gillua scripts/examples/rlock_counter.lua
--
-- The counter is a global of the one Lua universe: with --gil=off each
-- thread would count in its own interpreter (to 4 each), which is not the
-- lesson here; see balance_shared.lua for shared state with the GIL off.
local threading = require "threading"

local mylock = threading.RLock()
num = 0

-- Python's `class myThread(threading.Thread)` with a run() method: a Thread
-- object whose run is overridden.
local function myThread(name)
  local t = threading.Thread{name = name}
  function t:run()
    while true do
      mylock:acquire()
      print(string.format("%s locked,Number:%d", threading.current_thread().name, num))
      if num >= 4 then
        mylock:release()
        print(string.format("%s released,Number:%d", threading.current_thread().name, num))
        break
      end
      num = num + 1
      print(string.format("%s released,Number:%d", threading.current_thread().name, num))
      mylock:release()
    end
  end
  return t
end

local t1 = myThread("Thread_1")
local t2 = myThread("Thread_2")
t1:start()
t2:start()
-- like the seed, no join: the program waits for non-daemon threads at exit

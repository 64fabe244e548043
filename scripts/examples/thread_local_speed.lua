-- thread_local_speed.lua — each thread binds its working value to a
-- ThreadLocal and loops on it without any lock (seed notes 004): the
-- values never mix, and the time is close to that of unlocked code.
--
--   gillua scripts/examples/thread_local_speed.lua [iterations]   (default 1000000)
local threading = require "threading"
local time = require "time"

local iterations = tonumber(arg and arg[1]) or 1000000

local data = threading["local"]()   -- a global ThreadLocal object
local num = 0                       -- the value each thread binds to data.x

local function run(x, n)
  x = x + n
  x = x - n
  return x
end

local function func(n)
  -- each thread has its own data.x: a thread-local variable
  data.x = num
  for _ = 1, iterations do
    run(data.x, n)
  end
  print(string.format("%s-  local.x =%d", threading.current_thread().name, data.x))
end

local start = time.time()
local t1 = threading.Thread{target = func, args = {6}}
local t2 = threading.Thread{target = func, args = {9}}
t1:start()
t2:start()
t1:join()
t2:join()
print("num =", num)
print(time.time() - start)

-- Seed 004 "进程池 回调函数": ten tasks on a Pool of 5; each result is
-- handed to a callback that runs in the parent process.
-- arg[1] scales the sleep (default 1).
local mp = require "multiprocessing"
local time = require "time"
local SCALE = tonumber(arg and arg[1]) or 1

local function Foo(i)
  time.sleep(2 * SCALE)
  return i + 100
end

local parent = os.getpid()
local function Bar(arg)
  assert(os.getpid() == parent, "callbacks run in the parent")
  print("-->exec done:", arg)
end

local pool = mp.Pool(5)
for i = 0, 9 do
  pool:apply_async(Foo, {i}, Bar)
end
print("end")
pool:close()
pool:join()   -- the parent waits for every task; the callbacks print meanwhile

-- Seed 004 "进程直接的内存空间是隔离的": the child sets n = 0 in its own
-- copy of the program; the parent's n is still 100.
local mp = require "multiprocessing"

n = 100   -- a global, as in the seed

local function work()
  n = 0
  print("子进程内: ", n)
end

local p = mp.Process{target = work}
p:start()
p:join()   -- (the seed does not join; we do, so the output order is fixed)
print("主进程内: ", n)

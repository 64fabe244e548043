-- Seed 002 "使用multiprocessing模块创建多进程": five Processes started in a
-- loop; only the last is joined explicitly, the others are joined at exit
-- (non-daemon children are waited for, as in Python).
local mp = require "multiprocessing"

local function run_proc(name)
  print(string.format("Child process %s (%d) Running...", name, os.getpid()))
end

print(string.format("Parent Process %d.", os.getpid()))
local p
for i = 0, 4 do
  p = mp.Process{target = run_proc, args = {tostring(i)}}
  print("Process will start")
  p:start()
end
p:join()
print("Process end.")

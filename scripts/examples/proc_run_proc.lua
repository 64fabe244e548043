-- Seed 001/003/004 "multiprocessing.Process": run a function in a child.
local mp = require "multiprocessing"

-- the code the child process runs
local function run_proc(name)
  print(string.format("Run child process %s (%d)...", name, os.getpid()))
end

print(string.format("Parent process %d.", os.getpid()))
local p = mp.Process{target = run_proc, args = {"test"}}
print("Child process will start.")
p:start()
p:join()
print("Child process end.")

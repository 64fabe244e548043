-- Seed 001/004 "fork()": os.fork returns twice — 0 in the child, the
-- child's pid in the parent. (The parent waits for the child so the
-- shell prompt does not come back before the child's line.)
print(string.format("Process (%d) start...", os.getpid()))
local pid = os.fork()
if pid == 0 then
  print(string.format("I am child process (%d) and my parent is %d.", os.getpid(), os.getppid()))
  os.exit(0)
elseif pid == nil then
  print("error in fork")
else
  print(string.format("I (%d) just created a child process (%d).", os.getpid(), pid))
  os.waitpid(pid)
end

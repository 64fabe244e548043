-- Example scripts/examples/proc_fork.lua (seed fork): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_fork.lua", "1" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  local ppid = assert(lines[1]:match("^Process %((%d+)%) start%.%.%.$"), out)
  local p2, child = out:match("I %((%d+)%) just created a child process %((%d+)%)%.")
  assert(p2 == ppid, out)
  local c2, pp = out:match("I am child process %((%d+)%) and my parent is (%d+)%.")
  assert(c2 == child and pp == ppid, out)
  assert(#lines == 3, out)
end)

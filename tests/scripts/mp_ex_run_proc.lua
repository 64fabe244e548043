-- Example scripts/examples/proc_run_proc.lua (seed Process): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_run_proc.lua", "1" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  local pid = assert(lines[1]:match("^Parent process (%d+)%.$"), out)
  assert(lines[2] == "Child process will start.", out)
  local cpid = assert(lines[3]:match("^Run child process test %((%d+)%)%.%.%.$"), out)
  assert(cpid ~= pid, out)
  assert(lines[4] == "Child process end." and #lines == 4, out)
end)

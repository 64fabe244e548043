-- Example scripts/examples/proc_subprocess.lua (seed subprocess communicate): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_subprocess.lua", "1" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  assert(lines[1] == "$ sh", out)
  assert(lines[2] == "set q=mx", out)
  assert(lines[3] == "python.org mail exchanger = 50 mail.python.org.", out)
  assert(lines[4] == "Errors:\toops", out)
  assert(lines[5] == "Exit code:\t0", out)
end)

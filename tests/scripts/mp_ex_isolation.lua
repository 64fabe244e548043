-- Example scripts/examples/proc_isolation.lua (seed memory isolation): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_isolation.lua", "1" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  assert(lines[1] == "子进程内: \t0", out)
  assert(lines[2] == "主进程内: \t100", out)
  assert(#lines == 2, out)
end)

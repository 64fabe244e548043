-- Example scripts/examples/proc_manager.lua (seed Manager dict/list): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_manager.lua", "1" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  assert(lines[1] == "[0, 1, 2, 3, 4, 11, 22, 33]", out)
  assert(lines[2] == "{'index1': 'aaaaaa', 'index2': 'bbbbbb'}", out)
  assert(#lines == 2, out)
end)

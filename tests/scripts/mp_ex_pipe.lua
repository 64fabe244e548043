-- Example scripts/examples/proc_pipe.lua (seed Pipe): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_pipe.lua", "0.02" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  local recv = {}
  for _, l in ipairs(lines) do
    local u = l:match("^Process %(%d+%) recv: (url_%d)$")
    if u then recv[#recv + 1] = u end
  end
  assert(#recv == 10, out)
  for i = 0, 9 do assert(recv[i + 1] == "url_" .. i, out) end
  assert(#lines == 20, out)
end)

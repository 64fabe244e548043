-- Example scripts/examples/proc_pool_callback.lua (seed Pool callback): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_pool_callback.lua", "0.1" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  assert(lines[1] == "end", out)
  local seen = {}
  for n = 2, #lines do
    local v = assert(lines[n]:match("^%-%->exec done:\t(%d+)$"), out)
    assert(not seen[v], out)
    seen[v] = true
  end
  for i = 100, 109 do assert(seen[tostring(i)], out) end
  assert(#lines == 11, out)
end)

-- Example scripts/examples/proc_daemon.lua (seed daemon): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_daemon.lua", "0.3" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  -- as Python: main------- first, p2's 456 and end456 last; the daemon p1
  -- is terminated when the main code ends (at most its 123 appears)
  assert(lines[#lines] == "end456", out)
  assert(out:find("main-------", 1, true) < out:find("end456", 1, true), out)
  assert(out:find("456\n", 1, true), out)
  assert(not out:find("end123", 1, true), out)
  local n = 0
  for _, l in ipairs(lines) do
    if l ~= "123" then n = n + 1 end
    assert(l == "123" or l == "456" or l == "end456" or l == "main-------", out)
  end
  assert(n == 3, out)
end)

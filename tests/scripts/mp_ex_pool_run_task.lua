-- Example scripts/examples/proc_pool_run_task.lua (seed Pool(processes=3)): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_pool_run_task.lua", "0.1" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  assert(lines[1]:match("^Current Process %d+%.$"), out)
  assert(lines[#lines] == "All subprocess done.", out)
  local pids = {}
  for i = 0, 4 do
    local pid = out:match("Task " .. i .. " %(pid=(%d+)%) is Running%.%.%.")
    assert(pid, out)
    pids[pid] = true
    assert(out:find("Task " .. i .. " end.", 1, true), out)
  end
  local n = 0
  for _ in pairs(pids) do n = n + 1 end
  assert(n <= 3, out)
  assert(#lines == 13, out)
end)

-- Example scripts/examples/proc_pool.lua (seed Pool apply_async): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_pool.lua", "0.1" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  assert(lines[1]:match("^Parent process %d+%.$"), out)
  -- (workers may print before the parent's "Waiting..." line, as in Python)
  assert(out:find("\nWaiting for all subprocesses done...\n", 1, true), out)
  assert(lines[#lines] == "All subprocesses done.", out)
  local pids = {}
  for i = 0, 4 do
    local pid = out:match("Run task " .. i .. " %((%d+)%)%.%.%.")
    assert(pid, "task " .. i .. " did not run\n" .. out)
    pids[pid] = true
    assert(out:match("Task " .. i .. " runs %d+%.%d%d seconds%."), out)
  end
  local n = 0
  for _ in pairs(pids) do n = n + 1 end
  assert(n >= 1 and n <= 4, "tasks ran in " .. n .. " workers\n" .. out)
  assert(#lines == 13, out)
end)

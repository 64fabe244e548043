-- Example scripts/examples/proc_five.lua (seed 5 Processes): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_five.lua", "1" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  assert(lines[1]:match("^Parent Process %d+%.$"), out)
  local starts, seen = 0, {}
  for _, l in ipairs(lines) do
    if l == "Process will start" then starts = starts + 1 end
    local i = l:match("^Child process (%d) %(%d+%) Running%.%.%.$")
    if i then assert(not seen[i], out); seen[i] = true end
  end
  assert(starts == 5, out)
  for i = 0, 4 do assert(seen[tostring(i)], "child " .. i .. " missing\n" .. out) end
  -- "Process end." comes after the last child's line (it was joined)
  local last_child, endl
  for n, l in ipairs(lines) do
    if l:match("^Child process 4 ") then last_child = n end
    if l == "Process end." then endl = n end
  end
  assert(endl and endl > last_child, out)
  assert(#lines == 12, out)
end)

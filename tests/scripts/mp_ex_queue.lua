-- Example scripts/examples/proc_queue.lua (seed Queue writer/reader): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_queue.lua", "0.05" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  assert(out:match("Process to write: %d+"), out)
  assert(out:match("Process to read: %d+"), out)
  local order = {}
  for _, l in ipairs(lines) do
    local v = l:match("^Get (%u) from queue%.$")
    if v then order[#order + 1] = v end
  end
  assert(table.concat(order) == "ABC", out)
  for _, v in ipairs{"A", "B", "C"} do
    local put = out:find("Put " .. v .. " to queue...", 1, true)
    local got = out:find("Get " .. v .. " from queue.", 1, true)
    assert(put and got and put < got, out)
  end
  assert(#lines == 8, out)
end)

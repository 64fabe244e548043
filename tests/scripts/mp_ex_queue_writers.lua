-- Example scripts/examples/proc_queue_writers.lua (seed two writers + reader): runs it and checks its output.
local T = dofile("tests/lib/cli.lua")
local root = io.popen("pwd"):read("l")

T.main(function()
  local r = T.run{ args = { root .. "/scripts/examples/proc_queue_writers.lua", "0.05" } }
  assert(r.code == 0, "exit " .. tostring(r.code) .. "\n" .. r.err)
  local out = r.out
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end

  local got = {}
  for _, l in ipairs(lines) do
    local u = l:match("^Get (url_%d) from queue%.$")
    if u then assert(not got[u], out); got[u] = true end
  end
  for i = 1, 6 do assert(got["url_" .. i], out) end
  assert(out:find("url_1.-url_2.-url_3"), out)  -- each writer's order
  local w = 0
  for _ in out:gmatch("is writing%.%.%.") do w = w + 1 end
  assert(w == 2 and out:match("is reading%.%.%."), out)
  assert(#lines == 15, out)
end)

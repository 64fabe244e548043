-- bench_dead_loop.lua — scripts/dead_loop.lua once per mode at a tiny
-- size: the JSON line has every field, ops = workers x iters, and bad
-- options are refused with exit code 2.
-- timeout: 120

local T = dofile("tests/report/benchtest.lua")

for _, mode in ipairs(T.modes) do
  for _, w in ipairs({1, 2}) do
    local v = T.run(T.argv(mode, "bytecodes:100", "scripts/dead_loop.lua",
                           {"--mode=" .. mode, "--workers=" .. w, "--iters=20000"}))
    T.check_common(v, "dead_loop", mode, w)
    assert(v.ops == w * 20000 and v.iters == 20000)
  end
end

-- every policy is reported as spelled (priority:5 once came out as priority:5.0)
for _, p in ipairs({"interval:5", "priority:5", "ticks:100", "interval:0.5"}) do
  local v = T.run(T.argv("gil", p, "scripts/dead_loop.lua", {"--mode=gil", "--workers=2", "--iters=1000"}))
  assert(v.switch == p, v.switch)
  assert(math.type(v.releases) == "integer" and v.releases >= v.switches, "releases counted")
end

-- bad options: exit 2 with a message naming the problem
for _, bad in ipairs({"--mode=fast", "--workers=0", "--iters=x", "--nope=1", "iters"}) do
  local p = io.popen(T.q(T.gillua) .. " scripts/dead_loop.lua " .. T.q(bad) .. " 2>&1", "r")
  local out = p:read("a")
  local _, _, code = p:close()
  assert(code == 2, bad .. ": exit " .. tostring(code))
  assert(out:find("dead_loop.lua: ", 1, true) and out:find("usage", 1, true), out)
end
print("dead_loop ok")

-- bench_harness.lua — bench/harness.lua end to end at a tiny scale
-- (one policy, no peers, no microbenchmarks, no sweep): it writes report.json/md/html into
-- <out>/<timestamp>/ and <out>/latest, one row per point in the issue's
-- shape, sequential speedup exactly 1, no errors.
-- timeout: 120

local T = dofile("tests/report/benchtest.lua")

local out = os.tmpname()
os.remove(out)
local cmd = string.format("%s bench/harness.lua --quick --scale=0.001 --repeats=1 --switch=bytecodes:100 --no-peers --no-micro --no-sweep --out=%s 2>&1",
                          T.q(T.gillua), T.q(out))
local p = io.popen(cmd, "r")
local log = p:read("a")
assert(p:close(), "harness failed:\n" .. log)
assert(log:find("harness: %d+ points %(%d+ runs%), 0 errors"), "no errors:\n" .. log)

local function read(name)
  local f = assert(io.open(out .. "/latest/" .. name), "missing " .. name)
  local s = f:read("a")
  f:close()
  return s
end
local r = T.json.decode(read("report.json"))
assert(r.machine.cpus >= 1 and r.config.profile == "quick" and r.config.scale == 0.001)
assert(#r.peers == 0 and r.config.peers_note:find("not run"), "the report says why there are no peers")
local seen = {}
for _, row in ipairs(r.runs) do
  assert(row.impl == "gillua")
  assert(not row.unavailable, row.bench .. " " .. row.mode .. ": " .. tostring(row.unavailable))
  seen[row.bench .. "/" .. row.mode] = true
  for _, k in ipairs({"wall_s", "cpu_s", "cores_used", "ops", "ops_per_s", "speedup", "efficiency", "repeats", "spread"}) do
    assert(row[k] ~= nil, row.bench .. " " .. row.mode .. " lacks " .. k)
  end
  if row.mode == "sequential" then assert(row.speedup == 1, "sequential speedup is 1") end
  assert(#row.rep_walls == row.repeats, "one wall time per repetition")
  assert(row.speedup_min <= row.speedup and row.speedup <= row.speedup_max, "median within min-max")
  assert(row.noise == nil or row.noise == true)
  if row.bench == "balance" then
    assert(row.lock ~= nil and row.lost_updates ~= nil)
    if row.lock then assert(row.lost_updates_max == 0, "no lost update with the lock") end
  end
end
for _, b in ipairs({"dead_loop", "balance", "multi_process", "io_bound"}) do
  for _, m in ipairs(T.modes) do assert(seen[b .. "/" .. m], "ran " .. b .. " " .. m) end
end
assert(seen["io_bound/coroutines"], "ran io_bound coroutines")
assert(r.config.sizes.io_bound.port > 0, "the harness started the delay server")
assert(#r.timelines == 1 and r.timelines[1].lanes, "a timeline per policy")
local html = read("report.html")
assert(html:find('class="chart timeline"', 1, true) and not html:find("https?://"))
assert(read("report.md"):find("## Dead loop", 1, true))
assert(read("report.md"):find("## I/O-bound", 1, true) and html:find("I/O-bound: speedup vs sequential", 1, true))
os.execute("rm -rf " .. T.q(out))
print("harness ok")

-- bench_gil_micro.lua — the GIL microbenchmarks (scripts/bench_gil_*.lua)
-- each run once, briefly, under the switch policies: their JSON lines
-- carry the figures the report reads, with consistent values.
-- timeout: 120

local T = dofile("tests/report/benchtest.lua")

local function micro(script, switch, args)
  local v = T.run(T.argv("gil", switch, "scripts/" .. script, args))
  assert(v.impl == "gillua" and v.switch == switch, script .. ": impl/switch")
  assert(v.wall_s > 0 and v.cpu_s >= 0 and math.type(v.switches) == "integer")
  return v
end

-- each script once, the policies spread over them (keeps the test short)
do
  local h = micro("bench_gil_handoff.lua", "bytecodes:100", {"--seconds=0.1"})
  assert(h.bench == "gil_handoff" and math.type(h.samples) == "integer")
  if h.samples > 0 then
    assert(h.p50_us >= 0 and h.p50_us <= h.p99_us and h.p99_us <= h.max_us, "percentiles ordered")
  end

  local f = micro("bench_gil_fairness.lua", "interval:1", {"--seconds=0.1"})
  assert(f.bench == "gil_fairness" and #f.shares_pct == 4)
  local sum = 0
  for _, s in ipairs(f.shares_pct) do assert(s >= 0 and s <= 100); sum = sum + s end
  assert(math.abs(sum - 100) < 1e-6, "shares add up to 100%")
  assert(f.max_dev_pct >= 0 and f.max_dev_pct <= 75)

  local k = micro("bench_gil_hook.lua", "interval:1", {"--iters=200000"})
  assert(k.bench == "gil_hook" and k.alone_ops_per_s > 0 and k.hook_armed_ops_per_s > 0 and k.two_threads_ops_per_s > 0)
  assert(math.abs(k.hook_ratio - k.hook_armed_ops_per_s / k.alone_ops_per_s) < 1e-9)

  for ch, p in pairs({queue = "interval:1", pipe = "bytecodes:100", tcp = "interval:1"}) do
    local c = micro("bench_gil_convoy.lua", p, {"--seconds=0.05", "--channel=" .. ch})
    assert(c.bench == "gil_convoy" and c.channel == ch)
    assert(c.alone_trips_per_s > 0 and c.beside_trips_per_s > 0 and c.slowdown > 0)
    assert(c.cpu_threads == 1 and c.workers == 2)
    assert(math.abs(c.retention - c.beside_trips_per_s / c.alone_trips_per_s) < 1e-9)
    assert(c.cpu_alone_loops_per_s > 0 and c.cpu_loops_per_s > 0)
    assert(math.abs(c.cpu_retention - c.cpu_loops_per_s / c.cpu_alone_loops_per_s) < 1e-9)
  end
  -- priority:MS beside three CPU-bound threads; ticks:N's counters
  local c = micro("bench_gil_convoy.lua", "priority:1", {"--seconds=0.05", "--channel=queue", "--cpu=3"})
  assert(c.cpu_threads == 3 and c.workers == 4 and c.switch == "priority:1")
  assert(math.type(c.urgent_grants) == "integer" and c.urgent_grants >= 0 and c.urgent_cost_share >= 0)
  assert(c.beside_trips > 0 and c.cpu_in == "thread")
  -- a share other than the default is reported with the policy
  c = micro("bench_gil_convoy.lua", "priority:1:30", {"--seconds=0.05", "--channel=queue"})
  assert(c.switch == "priority:1:30", c.switch)
  -- the floor: the CPU-bound loops in processes, no GIL between them and the I/O thread
  c = micro("bench_gil_convoy.lua", "interval:1", {"--seconds=0.05", "--channel=tcp", "--cpu_in=process", "--cpu=2"})
  assert(c.cpu_in == "process" and c.cpu_threads == 2 and c.urgent_grants == 0)
  assert(c.alone_trips_per_s > 0 and c.beside_trips_per_s > 0 and c.cpu_alone_loops_per_s > 0 and c.cpu_loops_per_s > 0)
  local t = micro("bench_gil_fairness.lua", "ticks:100", {"--seconds=0.1"})
  assert(#t.shares_pct == 4 and math.type(t.releases) == "integer" and t.releases >= t.switches)

  local io = micro("lab_io_bound.lua", "interval:5", {"--threads=3", "--waits=2", "--ms=10"})
  assert(io.bench == "lab_io_bound" and io.workers == 3)
  assert(io.sequential_s > 0 and io.threaded_s > 0 and math.abs(io.speedup - io.sequential_s / io.threaded_s) < 1e-9)
  assert(io.sequential_s >= 3 * 2 * 0.010, "three threads' six waits of 10 ms, one after the other")
end

-- bad arguments: a usage message and exit 2, no JSON
for _, bad in ipairs({{"bench_gil_convoy.lua", "--cpu=0"}, {"bench_gil_convoy.lua", "--cpu=1.5"},
                      {"lab_io_bound.lua", "--threads=0"},
                      {"bench_gil_convoy.lua", "--cpu_in=fiber", "must be thread or process"}}) do
  local p = io.popen(T.q(T.gillua) .. " scripts/" .. bad[1] .. " " .. bad[2] .. " 2>&1; echo rc=$?")
  local out = p:read("a")
  p:close()
  assert(out:find(bad[3] or "must be an integer", 1, true) and out:find("rc=2", 1, true), bad[1] .. " " .. bad[2] .. ": " .. out)
end
print("micro ok")

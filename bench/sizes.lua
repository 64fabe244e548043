-- sizes.lua — the benchmarks' sizes for a harness profile (quick, full,
-- demo), optionally scaled: function(profile, scale) -> sizes.

return function(profile, scale)
  local quick = profile ~= "full"
  -- Sizes: the same for gillua and CPython (ops counts are identical), but
  -- for --demo, whose every run lasts at least 0.5 s on the 2-core VM so that
  -- its verdicts are stable; there CPython (about 5x slower per iteration)
  -- gets its own smaller sizes (sizes.peer), so its runs last as long.
  local sizes = profile == "demo" and {
    dead_loop = {iters = 150000000},
    balance = {iters = 2000000},
    multi_process = {tasks = 80, size = 30000},
    peer = {dead_loop = {iters = 30000000}, multi_process = {tasks = 32}},
    sweep_iters = 200000, nsweep_iters = 20000000,
    micro_seconds = 0.5, hook_iters = 20000000, timeline_iters = 4000000,
  } or quick and {
    dead_loop = {iters = 20000000},
    balance = {iters = 200000},
    multi_process = {tasks = 16, size = 30000},
    sweep_iters = 200000, nsweep_iters = 20000000,
    micro_seconds = 0.3, hook_iters = 20000000, timeline_iters = 4000000,
  } or {
    dead_loop = {iters = 60000000},
    balance = {iters = 500000},
    multi_process = {tasks = 24, size = 30000},
    sweep_iters = 1000000, nsweep_iters = 60000000,
    micro_seconds = 1.0, hook_iters = 60000000, timeline_iters = 4000000,
  }
  -- --scale=F shrinks (or grows) every size, for tests and quick looks.
  if scale then
    local function sc(n, min) return math.max(min, math.floor(n * scale + 0.5)) end
    sizes.dead_loop.iters = sc(sizes.dead_loop.iters, 1000)
    sizes.balance.iters = sc(sizes.balance.iters, 100)
    sizes.multi_process.tasks = sc(sizes.multi_process.tasks, 1)
    sizes.multi_process.size = sc(sizes.multi_process.size, 1000)
    sizes.sweep_iters = sc(sizes.sweep_iters, 100)
    sizes.nsweep_iters = sc(sizes.nsweep_iters, 1000)
    for _, b in pairs(sizes.peer or {}) do
      for k, v in pairs(b) do b[k] = sc(v, k == "iters" and 1000 or 1) end
    end
    sizes.hook_iters = sc(sizes.hook_iters, 10000)
    sizes.timeline_iters = sc(sizes.timeline_iters, 100000)
    sizes.micro_seconds = math.max(0.02, sizes.micro_seconds * scale)
  end
  return sizes
end

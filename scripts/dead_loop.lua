-- dead_loop.lua — the seed's dead loop: each worker spins `x = x * 1.0`
-- for a fixed number of iterations (pure CPU, no shared data).
--
--   gillua [--gil=on --switch=P] scripts/dead_loop.lua --mode=gil --workers=2 --iters=N
--
-- Modes: gil (threads under the GIL), nogil (threads, run with --gil=off),
-- processes (multiprocessing.Process), sequential (the workers' loops one
-- after another in the main thread). Every worker spins --iters, so the
-- total work is workers x iters in every mode (ops = workers x iters) and
-- the sequential run of the same worker count is the speedup baseline.
-- Prints one JSON line (see scripts/benchlib.lua for the measurements).

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")

local o = B.options(arg, "dead_loop.lua", {mode = "gil", workers = 2, iters = 20000000},
                    "--mode=gil|nogil|processes|sequential --workers=W --iters=N")
B.require_mode("dead_loop", o)

-- The seed's dead_loop, bounded: self-contained (it travels by value to
-- GIL-off threads and is copied into forked processes).
local function dead_loop(n)
  local x = 0
  for _ = 1, n do
    x = x * 1.0
  end
  return x
end

local argsets = {}
for i = 1, o.workers do argsets[i] = {o.iters} end

local m = B.measure(function()
  if o.mode == "sequential" then
    for i = 1, o.workers do dead_loop(o.iters) end
  elseif o.mode == "processes" then
    B.run_processes(dead_loop, argsets)
  else
    B.run_threads(dead_loop, argsets)
  end
end)

B.emit("dead_loop", o, m, {ops = o.workers * o.iters, iters = o.iters})

-- bench_gil_hook.lua — what the count hook and switching cost a CPU-bound
-- loop. Three figures, in loop iterations per second:
--   alone        one thread, nobody waits: the hook is not armed (stock speed)
--   hook_armed   one thread with a count hook installed that never fires
--                (debug.sethook with a huge count): every instruction traps,
--                which is what an armed GIL hook costs before any switch
--                (gillua's debug.sethook also serves the GIL every 1000
--                instructions: 0.1% more hook calls)
--   two_threads  two threads sharing the GIL under the current policy:
--                aggregate throughput (hook + handoffs)
-- and the ratios hook_armed/alone and two_threads/alone.
--
--   gillua --switch=bytecodes:100 scripts/bench_gil_hook.lua --iters=N

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")
local o = B.options(arg, "bench_gil_hook.lua", {iters = 20000000}, "--iters=N")
B.require_mode("gil_hook", {mode = "gil", workers = 2})

local function dead_loop(n)
  local x = 0
  for _ = 1, n do x = x * 1.0 end
  return x
end

local function rate(f)
  local t0 = B.wall()
  f()
  return o.iters / (B.wall() - t0)
end

local alone = rate(function() dead_loop(o.iters) end)
local hooked = rate(function()
  debug.sethook(function() end, "", 1 << 30)
  dead_loop(o.iters)
  debug.sethook()
end)
local m = B.measure(function()
  B.run_threads(dead_loop, {{o.iters // 2}, {o.iters - o.iters // 2}})
end)
local two = o.iters / m.wall_s

B.emit("gil_hook", {mode = "gil", workers = 2}, m, {
  alone_ops_per_s = alone, hook_armed_ops_per_s = hooked, two_threads_ops_per_s = two,
  hook_ratio = hooked / alone, two_threads_ratio = two / alone, ops = o.iters,
})

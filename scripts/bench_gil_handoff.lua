-- bench_gil_handoff.lua — GIL handoff latency: two threads spin under the
-- GIL; each loop iteration reads the clock and notes whose turn it is in
-- two globals (owner, last). When a thread finds that the other thread ran
-- last, the time since the other's last clock reading is one handoff: the
-- holder's release to the waiter's first Lua instruction (plus at most one
-- loop iteration, ~0.1 us). Reports p50/p99/max in microseconds and the
-- number of handoffs per second under the interpreter's switch policy.
--
--   gillua --switch=interval:5 scripts/bench_gil_handoff.lua --seconds=1

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")
local o = B.options(arg, "bench_gil_handoff.lua", {seconds = 0.5, threads = 2},
                    "--seconds=S --threads=N")
B.require_mode("gil_handoff", {mode = "gil", workers = o.threads})

local clock = B.wall
owner, last, gaps = 0, 0, {}

local function spinner(me, t_end)
  local mine = {}
  while true do
    local now = clock()
    if owner ~= me then
      if owner ~= 0 then mine[#mine + 1] = now - last end
      owner = me
    end
    last = now
    if now > t_end then break end
  end
  gaps[me] = mine
end

local argsets = {}
local t_end = clock() + o.seconds
for i = 1, o.threads do argsets[i] = {i, t_end} end
local m = B.measure(function() B.run_threads(spinner, argsets) end)

local all = {}
for i = 1, o.threads do
  for _, g in ipairs(gaps[i] or {}) do all[#all + 1] = g * 1e6 end
end
B.emit("gil_handoff", {mode = "gil", workers = o.threads}, m, {
  samples = #all,
  p50_us = B.percentile(all, 50), p99_us = B.percentile(all, 99),
  max_us = B.percentile(all, 100),
  handoffs_per_s = #all / m.wall_s,
})

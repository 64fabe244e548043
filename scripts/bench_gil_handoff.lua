-- bench_gil_handoff.lua — GIL handoff latency: N threads (default 2) spin
-- under the GIL, each reading the clock every iteration. A thread that
-- loses the GIL sees a gap between two consecutive readings: an "off"
-- interval [a, b] (a = its last reading before, b = its first after).
-- A handoff to thread A is the end b_A of one of A's off intervals paired
-- with the latest start a_B of another thread's off interval inside
-- [a_A, b_A]: B's last instruction before it dropped the GIL, and A's
-- first after it got it. latency = b_A - a_B (at most one loop iteration,
-- ~0.1 us, more than the true figure). Every thread records only its own
-- readings, so preemption at any instruction cannot corrupt a sample.
-- Reports p50/p99/max in microseconds and handoffs per second.
--
--   gillua --switch=interval:5 scripts/bench_gil_handoff.lua --seconds=1

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")
local o = B.options(arg, "bench_gil_handoff.lua", {seconds = 0.5, threads = 2, gap_us = 1},
                    "--seconds=S --threads=N --gap_us=US")
B.require_mode("gil_handoff", {mode = "gil", workers = o.threads})

local clock = B.wall
offs = {}   -- offs[i] = {a1, b1, a2, b2, ...}: thread i's off intervals

-- The spinners allocate nothing while they run: each writes into an array
-- sized beforehand (ROOM entries, then it stops recording), and the
-- collector is stopped for the run, so neither a collector's step nor an
-- array's growth (milliseconds once the arrays are large) poses as a
-- thread being off.
local ROOM = 400000

local function spinner(me, t_end, gap, mine)
  local n = 0
  local prev = clock()
  while prev < t_end do
    local now = clock()
    if now - prev > gap and n < ROOM then
      mine[n + 1] = prev
      mine[n + 2] = now
      n = n + 2
    end
    prev = now
  end
  for k = n + 1, ROOM do mine[k] = nil end
  offs[me] = mine
end

local argsets = {}
for i = 1, o.threads do
  local mine = {}
  for k = 1, ROOM do mine[k] = 0.0 end
  argsets[i] = {i, 0, o.gap_us / 1e6, mine}
end
collectgarbage("stop")
local t_end = clock() + o.seconds
for i = 1, o.threads do argsets[i][2] = t_end end
local m = B.measure(function() B.run_threads(spinner, argsets) end)
collectgarbage("restart")

-- all off-interval starts, sorted by time, with their thread
local starts = {}
for i = 1, o.threads do
  local t = offs[i] or {}
  for k = 1, #t, 2 do starts[#starts + 1] = {t[k], i} end
end
table.sort(starts, function(x, y) return x[1] < y[1] end)

-- index of the last start <= t (binary search)
local function last_before(t)
  local lo, hi = 1, #starts
  local found = 0
  while lo <= hi do
    local mid = (lo + hi) // 2
    if starts[mid][1] <= t then found = mid; lo = mid + 1 else hi = mid - 1 end
  end
  return found
end

local lat = {}
for i = 1, o.threads do
  local t = offs[i] or {}
  for k = 1, #t, 2 do
    local a, b = t[k], t[k + 1]
    local j = last_before(b)
    while j > 0 and starts[j][1] >= a do
      if starts[j][2] ~= i then
        lat[#lat + 1] = (b - starts[j][1]) * 1e6
        break
      end
      j = j - 1
    end
  end
end

B.emit("gil_handoff", {mode = "gil", workers = o.threads}, m, {
  samples = #lat,
  p50_us = B.percentile(lat, 50), p99_us = B.percentile(lat, 99),
  max_us = B.percentile(lat, 100), p90_us = B.percentile(lat, 90),
  over_1ms = (function() local n = 0 for _, x in ipairs(lat) do if x > 1000 then n = n + 1 end end return n end)(),
  handoffs_per_s = #lat / m.wall_s,
})

-- single.lua — the single-thread job of the benchmark suite: gillua
-- against stock lua5.4 on scripts/bench_single.lua's workloads (fib,
-- loop, coroutine ping-pong, string building, table sorting), where
-- there is no second thread and so nothing for the GIL to do: gillua
-- should cost what lua5.4 costs.
--
-- Both interpreters run the same file as whole processes, interleaved
-- (gillua, lua5.4, gillua, lua5.4, ...): each pair's ratio gillua/lua5.4
-- is taken, and the median ratio is reported with the min and max. A
-- pair measures both under the same background load, so the median of
-- the ratios stays meaningful on a busy machine where single times do
-- not. The CPU time of each run (user + system, from
-- os.getrusage("children") when gillua has it) gives a second ratio,
-- cpu_ratio_*, which a loaded machine disturbs less than wall time.
-- Before timing, one run of each checks that both print the same
-- checksum (the same work was done).
--
--   local rows = dofile("bench/single.lua")(gillua, lua54, root, quick, scale)
--
-- quick: 9 pairs at half size (with 5, one noisy pair moved the median by
-- 5%), otherwise 11 pairs; scale (default 1) multiplies the sizes further
-- (the harness's --scale).
-- returns one row per workload, shaped as the report's "extras" (bench,
-- impl, flags, numbers), shown by report_{json,md,html}.lua.

local WORKLOADS = {"fib", "loop", "coroutine", "string", "sort"}

local function quote(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

-- Seconds on a monotonic clock: gillua's time module, os.clock otherwise
-- (then CPU time of this process, which waits: only a fallback).
local clock = os.clock
do
  local ok, time = pcall(require, "time")
  if ok and time.perf_counter then clock = time.perf_counter end
end

local function output_of(cmd)
  local p = io.popen(cmd .. " 2>&1", "r")
  local out = p:read("a")
  local ok = p:close()
  return ok and out or nil, out
end

-- CPU seconds used so far by reaped children, or nil.
local function children_cpu()
  if not os.getrusage then return nil end
  local r = os.getrusage("children")
  return r and r.utime and r.stime and r.utime + r.stime or nil
end

-- Runs cmd; returns its wall seconds and CPU seconds (or nil), or nil.
local function timed(cmd)
  local c0, t0 = children_cpu(), clock()
  local ok = os.execute(cmd .. " >/dev/null 2>&1")
  local wall, c1 = clock() - t0, children_cpu()
  if not ok then return nil end
  return wall, c0 and c1 and c1 - c0 or nil
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end

-- One workload: a row with the median, min and max of the per-pair
-- ratios and each interpreter's median time.
local function measure(gillua, lua54, script, workload, scale, pairs_n)
  local args = " " .. quote(script) .. " " .. workload .. " " .. scale
  local g_cmd, l_cmd = quote(gillua) .. args, quote(lua54) .. args
  local row = {bench = "single " .. workload, impl = "gillua",
               flags = string.format("/ lua5.4, %d interleaved pairs, scale %s", pairs_n, scale)}
  local g_out, g_raw = output_of(g_cmd)
  local l_out, l_raw = output_of(l_cmd)
  if not g_out or not l_out then
    row.unavailable = "failed: " .. ((g_out and l_raw or g_raw):match("[^\n]*"))
    return row
  end
  if g_out ~= l_out then
    row.unavailable = string.format("outputs differ: gillua %q, lua5.4 %q", g_out, l_out)
    return row
  end
  local ratios, cpu_ratios, g_times, l_times = {}, {}, {}, {}
  for i = 1, pairs_n do
    local g, g_cpu = timed(g_cmd)
    local l, l_cpu = timed(l_cmd)
    if not g or not l then row.unavailable = "a timed run failed"; return row end
    ratios[i], g_times[i], l_times[i] = g / l, g, l
    if g_cpu and l_cpu and l_cpu > 0 then cpu_ratios[#cpu_ratios + 1] = g_cpu / l_cpu end
  end
  row.ratio_median = median(ratios)
  row.ratio_min = math.min(table.unpack(ratios))
  row.ratio_max = math.max(table.unpack(ratios))
  if #cpu_ratios == pairs_n then
    row.cpu_ratio_median = median(cpu_ratios)
    row.cpu_ratio_min = math.min(table.unpack(cpu_ratios))
    row.cpu_ratio_max = math.max(table.unpack(cpu_ratios))
  end
  row.gillua_s = median(g_times)
  row.lua54_s = median(l_times)
  return row
end

return function(gillua, lua54, root, quick, scale)
  local script = root .. "/scripts/bench_single.lua"
  scale = string.format("%.6g", (quick and 0.5 or 1) * (scale or 1))
  local pairs_n = quick and 9 or 11
  local rows = {}
  for i, w in ipairs(WORKLOADS) do
    io.stderr:write(string.format("single %d/%d: %s, gillua vs lua5.4, %d pairs\n", i, #WORKLOADS, w, pairs_n))
    rows[#rows + 1] = measure(gillua, lua54, script, w, scale, pairs_n)
  end
  return rows
end

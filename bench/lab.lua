-- lab.lua — the GIL lab's part of the benchmark suite: the jobs that set
-- the four switch policies side by side (bench/harness.lua adds them to
-- its plan) and the report's "GIL designs side by side" table and the
-- bytecodes:N sweep (the report writers render them as generic sections).
--
-- A section is {id=, title=, intro=, columns = {names}, rows = {{cells}},
-- notes = {strings}}; a chart is {id=, title=, xlabel=, ylabel=, xs=,
-- series = {{name=, points = {{x, y}}}}, log_x=}.

local L = {}
local P = dofile((debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/paired.lua")

-- The GIL designs, in history's order, and what each one is.
L.policies = {"ticks:100", "bytecodes:100", "interval:5", "priority:5"}
L.design = {
  ticks = "CPython 2: drop and retake every N bytecodes, no hand-over",
  bytecodes = "gillua: FIFO hand-over after N bytecodes' time (>= 0.5 ms)",
  interval = "CPython 3.2+: a waiter asks the holder to drop after MS",
  priority = "interval, but a thread back from a blocking call goes first",
}
-- priority:5:PCT, the share urgent turns may cost the CPU-bound threads:
-- the convoy at each share shows what serving I/O first costs.
L.shares = {2, 5, 10, 20, 40}
L.default_share = 5   -- vm/gil.h's GIL_PRIORITY_SHARE: priority:5 itself
-- bytecodes:N from 1 to 10^7: switches per second and throughput.
L.nsweep = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000}

-- Adds the lab's jobs. ctx: add (function), quick, repeats, sizes,
-- py_impl (nil without CPython), micro_seconds.
function L.jobs(ctx)
  local add, reps = ctx.add, ctx.quick and 1 or ctx.repeats
  for _, n in ipairs(L.nsweep) do
    add({kind = "bench", impl = "gillua", bench = "dead_loop", mode = "gil", switch = "bytecodes:" .. n,
         workers = 2, reps = reps, nsweep = true, iters = ctx.sizes.nsweep_iters})
  end
  if ctx.taskset then   -- Python 2's GIL on one core: taskset -c 0
    for _, m in ipairs({{"sequential"}, {"gil", "ticks:100"}, {"gil", "interval:5"}}) do
      add({kind = "bench", impl = "gillua", bench = "dead_loop", mode = m[1], switch = m[2], workers = 2,
           reps = ctx.repeats, pinned = "0"})
    end
  end
  local secs = "--seconds=" .. ctx.micro_seconds
  for _, p in ipairs(L.policies) do   -- the convoy beside three CPU-bound threads, real TCP
    add({kind = "micro", script = "bench_gil_convoy.lua", switch = p, args = {secs, "--cpu=3", "--channel=tcp"}})
  end
  for _, cpu in ipairs({1, 3}) do   -- the floor: the CPU-bound loops in processes, no GIL between
    add({kind = "micro", script = "bench_gil_convoy.lua", switch = "interval:5",
         args = {secs, "--cpu=" .. cpu, "--channel=tcp", "--cpu_in=process"}})
  end
  for _, share in ipairs(L.shares) do   -- priority's share (10 is priority:5 itself, run above)
    if share ~= L.default_share then
      for _, cpu in ipairs({1, 3}) do
        add({kind = "micro", script = "bench_gil_convoy.lua", switch = "priority:5:" .. share,
             args = {secs, "--cpu=" .. cpu, "--channel=tcp"}})
      end
    end
  end
  for _, p in ipairs(L.policies) do
    add({kind = "micro", script = "bench_gil_fairness.lua", switch = p,
         args = {"--seconds=" .. math.max(0.5, ctx.micro_seconds)}})
  end
  for _, p in ipairs(L.policies) do   -- I/O-bound threads under each design
    add({kind = "extra", script = "lab_io_bound.lua", flags = {"--switch=" .. p},
         args = {"--threads=4", "--waits=" .. (ctx.quick and 4 or 10), "--ms=25"}})
  end
  local count = "--count=" .. (ctx.quick and 200 or 1000)
  for pair = 1, ctx.quick and 5 or 9 do   -- interleaved: GIL on, GIL off, CPython (bench/paired.lua)
    for _, g in ipairs({"--gil=on", "--gil=off"}) do
      add({kind = "extra", script = "bench_thread_start.lua", flags = {g}, args = {count}, pair = pair})
    end
    if ctx.py_impl then
      add({kind = "extra", script = "thread_start.py", flags = {}, args = {count}, peer = true, pair = pair})
    end
  end
end

------------------------------------------------------------------ report

local function find(rows, where)   -- (pinned and nsweep rows only when asked for)
  for _, r in ipairs(rows or {}) do
    local ok = not r.unavailable and r.pinned == where.pinned and r.nsweep == where.nsweep
    for k, v in pairs(where) do if r[k] ~= v then ok = false end end
    if ok then return r end
  end
end

local function fmt(v, d)
  if v == nil then return "–" end
  if type(v) ~= "number" then return tostring(v) end
  if math.abs(v) >= 1e4 then return string.format("%.0f", v) end
  return string.format("%." .. (d or 2) .. "f", v)
end

local function pct(v) return v and string.format("%.1f%%", 100 * v) or "–" end

local function lost(r)
  if not r then return "–" end
  if not r.ops or r.ops == 0 then return fmt(r.lost_updates, 0) end
  return string.format("%s (%.1f%%)", fmt(r.lost_updates, 0), 100 * (r.lost_updates or 0) / r.ops)
end

local function micro(report, bench, where)
  for _, m in ipairs(report.micro or {}) do
    local ok = m.bench == bench and not m.unavailable
    for k, v in pairs(where) do if m[k] ~= v then ok = false end end
    if ok then return m end
  end
end

local function convoy(report, impl, switch, cpu, cpu_in)
  for _, m in ipairs(report.micro or {}) do
    if m.bench == "gil_convoy" and not m.unavailable and (m.impl or "gillua") == impl
       and (m.cpu_in or "thread") == (cpu_in or "thread")
       and m.channel == "tcp"   -- real I/O: a TCP echo in another process (the pipe's
                                -- alone rate, ~3 µs a trip, is shared memory, not I/O)
       and (switch == nil or m.switch == switch) and (m.cpu_threads or 1) == cpu then
      return m.retention or (m.beside_trips_per_s and m.alone_trips_per_s
                             and m.beside_trips_per_s / m.alone_trips_per_s), m.cpu_retention
    end
  end
end

local function per_s(r, k) return r and r[k] and r.wall_s and r.wall_s > 0 and r[k] / r.wall_s or nil end

-- One row of the side-by-side table.
local function design_row(report, label, what, impl, mode, switch)
  local set = impl == "gillua" and report.runs or report.peers
  local dl = find(set, {bench = "dead_loop", impl = impl, mode = mode, switch = switch, workers = 2})
  local bl = find(set, {bench = "balance", impl = impl, mode = mode, switch = switch, workers = 2, lock = false})
  local c1, cpu1 = nil, nil
  if mode == "gil" then c1, cpu1 = convoy(report, impl, impl == "gillua" and switch or nil, 1) end
  local c3 = mode == "gil" and impl == "gillua" and convoy(report, impl, switch, 3) or nil
  local h = impl == "gillua" and mode == "gil" and micro(report, "gil_handoff", {switch = switch}) or nil
  local speed = dl and dl.speedup and (fmt(dl.speedup) .. (dl.noise and " (noise)" or "")) or "–"
  return {label, what, dl and fmt(dl.cores_used) or "–", speed, lost(bl), pct(c1), pct(c3), pct(cpu1),
          fmt(per_s(dl, "switches"), 0), fmt(per_s(dl, "releases"), 0),
          h and (fmt(h.p50_us, 1) .. " / " .. fmt(h.p99_us, 1)) or "–"}
end

function L.design_section(report)
  local rows = {}
  local pol = report.config and report.config.switch or L.policies
  local function pinned_row(p)   -- the same dead loop on one core (taskset -c 0)
    local r = find(report.runs, {bench = "dead_loop", mode = "gil", switch = p, workers = 2, pinned = "0"})
    if not r then return end
    rows[#rows + 1] = {"gil " .. p .. ", one core", "taskset -c 0", fmt(r.cores_used),
                       fmt(r.speedup) .. (r.noise and " (noise)" or ""), "–", "–", "–", "–",
                       fmt(per_s(r, "switches"), 0), fmt(per_s(r, "releases"), 0), "–"}
  end
  for _, p in ipairs(pol) do
    local kind = p:match("^(%a+)")
    rows[#rows + 1] = design_row(report, "gil " .. p, L.design[kind] or "", "gillua", "gil", p)
  end
  pinned_row("ticks:100")
  pinned_row("interval:5")
  rows[#rows + 1] = design_row(report, "GIL off", "a fresh interpreter per thread", "gillua", "nogil")
  rows[#rows + 1] = design_row(report, "processes", "multiprocessing.Process", "gillua", "processes")
  local peers = report.peers or {}
  if #peers > 0 then
    local impl = peers[1].impl
    rows[#rows + 1] = design_row(report, impl .. " threads", "CPython's GIL (interval:5)", impl, "gil")
    rows[#rows + 1] = design_row(report, impl .. " processes", "multiprocessing.Process", impl, "processes")
  end
  return {
    id = "lab", title = "GIL designs side by side",
    intro = "One row per design, all on the same interpreter and the same benchmarks. Dead loop: two CPU-bound "
      .. "threads (cores used, and speedup against running the loops one after the other: median of the per-pair "
      .. "ratios). Lost updates: balance without a lock, 2 workers. Convoy: an I/O thread's round trips per second "
      .. "over TCP to an echo process, beside 1 and 3 CPU-bound threads, as a share of its rate alone, and the "
      .. "CPU-bound thread's loop rate "
      .. "beside it as a share of its rate alone. Switches/s and releases/s: the dead loop's GIL counters per "
      .. "wall second. Hand-over: release to the waiter's first instruction.",
    columns = {"design", "what", "dead loop cores", "speedup", "lost updates", "convoy, 1 CPU",
               "convoy, 3 CPU", "CPU kept", "switches/s", "releases/s", "hand-over p50 / p99 µs"},
    rows = rows,
  }
end

-- The convoy at each of priority:5's shares (TCP): what serving the I/O
-- thread first costs the CPU-bound threads.
function L.share_section(report)
  local rows = {}
  for _, share in ipairs(L.shares) do
    local sw = share == L.default_share and "priority:5" or ("priority:5:" .. share)
    local r1, k1 = convoy(report, "gillua", sw, 1)
    local r3, k3 = convoy(report, "gillua", sw, 3)
    if r1 or r3 then
      rows[#rows + 1] = {sw .. (share == L.default_share and " (the default)" or ""), share .. "%",
                         pct(r1), pct(k1), pct(r3), pct(k3)}
    end
  end
  local f1, fk1 = convoy(report, "gillua", nil, 1, "process")
  local f3, fk3 = convoy(report, "gillua", nil, 3, "process")
  if f1 or f3 then
    rows[#rows + 1] = {"no GIL between them: the CPU-bound loops in processes", "–", pct(f1), pct(fk1), pct(f3), pct(fk3)}
  end
  if #rows == 0 then return nil end
  return {id = "share", title = "priority:5:PCT: what serving I/O first costs",
          intro = "The convoy over TCP at each share PCT of the GIL's time that urgent turns (threads back "
            .. "from a blocking call, served first) may cost the CPU-bound threads. Each round trip the I/O "
            .. "thread makes holds the GIL for its send and receive calls and its Lua work (15-25 µs here): "
            .. "the share decides how many of those the CPU-bound threads pay for. The last row is the floor: "
            .. "the same loops in processes, so only the machine (2 cores shared with the I/O thread and the "
            .. "echo process) stands between them.",
          columns = {"policy", "share", "I/O kept, 1 CPU", "CPU kept, 1 CPU", "I/O kept, 3 CPU", "CPU kept, 3 CPU"},
          rows = rows}
end

-- The bytecodes:N sweep: switches per second and throughput against N.
function L.nsweep_chart(report)
  local sw, tp = {}, {}
  for _, r in ipairs(report.runs or {}) do
    if r.nsweep and not r.unavailable and r.wall_s and r.wall_s > 0 then
      local n = tonumber((r.switch or ""):match("^bytecodes:(%d+)$"))
      if n then
        sw[#sw + 1] = {n, (r.switches or 0) / r.wall_s}
        tp[#tp + 1] = {n, (r.ops_per_s or 0) / 1e6}
      end
    end
  end
  if #sw == 0 then return nil end
  table.sort(sw, function(a, b) return a[1] < b[1] end)
  table.sort(tp, function(a, b) return a[1] < b[1] end)
  local xs = {}
  for _, p in ipairs(sw) do xs[#xs + 1] = p[1] end
  return {
    {id = "nsweep-switches", title = "bytecodes:N, 2 CPU-bound threads: switches per second vs N",
     xlabel = "N (log scale)", ylabel = "switches/s", xs = xs, log_x = true,
     series = {{name = "switches/s", points = sw}}},
    {id = "nsweep-throughput", title = "bytecodes:N, 2 CPU-bound threads: throughput vs N",
     xlabel = "N (log scale)", ylabel = "M iterations/s (both threads)", xs = xs, log_x = true,
     series = {{name = "iterations/s", points = tp}}},
  }
end

function L.nsweep_section(report)
  local rows = {}
  for _, r in ipairs(report.runs or {}) do
    if r.nsweep then
      rows[#rows + 1] = r.unavailable and {r.switch, r.unavailable, "", "", ""} or
        {r.switch, fmt(r.wall_s, 3), fmt(r.switches and r.switches / r.wall_s, 0),
         fmt(r.ops_per_s and r.ops_per_s / 1e6, 1), fmt(r.cores_used)}
    end
  end
  if #rows == 0 then return nil end
  table.sort(rows, function(a, b)
    return (tonumber(a[1]:match("%d+$")) or 0) < (tonumber(b[1]:match("%d+$")) or 0) end)
  return {id = "nsweep", title = "bytecodes:N from 1 to 10^7",
          intro = "Two CPU-bound threads (dead loop) under bytecodes:N. A turn lasts N instructions' time, at least "
            .. "0.5 ms: switches per second stay flat while N instructions take less than the minimum turn, then "
            .. "fall as 1/N; the wall time should not grow with N.",
          columns = {"policy", "wall s", "switches/s", "M iterations/s", "cores used"}, rows = rows}
end

-- Thread start + join: gillua (GIL on, GIL off) and CPython side by side.
-- gillua's thread start + join over CPython's: GIL on, GIL off (paired.lua).
function L.thread_start_ratios(report)
  local function side(mode)
    return function(e) return e.impl == "gillua" and e.mode == mode end
  end
  local function is_peer(e) return e.impl ~= "gillua" end
  local function us(e) return e.us_per_thread end
  return P.ratio(report, "thread_start", side("gil"), is_peer, us),
         P.ratio(report, "thread_start", side("nogil"), is_peer, us)
end

function L.thread_start_section(report)
  local on, off = L.thread_start_ratios(report)
  if not (on or off) then return nil end
  local py_us = (on or off).b
  local function row(name, r)
    return {name, r and fmt(r.a, 1) or "–", r and P.text(r) or "–", r and tostring(r.n) or "–"}
  end
  return {id = "thread-start", title = "Thread start + join",
          intro = "Start and join threads one after another, each running an empty function; gillua (GIL on, "
            .. "GIL off) and CPython's threading.Thread(...).start(); join() run one after the other, pair "
            .. "after pair: the ratio is the median of the per-pair ratios (min-max).",
          columns = {"", "µs per thread (median)", "ratio to CPython", "pairs"},
          rows = {row("gillua, GIL on", on), row("gillua, GIL off", off),
                  {"CPython threads", fmt(py_us, 1), "1", on and tostring(on.n) or "–"}}}
end

-- I/O-bound threads: waits overlap under every design.
function L.io_bound_section(report)
  local rows = {}
  for _, e in ipairs(report.extras or {}) do
    if e.bench == "lab_io_bound" then
      rows[#rows + 1] = e.unavailable and {e.switch or e.flags, e.unavailable, "", "", ""} or
        {e.switch, fmt(e.sequential_s, 3), fmt(e.threaded_s, 3), fmt(e.speedup), tostring(e.workers)}
    end
  end
  if #rows == 0 then return nil end
  return {id = "io-bound", title = "I/O-bound threads under each design",
          intro = "Each thread reads lines from its own child process, which writes one every 25 ms: "
            .. "the threads, one after the other, then all at once. Waiting lets go of the GIL, so the "
            .. "waits overlap (ideal speedup: the number of threads) whatever the switch policy.",
          columns = {"policy", "one after the other, s", "all at once, s", "speedup", "threads"}, rows = rows}
end

-- The lab's goals as checks ({text, ok (nil: not measured), detail, noise}).
function L.checks(report)
  local out = {}
  local function add(text, ok, detail, noise)
    out[#out + 1] = {text = text, ok = ok, detail = detail, noise = noise}
  end
  for _, cpu in ipairs({1, 3}) do
    local goal = cpu == 1 and 0.5 or 0.25
    local r, kept = convoy(report, "gillua", "priority:5", cpu)
    add(string.format("convoy, priority:5 beside %d CPU-bound thread%s: I/O keeps >= %d%% of its rate alone",
                      cpu, cpu > 1 and "s" or "", goal * 100), r and r >= goal,
        r and ("kept " .. pct(r)) or "not measured")
    add(string.format("convoy, priority:5 beside %d: the CPU-bound threads keep >= 90%%", cpu),
        kept and kept >= 0.9, kept and ("kept " .. pct(kept)) or "not measured", kept and kept > 1.1)
  end
  for _, p in ipairs(report.config and report.config.switch or L.policies) do
    local h = micro(report, "gil_handoff", {switch = p})
    if h and not p:match("^ticks") then
      add("hand-over latency, " .. p .. ": p50 <= 20 µs and p99 <= 200 µs",
          h.p50_us <= 20 and h.p99_us <= 200, string.format("p50 %s µs, p99 %s µs", fmt(h.p50_us, 1), fmt(h.p99_us, 1)))
    end
  end
  local on, off = L.thread_start_ratios(report)
  if on or off then
    for _, c in ipairs({{"GIL on", on, 0.25}, {"GIL off", off, 0.5}}) do
      local r, goal = c[2], c[3]
      add(string.format("thread start + join, gillua %s: <= %sx CPython's", c[1], goal),
          r and r.median <= goal, r and (P.text(r) .. "x") or "not measured")
    end
  end
  return out
end

function L.sections(report)
  local out = {}
  for _, f in ipairs({L.design_section, L.share_section, L.nsweep_section, L.io_bound_section,
                      L.thread_start_section}) do
    local s = f(report)
    if s then out[#out + 1] = s end
  end
  return out
end

return L

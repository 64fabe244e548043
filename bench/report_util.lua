-- report_util.lua — what the Markdown and HTML reports share: number
-- formats, row selection, the table layouts, the acceptance checks (what
-- the benchmarks must show, the GIL's own figures, the lab's goals), and
-- the generated reading of the numbers.

local U = {}
U.here = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local L = dofile(U.here .. "/lab.lua")
local M = dofile(U.here .. "/mgr_report.lua")
local A = dofile(U.here .. "/aggregate.lua")

-- Sections that other parts of the suite add to the report (generic
-- tables: {id, title, intro, columns, rows}) and their charts: the writers
-- render whatever is listed here. Each provider is one entry.
U.section_providers = {L.sections, M.sections}
U.chart_providers = {L.nsweep_chart}
U.check_providers = {L.checks, M.checks}

function U.sections(report)
  local out = {}
  for _, f in ipairs(U.section_providers) do
    for _, sec in ipairs(f(report) or {}) do out[#out + 1] = sec end
  end
  return out
end

function U.charts(report)
  local out = {}
  for _, f in ipairs(U.chart_providers) do
    for _, c in ipairs(f(report) or {}) do out[#out + 1] = c end
  end
  return out
end

-- A copy of a report decoded from report.json with its JSON nulls (empty
-- tables whose tostring is "null", from any instance of json.lua) removed,
-- so the writers can render a saved report again.
function U.denull(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if not (type(x) == "table" and next(x) == nil and tostring(x) == "null") then out[k] = U.denull(x) end
  end
  return setmetatable(out, getmetatable(v))
end

function U.fmt(v, digits)
  if v == nil then return "–" end
  if type(v) == "boolean" then return v and "yes" or "no" end
  if type(v) ~= "number" then return tostring(v) end
  if math.type(v) == "integer" then return tostring(v) end
  digits = digits or 2
  if v ~= 0 and math.abs(v) >= 1e6 then return string.format("%.3g", v) end
  return string.format("%." .. digits .. "f", v)
end

function U.si(v)   -- 1234567 -> 1.23M
  if v == nil then return "–" end
  local a = math.abs(v)
  if a >= 1e9 then return string.format("%.2fG", v / 1e9) end
  if a >= 1e6 then return string.format("%.2fM", v / 1e6) end
  if a >= 1e3 then return string.format("%.1fk", v / 1e3) end
  return string.format("%.0f", v)
end

-- Rows of report.runs and report.peers matching 'where' (a table of field
-- values; lock=false matches rows with lock false).
function U.select(report, where, include_sweep)
  local out = {}
  for _, set in ipairs({report.runs or {}, report.peers or {}}) do
    for _, r in ipairs(set) do
      local ok = (include_sweep or not r.sweep) and not r.nsweep and not r.pinned
      for k, v in pairs(where) do
        if r[k] ~= v then ok = false end
      end
      if ok then out[#out + 1] = r end
    end
  end
  return out
end

function U.find(report, where, include_sweep)
  return U.select(report, where, include_sweep)[1]
end

function U.mode_label(r)
  if r.mode == "gil" then return "gil " .. (r.switch or "") end
  return r.mode
end

-- "1.97 (1.93-1.99)", "noise: 2.54 (2.41-2.60)" for a figure beyond the
-- machine's limit (aggregate.lua).
function U.speedup_text(r)
  if not r.speedup then return nil end
  local t = U.fmt(r.speedup, 2)
  if r.speedup_min and r.speedup_max and r.speedup_max > r.speedup_min then
    t = t .. " (" .. U.fmt(r.speedup_min, 2) .. "-" .. U.fmt(r.speedup_max, 2) .. ")"
  end
  return r.noise and ("noise: " .. t) or t
end

-- Table layouts: header and a function from row to cells.
U.columns = {
  {"impl", function(r) return r.impl end},
  {"mode", U.mode_label},
  {"workers", function(r) return r.workers end},
  {"wall s (median)", function(r) return U.fmt(r.wall_s, 3) end},
  {"best s", function(r) return U.fmt(r.wall_best, 3) end},
  {"spread", function(r) return r.spread and string.format("%.0f%%", 100 * r.spread) end},
  {"cpu s", function(r) return U.fmt(r.cpu_s, 3) end},
  {"cores used", function(r) return U.fmt(r.cores_used, 2) end},
  {"ops/s", function(r) return U.si(r.ops_per_s) end},
  {"speedup (min-max)", function(r) return U.speedup_text(r) end},
  {"efficiency", function(r) return U.fmt(r.efficiency, 2) end},
  {"switches", function(r) return r.switches and U.si(r.switches) end},
  {"other load", function(r)
    return r.others_cores and (U.fmt(r.others_cores, 1) .. (r.retries and (" (" .. r.retries .. " rerun)") or "")) end},
}
U.balance_columns = {
  U.columns[1], U.columns[2], U.columns[3],
  {"lock", function(r) return r.lock and "with lock" or "no lock" end},
  U.columns[4], U.columns[8], U.columns[10],
  {"lost updates", function(r) return r.lost_updates end},
  {"worst of R", function(r) return r.lost_updates_max end},
  {"final balance", function(r) return r.final_balance and U.fmt(math.tointeger(r.final_balance) or r.final_balance, 0) end},
  U.columns[12], U.columns[13],
}

local mode_order = {sequential = 1, gil = 2, nogil = 3, processes = 4, coroutines = 5, mpi = 6}
function U.sort_rows(rows)
  table.sort(rows, function(a, b)
    if a.impl ~= b.impl then return a.impl == "gillua" or (b.impl ~= "gillua" and a.impl < b.impl) end
    if (a.lock and 1 or 0) ~= (b.lock and 1 or 0) then return not a.lock end
    if a.workers ~= b.workers then return a.workers < b.workers end
    if a.mode ~= b.mode then return (mode_order[a.mode] or 9) < (mode_order[b.mode] or 9) end
    return (a.switch or "") < (b.switch or "")
  end)
  return rows
end

-- Rows of one benchmark (not the sweep), gillua first, then peers.
function U.bench_rows(report, bench)
  return U.sort_rows(U.select(report, {bench = bench}))
end

function U.sweep_rows(report)
  local rows = {}
  for _, set in ipairs({report.runs or {}, report.peers or {}}) do
    for _, r in ipairs(set) do if r.sweep then rows[#rows + 1] = r end end
  end
  local function weight(r)
    local kind, n = (r.switch or ""):match("^(%a+):([%d.]+)")
    n = tonumber(n) or 0
    return (r.impl == "gillua" and 0 or 2e9) + (kind == "interval" and 1e9 or 0) + n
        + (r.lock and 0.5 or 0)
  end
  table.sort(rows, function(a, b) return weight(a) < weight(b) end)
  return rows
end

-- "interval:5" for gillua's rows, "cpython-3.11 interval:5" for a peer's.
function U.micro_label(m)
  local tcp = m.channel == "tcp" and " tcp" or ""   -- the convoy over a socket beside the pipe's
  local more = (m.cpu_threads or 1) > 1 and (", " .. m.cpu_threads .. " CPU threads") or ""
  if m.impl and m.impl ~= "gillua" then return m.impl .. " " .. (m.switch or "") .. tcp .. more end
  return (m.switch or "?") .. tcp .. more
end

function U.micro(report, bench)
  local out = {}
  for _, m in ipairs(report.micro or {}) do
    if m.bench == bench then out[#out + 1] = m end
  end
  return out
end

-- Generic rows of other measurements (report.extras): the benchmark, how
-- it ran, and its own figures (numeric fields other than the common ones).
local common = {wall_s = true, cpu_s = true, cores_used = true, switches = true, workers = true,
                ops = true, ops_per_s = true, others_cores = true}
function U.extra_rows(report)
  local rows = {}
  for _, e in ipairs(report.extras or {}) do
    local figs = {}
    if e.unavailable then figs[1] = e.unavailable
    else
      local keys = {}
      for k, v in pairs(e) do
        if type(v) == "number" and not common[k] then keys[#keys + 1] = k end
      end
      table.sort(keys)
      for _, k in ipairs(keys) do
        local v = e[k]
        local shown = k:match("ratio") and string.format("%.3f", v)   -- ratios near 1 (bench/single.lua)
          or (math.abs(v) < 0.1 and v ~= 0 and string.format("%.3g", v) or U.fmt(v, 1))
        figs[#figs + 1] = k .. " = " .. shown
      end
      if e.cores_used then figs[#figs + 1] = "cores used = " .. U.fmt(e.cores_used) end
    end
    local how = (e.impl and e.impl ~= "gillua" and (e.impl .. " ") or "") .. (e.mode or "")
    local flags = (e.flags or ""):gsub("^%s+", "")
    rows[#rows + 1] = {e.bench or "?", (how .. " (" .. flags .. ")"):gsub("^ ", ""), table.concat(figs, ", ")}
  end
  return rows
end

------------------------------------------------------------------ checks

-- Each check: {text, status = "pass"|"fail"|"n/a", detail}.
function U.acceptance(report)
  local checks = {}
  -- 'r', when given, is the row the figure comes from: a figure flagged
  -- noise (beyond the machine's limit, and again when re-measured) is
  -- reported as such and never counted as a pass.
  local function check(text, ok, detail, r)
    local status = ok == nil and "n/a" or (ok and "pass" or "fail")
    if r and r.noise then
      status = "noise"
      detail = (detail or "") .. " (beyond the machine's limit, also when measured again)"
    end
    checks[#checks + 1] = {text = text, status = status, detail = detail or ""}
  end
  -- The hand-over designs are held to the GIL's criteria; ticks:N is
  -- CPython 2's GIL on purpose, battle and all.
  local function held_to_criteria(p) return not p:match("^ticks:") end
  local function row(w) return U.find(report, w) end
  local function val(r, k) return r and not r.unavailable and r[k] or nil end
  local function why(r) return r and r.unavailable or "not measured" end

  -- dead loop
  for _, p in ipairs(report.config and report.config.switch or {}) do
    if held_to_criteria(p) then
      local r = row({bench = "dead_loop", impl = "gillua", mode = "gil", switch = p, workers = 2})
      local c = val(r, "cores_used")
      check("dead_loop, 2 workers, gil " .. p .. ": cores used <= 1.1", c and c <= 1.1,
            c and ("cores used " .. U.fmt(c)) or why(r))
    end
  end
  for _, m in ipairs({"nogil", "processes"}) do
    local r = row({bench = "dead_loop", impl = "gillua", mode = m, workers = 2})
    local s = val(r, "speedup")
    check("dead_loop, 2 workers, " .. m .. ": speedup >= 1.9", s and s >= 1.9,
          s and ("speedup " .. U.speedup_text(r) .. ", cores used " .. U.fmt(r.cores_used)) or why(r), r)
  end
  -- balance
  local worst, n, missing = 0, 0, {}
  for _, set in ipairs({report.runs or {}}) do
    for _, r in ipairs(set) do
      if r.bench == "balance" and r.lock and r.mode ~= "sequential" then
        if r.unavailable then missing[#missing + 1] = U.mode_label(r)
        else n = n + 1; worst = math.max(worst, r.lost_updates_max or 0) end
      end
    end
  end
  local modes_missing = #missing > 0 and (" (not run: " .. table.concat(missing, ", ") .. ")") or ""
  local lock_ok
  if worst > 0 then lock_ok = false elseif n > 0 and #missing == 0 then lock_ok = true end
  check("balance with lock: 0 lost updates in every mode", lock_ok,
        string.format("%d rows, worst repetition lost %d%s", n, worst, modes_missing))
  local b3 = U.find(report, {bench = "balance", impl = "gillua", mode = "gil", switch = "bytecodes:3",
                             workers = 2, lock = false}, true)
  local l3 = val(b3, "lost_updates")
  check("balance without lock at bytecodes:3: lost updates > 0", l3 and l3 > 0,
        l3 and (l3 .. " of " .. U.fmt(b3.ops) .. " updates lost") or why(b3))
  -- multi_process
  for _, m in ipairs({"processes", "nogil"}) do
    local r = row({bench = "multi_process", impl = "gillua", mode = m, workers = 2})
    local s = val(r, "speedup")
    check("multi_process, 2 workers, " .. m .. ": speedup >= 1.85", s and s >= 1.85,
          s and ("speedup " .. U.speedup_text(r)) or why(r), r)
  end
  for _, p in ipairs(report.config and report.config.switch or {}) do
    if held_to_criteria(p) then
      local r = row({bench = "multi_process", impl = "gillua", mode = "gil", switch = p, workers = 2})
      local s = val(r, "speedup")
      check("multi_process, 2 workers, gil " .. p .. ": speedup ~1 (0.85..1.15)",
            s and s >= 0.85 and s <= 1.15, s and ("speedup " .. U.speedup_text(r)) or why(r), r)
    end
  end
  -- CPython's shape
  local peers = report.peers or {}
  if #peers > 0 then
    local impl = peers[1].impl
    local t = row({bench = "dead_loop", impl = impl, mode = "gil", workers = 2})
    local p = row({bench = "dead_loop", impl = impl, mode = "processes", workers = 2})
    local tc, pc = val(t, "cores_used"), val(p, "cores_used")
    check(impl .. " dead_loop, 2 workers: threads ~1 core, processes ~2",
          tc and pc and tc <= 1.1 and pc >= 1.5,
          string.format("threads %s cores, processes %s cores (speedup %s)", U.fmt(tc), U.fmt(pc),
                        U.fmt(val(p, "speedup"))))
  else
    check("CPython rows beside gillua's", nil, report.config and report.config.peers_note or "no peers")
  end
  -- the GIL's own figures
  for _, b in ipairs(report.baseline or {}) do
    if b.impl == "lua5.4" then
      local g = nil
      for _, x in ipairs(report.baseline) do if x.impl == "gillua" then g = x end end
      -- the dead loop, one thread: the median of the per-pair ratios (the
      -- runs are interleaved, lua5.4 then gillua, pair after pair)
      local ratios = {}
      local gw, bw = g and g.rep_walls or {}, b.rep_walls or {}
      for i = 1, math.min(#gw, #bw) do
        if bw[i] > 0 then ratios[#ratios + 1] = gw[i] / bw[i] end
      end
      table.sort(ratios)
      local n = #ratios
      local ratio = A.median(ratios)
      check("single thread: gillua / lua5.4 wall time <= 1.03", ratio and ratio <= 1.03,
            ratio and string.format("median ratio %s (%s..%s) of %d interleaved pairs", U.fmt(ratio, 3),
                                    U.fmt(ratios[1], 3), U.fmt(ratios[n], 3), n) or "not measured")
    end
  end
  for _, e in ipairs(report.extras or {}) do   -- bench/single.lua's workloads
    local w = (e.bench or ""):match("^single (%w+)$")
    if w then
      local r = e.ratio_median
      check("single thread, " .. w .. ": gillua / lua5.4 wall time <= 1.03", r and r <= 1.03,
            r and (string.format("median ratio %s (%s..%s) of interleaved pairs", U.fmt(r, 3),
                                 U.fmt(e.ratio_min, 3), U.fmt(e.ratio_max, 3))
                   .. (e.cpu_ratio_median and string.format("; CPU time %s", U.fmt(e.cpu_ratio_median, 3)) or ""))
              or e.unavailable or "not measured")
    end
  end
  for _, m in ipairs(U.micro(report, "gil_hook")) do
    if not m.unavailable and m.switch == "interval:5" then
      check("two threads, interval:5: aggregate throughput vs one thread >= 0.95",
            m.two_threads_ratio >= 0.95, "ratio " .. U.fmt(m.two_threads_ratio),
            {noise = m.two_threads_ratio > 1.05})   -- two threads under one GIL beat one thread: noise
    end
  end
  -- the lab's and the managers' checks read micro benchmarks, which the
  -- demo does not run: there they would only say "not measured"
  local demo = report.config and report.config.profile == "demo"
  for _, f in ipairs(demo and {} or U.check_providers) do
    for _, k in ipairs(f(report) or {}) do check(k.text, k.ok, k.detail, {noise = k.noise}) end
  end
  for _, m in ipairs(U.micro(report, "gil_fairness")) do
    if not m.unavailable and ((m.switch or ""):match("^interval") or (m.switch or ""):match("^priority")) then
      check("fairness, 4 threads, " .. m.switch .. ": each 25% +/- 5%", m.max_dev_pct <= 5,
            "largest deviation " .. U.fmt(m.max_dev_pct, 1) .. " points")
    end
  end
  U.io().acceptance(report, check)   -- the I/O-bound benchmark (report_io.lua)
  return checks
end

------------------------------------------------------------------ reading

-- A few sentences that say what the numbers show, with the numbers.
-- report_io.lua, loaded when first needed (it loads this file itself).
function U.io()
  U.io_module = U.io_module or dofile(U.here .. "/report_io.lua")
  return U.io_module
end

function U.reading(report)
  local out = {}
  local function row(w) local r = U.find(report, w) return r and not r.unavailable and r or nil end
  local pol = report.config and report.config.switch or {}
  local w = 2
  local gil_rows = {}
  for _, p in ipairs(pol) do
    local r = row({bench = "dead_loop", impl = "gillua", mode = "gil", switch = p, workers = w})
    if r then gil_rows[#gil_rows + 1] = string.format("%s cores with %s (speedup %s)", U.fmt(r.cores_used), p, U.fmt(r.speedup)) end
  end
  local ng = row({bench = "dead_loop", impl = "gillua", mode = "nogil", workers = w})
  local pr = row({bench = "dead_loop", impl = "gillua", mode = "processes", workers = w})
  if #gil_rows > 0 then
    out[#out + 1] = string.format(
      "**The GIL serialises CPU-bound threads.** Two dead-loop threads under the GIL used %s: "
      .. "one core's worth of CPU, so no faster than running the loops one after another.%s%s",
      table.concat(gil_rows, "; "),
      ng and string.format(" With the GIL off the same threads used %s cores (speedup %s).",
                           U.fmt(ng.cores_used), U.fmt(ng.speedup)) or "",
      pr and string.format(" Two processes used %s cores (speedup %s).", U.fmt(pr.cores_used), U.fmt(pr.speedup)) or "")
  end
  local peers = report.peers or {}
  if #peers > 0 then
    local impl = peers[1].impl
    local t = row({bench = "dead_loop", impl = impl, mode = "gil", workers = w})
    local p = row({bench = "dead_loop", impl = impl, mode = "processes", workers = w})
    local gs = row({bench = "dead_loop", impl = "gillua", mode = "sequential", workers = w})
    local cs = row({bench = "dead_loop", impl = impl, mode = "sequential", workers = w})
    if t and p then
      local same = t.cores_used <= 1.1 and (p.speedup or 0) >= 1.5
      out[#out + 1] = string.format(
        "**%s** %s threads used %s cores (speedup %s); its processes %s cores (speedup %s).%s",
        same and "CPython shows the same shape." or "CPython, measured in the same run:",
        impl, U.fmt(t.cores_used), U.fmt(t.speedup), U.fmt(p.cores_used), U.fmt(p.speedup),
        (gs and cs) and string.format(" Per loop iteration gillua is %sx faster than %s (sequential %s vs %s iterations/s): the GIL costs both the same share, the interpreters differ in speed.",
                                      U.fmt(gs.ops_per_s / cs.ops_per_s, 1), impl, U.si(gs.ops_per_s), U.si(cs.ops_per_s)) or "")
    end
    local cb = U.find(report, {bench = "balance", impl = impl, mode = "gil", workers = w, lock = false})
    local gb = U.find(report, {bench = "balance", impl = "gillua", mode = "gil", switch = "bytecodes:3", workers = w, lock = false}, true)
    if cb and not cb.unavailable and gb and not gb.unavailable then
      out[#out + 1] = string.format(
        "**Where they differ: lost updates.** Without a lock, gillua at bytecodes:3 lost %s of %s updates: its count hook can "
        .. "switch threads between any two instructions, including between the read and the write of `balance`. "
        .. "%s threads lost %s: since CPython 3.10 a thread only drops the GIL at a backward jump or a call, never inside "
        .. "`balance = balance + n`, so the race is still there but rarely or never shows. With a lock no mode loses anything.",
        U.fmt(gb.lost_updates), U.fmt(gb.ops), impl, U.fmt(cb.lost_updates))
    end
  end
  local sw = {}
  for _, r in ipairs(U.sweep_rows(report)) do
    if r.impl == "gillua" and not r.lock and not r.unavailable and r.ops and r.ops > 0 then
      sw[#sw + 1] = string.format("%s %.1f%%", r.switch, 100 * (r.lost_updates or 0) / r.ops)
    end
  end
  if #sw > 0 then
    out[#out + 1] = "**Lost updates vs switch interval** (share of all updates, no lock): " .. table.concat(sw, ", ")
      .. ". A forced switch that falls between the read and the write of `balance` makes the other thread's whole "
      .. "turn of updates vanish, so the share lost depends little on N."
    local iv, any_lost = nil, false
    for _, r in ipairs(U.select(report, {bench = "balance", impl = "gillua", mode = "gil", workers = 2, lock = false}, true)) do
      if not r.unavailable and (r.switch or ""):match("^interval") then
        if (r.lost_updates_max or r.lost_updates or 0) > 0 then any_lost = true end
        if not iv or (r.switches or 0) > (iv.switches or 0) then iv = r end
      end
    end
    if iv and not any_lost and (iv.switches or 0) > 0 then
      out[#out] = out[#out] .. string.format(" Under interval switching no run lost anything (%s: %s switches, 0 lost): the drop it asks for "
        .. "from a signal handler is taken where Lua's VM looks at its hook flag again (most likely a loop back-edge "
        .. "or a call), which is seldom if ever inside `balance = balance + n`, much as CPython 3.10+ only switches at such points. "
        .. "The race is still there; the counted policy (bytecodes:N), whose hook fires at any instruction, shows it.",
        iv.switch, U.fmt(iv.switches))
    end
  end
  local mp = row({bench = "multi_process", impl = "gillua", mode = "processes", workers = w})
  local mg = row({bench = "multi_process", impl = "gillua", mode = "gil", workers = w})
  if mp then
    out[#out + 1] = string.format(
      "**A pool of processes is the way round the GIL.** The prime-counting batch through Pool(2) ran %sx faster than sequential%s.",
      U.fmt(mp.speedup), mg and string.format(", threads under the GIL %sx", U.fmt(mg.speedup)) or "")
  end
  local conv = U.micro(report, "gil_convoy")
  local parts = {}
  for _, c in ipairs(conv) do
    if not c.unavailable then
      parts[#parts + 1] = string.format("%s: %s round trips/s alone, %s beside a CPU-bound thread (%sx slower, %s ms a trip)",
                                        U.micro_label(c), U.si(c.alone_trips_per_s), U.si(c.beside_trips_per_s),
                                        U.fmt(c.slowdown, 1), U.fmt(1000 / c.beside_trips_per_s, 2))
    end
  end
  if #parts > 0 then
    out[#out + 1] = "**The convoy effect.** An I/O thread beside a CPU-bound thread: " .. table.concat(parts, "; ")
      .. ". Each time the I/O thread's wait ends it must get the GIL back from the CPU-bound thread; "
      .. "a trip that costs about one switch interval or more shows that wait."
  end
  out[#out + 1] = U.io().reading(report)   -- the I/O-bound half (nil when not run)
  -- background load: how much of the machine the benchmarks really had
  local loads = {}
  for _, r in ipairs(report.runs or {}) do
    if r.others_cores then loads[#loads + 1] = r.others_cores end
  end
  table.sort(loads)
  local mid = loads[(#loads + 1) // 2]
  local cpus = report.machine and report.machine.cpus or 2
  if mid and mid > 0.3 then
    out[#out + 1] = string.format("**Caution: a busy machine.** While this report ran, other programs kept a median of "
      .. "%s of the %d cores busy (\"other load\" column), so parallel modes had about %s cores: speedups above that "
      .. "could not be measured in this run.", U.fmt(mid, 1), cpus, U.fmt(math.max(1, cpus - mid), 1))
  end
  out[#out + 1] = "Speedups are the median of R per-pair ratios (each mode's repetition i ran right after the sequential "
    .. "run's repetition i), with the lowest and highest pair beside it. A speedup beyond the machine's limit (above "
    .. "workers or cores x 1.05, above 1.05 for threads under a GIL, or a one-worker ratio outside 0.9-1.1) is measured again and, if it persists, shown as "
    .. "noise and never counted as a pass."
  return out
end

return U

-- report_md.lua — report.md: the acceptance checks, a short reading of
-- the numbers, and the tables (per benchmark, the switch-interval sweep,
-- the GIL microbenchmarks, the timeline summary, the machine).

local here = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local U = dofile(here .. "/report_util.lua")

local M = {}

local function cell(v)
  v = v == nil and "–" or tostring(v)
  return (v:gsub("|", "\\|"))
end

local function table_md(rows, columns)
  local out = {}
  local head, rule = {}, {}
  for i, c in ipairs(columns) do head[i] = c[1]; rule[i] = "---" end
  out[1] = "| " .. table.concat(head, " | ") .. " |"
  out[2] = "|" .. table.concat(rule, "|") .. "|"
  for _, r in ipairs(rows) do
    local cells = {}
    if r.unavailable then
      cells = {cell(r.impl), cell(U.mode_label(r)), cell(r.workers)}
      if r.lock ~= nil and columns == U.balance_columns then cells[4] = r.lock and "with lock" or "no lock" end
      cells[#cells + 1] = cell(r.unavailable)
      for _ = #cells + 1, #columns do cells[#cells + 1] = "" end
    else
      for i, c in ipairs(columns) do cells[i] = cell(c[2](r)) end
    end
    out[#out + 1] = "| " .. table.concat(cells, " | ") .. " |"
  end
  return table.concat(out, "\n")
end
M.table_md = table_md

-- The dead-loop table alone (make demo prints it; the README shows it).
function M.dead_loop_table(report)
  return "Dead loop (each worker spins `x = x * 1.0` " .. U.fmt(report.config.sizes.dead_loop.iters)
    .. " times; speedup vs the sequential run of the same work: median of "
    .. report.config.repeats .. " interleaved pairs, min-max):\n\n" .. table_md(U.bench_rows(report, "dead_loop"), U.columns) .. "\n"
end

local function micro_md(report)
  local out = {}
  local function section(title, bench, cols)
    local rows = U.micro(report, bench)
    if #rows == 0 then return end
    out[#out + 1] = "### " .. title .. "\n"
    local head, rule = {"impl / switch"}, {"---"}
    for _, c in ipairs(cols) do head[#head + 1] = c[1]; rule[#rule + 1] = "---" end
    out[#out + 1] = "| " .. table.concat(head, " | ") .. " |\n|" .. table.concat(rule, "|") .. "|"
    for _, m in ipairs(rows) do
      local cells = {cell(U.micro_label(m))}
      for _, c in ipairs(cols) do
        cells[#cells + 1] = m.unavailable and (c == cols[1] and cell(m.unavailable) or "") or cell(c[2](m))
      end
      out[#out + 1] = "| " .. table.concat(cells, " | ") .. " |"
    end
    out[#out + 1] = ""
  end
  section("Handoff latency (release by one thread to the waiter's first instruction)", "gil_handoff", {
    {"p50 µs", function(m) return U.fmt(m.p50_us, 1) end},
    {"p99 µs", function(m) return U.fmt(m.p99_us, 1) end},
    {"max µs", function(m) return U.fmt(m.max_us, 1) end},
    {"handoffs/s", function(m) return U.si(m.handoffs_per_s) end},
    {"samples", function(m) return m.samples end},
  })
  section("Fairness (4 spinning threads, share of the loop iterations)", "gil_fairness", {
    {"shares %", function(m)
      local s = {}
      for i, v in ipairs(m.shares_pct or {}) do s[i] = U.fmt(v, 1) end
      return table.concat(s, " / ")
    end},
    {"largest deviation (points)", function(m) return U.fmt(m.max_dev_pct, 1) end},
    {"switches", function(m) return U.si(m.switches) end},
  })
  section("Count hook and switching cost (dead-loop iterations/s)", "gil_hook", {
    {"alone", function(m) return U.si(m.alone_ops_per_s) end},
    {"hook armed, never firing", function(m) return U.si(m.hook_armed_ops_per_s) end},
    {"hook ratio", function(m) return U.fmt(m.hook_ratio) end},
    {"2 threads, aggregate", function(m) return U.si(m.two_threads_ops_per_s) end},
    {"2 threads / alone", function(m) return U.fmt(m.two_threads_ratio) end},
    {"switches", function(m) return U.si(m.switches) end},
  })
  section("Convoy effect (I/O thread's round trips/s, alone and beside a CPU-bound thread)", "gil_convoy", {
    {"channel", function(m) return m.channel end},
    {"alone", function(m) return U.si(m.alone_trips_per_s) end},
    {"beside CPU thread", function(m) return U.si(m.beside_trips_per_s) end},
    {"slowdown", function(m) return U.fmt(m.slowdown, 1) .. "x" end},
    {"CPU-bound threads", function(m) return m.cpu_threads or 1 end},
    {"CPU kept", function(m) return m.cpu_retention and string.format("%.0f%%", 100 * m.cpu_retention) end},
  })
  return table.concat(out, "\n")
end

local function timeline_md(report)
  local out = {}
  for _, tl in ipairs(report.timelines or {}) do
    if tl.unavailable then
      out[#out + 1] = "- " .. tl.switch .. ": " .. tl.unavailable
    else
      local parts = {}
      for _, s in ipairs(tl.shares or {}) do
        parts[#parts + 1] = string.format("%s holds %.0f%% / waits %.0f%% / blocked %.0f%% (%d spans%s)",
                                          s.name, s.holding, s.waiting, s.blocked, s.spans,
                                          (s.wasted or 0) > 0 and (", " .. s.wasted .. " wasted wake-ups") or "")
      end
      out[#out + 1] = string.format("- %s, first %d ms: %s. Trace: `%s`%s", tl.switch, tl.window_ms,
                                    table.concat(parts, "; "), tl.file or "?",
                                    (tl.dropped or 0) > 0 and (" (" .. tl.dropped .. " events dropped)") or "")
    end
  end
  return table.concat(out, "\n")
end

function M.render(report)
  report = U.denull(report)
  local m, c = report.machine, report.config
  local out = {}
  local function add(s) out[#out + 1] = s end
  add("# gillua benchmark report\n")
  add(string.format("%s · %d CPUs (%s) · %s · gillua %s (%s), commit %s · profile `%s`, %d repetitions per point%s\n",
                    m.date, m.cpus, m.cpu_model, m.os, m.gillua, m.lua, m.commit, c.profile, c.repeats,
                    c.python and (" · peers: " .. c.python) or ""))
  if c.peers_note then add("> " .. c.peers_note .. "\n") end
  add("## Acceptance\n")
  for _, k in ipairs(U.acceptance(report)) do
    add(string.format("- **%s** %s — %s", k.status:upper(), k.text, k.detail))
  end
  add("\n## What the numbers show\n")
  for _, p in ipairs(U.reading(report)) do add(p .. "\n") end
  for _, sec in ipairs(U.sections(report)) do
    add("## " .. sec.title .. "\n")
    if sec.intro then add(sec.intro .. "\n") end
    local rule = {}
    for i = 1, #sec.columns do rule[i] = "---" end
    add("| " .. table.concat(sec.columns, " | ") .. " |\n|" .. table.concat(rule, "|") .. "|")
    for _, r in ipairs(sec.rows) do
      local cells = {}
      for i = 1, #sec.columns do cells[i] = cell(r[i]) end
      add("| " .. table.concat(cells, " | ") .. " |")
    end
    add("")
  end
  add("## Dead loop\n")
  add(M.dead_loop_table(report))
  add("## Balance\n")
  add("Each worker does `balance = balance + n; balance = balance - n` " .. U.fmt(c.sizes.balance.iters)
      .. " times. Lost updates are counted exactly (see docs/gil.md): an update is lost when its write was "
      .. "overwritten before any later update read it.\n")
  add(table_md(U.bench_rows(report, "balance"), U.balance_columns) .. "\n")
  add("## Multi-process (Pool)\n")
  add(string.format("A batch of %d tasks per worker, each counting the primes below %d.\n",
                    c.sizes.multi_process.tasks, c.sizes.multi_process.size))
  add(table_md(U.bench_rows(report, "multi_process"), U.columns) .. "\n")
  local io_md = U.io().markdown(report, table_md)   -- report_io.lua
  if io_md then add(io_md) end
  local sweep = U.sweep_rows(report)
  if #sweep > 0 then
    add("## Lost updates vs switch interval (balance, 2 threads, " .. U.fmt(c.sizes.sweep_iters) .. " iterations each)\n")
    add(table_md(sweep, U.balance_columns) .. "\n")
  end
  if report.micro and #report.micro > 0 then
    add("## The GIL itself\n")
    add(micro_md(report))
  end
  local extras = U.extra_rows(report)
  if #extras > 0 then
    add("## Other measurements\n")
    add("| benchmark | mode (flags) | figures |\n|---|---|---|")
    for _, r in ipairs(extras) do add("| " .. cell(r[1]) .. " | " .. cell(r[2]) .. " | " .. cell(r[3]) .. " |") end
    add("")
  end
  if report.baseline and #report.baseline > 0 then
    add("## Single thread: gillua vs stock lua5.4\n")
    add(table_md(report.baseline, U.columns) .. "\n")
  end
  if report.timelines and #report.timelines > 0 then
    add("## GIL timeline (2-thread dead loop)\n")
    add(timeline_md(report) .. "\n")
  end
  if report.errors and #report.errors > 0 then
    add("## Errors\n")
    for _, e in ipairs(report.errors) do add("- " .. e.what .. ": " .. e.error) end
    add("")
  end
  return table.concat(out, "\n")
end

return setmetatable(M, {__call = function(_, report) return M.render(report) end})

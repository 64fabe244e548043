-- report_html.lua — report.html: one self-contained page (no network, no
-- external files): the acceptance checks, the reading, charts as inline
-- SVG (speedup and cores used vs workers per mode for gillua and CPython,
-- lost updates vs switch interval, the convoy effect, the I/O-bound speedups
-- (report_io.lua), the GIL timeline per
-- switch policy), the tables and the machine.
--
-- A small inline script counts the charts into <html data-charts=N> and
-- records any script error into <html data-errors=...>, so a headless
-- browser's --dump-dom shows both (tests/report/check_html.sh).

local here = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local U = dofile(here .. "/report_util.lua")
local S = dofile(here .. "/svg.lua")
local esc = S.esc

local M = {}

local CSS = [[
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{margin-top:34px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555}.charts{display:flex;flex-wrap:wrap;gap:14px}
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,td:nth-child(2),th{text-align:left}
td.na{color:#999;text-align:left}
.pass{color:#1a7f37;font-weight:600}.noise{color:#8d6e00;font-weight:600}.fail{color:#c62828;font-weight:600}.n\/a{color:#888;font-weight:600}
svg.chart{background:#fff;border:1px solid #e4e4e4;border-radius:4px}
svg .ct{font-weight:600;font-size:13px}svg .yl{font-size:11px;text-anchor:end}svg .xl{font-size:11px;text-anchor:middle}
svg .al{font-size:11px;text-anchor:middle;fill:#555}svg .lg{font-size:11px}svg .rl{font-size:10px;text-anchor:end;fill:#888}
svg .grid{stroke:#eee}svg .ref{stroke:#999;stroke-dasharray:3 3}svg .lane{fill:#fafafa;stroke:#eee}
svg .req{stroke:#c62828;stroke-width:1}svg .lost{stroke:#6a1b9a;stroke-width:1}
.note{background:#fff8e1;border-left:4px solid #f0c000;padding:6px 10px}
]]

local SCRIPT_HEAD = [[<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  window.__errors.push(String(e.message));
  document.documentElement.setAttribute("data-errors", window.__errors.join(" | "));
});
</script>]]

local SCRIPT_TAIL = [[<script>
document.documentElement.setAttribute("data-charts", String(document.querySelectorAll("svg.chart").length));
document.documentElement.setAttribute("data-rendered", "yes");
</script>]]

local function table_html(rows, columns)
  local o = {"<table><tr>"}
  for _, c in ipairs(columns) do o[#o + 1] = "<th>" .. esc(c[1]) .. "</th>" end
  o[#o + 1] = "</tr>"
  for _, r in ipairs(rows) do
    o[#o + 1] = "<tr>"
    if r.unavailable then
      local lead = {r.impl, U.mode_label(r), r.workers}
      if columns == U.balance_columns then lead[4] = r.lock and "with lock" or "no lock" end
      for _, v in ipairs(lead) do o[#o + 1] = "<td>" .. esc(v) .. "</td>" end
      o[#o + 1] = string.format('<td class="na" colspan="%d">%s</td>', #columns - #lead, esc(r.unavailable))
    else
      for _, c in ipairs(columns) do
        local v = c[2](r)
        o[#o + 1] = "<td>" .. esc(v == nil and "–" or v) .. "</td>"
      end
    end
    o[#o + 1] = "</tr>"
  end
  o[#o + 1] = "</table>"
  return table.concat(o)
end

-- One series per (impl, mode, switch) of a benchmark, y = field.
local function series_for(report, bench, field, lock)
  local by, order = {}, {}
  for _, r in ipairs(U.bench_rows(report, bench)) do
    local wanted = not r.unavailable and r[field] ~= nil and (lock == nil or r.lock == lock)
                   and (r.mode ~= "sequential" or field == "cores_used")
    if wanted then
      local name = (r.impl == "gillua" and "" or (r.impl .. " ")) .. U.mode_label(r)
      if not by[name] then
        by[name] = {name = name, points = {}, dash = r.impl ~= "gillua"}
        order[#order + 1] = by[name]
      end
      table.insert(by[name].points, {r.workers, r[field]})
    end
  end
  for i, s in ipairs(order) do
    s.color = S.palette[(i - 1) % #S.palette + 1]
    table.sort(s.points, function(a, b) return a[1] < b[1] end)
  end
  return order
end

local function bench_charts(report, bench, title, lock)
  local xs = report.config.workers or {1, 2}
  local cpus = report.machine.cpus
  local refs_speed = {{y = 1, label = "1x"}, {y = math.min(cpus, xs[#xs]), label = cpus .. " cores"}}
  return S.line_chart{title = title .. ": speedup vs workers", xlabel = "workers", ylabel = "speedup vs sequential",
                      xs = xs, series = series_for(report, bench, "speedup", lock), refs = refs_speed}
      .. "\n" .. S.line_chart{title = title .. ": cores used vs workers", xlabel = "workers",
                             ylabel = "cores used (cpu s / wall s)", xs = xs,
                             series = series_for(report, bench, "cores_used", lock),
                             refs = {{y = 1, label = "1 core"}, {y = cpus, label = cpus .. " cores"}}}
end

local function sweep_chart(report)
  local rows = U.sweep_rows(report)
  local cats, vals, labels = {}, {}, {}
  local groups = {{name = "gillua, no lock", color = S.palette[1]}, {name = "gillua, with lock", color = S.palette[3]},
                  {name = "CPython threads, no lock", color = S.palette[2]}}
  local idx = {}
  for _, r in ipairs(rows) do
    if not r.unavailable then
      local cat = r.switch or "?"
      if not idx[cat] then cats[#cats + 1] = cat; idx[cat] = #cats; vals[#cats] = {}; labels[#cats] = {} end
      local g = r.impl ~= "gillua" and 3 or (r.lock and 2 or 1)
      local pct = 100 * (r.lost_updates or 0) / r.ops
      vals[idx[cat]][g] = pct
      labels[idx[cat]][g] = string.format("%d of %d updates lost (%.2f%%)", r.lost_updates or 0, r.ops, pct)
    end
  end
  if #cats == 0 then return nil end
  return S.bar_chart{title = "Lost updates vs switch interval (balance, 2 threads, no lock unless said)",
                     ylabel = "% of updates lost", categories = cats, groups = groups, values = vals, labels = labels}
end

local function convoy_chart(report)
  local rows = U.micro(report, "gil_convoy")
  local cats, vals, labels = {}, {}, {}
  for _, m in ipairs(rows) do
    if not m.unavailable then
      cats[#cats + 1] = U.micro_label(m)
      vals[#cats] = {m.alone_trips_per_s, m.beside_trips_per_s}
      labels[#cats] = {U.si(m.alone_trips_per_s) .. " round trips/s",
                       U.si(m.beside_trips_per_s) .. " round trips/s (" .. U.fmt(m.slowdown, 1) .. "x slower)"}
    end
  end
  if #cats == 0 then return nil end
  return S.bar_chart{title = "Convoy effect: I/O thread round trips per second", ylabel = "round trips/s (log)",
                     categories = cats, log = true, values = vals, labels = labels,
                     groups = {{name = "alone", color = S.palette[3]}, {name = "beside a CPU-bound thread", color = S.palette[2]}}}
end

local function micro_tables(report)
  local o = {}
  local function t(title, bench, cols)
    local rows = U.micro(report, bench)
    if #rows == 0 then return end
    o[#o + 1] = "<h3>" .. esc(title) .. "</h3><table><tr><th>impl / switch</th>"
    for _, c in ipairs(cols) do o[#o + 1] = "<th>" .. esc(c[1]) .. "</th>" end
    o[#o + 1] = "</tr>"
    for _, m in ipairs(rows) do
      o[#o + 1] = "<tr><td>" .. esc(U.micro_label(m)) .. "</td>"
      if m.unavailable then
        o[#o + 1] = string.format('<td class="na" colspan="%d">%s</td>', #cols, esc(m.unavailable))
      else
        for _, c in ipairs(cols) do o[#o + 1] = "<td>" .. esc(c[2](m) or "–") .. "</td>" end
      end
      o[#o + 1] = "</tr>"
    end
    o[#o + 1] = "</table>"
  end
  t("Handoff latency", "gil_handoff", {
    {"p50 µs", function(m) return U.fmt(m.p50_us, 1) end}, {"p99 µs", function(m) return U.fmt(m.p99_us, 1) end},
    {"max µs", function(m) return U.fmt(m.max_us, 1) end}, {"handoffs/s", function(m) return U.si(m.handoffs_per_s) end}})
  t("Fairness, 4 threads", "gil_fairness", {
    {"shares %", function(m)
      local s = {}
      for i, v in ipairs(m.shares_pct or {}) do s[i] = U.fmt(v, 1) end
      return table.concat(s, " / ")
    end}, {"largest deviation (points)", function(m) return U.fmt(m.max_dev_pct, 1) end}})
  t("Count hook and switching cost", "gil_hook", {
    {"alone it/s", function(m) return U.si(m.alone_ops_per_s) end},
    {"hook armed it/s", function(m) return U.si(m.hook_armed_ops_per_s) end},
    {"hook ratio", function(m) return U.fmt(m.hook_ratio) end},
    {"2 threads it/s", function(m) return U.si(m.two_threads_ops_per_s) end},
    {"2 threads / alone", function(m) return U.fmt(m.two_threads_ratio) end}})
  t("Convoy effect", "gil_convoy", {
    {"channel", function(m) return m.channel end}, {"alone trips/s", function(m) return U.si(m.alone_trips_per_s) end},
    {"beside CPU thread", function(m) return U.si(m.beside_trips_per_s) end},
    {"slowdown", function(m) return U.fmt(m.slowdown, 1) .. "x" end},
    {"CPU-bound threads", function(m) return m.cpu_threads or 1 end},
    {"CPU kept", function(m) return m.cpu_retention and string.format("%.0f%%", 100 * m.cpu_retention) end}})
  return table.concat(o, "\n")
end

function M.render(report)
  report = U.denull(report)
  local m, c = report.machine, report.config
  local o = {}
  local function add(s) o[#o + 1] = s end
  add('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">')
  add('<meta name="viewport" content="width=device-width, initial-scale=1">')
  add("<title>gillua benchmark report " .. esc(m.date) .. "</title>")
  add(SCRIPT_HEAD)
  add("<style>" .. CSS .. "</style></head><body>")
  add("<h1>gillua benchmark report</h1>")
  add(string.format('<p class="meta">%s · %d CPUs (%s) · %s · gillua %s (%s) · commit %s · profile <b>%s</b>, %d repetitions per point%s</p>',
                    esc(m.date), m.cpus, esc(m.cpu_model), esc(m.os), esc(m.gillua), esc(m.lua), esc(m.commit),
                    esc(c.profile), c.repeats, c.python and (" · peers: " .. esc(c.python)) or ""))
  if c.peers_note then add('<p class="note">' .. esc(c.peers_note) .. "</p>") end
  add("<h2>Acceptance</h2><ul>")
  for _, k in ipairs(U.acceptance(report)) do
    add(string.format('<li><span class="%s">%s</span> %s — %s</li>', k.status, k.status:upper(), esc(k.text), esc(k.detail)))
  end
  add("</ul><h2>What the numbers show</h2>")
  for _, p in ipairs(U.reading(report)) do
    local h = esc(p):gsub("%*%*(.-)%*%*", "<b>%1</b>"):gsub("`(.-)`", "<code>%1</code>")
    add("<p>" .. h .. "</p>")
  end
  for _, sec in ipairs(U.sections(report)) do
    add('<h2 id="' .. esc(sec.id or "") .. '">' .. esc(sec.title) .. "</h2>")
    if sec.intro then add("<p>" .. esc(sec.intro) .. "</p>") end
    local t = {"<table><tr>"}
    for _, h in ipairs(sec.columns) do t[#t + 1] = "<th>" .. esc(h) .. "</th>" end
    t[#t + 1] = "</tr>"
    for _, r in ipairs(sec.rows) do
      t[#t + 1] = "<tr>"
      for i = 1, #sec.columns do t[#t + 1] = "<td>" .. esc(r[i] == nil and "–" or r[i]) .. "</td>" end
      t[#t + 1] = "</tr>"
    end
    add(table.concat(t) .. "</table>")
  end
  local extra_charts = {}
  for i, ch in ipairs(U.charts(report)) do
    for j, sr in ipairs(ch.series) do sr.color = sr.color or S.palette[(i + j - 2) % #S.palette + 1] end
    extra_charts[#extra_charts + 1] = S.line_chart(ch)
  end
  if #extra_charts > 0 then add('<div class="charts">' .. table.concat(extra_charts, "\n") .. "</div>") end
  add("<h2>Speedup and cores used</h2><p>Solid lines: gillua; dashed: CPython. Speedup is the median of " .. c.repeats
      .. " per-pair ratios against the sequential run of the same work (each pair ran back to back).</p>")
  add('<div class="charts">' .. bench_charts(report, "dead_loop", "Dead loop") .. "</div>")
  add('<div class="charts">' .. bench_charts(report, "multi_process", "Multi-process (prime batch)") .. "</div>")
  add('<div class="charts">' .. bench_charts(report, "balance", "Balance with lock", true) .. "</div>")
  add(U.io().html(report, S, table_html) or "")   -- the I/O-bound half (report_io.lua)
  local sw, cv = sweep_chart(report), convoy_chart(report)
  if sw or cv then
    add("<h2>Lost updates and the convoy effect</h2><div class=\"charts\">" .. (sw or "") .. (cv or "") .. "</div>")
  end
  add("<h2>GIL timeline</h2><p>The first 20 ms of a 2-thread dead loop under each switch policy, from <code>gillua --trace</code>"
      .. " (one lane per thread; the main thread is blocked in join). Red ticks: a waiter asked the holder to drop the GIL;"
      .. " purple ticks under a lane: that thread woke up and found the GIL taken again (ticks:N's battle)."
      .. " The trace files beside this report load in Perfetto or chrome://tracing.</p>")
  for _, tl in ipairs(report.timelines or {}) do
    if tl.unavailable then
      add('<p class="note">' .. esc(tl.switch) .. ": " .. esc(tl.unavailable) .. "</p>")
    else
      add("<div>" .. S.timeline(tl, "GIL timeline, " .. tl.switch .. ", first " .. tl.window_ms .. " ms") .. "</div>")
    end
  end
  add("<h2>Tables</h2><h3>Dead loop</h3>" .. table_html(U.bench_rows(report, "dead_loop"), U.columns))
  add("<h3>Balance</h3>" .. table_html(U.bench_rows(report, "balance"), U.balance_columns))
  add("<h3>Multi-process</h3>" .. table_html(U.bench_rows(report, "multi_process"), U.columns))
  local sweep = U.sweep_rows(report)
  if #sweep > 0 then add("<h3>Lost updates vs switch interval</h3>" .. table_html(sweep, U.balance_columns)) end
  if report.baseline and #report.baseline > 0 then
    add("<h3>Single thread: gillua vs stock lua5.4</h3>" .. table_html(report.baseline, U.columns))
  end
  add("<h2>The GIL itself</h2>" .. micro_tables(report))
  local extras = U.extra_rows(report)
  if #extras > 0 then
    add("<h3>Other measurements</h3><table><tr><th>benchmark</th><th>mode (flags)</th><th>figures</th></tr>")
    for _, r in ipairs(extras) do
      add("<tr><td>" .. esc(r[1]) .. "</td><td>" .. esc(r[2]) .. '</td><td style="text-align:left">' .. esc(r[3]) .. "</td></tr>")
    end
    add("</table>")
  end
  add("<h2>Machine and configuration</h2><table>")
  local keys = {"cpus", "cpu_model", "os", "lua", "gillua", "commit", "date"}
  for _, k in ipairs(keys) do add("<tr><th>" .. k .. "</th><td>" .. esc(m[k]) .. "</td></tr>") end
  add("<tr><th>sizes</th><td>" .. esc(string.format("dead_loop %s iterations/worker; balance %s iterations/worker; multi_process %s tasks/worker of primes below %s",
      U.fmt(c.sizes.dead_loop.iters), U.fmt(c.sizes.balance.iters), U.fmt(c.sizes.multi_process.tasks), U.fmt(c.sizes.multi_process.size))) .. "</td></tr>")
  add("<tr><th>speedup</th><td>" .. esc(c.speedup) .. "</td></tr><tr><th>cpu</th><td>" .. esc(c.cpu_measure) .. "</td></tr></table>")
  if report.errors and #report.errors > 0 then
    add("<h2>Errors</h2><ul>")
    for _, e in ipairs(report.errors) do add("<li>" .. esc(e.what) .. ": " .. esc(e.error) .. "</li>") end
    add("</ul>")
  end
  add(SCRIPT_TAIL)
  add("</body></html>\n")
  return table.concat(o, "\n")
end

return setmetatable(M, {__call = function(_, report) return M.render(report) end})

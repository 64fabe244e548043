-- report_io.lua — the I/O-bound benchmark in the report (report.md,
-- report.html, the acceptance checks and the reading): speedup against
-- the sequential run per worker count and mode, beside the CPU-bound dead
-- loop's threads, so both halves of the GIL lesson sit in one chart.
local here = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local U = dofile(here .. "/report_util.lua")

local IO = {}

local function rows(report) return U.bench_rows(report, "io_bound") end

local function ok(r) return r and not r.unavailable and r or nil end

local function size(report)
  return report.config and report.config.sizes and report.config.sizes.io_bound
end

-- The sentence under the section's title.
function IO.intro(report)
  local s = size(report)
  if not s then return nil end
  return string.format("W workers each make %s HTTP requests (LuaSocket's socket.http; CPython's urllib) to a local "
    .. "server that answers each one after %s ms (scripts/lib/delay_httpd.lua); the sequential run makes the W x %s "
    .. "requests one after another. A worker waits nearly all the time, and a wait lets go of the GIL "
    .. "(vm/interpose.c for C modules such as LuaSocket), so the ideal speedup is W.",
    U.fmt(s.requests), U.fmt(s.delay * 1000, 0), U.fmt(s.requests))
end

-- Worker counts measured, ascending.
local function worker_counts(report)
  local seen, ws = {}, {}
  for _, r in ipairs(rows(report)) do
    if not seen[r.workers] then seen[r.workers] = true; ws[#ws + 1] = r.workers end
  end
  table.sort(ws)
  return ws
end

-- Series of the chart: {name, rows selector, dash}.
local function series_list(report)
  local list, pol = {}, report.config and report.config.switch or {}
  for _, p in ipairs(pol) do list[#list + 1] = {"gillua threads, gil " .. p, {impl = "gillua", mode = "gil", switch = p}} end
  list[#list + 1] = {"gillua threads, --gil=off", {impl = "gillua", mode = "nogil"}}
  list[#list + 1] = {"gillua processes", {impl = "gillua", mode = "processes"}}
  list[#list + 1] = {"gillua coroutines", {impl = "gillua", mode = "coroutines"}}
  local peer = (report.peers or {})[1]
  if peer then
    list[#list + 1] = {peer.impl .. " threads", {impl = peer.impl, mode = "gil"}, true}
    list[#list + 1] = {peer.impl .. " processes", {impl = peer.impl, mode = "processes"}, true}
  end
  return list
end

function IO.chart(report, S)
  local ws = worker_counts(report)
  if #ws == 0 then return nil end
  local series = {}
  for i, sl in ipairs(series_list(report)) do
    local pts = {}
    for _, w in ipairs(ws) do
      local where = {bench = "io_bound", workers = w}
      for k, v in pairs(sl[2]) do where[k] = v end
      local r = ok(U.find(report, where))
      if r and r.speedup then pts[#pts + 1] = {w, r.speedup} end
    end
    if #pts > 0 then series[#series + 1] = {name = sl[1], color = S.palette[(i - 1) % #S.palette + 1], dash = sl[3], points = pts} end
  end
  -- the CPU-bound half: dead-loop threads under the GIL, at the worker counts it has
  local pol = report.config and report.config.switch or {}
  if pol[1] then
    local pts = {}
    for _, w in ipairs(ws) do
      local r = ok(U.find(report, {bench = "dead_loop", impl = "gillua", mode = "gil", switch = pol[1], workers = w}))
      if r and r.speedup then pts[#pts + 1] = {w, r.speedup} end
    end
    if #pts > 0 then series[#series + 1] = {name = "CPU-bound dead loop, gil " .. pol[1], color = "#000", dash = true, points = pts} end
  end
  local ideal = {}
  for _, w in ipairs(ws) do ideal[#ideal + 1] = {w, w} end
  series[#series + 1] = {name = "ideal (W)", color = "#bbb", dash = true, points = ideal}
  return S.line_chart{title = "I/O-bound: speedup vs sequential", xlabel = "workers", ylabel = "speedup",
                      xs = ws, series = series}
end

-- Acceptance: threads under the GIL reach >= 0.9 x W at the largest W <= 16.
function IO.acceptance(report, check)
  local ws = worker_counts(report)
  local top
  for _, w in ipairs(ws) do if w <= 16 then top = w end end
  if not top or top < 2 then return end
  for _, p in ipairs(report.config and report.config.switch or {}) do
    local r = U.find(report, {bench = "io_bound", impl = "gillua", mode = "gil", switch = p, workers = top})
    local s = ok(r) and r.speedup
    check(string.format("io_bound, %d workers, gil %s: speedup >= 0.9 x %d", top, p, top), s and s >= 0.9 * top,
          s and ("speedup " .. U.fmt(s) .. " (" .. U.fmt(s / top) .. " x W)") or (r and r.unavailable or "not measured"))
  end
end

-- The reading's paragraph on the I/O-bound half.
function IO.reading(report)
  local ws = worker_counts(report)
  local top = ws[#ws]
  if not top or top < 2 then return nil end
  local parts = {}
  local function add(label, where)
    where.bench, where.workers = "io_bound", top
    local r = ok(U.find(report, where))
    if r and r.speedup then parts[#parts + 1] = label .. " " .. U.fmt(r.speedup, 1) .. "x" end
  end
  for _, p in ipairs(report.config and report.config.switch or {}) do add("threads (gil " .. p .. ")", {impl = "gillua", mode = "gil", switch = p}) end
  add("processes", {impl = "gillua", mode = "processes"})
  add("coroutines", {impl = "gillua", mode = "coroutines"})
  local peer = (report.peers or {})[1]
  if peer then add(peer.impl .. " threads", {impl = peer.impl, mode = "gil"}) end
  if #parts == 0 then return nil end
  local text = string.format("**I/O-bound work: the GIL does not hurt.** With %d workers waiting on a delayed local "
    .. "server, the speedup over the sequential run was: %s (ideal %d).", top, table.concat(parts, ", "), top)
  local pol = report.config and report.config.switch or {}
  local d = pol[1] and ok(U.find(report, {bench = "dead_loop", impl = "gillua", mode = "gil", switch = pol[1], workers = 2}))
  if d and d.speedup then
    text = text .. string.format(" CPU-bound threads under the same GIL stay at %sx (dead loop, 2 workers).", U.fmt(d.speedup, 2))
  end
  return text
end

function IO.markdown(report, table_md)
  local r = rows(report)
  if #r == 0 then return nil end
  return "## I/O-bound (HTTP requests to a delayed local server)\n\n" .. (IO.intro(report) or "") .. "\n\n"
    .. table_md(r, U.columns) .. "\n"
end

function IO.html(report, S, table_html)
  local r = rows(report)
  if #r == 0 then return nil end
  return "<h2>I/O-bound: the other half of the lesson</h2><p>" .. S.esc(IO.intro(report) or "") .. "</p>"
    .. '<div class="charts">' .. (IO.chart(report, S) or "") .. "</div>"
    .. "<h3>I/O-bound</h3>" .. table_html(r, U.columns)
end

return IO

-- svg.lua — inline SVG charts for report.html, drawn in plain Lua: a line
-- chart (x = workers), a grouped bar chart, and the GIL timeline. No
-- external resources; every chart is an <svg class="chart"> with a <title>.

local S = {}

function S.esc(s)
  return (tostring(s):gsub("[&<>\"]", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;"}))
end
local esc = S.esc

S.palette = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
             "#17becf", "#bcbd22"}

-- The smallest 4 x step >= v with step a round number (1, 1.25, 1.5, 2,
-- ... x 10^k), so the four grid lines fall on readable values.
local function nice_max(v)
  if v <= 0 then return 1 end
  local raw = v / 4
  local p = 10 ^ math.floor(math.log(raw, 10))
  for _, m in ipairs({1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8, 10}) do
    if m * p >= raw * 0.9999 then return 4 * m * p end
  end
  return 40 * p
end

local function num(v)
  if math.type(v) == "integer" then return tostring(v) end
  local s = string.format("%.2f", v):gsub("0+$", ""):gsub("%.$", "")
  return s
end

-- opts: title, xlabel, ylabel, xs = {1,2,4}, series = {{name=, color=, dash=bool,
-- points = {{x, y}, ...}}}, ymax (optional), refs = {{y=, label=}}
function S.line_chart(opts)
  local W, H, L, Rm, T, B = 540, 300, 52, 210, 34, 44
  local pw, ph = W - L - Rm, H - T - B
  local ymax = opts.ymax or 0
  for _, s in ipairs(opts.series) do
    for _, p in ipairs(s.points) do ymax = math.max(ymax, p[2]) end
  end
  for _, r in ipairs(opts.refs or {}) do ymax = math.max(ymax, r.y) end
  ymax = nice_max(ymax * 1.05)
  local xs = opts.xs
  local xi = {}
  for i, x in ipairs(xs) do xi[x] = i end
  local function X(x)
    if #xs == 1 then return L + pw / 2 end
    return L + (xi[x] - 1) * pw / (#xs - 1)
  end
  local function Y(y) return T + ph - y / ymax * ph end
  local o = {}
  o[#o + 1] = string.format('<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img">', W, H, W, H)
  o[#o + 1] = "<title>" .. esc(opts.title) .. "</title>"
  o[#o + 1] = string.format('<text x="%d" y="18" class="ct">%s</text>', L, esc(opts.title))
  for i = 0, 4 do
    local y = ymax * i / 4
    o[#o + 1] = string.format('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>', L, L + pw, Y(y), Y(y))
    o[#o + 1] = string.format('<text x="%d" y="%.1f" class="yl">%s</text>', L - 6, Y(y) + 4, num(y))
  end
  for _, x in ipairs(xs) do
    o[#o + 1] = string.format('<text x="%.1f" y="%d" class="xl">%s</text>', X(x), T + ph + 16, num(x))
  end
  o[#o + 1] = string.format('<text x="%d" y="%d" class="al">%s</text>', L + pw // 2, H - 6, esc(opts.xlabel or ""))
  o[#o + 1] = string.format('<text transform="translate(13,%d) rotate(-90)" class="al">%s</text>', T + ph // 2,
                            esc(opts.ylabel or ""))
  for _, r in ipairs(opts.refs or {}) do
    o[#o + 1] = string.format('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="ref"/>', L, L + pw, Y(r.y), Y(r.y))
    o[#o + 1] = string.format('<text x="%d" y="%.1f" class="rl">%s</text>', L + pw - 2, Y(r.y) - 3, esc(r.label))
  end
  for i, s in ipairs(opts.series) do
    local pts = {}
    for _, p in ipairs(s.points) do
      if xi[p[1]] then pts[#pts + 1] = string.format("%.1f,%.1f", X(p[1]), Y(p[2])) end
    end
    if #pts > 0 then
      o[#o + 1] = string.format('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s><title>%s</title></polyline>',
                                table.concat(pts, " "), s.color, s.dash and ' stroke-dasharray="6 4"' or "", esc(s.name))
      for _, p in ipairs(s.points) do
        if xi[p[1]] then
          o[#o + 1] = string.format('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s at %s</title></circle>',
                                    X(p[1]), Y(p[2]), s.color, esc(s.name), num(p[2]), num(p[1]))
        end
      end
    end
    local ly = T + 4 + (i - 1) * 16
    o[#o + 1] = string.format('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>',
                              L + pw + 10, L + pw + 28, ly, ly, s.color, s.dash and ' stroke-dasharray="6 4"' or "")
    o[#o + 1] = string.format('<text x="%d" y="%d" class="lg">%s</text>', L + pw + 32, ly + 4, esc(s.name))
  end
  o[#o + 1] = "</svg>"
  return table.concat(o, "\n")
end

-- opts: title, ylabel, categories = {"a", ...}, groups = {{name=, color=}},
-- values[ci][gi] = number or nil, labels[ci][gi] = text (optional), log = bool
function S.bar_chart(opts)
  local ncat, ngrp = #opts.categories, #opts.groups
  local W = math.max(540, 90 + ncat * (ngrp * 18 + 22) + 200)
  local H, L, T, B = 320, 60, 34, 84
  local pw, ph = W - L - 200, H - T - B
  local vmax, vmin = 0, math.huge
  for ci = 1, ncat do
    for gi = 1, ngrp do
      local v = opts.values[ci] and opts.values[ci][gi]
      if v then vmax = math.max(vmax, v); if v > 0 then vmin = math.min(vmin, v) end end
    end
  end
  local Y
  local ticks = {}
  if opts.log and vmax > 0 then
    local lo = 10 ^ math.floor(math.log(math.min(vmin, vmax), 10))
    local hi = 10 ^ math.ceil(math.log(vmax, 10))
    if hi <= lo then hi = lo * 10 end
    Y = function(v) return T + ph - (math.log(math.max(v, lo), 10) - math.log(lo, 10)) / (math.log(hi, 10) - math.log(lo, 10)) * ph end
    local t = lo
    while t <= hi * 1.0001 do ticks[#ticks + 1] = t; t = t * 10 end
  else
    local top = nice_max(vmax * 1.05)
    Y = function(v) return T + ph - v / top * ph end
    for i = 0, 4 do ticks[#ticks + 1] = top * i / 4 end
  end
  local o = {}
  o[#o + 1] = string.format('<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img">', W, H, W, H)
  o[#o + 1] = "<title>" .. esc(opts.title) .. "</title>"
  o[#o + 1] = string.format('<text x="%d" y="18" class="ct">%s</text>', L, esc(opts.title))
  for _, t in ipairs(ticks) do
    o[#o + 1] = string.format('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/>', L, L + pw, Y(t), Y(t))
    local lbl = t >= 1e6 and string.format("%.0fM", t / 1e6) or t >= 1e3 and string.format("%.0fk", t / 1e3) or num(t)
    o[#o + 1] = string.format('<text x="%d" y="%.1f" class="yl">%s</text>', L - 6, Y(t) + 4, lbl)
  end
  o[#o + 1] = string.format('<text transform="translate(13,%d) rotate(-90)" class="al">%s</text>', T + ph // 2,
                            esc(opts.ylabel or ""))
  local cw = pw / math.max(ncat, 1)
  local bw = math.min(18, (cw - 10) / math.max(ngrp, 1))
  for ci, c in ipairs(opts.categories) do
    local x0 = L + (ci - 1) * cw + (cw - bw * ngrp) / 2
    for gi, g in ipairs(opts.groups) do
      local v = opts.values[ci] and opts.values[ci][gi]
      if v then
        local y = Y(v)
        local lab = opts.labels and opts.labels[ci] and opts.labels[ci][gi] or num(v)
        o[#o + 1] = string.format('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s, %s: %s</title></rect>',
                                  x0 + (gi - 1) * bw, y, bw - 1, math.max(0.5, T + ph - y), g.color,
                                  esc(c), esc(g.name), esc(lab))
        if v == 0 then   -- a zero bar is invisible: say 0
          o[#o + 1] = string.format('<text x="%.1f" y="%d" class="xl" fill="%s">0</text>',
                                    x0 + (gi - 0.5) * bw, T + ph - 3, g.color)
        end
      end
    end
    o[#o + 1] = string.format('<text x="%.1f" y="%d" class="xl" transform="rotate(20 %.1f %d)">%s</text>',
                              L + (ci - 0.5) * cw, T + ph + 14, L + (ci - 0.5) * cw, T + ph + 14, esc(c))
  end
  for gi, g in ipairs(opts.groups) do
    local ly = T + 4 + (gi - 1) * 16
    o[#o + 1] = string.format('<rect x="%d" y="%d" width="12" height="10" fill="%s"/>', L + pw + 10, ly - 5, g.color)
    o[#o + 1] = string.format('<text x="%d" y="%d" class="lg">%s</text>', L + pw + 28, ly + 4, esc(g.name))
  end
  o[#o + 1] = "</svg>"
  return table.concat(o, "\n")
end

S.state_colors = {holding = "#2ca02c", waiting = "#ff7f0e", blocked = "#9e9e9e"}

-- tl: {window_ms=, lanes = {{name=, spans = {{t0_us, t1_us, kind}}, instants = {t_us}}}}
function S.timeline(tl, title)
  local W, lane_h, L, T = 900, 26, 110, 30
  local pw = W - L - 20
  local H = T + #tl.lanes * (lane_h + 8) + 40
  local scale = pw / (tl.window_ms * 1000)
  local o = {}
  o[#o + 1] = string.format('<svg class="chart timeline" width="%d" height="%d" viewBox="0 0 %d %d" role="img">', W, H, W, H)
  o[#o + 1] = "<title>" .. esc(title) .. "</title>"
  o[#o + 1] = string.format('<text x="%d" y="18" class="ct">%s</text>', L, esc(title))
  for i, lane in ipairs(tl.lanes) do
    local y = T + (i - 1) * (lane_h + 8)
    o[#o + 1] = string.format('<text x="%d" y="%d" class="yl">%s</text>', L - 6, y + lane_h // 2 + 4, esc(lane.name))
    o[#o + 1] = string.format('<rect x="%d" y="%d" width="%d" height="%d" class="lane"/>', L, y, pw, lane_h)
    -- merge neighbouring spans of one kind closer than a third of a pixel
    local merged = {}
    for _, s in ipairs(lane.spans) do
      local last = merged[#merged]
      if last and last[3] == s[3] and (s[1] - last[2]) * scale < 0.34 then
        last[2] = math.max(last[2], s[2])
      else
        merged[#merged + 1] = {s[1], s[2], s[3]}
      end
    end
    for _, s in ipairs(merged) do
      o[#o + 1] = string.format('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"/>', L + s[1] * scale,
                                y + (s[3] == "holding" and 0 or 6), math.max(0.3, (s[2] - s[1]) * scale),
                                s[3] == "holding" and lane_h or lane_h - 12, S.state_colors[s[3]] or "#000")
    end
    local last_x = -1
    for _, t in ipairs(lane.instants or {}) do
      local x = L + t * scale
      if x - last_x >= 1 then
        o[#o + 1] = string.format('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="req"/>', x, x, y - 3, y + 3)
        last_x = x
      end
    end
    last_x = -1
    for _, t in ipairs(lane.wasted or {}) do   -- a wake-up that lost the race
      local x = L + t * scale
      if x - last_x >= 1 then
        o[#o + 1] = string.format('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="lost"/>', x, x,
                                  y + lane_h - 3, y + lane_h + 3)
        last_x = x
      end
    end
  end
  local ay = T + #tl.lanes * (lane_h + 8) + 4
  for ms = 0, tl.window_ms, math.max(1, tl.window_ms // 10) do
    local x = L + ms * 1000 * scale
    o[#o + 1] = string.format('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="grid"/>', x, x, ay - 2, ay + 3)
    o[#o + 1] = string.format('<text x="%.1f" y="%d" class="xl">%d ms</text>', x, ay + 15, ms)
  end
  local lx = L
  for _, k in ipairs({"holding", "waiting", "blocked"}) do
    o[#o + 1] = string.format('<rect x="%d" y="%d" width="12" height="10" fill="%s"/>', lx, ay + 22, S.state_colors[k])
    o[#o + 1] = string.format('<text x="%d" y="%d" class="lg">%s</text>', lx + 16, ay + 31,
                              k == "holding" and "running (holds the GIL)" or k == "waiting" and "waiting for the GIL" or "blocked (GIL released)")
    lx = lx + 190
  end
  o[#o + 1] = string.format('<line x1="%d" x2="%d" y1="%d" y2="%d" class="req"/><text x="%d" y="%d" class="lg">switch request</text>',
                            lx + 6, lx + 6, ay + 20, ay + 32, lx + 14, ay + 31)
  lx = lx + 110
  o[#o + 1] = string.format('<line x1="%d" x2="%d" y1="%d" y2="%d" class="lost"/><text x="%d" y="%d" class="lg">wasted wake-up</text>',
                            lx + 6, lx + 6, ay + 20, ay + 32, lx + 14, ay + 31)
  o[#o + 1] = "</svg>"
  return table.concat(o, "\n")
end

return S

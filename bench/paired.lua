-- paired.lua — ratios from interleaved pairs. The harness runs gillua and
-- its CPython peer one right after the other, pair after pair (each run
-- carries job.pair = i), because a lone run on a small VM swings by 20% and
-- more; the report quotes the median of the per-pair ratios with their
-- min-max, never one run's figure over another run's.
--
--   P.ratio(report, bench, a, b, value) -> {median, min, max, n, a, b} or nil
--     a, b     predicates choosing the two sides of a pair among the
--              extras of 'bench' (e.g. gillua's run and CPython's)
--     value    a function of one run giving the ratio's terms: the ratio of
--              a pair is value(a run) / value(b run); a and b in the result
--              are the medians of each side's own figure

local P = {}
local median = dofile((debug.getinfo(1, "S").source:match("^@(.*)/") or ".") .. "/aggregate.lua").median

function P.ratio(report, bench, a, b, value)
  local by_pair = {}
  for _, e in ipairs(report.extras or {}) do
    if e.bench == bench and not e.unavailable and e.pair then
      local p = by_pair[e.pair] or {}
      by_pair[e.pair] = p
      if a(e) then p.a = e elseif b(e) then p.b = e end
    end
  end
  local ratios, as, bs = {}, {}, {}
  for _, p in pairs(by_pair) do
    local va, vb = p.a and value(p.a), p.b and value(p.b)
    if va and vb and vb > 0 then
      ratios[#ratios + 1] = va / vb
      as[#as + 1], bs[#bs + 1] = va, vb
    end
  end
  if #ratios == 0 then return nil end
  local lo, hi = math.huge, -math.huge
  for _, r in ipairs(ratios) do lo, hi = math.min(lo, r), math.max(hi, r) end
  return {median = median(ratios), min = lo, max = hi, n = #ratios, a = median(as), b = median(bs)}
end

-- "0.83 (0.71-0.95)"
function P.text(r, digits)
  if not r then return "–" end
  local f = "%." .. (digits or 2) .. "f"
  return string.format(f .. " (" .. f .. "-" .. f .. ")", r.median, r.min, r.max)
end

return P

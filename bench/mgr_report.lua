-- mgr_report.lua — the report's "managers over TCP" section and its checks
-- (issue #13: a remote proxy call's round trip and a manager-served queue's
-- items per second over loopback, goal >= 5x CPython's). Each figure is the
-- median of interleaved gillua/CPython pairs (bench/paired.lua).

local here = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local P = dofile(here .. "/paired.lua")

local M = {}
M.goal = 5

local function is_gillua(e) return e.impl == "gillua" end
local function is_peer(e) return e.impl ~= "gillua" end

-- {call = ratio, queue = ratio}: how many times CPython's speed gillua has.
function M.ratios(report)
  return {
    call = P.ratio(report, "mgr_net", is_peer, is_gillua, function(e) return e.mgr_call_us end),
    queue = P.ratio(report, "mgr_net", is_gillua, is_peer, function(e) return e.mgr_queue_items_per_s end),
  }
end

local function num(v, d) return v and string.format("%." .. (d or 1) .. "f", v) or "–" end

function M.sections(report)
  local r = M.ratios(report)
  if not (r.call or r.queue) then return nil end
  local rows = {}
  if r.call then
    rows[#rows + 1] = {"proxy call round trip, µs", num(r.call.b), num(r.call.a), P.text(r.call), tostring(r.call.n)}
  end
  if r.queue then
    rows[#rows + 1] = {"queue items/s (a producer process puts, the parent gets)", num(r.queue.a, 0),
                       num(r.queue.b, 0), P.text(r.queue), tostring(r.queue.n)}
  end
  return {{id = "mgr-net", title = "Managers over TCP (loopback), against CPython",
           intro = "multiprocessing.managers.BaseManager with an authkey, served by a child process; the same "
             .. "program in CPython (bench/peers/mgr_net.py). gillua and CPython run one after the other, pair "
             .. "after pair; 'times CPython' is the median of the per-pair ratios (min-max).",
           columns = {"", "gillua (median)", "CPython (median)", "times CPython", "pairs"}, rows = rows}}
end

function M.checks(report)
  local r, out = M.ratios(report), {}
  for _, k in ipairs({"call", "queue"}) do
    local x = r[k]
    out[#out + 1] = {text = string.format("managers over TCP, %s: >= %dx CPython's",
                                          k == "call" and "proxy call round trip" or "queue items/s", M.goal),
                     ok = x and x.median >= M.goal, detail = x and (P.text(x) .. "x") or "not measured"}
  end
  return out
end

return M

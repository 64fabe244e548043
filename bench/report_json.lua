-- report_json.lua — report.json: the machine, the configuration, one row
-- per measured point (runs: gillua; peers: CPython; both the same shape),
-- plus baseline (stock lua5.4), micro (GIL microbenchmarks), extras (other
-- measurements), timelines (first ~20 ms of a 2-thread dead loop
-- per switch policy) and errors. A mode that could not run has a row with
-- "unavailable": "<reason>".
--
-- Every row has every key of one shape (row_keys): a figure that does not
-- apply (the switch of a nogil run, the switches of CPython) is null;
-- "lock" and "lost_updates" are keys of balance rows only.

local here = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local json = dofile(here .. "/json.lua")

local M = {}

M.row_keys = {"bench", "impl", "mode", "switch", "workers", "wall_s", "cpu_s", "cores_used", "ops",
              "ops_per_s", "speedup", "efficiency", "switches", "repeats", "spread"}
M.balance_keys = {"lock", "lost_updates"}

local function shaped(rows)
  local out = {}
  for i, r in ipairs(rows or {}) do
    local c = {}
    for k, v in pairs(r) do c[k] = v end
    for _, k in ipairs(M.row_keys) do if c[k] == nil then c[k] = json.null end end
    if r.bench == "balance" then
      for _, k in ipairs(M.balance_keys) do if c[k] == nil then c[k] = json.null end end
    end
    out[i] = c
  end
  return json.array(out)
end

function M.render(report)
  local r = {}
  for k, v in pairs(report) do r[k] = v end
  r.runs = shaped(report.runs)
  r.peers = shaped(report.peers)
  r.baseline = shaped(report.baseline)
  return json.encode_pretty(r)
end

return setmetatable(M, {__call = function(_, report) return M.render(report) end})

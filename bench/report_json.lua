-- report_json.lua — report.json: the machine, the configuration, one row
-- per measured point (runs: gillua; peers: CPython; both the same shape),
-- plus baseline (stock lua5.4), micro (GIL microbenchmarks), timelines
-- (first ~20 ms of a 2-thread dead loop per switch policy) and errors.
-- A mode that could not run has a row with "unavailable": "<reason>".

local here = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
local json = dofile(here .. "/json.lua")

local M = {}

function M.render(report)
  return json.encode_pretty(report)
end

return setmetatable(M, {__call = function(_, report) return M.render(report) end})

-- timeline.lua — reads a gillua --trace file (Chrome trace-event JSON as
-- vm/trace.c writes it: one event per line) and keeps the first window_ms
-- of the run, starting when the first worker thread (a lane other than
-- MainThread) first holds the GIL. Returns
--   {window_ms=, start_us=, dropped=, policy=,
--    lanes = { {name=, spans = { {t0_us, t1_us, "holding"|"waiting"|"blocked"}, ...},
--               instants = { t_us, ... },      -- switch requests
--               wasted = { t_us, ... } }, ... } } -- wake-ups that found the GIL taken
-- with times relative to the window start. Lines are matched with
-- patterns (the trace can hold 10^5 events; a full JSON decode in Lua would
-- be slow and is not needed for a file whose shape we write ourselves).

local T = {}

function T.read(path, window_ms)
  window_ms = window_ms or 20
  local f, err = io.open(path, "r")
  if not f then return nil, err end
  local names, sort, spans, instants, wasted = {}, {}, {}, {}, {}
  local dropped, policy = 0, nil
  for line in f:lines() do
    local ph = line:match('"ph":"(%a)"')
    if ph == "X" then
      local name = line:match('"name":"(%a+)"')
      local tid = line:match('"tid":(%-?%d+)')
      local ts = tonumber(line:match('"ts":(%-?[%d.]+)'))
      local dur = tonumber(line:match('"dur":([%d.]+)'))
      if tid and ts and dur then
        spans[#spans + 1] = {tid, ts, ts + dur, name}
      end
    elseif ph == "i" then
      local tid = line:match('"tid":(%-?%d+)')
      local ts = tonumber(line:match('"ts":(%-?[%d.]+)'))
      if tid and ts and line:find('"switch request"', 1, true) then
        instants[#instants + 1] = {tid, ts}
      elseif tid and ts and line:find('"wasted wake-up"', 1, true) then
        wasted[#wasted + 1] = {tid, ts}
      end
    elseif ph == "M" then
      local tid = line:match('"tid":(%-?%d+)')
      if line:find('"thread_name"', 1, true) and tid then
        names[tid] = line:match('"args":{"name":"(.-)"}') or tid
      elseif line:find('"thread_sort_index"', 1, true) and tid then
        sort[tid] = tonumber(line:match('"sort_index":(%d+)'))
      elseif line:find('"process_name"', 1, true) then
        policy = line:match("%(GIL ([^)]+)%)")
      end
    end
    local d = line:match('"otherData":.-"dropped":(%d+)')
    if d then dropped = tonumber(d) end
  end
  f:close()
  -- window start: first holding span of a non-main lane
  local start
  for _, s in ipairs(spans) do
    if s[4] == "holding" and names[s[1]] ~= "MainThread"
       and (start == nil or s[2] < start) then
      start = s[2]
    end
  end
  if not start then return nil, "no worker thread held the GIL in " .. path end
  local stop = start + window_ms * 1000
  local lanes, by_tid = {}, {}
  local function lane(tid)
    if not by_tid[tid] then
      by_tid[tid] = {name = names[tid] or ("tid " .. tid), sort = sort[tid] or 0,
                     spans = {}, instants = {}, wasted = {}}
      lanes[#lanes + 1] = by_tid[tid]
    end
    return by_tid[tid]
  end
  for tid in pairs(names) do lane(tid) end
  for _, s in ipairs(spans) do
    if s[3] > start and s[2] < stop then
      local l = lane(s[1])
      l.spans[#l.spans + 1] = {math.max(s[2], start) - start, math.min(s[3], stop) - start, s[4]}
    end
  end
  for _, set in ipairs({{instants, "instants"}, {wasted, "wasted"}}) do
    for _, i in ipairs(set[1]) do
      if i[2] >= start and i[2] <= stop then
        local l = lane(i[1])
        table.insert(l[set[2]], i[2] - start)
      end
    end
  end
  table.sort(lanes, function(a, b) return a.sort < b.sort end)
  for _, l in ipairs(lanes) do
    table.sort(l.spans, function(a, b) return a[1] < b[1] end)
    l.sort = nil
  end
  return {window_ms = window_ms, start_us = start, dropped = dropped, policy = policy,
          lanes = lanes}
end

-- Per lane: share of the window spent holding / waiting / blocked (%).
function T.shares(tl)
  local out = {}
  for _, l in ipairs(tl.lanes) do
    local acc = {holding = 0, waiting = 0, blocked = 0}
    for _, s in ipairs(l.spans) do acc[s[3]] = (acc[s[3]] or 0) + (s[2] - s[1]) end
    local w = tl.window_ms * 1000
    out[#out + 1] = {name = l.name, holding = 100 * acc.holding / w,
                     waiting = 100 * acc.waiting / w, blocked = 100 * acc.blocked / w,
                     spans = #l.spans, wasted = #(l.wasted or {})}
  end
  return out
end

return T

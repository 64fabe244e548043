-- bench_trace.lua — `gillua --trace=FILE` on a 2-thread dead loop writes
-- Chrome trace-event JSON: it parses (bench/json.lua), every thread has a
-- named lane, the workers have holding and waiting spans, and
-- bench/timeline.lua extracts the first window for the report. A tiny
-- buffer (GILLUA_TRACE_EVENTS) drops events and says so, in the file and
-- on stderr.
-- timeout: 60

local T = dofile("tests/report/benchtest.lua")
local TL = dofile("bench/timeline.lua")

local file = os.tmpname()
local v = T.run({T.gillua, "--gil=on", "--switch=bytecodes:100", "--trace=" .. file,
                 "scripts/dead_loop.lua", "--mode=gil", "--workers=2", "--iters=3000000"})
assert(v.switches > 0, "two spinning threads switch")
local f = assert(io.open(file))
local text = f:read("a")
f:close()
local doc = T.json.decode(text)
assert(type(doc.traceEvents) == "table" and #doc.traceEvents > 0)
assert(doc.otherData.producer == "gillua" and doc.otherData.dropped == 0)
local names, kinds = {}, {}
for _, e in ipairs(doc.traceEvents) do
  assert(e.ph and e.pid, "every event has ph and pid")
  if e.ph == "M" and e.name == "thread_name" then names[e.args.name] = e.tid end
  if e.ph == "X" then
    assert(e.ts >= 0 and e.dur >= 0, "spans have a start and a duration")
    kinds[e.name] = (kinds[e.name] or 0) + 1
  end
end
assert(names.MainThread and names["worker-1"] and names["worker-2"], "a named lane per thread")
assert((kinds.holding or 0) > 2 and (kinds.waiting or 0) > 0, "holding and waiting spans")
local tl = assert(TL.read(file, 20))
assert(#tl.lanes >= 3)
for _, s in ipairs(TL.shares(tl)) do
  assert(s.holding + s.waiting + s.blocked <= 100.5, s.name .. ": shares add up")
end
os.remove(file)

-- bounded buffers: drops are counted and reported. The run is long
-- enough (~0.2 s of two threads taking turns) that each thread records
-- more than 16 events even on a loaded machine, where a short run could
-- let one worker finish before the other ever asked for the GIL.
local p = io.popen("GILLUA_TRACE_EVENTS=16 " .. T.q(T.gillua) .. " --switch=bytecodes:100 --trace=" .. T.q(file)
                   .. " scripts/dead_loop.lua --mode=gil --workers=2 --iters=30000000 2>&1 >/dev/null", "r")
local err = p:read("a")
assert(p:close())
assert(err:find("events dropped", 1, true), "stderr tells about the drop: " .. err)
f = assert(io.open(file))
doc = T.json.decode(f:read("a"))
f:close()
assert(doc.otherData.dropped > 0 and doc.otherData.capacity_per_thread == 16)
local note = false
for _, e in ipairs(doc.traceEvents) do
  if e.ph == "M" and e.name == "trace_dropped" then note = true end
end
assert(note, "a trace_dropped metadata event")
os.remove(file)
print("trace ok")

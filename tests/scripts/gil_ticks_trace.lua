-- gil_ticks_trace.lua — ticks:N's counters and its timeline agree: a run of
-- two spinning threads under ticks:100 with --trace has exactly as many
-- "wasted wake-up" instants in the trace as gil.stats() counts, every
-- switch that followed a drop at a hook point is forced, releases are at
-- least the switches, and bench/timeline.lua reads the wasted wake-ups into
-- the lanes the report draws.
-- timeout: 60

local T = dofile("tests/report/benchtest.lua")
local TL = dofile("bench/timeline.lua")

local file = os.tmpname()
local script = os.tmpname()
local f = assert(io.open(script, "w"))
f:write([[
local threading, gil = require "threading", require "gil"
local function spin() local x = 0 for i = 1, 3000000 do x = x * 1.0 end end
local ts = {}
for i = 1, 2 do ts[i] = threading.Thread{target = spin}; ts[i]:start() end
for i = 1, 2 do ts[i]:join() end
local s = gil.stats()
print(string.format("%d %d %d %d", s.switches, s.forced_switches, s.releases, s.wasted_wakeups))
]])
f:close()
local p = io.popen(T.q(T.gillua) .. " --switch=ticks:100 --trace=" .. T.q(file) .. " " .. T.q(script))
local out = p:read("a")
assert(p:close(), "the ticks run failed: " .. out)
local switches, forced, releases, wasted = out:match("^(%d+) (%d+) (%d+) (%d+)")
switches, forced, releases, wasted = tonumber(switches), tonumber(forced), tonumber(releases), tonumber(wasted)
assert(switches and switches >= 2, "the threads took turns: " .. out)
assert(releases >= switches and forced <= switches, out)

local fh = assert(io.open(file))
local text = fh:read("a")
fh:close()
local doc = T.json.decode(text)
assert(doc.otherData.dropped == 0, "the buffers kept every event")
local traced = 0
for _, e in ipairs(doc.traceEvents) do
  if e.ph == "i" and e.name == "wasted wake-up" then traced = traced + 1 end
end
assert(traced == wasted, string.format("trace has %d wasted wake-ups, stats say %d", traced, wasted))
assert(doc.traceEvents[1].args.name:find("GIL ticks:100", 1, true), "the process is named by its policy")

local tl = assert(TL.read(file, 1e6))   -- the whole run
local seen = 0
for _, lane in ipairs(tl.lanes) do seen = seen + #lane.wasted end
assert(seen == wasted, "timeline.lua reads every wasted wake-up")
os.remove(file)
os.remove(script)
print("gil_ticks_trace ok", switches, forced, releases, wasted)

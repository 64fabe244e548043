-- run: --switch=bytecodes:250
-- run: --switch=interval:7
-- run: --switch=ticks:100
-- run: --switch=priority:1
-- run: --gil=off
-- The gil module reflects and tunes the policy, and reports figures.
local gil = require "gil"
local threading = require "threading"
local kind, n = gil.policy()
local on = gil.enabled()
if on and kind == "bytecodes" then assert(n == 250, n); assert(gil.getswitchinterval() == nil) end
if on and kind == "interval" then assert(n == 7, n); assert(math.abs(gil.getswitchinterval() - 0.007) < 1e-9) end
if on and kind == "ticks" then assert(n == 100, n); assert(gil.getswitchinterval() == nil) end
if on and kind == "priority" then assert(n == 1, n); assert(math.abs(gil.getswitchinterval() - 0.001) < 1e-9) end
if on then assert(kind == "bytecodes" or kind == "interval" or kind == "ticks" or kind == "priority", kind) end
if not on then assert(kind == "bytecodes" and n == 100) end   -- the default, unused with the GIL off

gil.setswitchinterval(0.002)
kind, n = gil.policy()
assert(kind == "interval" and math.abs(n - 2) < 1e-9 and math.abs(gil.getswitchinterval() - 0.002) < 1e-12)
gil.setcheckinterval(33)
kind, n = gil.policy()
assert(kind == "bytecodes" and n == 33)
assert(not pcall(gil.setcheckinterval, 0))
assert(not pcall(gil.setswitchinterval, -1))
assert(not pcall(gil.setswitchinterval, "x"))

-- gil.policy(spec) sets any policy, spelled as --switch
kind, n = gil.policy("ticks:7")
assert(kind == "ticks" and n == 7 and math.type(n) == "integer")
local share
kind, n, share = gil.policy("priority:2.5")
assert(kind == "priority" and math.abs(n - 2.5) < 1e-9 and math.abs(gil.getswitchinterval() - 0.0025) < 1e-12)
assert(share == 5 and gil.PRIORITY_SHARE == 5, share)   -- the default share
kind, n, share = gil.policy("priority:5:30")
assert(kind == "priority" and n == 5 and share == 30, tostring(share))
kind, n, share = gil.policy("interval:5")
assert(kind == "interval" and share == nil)   -- only priority has a share
kind, n = gil.policy("bytecodes:1000000")   -- calibrates the cost of an instruction
assert(kind == "bytecodes" and n == 1000000)
for _, bad in ipairs({"ticks:0", "ticks:x", "priority:0", "nope:3", "ticks", "", "priority:5:0", "priority:5:91"}) do
  local ok, err = pcall(gil.policy, bad)
  assert(not ok and err:find("bad policy '" .. bad .. "'", 1, true), tostring(err))
end
local ok, err = pcall(gil.policy, "fast:1")
assert(not ok and err:find("unknown policy 'fast'", 1, true), err)
assert(gil.policy() == "bytecodes")   -- a bad spec changes nothing
gil.policy("bytecodes:33")

local t = threading.Thread{name = "W", target = function() local x = 0 for i = 1, 1e5 do x = x + i end end}
t:start(); t:join()
local s = gil.stats()
assert(s.enabled == on)
assert(type(s.switches) == "number" and type(s.forced_switches) == "number")
for _, k in ipairs({"releases", "wasted_wakeups", "urgent_grants", "requests"}) do
  assert(math.type(s[k]) == "integer" and s[k] >= 0, k)
end
if on then assert(s.releases >= 2) end   -- at least main's two joins (start and this W)
local seen = {}
for _, th in ipairs(s.threads) do
  seen[th.name] = th
  assert(th.held_s >= 0 and th.wait_s >= 0 and th.acquisitions >= 1, th.name)
end
assert(seen.MainThread and seen.MainThread.alive == true)
assert(seen.W and seen.W.alive == false)
if not on then assert(s.switches == 0) end
print("gil_module ok")

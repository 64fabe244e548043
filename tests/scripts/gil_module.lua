-- run: --switch=bytecodes:250
-- run: --switch=interval:7
-- run: --gil=off
-- The gil module reflects and tunes the policy, and reports figures.
local gil = require "gil"
local threading = require "threading"
local kind, n = gil.policy()
local on = gil.enabled()
if on and kind == "bytecodes" then assert(n == 250, n); assert(gil.getswitchinterval() == nil) end
if on and kind == "interval" then assert(n == 7, n); assert(math.abs(gil.getswitchinterval() - 0.007) < 1e-9) end
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

local t = threading.Thread{name = "W", target = function() local x = 0 for i = 1, 1e5 do x = x + i end end}
t:start(); t:join()
local s = gil.stats()
assert(s.enabled == on)
assert(type(s.switches) == "number" and type(s.forced_switches) == "number")
local seen = {}
for _, th in ipairs(s.threads) do
  seen[th.name] = th
  assert(th.held_s >= 0 and th.wait_s >= 0 and th.acquisitions >= 1, th.name)
end
assert(seen.MainThread and seen.MainThread.alive == true)
assert(seen.W and seen.W.alive == false)
if not on then assert(s.switches == 0) end
print("gil_module ok")

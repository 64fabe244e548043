-- scripts/examples/thread_local_speed.lua: thread-local values never mix;
-- both GIL modes.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

for _, flags in ipairs{"--gil=on", "--gil=on --switch=bytecodes:3", "--gil=off"} do
  local L = lines(expect_ok(flags, "thread_local_speed.lua", "20000"))
  assert(#L == 4, flags)
  local a, b = L[1], L[2]
  if a > b then a, b = b, a end
  assert(a == "Thread-1-  local.x =0" and b == "Thread-2-  local.x =0", flags .. ": " .. L[1] .. "|" .. L[2])
  assert(L[3] == "num =\t0", L[3])
  assert(tonumber(L[4]) and tonumber(L[4]) >= 0, L[4])
end
print("ok")

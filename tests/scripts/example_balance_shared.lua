-- scripts/examples/balance_shared.lua: the GIL-off balance on a shared
-- multiprocessing.Value: exactly 0 with the lock; without it the two
-- threads run at the same time on two cores and lose updates (up to three
-- runs, as in example_balance.lua, in case the second core is busy).
-- timeout: 120
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

for _, flags in ipairs{"--gil=off", "--gil=on --switch=bytecodes:3"} do
  local out = expect_ok(flags, "balance_shared.lua", "lock 100000")
  assert(out == "0\n", flags .. ": with the lock: " .. out)
end
local lost
for attempt = 1, 3 do
  local out = expect_ok("--gil=off", "balance_shared.lua", "nolock 300000")
  local b = assert(tonumber(out:match("^(%-?%d+)\n$")), out)
  if b ~= 0 then lost = b break end
end
assert(lost, "no lost update in three GIL-off runs without the lock")
print("GIL off without lock: final balance " .. lost)
print("ok")

-- Where a switch lands. Under interval:MS and priority:MS a slice ends at
-- a line boundary (the head waiter asks ahead and the holder drops at its
-- first new line or backward jump from the slice's end on: vm/gil.c), so
-- the unlocked balance example, whose read-add-write statements each sit
-- on one line, never loses an update, however often the threads switch;
-- under bytecodes:N a switch lands on any instruction and it does
-- (tests/scripts/example_balance.lua). ThreadSanitizer builds poll with a
-- count hook instead of taking signals (vm/hook.h), so there the landing
-- is anywhere and this test has nothing to check.
-- timeout: 120
local E = dofile("tests/lib/examples.lua")
if E.gillua:find("/tsan/", 1, true) then print("skipped under ThreadSanitizer (count-hook polling)") return end
for _, flags in ipairs{"--switch=interval:1", "--switch=interval:5", "--switch=priority:1"} do
  local out = E.expect_ok(flags, "balance_nolock.lua", "1000000")
  assert(out == "0\n", flags .. ": the unlocked balance lost updates: " .. out)
end
print("ok")

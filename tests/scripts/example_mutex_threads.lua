-- scripts/examples/mutex_20000_threads.lua with 2000 threads (the default
-- 20000 takes a few seconds): every increment counts. GIL on (global
-- counter); mutex_threads_shared.lua (a shared Value) with the GIL off.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

for _, flags in ipairs{"--gil=on", "--gil=on --switch=bytecodes:3"} do
  local out = expect_ok(flags, "mutex_20000_threads.lua", "2000")
  assert(out == "num:\t2000\n", flags .. ": " .. out)
end
local out = expect_ok("--gil=off", "mutex_threads_shared.lua", "300")
assert(out == "num:\t300\n", "--gil=off: " .. out)
print("ok")

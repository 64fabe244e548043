-- scripts/examples/greenlet_switch.lua: 12 56 34 78.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

assert(expect_ok("", "greenlet_switch.lua") == "12\n56\n34\n78\n")
print("ok")

-- scripts/examples/thread_local.lua: each thread sees its own student;
-- both GIL modes (the local travels to GIL-off threads and is per thread).
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

for _, flags in ipairs{"--gil=on", "--gil=off"} do
  local L = lines(expect_ok(flags, "thread_local.lua"))
  table.sort(L)
  assert(#L == 2 and L[1] == "Hello, Alice (in Thread-A)" and L[2] == "Hello, Bob (in Thread-B)",
         flags .. ": " .. table.concat(L, "|"))
end
print("ok")

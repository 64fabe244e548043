-- scripts/examples/rlock_counter.lua: the RLock keeps every step whole:
-- the counter goes 0..4 once, each thread stops after seeing 4. The seed's
-- port (global counter) under the GIL; rlock_counter_shared.lua (a shared
-- Value) under both GIL modes.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

local runs = {
  {"--gil=on", "rlock_counter.lua"}, {"--gil=on --switch=bytecodes:3", "rlock_counter.lua"},
  {"--gil=off", "rlock_counter_shared.lua"}, {"--gil=on --switch=bytecodes:3", "rlock_counter_shared.lua"},
}
for _, r in ipairs(runs) do
  local flags = r[1] .. " " .. r[2]
  local out = expect_ok(r[1], r[2])
  local L = lines(out)
  assert(#L == 12, flags .. ": 4 increments + 2 final checks, 2 lines each:\n" .. out)
  local expect_num, finals = 0, {}
  for i = 1, #L, 2 do
    local name, a = L[i]:match("^(Thread_%d) locked,Number:(%d)$")
    local name2, b = L[i + 1]:match("^(Thread_%d) released,Number:(%d)$")
    assert(name and name == name2, "locked/released pairs of one thread:\n" .. out)
    a, b = tonumber(a), tonumber(b)
    assert(a == expect_num, "no jump or repeat:\n" .. out)
    if a == 4 then
      assert(b == 4)
      finals[name] = true
    else
      assert(b == a + 1)
      expect_num = b
    end
  end
  assert(finals.Thread_1 and finals.Thread_2, "each thread saw 4 and stopped")
end
print("ok")

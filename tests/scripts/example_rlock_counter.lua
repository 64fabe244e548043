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
-- Every line but the last "released" of each thread is printed with the
-- lock held, so those come in order: "locked n" / "released n+1" pairs
-- for n = 0..3, then each thread's "locked 4". The program (as the seed)
-- releases the lock before its final "released,Number:4", so that line may
-- come after the other thread's lines: it is checked on its own, after
-- its thread's "locked 4".
for _, r in ipairs(runs) do
  local flags = r[1] .. " " .. r[2]
  local out = expect_ok(r[1], r[2])
  local L = lines(out)
  assert(#L == 12, flags .. ": 4 increments + 2 final checks, 2 lines each:\n" .. out)
  local held, final_at, locked4_at = {}, {}, {}
  for i, line in ipairs(L) do
    local name = line:match("^(Thread_%d) released,Number:4$")
    if name and locked4_at[name] and not final_at[name] then final_at[name] = i
    else held[#held + 1] = line end
    name = line:match("^(Thread_%d) locked,Number:4$")
    if name then locked4_at[name] = i end
  end
  assert(final_at.Thread_1 and final_at.Thread_2, flags .. ": each thread saw 4 and stopped:\n" .. out)
  assert(#held == 10, flags .. ": lines printed under the lock:\n" .. out)
  for n = 0, 3 do
    local name, a = held[2 * n + 1]:match("^(Thread_%d) locked,Number:(%d)$")
    local name2, b = held[2 * n + 2]:match("^(Thread_%d) released,Number:(%d)$")
    assert(name and name == name2, flags .. ": locked/released pairs of one thread:\n" .. out)
    assert(tonumber(a) == n and tonumber(b) == n + 1, flags .. ": no jump or repeat:\n" .. out)
  end
  local f1, f2 = held[9]:match("^(Thread_%d) locked,Number:4$"), held[10]:match("^(Thread_%d) locked,Number:4$")
  assert(f1 and f2 and f1 ~= f2, flags .. ": each thread's last look sees 4:\n" .. out)
end
print("ok")

-- threading.Barrier(parties, action[, timeout]) as Python's: the action is
-- run by one thread, once per cycle, before any waiter is released; an
-- action that raises breaks the barrier (its error reaches the thread that
-- ran it, the others get BrokenBarrierError). Condition:locked().
-- run: --gil=on
-- run: --gil=off
local th = require "threading"
local queue = require "queue"
local expect_error = dofile("tests/lib/expect.lua").error
local check_join = dofile("tests/lib/expect.lua").joined
local BBE = th.BrokenBarrierError

expect_error("action must be callable %(got string%)", th.Barrier, 2, "x")
expect_error("non%-negative", th.Barrier, 2, nil, -1)
expect_error("non%-negative", th.Barrier, 2, print, -1)

-- three parties, three cycles: one action run per cycle, before release
local runs = th.Semaphore(0)
local in_action = th.Lock()
local b = th.Barrier(3, function() assert(in_action:acquire(false)); runs:release(); in_action:release() end)
local seen = queue.Queue()
local function party(b, runs, seen)
  for cycle = 1, 3 do
    b:wait(20)
    seen:put(cycle)
  end
end
local ts = {}
for i = 1, 2 do
  ts[i] = th.Thread{target = party, args = {b, runs, seen}}
  ts[i]:start()
end
for cycle = 1, 3 do
  b:wait(20)
  assert(seen:get(true, 20) == cycle and seen:get(true, 20) == cycle)
end
for i = 1, 2 do check_join(ts[i]) end
for i = 1, 3 do assert(runs:acquire(false), "the action ran " .. (i - 1) .. " times, expected 3") end
assert(runs:acquire(false) == false, "the action ran more than once per cycle")

-- every waiter is released only after the action: the action blocks on an
-- event the test sets once it saw nobody pass
local gate, passed = th.Event(), th.Semaphore(0)
local b2 = th.Barrier(2, function() assert(gate:wait(20)) end)
local w = th.Thread{target = function(b2, passed) b2:wait(20); passed:release() end, args = {b2, passed}}
w:start()
local main_passed = th.Thread{target = function(b2, passed) b2:wait(20); passed:release() end, args = {b2, passed}}
main_passed:start()
-- both are in the barrier once one of them runs the action (blocked on gate)
assert(passed:acquire(true, 0.2) == false, "a waiter passed before the action finished")
gate:set()
assert(passed:acquire(true, 20) and passed:acquire(true, 20))
check_join(w); check_join(main_passed)

-- an action that raises: its error for the thread that ran it, BrokenBarrierError for the others
local b3 = th.Barrier(2, function() error("action failed", 0) end)
local res = queue.Queue()
local t = th.Thread{target = function(b3, res)
  local ok, e = pcall(b3.wait, b3, 20)
  res:put(e == th.BrokenBarrierError and "broken" or tostring(e))
end, args = {b3, res}}
t:start()
local ok, e = pcall(b3.wait, b3, 20)
local other = res:get(true, 20)
local got = {ok and "passed" or (e == BBE and "broken" or tostring(e)), other}
table.sort(got)
assert(got[1] == "action failed" and got[2] == "broken", got[1] .. ", " .. got[2])
check_join(t)
assert(b3.broken == true)
expect_error("BrokenBarrierError", b3.wait, b3, 1)

-- Barrier(n, nil, timeout) and the older Barrier(n, timeout)
local b4 = th.Barrier(2, nil, 0.05)
expect_error("BrokenBarrierError", b4.wait, b4)
local b5 = th.Barrier(2, 0.05)
expect_error("BrokenBarrierError", b5.wait, b5)
assert(th.Barrier(1, function() end):wait() == 0)

-- with the GIL off an action that cannot travel is refused by Barrier(), saying where
local co = coroutine.create(function() end)
local function holds_co() return co end
if require("gil").enabled() then
  assert(th.Barrier(1, holds_co):wait() == 0)
else
  expect_error("Barrier: cannot transfer coroutine at upvalue 'co' of action", th.Barrier, 2, holds_co)
end

-- Condition:locked() is the lock's locked()
for _, c in ipairs({th.Condition(), th.Condition(th.Lock()), th.Condition(th.RLock())}) do
  assert(c:locked() == false)
  assert(c:acquire())
  assert(c:locked() == true)
  local other = th.Thread{target = function(c) assert(c:locked() == true) end, args = {c}}
  other:start(); check_join(other)
  c:release()
  assert(c:locked() == false)
end
print("sync_barrier_action ok")

-- threading.Barrier: indexes, reuse, attributes, timeout, abort, reset.
-- run: --gil=on
-- run: --gil=off
local threading = require "threading"
local queue = require "queue"

local expect_error = dofile("tests/lib/expect.lua").error
local check_join = dofile("tests/lib/expect.lua").joined

expect_error("parties must be > 0", threading.Barrier, 0)
expect_error("parties must be > 0", threading.Barrier, -2)
expect_error("number expected", threading.Barrier)
expect_error("non%-negative", threading.Barrier, 2, -1)

local BBE = threading.BrokenBarrierError
assert(tostring(BBE) == "BrokenBarrierError")

-- three parties, two cycles: each cycle hands out indexes 0, 1, 2
local b = threading.Barrier(3)
assert(b.parties == 3 and b.n_waiting == 0 and b.broken == false)
local out = queue.Queue()
local ts = {}
for i = 1, 2 do
  ts[i] = threading.Thread{target = function(b, out)
    for _ = 1, 2 do out:put(b:wait(20)) end
  end, args = {b, out}}
  ts[i]:start()
end
for cycle = 1, 2 do
  local mine = b:wait(20)
  local seen = {[mine] = true}
  seen[out:get(true, 20)] = true
  seen[out:get(true, 20)] = true
  assert(seen[0] and seen[1] and seen[2], "indexes 0..2 in cycle " .. cycle)
end
for i = 1, 2 do check_join(ts[i]) end
assert(b.n_waiting == 0)

-- a single party never waits
assert(threading.Barrier(1):wait() == 0)

-- timeout breaks the barrier for everybody until reset
local b2 = threading.Barrier(2)
local err = expect_error("BrokenBarrierError", b2.wait, b2, 0.05)
assert(err == BBE, "the error is threading.BrokenBarrierError")
assert(b2.broken == true)
expect_error("BrokenBarrierError", b2.wait, b2, 1)
b2:reset()
assert(b2.broken == false)
local t = threading.Thread{target = function(b2) b2:wait(20) end, args = {b2}}
t:start()
b2:wait(20)
check_join(t)

-- the barrier's default timeout
local b3 = threading.Barrier(2, 0.05)
expect_error("BrokenBarrierError", b3.wait, b3)

-- abort() wakes a waiter with BrokenBarrierError; reset() too
for _, how in ipairs{"abort", "reset"} do
  local b4 = threading.Barrier(2)
  local res = queue.Queue()
  local w = threading.Thread{target = function(b4, res)
    local ok, e = pcall(b4.wait, b4, 20)
    res:put(not ok and e == threading.BrokenBarrierError)
  end, args = {b4, res}}
  w:start()
  while b4.n_waiting < 1 do require("time").sleep(0.001) end
  b4[how](b4)
  assert(res:get(true, 20) == true, how .. " breaks the waiter")
  check_join(w)
  assert(b4.broken == (how == "abort"))
end
print("ok")

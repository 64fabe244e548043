-- threading.Lock and threading.RLock: every method and every misuse error.
-- run: --gil=on
-- run: --gil=on --switch=bytecodes:3
-- run: --gil=on --switch=ticks:3
-- run: --gil=on --switch=priority:1
-- run: --gil=off
local threading = require "threading"
local time = require "time"

local expect_error = dofile("tests/lib/expect.lua").error

local function run(f, ...)
  local t = threading.Thread{target = f, args = {...}}
  t:start()
  assert(t:join(10), "thread did not finish")
  assert(t.error == nil, t.error)
  return t
end

-- Lock basics
local l = threading.Lock()
assert(tostring(l):find("^threading.Lock"))
assert(l:locked() == false)
assert(l:acquire() == true)
assert(l:locked() == true)
assert(l:acquire(false) == false, "a Lock is not recursive")
local t0 = time.monotonic()
assert(l:acquire(true, 0.05) == false, "timed acquire of a held lock")
assert(time.monotonic() - t0 >= 0.04, "timeout respected")
assert(l:acquire(true, 0) == false)
l:release()
assert(l:locked() == false)
expect_error("release unlocked lock", l.release, l)
expect_error("timeout for a non%-blocking call", l.acquire, l, false, 1)
expect_error("non%-negative", l.acquire, l, true, -2)
expect_error("boolean expected", l.acquire, l, 1)
expect_error("threading.Lock or threading.RLock expected", l.acquire, {})
assert(l:acquire(true, -1) == true, "-1 means no timeout")
l:release()
assert(l:acquire(false, -1) == true)   -- -1 is the default, allowed non-blocking
l:release()

-- a Lock held by the main thread may be released by another (as Python)
l:acquire()
run(function(lk) lk:release() end, l)
assert(l:locked() == false)

-- another thread blocks until release; the lock is the same object there
l:acquire()
local got = threading.Event()
local t = threading.Thread{target = function(lk, ev)
  assert(lk:acquire(false) == false)
  assert(lk:acquire(true, 10) == true)
  ev:set()
  lk:release()
end, args = {l, got}}
t:start()
assert(got:wait(0.05) == false, "the other thread must still be blocked")
l:release()
assert(got:wait(10) == true)
assert(t:join(10)); assert(t.error == nil, t.error)

-- with(): acquires, returns f's results, releases even on error
local a, b = l:with(function(x, y) assert(l:locked()); return x + y, "r" end, 1, 2)
assert(a == 3 and b == "r" and not l:locked())
expect_error("boom", l.with, l, function() error("boom") end)
assert(not l:locked(), "with() released the lock after an error")

-- mutual exclusion: an Event works as a shared "someone is inside" flag
local inside, bad = threading.Event(), threading.Event()
local workers = {}
for i = 1, 4 do
  workers[i] = threading.Thread{target = function(lk, inside, bad)
    for _ = 1, 300 do
      lk:acquire()
      if inside:is_set() then bad:set() end
      inside:set()
      for _ = 1, 20 do local _ = {} end   -- some work inside
      inside:clear()
      lk:release()
    end
  end, args = {l, inside, bad}}
  workers[i]:start()
end
for i = 1, 4 do assert(workers[i]:join(30)); assert(workers[i].error == nil, workers[i].error) end
assert(not bad:is_set(), "two threads were inside the lock at once")

-- RLock
local r = threading.RLock()
assert(tostring(r):find("^threading.RLock"))
assert(r:acquire() and r:acquire() and r:acquire(false))
assert(r:locked())
run(function(rl)
  assert(rl:acquire(false) == false, "owned by the main thread")
  assert(rl:acquire(true, 0.02) == false)
  local ok, err = pcall(rl.release, rl)
  assert(not ok and err:find("cannot release un%-acquired lock"), err)
end, r)
r:release(); r:release()
assert(r:locked())
r:release()
assert(not r:locked())
expect_error("cannot release un%-acquired lock", r.release, r)
-- now another thread can own it, and the main thread cannot release it
local held, done = threading.Event(), threading.Event()
local owner = threading.Thread{target = function(rl, held, done)
  rl:acquire(); rl:acquire()
  held:set()
  assert(done:wait(10))
  rl:release(); rl:release()
end, args = {r, held, done}}
owner:start()
assert(held:wait(10))
expect_error("cannot release un%-acquired lock", r.release, r)
assert(r:acquire(false) == false)
done:set()
assert(r:acquire(true, 10) == true)
r:release()
assert(owner:join(10)); assert(owner.error == nil, owner.error)
local x = r:with(function() return r:with(function() return 7 end) end)  -- recursive
assert(x == 7 and not r:locked())

-- handles compare equal and are usable as keys
local set = {[l] = 1}
assert(set[l] == 1 and l == l and l ~= r)
print("ok")

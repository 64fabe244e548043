-- threading.Semaphore, BoundedSemaphore and Event.
-- run: --gil=on
-- run: --gil=off
local threading = require "threading"
local time = require "time"

local expect_error = dofile("tests/lib/expect.lua").error
local check_join = dofile("tests/lib/expect.lua").joined

-- Semaphore
local s = threading.Semaphore(2)
assert(tostring(s):find("^threading.Semaphore"))
assert(s:acquire() and s:acquire())
assert(s:acquire(false) == false)
local t0 = time.monotonic()
assert(s:acquire(true, 0.05) == false)
assert(time.monotonic() - t0 >= 0.04)
s:release()
assert(s:acquire(false) == true)
s:release(2)                      -- release(n)
assert(s:acquire(false) and s:acquire(false) and not s:acquire(false))
s:release(); s:release(); s:release()   -- unbounded: may exceed the start value
assert(s:acquire(false) and s:acquire(false) and s:acquire(false) and not s:acquire(false))
expect_error("semaphore initial value must be >= 0", threading.Semaphore, -1)
expect_error("n must be one or more", s.release, s, 0)
expect_error("timeout for non%-blocking", s.acquire, s, false, 1)
assert(threading.Semaphore():acquire(false) == true, "default value 1")
assert(threading.Semaphore(0):acquire(false) == false)

-- a blocked acquire is woken by a release in another thread
local z = threading.Semaphore(0)
local started = threading.Event()
local t = threading.Thread{target = function(z, started)
  started:set()
  assert(z:acquire(true, 20) == true)
end, args = {z, started}}
t:start()
assert(started:wait(20))
z:release()
check_join(t)

-- with()
local one = threading.Semaphore(1)
assert(one:with(function() return one:acquire(false) end) == false)
assert(one:acquire(false) == true, "with() gave the permit back")

-- BoundedSemaphore
local b = threading.BoundedSemaphore(2)
assert(tostring(b):find("^threading.BoundedSemaphore"))
expect_error("Semaphore released too many times", b.release, b)
assert(b:acquire())
b:release()
expect_error("Semaphore released too many times", b.release, b)
assert(b:acquire() and b:acquire())
expect_error("Semaphore released too many times", b.release, b, 3)
b:release(2)
expect_error("Semaphore released too many times", b.release, b)
expect_error("must be >= 0", threading.BoundedSemaphore, -3)

-- Event
local e = threading.Event()
assert(tostring(e):find("^threading.Event"))
assert(e:is_set() == false)
t0 = time.monotonic()
assert(e:wait(0.05) == false)
assert(time.monotonic() - t0 >= 0.04)
assert(e:wait(0) == false)
e:set()
assert(e:is_set() == true and e:wait() == true and e:wait(0) == true)
e:set()
e:clear()
assert(e:is_set() == false)
assert(e:wait(-1) == false, "a negative timeout tries once, as Python")

-- set() wakes every waiter
local go, arrived = threading.Event(), threading.Semaphore(0)
local ts = {}
for i = 1, 3 do
  ts[i] = threading.Thread{target = function(go, arrived)
    arrived:release()
    assert(go:wait(20) == true)
  end, args = {go, arrived}}
  ts[i]:start()
end
for _ = 1, 3 do assert(arrived:acquire(true, 20)) end
go:set()
for i = 1, 3 do check_join(ts[i]) end
print("ok")

-- multiprocessing Barrier, Event and Semaphore at their edges:
-- reset() raises BrokenBarrierError in the processes waiting (they used
-- to pass as if the barrier had tripped); set() followed at once by
-- clear() wakes every waiter (they used to time out); a count that would
-- pass math.maxinteger is an error (it used to wrap).
-- timeout: 40
local mp = require "multiprocessing"
local time = require "time"
local expect = dofile("tests/lib/expect.lua")

-- true once process pid sleeps in a futex wait (syscall 202 on x86-64,
-- 98 on arm64): it is inside the wait, not about to enter it
local FUTEX = ({x86_64 = "202", aarch64 = "98"})[io.popen("uname -m"):read("l")]
local function in_futex(pid)
  local f = io.open("/proc/" .. pid .. "/syscall")
  if not f then return false end
  local s = f:read("l") or ""
  f:close()
  return s:match("^(%d+)") == FUTEX
end
local function wait_until(cond, what)
  local deadline = time.monotonic() + 15
  while not cond() do
    assert(time.monotonic() < deadline, what)
    time.sleep(0.01)
  end
end

-- Barrier:reset() with two processes waiting
local b = mp.Barrier(3)
local out = mp.Queue()
local procs = {}
for i = 1, 2 do
  procs[i] = mp.Process{target = function()
    local ok, e = pcall(b.wait, b, 20)
    out:put(ok and "passed" or tostring(e))
  end}
  procs[i]:start()
end
wait_until(function() return b.n_waiting == 2 end, "the waiters did not arrive")
b:reset()
for _ = 1, 2 do
  local r = out:get(true, 20)
  assert(r:find("BrokenBarrierError"), "a waiter " .. r .. " after reset()")
end
for i = 1, 2 do assert(procs[i]:join(10)) end
-- the barrier works again after the reset
assert(not b.broken and b.n_waiting == 0)
for i = 1, 2 do
  procs[i] = mp.Process{target = function() out:put(b:wait(20)) end}
  procs[i]:start()
end
local mine = b:wait(20)
local seen = {[mine] = true}
for _ = 1, 2 do seen[out:get(true, 20)] = true end
assert(seen[0] and seen[1] and seen[2])
for i = 1, 2 do assert(procs[i]:join(10)) end

-- Event: set(); clear() wakes every process waiting at that moment
if FUTEX then
  local ev = mp.Event()
  local n = 5
  for i = 1, n do
    procs[i] = mp.Process{target = function() out:put(ev:wait(20)) end}
    procs[i]:start()
  end
  wait_until(function()
    for i = 1, n do if not in_futex(procs[i].pid) then return false end end
    return true
  end, "the waiters did not block")
  ev:set()
  ev:clear()
  for _ = 1, n do assert(out:get(true, 25) == true, "a waiter missed set()") end
  for i = 1, n do assert(procs[i]:join(10)) end
  assert(not ev:is_set())
  assert(ev:wait(0.05) == false)         -- cleared: a new wait times out
end

-- Semaphore counts never wrap
local s = mp.Semaphore(math.maxinteger)
expect.error("Semaphore released too many times: value out of range", s.release, s)
assert(s:get_value() == math.maxinteger)
local s2 = mp.Semaphore(0)
s2:release(1 << 33)                      -- more than an int can hold
assert(s2:get_value() == 1 << 33)
expect.error("Semaphore released too many times: value out of range", s2.release, s2, math.maxinteger)
assert(s2:acquire(false) and s2:get_value() == (1 << 33) - 1)
local bs = mp.BoundedSemaphore(2)
expect.error("released too many times", bs.release, bs)
assert(bs:acquire() and bs:acquire())
expect.error("released too many times", bs.release, bs, math.maxinteger)
bs:release(2)
assert(bs:get_value() == 2)
print("ok")

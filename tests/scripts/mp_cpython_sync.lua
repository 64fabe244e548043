-- Ported from CPython's Lib/test/_test_multiprocessing.py: _TestLock
-- (lock, rlock, lock_context), _TestSemaphore (semaphore, bounded
-- semaphore, timeout), _TestCondition (notify, notify_all, notify_n,
-- timeout, waitfor, waitfor_timeout), _TestEvent (event), _TestBarrier
-- (barrier, wait_return, abort, reset, abort_and_reset, timeout,
-- single_thread, thousand). The parties are processes; where the
-- original sleeps to let them block, these wait for an observable state
-- (n_waiting, a semaphore) instead. Timings are not asserted.
-- run: --gil=on
-- run: --gil=off
-- timeout: 90
local mp = require "multiprocessing"
local time = require "time"
local expect = dofile("tests/lib/expect.lua")

local cases = {}
local function case(name, f) cases[#cases + 1] = {name, f} end

-- runs f(i) in n processes, joins them
local function run_procs(n, f)
  local ps = {}
  for i = 1, n do
    ps[i] = mp.Process{target = f, args = {i}}
    ps[i]:start()
  end
  for i = 1, n do assert(ps[i]:join(30), "a party did not finish") end
  for i = 1, n do assert(ps[i].exitcode == 0, "a party failed: " .. tostring(ps[i].exitcode)) end
end

local function until_true(cond, what)
  local deadline = time.monotonic() + 20
  while not cond() do
    assert(time.monotonic() < deadline, what)
    time.sleep(0.005)
  end
end

case("lock", function()
  local l = mp.Lock()
  assert(l:acquire() == true)
  assert(l:acquire(false) == false)
  l:release()
  expect.error("un%-acquired", l.release, l)
end)

case("rlock", function()
  local l = mp.RLock()
  assert(l:acquire() and l:acquire() and l:acquire())
  l:release(); l:release(); l:release()
  expect.error("", l.release, l)
end)

case("lock_context", function()
  local l = mp.Lock()
  do
    assert(l:acquire())
    local _ <close> = l
    assert(l:locked())
  end
  assert(not l:locked())
end)

case("semaphore", function()
  local s = mp.Semaphore(2)
  assert(s:get_value() == 2)
  assert(s:acquire() and s:get_value() == 1)
  assert(s:acquire() and s:get_value() == 0)
  assert(s:acquire(false) == false and s:get_value() == 0)
  s:release()
  assert(s:get_value() == 1)
  s:release()
  assert(s:get_value() == 2)
end)

case("bounded_semaphore", function()
  local s = mp.BoundedSemaphore(2)
  assert(s:acquire() and s:acquire())
  s:release(); s:release()
  expect.error("released too many times", s.release, s)
  assert(s:get_value() == 2)
end)

case("semaphore_timeout", function()
  local s = mp.Semaphore(0)
  assert(s:acquire(false) == false)
  assert(s:acquire(false, nil) == false)
  assert(s:acquire(true, 0) == false)
  assert(s:acquire(true, 0.1) == false)
end)

-- Condition: sleepers count themselves on 'woken' after the wake-up
local function sleepers(cond, n, sleeping, woken, timeout)
  local ps = {}
  for i = 1, n do
    ps[i] = mp.Process{target = function()
      cond:acquire()
      sleeping:release()
      cond:wait(timeout)
      woken:release()
      cond:release()
    end}
    ps[i]:start()
  end
  return ps
end

local function count(sem, n)     -- waits until n releases were made
  for _ = 1, n do assert(sem:acquire(true, 20), "a party did not get there") end
end

case("notify", function()
  local cond, sleeping, woken = mp.Condition(), mp.Semaphore(0), mp.Semaphore(0)
  local ps = sleepers(cond, 2, sleeping, woken, 20)
  count(sleeping, 2)
  assert(woken:get_value() == 0)
  cond:acquire(); cond:notify(); cond:release()
  count(woken, 1)
  cond:acquire(); cond:notify(); cond:release()
  count(woken, 1)
  for i = 1, 2 do assert(ps[i]:join(20)) end
end)

case("notify_all", function()
  local cond, sleeping, woken = mp.Condition(), mp.Semaphore(0), mp.Semaphore(0)
  local ps = sleepers(cond, 3, sleeping, woken, 20)
  count(sleeping, 3)
  cond:acquire(); cond:notify_all(); cond:release()
  count(woken, 3)
  for i = 1, 3 do assert(ps[i]:join(20)) end
  -- sleepers with a short timeout wake up by themselves
  ps = sleepers(cond, 3, sleeping, woken, 0.01)
  count(sleeping, 3)
  count(woken, 3)
  for i = 1, 3 do assert(ps[i]:join(20)) end
end)

case("notify_n", function()
  local cond, sleeping, woken = mp.Condition(), mp.Semaphore(0), mp.Semaphore(0)
  local ps = sleepers(cond, 3, sleeping, woken, 20)
  count(sleeping, 3)
  cond:acquire(); cond:notify(2); cond:release()
  count(woken, 2)
  cond:acquire(); cond:notify(5); cond:release()   -- more than are waiting
  count(woken, 1)
  for i = 1, 3 do assert(ps[i]:join(20)) end
end)

case("condition_timeout", function()
  local cond = mp.Condition()
  cond:acquire()
  assert(cond:wait(0.1) == false)
  cond:release()
end)

case("waitfor", function()
  local cond = mp.Condition()
  local state = mp.Value('i', -1)
  local seen = mp.Semaphore(0)          -- the child saw state i
  local p = mp.Process{target = function()
    cond:acquire()
    for i = 0, 4 do
      local r = cond:wait_for(function() return state.value == i end, 20)
      assert(r and state.value == i)
      seen:release()
    end
    cond:release()
  end}
  p:start()
  for i = 0, 4 do
    cond:acquire(); state.value = i; cond:notify(); cond:release()
    assert(seen:acquire(true, 20), "the child did not see " .. i)
  end
  assert(p:join(20) and p.exitcode == 0)
end)

case("waitfor_timeout", function()
  local cond = mp.Condition()
  cond:acquire()
  local t0 = time.monotonic()
  assert(cond:wait_for(function() return false end, 0.1) == false)
  assert(time.monotonic() - t0 >= 0.09)
  cond:release()
end)

case("event", function()
  local ev = mp.Event()
  assert(not ev:is_set())
  assert(ev:wait(0) == false)
  assert(ev:wait(0.05) == false)
  ev:set()
  assert(ev:is_set())
  assert(ev:wait() == true and ev:wait(0) == true and ev:wait(0.05) == true)
  ev:clear()
  assert(not ev:is_set())
  local p = mp.Process{target = function() ev:set() end}
  p:start()
  assert(ev:wait(20) == true)
  assert(p:join(20))
end)

-- Barrier: N parties, the parent being one of them
local N = 5

case("barrier", function()
  local b = mp.Barrier(N)
  local passes = mp.Array('i', 2)
  run_procs(N, function()
    for k = 1, 2 do
      b:wait(20)
      passes:get_lock():acquire(); passes[k] = passes[k] + 1; passes:get_lock():release()
      b:wait(20)          -- everyone has counted this pass
      assert(passes[k] == N)
    end
  end)
  assert(b.n_waiting == 0 and not b.broken and b.parties == N)
end)

case("wait_return", function()
  local b = mp.Barrier(N)
  local zeros = mp.Value('i', 0)
  run_procs(N, function()
    if b:wait(20) == 0 then
      zeros:get_lock():acquire(); zeros.value = zeros.value + 1; zeros:get_lock():release()
    end
  end)
  assert(zeros.value == 1)
end)

case("abort", function()
  local b = mp.Barrier(N)
  local passed, broke = mp.Value('i', 0), mp.Value('i', 0)
  run_procs(N, function(i)
    local ok = pcall(function()
      b:wait(20)
      if i == N then error("boom") end
      b:wait(20)
      passed.value = 1
    end)
    if not ok then
      if i == N then b:abort()
      else broke:get_lock():acquire(); broke.value = broke.value + 1; broke:get_lock():release() end
    end
  end)
  assert(passed.value == 0 and broke.value == N - 1 and b.broken)
end)

case("reset", function()
  local b = mp.Barrier(N)
  local broke, passed = mp.Value('i', 0), mp.Value('i', 0)
  local ps = {}
  for i = 1, N - 1 do
    ps[i] = mp.Process{target = function()
      local ok = pcall(b.wait, b, 20)
      local v = ok and passed or broke
      v:get_lock():acquire(); v.value = v.value + 1; v:get_lock():release()
      b:wait(20)          -- the barrier works again after the reset
    end}
    ps[i]:start()
  end
  until_true(function() return b.n_waiting == N - 1 end, "the parties did not arrive")
  b:reset()
  b:wait(20)
  for i = 1, N - 1 do assert(ps[i]:join(20) and ps[i].exitcode == 0) end
  assert(broke.value == N - 1 and passed.value == 0)
end)

case("abort_and_reset", function()
  local b, b2 = mp.Barrier(N), mp.Barrier(N)
  local broke, passed = mp.Value('i', 0), mp.Value('i', 0)
  local function add(v) v:get_lock():acquire(); v.value = v.value + 1; v:get_lock():release() end
  run_procs(N, function(i)
    local ok = pcall(function()
      b:wait(20)
      if i == N then error("boom") end
      b:wait(20)
    end)
    if not ok then
      if i == N then b:abort() else add(broke) end
    end
    if b2:wait(20) == N - 1 then b:reset() end      -- one party resets
    b2:wait(20)
    b:wait(20)
    add(passed)
  end)
  assert(broke.value == N - 1 and passed.value == N)
end)

case("barrier_timeout", function()
  local b = mp.Barrier(N)
  local broke = mp.Value('i', 0)
  run_procs(N, function(i)
    local ok = pcall(function()
      if i == N then                        -- the last one comes too late
        until_true(function() return b.broken end, "nobody timed out")
      end
      b:wait(0.1)
    end)
    if not ok then broke:get_lock():acquire(); broke.value = broke.value + 1; broke:get_lock():release() end
  end)
  assert(broke.value == N and b.broken)
end)

case("single_thread", function()
  local b = mp.Barrier(1)
  for _ = 1, 10 do assert(b:wait(20) == 0) end
end)

case("thousand", function()
  local b = mp.Barrier(3)
  local counter = mp.Value('i', 0)
  run_procs(3, function(i)
    for _ = 1, 300 do
      if i == 1 then counter.value = counter.value + 1 end
      b:wait(20)
    end
  end)
  assert(counter.value == 300)
end)

for _, c in ipairs(cases) do
  local ok, err = pcall(c[2])
  assert(ok, c[1] .. ": " .. tostring(err))
end
print(#cases .. " cases ok")

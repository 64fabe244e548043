-- run: --gil=on
-- run: --gil=off
-- timeout: 120
-- A port of CPython's Lib/test/lock_tests.py (Lock, RLock, Event,
-- Condition, Semaphore, BoundedSemaphore, Barrier) and of the Timer and
-- excepthook cases of Lib/test/test_threading.py, written for gillua:
-- lists become queue.Queues (with the GIL off every thread has its own
-- interpreter and shares only runtime objects), Python's `with` is
-- obj:with(f), exceptions are Lua errors. Where Python polls with
-- time.sleep until threads have started, the port waits on the started
-- queue; the few short sleeps left only give a wrong implementation the
-- chance to show itself (a "nobody passed yet" check cannot fail on a
-- right one). Cases not ported: repr/weakref/_at_fork_reinit/
-- _reset_internal_locks (Python object internals), TIMEOUT_MAX overflow.
local th = require "threading"
local queue = require "queue"
local time = require "time"
local X = dofile("tests/lib/expect.lua")
local expect_error, joined = X.error, X.joined

-- ---- helpers -------------------------------------------------------
-- A list shared by threads: append and len, as the Python tests use.
local function List()
  local q = queue.Queue()
  return {q = q,
          append = function(self, v) self.q:put(v == nil and true or v) end,
          len = function(self) return self.q:qsize() end,
          items = function(self)
            local out = {}
            while self.q:qsize() > 0 do out[#out + 1] = self.q:get() end
            for _, v in ipairs(out) do self.q:put(v) end
            return out
          end}
end
-- A shared number (Python's closure variables such as phase_num).
local function Cell(v)
  local q = queue.Queue()
  q:put(v)
  return {q = q, lock = th.Lock(),
          get = function(self) return self.lock:with(function() local x = self.q:get(); self.q:put(x); return x end) end,
          set = function(self, x) self.lock:with(function() self.q:get(); self.q:put(x) end) end}
end
local function wait_until(pred, what)
  local deadline = time.monotonic() + 20
  while not pred() do
    assert(time.monotonic() < deadline, "timed out waiting for " .. what)
    time.sleep(0.002)
  end
end
local function short_wait() time.sleep(0.01) end   -- Python's _wait()

-- Bunch(f, n): n threads running f(); wait_for_started / wait_for_finished.
local function Bunch(f, n, ...)
  local b = {started = List(), finished = List(), threads = {}, n = n}
  for i = 1, n do
    b.threads[i] = th.Thread{target = function(started, finished, f, ...)
      started:append(true)
      local ok, e = pcall(f, ...)
      finished:append(true)
      if not ok then error(e, 0) end
    end, args = table.pack(b.started, b.finished, f, ...)}
    b.threads[i]:start()
  end
  function b:wait_for_started() wait_until(function() return self.started:len() >= self.n end, "threads to start") end
  function b:wait_for_finished() for _, t in ipairs(self.threads) do joined(t) end end
  return b
end
local function assert_timeout(dt, expected)
  assert(dt >= expected * 0.9, ("waited %.3f s, expected %.3f"):format(dt, expected))
  assert(dt < expected + 10, ("waited %.3f s, expected %.3f"):format(dt, expected))
end

local cases, ncases = {}, 0
local function case(name, f) cases[#cases + 1] = {name, f} end

-- ---- BaseLockTests (Lock and RLock) --------------------------------
for _, kind in ipairs({"Lock", "RLock"}) do
  local locktype = th[kind]
  case(kind .. ".test_constructor", function() assert(locktype()) end)
  case(kind .. ".test_repr", function() assert(tostring(locktype()):find("^threading%." .. kind)) end)
  case(kind .. ".test_acquire_destroy", function() locktype():acquire(); collectgarbage() end)
  case(kind .. ".test_acquire_release", function() local l = locktype(); l:acquire(); l:release() end)
  case(kind .. ".test_try_acquire", function()
    local l = locktype(); assert(l:acquire(false)); l:release()
  end)
  case(kind .. ".test_try_acquire_contended", function()
    local l = locktype(); l:acquire()
    local result = List()
    Bunch(function(l, result) result:append(l:acquire(false)) end, 1, l, result):wait_for_finished()
    assert(result:items()[1] == false)
    l:release()
  end)
  case(kind .. ".test_acquire_contended", function()
    local l = locktype(); l:acquire()
    local b = Bunch(function(l) l:acquire(); l:release() end, 5, l)
    b:wait_for_started(); short_wait()
    assert(b.finished:len() == 0)
    l:release()
    b:wait_for_finished()
    assert(b.finished:len() == 5)
  end)
  case(kind .. ".test_with", function()
    local l = locktype()
    local function f(l) l:acquire(); l:release() end
    l:with(function() end)
    Bunch(f, 1, l):wait_for_finished()
    expect_error("TypeError", l.with, l, function() error("TypeError") end)
    Bunch(f, 1, l):wait_for_finished()    -- the lock was released by the error
  end)
  case(kind .. ".test_thread_leak", function()
    local l = locktype()
    local n = #th.enumerate()
    Bunch(function(l) l:acquire(); l:release() end, 15, l):wait_for_finished()
    assert(#th.enumerate() == n)
  end)
  case(kind .. ".test_timeout", function()
    local l = locktype()
    expect_error("timeout for a non%-blocking call", l.acquire, l, false, 1)
    expect_error("timeout value must be", l.acquire, l, true, -100)
    local t1 = time.monotonic()
    assert(l:acquire(true, 5))
    assert(time.monotonic() - t1 < 5)
    local results = List()
    Bunch(function(l, results)
      local t1 = require("time").monotonic()
      results:append(l:acquire(true, 0.5))
      results:append(require("time").monotonic() - t1)
    end, 1, l, results):wait_for_finished()
    local r = results:items()
    assert(r[1] == false)
    assert_timeout(r[2], 0.5)
    l:release()
  end)
end

-- ---- LockTests ----
case("Lock.test_reacquire", function()
  local l = th.Lock()
  local phase = List()
  local t = th.Thread{target = function(l, phase)
    l:acquire(); phase:append(true); l:acquire(); phase:append(true)
  end, args = {l, phase}}
  t:start()
  wait_until(function() return phase:len() >= 1 end, "phase 1")
  short_wait()
  assert(phase:len() == 1)
  l:release()
  wait_until(function() return phase:len() >= 2 end, "phase 2")
  joined(t)
end)
case("Lock.test_different_thread", function()
  local l = th.Lock(); l:acquire()
  Bunch(function(l) l:release() end, 1, l):wait_for_finished()
  l:acquire(); l:release()
end)
case("Lock.test_state_after_timeout", function()
  local l = th.Lock(); l:acquire()
  assert(l:acquire(true, 0.01) == false)
  l:release()
  assert(l:locked() == false)
  assert(l:acquire(false))
end)

-- ---- RLockTests ----
case("RLock.test_reacquire", function()
  local l = th.RLock()
  l:acquire(); l:acquire(); l:release(); l:acquire(); l:release(); l:release()
end)
case("RLock.test_release_unacquired", function()
  local l = th.RLock()
  expect_error("cannot release un%-acquired lock", l.release, l)
  l:acquire(); l:acquire(); l:release(); l:acquire(); l:release(); l:release()
  expect_error("cannot release un%-acquired lock", l.release, l)
end)
case("RLock.test_different_thread", function()
  local l = th.RLock()
  local done = th.Event()
  local holding = th.Event()
  local t = th.Thread{target = function(l, holding, done)
    l:acquire(); holding:set(); assert(done:wait(20)); l:release()
  end, args = {l, holding, done}}
  t:start()
  assert(holding:wait(20))
  expect_error("cannot release un%-acquired lock", l.release, l)
  done:set()
  joined(t)
end)
case("RLock.test__is_owned (through Condition:wait's check)", function()
  local l = th.RLock()
  local c = th.Condition(l)
  expect_error("cannot wait on un%-acquired lock", c.wait, c, 0)
  l:acquire(); l:acquire()
  assert(c:wait(0) == false)          -- owned: the wait may begin
  local result = List()
  Bunch(function(c, result) result:append((pcall(c.wait, c, 0))) end, 1, c, result):wait_for_finished()
  assert(result:items()[1] == false, "another thread does not own it")
  l:release(); assert(c:wait(0) == false)
  l:release()
  expect_error("cannot wait on un%-acquired lock", c.wait, c, 0)
end)

-- ---- EventTests ----
case("Event.test_is_set", function()
  local e = th.Event()
  assert(not e:is_set()); e:set(); assert(e:is_set()); e:set(); assert(e:is_set())
  e:clear(); assert(not e:is_set()); e:clear(); assert(not e:is_set())
end)
local function check_event_notify(e)
  local r1, r2 = List(), List()
  local b = Bunch(function(e, r1, r2) r1:append(e:wait()); r2:append(e:wait()) end, 5, e, r1, r2)
  b:wait_for_started(); short_wait()
  assert(r1:len() == 0)
  e:set()
  b:wait_for_finished()
  for _, v in ipairs(r1:items()) do assert(v == true) end
  for _, v in ipairs(r2:items()) do assert(v == true) end
  assert(r1:len() == 5 and r2:len() == 5)
end
case("Event.test_notify", function()
  local e = th.Event()
  check_event_notify(e)
  e:set(); e:clear()
  check_event_notify(e)
end)
case("Event.test_timeout", function()
  local e = th.Event()
  local function f(e, r1, r2)
    local time = require "time"
    r1:append(e:wait(0))
    local t1 = time.monotonic()
    local r = e:wait(0.2)
    r2:append({r, time.monotonic() - t1})
  end
  local r1, r2 = List(), List()
  Bunch(f, 5, e, r1, r2):wait_for_finished()
  for _, v in ipairs(r1:items()) do assert(v == false) end
  for _, v in ipairs(r2:items()) do assert(v[1] == false); assert_timeout(v[2], 0.2) end
  e:set()
  r1, r2 = List(), List()
  Bunch(f, 5, e, r1, r2):wait_for_finished()
  for _, v in ipairs(r1:items()) do assert(v == true) end
  for _, v in ipairs(r2:items()) do assert(v[1] == true) end
end)
case("Event.test_set_and_clear", function()
  local e = th.Event()
  local results = List()
  local b = Bunch(function(e, results) results:append(e:wait(10)) end, 5, e, results)
  wait_until(function() return e:_waiters() >= 5 end, "five waiters")
  e:set(); e:clear()
  b:wait_for_finished()
  for _, v in ipairs(results:items()) do assert(v == true, "a waiter missed set()") end
end)

-- ---- ConditionTests ----
case("Condition.test_acquire", function()
  local c = th.Condition()
  c:acquire(); c:acquire(); c:release(); c:release()
  local l = th.Lock()
  c = th.Condition(l)
  c:acquire()
  assert(l:acquire(false) == false)
  c:release()
  assert(l:acquire(false) == true)
  assert(c:acquire(false) == false)
  l:release()
  c:with(function() assert(l:acquire(false) == false) end)
end)
case("Condition.test_unacquired_wait", function()
  local c = th.Condition()
  expect_error("cannot wait on un%-acquired lock", c.wait, c)
end)
case("Condition.test_unacquired_notify", function()
  local c = th.Condition()
  expect_error("cannot notify on un%-acquired lock", c.notify, c)
end)
local function check_cond_notify(c)
  -- Python's version sleeps so the workers settle; here the main thread
  -- counts the workers inside wait() through the condition itself.
  local r1, r2, phase, inside = List(), List(), Cell(0), Cell(0)
  local function f(c, r1, r2, phase, inside)
    c:acquire(); inside:set(inside:get() + 1); local r = c:wait(); c:release()
    r1:append({r, phase:get()})
    c:acquire(); inside:set(inside:get() + 1); r = c:wait(); c:release()
    r2:append({r, phase:get()})
  end
  local b = Bunch(f, 5, c, r1, r2, phase, inside)
  local function until_inside(n)
    wait_until(function() return c:with(function() return inside:get() >= n end) end, n .. " waiters")
  end
  until_inside(5)
  assert(r1:len() == 0)
  c:acquire(); c:notify(3); phase:set(1); c:release()
  wait_until(function() return r1:len() >= 3 end, "3 woken")
  for _, v in ipairs(r1:items()) do assert(v[1] == true and v[2] == 1) end
  assert(r2:len() == 0)
  until_inside(8)     -- the 3 woken ones wait again
  c:acquire(); c:notify(5); phase:set(2); c:release()
  wait_until(function() return r1:len() + r2:len() >= 8 end, "8 woken")
  local p1, p2 = r1:items(), r2:items()
  assert(#p1 == 5 and #p2 == 3)
  for i = 4, 5 do assert(p1[i][2] == 2) end
  for _, v in ipairs(p2) do assert(v[1] == true and v[2] == 2) end
  until_inside(10)
  c:acquire(); c:notify_all(); phase:set(3); c:release()
  wait_until(function() return r2:len() >= 5 end, "all woken")
  p2 = r2:items()
  assert(p2[4][2] == 3 and p2[5][2] == 3)
  b:wait_for_finished()
end
case("Condition.test_notify", function()
  local c = th.Condition()
  check_cond_notify(c)
  check_cond_notify(c)
end)
case("Condition.test_timeout", function()
  local c = th.Condition()
  local results = List()
  Bunch(function(c, results)
    local time = require "time"
    c:acquire()
    local t1 = time.monotonic()
    local r = c:wait(0.2)
    local dt = time.monotonic() - t1
    c:release()
    results:append({dt, r})
  end, 5, c, results):wait_for_finished()
  assert(results:len() == 5)
  for _, v in ipairs(results:items()) do assert_timeout(v[1], 0.2); assert(v[2] == false) end
end)
case("Condition.test_waitfor", function()
  local c = th.Condition()
  local state = Cell(0)
  local b = Bunch(function(c, state)
    c:with(function()
      assert(c:wait_for(function() return state:get() == 4 end) == true)
      assert(state:get() == 4)
    end)
  end, 1, c, state)
  b:wait_for_started()
  for _ = 1, 4 do
    time.sleep(0.01)
    c:with(function() state:set(state:get() + 1); c:notify() end)
  end
  b:wait_for_finished()
end)
case("Condition.test_waitfor_timeout", function()
  local c = th.Condition()
  local state, success = Cell(0), List()
  local b = Bunch(function(c, state, success)
    local time = require "time"
    c:with(function()
      local t1 = time.monotonic()
      local r = c:wait_for(function() return state:get() == 4 end, 0.1)
      assert(r == false)
      assert(time.monotonic() - t1 >= 0.09)
      success:append(true)
    end)
  end, 1, c, state, success)
  b:wait_for_started()
  for _ = 1, 3 do
    time.sleep(0.01)
    c:with(function() state:set(state:get() + 1); c:notify() end)
  end
  b:wait_for_finished()
  assert(success:len() == 1)
end)
case("Condition.test_locked (gh-issue: Condition.locked)", function()
  local c = th.Condition(th.Lock())
  assert(not c:locked()); c:acquire(); assert(c:locked()); c:release(); assert(not c:locked())
end)

-- ---- BaseSemaphoreTests (Semaphore and BoundedSemaphore) -----------
for _, kind in ipairs({"Semaphore", "BoundedSemaphore"}) do
  local semtype = th[kind]
  case(kind .. ".test_constructor", function()
    expect_error("initial value must be >= 0", semtype, -1)
    expect_error("initial value must be >= 0", semtype, math.mininteger)
  end)
  case(kind .. ".test_acquire", function()
    local s = semtype(1); s:acquire(); s:release()
    s = semtype(2); s:acquire(); s:acquire(); s:release(); s:release()
  end)
  case(kind .. ".test_acquire_destroy", function() semtype():acquire(); collectgarbage() end)
  case(kind .. ".test_acquire_contended", function()
    local s = semtype(7); s:acquire()
    local r1, r2, phase = List(), List(), Cell(0)
    local b = Bunch(function(s, r1, r2, phase)
      s:acquire(); r1:append(phase:get()); s:acquire(); r2:append(phase:get())
    end, 10, s, r1, r2, phase)
    b:wait_for_started()
    wait_until(function() return r1:len() + r2:len() >= 6 end, "6 acquired")
    for _, v in ipairs(r1:items()) do assert(v == 0) end
    phase:set(1)
    for _ = 1, 7 do s:release() end
    wait_until(function() return r1:len() + r2:len() >= 13 end, "13 acquired")
    phase:set(2)
    for _ = 1, 6 do s:release() end
    wait_until(function() return r1:len() + r2:len() >= 19 end, "19 acquired")
    local all = {}
    for _, v in ipairs(r1:items()) do all[#all + 1] = v end
    for _, v in ipairs(r2:items()) do all[#all + 1] = v end
    table.sort(all)
    local count = {[0] = 0, 0, 0}
    for _, v in ipairs(all) do count[v] = count[v] + 1 end
    assert(count[0] == 6 and count[1] == 7 and count[2] == 6,
           ("phases %d/%d/%d"):format(count[0], count[1], count[2]))
    assert(s:acquire(false) == false)
    s:release()
    b:wait_for_finished()
  end)
  case(kind .. ".test_try_acquire", function()
    local s = semtype(2)
    assert(s:acquire(false) and s:acquire(false)); assert(s:acquire(false) == false)
    s:release(); assert(s:acquire(false))
  end)
  case(kind .. ".test_try_acquire_contended", function()
    local s = semtype(4); s:acquire()
    local results = List()
    Bunch(function(s, results) results:append(s:acquire(false)); results:append(s:acquire(false)) end,
          5, s, results):wait_for_finished()
    local t, f = 0, 0
    for _, v in ipairs(results:items()) do if v then t = t + 1 else f = f + 1 end end
    assert(t == 3 and f == 7)
  end)
  case(kind .. ".test_acquire_timeout", function()
    local s = semtype(2)
    expect_error("timeout for non%-blocking", s.acquire, s, false, 1.0)
    assert(s:acquire(true, 0.005)); assert(s:acquire(true, 0.005))
    assert(s:acquire(true, 0.005) == false)
    s:release(); assert(s:acquire(true, 0.005))
    local t = time.monotonic()
    assert(s:acquire(true, 0.2) == false)
    assert_timeout(time.monotonic() - t, 0.2)
  end)
  case(kind .. ".test_default_value", function()
    local s = semtype()
    s:acquire()
    local b = Bunch(function(s) s:acquire(); s:release() end, 1, s)
    b:wait_for_started(); short_wait()
    assert(b.finished:len() == 0)
    s:release()
    b:wait_for_finished()
  end)
  case(kind .. ".test_with", function()
    local s = semtype(2)
    local function with(err)
      s:with(function()
        assert(s:acquire(false)); s:release()
        s:with(function()
          assert(s:acquire(false) == false)
          if err then error(err) end
        end)
      end)
    end
    with()
    assert(s:acquire(false)); s:release()
    expect_error("TypeError", with, "TypeError")
    assert(s:acquire(false)); s:release()
  end)
end
case("Semaphore.test_release_unacquired", function()
  local s = th.Semaphore(1)
  s:release(); s:acquire(); s:acquire(); s:release()
end)
case("BoundedSemaphore.test_release_unacquired", function()
  local s = th.BoundedSemaphore()
  expect_error("Semaphore released too many times", s.release, s)
  s:acquire(); s:release()
  expect_error("Semaphore released too many times", s.release, s)
end)

-- ---- BarrierTests (N = 5, default timeout 2 s as Python's) ----------
local N = 5
local function run_threads(f, ...)
  local b = Bunch(f, N - 1, ...)
  f(...)
  b:wait_for_finished()
end
local BBE = th.BrokenBarrierError
local function multipass(barrier, r1, r2, n)
  for i = 0, n - 1 do
    r1:append(true)
    assert(r2:len() == i * N)
    barrier:wait()
    r2:append(true)
    assert(r1:len() == (i + 1) * N)
    barrier:wait()
  end
  assert(barrier.n_waiting == 0 and barrier.broken == false)
end
case("Barrier.test_barrier", function()
  local barrier = th.Barrier(N, 2.0)
  run_threads(multipass, barrier, List(), List(), 1)
end)
case("Barrier.test_barrier_10", function()
  local barrier = th.Barrier(N, 2.0)
  run_threads(multipass, barrier, List(), List(), 10)
end)
case("Barrier.test_wait_return", function()
  local barrier = th.Barrier(N, 2.0)
  local results = List()
  run_threads(function(barrier, results) results:append(barrier:wait()) end, barrier, results)
  local sum = 0
  for _, v in ipairs(results:items()) do sum = sum + v end
  assert(sum == 0 + 1 + 2 + 3 + 4)
end)
case("Barrier.test_action", function()
  local results = List()
  local barrier = th.Barrier(N, function() results:append(true) end)
  run_threads(function(barrier, results) barrier:wait(); assert(results:len() == 1) end, barrier, results)
end)
case("Barrier.test_abort", function()
  local barrier = th.Barrier(N, 2.0)
  local r1, r2 = List(), List()
  run_threads(function(barrier, r1, r2)
    local ok, e = pcall(function()
      local i = barrier:wait()
      if i == N // 2 then error("RuntimeError", 0) end
      barrier:wait()
      r1:append(true)
    end)
    if not ok then
      if e == require("threading").BrokenBarrierError then r2:append(true)
      else assert(e == "RuntimeError", tostring(e)); barrier:abort() end
    end
  end, barrier, r1, r2)
  assert(r1:len() == 0 and r2:len() == N - 1 and barrier.broken)
end)
case("Barrier.test_reset", function()
  local barrier = th.Barrier(N, 2.0)
  local r1, r2, r3 = List(), List(), List()
  run_threads(function(barrier, r1, r2, r3)
    local i = barrier:wait()
    if i == N // 2 then
      while barrier.n_waiting < N - 1 do require("time").sleep(0.001) end
      barrier:reset()
    else
      local ok, e = pcall(barrier.wait, barrier)
      if ok then r1:append(true) else assert(e == require("threading").BrokenBarrierError); r2:append(true) end
    end
    barrier:wait()
    r3:append(true)
  end, barrier, r1, r2, r3)
  assert(r1:len() == 0 and r2:len() == N - 1 and r3:len() == N)
end)
case("Barrier.test_abort_and_reset", function()
  local barrier, barrier2 = th.Barrier(N, 2.0), th.Barrier(N)
  local r1, r2, r3 = List(), List(), List()
  run_threads(function(barrier, barrier2, r1, r2, r3)
    local ok, e = pcall(function()
      local i = barrier:wait()
      if i == N // 2 then error("RuntimeError", 0) end
      barrier:wait()
      r1:append(true)
    end)
    if not ok then
      if e == require("threading").BrokenBarrierError then r2:append(true) else barrier:abort() end
    end
    if barrier2:wait() == N // 2 then barrier:reset() end
    barrier2:wait()
    barrier:wait()
    r3:append(true)
  end, barrier, barrier2, r1, r2, r3)
  assert(r1:len() == 0 and r2:len() == N - 1 and r3:len() == N)
end)
case("Barrier.test_timeout", function()
  local barrier = th.Barrier(N, 2.0)
  run_threads(function(barrier)
    local i = barrier:wait()
    if i == N // 2 then require("time").sleep(0.6) end   -- one thread is late
    local ok, e = pcall(barrier.wait, barrier, 0.3)
    assert(not ok and e == require("threading").BrokenBarrierError)
  end, barrier)
end)
case("Barrier.test_default_timeout", function()
  local barrier = th.Barrier(N, 0.3)
  run_threads(function(barrier)
    local i = barrier:wait()
    if i == N // 2 then require("time").sleep(0.6) end
    local ok, e = pcall(barrier.wait, barrier)
    assert(not ok and e == require("threading").BrokenBarrierError)
  end, barrier)
end)
case("Barrier.test_single_thread", function()
  local b = th.Barrier(1); b:wait(); b:wait()
end)

-- ---- test_threading.py: Timer ----
case("TimerTests.test_init_immutable_default_args", function()
  local calls = List()
  local t1 = th.Timer(0.01, function(calls, ...) calls:append(select("#", ...)) end, {calls})
  local t2 = th.Timer(0.01, function(calls, ...) calls:append(select("#", ...)) end, {calls})
  t1:start(); t2:start(); joined(t1); joined(t2)
  local n = calls:items()
  assert(n[1] == 0 and n[2] == 0, "each timer calls with its own (empty) extra arguments")
end)
case("TimerTests.test_cancel", function()
  local fired = List()
  local t = th.Timer(30, function(fired) fired:append(true) end, {fired})
  t:start(); t:cancel(); joined(t, 5)
  assert(fired:len() == 0)
end)

-- ---- test_threading.py: ExceptHookTests ----
case("ExceptHookTests.test_custom_excepthook", function()
  local seen = List()
  local saved = th.excepthook
  th.excepthook = function(args)
    seen:append({args.exc_type, tostring(args.exc_value), args.thread.name})
  end
  local t = th.Thread{name = "excepthook thread", target = function() error("bug", 0) end}
  t:start(); assert(t:join(20))
  th.excepthook = saved
  local r = seen:items()[1]
  assert(r[1] == "string" and r[2] == "bug" and r[3] == "excepthook thread")
  assert(t.error == "bug")
end)
case("ExceptHookTests.test_system_exit (a thread that returns normally calls no hook)", function()
  local seen = List()
  local saved = th.excepthook
  th.excepthook = function() seen:append(true) end
  local t = th.Thread{target = function() end}
  t:start(); joined(t)
  th.excepthook = saved
  assert(seen:len() == 0)
end)
case("ExceptHookTests.test_custom_excepthook_fail", function()
  local saved = th.excepthook
  th.excepthook = function() error("hook failed", 0) end
  local t = th.Thread{target = function() error("bug", 0) end}
  t:start(); assert(t:join(20))
  th.excepthook = saved
  assert(t.error == "bug", "the thread's error stays when the hook fails")
end)

-- ---- run them ----
for _, c in ipairs(cases) do
  local ok, e = xpcall(c[2], debug.traceback)
  if not ok then error(c[1] .. ": " .. tostring(e), 0) end
  ncases = ncases + 1
end
print(("py_lock_tests: %d cases passed"):format(ncases))

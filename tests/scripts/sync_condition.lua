-- threading.Condition with Lock and RLock: wait/notify/notify_all/wait_for,
-- timeouts, RLock level restored after wait, misuse errors.
-- run: --gil=on
-- run: --gil=on --switch=bytecodes:3
-- run: --gil=on --switch=ticks:3
-- run: --gil=on --switch=priority:1
-- run: --gil=off
local threading = require "threading"
local queue = require "queue"
local time = require "time"

local expect_error = dofile("tests/lib/expect.lua").error

local check_join = dofile("tests/lib/expect.lua").joined

-- misuse
local c = threading.Condition()
expect_error("cannot wait on un%-acquired lock", c.wait, c, 0.01)
expect_error("cannot notify on un%-acquired lock", c.notify, c)
expect_error("cannot notify on un%-acquired lock", c.notify_all, c)
expect_error("cannot release un%-acquired lock", c.release, c)   -- default lock: RLock
expect_error("threading.Lock or threading.RLock expected", threading.Condition, {})
local cl = threading.Condition(threading.Lock())
expect_error("release unlocked lock", cl.release, cl)

-- timeouts
for _, cond in ipairs{c, cl} do
  assert(cond:acquire())
  local t0 = time.monotonic()
  assert(cond:wait(0.05) == false, "nobody notifies: timeout")
  assert(time.monotonic() - t0 >= 0.04)
  assert(cond:wait(0) == false)
  cond:notify()          -- nobody waiting: harmless
  cond:notify_all()
  assert(cond:wait(-1) == false, "a negative timeout tries once, as Python")
  cond:release()
end

-- RLock level is restored after wait
local rl = threading.RLock()
local cr = threading.Condition(rl)
rl:acquire(); rl:acquire(); cr:acquire()     -- level 3
assert(cr:wait(0.01) == false)
rl:release(); rl:release(); rl:release()     -- exactly 3 releases succeed
expect_error("cannot release un%-acquired lock", rl.release, rl)

-- notify(n) wakes exactly n waiters; notify_all the rest
local function waiters_test(cond)
  local ready, woke = queue.Queue(), queue.Queue()
  local ts = {}
  for i = 1, 3 do
    ts[i] = threading.Thread{target = function(cond, ready, woke, i)
      cond:acquire()
      ready:put(i)                 -- still holding the lock: main cannot
      local ok = cond:wait(20)     -- take it until we are inside wait()
      woke:put(ok and i or -i)
      cond:release()
    end, args = {cond, ready, woke, i}}
    ts[i]:start()
  end
  for _ = 1, 3 do ready:get(true, 20) end
  cond:acquire()                   -- every waiter has released it: all wait
  cond:notify(2)
  cond:release()
  local a, b = woke:get(true, 20), woke:get(true, 20)
  assert(a > 0 and b > 0 and a ~= b, "two waiters notified")
  local ok, e = pcall(woke.get, woke, true, 0.1)
  assert(not ok and e == queue.Empty, "notify(2) woke a third waiter")
  cond:acquire(); cond:notify(0); cond:notify_all(); cond:release()
  local c3 = woke:get(true, 20)
  assert(c3 > 0 and c3 ~= a and c3 ~= b)
  for i = 1, 3 do check_join(ts[i]) end
end
waiters_test(threading.Condition())
waiters_test(threading.Condition(threading.Lock()))

-- wait_for: producer/consumer on a shared queue used as the state
local cv = threading.Condition()
local box = queue.Queue()
local consumer = threading.Thread{target = function(cv, box)
  cv:acquire()
  local r = cv:wait_for(function() return box:qsize() >= 3 end, 20)
  cv:release()
  assert(r == true, "predicate became true")
end, args = {cv, box}}
consumer:start()
for i = 1, 3 do
  cv:acquire(); box:put(i); cv:notify(); cv:release()
end
check_join(consumer)
cv:acquire()
local t0 = time.monotonic()
assert(cv:wait_for(function() return false end, 0.05) == false)
assert(time.monotonic() - t0 >= 0.04)
assert(cv:wait_for(function() return "yes" end) == "yes", "returns the predicate's value")
cv:release()

-- with()
assert(cv:with(function() return cv:wait(0.01) end) == false)
expect_error("cannot wait on un%-acquired lock", cv.wait, cv)
print("ok")

-- run: --gil=on
-- run: --gil=off
-- timeout: 60
-- gh-57711: every thread waiting in Event:wait() when set() is called
-- returns true, even when clear() follows at once (threading.Event and
-- multiprocessing.Event). The test waits until all five threads are
-- inside wait() (ev:_waiters(), as Python's tests read Condition._waiters),
-- so nothing depends on timing; before the fix most of them slept on
-- until their 10 s timeout and returned false.
local th = require "threading"
local mp = require "multiprocessing"
local time = require "time"
local check_join = dofile("tests/lib/expect.lua").joined

local N = 5
local function until_waiting(ev, n)
  local deadline = time.monotonic() + 20
  while ev:_waiters() < n do
    assert(time.monotonic() < deadline, "threads did not start waiting")
    time.sleep(0.001)
  end
end

for _, make in ipairs({th.Event, mp.Event}) do
  for round = 1, 3 do
    local ev = make()
    local results = th.Semaphore(0)   -- one permit per true result
    local threads = {}
    for i = 1, N do
      threads[i] = th.Thread{target = function(ev, results)
        if ev:wait(10) then results:release() end
      end, args = {ev, results}}
      threads[i]:start()
    end
    until_waiting(ev, N)
    local t0 = time.monotonic()
    ev:set()
    ev:clear()
    for i = 1, N do check_join(threads[i]) end
    for i = 1, N do assert(results:acquire(false), "a waiter missed set(): " .. (i - 1) .. " of " .. N .. " returned true") end
    assert(time.monotonic() - t0 < 9, "the waiters slept until their timeout")
    assert(not ev:is_set())
    assert(ev:wait(0) == false, "a new wait after clear() does not see the old set()")
  end
end
print("sync_event_set_clear ok")

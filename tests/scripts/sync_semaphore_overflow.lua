-- run: --gil=on
-- run: --gil=off
-- Releasing a semaphore past math.maxinteger is an error and leaves the
-- value as it was; it used to wrap negative, and then acquire blocked
-- (threading) or the count was cut to an int (multiprocessing).
local th = require "threading"
local mp = require "multiprocessing"
local expect_error = dofile("tests/lib/expect.lua").error
local max = math.maxinteger

for _, Sem in ipairs({th.Semaphore, th.BoundedSemaphore, mp.Semaphore, mp.BoundedSemaphore}) do
  local bounded = Sem == th.BoundedSemaphore or Sem == mp.BoundedSemaphore
  -- past the bound or past maxinteger: "released too many times" (the latter
  -- adds ": value out of range (V + N)")
  local over = bounded and "Semaphore released too many times" or "Semaphore released too many times: value out of range"
  local s = Sem(max)
  expect_error(over, s.release, s)
  expect_error(over, s.release, s, max)
  assert(s:acquire(false), "value still maxinteger")
  s:release()                                   -- back to maxinteger: fine
  expect_error(over, s.release, s)
  if s.get_value then assert(s:get_value() == max) end
  local z = Sem(0)
  if not bounded then
    z:release(max)                              -- 0 + maxinteger fits
    expect_error("value out of range %(" .. max .. " %+ 1%)", z.release, z, 1)
    assert(z:acquire(false) and z:acquire(false))
    z:release(2)
    expect_error(over, z.release, z, max)
  else
    expect_error(over, z.release, z, max)
  end
end

-- a multiprocessing release(n) with n beyond an int wakes the waiter
local s = mp.Semaphore(0)
local t = th.Thread{target = function(s) assert(s:acquire(true, 20)) end, args = {s}}
t:start()
s:release(1 << 40)
dofile("tests/lib/expect.lua").joined(t)
assert(s:get_value() == (1 << 40) - 1)
print("sync_semaphore_overflow ok")

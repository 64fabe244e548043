-- Pool:terminate() while another thread waits in AsyncResult:get(), and
-- from inside a callback: no crash; what was pending fails with "Pool
-- terminated" (it used to read the freed pool state: a segfault).
-- run: --gil=on
-- run: --gil=off
-- timeout: 30
local mp = require "multiprocessing"
local th = require "threading"
local gil = require "gil"
local expect = dofile("tests/lib/expect.lua")

-- a thread waits in get() while the main thread terminates (GIL on only:
-- with the GIL off an AsyncResult stays in the interpreter that made it)
if gil.enabled() then
  local pool = mp.Pool(1)
  local started = mp.Event()
  local r = pool:apply_async(function(ev) ev:set(); while true do end end, {started})
  local waiting = th.Event()
  local got
  local t = th.Thread{target = function()
    waiting:set()
    got = {pcall(r.get, r)}
  end}
  t:start()
  assert(waiting:wait(10) and started:wait(10))
  pool:terminate()
  expect.joined(t, 10)
  assert(got[1] == false and tostring(got[2]):find("Pool terminated"), tostring(got[2]))
  -- the pool is gone: new work is refused, the result stays failed
  expect.error("Pool not running", pool.apply, pool, print, {})
  expect.error("Pool terminated", r.get, r)
end

-- terminate from a callback, with another task still pending
do
  local pool = mp.Pool(2)
  local blocker = pool:apply_async(function() while true do end end)
  local seen
  local r = pool:apply_async(function() return 7 end, {}, function(v)
    seen = v
    pool:terminate()
  end)
  assert(r:get(10) == 7 and seen == 7)
  expect.error("Pool terminated", blocker.get, blocker, 10)
  expect.error("Pool not running", pool.apply_async, pool, print, {})
end

-- terminate from an error_callback, while map chunks are pending
do
  local pool = mp.Pool(1)
  local m = pool:map_async(function(x) if x == 1 then error("first") end while true do end end,
                           {1, 2, 3}, 1, nil, function() pool:terminate() end)
  local ok, e = pcall(m.get, m, 10)
  assert(not ok and tostring(e):find("first"), tostring(e))
  expect.error("Pool not running", pool.map, pool, print, {1})
end
print("ok")

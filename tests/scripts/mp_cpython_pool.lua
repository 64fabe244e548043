-- Ported from CPython's Lib/test/_test_multiprocessing.py, _TestPool,
-- TestPoolWorkerErrors and TestPoolWorkerLifetime (the cases that apply
-- to Lua): apply, map, starmap, starmap_async, map_async, map_async
-- callbacks, map chunksize, async, async_timeout, imap, imap_unordered,
-- make_pool, terminate, empty_iterable, context, traceback, map no
-- failfast, enter a closed pool, async error_callback, unpicklable result,
-- worker lifetime, worker lifetime early close. Timings are not asserted.
-- run: --gil=on
-- run: --gil=off
-- timeout: 90
local mp = require "multiprocessing"
local time = require "time"
local expect = dofile("tests/lib/expect.lua")

local function sqr(x, wait)
  if wait then time.sleep(wait) end
  return x * x
end
local function mul(x, y) return x * y end
local function raising() error("key error", 0) end

local pool = mp.Pool(4)
local cases = {}
local function case(name, f) cases[#cases + 1] = {name, f} end

case("apply", function()
  assert(pool:apply(sqr, {5}) == 25)
  assert(pool:apply(sqr, {7, nil}) == 49)
  assert(pool:apply(mul, {3, 4}) == 12)
end)

case("map", function()
  local l = {}
  for i = 1, 10 do l[i] = i - 1 end
  local r = pool:map(sqr, l)
  for i = 1, 10 do assert(r[i] == (i - 1) ^ 2) end
  l = {}
  for i = 1, 100 do l[i] = i - 1 end
  r = pool:map(sqr, l, 10)
  for i = 1, 100 do assert(r[i] == (i - 1) ^ 2) end
end)

case("starmap", function()
  local args = {}
  for i = 1, 10 do args[i] = {i, i + 1} end
  local r = pool:starmap(mul, args)
  for i = 1, 10 do assert(r[i] == i * (i + 1)) end
  r = pool:starmap(mul, args, 2)
  for i = 1, 10 do assert(r[i] == i * (i + 1)) end
end)

case("starmap_async", function()
  local args = {}
  for i = 1, 100 do args[i] = {i, i + 1} end
  local r = pool:starmap_async(mul, args):get(20)
  for i = 1, 100 do assert(r[i] == i * (i + 1)) end
end)

case("map_async", function()
  local l = {}
  for i = 1, 10 do l[i] = i end
  local r = pool:map_async(sqr, l):get(20)
  for i = 1, 10 do assert(r[i] == i * i) end
end)

case("map_async_callbacks", function()
  local got, err
  local r = pool:map_async(sqr, {1, 2}, nil, function(v) got = v end, function(e) err = e end)
  r:wait(20)
  assert(got and got[1] == 1 and got[2] == 4 and err == nil)
  got = nil
  local r2 = pool:map_async(function(x) error("bad " .. x, 0) end, {1}, nil,
                            function(v) got = v end, function(e) err = e end)
  r2:wait(20)
  assert(got == nil and tostring(err):find("bad 1"))
end)

case("map_chunksize", function()
  local r = pool:map(sqr, {}, 1)
  assert(#r == 0)
  r = pool:map(sqr, {3}, 100)
  assert(r[1] == 9)
end)

case("async", function()
  local res = pool:apply_async(sqr, {7, 0.1})
  assert(res:get(20) == 49)
  assert(res:ready() and res:successful())
end)

case("async_timeout", function()
  local res = pool:apply_async(sqr, {6, 2})
  expect.error("TimeoutError", res.get, res, 0.05)
  assert(res:get(20) == 36)
end)

case("imap", function()
  local l = {}
  for i = 1, 10 do l[i] = i end
  local n = 0
  for i, v in pool:imap(sqr, l) do n = n + 1; assert(i == n and v == l[i] ^ 2) end
  assert(n == 10)
  l = {}
  for i = 1, 1000 do l[i] = i end
  n = 0
  for i, v in pool:imap(sqr, l, 100) do n = n + 1; assert(i == n and v == i * i) end
  assert(n == 1000)
end)

case("imap_unordered", function()
  local l, seen, n = {}, {}, 0
  for i = 1, 100 do l[i] = i end
  for i, v in pool:imap_unordered(sqr, l) do
    assert(v == i * i and not seen[i])
    seen[i] = true
    n = n + 1
  end
  assert(n == 100)
  n = 0
  for i, v in pool:imap_unordered(sqr, l, 53) do assert(v == i * i); n = n + 1 end
  assert(n == 100)
end)

case("make_pool", function()
  expect.error("processes must be between 1 and 1024", mp.Pool, -1)
  expect.error("processes must be between 1 and 1024", mp.Pool, {processes = 5000})
  local p = mp.Pool(3)
  assert(p.processes == 3 and #p.pids == 3)
  p:close()
  p:join()
end)

case("terminate", function()
  local p = mp.Pool(4)
  local l = {}
  for i = 1, 100 do l[i] = 1 end
  local r = p:map_async(time.sleep, l, 1)
  p:terminate()
  p:join()                          -- returns at once after terminate
  expect.error("Pool terminated", r.get, r, 20)
end)

case("empty_iterable", function()
  local p = mp.Pool(1)
  assert(#p:map(sqr, {}) == 0)
  assert(#p:map_async(sqr, {}):get(20) == 0)
  local n = 0
  for _ in p:imap(sqr, {}) do n = n + 1 end
  for _ in p:imap_unordered(sqr, {}) do n = n + 1 end
  assert(n == 0)
  p:close()
  p:join()
end)

case("context", function()
  local p <close> = mp.Pool(2)
  assert(p:apply(sqr, {3}) == 9)
end)

case("traceback", function()
  local e = expect.error("key error", pool.apply, pool, raising, {})
  assert(e:find("stack traceback"), e)
end)

-- one failing item fails the map, the other items still run
case("map_no_failfast", function()
  local done = mp.Value('i', 0)
  local r = pool:map_async(function(x)
    if x == 1 then error("first", 0) end
    done:get_lock():acquire(); done.value = done.value + 1; done:get_lock():release()
  end, {1, 2, 3, 4}, 1)
  expect.error("first", r.get, r, 20)
  local deadline = time.monotonic() + 20
  while done.value < 3 do assert(time.monotonic() < deadline); time.sleep(0.01) end
end)

case("enter_closed", function()
  local p = mp.Pool(1)
  p:close()
  expect.error("Pool not running", p.apply, p, sqr, {1})
  expect.error("Pool not running", p.map, p, sqr, {1})
  p:join()
end)

case("async_error_callback", function()
  local p = mp.Pool(2)
  local scratch
  local r = p:apply_async(raising, {}, nil, function(e) scratch = e end)
  expect.error("key error", r.get, r, 20)
  assert(tostring(scratch):find("key error"))
  p:close()
  p:join()
end)

case("unpicklable_result", function()
  local p = mp.Pool(2)
  local r = p:apply_async(function() return coroutine.create(print) end)
  expect.error("cannot send the task's result back", r.get, r, 20)
  assert(p:apply(sqr, {2}) == 4)   -- the worker is fine
  p:close()
  p:join()
end)

case("pool_worker_lifetime", function()
  local p = mp.Pool{processes = 3, maxtasksperchild = 10}
  assert(#p.pids == 3)
  local origpids = {}
  for _, pid in ipairs(p.pids) do origpids[pid] = true end
  local results = {}
  for i = 1, 100 do results[i] = p:apply_async(sqr, {i}) end
  for i = 1, 100 do assert(results[i]:get(20) == i * i) end
  local replaced = false
  for _, pid in ipairs(p.pids) do replaced = replaced or (pid > 0 and not origpids[pid]) end
  assert(replaced, "workers were not replaced after maxtasksperchild")
  p:close()
  p:join()
end)

case("pool_worker_lifetime_early_close", function()
  local p = mp.Pool{processes = 1, maxtasksperchild = 1}
  local results = {}
  for i = 1, 6 do results[i] = p:apply_async(sqr, {i, 0.05}) end
  p:close()
  p:join()
  for i = 1, 6 do assert(results[i]:get(0) == i * i) end
end)

for _, c in ipairs(cases) do
  local ok, err = pcall(c[2])
  assert(ok, c[1] .. ": " .. tostring(err))
end
pool:close()
pool:join()
print(#cases .. " cases ok")

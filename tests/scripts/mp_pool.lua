-- multiprocessing.Pool: apply, apply_async (callbacks run in the parent),
-- map/starmap/map_async, imap/imap_unordered, a function defined after
-- the pool started, errors with the worker's traceback, initializer,
-- maxtasksperchild, close/join/terminate, misuse.
-- run: --gil=on
-- run: --gil=off
local mp = require "multiprocessing"

local parent = os.getpid()
local pool = mp.Pool{processes = 2, initializer = function(x) WORKER_TAG = x end, initargs = {"init-ok"}}
assert(pool.processes == 2 and #pool.pids == 2)

-- defined after the pool started: travels by the value transfer
local k = 10
local function scale(x) return x * k end
local sq = pool:map(scale, {1, 2, 3, 4, 5})
assert(#sq == 5 and sq[1] == 10 and sq[5] == 50)
assert(#pool:map(scale, {}) == 0)
local pairs_ = pool:starmap(function(a, b) return a .. b end, {{"a", 1}, {"b", 2}})
assert(pairs_[1] == "a1" and pairs_[2] == "b2")

-- apply returns every result value; runs in a worker with the initializer's globals
local a, b, c = pool:apply(function(x, y) return x + y, os.getpid(), WORKER_TAG end, {2, 3})
assert(a == 5 and b ~= parent and c == "init-ok")

-- callbacks run in the parent
local got = {}
local results = {}
for i = 1, 6 do
  results[i] = pool:apply_async(function(n) return n * n end, {i},
    function(v) assert(os.getpid() == parent); got[#got + 1] = v end)
end
for i = 1, 6 do assert(results[i]:get(10) == i * i) end
assert(#got == 6, "all callbacks ran")
assert(results[1]:ready() and results[1]:successful())

-- map_async with callback
local mcb
local mr = pool:map_async(scale, {1, 2, 3}, nil, function(list) mcb = list end)
assert(mr:wait(10) and mr:get()[3] == 30 and mcb and mcb[2] == 20)

-- imap (in order) and imap_unordered (completion order, with indices)
local seen = {}
for i, v in pool:imap(scale, {3, 2, 1}) do seen[#seen + 1] = i .. "=" .. v end
assert(table.concat(seen, ",") == "1=30,2=20,3=10", table.concat(seen, ","))
local sum, n = 0, 0
for i, v in pool:imap_unordered(scale, {1, 2, 3, 4}) do sum = sum + v; n = n + 1; assert(v == i * 10) end
assert(sum == 100 and n == 4)

-- an error in a task: get() raises the worker's message and traceback
local bad = pool:apply_async(function() error("task failed here") end, {}, nil,
  function(e) assert(os.getpid() == parent); got.err = e end)
local ok, e = pcall(bad.get, bad, 10)
assert(not ok and e:find("task failed here") and e:find("stack traceback"), e)
assert(got.err and got.err:find("task failed here"))
assert(bad:ready() and not bad:successful())
ok, e = pcall(pool.map, pool, function(x) if x == 3 then error("bad item") end return x end, {1, 2, 3, 4})
assert(not ok and e:find("bad item"), e)

-- results that cannot travel back are reported as errors
local co = pool:apply_async(function() return coroutine.create(print) end)
ok, e = pcall(co.get, co, 10)
assert(not ok and e:find("cannot send the task's result back"), e)
-- arguments that cannot travel are refused at submission
ok, e = pcall(pool.apply_async, pool, print, {coroutine.create(print)})
assert(not ok and e:find("coroutine"), e)

-- a timeout on get
local slow = pool:apply_async(function() require("time").sleep(0.3); return 1 end)
ok, e = pcall(slow.get, slow, 0.01)
assert(not ok and e:find("TimeoutError"), e)
assert(slow:get(10) == 1)

-- close / join
pool:close()
ok, e = pcall(pool.apply_async, pool, print)
assert(not ok and e:find("not running"), e)
pool:join()

-- join before close is an error; terminate fails pending tasks
local p2 = mp.Pool(1)
ok, e = pcall(p2.join, p2)
assert(not ok and e:find("still running"), e)
local pending = p2:apply_async(function() require("time").sleep(5) end)
p2:terminate()
ok, e = pcall(pending.get, pending, 5)
assert(not ok and e:find("terminated"), e)

-- maxtasksperchild: workers are replaced, tasks keep flowing
local p3 = mp.Pool{processes = 1, maxtasksperchild = 2}
local pids = {}
for i = 1, 6 do pids[p3:apply(function() return os.getpid() end, {})] = true end
local distinct = 0
for _ in pairs(pids) do distinct = distinct + 1 end
assert(distinct == 3, "a new worker every 2 tasks, got " .. distinct)
p3:close(); p3:join()

ok, e = pcall(mp.Pool, 0.5)
assert(not ok)
print("ok")

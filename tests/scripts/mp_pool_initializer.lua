-- Pool initializer: one that cannot be called is an error at
-- construction; one that raises fails the pending tasks with its message
-- and traceback, and the pool stops starting workers (it used to replace
-- them ~20 times a second forever while apply never returned).
-- run: --gil=on
-- run: --gil=off
-- timeout: 30
local mp = require "multiprocessing"
local expect = dofile("tests/lib/expect.lua")

expect.error("Pool: initializer must be a function %(got number%)", mp.Pool, {initializer = 5})
expect.error("Pool: initargs must be a table %(got string%)", mp.Pool, {initializer = print, initargs = "x"})
-- a callable table is a function enough
local callable = setmetatable({}, {__call = function() end})
local ok_pool = mp.Pool{processes = 1, initializer = callable}
assert(ok_pool:apply(function() return 1 end) == 1)
ok_pool:terminate()

local pool = mp.Pool{processes = 2, initializer = function(tag) error("no database for " .. tag) end,
                     initargs = {"w"}}
local first = {}
for _, pid in ipairs(pool.pids) do first[pid] = true end
local e = expect.error("Pool initializer failed: .-no database for w", pool.apply, pool, print, {})
assert(e:find("stack traceback"), "the traceback travels: " .. e)
-- no worker is started again, new work is refused with the same error
for _, pid in ipairs(pool.pids) do assert(pid == 0 or first[pid], "a worker was restarted") end
expect.error("Pool initializer failed", pool.apply_async, pool, print, {})
pool:close()
pool:join()

-- an error that is not a string is described
local flaky = mp.Pool{processes = 1, initializer = function() error({code = 3}) end}
expect.error("Pool initializer failed: %(error object is a table value%)", flaky.map, flaky, print, {1, 2})
flaky:terminate()
print("ok")

-- A forked child never returns into its parent's code: an error while it
-- unpacks its arguments (a __len or __index that raises, a stack that
-- cannot grow) ends the child with exit code 1 and the error on stderr.
-- It used to unwind into the pcall below, inside the child, which then
-- went on running the rest of this script (the counter counted twice).
-- A bad args.n is an error at start(), in the parent.
-- expect-stderr: Process Process%-%d+:.-len exploded
-- run: --gil=on
-- run: --gil=off
-- timeout: 30
local mp = require "multiprocessing"
local expect = dofile("tests/lib/expect.lua")

local runs = mp.Value('i', 0)        -- how many processes reach the end of this script

local function f() end
local args = setmetatable({}, {__len = function() error("len exploded") end})
local p = mp.Process{target = f, args = args}
local ok = pcall(p.start, p)
assert(ok, "start must succeed in the parent")
assert(p:join(10), "the child must end")
assert(p.exitcode == 1, "exit code " .. tostring(p.exitcode))

-- args.n that is not a count: a clear error at start()
for _, n in ipairs{-1, 1 << 32, 2000000, 1.5} do
  local q = mp.Process{target = f, args = {n = n}}
  expect.error("Process: .*args%.n", q.start, q)
end
local q = mp.Process{target = f, args = {n = "x"}}
expect.error("args.n must be an integer %(got string x%)", q.start, q)

-- a Pool task whose arguments cannot be unpacked fails, the worker lives on
local pool = mp.Pool(1)
local pid = pool.pids[1]
expect.error("a starmap item must be a table %(got number%)", pool.starmap, pool, f, {1, 2})
assert(pool.pids[1] == pid, "the worker was replaced")
assert(pool:apply(function(a, b) return a + b end, {2, 3}) == 5)
pool:close()
pool:join()

-- a child started with os.fork keeps its semantics: it returns 0 and
-- runs on (here it leaves at once)
local child = os.fork()
if child == 0 then os._exit(7) end
local _, how, code = os.waitpid(child)
assert(how == "exit" and code == 7)

runs.value = runs.value + 1
assert(runs.value == 1, "a child ran the parent's program")
print("ok")

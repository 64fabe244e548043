-- bench_thread_start.lua — what it costs to start a thread: start and join
-- --count threads one after another, each running an empty target.
-- With the GIL on a thread is a lua_newthread in the shared universe; with
-- the GIL off it is a fresh interpreter (luaL_newstate + standard libraries
-- + runtime modules) and its target travels by the value transfer.
--
--   gillua --gil=on  scripts/bench_thread_start.lua --count=500
--   gillua --gil=off scripts/bench_thread_start.lua --count=500
--
-- Prints one JSON line: us_per_thread (start + join), and the same figures
-- as every benchmark (wall_s, cpu_s, cores_used).

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")
local o = B.options(arg, "bench_thread_start.lua", {count = 500}, "--count=N")
local threading = assert(B.has.threading, "bench_thread_start needs gillua's threading module")
local gil = B.has.gil
o.mode = gil.enabled() and "gil" or "nogil"
o.workers = 1

local function empty() end
local m = B.measure(function()
  for _ = 1, o.count do
    local t = threading.Thread{target = empty}
    t:start()
    t:join()
  end
end)
B.emit("thread_start", o, m, {ops = o.count, us_per_thread = m.wall_s / o.count * 1e6})

--[[
scripts/bench_ipc.lua — inter-process communication micro-benchmarks:
  queue     small messages/s through a multiprocessing.Queue, one producer
            process, one consumer process (the parent)
  pipe      round-trip latency of a small message over a Pipe (echo child)
  pool      Pool(2):map of N trivial tasks vs a sequential loop
  manager   Manager dict operations per second (set+get pairs)
Usage: gillua scripts/bench_ipc.lua [which|all] [scale]
Prints one line per benchmark: "name value unit" (and a JSON line with
--json). bench/peers/ipc.py measures the same with CPython.
]]
local mp = require "multiprocessing"
local time = require "time"

local which = arg[1] or "all"
local scale = tonumber(arg[2]) or 1
local json = false
for _, a in ipairs(arg) do if a == "--json" then json = true end end
local results = {}

local function report(name, value, unit)
  results[#results + 1] = string.format('"%s": %.6g', name, value)
  print(string.format("%-22s %14.6g %s", name, value, unit))
end

local function bench_queue()
  local n = math.floor(200000 * scale)
  local q = mp.Queue()
  local p = mp.Process{target = function()
    for i = 1, n do q:put(i) end
  end}
  local t0 = time.perf_counter()
  p:start()
  for _ = 1, n do q:get() end
  local dt = time.perf_counter() - t0
  p:join()
  report("queue_msgs_per_s", n / dt, "msg/s")
end

local function bench_pipe()
  local n = math.floor(20000 * scale)
  local a, b = mp.Pipe()
  local p = mp.Process{target = function()
    while true do
      local m = b:recv()
      if m == false then return end
      b:send(m)
    end
  end}
  p:start()
  for _ = 1, 100 do a:send(1); a:recv() end        -- warm up
  local t0 = time.perf_counter()
  for i = 1, n do a:send(i); a:recv() end
  local dt = time.perf_counter() - t0
  a:send(false)
  p:join()
  report("pipe_roundtrip_us", dt / n * 1e6, "us")
end

local function bench_pool()
  local n = math.floor(10000 * scale)
  local items = {}
  for i = 1, n do items[i] = i end
  local f = function(x) return x * 2 end
  local t0 = time.perf_counter()
  local seq = {}
  for i = 1, n do seq[i] = f(items[i]) end
  local dseq = time.perf_counter() - t0
  t0 = time.perf_counter()
  local pool = mp.Pool(2)
  local out = pool:map(f, items)
  pool:close()
  pool:join()
  local dpool = time.perf_counter() - t0
  assert(#out == n and out[n] == 2 * n)
  report("pool_map_s", dpool, "s (Pool(2) start + map + join)")
  report("pool_seq_s", dseq, "s (sequential loop)")
end

local function bench_manager()
  local n = math.floor(20000 * scale)
  local mg = mp.Manager()
  local d = mg:dict()
  local t0 = time.perf_counter()
  for i = 1, n do d[i % 100] = i; local _ = d[i % 100] end
  local dt = time.perf_counter() - t0
  mg:shutdown()
  report("manager_ops_per_s", 2 * n / dt, "ops/s")
end

local all = {queue = bench_queue, pipe = bench_pipe, pool = bench_pool, manager = bench_manager}
if which == "all" or which == "--json" then
  bench_queue(); bench_pipe(); bench_pool(); bench_manager()
else
  assert(all[which], "unknown benchmark " .. which)()
end
if json then print("{" .. table.concat(results, ", ") .. "}") end

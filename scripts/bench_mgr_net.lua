--[[
scripts/bench_mgr_net.lua — multiprocessing.managers over TCP on loopback:
  call      round trip of a proxy method call (a counter's add), in us
  queue     items/s through a queue served by a manager: a producer
            process puts, the parent gets, both through proxies
Usage: gillua scripts/bench_mgr_net.lua [which|all] [scale] [--json]
bench/peers/mgr_net.py measures the same with CPython's managers.
]]
local managers, queue = require "multiprocessing.managers", require "queue"
local mp, time = require "multiprocessing", require "time"

local args = {}
local json = false
for _, a in ipairs(arg) do if a == "--json" then json = true else args[#args + 1] = a end end
local which, scale = args[1] or "all", tonumber(args[2]) or 1
local results = {}

local function report(name, value, unit)
  results[#results + 1] = string.format('"%s": %.6g', name, value)
  print(string.format("%-22s %14.6g %s", name, value, unit))
end

local Counter = {}
Counter.__index = Counter
function Counter:add(n) self.n = self.n + n return self.n end

local q = queue.Queue()
local m = managers.BaseManager{address = {"127.0.0.1", 0}, authkey = "bench"}
m:register("Counter", function() return setmetatable({n = 0}, Counter) end)
m:register("get_queue", function() return q end)
m:start()

local function bench_call()
  local n = math.floor(20000 * scale)
  local c = m:Counter()
  for _ = 1, 200 do c:add(1) end                  -- warm up
  local t0 = time.perf_counter()
  for _ = 1, n do c:add(1) end
  local dt = time.perf_counter() - t0
  assert(c:add(0) == n + 200)
  report("mgr_call_us", dt / n * 1e6, "us per call")
end

local function bench_queue()
  local n = math.floor(20000 * scale)
  local port = m.address[2]
  local p = mp.Process{target = function()
    local c = managers.BaseManager{address = {"127.0.0.1", port}, authkey = "bench"}
    c:register("get_queue")
    c:connect()
    local pq = c:get_queue()
    for i = 1, n do pq:put(i) end
  end}
  local cq = m:get_queue()
  local t0 = time.perf_counter()
  p:start()
  for _ = 1, n do cq:get() end
  local dt = time.perf_counter() - t0
  p:join()
  report("mgr_queue_items_per_s", n / dt, "items/s")
end

if which == "all" then bench_call(); bench_queue()
elseif which == "call" then bench_call()
elseif which == "queue" then bench_queue()
else error("unknown benchmark " .. which) end
m:shutdown()
if json then print("{" .. table.concat(results, ", ") .. "}") end

-- multi_process.lua — the seed's Pool example made CPU-bound: a batch of
-- tasks, each counting the primes below M by trial division (a few ms of
-- Lua), spread over P workers.
--
--   gillua scripts/multi_process.lua --mode=processes --workers=2 --tasks=8 --size=30000
--
-- The batch has tasks x workers tasks (the work per worker is fixed, as in
-- the other benchmarks, so the sequential run of the same worker count is
-- the baseline). Modes: processes: multiprocessing.Pool(P):map; gil /
-- nogil: P threads taking tasks from a queue.Queue and putting results on
-- another (a thread pool); sequential: a loop in the main thread.
-- Every result is checked against the count computed once before timing.
-- ops = number of tasks.

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")

local o = B.options(arg, "multi_process.lua", {mode = "processes", workers = 2, tasks = 8, size = 30000},
                    "--mode=gil|nogil|processes|sequential --workers=P --tasks=T --size=M")
B.require_mode("multi_process", o)

local function count_primes(m)
  local c = 0
  for n = 2, m - 1 do
    local prime = true
    local d = 2
    while d * d <= n do
      if n % d == 0 then prime = false; break end
      d = d + 1
    end
    if prime then c = c + 1 end
  end
  return c
end

-- A thread-pool worker: tasks until the sentinel false.
local function pool_worker(tasks, results, work)
  while true do
    local m = tasks:get()
    if not m then return end
    results:put(work(m))
  end
end

local ntasks = o.tasks * o.workers
local expected = count_primes(o.size)
local results = {}

local m = B.measure(function()
  if o.mode == "sequential" then
    for i = 1, ntasks do results[i] = count_primes(o.size) end
  elseif o.mode == "processes" then
    local mp = require "multiprocessing"
    local pool = mp.Pool(o.workers)
    local list = {}
    for i = 1, ntasks do list[i] = o.size end
    results = pool:map(count_primes, list)
    pool:close()
    pool:join()
  else
    local queue = B.has.queue
    local tasks, out = queue.Queue(), queue.Queue()
    for _ = 1, ntasks do tasks:put(o.size) end
    for _ = 1, o.workers do tasks:put(false) end
    local argsets = {}
    for i = 1, o.workers do argsets[i] = {tasks, out, count_primes} end
    B.run_threads(pool_worker, argsets)
    for i = 1, ntasks do results[i] = out:get() end
  end
end)

local bad = 0
for i = 1, ntasks do
  if results[i] ~= expected then bad = bad + 1 end
end
if bad > 0 or #results ~= ntasks then
  io.stderr:write(string.format("multi_process.lua: %d of %d results wrong (expected %d each, got %d results)\n",
                                bad, ntasks, expected, #results))
  os.exit(1)
end

B.emit("multi_process", o, m, {ops = ntasks, tasks = ntasks, size = o.size, primes = expected})

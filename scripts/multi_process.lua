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
-- another (a thread pool); sequential: a loop in the main thread; mpi:
-- one process per MPI rank (`mpirun -np P gillua scripts/multi_process.lua
-- --mode=mpi`: P ranks are the workers, --workers is taken from mpirun),
-- each counting its share, results gathered to rank 0, which alone prints
-- (its cpu_s is the sum over the ranks).
-- Every result is checked against the count computed once before timing.
-- ops = number of tasks.

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")

B.extra_modes = {mpi = true}
local o = B.options(arg, "multi_process.lua", {mode = "processes", workers = 2, tasks = 8, size = 30000},
                    "--mode=gil|nogil|processes|sequential|mpi --workers=P --tasks=T --size=M")
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

local comm = o.mode == "mpi" and require("mpi").COMM_WORLD
if comm then o.workers = comm:Get_size() end

local ntasks = o.tasks * o.workers
local expected = count_primes(o.size)
local results = {}

if comm then comm:barrier() end             -- the ranks start together
local m = B.measure(function()
  if comm then
    local rank, mine = comm:Get_rank(), {}
    for _ = rank + 1, ntasks, o.workers do mine[#mine + 1] = count_primes(o.size) end
    local all = comm:gather(mine, 0)
    for _, part in ipairs(all or {}) do
      for _, v in ipairs(part) do results[#results + 1] = v end
    end
  elseif o.mode == "sequential" then
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

if comm then
  local cpu = comm:reduce(m.cpu_s, "SUM", 0)
  if comm:Get_rank() ~= 0 then return end    -- rank 0 reports for the job
  if m.others_cores and m.wall_s > 0 then      -- the other ranks are not 'other load'
    m.others_cores = math.max(0, m.others_cores - (cpu - m.cpu_s) / m.wall_s)
  end
  m.cpu_s, m.cores_used = cpu, m.wall_s > 0 and cpu / m.wall_s or 0
end

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

-- aggregate.lua — from repeated runs to report rows.
--
-- One report row per configuration (bench, impl, mode, switch, workers,
-- lock) out of its R repetitions:
--   wall_s, cpu_s, cores_used, switches, lost_updates: the median of the R
--       values (each figure's own median)
--   wall_best: the fastest repetition; spread: (max - min) / median wall
--   rep_walls: every repetition's wall time, in the order they ran
--   ops_per_s: ops / median wall
--   speedup: the median over the repetitions i of
--       sequential rep_walls[i] / this row's rep_walls[i], where the
--       sequential row has the same bench, impl, workers, lock and ops and
--       rep i of both ran one right after the other (runner.lua
--       interleaves them): a burst of background load hits both sides of
--       a pair; speedup_min / speedup_max are the extreme pairs,
--       speedup_best the old best-of-R figure
--   noise: the speedup is beyond what the machine can do (A.beyond_limit)
--   efficiency: speedup / min(workers, cpus)
--   lost_updates_max: the worst repetition (lock rows must have 0 here)
--   others_cores: median CPU load of the rest of the machine meanwhile

local A = {}

local function median(xs)
  if #xs == 0 then return nil end
  local s = {}
  for i, v in ipairs(xs) do s[i] = v end
  table.sort(s)
  local n = #s
  if n % 2 == 1 then return s[(n + 1) // 2] end
  return (s[n // 2] + s[n // 2 + 1]) / 2
end
A.median = median

local function field(reps, k)
  local xs = {}
  for _, r in ipairs(reps) do
    if type(r[k]) == "number" then xs[#xs + 1] = r[k] end
  end
  return xs
end

function A.key(r)
  return table.concat({r.bench, r.impl, r.mode, r.switch or "-", tostring(r.workers),
                       r.lock == nil and "-" or tostring(r.lock)}, "|")
end

-- 'job' describes the configuration; 'reps' are the decoded JSON lines
-- (possibly empty); 'failure' is an "unavailable: ..." or error text.
function A.row(job, reps, failure)
  local row = {bench = job.bench, impl = job.impl, mode = job.mode, switch = job.switch,
               workers = job.workers, lock = job.lock, repeats = #reps, sweep = job.sweep,
               nsweep = job.nsweep, pinned = job.pinned}
  if failure then
    row.unavailable = failure
    return row
  end
  local walls = field(reps, "wall_s")
  local wmed = median(walls)
  local wmin, wmax = math.huge, -math.huge
  for _, w in ipairs(walls) do wmin = math.min(wmin, w); wmax = math.max(wmax, w) end
  row.wall_s = wmed
  row.wall_best = wmin
  row.rep_walls = walls
  row.spread = wmed > 0 and (wmax - wmin) / wmed or 0
  row.cpu_s = median(field(reps, "cpu_s"))
  row.cores_used = median(field(reps, "cores_used"))
  row.ops = reps[1].ops
  row.ops_per_s = row.ops and wmed > 0 and row.ops / wmed or nil
  row.switches = median(field(reps, "switches"))
  if row.switches then row.switches = math.floor(row.switches + 0.5) end
  row.releases = median(field(reps, "releases"))
  if row.releases then row.releases = math.floor(row.releases + 0.5) end
  local lost = field(reps, "lost_updates")
  if #lost > 0 then
    row.lost_updates = math.floor(median(lost) + 0.5)
    local mx = 0
    for _, v in ipairs(lost) do mx = math.max(mx, v) end
    row.lost_updates_max = mx
    row.final_balance = median(field(reps, "final_balance"))
  end
  row.others_cores = median(field(reps, "others_cores"))
  row.cpu_source = reps[1].cpu_source
  row.switch = row.switch or reps[1].switch
  return row
end

-- True when row r's speedup is beyond the physical limit of a CPU-bound
-- benchmark (waits overlap without limit: io_bound is not judged): more than
-- workers x 1.05 or cores x 1.05 (threads under a GIL: 1 x 1.05, they
-- never run two at a time), or, with one worker, outside 0.9-1.1 (one
-- worker does the sequential run's work in every mode; balance is left
-- out there: its modes use different shared variables).
A.cpu_bound = {dead_loop = true, balance = true, multi_process = true}   -- limited by cores

function A.beyond_limit(r, cpus)
  local s = r.speedup
  if not s or r.mode == "sequential" or not A.cpu_bound[r.bench] then return false end
  local limit = r.mode == "gil" and 1 or math.min(r.workers, cpus)
  if s > limit * 1.05 then return true end
  return r.workers == 1 and r.bench ~= "balance" and (s < 0.9 or s > 1.1)
end

-- Fills speedup (median of the per-pair ratios, with min and max),
-- speedup_best, speedup_median, efficiency and noise of every row of
-- 'rows' from the sequential rows among them.
function A.speedups(rows, cpus)
  local seq = {}
  local function skey(r)   -- the same work: same ops (the sweep's smaller runs have their own)
    return table.concat({r.bench, r.impl, tostring(r.workers), tostring(r.lock), tostring(r.ops),
                         tostring(r.pinned)}, "|")
  end
  for _, r in ipairs(rows) do
    if r.mode == "sequential" and r.wall_best then seq[skey(r)] = r end
  end
  for _, r in ipairs(rows) do
    local s = seq[skey(r)]
    if s and r.wall_best and r.wall_best > 0 then
      local ratios = {}
      local sw, rw = s.rep_walls or {s.wall_s}, r.rep_walls or {r.wall_s}   -- (a saved older report)
      for i = 1, math.min(#sw, #rw) do
        if rw[i] > 0 then ratios[#ratios + 1] = sw[i] / rw[i] end
      end
      table.sort(ratios)
      r.speedup = median(ratios)
      r.speedup_min, r.speedup_max = ratios[1], ratios[#ratios]
      r.speedup_best = s.wall_best / r.wall_best
      r.speedup_median = s.wall_s / r.wall_s
      r.efficiency = r.speedup / math.min(r.workers, cpus)
      r.noise = A.beyond_limit(r, cpus) or nil
    end
  end
end

return A

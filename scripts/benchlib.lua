-- benchlib.lua — what every benchmark script shares: options, clocks,
-- mode checks, running workers as threads or processes, and the one JSON
-- line of results. Loaded by the scripts with dofile (path relative to
-- the script), so each benchmark still runs on its own:
--
--     build/gillua scripts/dead_loop.lua --mode=gil --workers=2 --iters=N
--
-- Worker functions given to run_threads / run_processes must be
-- self-contained (upvalues only of transferable values): with --gil=off
-- each thread is a fresh interpreter and the function travels by value.
--
-- Measurements (each taken around the work only, not start-up):
--   wall_s  time.perf_counter() (CLOCK_MONOTONIC); os.clock() when the
--           time module is missing (stock lua5.4, one thread: CPU ~ wall)
--   cpu_s   user+sys of this process (all threads) + its reaped children:
--           os.getrusage("self"/"children") when gillua has it, otherwise
--           /proc/self/stat (utime+stime+cutime+cstime, in clock ticks)
--   switches  gil.stats().switches after - before (GIL runs handed over)
--   others_cores  CPU used meanwhile by the rest of the machine (/proc/stat
--           busy time minus ours, per wall second): background load

local B = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/") or "."
B.json = dofile(here .. "/../bench/json.lua")

local has = {}
for _, m in ipairs({"time", "gil", "threading", "queue"}) do
  local ok, mod = pcall(require, m)
  if ok then has[m] = mod end
end
B.has = has

B.wall = has.time and has.time.perf_counter or os.clock

local CLK_TCK = 100   -- Linux USER_HZ: /proc times are in 1/100 s

local function rusage_seconds(r)
  if type(r) ~= "table" then return nil end
  local u = r.utime or r.ru_utime or r.user
  local s = r.stime or r.ru_stime or r.sys or r.system
  if type(u) == "number" and type(s) == "number" then return u + s end
  return nil
end

-- CPU seconds of this process and its reaped children, and the source used.
function B.cpu()
  if type(os.getrusage) == "function" then
    local ok1, me = pcall(os.getrusage, "self")
    local ok2, ch = pcall(os.getrusage, "children")
    local a = ok1 and rusage_seconds(me)
    local b = ok2 and rusage_seconds(ch)
    if a and b then return a + b, "getrusage" end
  end
  local f = io.open("/proc/self/stat", "r")
  if f then
    local line = f:read("l")
    f:close()
    local rest = line and line:match("%) (.*)$")
    if rest then
      local fields = {}
      for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
      -- after "(comm) ": state ppid pgrp session tty tpgid flags minflt
      -- cminflt majflt cmajflt utime stime cutime cstime
      local t = 0
      for i = 12, 15 do t = t + (tonumber(fields[i]) or 0) end
      return t / CLK_TCK, "proc"
    end
  end
  return os.clock(), "clock"
end

------------------------------------------------------------------ options

-- Parses --key=value options against 'defaults' (numbers stay numbers).
-- Unknown options and bad values stop the script with exit code 2.
-- B.extra_modes (a set) holds the modes a benchmark adds (io_bound:
-- coroutines, multi_process: mpi), set before the call.
function B.options(argv, name, defaults, usage)
  local o = {}
  for k, v in pairs(defaults) do o[k] = v end
  local function die(msg)
    io.stderr:write(name, ": ", msg, "\nusage: ", name, " ", usage, "\n")
    os.exit(2)
  end
  for i = 1, #argv do
    local k, v = argv[i]:match("^%-%-([%w_]+)=(.*)$")
    if not k then die("bad argument '" .. argv[i] .. "' (expected --name=value)") end
    if defaults[k] == nil then die("unknown option --" .. k) end
    if type(defaults[k]) == "number" then
      local n = math.tointeger(tonumber(v)) or tonumber(v)
      if not n or n < 0 then die("--" .. k .. " needs a number >= 0, got '" .. v .. "'") end
      o[k] = n
    else
      o[k] = v
    end
  end
  local modes = {gil = true, nogil = true, processes = true, sequential = true}
  local extras = {}                      -- set by a benchmark before this call (io_bound, multi_process)
  for m in pairs(B.extra_modes or {}) do modes[m] = true; extras[#extras + 1] = m end
  table.sort(extras)
  if o.mode and not modes[o.mode] then
    die("--mode must be gil, nogil, processes" .. (#extras > 0 and ", " .. table.concat(extras, ", ") or "") ..
        " or sequential, got '" .. o.mode .. "'")
  end
  if o.workers and (math.type(o.workers) ~= "integer" or o.workers < 1) then
    die("--workers must be an integer >= 1")
  end
  return o
end

------------------------------------------------------------------ modes

-- nil when 'mode' can run in this interpreter, else the reason it cannot.
function B.unavailable_reason(mode)
  if mode == "sequential" or mode == "coroutines" then return nil end
  if mode == "processes" then
    local ok, err = pcall(require, "multiprocessing")
    if not ok then return "multiprocessing module not available (" .. tostring(err):match("^[^\n]*") .. ")" end
    return nil
  end
  if mode == "mpi" then
    local ok, err = pcall(require, "mpi")
    if not ok then return "mpi module not available (" .. tostring(err):match("^[^\n]*") .. ")" end
    return nil
  end
  if not (has.threading and has.gil) then return "threading/gil modules not available in this interpreter" end
  if mode == "gil" and not has.gil.enabled() then return "started with --gil=off (mode gil needs --gil=on)" end
  if mode == "nogil" then
    if has.gil.enabled() then return "started with --gil=on (mode nogil needs --gil=off)" end
    local ok, err = pcall(function()
      local t = has.threading.Thread{target = function() end}
      t:start()
      t:join()
    end)
    if not ok then return "GIL-off threads: " .. tostring(err):match("^[^\n]*") end
  end
  return nil
end

-- Prints {"bench":..., "mode":..., "unavailable": reason} and exits 0 when
-- the mode cannot run here; returns otherwise.
function B.require_mode(bench, o)
  local why = B.unavailable_reason(o.mode)
  if why then
    print(B.json.encode({bench = bench, mode = o.mode, workers = o.workers,
                         impl = B.impl(), unavailable = why}))
    os.exit(0)
  end
end

function B.impl()
  if has.gil then return "gillua" end
  return (_VERSION:gsub("Lua ", "lua"))
end

function B.policy()
  if not has.gil or not has.gil.enabled() then return nil end
  local kind, n, share = has.gil.policy()
  if kind == "interval" or kind == "priority" then
    local s = string.format("%s:%s", kind, (math.tointeger(n) or n))
    if share and share ~= (has.gil.PRIORITY_SHARE or 5) then s = s .. ":" .. share end   -- not the default
    return s
  end
  return kind .. ":" .. tostring(n)
end

------------------------------------------------------------------ running

-- Starts one thread per entry of argsets (target f, args argsets[i]),
-- joins them all, raises the first thread error.
function B.run_threads(f, argsets)
  local threading = has.threading
  local ts = {}
  for i, args in ipairs(argsets) do
    ts[i] = threading.Thread{target = f, args = args, name = "worker-" .. i}
    ts[i]:start()
  end
  for i, t in ipairs(ts) do
    t:join()
    if t.error then error("worker " .. i .. " failed: " .. t.error, 0) end
  end
end

-- The same with multiprocessing.Process; a worker that does not exit 0
-- is an error.
function B.run_processes(f, argsets)
  local mp = require "multiprocessing"
  local ps = {}
  for i, args in ipairs(argsets) do
    ps[i] = mp.Process{target = f, args = args, name = "worker-" .. i}
    ps[i]:start()
  end
  for i, p in ipairs(ps) do
    p:join()
    if p.exitcode ~= 0 then
      error("worker process " .. i .. " exited with " .. tostring(p.exitcode), 0)
    end
  end
end

-- Busy CPU seconds of the whole machine (all programs), from /proc/stat:
-- user+nice+system+irq+softirq+steal jiffies. nil when unreadable.
function B.machine_busy()
  local f = io.open("/proc/stat", "r")
  if not f then return nil end
  local line = f:read("l")
  f:close()
  local v = {}
  for n in (line or ""):gmatch("%d+") do v[#v + 1] = tonumber(n) end
  if #v < 4 then return nil end
  local busy = v[1] + v[2] + v[3] + (v[6] or 0) + (v[7] or 0) + (v[8] or 0)
  return busy / CLK_TCK
end

-- The GIL's switch and release counters (0, 0 without a gil module).
local function switches()
  if not has.gil then return 0, 0 end
  local ok, s = pcall(has.gil.stats)
  if not (ok and type(s) == "table") then return 0, 0 end
  return s.switches or 0, s.releases or 0
end

-- Runs work() once and returns the measurements around it.
function B.measure(work)
  collectgarbage()
  local s0, r0 = switches()
  local c0, b0, w0 = B.cpu(), B.machine_busy(), B.wall()
  work()
  local w1 = B.wall()
  local c1, source = B.cpu()
  local b1 = B.machine_busy()
  local s1, r1 = switches()
  local wall = w1 - w0
  local cpu = c1 - c0
  -- others_cores: CPU the rest of the machine used meanwhile (background
  -- load that competes with the benchmark), in cores; 10 ms resolution
  local others = b0 and b1 and wall > 0 and math.max(0, (b1 - b0 - cpu) / wall) or nil
  return {wall_s = wall, cpu_s = cpu, cpu_source = source,
          cores_used = wall > 0 and cpu / wall or 0, switches = s1 - s0, releases = r1 - r0,
          others_cores = others}
end

-- Prints the one JSON line of a run: the options, the measurements, the
-- benchmark's own figures.
function B.emit(bench, o, m, extra)
  local r = {bench = bench, impl = B.impl(), mode = o.mode, workers = o.workers,
             switch = o.mode == "gil" and B.policy() or nil}
  for k, v in pairs(m) do r[k] = v end
  for k, v in pairs(extra or {}) do r[k] = v end
  if r.ops and r.wall_s and r.wall_s > 0 then r.ops_per_s = r.ops / r.wall_s end
  io.stdout:write(B.json.encode(r), "\n")
  io.stdout:flush()
end

-- Percentile (0..100) of a list of numbers (nearest rank).
function B.percentile(list, p)
  if #list == 0 then return nil end
  local s = {}
  for i, v in ipairs(list) do s[i] = v end
  table.sort(s)
  local k = math.max(1, math.min(#s, math.ceil(p / 100 * #s)))
  return s[k]
end

return B

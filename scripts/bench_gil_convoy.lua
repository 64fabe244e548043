-- bench_gil_convoy.lua — the convoy effect. An I/O-bound thread does round
-- trips (send a small message, wait for the echo) plus a little Lua work
-- per trip, first alone, then beside a CPU-bound thread. Each time the
-- I/O thread's wait ends it needs the GIL back from the CPU-bound thread:
-- under interval:MS a waiter asks for the GIL only after MS ms, so each
-- round trip can cost up to a whole interval (CPython's new GIL has this
-- problem); under bytecodes:N the holder drops within N bytecodes.
--
-- The echo runs in another process over a multiprocessing.Pipe when that
-- module exists (--channel=pipe: only the I/O thread needs this process's
-- GIL), or over a real TCP connection on 127.0.0.1 with LuaSocket
-- (--channel=tcp: the echo process serves one connection, TCP_NODELAY on
-- both ends; the I/O thread's receive waits in poll, which lets go of the
-- GIL through vm/interpose.c), otherwise in a thread over two
-- queue.Queues (--channel=queue).
-- Reports round trips per second alone and beside --cpu CPU-bound threads
-- (retention = beside / alone), and the CPU-bound threads' loop rate alone
-- and beside the I/O thread (cpu_retention): a policy that serves the I/O
-- thread first must not do it at the CPU-bound threads' expense.
--
-- --cpu_in=process runs the CPU-bound loops in processes instead: no GIL
-- stands between them and the I/O thread, so what the two still lose is
-- the machine's doing (2 cores shared by the loops, the I/O thread and the
-- echo process), the floor no GIL design can go below.
--
--   gillua --switch=priority:5 scripts/bench_gil_convoy.lua --seconds=0.5 --cpu=1

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")
local has_mp = pcall(require, "multiprocessing")
local o = B.options(arg, "bench_gil_convoy.lua",
                    {seconds = 0.5, work = 200, cpu = 1, channel = has_mp and "pipe" or "queue",
                     cpu_in = "thread"},
                    "--seconds=S --work=N --cpu=K --channel=pipe|tcp|queue --cpu_in=thread|process")
B.require_mode("gil_convoy", {mode = "gil", workers = 2})
if math.type(o.cpu) ~= "integer" or o.cpu < 1 or o.cpu > 64 then
  io.stderr:write("bench_gil_convoy.lua: --cpu must be an integer from 1 to 64\n")
  os.exit(2)
end
if o.cpu_in ~= "thread" and o.cpu_in ~= "process" then
  io.stderr:write("bench_gil_convoy.lua: --cpu_in must be thread or process\n")
  os.exit(2)
end
if o.cpu_in == "process" and not has_mp then
  B.require_mode("gil_convoy", {mode = "processes", workers = o.cpu + 1})
end
if o.channel ~= "pipe" and o.channel ~= "tcp" and o.channel ~= "queue" then
  io.stderr:write("bench_gil_convoy.lua: --channel must be pipe, tcp or queue\n")
  os.exit(2)
end
if o.channel == "tcp" and not pcall(require, "socket") then
  print(B.json.encode({bench = "gil_convoy", mode = "gil", workers = 2, impl = B.impl(), channel = "tcp",
                       unavailable = "LuaSocket (Debian's lua-socket) is not installed"}))
  os.exit(0)
end
if o.channel ~= "queue" and not has_mp then
  B.require_mode("gil_convoy", {mode = "processes", workers = 2})
end

local clock = B.wall
stop_cpu = false

-- The echo over TCP: a process serving one connection, a line per value.
local function open_tcp()
  local socket, mp = require "socket", require "multiprocessing"
  local mine, theirs = mp.Pipe()
  local child = mp.Process{target = function(conn)
    local socket = require "socket"
    local srv = assert(socket.bind("127.0.0.1", 0))
    conn:send((select(2, srv:getsockname())))
    local c = assert(srv:accept())
    srv:close()
    c:setoption("tcp-nodelay", true)
    while true do
      local line = c:receive("*l")
      if not line or line == "" then break end
      c:send(line .. "\n")
    end
    c:close()
  end, args = {theirs}, name = "echo"}
  child:start()
  local s = assert(socket.connect("127.0.0.1", mine:recv()))
  s:setoption("tcp-nodelay", true)
  return function(v) assert(s:send(v .. "\n")) end,
         function() return tonumber((assert(s:receive("*l")))) end,
         function() s:send("\n"); s:close(); child:join() end
end

-- Sets up the echo and returns send(v), recv(), close().
local function open_channel()
  if o.channel == "tcp" then return open_tcp() end
  if o.channel == "pipe" then
    local mp = require "multiprocessing"
    local mine, theirs = mp.Pipe()
    local child = mp.Process{target = function(conn)
      while true do
        local v = conn:recv()
        if v == false then return end
        conn:send(v)
      end
    end, args = {theirs}, name = "echo"}
    child:start()
    return function(v) mine:send(v) end, function() return mine:recv() end,
           function() mine:send(false); child:join() end
  end
  local queue = B.has.queue
  local to, from = queue.Queue(), queue.Queue()
  local echo = B.has.threading.Thread{target = function()
    while true do
      local v = to:get()
      if v == false then return end
      from:put(v)
    end
  end, name = "echo"}
  echo:start()
  return function(v) to:put(v) end, function() return from:get() end,
         function() to:put(false); echo:join() end
end

local function io_thread(seconds, work, out)
  local send, recv, close = open_channel()
  local n, x = 0, 0
  local t0 = clock()
  local t_end = t0 + seconds
  while clock() < t_end do
    send(n)
    x = x + recv()
    for _ = 1, work do x = x * 1.0 end
    n = n + 1
  end
  out.trips_per_s = n / (clock() - t0)
  out.trips = n
  close()
end

local function cpu_thread(out)
  local n = 0
  local t0 = clock()
  while not stop_cpu do
    for _ = 1, 1000 do n = n + 1 end
  end
  out.loops_per_s = n / (clock() - t0)
end

local threading = B.has.threading

-- K CPU-bound processes (--cpu_in=process): each loops until 'stop' is set
-- and puts its loop rate on 'rates'.
local function start_cpu_processes()
  local mp = require "multiprocessing"
  local stop, rates, ps = mp.Event(), mp.Queue(), {}
  for i = 1, o.cpu do
    ps[i] = mp.Process{target = function(ev, q)
      local n, t0 = 0, clock()
      while not ev:is_set() do
        for _ = 1, 1000 do n = n + 1 end
      end
      q:put(n / (clock() - t0))
    end, args = {stop, rates}, name = "cpu-" .. i}
    ps[i]:start()
  end
  return function()   -- stops them; returns the summed rate
    stop:set()
    local sum = 0
    for i = 1, o.cpu do sum = sum + rates:get(true, 30) end
    for i = 1, o.cpu do ps[i]:join() end
    return sum
  end
end

-- K CPU-bound threads: returns the function that stops them and returns
-- their summed loop rate.
local function start_cpu_threads()
  stop_cpu = false
  local outs, cs = {}, {}
  for i = 1, o.cpu do
    outs[i] = {}
    cs[i] = threading.Thread{target = cpu_thread, args = {outs[i]}, name = "cpu-" .. i}
    cs[i]:start()
  end
  return function()
    stop_cpu = true
    local sum = 0
    for i = 1, o.cpu do
      cs[i]:join()
      if cs[i].error then error(cs[i].error, 0) end
      sum = sum + outs[i].loops_per_s
    end
    return sum
  end
end

-- K CPU-bound threads (or processes), beside 'io' (a function run in a
-- thread) or alone for o.seconds; returns their summed loop rate.
local function run_cpu(io)
  local stop = o.cpu_in == "process" and start_cpu_processes() or start_cpu_threads()
  if io then
    local t = threading.Thread{target = io, name = "io"}
    t:start(); t:join()
    if t.error then stop(); error(t.error, 0) end
  else
    B.has.time.sleep(o.seconds)
  end
  return stop()
end

local alone, beside = {}, {}
local m0 = B.measure(function()
  local t = threading.Thread{target = io_thread, args = {o.seconds, o.work, alone}}
  t:start(); t:join()
end)
local cpu_alone = run_cpu(nil)
local cpu_beside
local function urgent()   -- priority's counters (gil.stats), 0 elsewhere
  local s = B.has.gil and B.has.gil.stats() or {}
  return s.urgent_grants or 0, s.urgent_cost_s or 0
end
local g0, c0 = urgent()
local m = B.measure(function()
  cpu_beside = run_cpu(function() io_thread(o.seconds, o.work, beside) end)
end)
local g1, c1 = urgent()

B.emit("gil_convoy", {mode = "gil", workers = o.cpu + 1}, m, {
  channel = o.channel, work = o.work, cpu_threads = o.cpu, cpu_in = o.cpu_in,
  alone_trips_per_s = alone.trips_per_s, beside_trips_per_s = beside.trips_per_s,
  slowdown = alone.trips_per_s / beside.trips_per_s,
  retention = beside.trips_per_s / alone.trips_per_s,
  cpu_alone_loops_per_s = cpu_alone, cpu_loops_per_s = cpu_beside,
  cpu_retention = cpu_beside / cpu_alone, alone_wall_s = m0.wall_s,
  beside_trips = beside.trips,
  urgent_grants = g1 - g0, urgent_cost_share = m.wall_s > 0 and (c1 - c0) / m.wall_s or 0,
})

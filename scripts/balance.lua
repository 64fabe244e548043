-- balance.lua — the seed's bank balance: every worker does
--     balance = balance + n ; balance = balance - n
-- K times on one shared balance, without (--lock=0) or with (--lock=1) a
-- lock, and the script counts the updates that were lost.
--
--   gillua --switch=bytecodes:3 scripts/balance.lua --mode=gil --workers=2 --iters=K --lock=0
--
-- Where the balance lives: mode gil and sequential: a global (as in the
-- seed); modes nogil and processes: a multiprocessing.Value('l') in shared
-- memory (globals are per interpreter with the GIL off, and per process),
-- locked with the Value's own lock (:get_lock()) when --lock=1.
--
-- Counting lost updates exactly. Each update is still one read-add-write
-- of the balance, but the amounts carry a tally in their low bits:
--     deposit  adds  n*2^32 + 1        withdrawal subtracts  n*2^32 - 1
-- so every update that lands adds exactly 1 to the low 32 bits whatever
-- its sign. A lost update is one whose write was overwritten before any
-- later update read it: its delta is then missing from the final value,
-- which is the sum of the deltas of the updates that landed (each landed
-- write read the value of the previous landed write). Hence
--     landed       = final mod 2^32
--     lost_updates = 2*K*workers - landed          (exact, >= 0)
--     final_balance = final div 2^32  (the seed's printed balance: the sum
--                     of the money of the lost updates, negated; 0 when none)
-- Worker i uses n = 5 + 3*(i-1) (the seed's 5 and 8 for two workers).

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")

local o = B.options(arg, "balance.lua", {mode = "gil", workers = 2, iters = 100000, lock = 0},
                    "--mode=gil|nogil|processes|sequential --workers=W --iters=K --lock=0|1")
if o.lock ~= 0 and o.lock ~= 1 then
  io.stderr:write("balance.lua: --lock must be 0 or 1\n")
  os.exit(2)
end
B.require_mode("balance", o)

local SCALE = 1 << 32
local function amount(i) return 5 + 3 * (i - 1) end

-- All workers start together, so they really run side by side (a thread
-- the OS schedules late would otherwise find the first one done). Mode
-- gil: a start line in Lua: each worker marks its slot, then spins until
-- every slot is marked. Spinning Lua is switched by the GIL like any
-- code, so once a worker leaves the line all of them are runnable
-- contenders for the GIL. (A Barrier is not enough under the GIL: the
-- thread that trips it runs on while the others are still being woken.)
-- Modes nogil and processes: a threading / multiprocessing Barrier.
local function start_line(start, i)
  if not start then return end
  if start.wait then start:wait(); return end
  start[i] = true
  for j = 1, start.n do
    while not start[j] do end
  end
end

-- Workers on the global balance (modes gil and sequential).
local function run_global(n, k, scale, _, start, i)
  local up, down = n * scale + 1, n * scale - 1
  start_line(start, i)
  for _ = 1, k do
    balance = balance + up
    balance = balance - down
  end
end

local function run_global_locked(n, k, scale, lock, start, i)
  local up, down = n * scale + 1, n * scale - 1
  start_line(start, i)
  for _ = 1, k do
    lock:acquire()
    balance = balance + up
    balance = balance - down
    lock:release()
  end
end

-- Workers on a shared Value (modes nogil and processes).
local function run_value(n, k, scale, v, start)
  local up, down = n * scale + 1, n * scale - 1
  if start then start:wait() end   -- a Barrier (no upvalue: this travels)
  for _ = 1, k do
    v.value = v.value + up
    v.value = v.value - down
  end
end

local function run_value_locked(n, k, scale, v, start)
  local up, down = n * scale + 1, n * scale - 1
  local lock = v:get_lock()
  if start then start:wait() end
  for _ = 1, k do
    lock:acquire()
    v.value = v.value + up
    v.value = v.value - down
    lock:release()
  end
end

local final
local m
if o.mode == "gil" or o.mode == "sequential" then
  balance = 0
  local lock = o.lock == 1 and (B.has.threading and B.has.threading.Lock())
  if o.lock == 1 and not lock then
    B.require_mode("balance", {mode = "gil", workers = o.workers})   -- reports why
  end
  local f = lock and run_global_locked or run_global
  local start = o.mode == "gil" and {n = o.workers} or false
  local argsets = {}
  for i = 1, o.workers do argsets[i] = {amount(i), o.iters, SCALE, lock or false, start, i} end
  m = B.measure(function()
    if o.mode == "sequential" then
      for i = 1, o.workers do f(table.unpack(argsets[i], 1, 6)) end
    else
      B.run_threads(f, argsets)
    end
  end)
  final = balance
else
  local mp = require "multiprocessing"
  local v = mp.Value("l", 0)
  local f = o.lock == 1 and run_value_locked or run_value
  -- processes start together too: a process-shared barrier when there is one
  local start = o.mode == "nogil" and B.has.threading.Barrier(o.workers)
                or (o.mode == "processes" and mp.Barrier and mp.Barrier(o.workers)) or false
  local argsets = {}
  for i = 1, o.workers do argsets[i] = {amount(i), o.iters, SCALE, v, start} end
  m = B.measure(function()
    if o.mode == "processes" then B.run_processes(f, argsets)
    else B.run_threads(f, argsets) end
  end)
  final = v.value
end

local total = 2 * o.iters * o.workers
local landed = final % SCALE
B.emit("balance", o, m, {
  ops = total, iters = o.iters, lock = o.lock == 1,
  lost_updates = total - landed,
  final_balance = final // SCALE,
})

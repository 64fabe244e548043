-- balance_shared.lua — the balance example for --gil=off (and processes).
--
-- With the GIL off every thread runs in its own interpreter: a global
-- `balance` would be a different variable in each thread (the main
-- program's stays 0 and proves nothing). The shared state must be a
-- runtime object, here a multiprocessing.Value in shared memory, passed to
-- the threads. Reads and writes of .value are each atomic, but
-- `v.value = v.value + n` is a read followed by a write, so without the
-- lock the threads (now truly parallel) lose updates as with the GIL; with
-- the lock the balance ends at exactly 0.
--
--   gillua --gil=off scripts/examples/balance_shared.lua nolock|lock [iterations]
--
-- Prints the final balance: 0 with the lock; without it, usually not 0
-- (on two cores the threads really run at once).
local threading = require "threading"
local multiprocessing = require "multiprocessing"

local mode = arg and arg[1] or "nolock"
local iterations = tonumber(arg and arg[2]) or 100000
assert(mode == "lock" or mode == "nolock", "usage: balance_shared.lua nolock|lock [iterations]")

local balance = multiprocessing.Value("i", 0, false)   -- no built-in lock
local lock = threading.Lock()
local use_lock = mode == "lock"

local function run_thread(balance, lock, use_lock, n, iterations)
  for _ = 1, iterations do
    if use_lock then lock:acquire() end
    balance.value = balance.value + n
    balance.value = balance.value - n
    if use_lock then lock:release() end
  end
end

local t1 = threading.Thread{target = run_thread, args = {balance, lock, use_lock, 5, iterations}}
local t2 = threading.Thread{target = run_thread, args = {balance, lock, use_lock, 8, iterations}}
t1:start()
t2:start()
t1:join()
t2:join()
print(balance.value)

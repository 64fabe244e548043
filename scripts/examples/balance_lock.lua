-- balance_lock.lua — the same balance updates as balance_nolock.lua, each
-- inside lock:acquire() / lock:release() (seed notes 000 and 001): the
-- final balance is always 0, whatever the switch interval. pcall plays the
-- part of Python's try/finally so the lock is released even on an error.
--
--   gillua --switch=bytecodes:3 scripts/examples/balance_lock.lua [iterations]
--
-- GIL off: see balance_shared.lua (globals are per interpreter there).
local threading = require "threading"

local iterations = tonumber(arg and arg[1]) or 100000

-- suppose this is your bank balance
balance = 0
local lock = threading.Lock()

local function change_it(n)
  balance = balance + n
  balance = balance - n
end

local function run_thread(n)
  for _ = 1, iterations do
    -- take the lock first
    lock:acquire()
    -- change it safely
    local ok, err = pcall(change_it, n)
    -- always release the lock when done
    lock:release()
    if not ok then error(err, 0) end
  end
end

local t1 = threading.Thread{target = run_thread, args = {5}}
local t2 = threading.Thread{target = run_thread, args = {8}}
t1:start()
t2:start()
t1:join()
t2:join()
print(balance)

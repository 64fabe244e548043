-- balance_nolock.lua — two threads update one global balance without a
-- lock (seed notes 001 "Lock"). Each does balance = balance + n followed by
-- balance = balance - n, so the result "should" be 0; but a GIL switch
-- between reading balance and writing it back loses the other thread's
-- update, and the final balance is usually not 0 when switches are
-- frequent:
--
--   gillua --switch=bytecodes:3 scripts/examples/balance_nolock.lua [iterations]
--
-- With the GIL off this program cannot work as written: each thread runs
-- in its own interpreter and has its own `balance` global (nil there), so
-- see balance_shared.lua for the GIL-off version on a shared Value.
local threading = require "threading"

local iterations = tonumber(arg and arg[1]) or 100000

-- suppose this is your bank balance
balance = 0

local function change_it(n)
  -- deposit then withdraw: the result should be 0
  balance = balance + n
  balance = balance - n
end

local function run_thread(n)
  for _ = 1, iterations do
    change_it(n)
  end
end

local t1 = threading.Thread{target = run_thread, args = {5}}
local t2 = threading.Thread{target = run_thread, args = {8}}
t1:start()
t2:start()
t1:join()
t2:join()
print(balance)

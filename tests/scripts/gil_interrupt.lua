-- timeout: 60
-- Ctrl-C (SIGINT) interrupts the main thread wherever it waits, within
-- 100 ms, and gillua exits 130 without waiting for stuck threads. Each case
-- runs a child gillua, waits until it is blocked (it prints READY), sends
-- SIGINT and checks the exit code (tests/lib/interrupt.lua). One child at
-- a time: two of them spin.
local I = dofile("tests/lib/interrupt.lua")
local results = I.run{cases = {
  sleep = [[ready(); require"time".sleep(60)]],
  join = [[local th=require"threading"; local l=th.Lock(); l:acquire()
           local t=th.Thread{target=function() l:acquire() end}; t:start(); ready(); t:join()]],
  lock = [[local l=require"threading".Lock(); l:acquire(); ready(); l:acquire()]],
  queue = [[ready(); require"queue".Queue():get()]],
  event = [[ready(); require"threading".Event():wait()]],
  spin = [[ready(); while true do end]],
  gil_wait = [[local th=require"threading"; local t=th.Thread{target=function() while true do end end}
               t:start(); ready(); while true do end]],
}}
local failures = {}
for _, r in ipairs(results) do
  if not I.interrupted(r) or not r.err:find("interrupted", 1, true) then failures[#failures + 1] = I.describe(r) end
end
assert(#failures == 0, table.concat(failures, "\n"))
print("gil_interrupt ok; " .. I.latency(results))

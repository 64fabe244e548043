-- Ctrl-C (SIGINT) interrupts the main thread blocked in a Lock acquire,
-- RLock acquire, Condition wait, Semaphore acquire, Event wait, Barrier
-- wait, queue get, queue put and queue join: the program exits 130 well
-- before the 30 s timeouts. Each case runs a child gillua.
-- run: --gil=on
-- timeout: 60
local time = require "time"

local cases = {
  lock = "local l = threading.Lock(); l:acquire(); l:acquire(true, 30)",
  rlock = "local l = threading.RLock(); local t = threading.Thread{target=function() l:acquire(); ev:set(); threading.Event():wait(60) end, daemon=true}; t:start(); ev:wait(); l:acquire(true, 30)",
  condition = "local c = threading.Condition(); c:acquire(); c:wait(30)",
  semaphore = "threading.Semaphore(0):acquire(true, 30)",
  event = "threading.Event():wait(30)",
  barrier = "threading.Barrier(2):wait(30)",
  get = "queue.Queue():get(true, 30)",
  put = "local q = queue.Queue(1); q:put(1); q:put(2, true, 30)",
  join = "local q = queue.Queue(); q:put(1); q:join(30)",
}

-- All cases run at once (each blocked child uses no CPU): tests/lib/interrupt.lua
-- starts every child, waits for its READY, sends SIGINT, reports its status.
local I = dofile("tests/lib/interrupt.lua")
local t0 = time.monotonic()
local results = I.run{cases = cases, parallel = true,
  prelude = "local threading = require 'threading'; local queue = require 'queue'; local ev = threading.Event()\nready()"}
local dt = time.monotonic() - t0
for _, r in ipairs(results) do assert(I.interrupted(r), I.describe(r)) end
assert(dt < 20, "took " .. dt)
print("ok")

-- One rule for every timeout (docs/threading.md, "Timeouts"), as Python:
-- a negative timeout (or NaN) tries once where Python's function treats
-- it as 0, and is an error where Python raises (Lock.acquire: except -1,
-- "forever"; queue's put/get/join; Thread.join, as the docs say); a
-- timeout that is not a number or nil is an error everywhere. Every
-- timeout-taking function is called on an object that is not ready, so a
-- function that waited forever on -1 would hang here (bounded by the run's
-- timeout).
-- run: --gil=on
-- run: --gil=off
-- timeout: 20
local threading = require "threading"
local queue = require "queue"
local mp = require "multiprocessing"
local sp = require "subprocess"
local fails = dofile("tests/lib/expect.lua").error

local NEGATIVE = "timeout value must be a non%-negative number"
local NOT_NUMBER = "timeout must be a number or nil"
local NAN = 0 / 0

-- f(timeout) for each bad kind of timeout: a string is always an error;
-- -1 (unless 'forever'), -2, -0.5 and NaN give what 'negative' says: a
-- function that checks the result of one try, or NEGATIVE (an error).
local function check(name, f, negative, forever)
  fails(NOT_NUMBER, f, "1")
  fails(NOT_NUMBER, f, {})
  for _, t in ipairs{-2, -0.5, NAN, not forever and -1 or nil} do
    if negative == NEGATIVE then
      fails(NEGATIVE, f, t)
    else
      local ok, r = pcall(f, t)
      assert(negative(ok, r), name .. "(" .. tostring(t) .. "): " .. tostring(r))
    end
  end
end

local function returns(v) return function(ok, r) return ok and r == v end end
local function raises(pat) return function(ok, r) return not ok and tostring(r):find(pat) end end

-- threading ---------------------------------------------------------------
-- Lock.acquire's -1 is Python's default, "forever": taken when free
local held = threading.Lock()
held:acquire()
check("Lock.acquire", function(t) return held:acquire(true, t) end, NEGATIVE, true)
assert(threading.Lock():acquire(true, -1) == true, "-1: forever, free lock taken")
local rl = threading.RLock()
check("RLock.acquire", function(t) return rl:acquire(true, t) end, NEGATIVE, true)
assert(rl:acquire(true, -1) == true)
local cond = threading.Condition()
check("Condition.acquire", function(t) return cond:acquire(true, t) end, NEGATIVE, true)
cond:acquire()
check("Condition.wait", function(t) return cond:wait(t) end, returns(false))
check("Condition.wait_for", function(t)
  return cond:wait_for(function() return false end, t)
end, returns(false))
cond:release()

local sem = threading.Semaphore(0)
check("Semaphore.acquire", function(t) return sem:acquire(true, t) end, returns(false))
local bsem = threading.BoundedSemaphore(1)
bsem:acquire()
check("BoundedSemaphore.acquire", function(t) return bsem:acquire(true, t) end, returns(false))
check("Event.wait", function(t) return threading.Event():wait(t) end, returns(false))
check("Barrier.wait", function(t) return threading.Barrier(2):wait(t) end,
      raises("BrokenBarrierError"))

local go = threading.Event()
local th = threading.Thread{target = function(go) go:wait() end, args = {go}}
th:start()
check("Thread.join", function(t) return th:join(t) end, NEGATIVE)
go:set()
assert(th:join(10))

-- queue -------------------------------------------------------------------
for _, kind in ipairs{"Queue", "LifoQueue", "PriorityQueue"} do
  local empty, full = queue[kind](), queue[kind](1)
  full:put(1)
  check(kind .. ".get", function(t) return empty:get(true, t) end, NEGATIVE)
  check(kind .. ".put", function(t) return full:put(2, true, t) end, NEGATIVE)
  check(kind .. ".join", function(t) return full:join(t) end, NEGATIVE)
end
check("SimpleQueue.get", function(t) return queue.SimpleQueue():get(true, t) end, NEGATIVE)

-- multiprocessing -----------------------------------------------------------
local ml = mp.Lock()
ml:acquire()
check("mp.Lock.acquire", function(t) return ml:acquire(true, t) end, returns(false))
ml:release()
local msem = mp.Semaphore(0)
check("mp.Semaphore.acquire", function(t) return msem:acquire(true, t) end, returns(false))
check("mp.BoundedSemaphore.acquire", function(t)
  local b = mp.BoundedSemaphore(1); b:acquire(); return b:acquire(true, t)
end, returns(false))
check("mp.Event.wait", function(t) return mp.Event():wait(t) end, returns(false))
local mc = mp.Condition()
mc:acquire()
check("mp.Condition.wait", function(t) return mc:wait(t) end, returns(false))
check("mp.Condition.wait_for", function(t)
  return mc:wait_for(function() return false end, t)
end, returns(false))
mc:release()
check("mp.Barrier.wait", function(t) return mp.Barrier(2):wait(t) end, raises("BrokenBarrierError"))

local mq, jq = mp.Queue(), mp.JoinableQueue()
check("mp.Queue.get", function(t) return mq:get(true, t) end, raises("Empty"))
local fullq = mp.Queue(1)
fullq:put(1)
check("mp.Queue.put", function(t) return fullq:put(2, true, t) end, raises("Full"))
jq:put(1)
check("mp.JoinableQueue.join", function(t) return jq:join(t) end, returns(false))
local a = mp.Pipe()
check("Pipe.poll", function(t) return a:poll(t) end, returns(false))

local release = mp.Event()
local p = mp.Process{target = function(ev) ev:wait(20) end, args = {release}}
p:start()
check("Process.join", function(t) return p:join(t) end, returns(false))

local pool = mp.Pool(1)
local r = pool:apply_async(function(ev) ev:wait(20); return 7 end, {release})
check("AsyncResult.wait", function(t) return r:wait(t) end, returns(false))
check("AsyncResult.get", function(t) return r:get(t) end, raises("TimeoutError"))
release:set()
assert(p:join(10) and r:get(10) == 7)
pool:terminate()

-- subprocess ----------------------------------------------------------------
local child = sp.Popen{args = {"sleep", "20"}}
check("Popen.wait", function(t) return child:wait(t) end, raises("TimeoutExpired"))
child:kill()
child:wait()
check("Popen.communicate", function(t)
  return sp.Popen{args = {"sleep", "20"}}:communicate(nil, t)
end, raises("TimeoutExpired"))
check("run", function(t) return sp.run{args = {"sleep", "20"}, timeout = t} end,
      raises("TimeoutExpired"))

-- time.sleep: Python raises
fails("sleep length must be non%-negative", require("time").sleep, -1)
print("timeouts ok")

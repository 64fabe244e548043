-- run: --gil=off
-- With the GIL off every thread is its own interpreter: globals are not
-- shared, upvalues travel by value, what cannot travel is refused at
-- start() with the path to it, and runtime objects are shared.
local threading = require "threading"
local queue = require "queue"
local gil = require "gil"
assert(gil.enabled() == false)

-- globals are per interpreter
shared_global = "main"
local q = queue.Queue()
local t = threading.Thread{target = function(q)
  q:put(tostring(shared_global))   -- the thread's own (empty) globals
  shared_global = "thread"
  q:put(type(string.format) == "function" and type(require("threading").Lock) == "function")
end, args = {q}}
t:start(); assert(t:join(10))
assert(q:get() == "nil", "a GIL-off thread must not see the main program's globals")
assert(q:get() == true, "standard and runtime libraries are open in the thread")
assert(shared_global == "main")

-- upvalues are copied: the thread changes its copy, not ours
local counter = 10
local tbl = {x = 1, nested = {y = 2}}
tbl.self = tbl                                 -- cycles survive the trip
local t2 = threading.Thread{target = function(q)
  counter = counter + 1
  tbl.x = 99
  q:put({counter = counter, x = tbl.x, y = tbl.nested.y, cyclic = tbl.self == tbl})
end, args = {q}}
t2:start(); assert(t2:join(10))
local seen = q:get()
assert(seen.counter == 11 and seen.x == 99 and seen.y == 2 and seen.cyclic == true)
assert(counter == 10 and tbl.x == 1, "the main program's upvalues must be untouched")

-- what cannot travel is refused by start(), naming where it sits
local co = coroutine.create(function() end)
local bad = threading.Thread{target = function() return co end}
local ok, err = pcall(bad.start, bad)
assert(not ok and err:match("cannot transfer coroutine at upvalue 'co' of target"), err)
assert(not bad:is_alive())
local bad2 = threading.Thread{target = print, args = {1, {inner = co}}}
ok, err = pcall(bad2.start, bad2)
assert(not ok and err:match("cannot transfer coroutine at args%[2%]%.inner"), err)
local tmpf = io.tmpfile()   -- (io.stdout itself travels by name, as the standard streams)
local bad3 = threading.Thread{target = function() end, args = {tmpf}}
ok, err = pcall(bad3.start, bad3)
assert(not ok and err:match("cannot transfer userdata at args%[1%]"), err)

-- runtime objects are shared, not copied: a Lock taken here blocks there
local lock = threading.Lock()
local ev = threading.Event()
lock:acquire()
local t3 = threading.Thread{target = function(lock, ev, q)
  q:put(lock:acquire(false))      -- held by main: must fail
  ev:set()
  q:put(lock:acquire(true, 10))   -- main releases after the event
  lock:release()
end, args = {lock, ev, q}}
t3:start()
assert(ev:wait(10))
assert(q:get() == false)
lock:release()
assert(q:get() == true)
assert(t3:join(10))

-- queue items are copied by value with the GIL off
local item = {n = 1}
q:put(item)
local back = q:get()
assert(back ~= item and back.n == 1)

-- an error in the thread is reported and kept
local t4 = threading.Thread{target = function() error("nogil boom") end}
t4:start(); t4:join()
assert(t4.error:match("nogil boom"))

-- current_thread in the thread is the same thread as seen from main
local t5 = threading.Thread{name = "Named", target = function(q)
  local me = require("threading").current_thread()
  q:put(me.name); q:put(me.ident)
end, args = {q}}
t5:start(); t5:join()
assert(q:get() == "Named" and q:get() == t5.ident)
-- a shared counter (a multiprocessing Value, lock=false) incremented
-- under one threading.Lock by 4 threads running in parallel is exact;
-- without the lock the same increments race (not asserted: a race may
-- happen not to show in a given run)
local mp = require "multiprocessing"
local counter = mp.Value("q", 0, false)
local guard = threading.Lock()
local start = threading.Barrier(4)
local workers = {}
for k = 1, 4 do
  workers[k] = threading.Thread{target = function(counter, guard, start, n)
    start:wait()
    for _ = 1, n do
      guard:acquire()
      counter.value = counter.value + 1
      guard:release()
    end
  end, args = {counter, guard, start, 20000}}
  workers[k]:start()
end
for k = 1, 4 do assert(workers[k]:join(60)); assert(workers[k].error == nil, workers[k].error) end
assert(counter.value == 80000, counter.value)
print("nogil_isolation ok")

-- Process-shared Lock, RLock, Semaphore, BoundedSemaphore, Event,
-- Condition, Barrier; a Lock whose holder process died is recovered by
-- the next acquirer, who is told.
-- run: --gil=on
-- run: --gil=off
local mp = require "multiprocessing"

local l = mp.Lock()
assert(l:acquire() == true and l:locked())
assert(l:acquire(false) == false)
assert(l:acquire(true, 0.05) == false)
local ok, e = pcall(l.acquire, l)
assert(not ok and e:find("deadlock"), e)
l:release()
ok, e = pcall(l.release, l)
assert(not ok and e:find("un%-acquired"), e)

-- mutual exclusion across processes
local inside = mp.Value("i", 0, false)
local bad = mp.Value("i", 0, false)
local procs = {}
for k = 1, 3 do
  procs[k] = mp.Process{target = function()
    for _ = 1, 300 do
      l:acquire()
      inside.value = inside.value + 1
      if inside.value ~= 1 then bad.value = 1 end
      inside.value = inside.value - 1
      l:release()
    end
  end}
  procs[k]:start()
end
for k = 1, 3 do procs[k]:join() end
assert(bad.value == 0)

-- robust: the holder dies with the lock held
local held = mp.Event()
local p = mp.Process{target = function() l:acquire(); held:set(); os._exit(3) end}
p:start()
assert(held:wait(5))
p:join()
local got, note = l:acquire(true, 5)
assert(got == true and note == "owner died", tostring(note))
l:release()

-- RLock
local r = mp.RLock()
assert(r:acquire() and r:acquire())
r:release(); r:release()
ok, e = pcall(r.release, r)
assert(not ok)
p = mp.Process{target = function() r:acquire(); held:clear(); os._exit(0) end}
r:acquire()
p:start()
local ok2 = p:join(0.2)
assert(ok2 == false, "the child waits for the parent's RLock")
r:release()
assert(p:join(5))

-- Semaphore / BoundedSemaphore
local sem = mp.Semaphore(2)
assert(sem:acquire() and sem:acquire(false) and not sem:acquire(false))
assert(sem:acquire(true, 0.05) == false)
p = mp.Process{target = function() sem:release() end}
p:start()
assert(sem:acquire(true, 5))
p:join()
assert(sem:get_value() == 0)
local bs = mp.BoundedSemaphore(1)
ok, e = pcall(bs.release, bs)
assert(not ok and e:find("too many"), e)

-- Event across processes
local ev = mp.Event()
assert(not ev:is_set() and ev:wait(0.05) == false)
p = mp.Process{target = function() ev:set() end}
p:start()
assert(ev:wait(5))
p:join()
ev:clear()
assert(not ev:is_set())

-- Condition: a child waits for a value set by the parent
local cond = mp.Condition()
local box = mp.Value("i", 0)
local ready = mp.Event()
p = mp.Process{target = function()
  cond:acquire()
  ready:set()
  local v = cond:wait_for(function() return box.value == 42 end, 5)
  cond:release()
  os._exit(v and 0 or 1)
end}
p:start()
assert(ready:wait(5))
cond:acquire()
box.value = 42
cond:notify_all()
cond:release()
p:join()
assert(p.exitcode == 0)
ok, e = pcall(cond.notify, cond)
assert(not ok and e:find("un%-acquired"), e)
assert(cond:acquire())
assert(cond:wait(0.05) == false)
cond:release()

-- Barrier of 3: two children and the parent
local bar = mp.Barrier(3)
local idx = mp.Array("i", 2)
local kids = {}
for k = 1, 2 do
  kids[k] = mp.Process{target = function() idx[k] = bar:wait(5) end}
  kids[k]:start()
end
local mine = bar:wait(5)
for k = 1, 2 do kids[k]:join() end
local seen = {[mine] = true}
seen[idx[1]] = true
seen[idx[2]] = true
assert(seen[0] and seen[1] and seen[2], "indices 0..2")
assert(bar.parties == 3 and bar.n_waiting == 0)
local b2 = mp.Barrier(2)
ok, e = pcall(b2.wait, b2, 0.05)
assert(not ok and e:find("BrokenBarrierError"), e)
assert(b2.broken)
print("ok")

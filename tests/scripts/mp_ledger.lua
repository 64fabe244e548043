-- run: --gil=on
-- run: --gil=off
-- timeout: 60
-- What a child killed with SIGKILL owned in the shared-memory arena comes
-- back when its parent reaps it (runtime/mp_ledger.c): the references it
-- inherited, objects it made and dropped by the thousand (its ledger is
-- compacted many times) and the ones it still held; whichever way it is
-- reaped (Process.join, os.waitpid). A child that ends normally gives
-- everything back itself, and nothing is released twice.
local mp = require "multiprocessing"
local time = require "time"

local base = mp.arena_stats()
local function used() collectgarbage() collectgarbage() return mp.arena_stats().used end

-- 1. many objects made and dropped, 300 kept, then SIGKILL (Process.join)
local inherited = mp.Value("i", 7)
local ready = mp.Event()
local p = mp.Process{target = function()
  local keep = {}
  for i = 1, 6000 do
    local v = mp.Value("d", i)
    if i % 20 == 0 then keep[#keep + 1] = v end
    if i % 500 == 0 then collectgarbage() end
  end
  keep[#keep + 1] = mp.Array("b", 100000)
  ready:set()
  while true do time.sleep(1) end
end}
p:start()
assert(ready:wait(30), "the child did not get ready")
p:kill()
p:join(10)
assert(p.exitcode == -9)
assert(inherited.value == 7)                 -- ours is intact
p, ready, inherited = nil, nil, nil
assert(used() == base.used, ("%d bytes not given back"):format(used() - base.used))

-- 2. a child from os.fork, reaped by os.waitpid
local q = mp.Queue()
q:put(string.rep("q", 50000))
local pid = os.fork()
if pid == 0 then
  local mine = mp.Queue()
  mine:put("held")
  q:put(mine)                                -- a queue inside a message
  while true do time.sleep(1) end
end
local got = q:get(true, 0.05)                -- the big item, ours
assert(#got == 50000)
local inner = q:get(true, 10)
assert(inner:get(true, 10) == "held")
inner = nil
os.kill(pid, "KILL")
assert(os.waitpid(pid) == pid)
q = nil
assert(used() == base.used, ("%d bytes not given back after os.waitpid"):format(used() - base.used))

-- 3. children that end normally: nothing released twice, all back
local v = mp.Value("i", 0)
local lock = mp.Lock()
local procs = {}
for k = 1, 4 do
  procs[k] = mp.Process{target = function()
    for _ = 1, 100 do
      lock:acquire()
      v.value = v.value + 1
      lock:release()
    end
  end}
  procs[k]:start()
end
for k = 1, 4 do procs[k]:join(20); assert(procs[k].exitcode == 0) end
assert(v.value == 400)
v, lock, procs = nil, nil, nil
assert(used() == base.used)
print("ok")

-- No zombies, no servers left behind: a Manager collected without
-- shutdown() stops its server (once no proxy on its objects is left), a
-- Pool collected without join/terminate stops its workers, and start()
-- reaps the children that have ended (as Python's does).
-- run: --gil=on
-- run: --gil=off
-- timeout: 40
local mp = require "multiprocessing"
local time = require "time"

-- "R", "S", "Z"... for a live process or a zombie; nil once it is gone
local function state(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s:match("%) (%a)")
end

-- waits (bounded) until cond() holds, giving the reaper a chance
local function eventually(cond, what)
  local deadline = time.monotonic() + 15
  while not cond() do
    assert(time.monotonic() < deadline, what)
    mp.active_children()           -- reaps what has ended
    time.sleep(0.02)
  end
end

-- 1. dropped Managers: their servers leave and are reaped
local servers = {}
for i = 1, 5 do servers[i] = mp.Manager().pid end
collectgarbage(); collectgarbage()
eventually(function()
  for _, pid in ipairs(servers) do if state(pid) then return false end end
  return true
end, "the servers of dropped Managers are still there")

-- 2. a dropped Manager keeps serving while a proxy on its objects lives
local d
local spid
do
  local m = mp.Manager()
  spid = m.pid
  d = m:dict()
end
collectgarbage(); collectgarbage()
d.x = 1
assert(d.x == 1 and state(spid) and state(spid) ~= "Z", "the server left under a live proxy")
d = nil
collectgarbage(); collectgarbage()
eventually(function() return state(spid) == nil end, "the server outlived its last proxy")

-- 3. a dropped Pool: its workers are stopped and reaped
local wpids
do
  local pool = mp.Pool(2)
  assert(pool:apply(function() return 1 end) == 1)
  wpids = pool.pids
end
collectgarbage(); collectgarbage()
eventually(function() return state(wpids[1]) == nil and state(wpids[2]) == nil end,
           "the workers of a dropped Pool are still there")

-- 4. start() reaps the children that have ended: no zombie waits for
-- active_children() or exit. (A zombie is reapable only once all its
-- threads are gone, which may take a moment after it shows 'Z': so each
-- round starts one more child, until the first one is gone.)
local first = mp.Process{target = function() end}
first:start()
local fpid = first.pid
local deadline = time.monotonic() + 15
while state(fpid) ~= "Z" do                       -- it has ended, unreaped
  assert(time.monotonic() < deadline, "the child did not end")
  time.sleep(0.02)
end
while state(fpid) do
  assert(time.monotonic() < deadline, "start() left a zombie")
  local other = mp.Process{target = function() end}
  other:start()
  assert(other:join(10))
  time.sleep(0.01)
end
assert(first.exitcode == 0)
print("ok")

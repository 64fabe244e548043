-- Children do not outlive a parent killed with SIGKILL (no exit handler
-- runs then): Pool workers (one in a CPU loop, one idle), a Process
-- blocked in a queue get and a Manager's server all die with it. A
-- Process started with outlive_parent = true keeps running.
-- run: --gil=on
-- run: --gil=off
-- timeout: 40
local mp = require "multiprocessing"
local time = require "time"

local function state(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s:match("%) (%a)")
end
local function alive(pid) local s = state(pid) return s ~= nil and s ~= "Z" end

local report = mp.Queue()
local middle = os.fork()
if middle == 0 then
  -- the parent to be killed
  local pool = mp.Pool(2)
  local started = mp.Event()
  pool:apply_async(function(ev) ev:set(); while true do end end, {started})
  assert(started:wait(10))
  local q = mp.Queue()
  local blocked = mp.Process{target = function() q:get() end}
  blocked:start()
  local free = mp.Process{target = function() time.sleep(30) end, outlive_parent = true}
  free:start()
  local m = mp.Manager()
  report:put{pool.pids[1], pool.pids[2], blocked.pid, m.pid, free.pid}
  while true do time.sleep(1) end
end

local pids = report:get(true, 20)
os.kill(middle, "KILL")
os.waitpid(middle)
local deadline = time.monotonic() + 10
for i = 1, 4 do
  while alive(pids[i]) do
    assert(time.monotonic() < deadline, "child " .. i .. " (" .. pids[i] .. ") outlived its parent")
    time.sleep(0.02)
  end
end
assert(alive(pids[5]), "outlive_parent = true: the child must live on")
os.kill(pids[5], "KILL")
print("ok")

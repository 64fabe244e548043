-- Fork safety (docs/architecture.md, the fork list): 500 forks while three
-- GIL-off threads send messages carrying an arena object (mp_mark's table
-- of exportable types), start and retire threads (the statistics' retired
-- list, the thread registry, the type table) and create objects (the
-- object list). Each child takes every one of those locks and must finish
-- within a second: a lock another thread held at the fork, never
-- re-initialised in the child, would hang it there.
-- Under the sanitizers (GCC 12's libtsan and libasan do not guard their
-- own allocator locks across fork: a child can hang inside malloc) the
-- three threads are parked at a barrier around each fork, and the retirer
-- starts no threads (an OS thread still exiting after its join holds that
-- allocator's lock too): those runs check the fork list's code for races
-- and leaks, not the held locks.
-- run: --gil=off
-- run: --gil=on
-- timeout: 120
local mp = require "multiprocessing"
local threading = require "threading"
local time = require "time"

local FORKS, DEADLINE = 500, 1.0
local sanitized = (os.getenv("GILLUA") or ""):find("/[at]san/") ~= nil
local stop, park = threading.Event(), threading.Event()
local parked = threading.Barrier(4)   -- the three threads and the main one
local token = mp.Lock()             -- an arena object: messages with it are marked

-- Runs step until stop; waits at the barrier twice whenever park is set.
local function loop(stop, park, parked, step)
  while not stop:is_set() do
    step()
    if park:is_set() then parked:wait(); parked:wait() end
  end
end

local function sender(stop, park, parked, token)
  local q = require("multiprocessing").Queue()
  loop(stop, park, parked, function() q:put({token}); q:get() end)
end

local function retirer(stop, park, parked)
  local threading = require "threading"
  local sanitized = (os.getenv("GILLUA") or ""):find("/[at]san/") ~= nil
  loop(stop, park, parked, function()
    if sanitized then return end
    local t = threading.Thread{target = function() end}
    t:start()
    t:join()
  end)
end

local function creator(stop, park, parked)
  local threading, queue = require "threading", require "queue"
  loop(stop, park, parked, function()
    local objs = {threading.Lock(), threading.Event(), queue.Queue()}
    objs = nil
    collectgarbage("step")
  end)
end

local workers = {}
for i, f in ipairs{sender, retirer, creator} do
  workers[i] = threading.Thread{target = f, args = {stop, park, parked, token}}
  workers[i]:start()
end

-- In the child: one of each lock the three threads take, then leave.
local function child()
  local q = mp.Queue()
  q:put({token})                        -- exports table
  assert(q:get(true, 1)[1] == token)
  threading.Lock()                      -- object list
  package.loaded.queue = nil
  require "queue"                       -- type table
  require("gil").stats()                -- thread registry, retired list
  os._exit(0)
end

local function wait_child(pid)
  local deadline = time.monotonic() + DEADLINE
  repeat
    local r, how, code = os.waitpid(pid, true)
    if r == pid then return how, code end
    time.sleep(0.001)
  until time.monotonic() > deadline
  os.kill(pid, "KILL")
  os.waitpid(pid)
  return nil
end

local failed
for i = 1, FORKS do
  if sanitized then park:set(); parked:wait(); park:clear() end
  local pid = assert(os.fork())
  if pid == 0 then child() end
  if sanitized then parked:wait() end
  local how, code = wait_child(pid)
  if how ~= "exit" or code ~= 0 then
    if sanitized then parked:abort() end
    failed = string.format("fork %d: child %s", i,
      how and (how .. " " .. code) or "still running after " .. DEADLINE .. " s")
    break
  end
end
stop:set()
for _, w in ipairs(workers) do assert(w:join(10), "worker did not stop") end
assert(not failed, failed)
print("ok", FORKS)

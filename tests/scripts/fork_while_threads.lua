-- Fork safety (docs/architecture.md, the fork list): 500 forks while three
-- GIL-off threads send messages carrying an arena object (mp_mark's table
-- of exportable types), start and retire threads (the statistics' retired
-- list, the thread registry, the type table) and create objects (the
-- object list). Each child takes every one of those locks and must finish
-- within a second: a lock another thread held at the fork, never
-- re-initialised in the child, would hang it there.
-- run: --gil=off
-- timeout: 120
local mp = require "multiprocessing"
local threading = require "threading"
local time = require "time"

local FORKS, DEADLINE = 500, 1.0
local stop = threading.Event()
local token = mp.Lock()             -- an arena object: messages with it are marked

local function sender(stop, token)
  local q = require("multiprocessing").Queue()
  while not stop:is_set() do
    q:put({token})
    q:get()
  end
end

local function retirer(stop)
  local threading = require "threading"
  while not stop:is_set() do
    local t = threading.Thread{target = function() end}
    t:start()
    t:join()
  end
end

local function creator(stop)
  local threading, queue = require "threading", require "queue"
  while not stop:is_set() do
    local objs = {threading.Lock(), threading.Event(), queue.Queue()}
    objs = nil
    collectgarbage("step")
  end
end

local workers = {}
for i, f in ipairs{sender, retirer, creator} do
  workers[i] = threading.Thread{target = f, args = {stop, token}}
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
  local pid = assert(os.fork())
  if pid == 0 then child() end
  local how, code = wait_child(pid)
  if how ~= "exit" or code ~= 0 then
    failed = string.format("fork %d: child %s", i,
      how and (how .. " " .. code) or "still running after " .. DEADLINE .. " s")
    break
  end
end
stop:set()
for _, w in ipairs(workers) do assert(w:join(10), "worker did not stop") end
assert(not failed, failed)
print("ok", FORKS)

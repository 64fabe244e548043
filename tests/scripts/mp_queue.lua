-- multiprocessing.Queue / JoinableQueue / SimpleQueue: order, copies,
-- queue.Empty / queue.Full (the queue module's objects), maxsize and
-- timeouts, task_done/join, nothing lost or duplicated with several
-- producers that exit right after their last put.
-- run: --gil=on
-- run: --gil=off
local mp = require "multiprocessing"
local queue = require "queue"

local q = mp.Queue()
assert(q:empty() and q:qsize() == 0 and not q:full())
local t = {1, {2, 3}, s = "x"}
q:put(t)
q:put(nil)
q:put(2.5)
assert(q:qsize() == 3)
local c = q:get()
assert(c ~= t and c[2][2] == 3 and c.s == "x", "items are copies")
assert(q:get() == nil)
assert(math.type(q:get()) == "float")
local ok, e = pcall(q.get, q, false)
assert(not ok and e == queue.Empty, tostring(e))
ok, e = pcall(q.get_nowait, q)
assert(not ok and e == queue.Empty)
ok, e = pcall(q.get, q, true, 0.05)
assert(not ok and e == queue.Empty)

-- bounded
local b = mp.Queue(2)
b:put(1); b:put_nowait(2)
assert(b:full())
ok, e = pcall(b.put, b, 3, true, 0.05)
assert(not ok and e == queue.Full, tostring(e))
ok, e = pcall(b.put_nowait, b, 3)
assert(not ok and e == queue.Full)
-- a putter blocked on a full queue proceeds when a child takes an item
local p = mp.Process{target = function() require("time").sleep(0.05); b:get() end}
p:start()
b:put(3, true, 5)
p:join()
assert(b:get() == 2 and b:get() == 3)

-- values that cannot travel are refused at put
ok, e = pcall(q.put, q, coroutine.create(print))
assert(not ok and e:find("coroutine"), e)

-- many producers, each exiting right after its last put (os._exit: no
-- flushing, no feeder thread): every item arrives exactly once
local N, P = 2000, 4
local big = mp.Queue()
local procs = {}
for k = 1, P do
  procs[k] = mp.Process{target = function()
    for i = 1, N do big:put(k * 100000 + i) end
    os._exit(0)
  end}
  procs[k]:start()
end
local seen, count = {}, 0
for _ = 1, N * P do
  local v = big:get(true, 10)
  assert(not seen[v], "duplicate " .. v)
  seen[v] = true
  count = count + 1
end
for k = 1, P do procs[k]:join() end
assert(count == N * P and big:empty())
for k = 1, P do for i = 1, N do assert(seen[k * 100000 + i]) end end

-- JoinableQueue
local jq = mp.JoinableQueue()
for i = 1, 5 do jq:put(i) end
local worker = mp.Process{target = function()
  for _ = 1, 5 do jq:get(); jq:task_done() end
end}
worker:start()
assert(jq:join(10) == true)
worker:join()
ok, e = pcall(jq.task_done, jq)
assert(not ok and e:find("too many times"), e)

-- SimpleQueue, close
local sq = mp.SimpleQueue()
sq:put("a")
assert(sq:get() == "a" and sq:empty())
q:close()
ok, e = pcall(q.put, q, 1)
assert(not ok and e:find("closed"), e)
print("ok")

-- queue between threads: bounded producers/consumers with sentinels, every
-- item delivered exactly once, task_done/join, blocked get woken by put,
-- blocked put woken by get.
-- run: --gil=on
-- run: --gil=on --switch=bytecodes:3
-- run: --gil=on --switch=ticks:3
-- run: --gil=on --switch=priority:1
-- run: --gil=off
local threading = require "threading"
local queue = require "queue"

local joined = dofile("tests/lib/expect.lua").joined
local function check_join(t) joined(t, 30) end

local NP, NC, PER = 3, 2, 400
local work, results = queue.Queue(5), queue.Queue()
local producers, consumers = {}, {}
for p = 1, NP do
  producers[p] = threading.Thread{name = "producer-" .. p, target = function(work, p, PER)
    for i = 1, PER do work:put({p = p, i = i}) end
  end, args = {work, p, PER}}
end
for c = 1, NC do
  consumers[c] = threading.Thread{name = "consumer-" .. c, target = function(work, results)
    local last = {}
    while true do
      local item = work:get()
      if item == "stop" then work:task_done(); return end
      assert((last[item.p] or 0) < item.i, "FIFO order per producer")
      last[item.p] = item.i
      results:put(item.p * 100000 + item.i)
      work:task_done()
    end
  end, args = {work, results}}
end
for _, t in ipairs(consumers) do t:start() end
for _, t in ipairs(producers) do t:start() end
for _, t in ipairs(producers) do check_join(t) end
assert(work:join(30), "all items processed")
for _ = 1, NC do work:put("stop") end
for _, t in ipairs(consumers) do check_join(t) end
assert(results:qsize() == NP * PER)
local seen = {}
while not results:empty() do
  local v = results:get()
  assert(not seen[v], "delivered twice")
  seen[v] = true
end
for p = 1, NP do for i = 1, PER do assert(seen[p * 100000 + i], "lost item") end end

-- a blocked get is woken by a put from another thread, and the reverse
local q = queue.Queue(1)
local started = threading.Event()
local getter = threading.Thread{target = function(q, started)
  started:set()
  assert(q:get(true, 20) == "hello")
end, args = {q, started}}
getter:start()
assert(started:wait(20))
q:put("hello")
check_join(getter)
q:put("full")
local putter = threading.Thread{target = function(q) q:put("second", true, 20) end, args = {q}}
putter:start()
assert(q:get(true, 20) == "full")
assert(q:get(true, 20) == "second")
check_join(putter)

-- a PriorityQueue filled by several threads drains in order
local pq = queue.PriorityQueue()
local fill = {}
for k = 1, 3 do
  fill[k] = threading.Thread{target = function(pq, k)
    for i = 1, 50 do pq:put({(i * 7 + k) % 31, k}) end
  end, args = {pq, k}}
  fill[k]:start()
end
for k = 1, 3 do check_join(fill[k]) end
local prev = -1
for _ = 1, 150 do
  local v = pq:get_nowait()
  assert(v[1] >= prev)
  prev = v[1]
end
assert(pq:empty())
print("ok")

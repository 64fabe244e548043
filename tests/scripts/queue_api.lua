-- queue: every method of Queue, LifoQueue, PriorityQueue, SimpleQueue,
-- queue.Empty / queue.Full, timeouts and misuse errors.
-- run: --gil=on
-- run: --gil=off
local queue = require "queue"
local time = require "time"
local gil_on = require("gil").enabled()

local expect_error = dofile("tests/lib/expect.lua").error

-- the error objects
assert(tostring(queue.Empty) == "queue.Empty" and tostring(queue.Full) == "queue.Full")
assert(queue.Empty ~= queue.Full)

-- Queue: FIFO, bounded
local q = queue.Queue(2)
assert(tostring(q):find("^queue.Queue"))
assert(q.maxsize == 2)
assert(q:empty() and not q:full() and q:qsize() == 0)
q:put("a")
q:put_nowait("b")
assert(q:full() and not q:empty() and q:qsize() == 2)
local e = expect_error("queue.Full", q.put_nowait, q, "c")
assert(e == queue.Full)
assert(select(2, pcall(q.put, q, "c", false)) == queue.Full)
local t0 = time.monotonic()
assert(select(2, pcall(q.put, q, "c", true, 0.05)) == queue.Full)
assert(time.monotonic() - t0 >= 0.04, "put waited for the timeout")
assert(q:get() == "a" and q:get_nowait() == "b")
assert(select(2, pcall(q.get_nowait, q)) == queue.Empty)
assert(select(2, pcall(q.get, q, false)) == queue.Empty)
t0 = time.monotonic()
local ok, err = pcall(q.get, q, true, 0.05)
assert(not ok and err == queue.Empty)
assert(time.monotonic() - t0 >= 0.04, "get waited for the timeout")
expect_error("non%-negative", q.get, q, true, -1)
expect_error("non%-negative", q.put, q, 1, true, -0.5)
expect_error("boolean expected", q.get, q, 1)
expect_error("value expected", q.put, q)

-- any value travels, nil included; order kept
local vals = {1, 2.5, "s\0bin", true, false, {x = {1, 2}}, math.maxinteger}
local big = queue.Queue()
for _, v in ipairs(vals) do big:put(v) end
big:put(nil)
for i, v in ipairs(vals) do
  local got = big:get()
  if type(v) == "table" then assert(got.x[2] == 2) else assert(got == v and math.type(got) == math.type(v)) end
end
assert(big:get() == nil and big:empty())

-- GIL on: the same value (no copy). GIL off: a copy.
local t = {1}
big:put(t)
local back = big:get()
if gil_on then assert(back == t, "GIL on: same table") else assert(back ~= t and back[1] == 1, "GIL off: a copy") end
-- GIL off: a value the transfer refuses is refused by put, nothing queued;
-- GIL on: the coroutine itself is queued. Functions keep working.
local co = coroutine.create(print)
if gil_on then
  big:put({co = co})
  assert(big:get().co == co)
else
  expect_error("cannot transfer coroutine at item%.co", big.put, big, {co = co})
  assert(big:empty())
end
local k = 41
big:put(function() return k + 1 end)
assert(big:get()() == 42)
-- runtime objects are shared in both modes
local inner = queue.Queue()
big:put({inner})
assert(big:get()[1] == inner)

-- unbounded by default / with maxsize <= 0
for _, m in ipairs{0, -5} do
  local u = queue.Queue(m)
  assert(u.maxsize == 0)
  for i = 1, 1000 do u:put_nowait(i) end
  assert(not u:full() and u:qsize() == 1000)
end

-- task_done / join
local j = queue.Queue()
expect_error("task_done%(%) called too many times", j.task_done, j)
assert(j:join() == true, "nothing put: join returns at once")
j:put(1); j:put(2)
assert(j:join(0.02) == false)
j:get(); j:task_done()
assert(j:join(0.02) == false)
j:get(); j:task_done()
assert(j:join() == true)
expect_error("task_done%(%) called too many times", j.task_done, j)

-- LifoQueue
local l = queue.LifoQueue()
assert(tostring(l):find("^queue.LifoQueue"))
for i = 1, 5 do l:put(i) end
for i = 5, 1, -1 do assert(l:get() == i) end
local lb = queue.LifoQueue(1)
lb:put(1)
assert(select(2, pcall(lb.put_nowait, lb, 2)) == queue.Full)

-- PriorityQueue: numbers, strings, {priority, data} tables; ties FIFO
local p = queue.PriorityQueue()
assert(tostring(p):find("^queue.PriorityQueue"))
for _, v in ipairs{5, 1, 4.5, -2, 3, 1.0} do p:put(v) end
local want = {-2, 1, 1.0, 3, 4.5, 5}
for i = 1, 6 do
  local v = p:get()
  assert(v == want[i] and math.type(v) == math.type(want[i]), "priority order")
end
p:put({2, "two"}); p:put({1, "one"}); p:put({2, "two bis"}); p:put({0, "zero"})
assert(p:get()[2] == "zero" and p:get()[2] == "one")
assert(p:get()[2] == "two" and p:get()[2] == "two bis", "equal priorities: FIFO")
for _, s in ipairs{"pear", "apple", "fig"} do p:put(s) end
assert(p:get() == "apple" and p:get() == "fig" and p:get() == "pear")
expect_error("PriorityQueue: item must be a number, a string or a table", p.put, p, true)
expect_error("PriorityQueue: item%[1%] must be a number or a string %(got nil%)", p.put, p, {})
expect_error("NaN", p.put, p, 0/0)
p:put(1)
expect_error("cannot compare a string priority with the number", p.put, p, "x")
expect_error("cannot compare a string priority", p.put, p, {"x"})
assert(p:get() == 1 and p:empty())
p:put("x")        -- an empty queue takes either kind
expect_error("cannot compare a number priority with the string", p.put, p, 2)
assert(p:get() == "x")
local pb = queue.PriorityQueue(1)
pb:put(3)
assert(select(2, pcall(pb.put_nowait, pb, 1)) == queue.Full)

-- SimpleQueue: unbounded, no task_done/join/full/maxsize-bound
local s = queue.SimpleQueue()
assert(tostring(s):find("^queue.SimpleQueue"))
assert(s.task_done == nil and s.join == nil and s.full == nil)
s:put(1, false, 0.01); s:put_nowait(2)
assert(s:qsize() == 2 and not s:empty())
assert(s:get() == 1 and s:get_nowait() == 2)
assert(select(2, pcall(s.get_nowait, s)) == queue.Empty)
assert(select(2, pcall(s.get, s, true, 0.01)) == queue.Empty)

-- methods check their receiver
expect_error("queue.Queue expected", q.get, s and {})
expect_error("queue.Queue expected", q.task_done, s)
print("ok")

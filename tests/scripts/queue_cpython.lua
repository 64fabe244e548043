-- run: --gil=on
-- run: --gil=off
-- timeout: 60
-- A port of CPython's Lib/test/test_queue.py (3.13): BaseQueueTestMixin for
-- Queue, LifoQueue and PriorityQueue (24 cases each, shutdown included)
-- and BaseSimpleQueueTest (6 cases; 2 more with the GIL on). Left out:
-- FailingQueueTest (it subclasses _put/_get, which a C queue has not).
-- Scaled down: thread counts and message counts (2 cores, CI time).
-- Python's ValueError cases check the error text gillua gives instead.
-- Thread bodies reach only their arguments and modules (GIL off: each
-- thread has its own interpreter), results travel through queues.
local threading = require "threading"
local queue = require "queue"
local time = require "time"
local expect = dofile("tests/lib/expect.lua")
local gil_on = require("gil").enabled()

local QUEUE_SIZE = 5
local cases = 0

local function qfull(q) return q.maxsize > 0 and q:qsize() == q.maxsize end

local function spawn(f, ...)
  local t = threading.Thread{target = f, args = table.pack(...)}
  t:start()
  return t
end
local function join_all(ts) for _, t in ipairs(ts) do expect.joined(t, 30) end end

-- drains a results queue into a Lua list
local function drain(q)
  local t = {}
  while not q:empty() do t[#t + 1] = q:get() end
  return t
end

-- Runs block_func(...) while a trigger thread, after setting 'started',
-- calls trigger (a method name) on q: block_func must not return before.
local function blocking(q, trigger, targ, block_func, ...)
  local started = threading.Event()
  local t = spawn(function(q, trigger, targ, started)
    require("time").sleep(0.1)
    started:set()
    if targ == nil then q[trigger](q) else q[trigger](q, targ) end
  end, q, trigger, targ, started)
  local r = block_func(...)
  assert(started:is_set(), "the blocking call appeared not to block")
  expect.joined(t, 30)
  return r
end

---------------------------------------------------------------- BaseQueueTestMixin

local function basic_queue_test(q, name)
  assert(q:qsize() == 0, "call with an empty queue")
  assert(q:empty() and not q:full())
  q:put(111); q:put(333); q:put(222)
  local want = ({Queue = {111, 333, 222}, LifoQueue = {222, 333, 111},
                 PriorityQueue = {111, 222, 333}})[name]
  local got = {q:get(), q:get(), q:get()}
  for i = 1, 3 do assert(got[i] == want[i], name .. ": wrong order") end
  for i = 0, QUEUE_SIZE - 2 do q:put(i); assert(q:qsize() > 0) end
  assert(not qfull(q))
  local last, full = 2 * QUEUE_SIZE, 3 * 2 * QUEUE_SIZE
  q:put(last)
  assert(qfull(q) and not q:empty() and q:full())
  assert(expect.error("queue.Full", q.put, q, full, false) == queue.Full)
  assert(expect.error("queue.Full", q.put, q, full, true, 0.01) == queue.Full)
  blocking(q, "get", nil, q.put, q, full)
  blocking(q, "get", nil, q.put, q, full, true, 10)
  for _ = 1, QUEUE_SIZE do q:get() end
  assert(q:qsize() == 0)
  assert(expect.error("queue.Empty", q.get, q, false) == queue.Empty)
  assert(expect.error("queue.Empty", q.get, q, true, 0.01) == queue.Empty)
  blocking(q, "put", "empty", q.get, q)
  blocking(q, "put", "empty", q.get, q, true, 10)
end

local function worker(q, sums)
  while true do
    local x = q:get()
    if x < 0 then q:task_done() return end
    sums:put(x)
    q:task_done()
  end
end

local function queue_join_test(q)
  local sums = queue.Queue()
  local ts = {spawn(worker, q, sums), spawn(worker, q, sums)}
  for i = 0, 99 do q:put(i) end
  assert(q:join(30))
  local cum = 0
  for _, x in ipairs(drain(sums)) do cum = cum + x end
  assert(cum == 4950, "join() did not block until all tasks were done")
  q:put(-1); q:put(-1)
  assert(q:join(30))                         -- twice
  join_all(ts)
end

local T = {}

function T.queue_task_done(new)
  expect.error("task_done%(%) called too many times", new().task_done, new())
end

function T.queue_join(new)
  local q = new()
  queue_join_test(q)
  queue_join_test(q)
  expect.error("called too many times", q.task_done, q)
end

function T.basic(new, name)
  local q = new(QUEUE_SIZE)
  basic_queue_test(q, name)
  basic_queue_test(q, name)
end

function T.negative_timeout_raises_exception(new)
  local q = new(QUEUE_SIZE)
  expect.error("non%-negative", q.put, q, 1, true, -1)
  expect.error("non%-negative", q.get, q, true, -1)
end

function T.nowait(new)
  local q = new(QUEUE_SIZE)
  for _ = 1, QUEUE_SIZE do q:put_nowait(1) end
  expect.error("queue.Full", q.put_nowait, q, 1)
  for _ = 1, QUEUE_SIZE do q:get_nowait() end
  expect.error("queue.Empty", q.get_nowait, q)
end

function T.shrinking_queue(new)                -- issue 10110
  local q = new(3)
  q:put(1); q:put(2); q:put(3)
  expect.error("queue.Full", q.put_nowait, q, 4)
  assert(q:qsize() == 3)
  q.maxsize = 2
  assert(q.maxsize == 2)
  expect.error("queue.Full", q.put_nowait, q, 4)
end

function T.shutdown_empty(new)
  local q = new()
  q:shutdown()
  assert(expect.error("queue.ShutDown", q.put, q, "data") == queue.ShutDown)
  assert(expect.error("queue.ShutDown", q.get, q) == queue.ShutDown)
end

function T.shutdown_nonempty(new)
  local q = new()
  q:put("data")
  q:shutdown()
  q:get()
  expect.error("queue.ShutDown", q.get, q)
end

function T.shutdown_immediate(new)
  local q = new()
  q:put("data")
  q:shutdown(true)
  expect.error("queue.ShutDown", q.get, q)
end

function T.shutdown_allowed_transitions(new)
  local q = new()
  assert(q.is_shutdown == false)
  q:shutdown()
  assert(q.is_shutdown == true)
  q:shutdown(true)
  assert(q.is_shutdown == true)
  q:shutdown(false)
end

local function shutdown_all_methods_in_one_thread(new, immediate)
  local q = new(2)
  q:put("L")
  q:put_nowait("O")
  q:shutdown(immediate)
  expect.error("queue.ShutDown", q.put, q, "E")
  expect.error("queue.ShutDown", q.put_nowait, q, "W")
  if immediate then
    expect.error("queue.ShutDown", q.get, q)
    expect.error("queue.ShutDown", q.get_nowait, q)
    expect.error("called too many times", q.task_done, q)
    assert(q:join(10))
  else
    assert(("LO"):find(q:get(), 1, true)); q:task_done()
    assert(("LO"):find(q:get(), 1, true)); q:task_done()
    assert(q:join(10))
    expect.error("queue.ShutDown", q.get, q)
    expect.error("queue.ShutDown", q.get_nowait, q)
    expect.error("queue.ShutDown", q.get, q, true, 1.0)
  end
end
function T.shutdown_all_methods_in_one_thread(new) shutdown_all_methods_in_one_thread(new, false) end
function T.shutdown_immediate_all_methods_in_one_thread(new) shutdown_all_methods_in_one_thread(new, true) end

local function write_msg_thread(q, n, res, when, ev_shutdown, barrier)
  local queue = require "queue"
  for i = 0, when // 2 - 1 do q:put({i, "LOYD"}) end
  barrier:wait()
  for i = when // 2, n - 1 do
    local ok, e = pcall(q.put, q, {i, "YDLO"})
    if not ok then
      assert(e == queue.ShutDown, tostring(e))
      res:put(false)
      return
    end
    if i == when and not ev_shutdown:is_set() then
      ev_shutdown:set()
      res:put(true)
    end
  end
end

local function read_msg_thread(q, res, barrier)
  local queue = require "queue"
  q:get(true)
  q:task_done()
  barrier:wait()
  while true do
    local ok, e = pcall(q.get, q, false)
    if ok then q:task_done()
    elseif e == queue.ShutDown then res:put(true) return
    else assert(e == queue.Empty, tostring(e)) require("time").sleep(0) end
  end
end

local function shutdown_all_methods_in_many_threads(new, immediate)
  local q = new()
  local res_puts, res_gets, res_shutdown = queue.Queue(), queue.Queue(), queue.Queue()
  local writers, readers, joiners = 2, 3, 2
  local nb_msgs_w = 2048 // writers
  local when = nb_msgs_w // 2
  local barrier = threading.Barrier(writers + readers + (immediate and joiners or 0))
  local ev = threading.Event()
  local ts = {}
  for _ = 1, writers do ts[#ts + 1] = spawn(write_msg_thread, q, nb_msgs_w, res_puts, when, ev, barrier) end
  for _ = 1, readers do ts[#ts + 1] = spawn(read_msg_thread, q, res_gets, barrier) end
  ts[#ts + 1] = spawn(function(q, res, ev, immediate)
    ev:wait()
    q:shutdown(immediate)
    res:put(q:qsize() == 0)
  end, q, res_shutdown, ev, immediate)
  if immediate then
    for _ = 1, joiners do ts[#ts + 1] = spawn(function(q, b) b:wait() q:join() end, q, barrier) end
  end
  join_all(ts)
  local puts, gets = drain(res_puts), drain(res_gets)
  local any = false
  for _, v in ipairs(puts) do any = any or v end
  assert(any, "no writer triggered the shutdown")
  assert(#gets == readers, #gets .. " readers saw ShutDown")
  if immediate then
    local sd = drain(res_shutdown)
    assert(#sd == 1 and sd[1] == true)
    assert(q:empty())
  end
end
function T.shutdown_all_methods_in_many_threads(new) shutdown_all_methods_in_many_threads(new, false) end
function T.shutdown_immediate_all_methods_in_many_threads(new) shutdown_all_methods_in_many_threads(new, true) end

-- thread bodies: put true/false on 'res' as Python's helpers append
local function get_body(q, go, res, shutdown)
  local queue = require "queue"
  go:wait()
  local ok, e = pcall(q.get, q)
  if ok then res:put(not shutdown) else assert(e == queue.ShutDown, tostring(e)) res:put(shutdown) end
end
local function get_task_done_body(q, go, res)
  local queue = require "queue"
  go:wait()
  local ok, e = pcall(q.get, q)
  if ok then q:task_done() res:put(true) else assert(e == queue.ShutDown, tostring(e)) res:put(false) end
end
local function put_body(q, msg, go, res, shutdown)
  local queue = require "queue"
  go:wait()
  local ok, e = pcall(q.put, q, msg)
  if ok then res:put(not shutdown) else assert(e == queue.ShutDown, tostring(e)) res:put(shutdown) end
end
local function join_body(q, res)
  res:put(q:join(30))
end

local function count_true(list)
  local n = 0
  for _, v in ipairs(list) do if v then n = n + 1 end end
  return n
end

local function shutdown_get(new, immediate)
  local q, res, go = new(2), queue.Queue(), threading.Event()
  q:put("Y"); q:put("D")
  local ts = {}
  local n = immediate and 2 or 3
  for _ = 1, n do ts[#ts + 1] = spawn(get_body, q, go, res, immediate) end
  q:shutdown(immediate)
  go:set()
  join_all(ts)
  local r = drain(res)
  assert(#r == n)
  if immediate then assert(count_true(r) == 2)
  else assert(count_true(r) == 2, "one of three getters must see ShutDown") end
end
function T.shutdown_get(new) shutdown_get(new, false) end
function T.shutdown_immediate_get(new) shutdown_get(new, true) end

local function shutdown_put(new, immediate)
  local q, res, go = new(2), queue.Queue(), threading.Event()
  q:put("Y"); q:put("D")
  local ts = {spawn(put_body, q, "E", go, res, true), spawn(put_body, q, "W", go, res, true)}
  q:shutdown(immediate)
  go:set()
  join_all(ts)
  local r = drain(res)
  assert(#r == 2 and count_true(r) == 2)
end
function T.shutdown_put(new) shutdown_put(new, false) end
function T.shutdown_immediate_put(new) shutdown_put(new, true) end

local function shutdown_join(new, immediate)
  local q, res, go = new(), queue.Queue(), threading.Event()
  q:put("Y")
  local ts = {spawn(join_body, q, res), spawn(join_body, q, res)}
  local res2 = queue.Queue()
  if not immediate then ts[#ts + 1] = spawn(get_task_done_body, q, go, res2) end
  q:shutdown(immediate)
  go:set()
  join_all(ts)
  local r = drain(res)
  assert(#r == 2 and count_true(r) == 2)
end
function T.shutdown_immediate_join(new) shutdown_join(new, true) end
function T.shutdown_join(new) shutdown_join(new, false) end

local function shutdown_put_join(new, immediate)
  local q, res, go = new(2), queue.Queue(), threading.Event()
  q:put("Y")
  local ts = {spawn(put_body, q, "E", go, res, true), spawn(join_body, q, res)}
  assert(q.unfinished_tasks == 1)
  q:shutdown(immediate)
  go:set()
  if immediate then expect.error("queue.ShutDown", q.get_nowait, q)
  else assert(q:get() == "Y"); q:task_done() end
  join_all(ts)
  local r = drain(res)
  assert(#r == 2 and count_true(r) == 2)
end
function T.shutdown_immediate_put_join(new) shutdown_put_join(new, true) end
function T.shutdown_put_join(new) shutdown_put_join(new, false) end

function T.shutdown_get_task_done_join(new)
  local q, res, go = new(2), queue.Queue(), threading.Event()
  q:put("Y"); q:put("D")
  assert(q.unfinished_tasks == q:qsize())
  local ts = {spawn(get_task_done_body, q, go, res), spawn(get_task_done_body, q, go, res),
              spawn(join_body, q, res), spawn(join_body, q, res)}
  go:set()
  q:shutdown(false)
  join_all(ts)
  local r = drain(res)
  assert(#r == 4 and count_true(r) == 4)
end

function T.shutdown_pending_get(new)
  local q, res = new(), queue.Queue()
  local t = spawn(function(q, res)
    local ok, e = pcall(q.get, q)
    res:put(ok and "got an item" or e)
  end, q, res)
  q:shutdown(false)
  expect.joined(t, 10)
  local r = drain(res)
  assert(#r == 1 and r[1] == queue.ShutDown, tostring(r[1]))
end

local names = {}
for k in pairs(T) do names[#names + 1] = k end
table.sort(names)
for _, kind in ipairs{"Queue", "LifoQueue", "PriorityQueue"} do
  for _, n in ipairs(names) do
    T[n](queue[kind], kind)
    cases = cases + 1
  end
end

---------------------------------------------------------------- BaseSimpleQueueTest

local function feed(q, inputs, lock, sentinel)
  -- inputs: a shared queue of the values still to feed (Python pops a list)
  local queue = require "queue"
  while true do
    local ok, v = pcall(inputs.get, inputs, false)
    if not ok then q:put(sentinel) return end
    q:put(v)
    if math.random() > 0.5 then require("time").sleep(math.random() * 1e-3) end
  end
end

local function consume(q, results, sentinel, how)
  local queue = require "queue"
  while true do
    local v
    if how == "block" then v = q:get()
    else
      while true do
        local ok, x
        if how == "nonblock" then ok, x = pcall(q.get, q, false)
        else ok, x = pcall(q.get, q, true, 1e-5) end
        if ok then v = x break end
        assert(x == queue.Empty, tostring(x))
        if how == "nonblock" then require("time").sleep(1e-5) end
      end
    end
    if v == sentinel then return end
    results:put(v)
  end
end

local function run_threads(n, q, count, how)
  local inputs, results = queue.Queue(), queue.Queue()
  for i = 0, count - 1 do inputs:put(i) end
  local ts = {}
  for _ = 1, n do ts[#ts + 1] = spawn(feed, q, inputs, nil, -1) end
  for _ = 1, n do ts[#ts + 1] = spawn(consume, q, results, -1, how) end
  join_all(ts)
  assert(q:empty() and q:qsize() == 0)
  return drain(results)
end

local function sorted_is_range(r, count)
  table.sort(r)
  assert(#r == count, #r .. " results for " .. count .. " inputs")
  for i = 1, count do assert(r[i] == i - 1) end
end

local S = {}
function S.basic()
  local q = queue.SimpleQueue()
  assert(q:empty() and q:qsize() == 0)
  q:put(1)
  assert(not q:empty() and q:qsize() == 1)
  q:put(2); q:put_nowait(3); q:put(4)
  assert(q:qsize() == 4)
  assert(q:get() == 1 and q:qsize() == 3)
  assert(q:get_nowait() == 2 and q:qsize() == 2)
  assert(q:get(false) == 3 and q:qsize() == 1)
  assert(q:get(true, 0.1) == 4 and q:empty())
  expect.error("queue.Empty", q.get, q, false)
  expect.error("queue.Empty", q.get, q, true, 1e-3)
  expect.error("queue.Empty", q.get_nowait, q)
  assert(q:empty() and q:qsize() == 0)
end
function S.negative_timeout_raises_exception()
  local q = queue.SimpleQueue()
  q:put(1)
  expect.error("non%-negative", q.get, q, true, -1)
end
function S.order()
  local r = run_threads(1, queue.SimpleQueue(), 100, "block")
  for i = 1, 100 do assert(r[i] == i - 1, "one producer, one consumer: in order") end
end
function S.many_threads() sorted_is_range(run_threads(8, queue.SimpleQueue(), 2000, "block"), 2000) end
function S.many_threads_nonblock() sorted_is_range(run_threads(8, queue.SimpleQueue(), 2000, "nonblock"), 2000) end
function S.many_threads_timeout() sorted_is_range(run_threads(8, queue.SimpleQueue(), 500, "timeout"), 500) end
if gil_on then                               -- items are the Lua values themselves
  function S.references()
    local q = queue.SimpleQueue()
    for _ = 1, 20 do q:put({}) end
    for _ = 1, 20 do
      local weak = setmetatable({q:get()}, {__mode = "v"})
      collectgarbage()
      assert(weak[1] == nil, "the queue kept a reference to an item it gave out")
    end
  end
  function S.reentrancy()                    -- bpo-14976: put() from a finalizer
    local q = queue.SimpleQueue()
    local n, N, results = 0, 2000, {}
    local function gen() local v = n n = n + 1 return v end
    while true do
      setmetatable({}, {__gc = function() q:put(gen()) end})
      q:put(gen())
      results[#results + 1] = q:get()
      if results[#results] >= N then break end
    end
    collectgarbage()
    local seen = {}
    for _, v in ipairs(results) do assert(not seen[v]) seen[v] = true end
    while not q:empty() do local v = q:get() assert(not seen[v]) seen[v] = true end
    for i = 0, n - 1 do assert(seen[i], "lost " .. i) end
  end
end
local snames = {}
for k in pairs(S) do snames[#snames + 1] = k end
table.sort(snames)
for _, n in ipairs(snames) do S[n]() cases = cases + 1 end

print(("ok: %d cases of test_queue.py"):format(cases))

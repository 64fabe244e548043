-- run: --gil=on
-- run: --gil=off
-- timeout: 60
-- multiprocessing.Queue/JoinableQueue:shutdown([immediate]) (issue 9 §18):
-- Python 3.13's queue.Queue.shutdown, across processes. Blocked putters
-- and getters in other processes wake up with queue.ShutDown; without
-- immediate the items left can still be got; immediate drops them (their
-- space comes back) and counts them done, so join() returns.
local mp = require "multiprocessing"
local queue = require "queue"
local expect = dofile("tests/lib/expect.lua")

local base = mp.arena_stats()

-- a putter blocked on a full queue, a getter blocked on an empty one
local full, empty = mp.Queue(1), mp.Queue()
full:put("x")
local started = mp.Event()
local outcome = mp.Queue()
local function blocked(q, how)
  return mp.Process{target = function()
    started:set()
    local ok, e
    if how == "put" then ok, e = pcall(q.put, q, "y") else ok, e = pcall(q.get, q) end
    outcome:put(how .. ":" .. (ok and "returned" or tostring(e)))
  end}
end
local p1, p2 = blocked(full, "put"), blocked(empty, "get")
p1:start(); assert(started:wait(10)); started:clear()
p2:start(); assert(started:wait(10))
full:shutdown()
empty:shutdown()
p1:join(10); p2:join(10)
assert(p1.exitcode == 0 and p2.exitcode == 0)
local seen = {outcome:get(true, 10), outcome:get(true, 10)}
table.sort(seen)
assert(seen[1] == "get:queue.ShutDown" and seen[2] == "put:queue.ShutDown", seen[1] .. " " .. seen[2])
assert(full:is_shutdown() and empty:is_shutdown())

-- not immediate: the item left comes out, then ShutDown; puts fail at once
assert(full:get() == "x")
assert(expect.error("queue.ShutDown", full.get, full) == queue.ShutDown)
expect.error("queue.ShutDown", full.get, full, false)
expect.error("queue.ShutDown", full.put, full, 1)
expect.error("queue.ShutDown", full.put_nowait, full, 1)

-- immediate: items dropped and counted done; a joiner elsewhere returns
local jq = mp.JoinableQueue()
for i = 1, 5 do jq:put(string.rep("i", 20000 + i)) end
local joiner = mp.Process{target = function() started:set() os.exit(jq:join(20) and 0 or 3) end}
started:clear()
joiner:start()
assert(started:wait(10))
jq:shutdown(true)
joiner:join(20)
assert(joiner.exitcode == 0, "join did not return after shutdown(true): " .. tostring(joiner.exitcode))
assert(jq:qsize() == 0)
expect.error("queue.ShutDown", jq.get, jq)
expect.error("task_done%(%) called too many times", jq.task_done, jq)

-- SimpleQueue has none, as in Python
assert(mp.SimpleQueue().shutdown == nil)

full, empty, jq, outcome, started, p1, p2, joiner = nil
collectgarbage(); collectgarbage()
assert(mp.arena_stats().used == base.used, "the dropped items' space did not come back")
print("ok")

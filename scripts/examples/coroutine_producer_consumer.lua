-- coroutine_producer_consumer.lua — producer and consumer as coroutines
-- in one thread (seed notes 000, "Coroutine"): Python's generator with
-- `n = yield r` and c.send(n) become a Lua coroutine with
-- coroutine.yield(r) and coroutine.resume(c, n). No lock is needed: only
-- one of them runs at a time, and they switch where the code says so.
--
--   gillua scripts/examples/coroutine_producer_consumer.lua [consume_seconds]
--   (default 3, as the seed's time.sleep(3))
local time = require "time"

local delay = tonumber(arg and arg[1]) or 3

local function consumer()
  return coroutine.create(function()
    local r = ""
    while true do
      local n = coroutine.yield(r)
      if not n then return end
      print(string.format("[CONSUMER] Consuming %s...", n))
      time.sleep(delay)
      r = "200 OK"
    end
  end)
end

-- resume that re-raises an error inside the coroutine, like Python's send
local function send(c, v)
  local ok, r = coroutine.resume(c, v)
  if not ok then error(r, 0) end
  return r
end

local function produce(c)
  send(c)                      -- next(c): run to the first yield
  local n = 0
  while n < 4 do
    n = n + 1
    print(string.format("[PRODUCER] Producing %s...", n))
    local r = send(c, n)
    print(string.format("[PRODUCER] Consumer return: %s", r))
  end
  send(c, nil)                 -- c.close(): the consumer returns
end

produce(consumer())

-- the seed's second cell, step by step (it prints n where it meant r)
local c = consumer()
send(c)
local n = 1
print(string.format("[PRODUCER] Producing %s...", n))
local r = send(c, n)
print(string.format("[PRODUCER] Consumer return: %s", n))
n = 2
print(string.format("[PRODUCER] Producing %s...", n))
r = send(c, n)
print(string.format("[PRODUCER] Consumer return: %s", n))
assert(r == "200 OK")

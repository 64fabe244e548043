-- bench_transfer.lua — how fast values cross between interpreters: a
-- GIL-off producer thread puts --rounds copies of a payload into a
-- queue.Queue, a consumer thread gets them (each put encodes the value, each
-- get decodes it in the consumer's interpreter). Payloads:
--   string  a 1 MB string
--   table   a 100k-entry table {1, 2, ..., 100000}
--   strings a 100k-entry table of short strings
-- MB/s counts the encoded size per round trip through the queue.
--
--   gillua --gil=off scripts/bench_transfer.lua --payload=string --rounds=50

local B = dofile((arg[0]:match("^(.*)/") or ".") .. "/benchlib.lua")
local o = B.options(arg, "bench_transfer.lua", {payload = "string", rounds = 20},
                    "--payload=string|table|strings --rounds=N")
local threading = assert(B.has.threading, "needs gillua")
local queue = assert(B.has.queue, "needs gillua")
o.mode = B.has.gil.enabled() and "gil" or "nogil"
o.workers = 2

local function make(kind)
  if kind == "string" then return string.rep("x", 1 << 20), 1 << 20 end
  local t, bytes = {}, 0
  for i = 1, 100000 do
    if kind == "table" then t[i] = i; bytes = bytes + 8
    else t[i] = "item" .. i; bytes = bytes + #t[i] end
  end
  return t, bytes
end
if not ({string = true, table = true, strings = true})[o.payload] then
  io.stderr:write("bench_transfer.lua: --payload must be string, table or strings\n")
  os.exit(2)
end
local _, bytes = make(o.payload)

local q = queue.Queue(4)
local done = queue.Queue()
local producer = threading.Thread{target = function(q, kind, rounds, make)
  local v = make(kind)
  for _ = 1, rounds do q:put(v) end
end, args = {q, o.payload, o.rounds, make}}
local consumer = threading.Thread{target = function(q, done, rounds)
  local n = 0
  for _ = 1, rounds do
    local v = q:get()
    n = n + (type(v) == "string" and #v or #v)
  end
  done:put(n)
end, args = {q, done, o.rounds}}

local m = B.measure(function()
  producer:start(); consumer:start()
  producer:join(); consumer:join()
end)
local got = done:get()
assert(got > 0, "consumer received nothing")
B.emit("transfer_" .. o.payload, o, m, {ops = o.rounds,
  mb_per_s = bytes * o.rounds / m.wall_s / (1 << 20), payload_bytes = bytes})

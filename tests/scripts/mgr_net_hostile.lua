-- run:
-- run: --gil=off
-- timeout: 60
-- expect-stderr: handshake timed out
-- A manager's server facing the network: garbage, a message stopped half
-- way, silence, a handshake message over the limit and 1,000 connections
-- at once are each dropped within the handshake timeout, never crash or
-- stall the server, and never cost it more than a bounded number of
-- descriptors; a request over the frame limit is refused by the client.
local managers, queue = require "multiprocessing.managers", require "queue"
local socket = require "socket"
local time = require "time"

local box = queue.Queue()
local m = managers.BaseManager{address = {"127.0.0.1", 0}, authkey = "hostile", handshake_timeout = 0.5}
m:register("box", function() return box end)
m:start()
local port = m.address[2]
local b = m:box()
local function serving() b:put(1) return b:get(true, 5) == 1 end
local function server_fds()
  local n = 0
  for _ in io.popen("ls /proc/" .. m.pid .. "/fd"):lines() do n = n + 1 end
  return n
end

-- Connects raw; returns the socket once the server's challenge arrived.
local function raw()
  local s = assert(socket.tcp())
  assert(s:connect("127.0.0.1", port))
  s:settimeout(5)
  local hdr = assert(s:receive(4))
  local n = hdr:byte(1) << 24 | hdr:byte(2) << 16 | hdr:byte(3) << 8 | hdr:byte(4)
  assert(s:receive(n):find("^#CHALLENGE#"))
  return s
end

-- The server closes s within 'limit' seconds: returns the time it took.
local function closed_within(s, limit)
  local t0 = time.monotonic()
  s:settimeout(limit)
  local _, err = s:receive(1)
  local took = time.monotonic() - t0
  assert(err == "closed", "connection not closed (" .. tostring(err) .. ")")
  assert(took < limit, "closed after " .. took .. " s")
  s:close()
  return took
end

-- garbage: read as a frame header over the limit, dropped at once
local s = raw()
s:send(string.rep("\255garbage", 100))
closed_within(s, 2)
assert(serving())

-- a handshake message over the limit (256 bytes)
s = raw()
s:send(string.pack(">I4", 257) .. string.rep("x", 257))
closed_within(s, 2)

-- stopped half way through a message, and silence: the handshake timeout
s = raw()
s:send(string.pack(">I4", 40) .. "{sha256}")
assert(closed_within(s, 3) > 0.3)
s = raw()
assert(closed_within(s, 3) > 0.3)
assert(serving())

-- a wrong answer: told #FAILURE# and closed
s = raw()
s:send(string.pack(">I4", 40) .. "{sha256}" .. string.rep("\0", 32))
local hdr, e1 = s:receive(4)
assert(hdr, e1)
local msg, e2 = s:receive((string.unpack(">I4", hdr)))
assert(msg == "#FAILURE#", tostring(msg) .. " " .. tostring(e2))
closed_within(s, 2)

-- 1,000 connections at once, never answering: the server keeps at most
-- 64 handshakes (the oldest goes first) and serves a real client meanwhile
local conns = {}
for i = 1, 1000 do
  local c = assert(socket.tcp())
  c:settimeout(2)
  assert(c:connect("127.0.0.1", port))
  conns[i] = c
end
local t0 = time.monotonic()
assert(serving())
local m2 = managers.BaseManager{address = {"127.0.0.1", port}, authkey = "hostile"}
m2:register("box")
m2:connect()
assert(m2:box():qsize() == 0)
assert(time.monotonic() - t0 < 5)
assert(server_fds() < 150, "the server holds " .. server_fds() .. " descriptors")
for _, c in ipairs(conns) do c:close() end

-- a request over the frame limit (64 MiB) is refused before it is sent
local big = string.rep("x", (64 << 20) + 1)
local ok, err = pcall(b.put, b, big)
assert(not ok and err:find("over the frame limit"), err)
big = nil
assert(serving())
m:shutdown()
print("ok")

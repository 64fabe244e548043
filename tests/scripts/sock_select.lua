-- socket.select over several sockets waits without the GIL: the main
-- thread selects on three connected sockets; a thread, started once the
-- main thread says it is about to select, writes to the second one's
-- peer. Had select kept the GIL, the writer could not run and select
-- would time out (10 s). Then: nothing ready (times out, a spinner ran
-- meanwhile), already readable (returns at once), writable sockets.
-- run: --gil=on
-- run: --switch=interval:1
-- run: --switch=ticks:100
-- run: --switch=priority:1
-- run: --gil=off
-- timeout: 60
local socket, threading = require "socket", require "threading"
local time = require "time"

-- near[i] are the main thread's ends; far[i] their peers. far[2] belongs
-- to the writer thread (it connects itself: with --gil=off a socket
-- cannot be handed to another thread's interpreter).
local srv = assert(socket.bind("127.0.0.1", 0))
local _, port = srv:getsockname()
local selecting = threading.Event()
local writer = threading.Thread{target = function(port)
  local s = assert(require("socket").connect("127.0.0.1", port))
  assert(selecting:wait(10), "select never started")
  assert(s:send("two\n"))
  s:close()
end, args = {port}}
local near, far = {}, {}
for i = 1, 3 do
  if i == 2 then writer:start()
  else near[i] = assert(socket.connect("127.0.0.1", port)) end
  far[i] = assert(srv:accept())
  if i == 2 then near[2], far[2] = far[2], nil end
end
srv:close()

local function index_of(list, s)
  for i, x in ipairs(list) do if x == s then return i end end
end

-- 1. One becomes readable while select waits.
selecting:set()
local t0 = time.monotonic()
local r, _, err = socket.select(near, nil, 10)
local dt = time.monotonic() - t0
writer:join(10)
assert(err == nil and #r == 1 and index_of(near, r[1]) == 2,
       "select: " .. #r .. " ready, " .. tostring(err))
assert(dt < 9, "select saw the write only after " .. dt .. " s")
assert(near[2]:receive("*l") == "two")

-- 2. Nothing ready: times out after 0.5 s; a spinner ran meanwhile.
local waiting, spun = threading.Event(), threading.Event()
local spinner = threading.Thread{target = function()
  assert(waiting:wait(10))
  local n = 0
  for _ = 1, 100000 do n = n + 1 end
  spun:set()
end}
spinner:start()
waiting:set()
t0 = time.monotonic()
r, _, err = socket.select({near[1], near[3]}, nil, 0.5)   -- near[2]'s peer has closed
dt = time.monotonic() - t0
local was_spun = spun:is_set()
spinner:join(10)
assert(#r == 0 and err == "timeout", "expected a timeout, got " .. #r .. " " .. tostring(err))
assert(dt >= 0.45, "timed out after " .. dt .. " s")
assert(was_spun, "the spinner did not run while select waited")

-- 3. Already readable: at once, both of them.
assert(far[1]:send("a\n") and far[3]:send("c\n"))
socket.sleep(0.05)
r = socket.select(near, nil, 5)   -- near[2]: its peer closed, so readable too
assert(#r == 3 and r[near[1]] and r[near[3]], "expected all 3 (2 at end of stream), got " .. #r)

-- 4. Writable: every connected socket.
local _, w = socket.select(nil, near, 5)
assert(#w == 3, "expected 3 writable, got " .. #w)

for i = 1, 3 do near[i]:close(); if far[i] then far[i]:close() end end
print("sock_select ok")

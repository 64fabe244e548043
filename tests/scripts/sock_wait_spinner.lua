-- A thread blocked in LuaSocket (receive with a timeout, socket.sleep)
-- lets another thread spin meanwhile. Each case: the waiter sets
-- 'waiting' just before its call; the spinner waits for that, spins
-- 100,000 loops, then sets 'spun' (and, in the data case, sends the
-- line the waiter waits for). Had the waiter kept the GIL, the spinner
-- could not have run during the wait: 'spun' would be unset when the
-- call returns, and the data case would time out.
-- run: --gil=on
-- run: --switch=interval:1
-- run: --switch=ticks:100
-- run: --switch=priority:1
-- run: --gil=off
-- timeout: 60
local socket, threading, queue = require "socket", require "threading", require "queue"
local time = require "time"
local LOOPS = 100000

-- A connected pair on 127.0.0.1: returns the two sockets.
local function pair()
  local srv = assert(socket.bind("127.0.0.1", 0))
  local _, port = srv:getsockname()
  local a = assert(socket.connect("127.0.0.1", port))
  local b = assert(srv:accept())
  srv:close()
  return a, b
end

-- Runs wait() in this thread beside a spinner thread; 'port' (or
-- nil) is where the spinner connects and sends "go\n" after spinning.
local function beside_spinner(wait, port)
  local waiting, spun, counts = threading.Event(), threading.Event(), queue.Queue()
  local spinner = threading.Thread{target = function(port)
    assert(waiting:wait(10), "the waiter never started")
    local n = 0
    for _ = 1, LOOPS do n = n + 1 end
    spun:set()
    if port then
      local s = assert(require("socket").connect("127.0.0.1", port))
      s:send("go\n"); s:close()
    end
    counts:put(n)
  end, args = {port}}
  spinner:start()
  local t0 = time.monotonic()
  local r1, r2 = wait(function() waiting:set() end)
  local dt = time.monotonic() - t0
  local was_spun = spun:is_set()
  spinner:join(10)
  assert(counts:get(true, 1) == LOOPS)
  return was_spun, dt, r1, r2
end

-- 1. receive with a 1 s timeout, no data: times out, the spinner ran.
local a, b = pair()
a:settimeout(1)
local spun, dt, line, err = beside_spinner(function(announce)
  announce(); return a:receive("*l")
end)
assert(line == nil and err == "timeout", "receive: " .. tostring(line) .. " " .. tostring(err))
assert(spun, "the spinner did not run while receive waited")
assert(dt >= 0.9, "receive returned after " .. dt .. " s, before its timeout")
a:close(); b:close()

-- 2. accept (10 s timeout) and receive: the spinner, having spun, connects and sends.
local srv = assert(socket.bind("127.0.0.1", 0))
local _, port = srv:getsockname()
srv:settimeout(10)
spun, dt, line = beside_spinner(function(announce)
  announce()
  local c = assert(srv:accept())
  c:settimeout(10)
  local l, e = c:receive("*l")
  c:close()
  return l, e
end, port)
assert(line == "go", "got " .. tostring(line))
assert(spun and dt < 9, "the spinner's line came only after " .. dt .. " s")
srv:close()

-- 3. socket.sleep(0.5): the spinner ran; the sleep was not cut short.
spun, dt = beside_spinner(function(announce) announce(); socket.sleep(0.5) end)
assert(spun, "the spinner did not run while socket.sleep slept")
assert(dt >= 0.45, "socket.sleep(0.5) returned after " .. dt .. " s")

print("sock_wait_spinner ok")

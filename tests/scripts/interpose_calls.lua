-- Every blocking libc call gillua interposes for C modules lets go of the
-- GIL while it waits (vm/interpose.c), shown with a small C module
-- (tests/modules/blockmod.c, built beside the binary): the main thread
-- blocks in the module's read, write (to a full pipe), accept, recv,
-- poll, select, epoll_wait, usleep, nanosleep, clock_nanosleep, sleep and
-- waitpid; a spinner thread waits until the main thread says it is about
-- to block, spins 100,000 loops, sets 'spun', then (where the call waits
-- for it) unblocks the call. Had the call kept the GIL, the spinner could
-- not run: the timed calls would return with 'spun' unset, the others
-- would wait forever (each case has its own bound: 'timeout' kills it).
-- run: --gil=on
-- run: --switch=interval:1
-- run: --switch=ticks:100
-- run: --switch=priority:1
-- run: --gil=off
-- timeout: 60
local threading, time = require "threading", require "time"
local dir = assert(os.getenv("GILLUA"), "GILLUA not set"):match("^(.*)/")
local so = dir .. "/tests/blockmod.so"
assert(io.open(so), so .. " is missing: `make scripts` builds it")
package.cpath = dir .. "/tests/?.so;" .. package.cpath
local B = require "blockmod"

-- Runs wait() here beside the spinner; unblock(B, ...) (self-contained,
-- it may travel to another interpreter) runs in the spinner after its loops.
local function beside_spinner(name, wait, unblock, ...)
  local waiting, spun = threading.Event(), threading.Event()
  local spinner = threading.Thread{target = function(cpath, unblock, ...)
    package.cpath = cpath
    assert(waiting:wait(10), "the waiter never started")
    local n = 0
    for _ = 1, 100000 do n = n + 1 end
    spun:set()
    if unblock then unblock(require "blockmod", ...) end
  end, args = {package.cpath, unblock, ...}}
  spinner:start()
  waiting:set()
  local t0 = time.monotonic()
  local result = wait()
  local dt = time.monotonic() - t0
  local was_spun = spun:is_set()
  spinner:join(10)
  assert(not spinner:is_alive(), name .. ": the spinner is stuck")
  assert(was_spun, name .. ": the spinner did not run while the call waited")
  return result, dt
end

local r, w = B.pipe()
local got = beside_spinner("read", function() return B.read(r, 5) end,
                           function(B, w) B.write(w, "hello") end, w)
assert(got == "hello", "read: " .. tostring(got))

assert(B.fill(w) > 0)
got = beside_spinner("write", function() return B.write(w, "x") end,
                     function(B, r) for _ = 1, 100 do B.read(r, 256) end end, r)
assert(got == 1, "write: " .. tostring(got))
B.close(r); B.close(w)

local lfd, port = B.listen()
local afd = beside_spinner("accept", function() return B.accept(lfd) end,
                           function(B, port) B.close(B.connect(port)) end, port)
assert(afd >= 0); B.close(afd)

local cfd = B.connect(port)
afd = B.accept(lfd)
got = beside_spinner("recv", function() return B.recv(afd) end,
                     function(B, cfd) B.send(cfd, "hi") end, cfd)
assert(got == "hi", "recv: " .. tostring(got))
B.close(afd); B.close(cfd); B.close(lfd)

for _, call in ipairs{"poll", "select", "epoll_wait"} do
  r, w = B.pipe()
  got = beside_spinner(call, function() return B[call](r, 10000) end,
                       function(B, w) B.write(w, "!") end, w)
  assert(got == 1, call .. ": " .. tostring(got))
  B.close(r); B.close(w)
end

-- timed waits with nothing to wait for: they last their time, the spinner ran
r, w = B.pipe()
local _, dt = beside_spinner("poll with a timeout", function() return B.poll(r, 300) end)
assert(dt >= 0.29, "poll(300 ms) returned after " .. dt .. " s")
B.close(r); B.close(w)
for _, case in ipairs{{"usleep", 300000}, {"nanosleep", 0.3}, {"clock_nanosleep", 0.3}, {"sleep", 1}} do
  local call, arg = case[1], case[2]
  _, dt = beside_spinner(call, function() return B[call](arg) end)
  local want = call == "sleep" and 1 or 0.3
  assert(dt >= want - 0.01, call .. " returned after " .. dt .. " s")
end

local pid = B.spawn("sleep 0.3; exit 7")
got = beside_spinner("waitpid", function() return B.waitpid(pid) end)
assert(got == 7, "waitpid: exit status " .. tostring(got))

-- errors come back as the real calls give them (errno kept)
local ok, err = pcall(B.read, 12345)
assert(not ok and err:find("read: Bad file descriptor", 1, true), err)
ok, err = pcall(B.waitpid, 999999999)
assert(not ok and err:find("waitpid: No child processes", 1, true), err)
lfd, port = B.listen()
B.close(lfd)                                   -- nobody listens there now
ok, err = pcall(B.connect, port)               -- a blocking connect, made non-blocking for the wait
assert(not ok and err:find("connect: Connection refused", 1, true), err)

print("interpose_calls ok")

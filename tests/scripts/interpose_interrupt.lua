-- Ctrl-C (SIGINT) ends the main thread's wait inside any interposed call
-- of a C module (tests/modules/blockmod.c): read of an empty pipe, a
-- write to a full one, accept, recv, poll, select and epoll_wait without
-- a timeout, usleep, nanosleep, clock_nanosleep, sleep, waitpid of a
-- child that lives 20 s (the others would wait 60 s or forever). gillua
-- exits 130 with "interrupted", well before the calls would end. Both GIL
-- modes; all cases at once (a blocked
-- child uses no CPU): one shell starts each, waits for its READY, sends
-- SIGINT and records the exit status.
-- run: --gil=on
-- timeout: 60
local gillua = assert(os.getenv("GILLUA"), "GILLUA not set")
local time = require "time"
local cpath = gillua:match("^(.*)/") .. "/tests/?.so"
assert(io.open((cpath:gsub("%?", "blockmod"))), "blockmod.so is missing: `make scripts` builds it")

local cases = {
  read = "local r, w = B.pipe(); ready(); B.read(r)",
  write = "local r, w = B.pipe(); B.fill(w); ready(); B.write(w, 'x')",
  accept = "local l = B.listen(); ready(); B.accept(l)",
  recv = "local l, port = B.listen(); local c = B.connect(port); local a = B.accept(l); ready(); B.recv(a)",
  poll = "local r, w = B.pipe(); ready(); B.poll(r, -1)",
  select = "local r, w = B.pipe(); ready(); B.select(r, 60000)",
  epoll_wait = "local r, w = B.pipe(); ready(); B.epoll_wait(r, -1)",
  usleep = "ready(); B.usleep(60000000)",
  nanosleep = "ready(); B.nanosleep(60)",
  clock_nanosleep = "ready(); B.clock_nanosleep(60)",
  sleep = "ready(); B.sleep(60)",
  waitpid = "local pid = B.spawn('exec sleep 20'); ready(); B.waitpid(pid)",   -- ends by itself
}

local I = dofile("tests/lib/interrupt.lua")
local t0 = time.monotonic()
local results = I.run{cases = cases, parallel = true, delay = "0.1",
  prelude = string.format("package.cpath = %q .. ';' .. package.cpath; B = require 'blockmod'", cpath)}
local dt = time.monotonic() - t0
local failures = {}
for _, r in ipairs(results) do
  if not I.interrupted(r) then failures[#failures + 1] = I.describe(r) end
end
assert(#failures == 0, table.concat(failures, "\n"))
assert(dt < 15, "took " .. dt .. " s (waitpid's child lives 20 s)")
print("interpose_interrupt ok")

-- Ctrl-C (SIGINT) interrupts the main thread waiting in LuaSocket
-- (socket.sleep, accept, receive, select, all without a timeout, also
-- with another thread sleeping in LuaSocket): gillua exits
-- 130 with "interrupted", well before the 30 s the calls would last.
-- Each case runs a child gillua, waits for its READY, sends SIGINT
-- (tests/lib/interrupt.lua).
-- run: --gil=on
-- timeout: 60
local I = dofile("tests/lib/interrupt.lua")
local results = I.run{
  prelude = [[local socket = require "socket"
local srv = assert(socket.bind("127.0.0.1", 0)); local _, port = srv:getsockname()]],
  cases = {
    sleep = [[ready(); socket.sleep(30)]],
    accept = [[ready(); srv:accept()]],
    receive = [[local a = socket.connect("127.0.0.1", port); local b = srv:accept(); ready(); a:receive("*l")]],
    select = [[ready(); socket.select({srv}, nil)]],
    thread_busy = [[local th = require "threading"
      local t = th.Thread{target = function() require("socket").sleep(60) end, daemon = true}
      t:start(); ready(); srv:accept()]],
  },
}
local failures = {}
for _, r in ipairs(results) do
  if not I.interrupted(r) or not r.err:find("interrupted", 1, true) then
    failures[#failures + 1] = I.describe(r)
  elseif r.ms > 5000 then
    failures[#failures + 1] = "exit only " .. r.ms .. " ms after SIGINT: " .. I.describe(r)
  end
end
assert(#failures == 0, table.concat(failures, "\n"))
print("sock_interrupt ok; " .. I.latency(results))

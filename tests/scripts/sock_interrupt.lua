-- Ctrl-C (SIGINT) interrupts the main thread waiting in LuaSocket
-- (socket.sleep, accept, receive, select, all without a timeout, also
-- with another thread sleeping in LuaSocket): gillua exits
-- 130 with "interrupted", well before the 30 s the calls would last.
-- Each case runs a child gillua, waits for its READY, sends SIGINT.
-- run: --gil=on
-- timeout: 60
local bin = assert(os.getenv("GILLUA"), "GILLUA not set")
local setup = [[local socket = require "socket"
local srv = assert(socket.bind("127.0.0.1", 0)); local _, port = srv:getsockname()
local function ready() io.stdout:write("READY\n"); io.stdout:flush() end
]]
local cases = {
  sleep = [[ready(); socket.sleep(30)]],
  accept = [[ready(); srv:accept()]],
  receive = [[local a = socket.connect("127.0.0.1", port); local b = srv:accept(); ready(); a:receive("*l")]],
  select = [[ready(); socket.select({srv}, nil)]],
  thread_busy = [[local th = require "threading"
    local t = th.Thread{target = function() require("socket").sleep(60) end, daemon = true}
    t:start(); ready(); srv:accept()]],
}
local failures, latency = {}, {}
for _, flags in ipairs({"--gil=on", "--gil=off"}) do
  for name, code in pairs(cases) do
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(setup, code, "\nprint('not interrupted')\n")
    f:close()
    local cmd = string.format(
      [[sh -c '%s %s %s > %s.out 2>%s.err & pid=$!; i=0; while ! grep -q READY %s.out 2>/dev/null; do sleep 0.05; i=$((i+1)); [ $i -gt 200 ] && break; done; sleep 0.2; t0=$(date +%%s%%N); kill -INT $pid; wait $pid; rc=$?; echo $rc $(( ($(date +%%s%%N) - t0) / 1000000 ))']],
      bin, flags, script, script, script, script)
    local p = io.popen(cmd)
    local rc, ms = p:read("n", "n")
    p:close()
    latency[#latency + 1] = ms or -1
    local ef = io.open(script .. ".err"); local err = ef and ef:read("a") or ""; if ef then ef:close() end
    if rc ~= 130 or not err:match("interrupted") then
      failures[#failures + 1] = string.format("%s %s: exit %s, stderr: %s", flags, name, tostring(rc), err)
    elseif ms > 5000 then
      failures[#failures + 1] = string.format("%s %s: exit only %d ms after SIGINT", flags, name, ms)
    end
    os.remove(script); os.remove(script .. ".out"); os.remove(script .. ".err")
  end
end
assert(#failures == 0, table.concat(failures, "\n"))
table.sort(latency)
-- Ctrl-C to exit, in ms (includes process exit); printed for the record.
print("sock_interrupt ok; SIGINT-to-exit ms: median " .. latency[#latency // 2 + 1] .. ", max " .. latency[#latency])

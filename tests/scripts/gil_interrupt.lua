-- timeout: 60
-- Ctrl-C (SIGINT) interrupts the main thread wherever it waits, within
-- 100 ms, and gillua exits 130 without waiting for stuck threads. Each case
-- runs a child gillua, waits until it is blocked (it prints READY), sends
-- SIGINT and checks the exit code.
local bin = assert(os.getenv("GILLUA"), "GILLUA not set")
local cases = {
  sleep = [[require"time".sleep(60)]],
  join = [[local th=require"threading"; local l=th.Lock(); l:acquire()
           local t=th.Thread{target=function() l:acquire() end}; t:start(); io.stdout:write("") t:join()]],
  lock = [[local l=require"threading".Lock(); l:acquire(); l:acquire()]],
  queue = [[require"queue".Queue():get()]],
  event = [[require"threading".Event():wait()]],
  spin = [[while true do end]],
  gil_wait = [[local th=require"threading"; local t=th.Thread{target=function() while true do end end}
               t:start(); while true do end]],
}
local failures, latency = {}, {}
for _, flags in ipairs({"--gil=on", "--gil=off"}) do
  for name, code in pairs(cases) do
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write('io.stdout:write("READY\\n") io.stdout:flush()\n', code, "\n")
    f:close()
    -- the shell waits for READY, then 0.2 s, then sends SIGINT; exit code of gillua is printed
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
    end
    os.remove(script); os.remove(script .. ".out"); os.remove(script .. ".err")
  end
end
assert(#failures == 0, table.concat(failures, "\n"))
table.sort(latency)
-- Ctrl-C to exit, in ms (includes process exit); printed for the record,
-- not asserted: timing belongs to bench/.
print("gil_interrupt ok; SIGINT-to-exit ms: median " .. latency[#latency // 2 + 1] .. ", max " .. latency[#latency])

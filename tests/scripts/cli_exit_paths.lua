-- timeout: 90
-- The way out of the program reports what goes wrong on it:
--   * Ctrl-C while gillua joins the non-daemon threads at the end of the
--     script (or in os.exit) prints "gillua: interrupted" and exits 130
--     (it used to exit 130 silently);
--   * a --trace file that cannot be written (/dev/full) is an error: the
--     message and exit status 1 (it used to exit 0).
-- Deterministic: the signal is sent once a thread has seen the main
-- program end (main_thread():join() returned) and created the file ready.
-- It goes to gillua alone (not to timeout(1), which would pass it to the
-- whole process group, children included).
local T = dofile("tests/lib/cli.lua")

local function interrupt(args)
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = T.q(a) end
  local out = T.shell(string.format([[
rm -f ready
timeout -k 5 60 "$GILLUA" %s >out 2>err </dev/null & pid=$!
while [ ! -e ready ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -INT $(pgrep -P $pid) 2>/dev/null
wait $pid
echo "status=$?"
]], table.concat(quoted, " ")))
  return { code = tonumber(out:match("status=(%d+)")), out = T.read(T.dir() .. "/out") or "",
           err = T.read(T.dir() .. "/err") or "", cmd = "gillua " .. table.concat(quoted, " ") }
end

local STUCK = [[
local th = require "threading"
th.Thread{target = function()
  require("threading").main_thread():join()
  io.open("ready", "w"):close()
  while true do end
end}:start()
]]

T.main(function()
  T.dir()
  for _, flags in ipairs({"--gil=on", "--gil=off"}) do
    T.write("end.lua", STUCK .. "print('main done')\n")
    local r = interrupt({flags, "end.lua"})
    T.expect(r, {code = 130, out = "main done\n", err = "gillua: interrupted\n"}, flags .. " end of script")
    T.write("exit.lua", STUCK .. "os.exit(0)\n")
    r = interrupt({flags, "exit.lua"})
    T.expect(r, {code = 130, err = "gillua: interrupted\n"}, flags .. " os.exit")
    -- os.exit in a thread: that thread joins the stuck one and must answer
    -- Ctrl-C, which only the (parked) main thread receives
    T.write("exit_in_thread.lua", [[
local th = require "threading"
local main_gone = th.Event()
th.Thread{target = function(main_gone)
  require("threading").main_thread():join()
  main_gone:set()
  io.open("ready", "w"):close()
  while true do end
end, args = {main_gone}}:start()
local mp = require "multiprocessing"
local q = mp.Queue()
mp.Process{daemon = true, target = function(q) q:put(require("os").getpid()); require("time").sleep(60) end,
           args = {q}}:start()
io.open("daemon.pid", "w"):write(q:get(20)):close()
th.Thread{target = function() os.exit(0) end}:start()
assert(main_gone:wait(20))
]])
    r = interrupt({flags, "exit_in_thread.lua"})
    T.expect(r, {code = 130, err_has = "gillua: interrupted\n"}, flags .. " os.exit in a thread")
    -- the thread running the way out saw the Ctrl-C and stopped the daemon child
    local pid = assert(tonumber(T.read(T.dir() .. "/daemon.pid")))
    assert(os.execute("kill -0 " .. pid .. " 2>/dev/null") ~= true, flags .. ": the daemon child outlived gillua")
  end

  local r = T.run{args = {"--trace=/dev/full", "-e", "print('ran')"}}
  T.expect(r, {code = 1, out = "ran\n", err_match = "^gillua: trace: cannot write '/dev/full': No space left on device\n$"},
           "--trace=/dev/full")
  r = T.run{args = {"--trace=/dev/full", "-e", "os.exit(0)"}}
  T.expect(r, {code = 1, err_has = "cannot write '/dev/full'"}, "--trace=/dev/full with os.exit")
  r = T.run{args = {"--trace=/dev/full", "-e", "error('boom')"}}
  T.expect(r, {code = 1, err_has = {"boom", "cannot write '/dev/full'"}}, "--trace=/dev/full after an error")
  r = T.run{args = {"--trace=trace.json", "-e", "print('ran')"}}
  T.expect(r, {code = 0, out = "ran\n", err = ""}, "a trace that is written")
end)

-- Ctrl-C in a parent with children: a stuck non-daemon child, a daemon
-- child, a Pool and a Manager. The parent (blocked in join) exits 130
-- promptly and leaves no child running (no orphans) and none unreaped
-- (it waits for them before it exits). And at a normal exit, daemon
-- children are terminated while non-daemon ones are joined.
local T = dofile("tests/lib/cli.lua")

local PROG = [[
local mp = require "multiprocessing"
local ev = mp.Event()
local stuck = mp.Process{target = function() while true do ev:wait(10) end end}
local daemon = mp.Process{target = function() while true do ev:wait(10) end end, daemon = true}
stuck:start(); daemon:start()
local pool = mp.Pool(2)
local mg = mp.Manager()
local f = io.open("pids", "w")
f:write(stuck.pid, " ", daemon.pid, " ", pool.pids[1], " ", pool.pids[2], " ", mg.pid, "\n")
f:close()
io.open("ready", "w"):close()
stuck:join()
]]

T.main(function()
  T.dir()
  T.write("prog.lua", PROG)
  local out = T.shell([[
rm -f ready pids
"$GILLUA" prog.lua >out 2>err </dev/null & pid=$!
while [ ! -e ready ] && kill -0 $pid 2>/dev/null; do sleep 0.01; done
kill -INT $pid
wait $pid
echo "status=$?"
alive=0
for c in $(cat pids); do kill -0 $c 2>/dev/null && alive=$((alive+1)); done
echo "alive=$alive"
]])
  local err = T.read(T.dir() .. "/err") or ""
  assert(out:match("status=130"), out .. err)
  assert(out:match("alive=0"), "children left running: " .. out)
  local pids = T.read(T.dir() .. "/pids")
  local n = 0
  for _ in pids:gmatch("%d+") do n = n + 1 end
  assert(n == 5, pids)

  -- normal exit: the daemon child is terminated, the other joined
  T.write("exit.lua", [[
local mp = require "multiprocessing"
local ev = mp.Event()
local d = mp.Process{daemon = true, target = function() while true do ev:wait(10) end end}
local w = mp.Process{target = function() ev:wait(10); print("worker done") end}
d:start(); w:start()
io.open("dpid", "w"):write(d.pid):close()
ev:set()
]])
  local r = T.run{ args = { "exit.lua" } }
  assert(r.code == 0 and r.out == "worker done\n", r.out .. r.err)
  local dpid = T.read(T.dir() .. "/dpid")
  local check = T.shell("kill -0 " .. dpid .. " 2>/dev/null && echo alive || echo gone")
  assert(check:match("gone"), "daemon child still running")
end)

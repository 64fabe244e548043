-- timeout: 60
-- At the end of the main program non-daemon threads are joined and daemon
-- threads are abandoned (a daemon spinning forever must not keep gillua
-- alive), with the GIL on and off. Each case runs a child gillua.
local bin = assert(os.getenv("GILLUA"), "GILLUA not set")
local function run(flags, code)
  local script = os.tmpname()
  local f = assert(io.open(script, "w")); f:write(code); f:close()
  local p = io.popen(string.format("timeout 20 %s %s %s 2>&1; echo \"exit=$?\"", bin, flags, script))
  local out = p:read("a"); p:close()
  os.remove(script)
  return out
end
for _, flags in ipairs({"--gil=on", "--gil=off", "--gil=on --switch=interval:1"}) do
  local out = run(flags, [[
    local th = require "threading"
    th.Thread{daemon = true, target = function() while true do end end}:start()
    local ev = th.Event()
    local t = th.Thread{target = function(ev) ev:wait(10); print("non-daemon finished") end, args = {ev}}
    t:start()
    print("main done")
    ev:set()
  ]])
  assert(out == "main done\nnon-daemon finished\nexit=0\n", flags .. ": " .. out)
end
print("thread_exit ok")

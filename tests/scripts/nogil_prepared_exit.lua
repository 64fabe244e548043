-- timeout: 60
-- GIL off, a parked OS thread prepares the next thread's interpreter
-- (docs/threading.md, "What a thread costs"); the exit path closes one
-- that no thread took (under asan, the leak check sees what it frees).
-- Each way out works with one prepared: the main program's end, os.exit
-- from the main thread and from a thread, an uncaught error, a daemon
-- thread still running. Each case runs a child gillua.
local bin = assert(os.getenv("GILLUA"), "GILLUA not set")
local function run(code)
  local script = os.tmpname()
  local f = assert(io.open(script, "w")); f:write(code); f:close()
  local p = io.popen(string.format("timeout 20 %s --gil=off %s 2>&1; echo \"exit=$?\"", bin, script))
  local out = p:read("a"); p:close()
  os.remove(script)
  return out
end
local prelude = [[
  local th = require "threading"
  for i = 1, 3 do   -- the last one's OS thread parks and prepares
    local t = th.Thread{target = function() end}
    t:start(); assert(t:join(10))
  end
]]
local cases = {
  {"print('end')", "end\nexit=0\n"},
  {"io.stdout:write('x\\n') os.exit(3)", "x\nexit=3\n"},
  {"th.Thread{target = function() os.exit(4) end}:start() th.Event():wait(10)", "exit=4\n"},
  {"error('boom', 0)", "boom"},
  {"th.Thread{daemon = true, target = function() while true do end end}:start() print('left')",
   "left\nexit=0\n"},
}
for i, c in ipairs(cases) do
  local out = run(prelude .. c[1])
  assert(out:find(c[2], 1, true), ("case %d: %q"):format(i, out))
  if c[2] == "boom" then assert(out:find("exit=1\n", 1, true), out) end
end
print("nogil_prepared_exit ok")

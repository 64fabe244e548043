-- run: --switch=interval:1
-- run: --switch=bytecodes:1
-- timeout: 120
-- A thread that recurses until "stack overflow" while another thread
-- wants the GIL. Arming the count hook walks every frame of the stack
-- (lua_sethook), and under interval:1 the waiter re-sends its request
-- every millisecond: re-arming an already armed state used to keep the
-- deep thread in its signal handler forever (Lua 5.4.4's locals.lua hung
-- there). Now it finishes like lua5.4 does.
local threading = require "threading"
local spinning = threading.Event()
local stop = false
local spinner = threading.Thread{target = function()
  spinning:set()
  while not stop do end
end}
spinner:start()
assert(spinning:wait(20), "spinner did not start")

local function overflow(n) return 1 + overflow(n + 1) end
-- Three rounds; one under the sanitizers, where each re-arm of a 200k-frame
-- stack is ~20x slower (a tsan run took 16-36 s for three rounds).
local sanitized = (os.getenv("GILLUA") or ""):find("/[at]san/") ~= nil
for round = 1, sanitized and 1 or 3 do
  local co = coroutine.wrap(function()
    local ok, msg = xpcall(overflow, function(m) return m end, 0)
    return ok, msg
  end)
  local ok, msg = co()
  assert(not ok and tostring(msg):find("stack overflow"), tostring(msg))
end
stop = true
assert(spinner:join(20), "spinner did not stop")
print("gil_deep_stack ok")

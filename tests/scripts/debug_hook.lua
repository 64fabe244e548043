-- debug.sethook / debug.gethook next to the GIL's own hook
-- (runtime/ldbhook.c): a script's hook survives GIL switches, and a
-- thread with a hook still lets go of the GIL.
-- run: --gil=on
-- run: --gil=on --switch=bytecodes:3
-- run: --gil=on --switch=interval:1
-- run: --gil=on --switch=ticks:3
-- run: --gil=on --switch=priority:1
-- run: --gil=off
local threading = require "threading"
local queue = require "queue"
local joined = dofile("tests/lib/expect.lua").joined

-- Same results as Lua's own debug library, in one thread.
local events = {}
local function f(a) return a + 1 end
debug.sethook(function(e, l) events[#events + 1] = e .. ":" .. tostring(l) end, "crl")
f(1)
debug.sethook()
assert(table.concat(events, " ") ==
  "return:nil line:18 call:nil line:16 return:nil line:19 call:nil", table.concat(events, " "))
local n = 0
debug.sethook(function() n = n + 1 end, "", 7)
for _ = 1, 1000 do end
debug.sethook()
assert(n == 334, "count hook every 7 instructions fired " .. n .. " times (lua5.4: 334)")
assert(debug.gethook() == nil, "no hook after debug.sethook()")

-- A spinning thread with a hook: main must still get the GIL to stop it,
-- and afterwards the thread's hook must still be its own and still fire.
for _, mask in ipairs({ "", "l", "c" }) do
  local started, stop, results = threading.Event(), threading.Event(), queue.Queue()
  local t = threading.Thread{ target = function()
    local fired = 0
    local function hook()
      fired = fired + 1
      if fired == 50 then started:set() end
    end
    local function step(x) return x + 1 end
    debug.sethook(hook, mask, mask == "" and 100 or 0)
    local x, at_stop = 0, nil
    while not stop:is_set() do x = step(x) end
    at_stop = fired
    for _ = 1, 2000 do x = step(x) end   -- the hook fires on after the switch
    local h, m, c = debug.gethook()
    debug.sethook()
    results:put({ same = h == hook, mask = m, count = c, at_stop = at_stop, fired = fired })
  end }
  t:start()
  assert(started:wait(20), "mask '" .. mask .. "': the hook never fired 50 times")
  stop:set()   -- needs the GIL: the spinning thread must have let go
  joined(t)
  local r = results:get(false)
  assert(r.same, "mask '" .. mask .. "': the thread's hook was replaced")
  assert(r.mask == mask, "mask '" .. mask .. "': gethook gave mask '" .. tostring(r.mask) .. "'")
  assert(r.count == (mask == "" and 100 or 0), "count " .. tostring(r.count))
  assert(r.fired > r.at_stop, "mask '" .. mask .. "': the hook stopped firing after the switch")
end
print("ok")

-- run: --switch=bytecodes:100
-- run: --switch=bytecodes:1
-- run: --switch=interval:1
-- run: --switch=ticks:100
-- run: --switch=priority:1
-- timeout: 30
-- A thread that spins inside coroutine.resume (and coroutine.wrap) must
-- still give up the GIL: otherwise the main thread could never run to set
-- 'stop', and this test would hang instead of finishing.
local threading = require "threading"
stop = false
local inside = {threading.Event(), threading.Event()}
local function spinner(use_wrap, k)
  return function()
    local body = function() inside[k]:set() while not stop do end return "done" end
    if use_wrap then
      return assert(coroutine.wrap(body)() == "done")
    end
    local co = coroutine.create(body)
    local ok, res = coroutine.resume(co)
    assert(ok and res == "done", tostring(res))
  end
end
local a = threading.Thread{target = spinner(false, 1)}
local b = threading.Thread{target = spinner(true, 2)}
a:start(); b:start()
-- both spin inside a coroutine now; main needs the GIL back to go on
assert(inside[1]:wait(20) and inside[2]:wait(20))
local x = 0
for i = 1, 1000 do x = x + i end
stop = true
assert(a:join(20) and b:join(20), "spinners did not stop")
assert(a.error == nil and b.error == nil, tostring(a.error or b.error))
local s = require("gil").stats()
assert(s.switches > 0 and s.forced_switches > 0, "no forced switch happened")
print("gil_coroutine_switch ok", s.switches)

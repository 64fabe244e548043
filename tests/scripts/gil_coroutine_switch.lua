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
spins = {0, 0}
local inside = {threading.Event(), threading.Event()}
local function spinner(use_wrap, k)
  return function()
    local body = function()
      inside[k]:set()
      while not stop do spins[k] = spins[k] + 1 end
      return "done"
    end
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
-- both spin inside a coroutine now; main needs the GIL back to go on.
-- Main itself spins until both have counted: with the GIL that takes
-- switches forced by the count hook both ways, whichever way the GIL
-- first came back to main (a spinner may have let go of it in set()).
assert(inside[1]:wait(20) and inside[2]:wait(20))
local monotonic, t0 = require("time").monotonic, require("time").monotonic()
while (spins[1] == 0 or spins[2] == 0) and monotonic() - t0 < 20 do end
assert(spins[1] > 0 and spins[2] > 0, "a spinner never ran")
stop = true
assert(a:join(20) and b:join(20), "spinners did not stop")
assert(a.error == nil and b.error == nil, tostring(a.error or b.error))
local s = require("gil").stats()
assert(s.switches > 0 and s.forced_switches > 0, "no forced switch happened")
print("gil_coroutine_switch ok", s.switches)

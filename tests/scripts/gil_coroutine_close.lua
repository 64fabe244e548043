-- run: --switch=bytecodes:100
-- run: --switch=interval:1
-- timeout: 40
-- A coroutine's __close handlers run on the coroutine's own state when
-- coroutine.close closes it, and when a coroutine.wrap coroutine dies of
-- an error. A thread spinning inside such a handler must still give up
-- the GIL: the arm signal has to reach the coroutine's state, not the
-- one that called close. Otherwise the main thread could never run to
-- set 'stop', and this test would hang.
local threading = require "threading"
stop = false
local inside = {threading.Event(), threading.Event()}
local function spin_closer(k)
  return setmetatable({}, {__close = function() inside[k]:set() while not stop do end end})
end
local closer = threading.Thread{target = function()
  local co = coroutine.create(function()
    local x <close> = spin_closer(1)
    coroutine.yield()
  end)
  assert(coroutine.resume(co))
  assert(coroutine.close(co) == true)
end}
local wrapper = threading.Thread{target = function()
  local w = coroutine.wrap(function()
    local x <close> = spin_closer(2)
    error("boom")
  end)
  local ok, err = pcall(w)
  assert(not ok and err:find("boom"), tostring(err))
end}
closer:start(); wrapper:start()
assert(inside[1]:wait(20) and inside[2]:wait(20), "handlers did not start")
-- both spin inside a __close handler now; main needs the GIL back to go on
stop = true
assert(closer:join(20) and wrapper:join(20), "spinners did not stop")
assert(closer.error == nil and wrapper.error == nil, tostring(closer.error or wrapper.error))
print("gil_coroutine_close ok")

-- run: --gil=off
-- A GIL-off thread's fresh universe opens the threading module on demand,
-- as the main universe does (docs/threading.md, "What a thread costs"):
-- not loaded while the thread's code has not asked for it, opened by its
-- require "threading" (then current_thread() is this thread), and opened
-- by a value that needs it (an Event in args) before the target runs.
local threading = require "threading"

local function check(what, t)
  t:start()
  assert(t:join(30), what .. ": join timed out")
  assert(t.error == nil, what .. ": " .. tostring(t.error))
end

check("on demand", threading.Thread{name = "lazy", target = function()
  assert(package.loaded.threading == nil, "threading loaded before the thread asked")
  local th = require "threading"
  local me = th.current_thread()
  assert(me.name == "lazy", me.name)
  assert(me.ident == th.get_ident() and me:is_alive())
  assert(th.Event and th.Lock and th.Condition and th.Thread, "the module is incomplete")
end})

local ev = threading.Event()
check("by a value", threading.Thread{target = function(e)
  assert(package.loaded.threading ~= nil, "an Event arrived without its module")
  e:set()
end, args = {ev}})
assert(ev:is_set())
print("nogil_thread_modules ok")

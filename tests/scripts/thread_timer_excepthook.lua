-- run: --gil=on
-- run: --gil=off
-- expect-stderr: ^Exception in threading%.excepthook:%shook broke%sstack traceback:.*Exception in thread Default:%sboom%sstack traceback:
-- threading.Timer(interval, f, args) with cancel(), and threading.excepthook:
-- called with {exc_type, exc_value, exc_traceback, message, thread} for a
-- thread that dies of an error (t.error is set either way); the default
-- (threading.__excepthook__) prints "Exception in thread NAME:" and the
-- traceback; a hook that fails is reported too. With the GIL off a thread
-- gets (a copy of) the hook set when it was started.
local th = require "threading"
local time = require "time"
local queue = require "queue"
local check_join = dofile("tests/lib/expect.lua").joined
local expect_error = dofile("tests/lib/expect.lua").error

-- Timer fires after the interval with its arguments
local q = queue.Queue()
local t0 = time.monotonic()
local tm = th.Timer(0.05, function(q, a, b) q:put(a + b) end, {q, 2, 3})
assert(tm.interval == 0.05 and not tm.finished:is_set())
tm:start()
assert(q:get(true, 20) == 5)
check_join(tm)
assert(time.monotonic() - t0 >= 0.04, "fired before its interval")
assert(tm.finished:is_set())
-- cancel() before it fires: the function never runs, the thread ends at once
local c = th.Timer(60, function(q) q:put("fired") end, {q})
c:start()
c:cancel()
check_join(c, 10)
assert(q:qsize() == 0, "a cancelled timer fired")
-- cancel before start
local c2 = th.Timer(0, function(q) q:put("fired") end, {q})
c2:cancel(); c2:start(); check_join(c2)
assert(q:qsize() == 0)
-- args.n is honoured and checked
th.Timer(0, function(q, x, y) q:put(y == nil and x == 1) end, {n = 2, q, 1}):start()
assert(q:get(true, 20) == true)
local bad = th.Timer(0, print, {n = -1})
expect_error("args.n must be between 0 and 999000 %(got %-1%)", bad.start, bad)
expect_error("interval must be a number %(got string%)", th.Timer, "1", print)
local neg = th.Timer(-5, function(q) q:put("at once") end, {q})   -- as Python: wait(-5) is wait(0)
neg:start(); check_join(neg)
assert(q:get(true, 20) == "at once")
expect_error("function expected, got number", th.Timer, 1, 5)
assert(tostring(th.Timer(1, print)):find("^<Thread%(Thread%-%d+, initial%)>$"))

-- excepthook
assert(th.excepthook == th.__excepthook__)
local function fails(name, err) 
  local t = th.Thread{name = name, target = function() error(err, 0) end}
  t:start(); assert(t:join(20))
  return t
end
th.excepthook = function(args)
  args.thread.hooked = true     -- seen only in the thread's own interpreter with the GIL off
  require("queue")   -- keep the hook working in a fresh interpreter
  q:put({args.exc_type, args.exc_value, args.message, args.thread.name,
         (args.exc_traceback:find("^stack traceback:")) ~= nil})
end
local t = fails("Custom", "custom error")
local r = q:get(true, 20)
assert(r[1] == "string" and r[2] == "custom error" and r[3] == "custom error" and r[4] == "Custom" and r[5], tostring(r[1]) .. "," .. tostring(r[3]) .. "," .. tostring(r[4]) .. "," .. tostring(r[5]))
assert(t.error == "custom error")
-- a non-string error object reaches the hook as it was raised
local obj = setmetatable({}, {__tostring = function() return "an object" end})
fails("Obj", obj)
r = q:get(true, 20)
assert(r[1] == "table" and r[3] == "an object")
-- a hook that fails is reported, the thread's error stays
th.excepthook = function() error("hook broke", 0) end
t = fails("Broken", "x")
assert(t.error == "x")
-- back to the default: prints (checked by expect-stderr above)
th.excepthook = th.__excepthook__
t = fails("Default", "boom")
assert(t.error == "boom")
print("thread_timer_excepthook ok")

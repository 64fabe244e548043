-- run: --gil=on
-- run: --gil=off
-- expect-stderr: Exception in thread Boom:%s+[^%c]*thread_error.lua:%d+: kaboom 42%s+stack traceback:
-- An uncaught error in a thread is reported on stderr as Python does, kept
-- in .error, and the program goes on (exit 0).
local threading = require "threading"
local t = threading.Thread{name = "Boom", target = function(n) error("kaboom " .. n) end, args = {42}}
t:start()
assert(t:join(10))
assert(t.error and t.error:match("thread_error.lua:%d+: kaboom 42$"), tostring(t.error))
local ok_t = threading.Thread{target = function() end}
ok_t:start()
ok_t:join()
assert(ok_t.error == nil)
-- a non-string error object
local o = threading.Thread{target = function() error({code = 1}) end}
o:start()
o:join()
assert(o.error == "(error object is a table value)", o.error)
print("thread_error ok")

-- run: --gil=on
-- run: --gil=off
-- Misusing a Thread raises clear errors and never crashes.
local threading = require "threading"

local fails = dofile("tests/lib/expect.lua").error

local t = threading.Thread{target = function() end}
fails("cannot join thread before it is started", t.join, t)
t:start()
fails("threads can only be started once", t.start, t)
assert(t:join(10))
fails("cannot join current thread", function() threading.current_thread():join() end)
fails("target must be a function", threading.Thread, {target = 42})
fails("args must be a table", threading.Thread, {target = print, args = "x"})
fails("unknown option 'targt'", threading.Thread, {targt = print})
fails("name must be a string", threading.Thread, {name = {}})
fails("name must be a string", threading.Thread, {name = 5})
fails("string expected, got number", function() t.name = 5 end)
fails("daemon must be a boolean", threading.Thread, {daemon = "yes"})
fails("timeout value must be a non%-negative number", t.join, t, -5)
fails("timeout value must be a non%-negative number", t.join, t, -1)
fails("read%-only", function() t.ident = 3 end)
fails("options must be named", threading.Thread, {print})
print("thread_misuse ok")

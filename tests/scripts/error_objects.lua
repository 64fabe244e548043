-- One message handler for every uncaught error (gl_traceback_handler): an
-- error object whose __tostring gives a string is reported as that string,
-- as lua does for the main chunk, in a thread and in a Pool task alike
-- (a Pool task used to report "(error object is a table value)"); other
-- non-strings name their type.
-- run: --gil=on
-- run: --gil=off
local threading = require "threading"
local mp = require "multiprocessing"

local function custom() error(setmetatable({}, {__tostring = function() return "custom" end})) end

local t = threading.Thread{target = custom}
t:start()
assert(t:join(10))
assert(t.error == "custom", tostring(t.error))

local pool = mp.Pool(1)
local ok, err = pcall(pool.apply, pool, custom)
assert(not ok and tostring(err):find("custom", 1, true), tostring(err))
ok, err = pcall(pool.apply, pool, function() error({}) end)
assert(not ok and tostring(err):find("(error object is a table value)", 1, true), tostring(err))
pool:terminate()
print("error_objects ok")

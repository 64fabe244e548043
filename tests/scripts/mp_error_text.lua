-- Right messages: .value on a 'c' Array works as Python's c_char array
-- (it used to say "Array index must be an integer"), .value elsewhere
-- says what is wrong; an error object that is not a string, raised in a
-- Pool callback, is described (it used to print "(null)").
-- expect-stderr: Exception in callback of a Pool task:%s+%(error object is a table value%)
local mp = require "multiprocessing"
local expect = dofile("tests/lib/expect.lua")

local a = mp.Array('c', 5)
a.value = "abc"
assert(a.value == "abc")
a.value = "xy"                          -- shorter: a NUL ends it, the rest stays
assert(a.value == "xy" and a[4] == "\0" and a[5] == "\0")
a.value = "12345"                       -- exactly full: no NUL
assert(a.value == "12345")
expect.error("Array value too long %(6 bytes for 5%)", function() a.value = "123456" end)
expect.error("string expected, got table", function() a.value = {} end)
local ints = mp.Array('i', 3)
expect.error("Array has no writable field 'value' %(only a 'c' Array has %.value%)", function() ints.value = 1 end)
expect.error("Array has no writable field 'size'", function() ints.size = 1 end)

local pool = mp.Pool(1)
local r = pool:apply_async(function() return 1 end, {}, function() error({}) end)
assert(r:get(10) == 1)                  -- the callback's error is reported, not raised
pool:close()
pool:join()
print("ok")

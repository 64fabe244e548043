-- coroutine.wrap and coroutine.resume (vm/coroutine.c) behave as Lua
-- 5.4.4's: tests/data/coroutine_wrap.lua prints the same under gillua as
-- under lua5.4 (a wrapped coroutine that dies closes its to-be-closed
-- variables and propagates the last __close error; messages, dead states).
local same_as_lua = dofile("tests/lib/same_as_lua.lua")
same_as_lua("tests/data/coroutine_wrap.lua", 30)
print("ok")

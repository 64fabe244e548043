-- debug.sethook/gethook (runtime/ldbhook.c) keep the script's hook
-- functions in registry._HOOKKEY as Lua 5.4's debug library does (Lua's
-- own test suite reads it: db.lua:313): tests/data/debug_hookkey.lua
-- prints the same under gillua as under lua5.4.
local same_as_lua = dofile("tests/lib/same_as_lua.lua")
same_as_lua("tests/data/debug_hookkey.lua", 12)
print("ok")

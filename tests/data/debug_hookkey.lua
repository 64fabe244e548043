-- debug.sethook/gethook keep hook functions where Lua's debug library
-- does (registry._HOOKKEY, thread -> function, weak keys), printed so
-- that tests/scripts/lua_debug_hookkey.lua can compare with lua5.4.
local reg = debug.getregistry()
print("before any hook", type(reg._HOOKKEY), debug.gethook())
local n = 0
local function f() n = n + 1 end
debug.sethook(f, "", 10)
local H = reg._HOOKKEY
debug.sethook()
print("table", type(H), getmetatable(H) == H, getmetatable(H).__mode)
print("after sethook()", H[coroutine.running()], debug.gethook())

-- the function in the table is the one gethook returns
debug.sethook(f, "l")
print("gethook is f", (debug.gethook()) == f, H[coroutine.running()] == f, select(2, debug.gethook()))
debug.sethook()

-- a hook on another coroutine is keyed by that coroutine
local co = coroutine.create(function () local x = 1; x = x + 1; return x end)
local lines = {}
debug.sethook(co, function (e, l) lines[#lines + 1] = e .. ":" .. tostring(l) end, "l")
print("co key", type(H[co]), H[coroutine.running()], debug.gethook(co) == H[co])
print(coroutine.resume(co))
print("co lines", #lines > 0, lines[1])
print("co hook stays", debug.gethook(co) == H[co], select(2, debug.gethook(co)))

-- the function stored in the table is the one called (as ldblib.c's hookf)
local called = {}
debug.sethook(function () called[#called + 1] = "first" end, "", 1)
H[coroutine.running()] = function () called.second = true end
debug.sethook()
print("replaced function called", called.second, #called)

-- mask "" with no count: no hook, but the function is kept in the table
debug.sethook(f, "")
print("empty mask", debug.gethook(), H[coroutine.running()] == f)
debug.sethook()

-- bad arguments: Lua's messages
print(pcall(debug.sethook, f))
print(pcall(debug.sethook, 1, "l"))
print(pcall(debug.sethook, f, "l", "x"))
print("count", n)

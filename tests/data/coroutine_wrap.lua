-- coroutine.wrap and coroutine.resume corner cases, printed so that
-- tests/scripts/lua_coroutine_wrap.lua can compare gillua with lua5.4:
-- a wrapped coroutine that dies of an error closes its to-be-closed
-- variables, the error of the last __close handler propagates (position
-- added to strings), and the wrapper is dead afterwards.
local function closer(f) return setmetatable({}, {__close = f}) end
local function show(...) print(select("#", ...), ...) end

-- the issue's reproducer: the last __close error wins
local co = coroutine.wrap(function ()
  local a <close> = closer(function () error("@YYY") end)
  local b <close> = closer(function () error("@XXX") end)
  coroutine.yield(100); error(200)
end)
show(co()); show(pcall(co)); show(pcall(co)); show(pcall(co, 1, 2))

-- __close handlers see the error; a non-string error stays as it is
local seen = {}
co = coroutine.wrap(function ()
  local a <close> = closer(function (_, e) seen[#seen + 1] = tostring(e) end)
  error(setmetatable({}, {__tostring = function () return "OBJ" end}))
end)
local ok, e = pcall(co)
print(ok, tostring(e), table.concat(seen, ","))

-- an error in a __close after a normal return (locals.lua:1000)
co = coroutine.wrap(function ()
  local xx <close> = closer(function (_, err) error("YYY:" .. tostring(err):gsub("^.-: ", "")) end)
  local xv <close> = closer(function () error("XXX") end)
  coroutine.yield(100)
  return 200
end)
show(co()); show(pcall(co))

-- calling the wrapper from its own __close (coroutine.lua:468)
co = coroutine.wrap(function ()
  local x <close> = closer(function () print("inner", pcall(co)) end)
  error(111)
end)
show(pcall(co)); show(pcall(co))

-- plain errors: position of the call added once, dead afterwards
co = coroutine.wrap(function () local t = {} error("boom") end)
show(pcall(co)); show(pcall(co))
co = coroutine.wrap(function () error("nopos", 0) end)
show(pcall(co))
co = coroutine.wrap(function () error() end)
show(pcall(co))

-- values in and out, yields across several resumes
co = coroutine.wrap(function (...)
  local a, b = coroutine.yield(...)
  local c = coroutine.yield(a + b)
  return c, "end"
end)
show(co(1, 2, 3)); show(co(10, 20)); show(co("x")); show(pcall(co))

-- coroutine.resume: bad arguments and states, Lua's messages
show(pcall(coroutine.resume, 1))
show(pcall(coroutine.resume))
show(coroutine.resume(coroutine.running()))
local c = coroutine.create(function () return 1 end)
show(coroutine.resume(c)); show(coroutine.resume(c))
show(coroutine.resume(coroutine.create(function () error("x") end)))
print(type(select(2, coroutine.resume(coroutine.create(function () error({}) end)))))
c = coroutine.create(function () show(coroutine.resume(c)) end)
show(coroutine.resume(c))
local outer
outer = coroutine.create(function ()
  local inner = coroutine.create(function () show(coroutine.resume(outer)) end)
  show(coroutine.resume(inner))
end)
show(coroutine.resume(outer))
show(pcall(coroutine.wrap, 1))
show(coroutine.close(coroutine.create(print)))
print(coroutine.status(c), coroutine.isyieldable())

-- coroutine.close: Lua's checks and results
show(coroutine.close(coroutine.create(print)))
c = coroutine.create(function () local x <close> = closer(function () print("closed") end) coroutine.yield(1) end)
show(coroutine.resume(c)); show(coroutine.close(c)); print(coroutine.status(c)); show(coroutine.close(c))
c = coroutine.create(function () local x <close> = closer(function () error("in close") end) coroutine.yield(1) end)
show(coroutine.resume(c)); show(coroutine.close(c)); show(coroutine.resume(c))
c = coroutine.create(function () error({}) end)
coroutine.resume(c)
local r = table.pack(coroutine.close(c)); print(r.n, r[1], type(r[2])); show(coroutine.close(c))
show(pcall(coroutine.close, coroutine.running()))
c = coroutine.create(function () show(pcall(coroutine.close, outer)) end)
outer = coroutine.create(function () coroutine.resume(c) end)
coroutine.resume(outer)
show(pcall(coroutine.close, 42))

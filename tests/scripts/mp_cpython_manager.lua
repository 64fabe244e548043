-- Ported from CPython's Lib/test/_test_multiprocessing.py, _TestContainers
-- (list, list_iter, list_index_err, list_proxy_in_child, dict, dict_iter,
-- dict_proxy_in_child, namespace) and _TestManagerRestart-like lifetime
-- checks (a proxy used from a child process; objects freed with their
-- last proxy, as _TestManagerFinalize checks through _number_of_objects).
-- Lists are 1-based as Lua's.
-- run: --gil=on
-- run: --gil=off
-- timeout: 60
local mp = require "multiprocessing"
local expect = dofile("tests/lib/expect.lua")

local mg <close> = mp.Manager()
local cases = {}
local function case(name, f) cases[#cases + 1] = {name, f} end

local function same(t, want)
  assert(#t == #want, "length " .. #t .. " ~= " .. #want)
  for i = 1, #want do assert(t[i] == want[i], "at " .. i .. ": " .. tostring(t[i])) end
end

case("list", function()
  local a = mg:list({0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
  same(a:tolist(), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
  local b = mg:list()
  same(b:tolist(), {})
  b:extend({0, 1, 2, 3, 4})
  same(b:tolist(), {0, 1, 2, 3, 4})
  assert(b[3] == 2 and b[-1] == 4)
  b[3] = 100
  same(b:tolist(), {0, 1, 100, 3, 4})
  b:append(5)
  b:insert(1, -1)
  same(b:tolist(), {-1, 0, 1, 100, 3, 4, 5})
  assert(b:pop() == 5 and b:pop(1) == -1)
  assert(b:index(100) == 3 and b:count(3) == 1 and b:has(4) and not b:has(42))
  b:remove(100)
  same(b:tolist(), {0, 1, 3, 4})
  assert(#b == 4)
  assert(tostring(b) == "[0, 1, 3, 4]")
  b:clear()
  assert(#b == 0)
end)

case("list_iter", function()
  local a = mg:list({0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
  local got = {}
  for _, v in pairs(a) do got[#got + 1] = v end
  table.sort(got)
  same(got, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
end)

case("list_index_err", function()
  local a = mg:list()
  expect.error("ValueError", a.index, a, 5)
  expect.error("IndexError: pop from empty list", a.pop, a)
end)

case("list_proxy_in_child", function()
  local l = mg:list({1})
  local p = mp.Process{target = function() l:append(2); l[1] = 10 end}
  p:start()
  assert(p:join(20) and p.exitcode == 0)
  same(l:tolist(), {10, 2})
end)

case("dict", function()
  local d = mg:dict()
  for i = 1, 5 do d[string.char(64 + i)] = i end
  assert(#d == 5)
  assert(d.A == 1 and d:get("E") == 5 and d:get("Z", "dflt") == "dflt")
  local keys = d:keys()
  table.sort(keys)
  same(keys, {"A", "B", "C", "D", "E"})
  local vals = d:values()
  table.sort(vals)
  same(vals, {1, 2, 3, 4, 5})
  assert(#d:items() == 5)
  assert(d:pop("A") == 1 and d:pop("A", "gone") == "gone")
  expect.error("KeyError", d.pop, d, "A")
  assert(d:setdefault("Q", 7) == 7 and d:setdefault("Q", 8) == 7)
  d:update({X = 1, Y = 2})
  assert(d.X == 1 and d:has("Y"))
  d.X = nil
  assert(not d:has("X"))
  d:clear()
  assert(#d == 0)
end)

case("dict_iter", function()
  local d = mg:dict()
  for i = 1, 10 do d[i] = i * i end
  local n = 0
  for k, v in pairs(d) do n = n + 1; assert(v == k * k) end
  assert(n == 10)
end)

case("dict_proxy_in_child", function()
  local d = mg:dict({a = 1})
  local p = mp.Process{target = function() d.b = d.a + 1 end}
  p:start()
  assert(p:join(20) and p.exitcode == 0)
  assert(d.b == 2)
end)

case("namespace", function()
  local n = mg:Namespace()
  n.name = "Bob"
  n.job = "Builder"
  n._hidden = "hidden"
  assert(n.name == "Bob" and n.job == "Builder" and n._hidden == "hidden")
  assert(tostring(n) == "Namespace(_hidden='hidden', job='Builder', name='Bob')", tostring(n))
  n.job = nil
  assert(n.job == nil)
end)

-- _TestManagerFinalize-like: objects live while a proxy does
case("object_lifetime", function()
  collectgarbage(); collectgarbage()
  local before = mg:_number_of_objects()
  do
    local tmp = mg:dict()
    tmp.x = 1
    assert(mg:_number_of_objects() == before + 1)
  end
  collectgarbage(); collectgarbage()
  assert(mg:_number_of_objects() == before)
end)

case("shutdown", function()
  local m = mp.Manager()
  local d = m:dict()
  m:shutdown()
  expect.error("shut down", function() return d.x end)
  expect.error("shut down", m.dict, m)
  m:shutdown()                      -- a second time does nothing
end)

for _, c in ipairs(cases) do
  local ok, err = pcall(c[2])
  assert(ok, c[1] .. ": " .. tostring(err))
end
print(#cases .. " cases ok")

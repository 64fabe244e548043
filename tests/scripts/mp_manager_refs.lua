-- Manager objects live while a proxy on them exists in some process: when
-- the last one is collected the server forgets the object, as Python's
-- managers do (it used to keep every object until shutdown). A proxy in a
-- message in flight keeps its object alive; so does a child's proxy.
-- Proxies on different objects are not equal.
-- run: --gil=on
-- run: --gil=off
local mp = require "multiprocessing"

local mg = mp.Manager()
local function objects() return mg:_number_of_objects() end
local function collect() collectgarbage(); collectgarbage() end

assert(objects() == 0)
local keep = mg:dict({a = 1})
do
  local tmp = mg:list({1, 2, 3})
  assert(#tmp == 3 and objects() == 2)
end
collect()
-- the drop travels on the request channel, ahead of the next request
assert(objects() == 1, "a collected proxy's object is forgotten: " .. objects())

-- many short-lived objects do not pile up
for i = 1, 300 do
  local d = mg:dict({i = i})
  assert(d.i == i)
end
collect()
assert(objects() == 1, "after 300 temporary dicts: " .. objects())

-- proxies on different objects differ; two handles on one object are equal
local d1, d2 = mg:dict(), mg:dict()
assert(d1 ~= d2, "two dicts of one manager compare equal")
local q = mp.Queue()
q:put(d1)
local d1b = q:get(true, 5)
assert(d1b == d1)
d1, d2, d1b = nil, nil, nil
collect()
assert(objects() == 1, objects())

-- a proxy in a message in flight keeps the object alive
q:put({d = mg:dict({x = 42})})
collect()
assert(objects() == 2, "the message's reference: " .. objects())
local got = q:get(true, 5)
assert(got.d.x == 42, "the object outlived the trip")
got = nil
collect()
assert(objects() == 1, objects())

-- a child's proxy keeps the object alive after the parent's is gone; the
-- object goes once the last proxy, in whichever process, is gone
local inq, back = mp.Queue(), mp.Queue()
local got_it, go = mp.Event(), mp.Event()
local p = mp.Process{target = function()
  local d = inq:get(true, 10)
  got_it:set()
  assert(go:wait(10))
  d.seen = true
  back:put(d)
end}
p:start()
inq:put(mg:dict())
collect()
assert(got_it:wait(10), "the child did not get the dict")
assert(objects() == 2, "the child's proxy keeps it: " .. objects())
go:set()
local again = back:get(true, 10)
assert(again.seen == true)
assert(p:join(10) ~= false and p.exitcode == 0)
again = nil
collect()
assert(objects() == 1, objects())
assert(keep.a == 1)

-- after shutdown, dropping proxies is harmless
local late = mg:dict()
mg:shutdown()
late = nil
collect()
local ok, e = pcall(mg._number_of_objects, mg)
assert(not ok and e:find("shut down"), e)
assert(not pcall(function() return keep.a end))
print("ok")

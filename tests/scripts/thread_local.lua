-- threading.local(): per-thread fields, shared by the coroutines of one
-- thread, independent in each thread; the same object in a GIL-off thread
-- starts empty there.
-- run: --gil=on
-- run: --gil=on --switch=bytecodes:3
-- run: --gil=on --switch=ticks:3
-- run: --gil=on --switch=priority:1
-- run: --gil=off
local threading = require "threading"
local queue = require "queue"

local check_join = dofile("tests/lib/expect.lua").joined

assert(threading["local"] == threading.Local, "Local is an alias of local")
local data = threading["local"]()
assert(tostring(data):find("^threading.local"))
assert(data.x == nil)
data.x = "main"
data.n = 1
assert(data.x == "main")

-- coroutines of a thread see its fields
local co = coroutine.wrap(function()
  assert(data.x == "main")
  data.from_co = true
  coroutine.yield()
  assert(data.x == "main")
end)
co()
assert(data.from_co == true)
co()

-- each thread has its own fields; nothing leaks back
local out = queue.Queue()
local ts = {}
for i = 1, 4 do
  ts[i] = threading.Thread{name = "T" .. i, target = function(data, out, i)
    assert(data.x == nil, "a new thread starts empty")
    data.x = i
    for _ = 1, 200 do
      assert(data.x == i, "another thread's value seen")
      data.x = i
    end
    local w = coroutine.wrap(function() return data.x end)
    out:put(w() == i)
  end, args = {data, out, i}}
  ts[i]:start()
end
for i = 1, 4 do check_join(ts[i]) end
for _ = 1, 4 do assert(out:get() == true) end
assert(data.x == "main" and data.n == 1)

-- pairs lists the calling thread's fields
local keys = {}
for k, v in pairs(data) do keys[#keys + 1] = k .. "=" .. tostring(v) end
table.sort(keys)
assert(table.concat(keys, ",") == "from_co=true,n=1,x=main", table.concat(keys, ","))

-- assigning nil removes a field
data.n = nil
assert(data.n == nil)

-- two locals are independent
local other = threading.Local()
other.x = "other"
assert(data.x == "main" and other.x == "other")
assert(data ~= other)
print("ok")

-- multiprocessing.Value / Array: typecodes, 1-based arrays, range errors,
-- exact counts under the lock across processes, lock=false, a shared lock.
-- run: --gil=on
-- run: --gil=off
local mp = require "multiprocessing"

local v = mp.Value("i", 7)
assert(v.value == 7 and v.typecode == "i")
v.value = -3
assert(v.value == -3)
local ok, e = pcall(function() v.value = 2^40 end)
assert(not ok and e:find("out of range"), e)
ok, e = pcall(function() v.value = 1.5 end)
assert(not ok and e:find("integer"), e)
local d = mp.Value("d", 1.5)
assert(d.value == 1.5 and math.type(d.value) == "float")
local f = mp.Value("f", 0.25)
assert(f.value == 0.25)
local ch = mp.Value("c", "x")
assert(ch.value == "x")
local bo = mp.Value("?", true)
assert(bo.value == true)
local u8 = mp.Value("B", 255)
assert(u8.value == 255)
ok, e = pcall(function() u8.value = 256 end)
assert(not ok)
ok, e = pcall(mp.Value, "z", 1)
assert(not ok and e:find("typecode"), e)
ok, e = pcall(function() v.other = 1 end)
assert(not ok and e:find("value"), e)

local a = mp.Array("d", {1, 2, 3})
assert(#a == 3 and a[1] == 1.0 and a[3] == 3.0 and a[4] == nil)
a[2] = 20
local sum = 0
for _, x in ipairs(a) do sum = sum + x end
assert(sum == 24)
ok, e = pcall(function() a[0] = 1 end)
assert(not ok and e:find("out of range"), e)
local z = mp.Array("i", 10)
assert(#z == 10 and z[10] == 0)
local s = mp.Array("c", "hello")
assert(s.value == "hello" and s[1] == "h")
assert(#a:tolist() == 3)

-- exact across 4 processes with the Value's own lock
local counter = mp.Value("l", 0)
local arr = mp.Array("i", 4)
local procs = {}
for k = 1, 4 do
  procs[k] = mp.Process{target = function()
    local lock = counter:get_lock()
    for _ = 1, 2000 do
      lock:acquire()
      counter.value = counter.value + 1
      lock:release()
    end
    arr[k] = k * k
  end}
  procs[k]:start()
end
for k = 1, 4 do procs[k]:join() end
assert(counter.value == 8000, counter.value)
assert(arr[1] == 1 and arr[4] == 16)

-- the same Value from threads (GIL-off threads: separate interpreters
-- sharing the one object) and a process at once
local threading = require "threading"
local shared = mp.Value("q", 0)
local function bump(v, n)
  local lock = v:get_lock()
  for _ = 1, n do lock:acquire(); v.value = v.value + 1; lock:release() end
end
local pp = mp.Process{target = bump, args = {shared, 1000}}
pp:start()                -- forked before the threads exist (see mp_queue_nogil.lua)
local ts = {}
for k = 1, 3 do
  ts[k] = threading.Thread{target = bump, args = {shared, 1000}}
  ts[k]:start()
end
for k = 1, 3 do ts[k]:join() end
pp:join()
assert(shared.value == 4000, shared.value)

-- no lock / a given lock
local nl = mp.Value("i", 0, false)
ok, e = pcall(nl.get_lock, nl)
assert(not ok and e:find("lock=false"), e)
local l = mp.Lock()
local w = mp.Value("i", 0, l)
assert(w:get_lock() == l)
print("ok")

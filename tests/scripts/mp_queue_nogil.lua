-- A multiprocessing.Queue and Value shared by GIL-off threads and a
-- process at once: items are copied, nothing is lost.
-- run: --gil=off
-- run: --gil=on
local mp = require "multiprocessing"
local threading = require "threading"

local q = mp.Queue()
local total = mp.Value("q", 0)
-- the process is forked before the threads start: forking while other
-- threads allocate can leave the child stuck in a sanitizer's allocator
-- lock (GCC 12's libasan has no fork protection)
local p = mp.Process{target = function()
  for i = 1, 500 do q:put(4000 + i) end
end}
p:start()
local threads = {}
for k = 1, 3 do
  threads[k] = threading.Thread{target = function(q, k)
    for i = 1, 500 do q:put(k * 1000 + i) end
  end, args = {q, k}}
  threads[k]:start()
end
local seen = {}
for _ = 1, 2000 do
  local v = q:get(true, 10)
  assert(not seen[v])
  seen[v] = true
  total.value = total.value + 1
end
for k = 1, 3 do threads[k]:join() end
p:join()
assert(total.value == 2000 and q:empty())
print("ok")

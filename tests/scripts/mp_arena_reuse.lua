-- run: --gil=on
-- run: --gil=off
-- timeout: 60
-- Issue 9 §9: the shared-memory arena splits and merges freed space. A
-- drained backlog of 1 KB Queue items left no room for anything bigger,
-- freed 800 KB Arrays never merged into a 2.4 MB one, and the errors said
-- "invalid option '%z'" and "item of 0 bytes". Runs in a 16 MiB arena.
dofile("tests/lib/small_arena.lua")(16)
local mp = require "multiprocessing"
local expect = dofile("tests/lib/expect.lua")

local base = mp.arena_stats()
assert(base.size > 15 * 2^20 and base.size <= 16 * 2^20, "arena of " .. base.size .. " bytes")

-- 1. a backlog of 1 KB items, up to exhaustion, then drained
local q = mp.Queue()
local item = string.rep("x", 1024)
local n = 0
while true do
  local ok, err = pcall(q.put, q, item)
  if not ok then
    assert(err:find("Queue.put: shared memory exhausted %(1%d%d%d bytes requested"), err)
    break
  end
  n = n + 1
end
assert(n > 5000, n)
for _ = 1, n do assert(q:get() == item) end
local a = mp.Array("d", 1000)                  -- 8 KB
a[1000] = 1.5
local big = string.rep("y", 5000)
q:put(big)
assert(q:get() == big)
a = nil
collectgarbage()

-- 2. Arrays of 800 KB up to exhaustion, freed: a 2.4 MB one fits
local arrays = {}
while true do
  local ok, arr = pcall(mp.Array, "d", 100000)
  if not ok then
    assert(arr:find("Array: shared memory exhausted %(8%d%d%d%d%d bytes requested"), arr)
    assert(not arr:find("invalid option"), arr)
    break
  end
  arrays[#arrays + 1] = arr
end
assert(#arrays >= 15, #arrays)
local keep = arrays[#arrays]
arrays[#arrays] = nil
expect.error("Array: shared memory exhausted", mp.Array, "d", 300000)
arrays = nil
collectgarbage()
local b = mp.Array("d", 300000)                -- 2.4 MB, from the merged holes
b[300000] = 2
b, keep, q = nil, nil, nil
collectgarbage()

-- 3. everything came back, in one piece
local now = mp.arena_stats()
assert(now.used == base.used, ("used %d, was %d"):format(now.used, base.used))
assert(now.free_blocks == 0 and now.largest_free == base.largest_free,
       ("largest free %d, was %d"):format(now.largest_free, base.largest_free))
print("ok", n, "items")

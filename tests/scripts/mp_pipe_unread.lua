-- run: --gil=on
-- run: --gil=off
-- timeout: 60
-- Issue 9 §10: a Pipe dropped with an unread message over 8 KiB kept that
-- message's block for good; 30,000 such pipes exhausted the arena. Runs
-- in a 16 MiB arena (30,000 x 9 KB would need 270 MB).
dofile("tests/lib/small_arena.lua")(16)
local mp = require "multiprocessing"

local base = mp.arena_stats()
local msg = string.rep("m", 9000)
for i = 1, 30000 do
  local a, b = mp.Pipe()
  a:send(msg)
  if i % 3 == 0 then b:send_bytes(msg) end     -- the other direction too
  if i % 5 == 0 then assert(b:recv() == msg) end
  if i % 200 == 0 then collectgarbage() end
end
collectgarbage()
collectgarbage()
local now = mp.arena_stats()
assert(now.used == base.used, ("used %d, was %d"):format(now.used, base.used))
assert(now.largest_free == base.largest_free)

-- a message read after its sender's handle was dropped still arrives whole
local a, b = mp.Pipe()
a:send(msg)
a = nil
collectgarbage()
assert(b:recv() == msg)
b = nil
collectgarbage()
assert(mp.arena_stats().used == base.used)
print("ok")

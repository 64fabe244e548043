-- Shared by the fault-injection tests (tests/scripts/fault_*.lua):
-- seeded randomness, and the end-of-test checks that a run of kill -9
-- left nothing behind.
--   fault.seed()            seeds math.random from $FAULT_SEED or the clock,
--                           prints the seed (to replay a failure) and returns it
--   fault.no_children()     asserts that this process has no child at all
--                           (active_children() is empty and waitpid(-1) finds none)
--   fault.arena_back(base [, slack])  collects garbage and asserts the arena's
--                           use is back at base.used and in one piece as at
--                           base; 'slack' (blocks) is allowed only in a
--                           sanitizer build (see fault.sanitized)
local mp = require "multiprocessing"
local fault = {}

function fault.seed()
  local seed = tonumber(os.getenv("FAULT_SEED")) or (os.time() * 1000 + os.getpid() % 1000)
  math.randomseed(seed)
  print("seed " .. seed .. " (FAULT_SEED=" .. seed .. " replays it)")
  return seed
end

function fault.no_children()
  local kids = mp.active_children()
  assert(#kids == 0, #kids .. " active children left")
  local pid, msg = os.waitpid(-1, true)
  assert(pid == nil and msg:find("child"), "a child process is left: " .. tostring(pid))
end

-- Under ThreadSanitizer every atomic operation is intercepted, which
-- stretches the few-instruction windows between dropping a reference and
-- its bookkeeping (runtime/mp_ledger.c) by orders of magnitude: a process
-- killed there leaks that block. Plain builds are held to exactness.
fault.sanitized = (os.getenv("GILLUA") or ""):find("/[at]san/") ~= nil

function fault.arena_back(base, slack)
  collectgarbage()
  collectgarbage()
  local now = mp.arena_stats()
  if fault.sanitized and slack and now.blocks > base.blocks then
    assert(now.blocks - base.blocks <= slack and now.used - base.used <= slack * 512,
           ("arena: %d blocks (%d bytes) not given back, more than the %d allowed here"):format(
             now.blocks - base.blocks, now.used - base.used, slack))
    print(("sanitizer build: %d blocks (%d bytes) not given back"):format(
      now.blocks - base.blocks, now.used - base.used))
    return
  end
  assert(now.used == base.used and now.blocks == base.blocks,
         ("arena: %d bytes in %d blocks used, %d in %d at the start"):format(
           now.used, now.blocks, base.used, base.blocks))
  assert(now.largest_free == base.largest_free,
         ("arena: largest free piece %d, %d at the start"):format(now.largest_free, base.largest_free))
end

return fault

-- run: --gil=on
-- run: --gil=off
-- timeout: 60
-- Fault injection (issue 9): a producer process is killed with SIGKILL at a
-- random point of a run of Queue puts (items of 1 byte to 3 MB), 60 rounds,
-- seeded. The items the parent gets must be exactly the first m put, in
-- order, each whole (nothing lost, duplicated or partial), whatever m; at
-- the end the arena's use is back where it started and no process is left.
local mp = require "multiprocessing"
local time = require "time"
local fault = dofile("tests/lib/fault.lua")
fault.seed()

local ROUNDS, ITEMS = 60, 12
local function item(round, i, size)
  return string.char(97 + (round + i) % 26):rep(size) .. ("#%d.%d"):format(round, i)
end

local base = mp.arena_stats()
local q = mp.Queue()
local started = mp.Event()
local whole, killed_mid = 0, 0
for round = 1, ROUNDS do
  local sizes = {}
  for i = 1, ITEMS do
    sizes[i] = math.random() < 0.25 and math.random(500000, 3000000) or math.random(1, 3000)
  end
  local p = mp.Process{target = function()
    started:set()
    for i = 1, ITEMS do q:put(item(round, i, sizes[i])) end
  end}
  p:start()
  assert(started:wait(10), "the producer did not start")
  time.sleep(math.random() * 0.012)
  p:kill()
  p:join(10)
  assert(p.exitcode == -9 or p.exitcode == 0, "exit code " .. tostring(p.exitcode))
  started:clear()
  local m = 0
  while true do
    local ok, v = pcall(q.get, q, false)
    if not ok then break end
    m = m + 1
    assert(v == item(round, m, sizes[m]), ("round %d: item %d is wrong (%d bytes)"):format(round, m, #v))
  end
  if m == ITEMS then whole = whole + 1 elseif p.exitcode == -9 then killed_mid = killed_mid + 1 end
end
assert(killed_mid >= ROUNDS // 4, "too few rounds killed a producer mid-run: " .. killed_mid)
q, started = nil, nil
fault.no_children()
fault.arena_back(base)
print(("ok: %d rounds, %d killed mid-run, %d complete"):format(ROUNDS, killed_mid, whole))

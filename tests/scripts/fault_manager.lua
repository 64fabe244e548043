-- run: --gil=on
-- run: --gil=off
-- timeout: 60
-- Fault injection (issue 9): a process making Manager calls (list appends
-- and dict sets, some with values of 100 KB) is killed with SIGKILL at a
-- random point, 50 rounds, seeded. Each call is done once or not at all:
-- the list holds exactly 1..m in order and the dict the same m keys; the
-- manager keeps serving the next client. After shutdown the arena's use
-- is back where it started and no process is left.
local mp = require "multiprocessing"
local time = require "time"
local fault = dofile("tests/lib/fault.lua")
fault.seed()

local ROUNDS, CALLS = 50, 40
local base = mp.arena_stats()
local mg = mp.Manager()
local started = mp.Event()
local killed_mid = 0
for round = 1, ROUNDS do
  local l, d = mg:list(), mg:dict()
  local big = math.random() < 0.5
  local p = mp.Process{target = function()
    started:set()
    for i = 1, CALLS do
      l:append(i)
      d[i] = big and string.rep("v", 100000) or i
    end
  end}
  p:start()
  assert(started:wait(10), "the client did not start")
  time.sleep(math.random() * 0.01)
  p:kill()
  p:join(10)
  started:clear()
  local m = #l
  for i = 1, m do assert(l[i] == i, ("round %d: l[%d] = %s"):format(round, i, tostring(l[i]))) end
  local keys = #d:keys()
  assert(keys == m or keys == m - 1, ("round %d: %d appends but %d dict keys"):format(round, m, keys))
  for i = 1, keys do assert(d[i] ~= nil, ("round %d: d[%d] missing"):format(round, i)) end
  if m < CALLS then killed_mid = killed_mid + 1 end
  l:append("after")                       -- the manager still serves
  assert(l[m + 1] == "after")
end
assert(killed_mid >= ROUNDS // 4, "too few rounds killed a client mid-run: " .. killed_mid)
mg:shutdown()
mg, started = nil, nil
fault.no_children()
fault.arena_back(base, 8)       -- exact in plain builds; see tests/lib/fault.lua
print(("ok: %d rounds, %d killed mid-run"):format(ROUNDS, killed_mid))

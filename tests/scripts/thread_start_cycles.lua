-- run: --gil=on
-- run: --gil=off
-- run: --gil=on --switch=interval:1
-- run: --gil=on --switch=priority:1
-- run: --gil=on --switch=ticks:100
-- timeout: 120
-- Many start + join cycles in a row, the path the spins of start(), join()
-- and the parked OS threads take (docs/threading.md, "What a thread
-- costs"): every start() returns with the thread started (ident known),
-- every thread runs its target once with its argument, every join returns
-- true and the thread is no longer alive. Every 97th thread blocks until
-- the main thread has seen join(timeout) run out, so join's spin, its
-- sleep and its timeout are all taken. 10,000 cycles (2,000 under the
-- sanitizers); the run's memory is checked by asan's leak report.
local threading = require "threading"
local sanitized = (os.getenv("GILLUA") or ""):find("/[at]san/") ~= nil
local cycles = sanitized and 2000 or 10000

local function body(ran, go)
  if go then assert(go:wait(30), "never released") end
  ran:set()
end

for i = 1, cycles do
  local ran = threading.Event()
  local go = i % 97 == 0 and threading.Event() or nil
  local t = threading.Thread{target = body, args = {ran, go, n = 2}}
  t:start()
  assert(t.ident ~= nil and t.native_id ~= nil, "start() returned before the thread started")
  if go then
    assert(t:join(0.002) == false, "join(timeout) returned true for a blocked thread")
    assert(t:is_alive(), "a blocked thread is not alive")
    go:set()
  end
  assert(t:join(30) == true, "join lost the end of thread " .. i)
  assert(not t:is_alive(), "thread " .. i .. " alive after join")
  assert(ran:is_set(), "thread " .. i .. " never ran its target")
  assert(t.error == nil, t.error)
end
print("cycles", cycles)

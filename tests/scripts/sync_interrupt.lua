-- Ctrl-C (SIGINT) interrupts the main thread blocked in a Lock acquire,
-- RLock acquire, Condition wait, Semaphore acquire, Event wait, Barrier
-- wait, queue get, queue put and queue join: the program exits 130 well
-- before the 30 s timeouts. Each case runs a child gillua.
-- run: --gil=on
-- timeout: 60
local gillua = assert(os.getenv("GILLUA"), "GILLUA not set")
local time = require "time"

local cases = {
  lock = "local l = threading.Lock(); l:acquire(); l:acquire(true, 30)",
  rlock = "local l = threading.RLock(); local t = threading.Thread{target=function() l:acquire(); ev:set(); threading.Event():wait(60) end, daemon=true}; t:start(); ev:wait(); l:acquire(true, 30)",
  condition = "local c = threading.Condition(); c:acquire(); c:wait(30)",
  semaphore = "threading.Semaphore(0):acquire(true, 30)",
  event = "threading.Event():wait(30)",
  barrier = "threading.Barrier(2):wait(30)",
  get = "queue.Queue():get(true, 30)",
  put = "local q = queue.Queue(1); q:put(1); q:put(2, true, 30)",
  join = "local q = queue.Queue(); q:put(1); q:join(30)",
}

for _, flags in ipairs{"--gil=on", "--gil=off"} do
  for name, body in pairs(cases) do
    local script = os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write("local threading = require 'threading'; local queue = require 'queue'; local ev = threading.Event()\n",
            "io.stdout:write('ready\\n'); io.stdout:flush()\n", body, "\nprint('not interrupted')\n")
    f:close()
    local t0 = time.monotonic()
    local sh = string.format(
      "%s %s %s > %s.out 2>&1 & pid=$!; " ..
      "for i in $(seq 100); do grep -q ready %s.out 2>/dev/null && break; sleep 0.05; done; " ..
      "sleep 0.2; kill -INT $pid; wait $pid; echo $?",
      gillua, flags, script, script, script)
    local p = io.popen(sh)
    local rc = tonumber(p:read("a"):match("%d+"))
    p:close()
    local outf = io.open(script .. ".out"); local out = outf:read("a"); outf:close()
    os.remove(script); os.remove(script .. ".out")
    local dt = time.monotonic() - t0
    assert(rc == 130, string.format("%s %s: exit %s, output: %s", flags, name, tostring(rc), out))
    assert(out:find("interrupted") and not out:find("not interrupted"), name .. ": " .. out)
    assert(dt < 10, name .. " took " .. dt)
  end
end
print("ok")

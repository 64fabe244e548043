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

-- All cases run at once (each blocked child uses no CPU): one shell starts
-- every child, waits for its "ready", sends SIGINT, and reports its status.
local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir " .. dir))
local parts, names = {}, {}
for _, flags in ipairs{"--gil=on", "--gil=off"} do
  for name, body in pairs(cases) do
    local id = name .. (flags == "--gil=on" and "_on" or "_off")
    names[#names + 1] = id
    local f = assert(io.open(dir .. "/" .. id .. ".lua", "w"))
    f:write("local threading = require 'threading'; local queue = require 'queue'; local ev = threading.Event()\n",
            "io.stdout:write('ready\\n'); io.stdout:flush()\n", body, "\nprint('not interrupted')\n")
    f:close()
    parts[#parts + 1] = string.format(
      "( %s %s %s/%s.lua > %s/%s.out 2>&1 & pid=$!; " ..
      "for i in $(seq 200); do grep -q ready %s/%s.out 2>/dev/null && break; sleep 0.05; done; " ..
      "sleep 0.1; kill -INT $pid; wait $pid; echo $? > %s/%s.rc ) &",
      gillua, flags, dir, id, dir, id, dir, id, dir, id)
  end
end
local t0 = time.monotonic()
assert(os.execute(table.concat(parts, "\n") .. "\nwait"))
local dt = time.monotonic() - t0
local function slurp(p)
  local f = assert(io.open(p)); local s = f:read("a"); f:close(); return s
end
for _, id in ipairs(names) do
  local rc = tonumber(slurp(dir .. "/" .. id .. ".rc"))
  local out = slurp(dir .. "/" .. id .. ".out")
  assert(rc == 130, string.format("%s: exit %s, output: %s", id, tostring(rc), out))
  assert(out:find("interrupted") and not out:find("not interrupted"), id .. ": " .. out)
end
os.execute("rm -rf " .. dir)
assert(dt < 20, "took " .. dt)
print("ok")

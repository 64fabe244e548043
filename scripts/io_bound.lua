-- io_bound.lua — the I/O-bound benchmark beside the three CPU-bound ones:
-- W workers each make R HTTP requests (LuaSocket's socket.http) to a
-- local server that answers each one after a set delay
-- (scripts/lib/delay_httpd.lua), standing in for the network. A worker
-- spends nearly all its time waiting, and a wait lets go of the GIL
-- (vm/interpose.c), so threads under the GIL approach W times the
-- sequential speed, as processes do: the GIL does not hurt I/O-bound work.
--
--   gillua [--gil=on --switch=P] scripts/io_bound.lua --mode=gil --workers=W
--          --requests=R --delay=S --bytes=N [--port=P]
--
-- Modes: sequential (the W x R requests one after another), gil (threads),
-- nogil (threads, run with --gil=off), processes (multiprocessing),
-- coroutines (W greenlets in one thread on non-blocking sockets and a
-- select hub, scripts/lib/green.lua). ops = W x R requests. --port: the
-- server to use (the harness starts one for every run and CPython's
-- peer); 0 starts one for this run (a child gillua).
local dir = arg[0]:match("^(.*)/") or "."
local B = dofile(dir .. "/benchlib.lua")
B.extra_modes = {coroutines = true}
local o = B.options(arg, "io_bound.lua",
                    {mode = "gil", workers = 4, requests = 5, delay = 0.05, bytes = 1000, port = 0},
                    "--mode=gil|nogil|processes|coroutines|sequential --workers=W --requests=R "
                    .. "--delay=S --bytes=N [--port=P]")
B.require_mode("io_bound", o)
local socket = require "socket"

-- The server: the one given, or a child serving until its stdin closes.
local port, server = math.tointeger(o.port), nil
if port == 0 then
  local portfile = os.tmpname()
  local i = -1
  while arg[i - 1] do i = i - 1 end
  local self = arg[i] or "gillua"   -- the interpreter running this script
  server = assert(io.popen(string.format("%s %s/lib/delay_httpd.lua %s > %s", self, dir, o.delay, portfile), "w"))
  local t0 = socket.gettime()
  repeat
    socket.sleep(0.01)
    local f = io.open(portfile); port = f and math.tointeger(tonumber(f:read("l"))); if f then f:close() end
  until port or socket.gettime() - t0 > 10
  os.remove(portfile)
  assert(port, "io_bound.lua: the delay server did not start")
end
local url = string.format("http://127.0.0.1:%d/bytes/%d", port, o.bytes)

-- One worker: n requests in a row (self-contained: it travels to GIL-off
-- threads and forked processes).
local function worker(url, n, size)
  local http = require "socket.http"
  for _ = 1, n do
    local body, code = http.request(url)
    assert(code == 200 and #body == size, "GET " .. url .. ": " .. tostring(code))
  end
end

local argsets = {}
for i = 1, o.workers do argsets[i] = {url, o.requests, o.bytes} end
local m = B.measure(function()
  if o.mode == "sequential" then
    for i = 1, o.workers do worker(url, o.requests, o.bytes) end
  elseif o.mode == "processes" then
    B.run_processes(worker, argsets)
  elseif o.mode == "coroutines" then
    local G = dofile(dir .. "/lib/green.lua")
    local gs = {}
    for i = 1, o.workers do
      gs[i] = G.spawn(function()
        for _ = 1, o.requests do assert(#G.get(url) == o.bytes) end
      end)
    end
    G.joinall(gs)
  else
    B.run_threads(worker, argsets)
  end
end)
if server then server:close() end

B.emit("io_bound", o, m, {ops = o.workers * o.requests, requests = o.requests, delay_s = o.delay,
                          ideal_s = o.requests * o.delay})

-- gevent_download.lua — many downloads in one thread with coroutines
-- (seed notes 002 and 004, "协程 gevent"), over real HTTP with LuaSocket.
-- gevent spawns a greenlet per URL and, monkey-patched, switches to
-- another greenlet whenever one would block on the network; joinall waits
-- for all of them. Here a tiny hub plays gevent's part: the sockets
-- socket.http uses are non-blocking (its 'create' hook gives it ours),
-- and a greenlet whose socket is not ready yields to the hub, which waits
-- for every pending socket at once with socket.select.
--
-- The site is a local server this program starts in a thread
-- (scripts/lib/delay_httpd.lua), answering each request after a set delay
-- (the network's latency): 10 URLs of 100 ms take ~1 s one after the
-- other and ~0.1 s as greenlets, in one thread.
--
--   gillua scripts/examples/gevent_download.lua [url ...]
--   (default: 10 pages of the local server)
local socket, http = require "socket", require "socket.http"
local threading, queue = require "threading", require "queue"

local N, DELAY = 10, 0.1

-- ---- a tiny gevent: greenlets and the hub are scripts/lib/green.lua ----
-- (spawn, joinall, and G.socket: the non-blocking socket handed to
-- socket.http, which yields to the hub where a blocking call would wait:
-- what gevent's monkey patching does); Pool:map is gevent's on top.
local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local G = dofile(here .. "/../lib/green.lua")
local gevent = {spawn = G.spawn}
function gevent.joinall(greenlets) return G.joinall(greenlets, 10) end

local Pool = {}
Pool.__index = Pool
function gevent.Pool() return setmetatable({}, Pool) end
function Pool:map(f, list)
  local gs = {}
  for i, v in ipairs(list) do gs[i] = gevent.spawn(f, v) end
  gevent.joinall(gs)
  local results = {}
  for i, g in ipairs(gs) do results[i] = g.value end
  return results, #gs
end

local function urlopen(url)
  local parts = {}
  local ok, code = http.request{url = url, sink = require("ltn12").sink.table(parts)}
  if not ok then error(url .. ": " .. tostring(code), 0) end
  if code ~= 200 then error(url .. ": HTTP " .. tostring(code), 0) end
  return table.concat(parts)
end

-- ---- the local site: a server thread, stopped through an Event at the end ----
local urls = {}
for i = 1, #(arg or {}) do urls[#urls + 1] = arg[i] end
local ports, stop = queue.Queue(), threading.Event()
local server = threading.Thread{name = "httpd", target = function(path, delay)
  dofile(path).serve{delay = delay, on_port = function(p) ports:put(p) end,
                     stop = function() return stop:is_set() end}
end, args = {here .. "/../lib/delay_httpd.lua", DELAY}}
server:start()
local port = assert(ports:get(true, 10), "the server did not start")
if #urls == 0 then
  for i = 1, N do urls[i] = string.format("http://127.0.0.1:%d/bytes/%d", port, 1000 + i) end
end

-- ---- the seed's program ----
local function run_task(url)
  print(string.format("Visit --> %s", url))
  local ok, data = pcall(G.get, url)
  if ok then print(string.format("%d bytes received from %s.", #data, url))
  else print(data) end
  return ok and #data or nil
end

local t0 = socket.gettime()
local total, pages = 0, 0
for _, url in ipairs(urls) do
  local ok, data = pcall(urlopen, url)
  if ok then total, pages = total + #data, pages + 1 end
end
local sequential = socket.gettime() - t0

t0 = socket.gettime()
local greenlets = {}
for i, url in ipairs(urls) do greenlets[i] = gevent.spawn(run_task, url) end
gevent.joinall(greenlets)
local green = socket.gettime() - t0
local gtotal, gpages = 0, 0
for _, g in ipairs(greenlets) do
  if g.value then gtotal, gpages = gtotal + g.value, gpages + 1 end
end
print(string.format("sequential: %d pages, %d bytes in %.2f s", pages, total, sequential))
print(string.format("gevent:     %d pages, %d bytes in %.2f s", gpages, gtotal, green))
print(string.format("speedup: %.1fx", sequential / green))

-- the second program: a pool mapping run_task over three of the urls
local function run_task2(url)
  run_task(url)
  print(string.format("url:%s --->finish", url))
end
local pool = gevent.Pool()
local results, n = pool:map(run_task2, {table.unpack(urls, 1, 3)})
local shown = {}
for i = 1, n do shown[i] = tostring(results[i]) end
print("{" .. table.concat(shown, ", ") .. "}")

stop:set()
server:join()

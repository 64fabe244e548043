-- thread_urls.lua — download N URLs one after the other, then with one
-- thread per URL (seed notes 002, 1.1 "函数传入"), over real HTTP with
-- LuaSocket. The site is a local server this program starts in a thread
-- (scripts/lib/delay_httpd.lua) that answers each request after a set
-- delay, standing in for the network's latency.
--
-- The lesson: a thread waiting for the network lets go of the GIL (C
-- modules' blocking calls release it, vm/interpose.c), so N downloads in
-- N threads take about one delay, not N: with 10 URLs of 100 ms, about
-- 1 s sequentially and 0.1 s with threads.
--
--   gillua scripts/examples/thread_urls.lua [N [delay_seconds]]   (10, 0.1)
local threading, queue = require "threading", require "queue"
local socket = require "socket"

local N = math.tointeger(tonumber(arg and arg[1])) or 10
local DELAY = tonumber(arg and arg[2]) or 0.1
assert(N and N >= 1 and N <= 200, "N must be an integer from 1 to 200")
assert(DELAY >= 0 and DELAY <= 10, "the delay must be from 0 to 10 seconds")
local here = (arg and arg[0] or ""):match("^(.*)/") or "."
local httpd_path = here .. "/../lib/delay_httpd.lua"

-- the local "site": a server thread, stopped through an Event at the end
local ports, stop = queue.Queue(), threading.Event()
local server = threading.Thread{name = "httpd", target = function(path, delay)
  local httpd = dofile(path)
  httpd.serve{delay = delay, on_port = function(p) ports:put(p) end,
              stop = function() return stop:is_set() end}
end, args = {httpd_path, DELAY}}
server:start()
local port = assert(ports:get(true, 10), "the server did not start")
local urls = {}
for i = 1, N do urls[i] = string.format("http://127.0.0.1:%d/bytes/%d", port, 1000 + i) end

-- code the new threads run (and the sequential loop): one download
local function fetch(url)
  local body, code = require("socket.http").request(url)
  assert(body and code == 200, "GET " .. url .. ": " .. tostring(code))
  return #body
end

print(string.format("%s is running; %d URLs, each answered after %.0f ms",
                    threading.current_thread().name, N, DELAY * 1000))
local t0 = socket.gettime()
local total = 0
for _, url in ipairs(urls) do total = total + fetch(url) end
local sequential = socket.gettime() - t0
print(string.format("sequential: %d pages, %d bytes in %.2f s", N, total, sequential))

local done = queue.Queue()
local threads = {}
t0 = socket.gettime()
for i, url in ipairs(urls) do
  threads[i] = threading.Thread{name = "Thread_" .. i, target = function(url)
    local n = fetch(url)
    print(string.format("%s---->>> %s: %d bytes", threading.current_thread().name, url, n))
    done:put(n)
  end, args = {url}}
  threads[i]:start()
end
for _, t in ipairs(threads) do t:join() end
local with_threads = socket.gettime() - t0
total = 0
for _ = 1, N do total = total + done:get() end
print(string.format("threads:    %d pages, %d bytes in %.2f s", N, total, with_threads))
print(string.format("speedup: %.1fx", sequential / with_threads))

stop:set()
server:join()
print(string.format("%s ended.", threading.current_thread().name))

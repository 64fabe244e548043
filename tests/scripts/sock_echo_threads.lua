-- A server thread and 8 client threads exchange 1,000 messages over
-- LuaSocket on 127.0.0.1: the server serves every connection from one
-- thread with socket.select; each client sends 125 numbered lines and
-- checks each echo. Every thread waits in LuaSocket (select, receive,
-- accept) with the GIL released. Bounded: socket timeouts of 10 s, joins
-- with timeouts.
-- run: --gil=on
-- run: --switch=interval:1
-- run: --switch=ticks:100
-- run: --switch=priority:1
-- run: --gil=off
-- timeout: 60
local socket, threading, queue = require "socket", require "threading", require "queue"

local CLIENTS, PER_CLIENT = 8, 125
local results, ports = queue.Queue(), queue.Queue()

local server = threading.Thread{target = function(clients, results, ports)
  local socket = require "socket"
  local srv = assert(socket.bind("127.0.0.1", 0))
  srv:settimeout(0)
  ports:put((select(2, srv:getsockname())))
  local conns, served, closed = {}, 0, 0
  while closed < clients do
    local want = {srv}
    for _, c in ipairs(conns) do want[#want + 1] = c end
    local ready, _, err = socket.select(want, nil, 10)
    assert(err == nil, "server select: " .. tostring(err))
    for _, s in ipairs(ready) do
      if s == srv then
        local c = srv:accept()
        if c then c:settimeout(10); conns[#conns + 1] = c end
      else
        local line, rerr = s:receive("*l")
        if line then
          assert(s:send(line .. " ok\n"))
          served = served + 1
        else
          assert(rerr == "closed", "server receive: " .. tostring(rerr))
          for i, c in ipairs(conns) do if c == s then table.remove(conns, i) break end end
          s:close(); closed = closed + 1
        end
      end
    end
  end
  results:put(served)
  srv:close()
end, args = {CLIENTS, results, ports}}
server:start()
local port = assert(ports:get(true, 10), "the server did not start")

local clients = {}
for k = 1, CLIENTS do
  clients[k] = threading.Thread{target = function(k, port, n, results)
    local socket = require "socket"
    local s = assert(socket.connect("127.0.0.1", port))
    s:settimeout(10)
    local good = 0
    for i = 1, n do
      local msg = k .. ":" .. i
      assert(s:send(msg .. "\n"))
      local echo, err = s:receive("*l")
      assert(echo == msg .. " ok", "client " .. k .. ": " .. tostring(echo) .. " " .. tostring(err))
      good = good + 1
    end
    s:close()
    results:put(good)
  end, args = {k, port, PER_CLIENT, results}}
  clients[k]:start()
end

for k = 1, CLIENTS do
  clients[k]:join(30)
  assert(not clients[k]:is_alive(), "client " .. k .. " still running after 30 s")
end
server:join(30)
assert(not server:is_alive(), "server still running after 30 s")
local total, served = 0, nil
for _ = 1, CLIENTS + 1 do
  local v = results:get(true, 1)
  if v >= CLIENTS * PER_CLIENT then served = v else total = total + v end
end
assert(total == CLIENTS * PER_CLIENT, "clients got " .. total .. " echoes")
assert(served == CLIENTS * PER_CLIENT, "server served " .. tostring(served))
print("sock_echo_threads ok: " .. total .. " messages")

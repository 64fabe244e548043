-- green.lua — greenlets over LuaSocket for one thread, as gevent's
-- monkey-patched sockets: coroutines whose sockets are non-blocking yield
-- to a hub when a socket is not ready; the hub waits for all pending
-- sockets at once with socket.select. (scripts/examples/gevent_download.lua
-- runs the seed's program on it.)
--
--   local G = dofile("scripts/lib/green.lua")
--   G.spawn(f, ...)            a greenlet running f(...)
--   G.joinall(list[, limit])   runs the hub until those greenlets are done;
--                              raises the first greenlet error, or when no
--                              socket becomes ready within limit s (30)
--   G.socket()                 a socket for socket.http's 'create' hook
--   G.get(url) -> body         an HTTP GET from inside a greenlet
local socket = require "socket"
local http, ltn12 = require "socket.http", require "ltn12"

local G = {}
local ready, reading, writing, current = {}, {}, {}, nil

function G.spawn(f, ...)
  local args = table.pack(...)
  local g = {done = false}
  g.co = coroutine.create(function()
    g.value = f(table.unpack(args, 1, args.n))
    g.done = true
  end)
  ready[#ready + 1] = g
  return g
end

local function wait(sock, mode)
  (mode == "r" and reading or writing)[sock] = current
  coroutine.yield()
end

local function keys(t) local k = {} for s in pairs(t) do k[#k + 1] = s end return k end

function G.joinall(greenlets, limit)
  limit = limit or 30
  local function all_done()
    for _, g in ipairs(greenlets) do if not g.done then return false end end
    return true
  end
  while not all_done() do
    if #ready == 0 then
      local r, w = socket.select(keys(reading), keys(writing), limit)
      if #r + #w == 0 then error(("green: no socket became ready in %g s"):format(limit), 0) end
      for _, s in ipairs(r) do ready[#ready + 1] = reading[s]; reading[s] = nil end
      for _, s in ipairs(w) do ready[#ready + 1] = writing[s]; writing[s] = nil end
    end
    current = table.remove(ready, 1)
    local ok, err = coroutine.resume(current.co)
    if not ok then error(err, 0) end
  end
end

function G.socket()
  local sock = socket.tcp()
  sock:settimeout(0)
  local gs = {}
  function gs:settimeout() return 1 end
  function gs:connect(host, port)
    local ok, err = sock:connect(host, port)
    while not ok and err == "timeout" do
      wait(sock, "w")
      ok, err = sock:connect(host, port)
      if err == "already connected" then ok, err = 1, nil end
    end
    return ok, err
  end
  function gs:send(data, i, j)
    i = i or 1
    while true do
      local last, err, partial = sock:send(data, i, j)
      if last or err ~= "timeout" then return last, err, partial end
      i = partial + 1
      wait(sock, "w")
    end
  end
  function gs:receive(pattern, prefix)
    while true do
      local s, err, partial = sock:receive(pattern, prefix)
      if s or err ~= "timeout" then return s, err, partial end
      prefix = partial
      wait(sock, "r")
    end
  end
  function gs:close() return sock:close() end
  function gs:getfd() return sock:getfd() end
  function gs:dirty() return sock:dirty() end
  return gs
end

function G.get(url)
  local parts = {}
  local ok, code = http.request{url = url, sink = ltn12.sink.table(parts), create = G.socket}
  if not ok then error(url .. ": " .. tostring(code), 0) end
  if code ~= 200 then error(url .. ": HTTP " .. tostring(code), 0) end
  return table.concat(parts)
end

return G

-- delay_httpd.lua — a small HTTP server that answers every request after
-- a set delay, standing in for a remote site's latency so that download
-- examples and the I/O-bound benchmark do not depend on the network.
-- One thread serves every connection: non-blocking LuaSocket sockets and
-- socket.select, each request's answer due 'delay' seconds after its
-- request line and headers have arrived.
--
--   GET /bytes/N   200, N bytes ("x" repeated; N up to 16 MiB)
--   anything else  404
-- Every answer closes its connection (Connection: close).
--
-- As a module (require or dofile):
--   serve{delay = s, on_port = function(port) end, stop = function() -> bool}
--     serves on 127.0.0.1 (an ephemeral port, given to on_port) until
--     stop() is true (checked at least every 50 ms); returns the number
--     of requests answered.
-- As a program (gillua or lua5.4 with LuaSocket):
--   delay_httpd.lua DELAY_SECONDS
--     prints the port on a line and serves until its standard input
--     closes (the parent is gone or done).
local socket = require "socket"

local M = {}
local MAX_BODY = 16 * 1024 * 1024
local MAX_HEADER_LINES = 100

local function answer(path)
  local n = tonumber(path:match("^/bytes/(%d+)$"))
  if n and n <= MAX_BODY then
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " .. n ..
           "\r\nConnection: close\r\n\r\n" .. string.rep("x", n)
  end
  local body = "not found: " .. path .. "\n"
  return "HTTP/1.1 404 Not Found\r\nContent-Length: " .. #body ..
         "\r\nConnection: close\r\n\r\n" .. body
end

-- Reads what a connection has; returns true when its request is complete.
local function read_request(c)
  while true do
    local line, err, partial = c.sock:receive("*l", c.partial)
    c.partial = nil
    if not line then
      if err == "timeout" then c.partial = partial; return false end
      c.dead = true; return false
    end
    c.lines = c.lines + 1
    if c.lines > MAX_HEADER_LINES then c.dead = true; return false end
    if c.path == nil then c.path = line:match("^GET (%S+) HTTP/1%.[01]$") or "" end
    if line == "" then return true end
  end
end

-- Sends what it can of a due answer; true when all is sent.
local function write_answer(c)
  local last, err, partial = c.sock:send(c.out, c.sent + 1)
  c.sent = last or partial or c.sent
  if err and err ~= "timeout" then c.dead = true end
  return c.sent >= #c.out
end

function M.serve(opts)
  local delay, stop = opts.delay or 0.1, opts.stop or function() return false end
  local srv = assert(socket.bind("127.0.0.1", opts.port or 0, 128))
  srv:settimeout(0)
  local _, port = srv:getsockname()
  if opts.on_port then opts.on_port(port) end
  local conns, answered = {}, 0
  while not stop() do
    local reads, writes, now, next_due = {srv}, {}, socket.gettime(), math.huge
    for _, c in ipairs(conns) do
      if not c.due then reads[#reads + 1] = c.sock
      elseif c.due <= now then writes[#writes + 1] = c.sock
      else next_due = math.min(next_due, c.due) end
    end
    local wait = math.max(0, math.min(0.05, next_due - now))
    local r, w = socket.select(reads, writes, wait)
    if r[srv] then
      local s = srv:accept()
      while s do
        s:settimeout(0)
        conns[#conns + 1] = {sock = s, lines = 0, sent = 0}
        s = srv:accept()
      end
    end
    now = socket.gettime()
    local keep = {}
    for _, c in ipairs(conns) do
      if not c.due and r[c.sock] and read_request(c) then
        c.due, c.out = now + delay, answer(c.path)
      elseif c.due and w[c.sock] and write_answer(c) then
        c.dead, answered = true, answered + 1
      end
      if c.dead then c.sock:close() else keep[#keep + 1] = c end
    end
    conns = keep
  end
  for _, c in ipairs(conns) do c.sock:close() end
  srv:close()
  return answered
end

-- Run as a program: serve until standard input closes.
if arg and arg[0] and arg[0]:match("delay_httpd%.lua$") and not pcall(debug.getlocal, 4, 1) then
  local delay = tonumber(arg[1])
  if not delay or delay < 0 then
    io.stderr:write("usage: delay_httpd.lua DELAY_SECONDS\n"); os.exit(2)
  end
  local closed = false
  M.serve{delay = delay,
    on_port = function(port) io.stdout:write(port, "\n"); io.stdout:flush() end,
    stop = function()
      if closed then return true end
      local stdin = {getfd = function() return 0 end}   -- select takes any getfd
      local r = socket.select({stdin}, nil, 0)
      if r[1] then closed = (io.stdin:read(0) == nil) end   -- readable and at its end
      return closed
    end}
  os.exit(0)
end

return M

-- multiprocessing.Pipe: values both ways, bytes, poll with timeouts, EOF
-- when the other end is closed (instead of blocking), one-way pipes,
-- large messages.
-- run: --gil=on
-- run: --gil=off
local mp = require "multiprocessing"

local a, b = mp.Pipe()
a:send({1, "two", {three = 3}})
local v = b:recv()
assert(v[1] == 1 and v[2] == "two" and v[3].three == 3)
b:send("back")
assert(a:poll() and a:recv() == "back")
assert(a:poll() == false)
assert(a:poll(0.05) == false)
b:send_bytes("hello world", 6, 5)
assert(a:recv_bytes() == "world")
local big = string.rep("x", 3 * 1024 * 1024)

-- a child echoes until EOF
local p = mp.Process{target = function()
  a:close()
  while true do
    local ok, m = pcall(b.recv, b)
    if not ok then
      assert(m:find("EOFError"), m)
      return
    end
    b:send(m)
  end
end}
p:start()
b:close()
for i = 1, 100 do a:send(i); assert(a:recv() == i) end
a:send(big)
assert(a:recv() == big)
a:close()
assert(p:join(10))
assert(p.exitcode == 0, p.exitcode)

-- EOF in one process: both ends here, one closed
local c, d = mp.Pipe()
d:close()
local ok, e = pcall(c.recv, c)
assert(not ok and e:find("EOFError"), e)
assert(c:poll(0), "EOF counts as readable")
ok, e = pcall(d.send, d, 1)
assert(not ok and e:find("closed"), e)
ok, e = pcall(c.send, c, 1)
assert(not ok and e:find("BrokenPipe"), e)

-- one-way pipe
local r, w = mp.Pipe(false)
assert(r.readable and not r.writable and w.writable and not w.readable)
w:send("one way")
assert(r:recv() == "one way")
ok, e = pcall(r.send, r, 1)
assert(not ok and e:find("read%-only"), e)

-- a stream much larger than the ring (wrap-around, writer waiting for
-- space), mixed sizes, checked by a consumer process
local r3, w3 = mp.Pipe()
local sumer = mp.Process{target = function()
  local total = 0
  for i = 1, 3000 do
    local m = w3:recv()
    assert(#m == (i % 7) * 300 + 1 and m:sub(1, 1) == string.char(65 + i % 26))
    total = total + #m
  end
  w3:send(total)
end}
sumer:start()
local expect = 0
for i = 1, 3000 do
  local m = string.rep(string.char(65 + i % 26), (i % 7) * 300 + 1)
  expect = expect + #m
  r3:send(m)
end
assert(r3:recv() == expect)
sumer:join()
assert(sumer.exitcode == 0)

-- the only writer is killed: the reader gets EOF (the kernel closed its end)
local r4, w4 = mp.Pipe(false)
local ready = mp.Event()
local victim = mp.Process{target = function() ready:set(); while true do ready:wait(1) end end}
victim:start()
w4:close()
assert(ready:wait(5))
victim:kill()
victim:join()
ok, e = pcall(r4.recv, r4)
assert(not ok and e:find("EOFError"), e)

-- maxlength
w:send_bytes("too long")
ok, e = pcall(r.recv_bytes, r, 3)
assert(not ok and e:find("maxlength"), e)
print("ok")

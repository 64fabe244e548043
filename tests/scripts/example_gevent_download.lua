-- scripts/examples/gevent_download.lua (real HTTP over LuaSocket from a
-- local delayed server, greenlets on non-blocking sockets with a select
-- hub): every task starts before any finishes, each page has its size,
-- the greenlets take < 40% of the sequential time (10 URLs of 100 ms),
-- the pool part prints {nil, nil, nil}; a refused URL prints its error.
-- Every GIL mode (the program has one thread besides the server).
local E = dofile("tests/lib/examples.lua")
local lines, expect_ok = E.lines, E.expect_ok

local function check(out, what)
  local L = lines(out)
  assert(#L == 10 + 10 + 3 + 3 + 3 + 3 + 1, what .. ":\n" .. out)
  local url = "http://127%.0%.0%.1:%d+/bytes/"
  for i = 1, 10 do assert(L[i]:match("^Visit %-%-> " .. url .. (1000 + i) .. "$"), what .. ": " .. L[i]) end
  local seen, bytes = {}, 0
  for i = 11, 20 do
    local n, k = L[i]:match("^(%d+) bytes received from " .. url .. "(%d+)%.$")
    assert(n and n == k and not seen[k], what .. ": " .. L[i])
    seen[k], bytes = true, bytes + tonumber(n)
  end
  local _, b1, s1 = L[21]:match("^sequential: (10) pages, (%d+) bytes in ([%d.]+) s$")
  local _, b2, s2 = L[22]:match("^gevent:     (10) pages, (%d+) bytes in ([%d.]+) s$")
  assert(tonumber(b1) == bytes and tonumber(b2) == bytes, what .. ":\n" .. out)
  assert(L[23]:match("^speedup: [%d.]+x$"), what .. ": " .. L[23])
  s1, s2 = tonumber(s1), tonumber(s2)
  assert(s1 >= 0.99, what .. ": 10 requests of 100 ms took " .. s1 .. " s in a row")
  assert(s2 < 0.4 * s1, what .. ": greenlets took " .. s2 .. " s, sequential " .. s1 .. " s")
  local finish = 0
  for i = 24, #L - 1 do if L[i]:find("^url:" .. url .. "%d+ %-%-%->finish$") then finish = finish + 1 end end
  assert(finish == 3 and L[#L] == "{nil, nil, nil}", what .. ":\n" .. out)
end
for _, flags in ipairs{"--gil=on", "--switch=interval:1", "--switch=ticks:100", "--switch=priority:1", "--gil=off"} do
  check(expect_ok(flags, "gevent_download.lua"), "gevent_download " .. flags)
end
-- a refused connection reports its error; nothing is counted
local out = expect_ok("", "gevent_download.lua", "http://127.0.0.1:1/bytes/5")
assert(out:find("http://127.0.0.1:1/bytes/5: connection refused", 1, true), out)
assert(out:find("sequential: 0 pages, 0 bytes", 1, true), out)
print("ok")

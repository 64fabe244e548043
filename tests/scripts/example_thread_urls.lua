-- scripts/examples/thread_urls.lua (real HTTP over LuaSocket from a local
-- delayed server): both runs fetch every page, each thread prints its URL
-- once, and the threads take < 40% of the sequential time (10 URLs of
-- 100 ms: ~1 s vs ~0.1 s); every GIL mode.
-- thread_subclass.lua: each thread prints its lines in order, the main
-- thread first and last; both GIL modes.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

local function check_urls(out, what)
  local L = lines(out)
  assert(#L == 15, what .. ":\n" .. out)
  assert(L[1] == "MainThread is running; 10 URLs, each answered after 100 ms", what .. ": " .. L[1])
  local bytes = 0
  for i = 1, 10 do bytes = bytes + 1000 + i end
  local n1, b1, s1 = L[2]:match("^sequential: (%d+) pages, (%d+) bytes in ([%d.]+) s$")
  assert(tonumber(n1) == 10 and tonumber(b1) == bytes, what .. ": " .. L[2])
  local seen = {}
  for i = 3, 12 do
    local name, k, n = L[i]:match("^(Thread_%d+)%-%-%-%->>> http://127%.0%.0%.1:%d+/bytes/(%d+): (%d+) bytes$")
    assert(name and k == n and not seen[k], what .. ": " .. L[i])
    assert(name == "Thread_" .. (tonumber(k) - 1000), what .. ": " .. L[i])
    seen[k] = true
  end
  local n2, b2, s2 = L[13]:match("^threads:    (%d+) pages, (%d+) bytes in ([%d.]+) s$")
  assert(tonumber(n2) == 10 and tonumber(b2) == bytes, what .. ": " .. L[13])
  assert(L[14]:match("^speedup: [%d.]+x$") and L[15] == "MainThread ended.", what .. ":\n" .. out)
  s1, s2 = tonumber(s1), tonumber(s2)
  assert(s1 >= 0.99, what .. ": 10 requests of 100 ms took " .. s1 .. " s in a row")
  assert(s2 < 0.4 * s1, what .. ": threads took " .. s2 .. " s, sequential " .. s1 .. " s")
end

local function check(out, what)
  local L = lines(out)
  assert(#L == 12, what .. ":\n" .. out)
  assert(L[1] == "MainThread is running..." and L[12] == "MainThread ended.", what .. ":\n" .. out)
  local per = {Thread_1 = {}, Thread_2 = {}}
  for i = 2, 11 do
    local name = L[i]:match("^Current (Thread_%d) is running%.%.%.$") or L[i]:match("^(Thread_%d)")
    assert(per[name], "unexpected line " .. L[i])
    table.insert(per[name], L[i])
  end
  local urls = {Thread_1 = {1, 2, 3}, Thread_2 = {4, 5, 6}}
  for name, got in pairs(per) do
    local want = {"Current " .. name .. " is running..."}
    for _, u in ipairs(urls[name]) do want[#want + 1] = name .. "---->>> url_" .. u end
    want[#want + 1] = name .. " ended."
    assert(table.concat(got, "|") == table.concat(want, "|"), what .. ": " .. table.concat(got, "|"))
  end
end
for _, flags in ipairs{"--gil=on", "--switch=interval:1", "--switch=ticks:100", "--switch=priority:1", "--gil=off"} do
  check_urls(expect_ok(flags, "thread_urls.lua"), "thread_urls " .. flags)
end
for _, flags in ipairs{"--gil=on", "--gil=off"} do
  check(expect_ok(flags, "thread_subclass.lua", "0.01"), "thread_subclass " .. flags)
end
print("ok")

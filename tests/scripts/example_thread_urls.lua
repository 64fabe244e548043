-- scripts/examples/thread_urls.lua and thread_subclass.lua: each thread
-- prints its lines in order, the main thread first and last; both GIL modes.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

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
for _, flags in ipairs{"--gil=on", "--gil=off"} do
  check(expect_ok(flags, "thread_urls.lua", "0.01"), "thread_urls " .. flags)
  check(expect_ok(flags, "thread_subclass.lua", "0.01"), "thread_subclass " .. flags)
end
print("ok")

-- scripts/examples/coroutine_producer_consumer.lua: exact output.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

local want = {}
for n = 1, 4 do
  want[#want + 1] = "[PRODUCER] Producing " .. n .. "..."
  want[#want + 1] = "[CONSUMER] Consuming " .. n .. "..."
  want[#want + 1] = "[PRODUCER] Consumer return: 200 OK"
end
for n = 1, 2 do
  want[#want + 1] = "[PRODUCER] Producing " .. n .. "..."
  want[#want + 1] = "[CONSUMER] Consuming " .. n .. "..."
  want[#want + 1] = "[PRODUCER] Consumer return: " .. n
end
for _, flags in ipairs{"--gil=on", "--gil=off"} do
  local out = expect_ok(flags, "coroutine_producer_consumer.lua", "0")
  assert(out == table.concat(want, "\n") .. "\n", flags .. ":\n" .. out)
end
print("ok")

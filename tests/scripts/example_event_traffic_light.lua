-- scripts/examples/event_traffic_light.lua: green, then red (the car waits
-- in event:wait()), then green again (the car starts); both GIL modes.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

for _, flags in ipairs{"--gil=on", "--gil=off"} do
  local out = expect_ok(flags, "event_traffic_light.lua", "0.02 2")
  local L = lines(out)
  local green, red = "\27[42;1mgreen light is on...\27[0m", "\27[41;1mred light is on...\27[0m"
  local n = {green = 0, red = 0, waiting = 0, going = 0, running = 0}
  local state = "green"
  for _, l in ipairs(L) do
    if l == green then n.green = n.green + 1
    elseif l == red then n.red = n.red + 1
    elseif l == "[MINI] running..." then n.running = n.running + 1
    elseif l == "[MINI] sees red light,waiting..." then
      assert(state ~= "waiting"); state = "waiting"; n.waiting = n.waiting + 1
    elseif l == "[MINI] green light is on,start going..." then
      assert(state == "waiting", "start going only after waiting"); state = "going"; n.going = n.going + 1
    else error("unexpected line: " .. l) end
  end
  -- green at count 0..5 (then 1..5 after each reset), red at 6..10
  assert(n.green == 6 + 5 and n.red == 10, flags .. ": light ticks\n" .. out)
  assert(n.waiting >= 1 and n.going >= 1 and n.running >= 2, flags .. ": the car\n" .. out)
end
print("ok")

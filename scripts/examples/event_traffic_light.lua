-- event_traffic_light.lua — an Event as a traffic light (seed notes 004,
-- "事件"): the lighter thread sets the event for green and clears it for
-- red; the car thread drives while it is set and blocks in event:wait()
-- while it is red.
--
--   gillua scripts/examples/event_traffic_light.lua [tick_seconds [cycles]]
--
-- The seed loops forever with 1 s ticks; here the light runs `cycles` full
-- cycles (default 2) and then tells the car to stop, so the program ends.
local threading = require "threading"
local time = require "time"

local tick = tonumber(arg and arg[1]) or 1
local cycles = tonumber(arg and arg[2]) or 2

local event = threading.Event()
local stop = threading.Event()       -- not in the seed: ends the demo

local function lighter()
  local count = 0
  local done = 0
  event:set()                        -- start green
  while done < cycles do
    if count > 5 and count <= 10 then
      event:clear()                  -- red: clear the flag
      print("\27[41;1mred light is on...\27[0m")
    elseif count > 10 then
      event:set()                    -- green again
      count = 0
      done = done + 1
    else
      print("\27[42;1mgreen light is on...\27[0m")
    end
    time.sleep(tick)
    count = count + 1
  end
  stop:set()
  event:set()                        -- let a waiting car see the stop
end

local function car(name)
  while not stop:is_set() do
    if event:is_set() then           -- green?
      print(string.format("[%s] running...", name))
      time.sleep(tick)
    else
      print(string.format("[%s] sees red light,waiting...", name))
      event:wait()
      print(string.format("[%s] green light is on,start going...", name))
    end
  end
end

local light = threading.Thread{target = lighter}
light:start()
local c = threading.Thread{target = car, args = {"MINI"}}
c:start()
light:join()
c:join()

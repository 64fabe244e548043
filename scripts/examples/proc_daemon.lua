-- Seed 004 "守护进程": p1 is a daemon, so it is terminated as soon as the
-- main program's code has ended; p2 is not, so the program waits for it.
-- Output: "main-------", 456, end456 (and maybe 123 from p1, never end123).
-- arg[1] scales the sleeps (default 1).
local mp = require "multiprocessing"
local time = require "time"
local SCALE = tonumber(arg and arg[1]) or 1

local function foo()
  print(123)
  time.sleep(1 * SCALE)
  print("end123")
end

local function bar()
  print(456)
  time.sleep(3 * SCALE)
  print("end456")
end

local p1 = mp.Process{target = foo}
local p2 = mp.Process{target = bar}

p1.daemon = true
p1:start()
p2:start()
print("main-------")   -- the main code ends here: p1 is terminated, p2 is joined

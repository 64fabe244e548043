-- timeout: 90
-- A thread that joins the main thread returns once the main program has
-- ended (Python marks the main thread stopped before joining the others):
-- "end of main" and "end of thread" both print and the program exits 0.
-- It used to hang at exit. Each case runs a child gillua under timeout(1).
local T = dofile("tests/lib/cli.lua")
local function timed(cmd) return "timeout -k 2 20 " .. cmd end

T.main(function()
  local script = T.write("join_main.lua", [[
    local th = require "threading"
    local started = th.Event()
    local t = th.Thread{target = function(started)
      local m = require("threading").main_thread()
      assert(m:is_alive())
      assert(m:join(0.01) == false, "main has not ended yet")
      started:set()
      assert(m:join(30) == true)
      assert(not m:is_alive())
      print("end of thread")
    end, args = {started}}
    t:start()
    assert(started:wait(20))
    print("end of main")
  ]])
  for _, flags in ipairs({"--gil=on", "--gil=off", "--gil=on --switch=interval:1"}) do
    local args = {}
    for f in flags:gmatch("%S+") do args[#args + 1] = f end
    args[#args + 1] = script
    T.expect(T.run{args = args, wrap = timed},
             {code = 0, out = "end of main\nend of thread\n", err = ""}, flags)
  end
  -- a daemon thread joining the main thread does not keep gillua alive
  local daemon = T.write("join_main_daemon.lua", [[
    local th = require "threading"
    local t = th.Thread{daemon = true, target = function()
      require("threading").main_thread():join()
      require("time").sleep(60)
    end}
    t:start()
    print("main done")
  ]])
  T.expect(T.run{args = {daemon}, wrap = timed}, {code = 0, out = "main done\n"})
end)

-- timeout: 120
-- os.exit leaves the program the way the end of the script does: it
-- joins non-daemon threads and non-daemon children and terminates daemon
-- children, with close true or false, from the main thread or another
-- one, GIL on and off. It used to exit at once: a daemon child started
-- before os.exit(0) outlived its parent and did its work.
local T = dofile("tests/lib/cli.lua")
local function timed(cmd) return "timeout -k 2 30 " .. cmd end
local function run(flags, name, code)
  local script = T.write(name, code)
  local args = {}
  for f in flags:gmatch("%S+") do args[#args + 1] = f end
  args[#args + 1] = script
  return T.run{args = args, wrap = timed}
end
local function pid_alive(pid)
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

T.main(function()
  for _, flags in ipairs({"--gil=on", "--gil=off"}) do
    for _, exit in ipairs({"os.exit(0)", "os.exit(0, true)", "os.exit(true, false)"}) do
      -- a non-daemon thread still working is joined
      local r = run(flags, "thread.lua", [[
        local th = require "threading"
        local go = th.Event()
        th.Thread{target = function(go) assert(go:wait(20)); print("thread done") end, args = {go}}:start()
        go:set()
        ]] .. exit .. [[
        print("not reached")
      ]])
      T.expect(r, {code = 0, out = "thread done\n", err = ""}, flags .. " " .. exit)
    end

    -- a daemon child is terminated, a non-daemon child is joined
    local r = run(flags, "children.lua", [[
      local mp = require "multiprocessing"
      local time = require "time"
      local q = mp.Queue()
      local d = mp.Process{daemon = true, target = function(q)
        q:put(require("os").getpid()); require("time").sleep(60)
        io.open("daemon_worked", "w"):close()
      end, args = {q}}
      local n = mp.Process{target = function(q)
        q:put("n"); io.open("child_worked", "w"):close()
      end, args = {q}}
      d:start(); n:start()
      local got = {}
      for i = 1, 2 do local v = q:get(20); got[type(v)] = v end
      print(got.number)
      os.exit(5)
    ]])
    T.expect(r, {code = 5}, flags .. " children")
    local daemon_pid = assert(tonumber(r.out:match("^(%d+)\n$")), r.out)
    assert(not pid_alive(daemon_pid), flags .. ": the daemon child outlived os.exit")
    assert(T.read(T.dir() .. "/daemon_worked") == nil, flags .. ": the daemon child did its work")
    assert(T.read(T.dir() .. "/child_worked") == "", flags .. ": the child was not joined")
    os.remove(T.dir() .. "/child_worked")

    -- os.exit in a thread: the main thread is waiting for it; the code is the thread's
    r = run(flags, "in_thread.lua", [[
      local th = require "threading"
      local t = th.Thread{target = function() os.exit(9) end}
      t:start(); t:join()
      print("not reached")
    ]])
    T.expect(r, {code = 9, out = ""}, flags .. " os.exit in a thread")

    -- os.exit in a thread after the main program ended (main is joining it)
    r = run(flags, "after_main.lua", [[
      local th = require "threading"
      local t = th.Thread{target = function()
        require("threading").main_thread():join()
        print("main ended")
        os.exit(4)
      end}
      t:start()
    ]])
    T.expect(r, {code = 4, out = "main ended\n"}, flags .. " os.exit after the main program")

    -- in a forked child, os.exit joins the child's own threads
    r = run(flags, "in_child.lua", [[
      local mp = require "multiprocessing"
      local p = mp.Process{target = function()
        local th = require "threading"
        local go = th.Event()
        th.Thread{target = function(go) assert(go:wait(20)); print("child thread done") end, args = {go}}:start()
        go:set()
        os.exit(6)
      end}
      p:start(); p:join()
      print(p.exitcode)
    ]])
    T.expect(r, {code = 0, out = "child thread done\n6\n"}, flags .. " os.exit in a child")
  end
end)

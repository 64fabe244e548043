-- Ported from CPython's Lib/test/_test_multiprocessing.py, _TestProcess
-- (the cases that apply to the fork start method and Lua): current,
-- daemon argument, process, terminate, kill, cpu_count, active_children,
-- recursion, wait_for_threads, many_processes, parent_process, exit codes.
-- Timing assertions of the original are dropped (a loaded machine); every
-- wait has a bound.
-- run: --gil=on
-- run: --gil=off
-- timeout: 60
local mp = require "multiprocessing"
local th = require "threading"
local time = require "time"
local expect = dofile("tests/lib/expect.lua")

local cases = {}
local function case(name, f) cases[#cases + 1] = {name, f} end

case("current", function()
  local cur = mp.current_process()
  assert(cur.name == "MainProcess" and cur.pid == os.getpid() and cur.daemon == false)
  assert(mp.parent_process() == nil)
end)

case("daemon_argument", function()
  local p = mp.Process{target = function() end}
  assert(p.daemon == false)
  p = mp.Process{target = function() end, daemon = true}
  assert(p.daemon == true)
  p.daemon = false
  assert(p.daemon == false)
end)

case("process", function()
  local q = mp.Queue()
  local e = mp.Event()
  local p = mp.Process{target = function(a, b, c)
    local cur = mp.current_process()
    q:put{a, b, c, cur.name, cur.daemon, cur.pid, mp.parent_process().pid}
    e:wait(20)
  end, args = {1, "two", 3.5}, name = "SomeProcess", daemon = true}
  assert(p.exitcode == nil and not p:is_alive() and p.pid == nil)
  p:start()
  assert(p:is_alive() and p.exitcode == nil)
  local got = q:get(true, 20)
  assert(got[1] == 1 and got[2] == "two" and got[3] == 3.5)
  assert(got[4] == "SomeProcess" and got[5] == true and got[6] == p.pid and got[7] == os.getpid())
  e:set()
  assert(p:join(20))
  assert(p.exitcode == 0 and not p:is_alive())
end)

-- the original's _kill_process: join(0) returns at once while alive,
-- active_children lists it, then the signal ends it
local function kill_process(how)
  local started = mp.Event()
  local p = mp.Process{target = function() started:set(); time.sleep(100) end, daemon = true}
  p:start()
  assert(p:is_alive() and p.exitcode == nil)
  local listed = false
  for _, c in ipairs(mp.active_children()) do listed = listed or c == p end
  assert(listed, "active_children lists a running child")
  assert(p:join(0) == false and p:is_alive())
  assert(started:wait(20))
  p[how](p)
  assert(p:join(20))
  assert(not p:is_alive())
  for _, c in ipairs(mp.active_children()) do assert(c ~= p) end
  return p.exitcode
end

case("terminate", function() assert(kill_process("terminate") == -15) end)
case("kill", function() assert(kill_process("kill") == -9) end)

case("cpu_count", function()
  local n = mp.cpu_count()
  assert(math.type(n) == "integer" and n >= 1)
end)

case("active_children", function()
  local e = mp.Event()
  local p = mp.Process{target = function() e:wait(20) end, daemon = true}
  for _, c in ipairs(mp.active_children()) do assert(c ~= p) end
  p:start()
  local listed = false
  for _, c in ipairs(mp.active_children()) do listed = listed or c == p end
  e:set()
  assert(listed)
  assert(p:join(20))
  for _, c in ipairs(mp.active_children()) do assert(c ~= p) end
end)

-- processes starting processes, ids sent up a queue in start order
case("recursion", function()
  local q = mp.Queue()
  local function rec(id)
    q:put(id)
    if #id < 2 then
      for i = 0, 1 do
        local child = {table.unpack(id)}
        child[#child + 1] = i
        local p = mp.Process{target = rec, args = {child}}
        p:start()
        assert(p:join(20))
      end
    end
  end
  rec({})
  local got = {}
  for _ = 1, 7 do got[#got + 1] = table.concat(q:get(true, 20), ",") end
  assert(table.concat(got, "|") == "|0|0,0|0,1|1|1,0|1,1", table.concat(got, "|"))
end)

-- a child waits for its non-daemon threads before it exits
case("wait_for_threads", function()
  local ev = mp.Event()
  local p = mp.Process{target = function()
    th.Thread{target = function() time.sleep(0.2); ev:set() end}:start()
  end}
  p:start()
  assert(p:join(20))
  assert(ev:is_set() and p.exitcode == 0)
end)

case("many_processes", function()
  local N = 20
  local procs = {}
  for i = 1, N do procs[i] = mp.Process{target = time.sleep, args = {0.01}} end
  for i = 1, N do procs[i]:start() end
  for i = 1, N do assert(procs[i]:join(20)) end
  for i = 1, N do assert(procs[i].exitcode == 0) end
  for i = 1, N do procs[i] = mp.Process{target = time.sleep, args = {100}} end
  for i = 1, N do procs[i]:start() end
  for i = 1, N do procs[i]:terminate() end
  for i = 1, N do assert(procs[i]:join(20)) end
  for i = 1, N do assert(procs[i].exitcode == -15, procs[i].exitcode) end
end)

case("parent_process", function()
  local q = mp.Queue()
  local p = mp.Process{target = function()
    local pp = mp.parent_process()
    q:put(pp and pp.pid or -1)
  end}
  p:start()
  assert(q:get(true, 20) == os.getpid())
  assert(p:join(20))
end)

-- the exit codes a child can leave with (the original's sys.exit cases)
case("exit_codes", function()
  local function code_of(f)
    local p = mp.Process{target = f}
    p:start()
    assert(p:join(20))
    return p.exitcode
  end
  assert(code_of(function() end) == 0)
  assert(code_of(function() os.exit(true) end) == 0)
  assert(code_of(function() os.exit(false) end) == 1)
  assert(code_of(function() os.exit(8) end) == 8)
  assert(code_of(function() os._exit(5) end) == 5)
  assert(code_of(function() error("boom") end) == 1)
end)

case("misuse", function()
  local p = mp.Process{target = function() end}
  expect.error("can only join a started process", p.join, p)
  p:start()
  expect.error("cannot start a process twice", p.start, p)
  expect.error("cannot set daemon status of active process", function() p.daemon = true end)
  assert(p:join(20))
end)

for _, c in ipairs(cases) do
  local ok, err = pcall(c[2])
  assert(ok, c[1] .. ": " .. tostring(err))
end
print(#cases .. " cases ok")

-- run: --gil=on
-- run: --gil=off
-- timeout: 60
-- A Thread's or a Process's args.n is checked at start(): anything but an
-- integer 0..999000 is an error naming the problem in the caller, never a
-- crash (n = 1<<32 used to be cast to int and overflow the stack) nor a
-- call with the wrong arguments (n = -1). Nothing is started on error.
-- #args (which may run a __len) is looked at where the arguments are
-- unpacked, in the new thread (or child: mp_child_exit tests that side).
local th = require "threading"
local mp = require "multiprocessing"
local expect_error = dofile("tests/lib/expect.lua").error
local check_join = dofile("tests/lib/expect.lua").joined

local bad = {
  {{n = 1 << 32}, "args.n must be between 0 and 999000 %(got 4294967296%)"},
  {{n = 2000000}, "args.n must be between 0 and 999000 %(got 2000000%)"},
  {{n = -1}, "args.n must be between 0 and 999000 %(got %-1%)"},
  {{n = 1.5}, "args.n must be an integer %(got number 1.5%)"},
  {{n = "2", 1, 2}, "args.n must be an integer %(got string 2%)"},
  {{n = true}, "args.n must be an integer %(got boolean true%)"},
}
for i, case in ipairs(bad) do
  local t = th.Thread{target = print, args = case[1]}
  expect_error("Thread: " .. case[2], t.start, t)
  assert(not t:is_alive() and t.ident == nil, "case " .. i .. ": the thread must not start")
  local p = mp.Process{target = print, args = case[1]}
  expect_error("Process: " .. case[2], p.start, p)
  assert(p.pid == nil, "case " .. i .. ": no child may be forked")
end

-- #args is the new thread's business: a __len that raises fails the thread
-- (t.error), not start(); so is a #args too large for a Lua stack
th.excepthook = function() end
local raising = setmetatable({}, {__len = function() error("len failed", 0) end})
local huge = setmetatable({}, {__len = function() return 5000000 end})
for _, case in ipairs({{raising, "^len failed$"}, {huge, "Thread: too many arguments %(#args is 5000000"}}) do
  local t = th.Thread{target = print, args = case[1]}
  t:start()
  assert(t:join(20))
  assert(t.error and t.error:find(case[2]), tostring(t.error))
end
th.excepthook = th.__excepthook__

-- good values: n counts nils and may be below #args
local got = {}
local t = th.Thread{target = function(...) got = table.pack(...) end,
                    args = {n = 3, "a", nil, "c"}}
t:start(); check_join(t)
if #got ~= 0 or got.n then   -- GIL on: the same universe sees 'got'
  assert(got.n == 3 and got[1] == "a" and got[2] == nil and got[3] == "c")
end
local q = th.Event()
t = th.Thread{target = function(ev, extra) assert(extra == nil); ev:set() end,
              args = {n = 1, q, "dropped"}}
t:start(); check_join(t)
assert(q:is_set())
t = th.Thread{target = function(...) assert(select("#", ...) == 0) end, args = {n = 0, 1}}
t:start(); check_join(t)
t = th.Thread{target = function(a, b) assert(a == 1 and b == 2) end, args = {n = 2.0, 1, 2}}
t:start(); check_join(t)
local p = mp.Process{target = function(a, b, c)
  os.exit((a == 1 and b == nil and c == 3) and 0 or 3)
end, args = {n = 3, 1, nil, 3}}
p:start(); assert(p:join(20)); assert(p.exitcode == 0, tostring(p.exitcode))
print("thread_args_n ok")

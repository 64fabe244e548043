-- run: --gil=on
-- run: --gil=off
-- timeout: 60
-- A Thread's or a Process's args.n is checked at start(): anything but an
-- integer 0..999000 is an error naming the problem in the caller, never a
-- crash (n = 1<<32 used to be cast to int and overflow the stack) nor a
-- call with the wrong arguments (n = -1). Nothing is started on error.
local th = require "threading"
local mp = require "multiprocessing"
local expect_error = dofile("tests/lib/expect.lua").error
local check_join = dofile("tests/lib/expect.lua").joined

local bad = {
  {{n = 1 << 32}, "too many arguments"},
  {{n = 2000000}, "too many arguments"},
  {{n = -1}, "args.n must be >= 0 %(got %-1%)"},
  {{n = 1.5}, "args.n must be an integer %(got number 1.5%)"},
  {{n = "2", 1, 2}, "args.n must be an integer %(got string 2%)"},
  {{n = true}, "args.n must be an integer"},
  {setmetatable({}, {__len = function() error("len failed") end}), "len failed"},
}
for i, case in ipairs(bad) do
  local t = th.Thread{target = print, args = case[1]}
  local want = case[2] == "len failed" and case[2] or "Thread: " .. case[2]
  expect_error(want, t.start, t)
  assert(not t:is_alive() and t.ident == nil, "case " .. i .. ": the thread must not start")
  local p = mp.Process{target = print, args = case[1]}
  expect_error(case[2], p.start, p)
  assert(p.pid == nil, "case " .. i .. ": no child may be forked")
end

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

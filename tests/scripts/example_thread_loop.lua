-- scripts/examples/thread_loop.lua: exact output, GIL on and off.
local E = dofile("tests/lib/examples.lua")
local gillua, run, lines, expect_ok = E.gillua, E.run, E.lines, E.expect_ok

local want = [[
thread MainThread is running...
thread LoopThread is running...
thread LoopThread >>> 1
thread LoopThread >>> 2
thread LoopThread >>> 3
thread LoopThread >>> 4
thread LoopThread >>> 5
thread LoopThread ended.
thread MainThread ended.
]]
for _, flags in ipairs{"--gil=on", "--gil=off"} do
  local out = expect_ok(flags, "thread_loop.lua", "0.01")
  assert(out == want, flags .. ":\n" .. out)
end
print("ok")

-- Every constructor that takes an options table rejects keys it does not
-- know, naming the nearest known one (a misspelled option used to be
-- ignored: Process{targt = f} ran nothing and exited 0).
local mp = require "multiprocessing"
local sp = require "subprocess"
local th = require "threading"
local expect = dofile("tests/lib/expect.lua")

local function f() end
expect.error("unknown option 'targt' to Process %(did you mean 'target'%?%)", mp.Process, {targt = f})
expect.error("unknown option 'dameon' to Process %(did you mean 'daemon'%?%)", mp.Process, {target = f, dameon = true})
expect.error("unknown option 'process' to Pool %(did you mean 'processes'%?%)", mp.Pool, {process = 1})
expect.error("unknown option 'initarg' to Pool %(did you mean 'initargs'%?%)", mp.Pool, {initarg = {}})
expect.error("unknown option 'arg' to Popen %(did you mean 'args'%?%)", sp.Popen, {arg = {"true"}})
expect.error("unknown option 'stdot' to Popen %(did you mean 'stdout'%?%)", sp.Popen, {args = {"true"}, stdot = sp.PIPE})
expect.error("unknown option 'capture' to run", sp.run, {args = {"true"}, capture = true})
expect.error("unknown option 'chek' to check_call %(did you mean 'check'%?%)", sp.check_call, {args = {"true"}, chek = true})
expect.error("unknown option 'imput' to check_output %(did you mean 'input'%?%)", sp.check_output, {args = {"cat"}, imput = "x"})
expect.error("unknown option 'tiemout' to call %(did you mean 'timeout'%?%)", sp.call, {args = {"true"}, tiemout = 1})
expect.error("unknown option 'targt' to Thread %(did you mean 'target'%?%)", th.Thread, {targt = f})
expect.error("unknown option 'adress' to SyncManager %(did you mean 'address'%?%)", mp.Manager, {adress = {"127.0.0.1", 0}})
local managers = require "multiprocessing.managers"
expect.error("unknown option 'authkye' to BaseManager %(did you mean 'authkey'%?%)", managers.BaseManager, {authkye = "k"})
-- nothing near: the known options are listed
expect.error("unknown option 'zzzzzzzz' to Pool %(known options: processes, initializer, initargs, maxtasksperchild%)",
             mp.Pool, {zzzzzzzz = 1})
-- keys that are not names
expect.error("Process: options must be named %(got a number key%)", mp.Process, {f})

-- values of the wrong type
expect.error("Pool: processes must be an integer %(got string%)", mp.Pool, {processes = "2"})
expect.error("Pool: maxtasksperchild must be an integer %(got number%)", mp.Pool, {maxtasksperchild = 1.5})

-- the right spellings still work; run's own options are not passed to Popen
local r = sp.run{args = {"cat"}, input = "hi", capture_output = true, check = true, timeout = 10}
assert(r.stdout == "hi" and r.returncode == 0)
assert(sp.call{args = {"true"}, timeout = 10} == 0)
local p = mp.Process{target = f, args = {}, name = "x", daemon = false, outlive_parent = false}
p:start()
assert(p:join(10) and p.exitcode == 0)
local t = th.Thread{target = f, args = {}, name = "t", daemon = false}
t:start()
assert(t:join(10))
print("ok")

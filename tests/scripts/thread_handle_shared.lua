-- run: --gil=on
-- run: --gil=off
-- A Thread handle can be given to another thread (args, queues, shared
-- values), also with the GIL off where each thread has its own
-- interpreter: join, is_alive, name, ident, native_id, daemon and error
-- work from there, equality holds, and a handle that comes back is the
-- one the receiver already had. (With the GIL off this used to fail with
-- "cannot transfer userdata at args[1]".)
local th = require "threading"
local queue = require "queue"
local check_join = dofile("tests/lib/expect.lua").joined
local expect_error = dofile("tests/lib/expect.lua").error

local go = th.Event()
local a = th.Thread{name = "A", daemon = false, target = function(go)
  assert(go:wait(20))
  error("A failed", 0)
end, args = {go}}
th.excepthook = function() end      -- A's error is expected: keep stderr quiet
a:start()
local q = queue.Queue()
local watcher = th.Thread{name = "W", target = function(a, go, q)
  local th = require "threading"
  q:put({name = a.name, alive = a:is_alive(), ident = a.ident, native = a.native_id,
         daemon = a.daemon, same = (a == a), main = th.main_thread().name})
  go:set()
  assert(a:join(20) == true, "joined from another thread")
  q:put({alive = a:is_alive(), error = a.error})
  -- start() of a handle from elsewhere: once only, from anywhere
  local ok, e = pcall(a.start, a)
  q:put(e)
end, args = {a, go, q}}
watcher:start()
local r = q:get(true, 20)
assert(r.name == "A" and r.alive == true and r.daemon == false and r.same and r.main == "MainThread")
assert(r.ident == a.ident and r.native == a.native_id)
r = q:get(true, 20)
assert(r.alive == false and r.error == "A failed", tostring(r.error))
assert(tostring(q:get(true, 20)):find("threads can only be started once"))
check_join(watcher)
assert(a.error == "A failed")

-- a handle sent away and back is the receiver's own handle
q:put(a)
local back = q:get(true, 20)
assert(rawequal(back, a), "the same handle comes back")
local t = th.Thread{target = function(q)
  local me = require("threading").current_thread()
  q:put(me)
end, args = {q}}
t:start()
local me = q:get(true, 20)
check_join(t)
assert(rawequal(me, t), "current_thread() of a thread is the starter's handle")

-- setting name from another interpreter is seen everywhere
local ev = th.Event()
local n = th.Thread{target = function(ev, q)
  assert(ev:wait(20))
  q:put(require("threading").current_thread().name)
end, args = {ev, q}}
n:start()
local renamer = th.Thread{target = function(n, ev) n.name = "renamed"; ev:set() end, args = {n, ev}}
renamer:start(); check_join(renamer)
assert(q:get(true, 20) == "renamed")
check_join(n)
expect_error("cannot set daemon status of active thread", function() n.daemon = true end)
print("thread_handle_shared ok")

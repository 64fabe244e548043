-- With --gil=off a thread's function and arguments are copied into the
-- thread's own interpreter. A C module's table cannot be copied (its C
-- functions), so one that require finds in a file travels by name: the
-- receiving interpreter requires it (its own instance) and gets the same
-- fields (runtime/transfer.c). A module require cannot find there is a
-- clear error of the thread, naming it. Under --gil=on nothing is copied.
-- run: --gil=off
-- run: --gil=on
local threading, queue = require "threading", require "queue"
local socket = require "socket"
local gettime = socket.gettime
local results = queue.Queue()

local t = threading.Thread{target = function(mod, f)
  results:put(type(socket.gettime()) == "number" and type(gettime()) == "number"
              and mod == socket and f == gettime and socket._VERSION)
end, args = {socket, gettime}}
t:start()
t:join()
assert(results:get(true, 5) == socket._VERSION, "the module and its function arrived")

-- a C module on a path only this interpreter has (GIL off: not found in a new one)
local dir = assert(os.getenv("GILLUA"), "GILLUA not set"):match("^(.*)/")
package.cpath = dir .. "/tests/?.so;" .. package.cpath
local B = require "blockmod"
local bad = threading.Thread{target = function() return B.pipe() end}
bad:start()
bad:join(10)
if require("gil").enabled() then
  assert(bad.error == nil, bad.error)
else
  -- the thread's interpreter cannot require it: the thread fails, saying so
  assert(bad.error and bad.error:find("'blockmod' is not a standard library or runtime module, nor one require finds here",
                                      1, true), tostring(bad.error))
  -- the thread finds it once it sets the same path itself
  local good = threading.Thread{target = function(cpath)
    package.cpath = cpath
    local r, w = require("blockmod").pipe()
    results:put(r >= 0 and w >= 0)
  end, args = {package.cpath}}
  good:start(); good:join()
  assert(results:get(true, 5) == true)
end
print("nogil_module_byname ok")

-- The issue's LuaSocket example: the main thread waits in accept and
-- receive while a client thread connects and sends a line. With the
-- GIL held in accept the client never ran and the program hung; C
-- modules' blocking calls now let go of it (vm/interpose.c).
-- With --gil=off the client thread runs in its own interpreter: its
-- upvalue 'socket' (a C module's table) arrives there by name, required
-- anew (runtime/transfer.c). Then the same program in
-- a child with --module-io=hold, GILLUA_MODULE_IO=hold and
-- gil.module_io_for("socket.core", "hold"): it must still be stuck
-- after 1.5 s (the off switches work).
-- run: --gil=on
-- run: --switch=interval:1
-- run: --switch=ticks:100
-- run: --switch=priority:1
-- run: --gil=off
-- timeout: 30
local socket, threading = require "socket", require "threading"

local function example()   -- as the issue has it
  local srv = assert(socket.bind("127.0.0.1", 0)); local _, port = srv:getsockname()
  local c = threading.Thread{target = function()
    local s = socket.connect("127.0.0.1", port); s:send("hello\n"); s:close() end}
  c:start()
  local conn = assert(srv:accept())
  local line, err = conn:receive("*l")
  c:join()
  conn:close(); srv:close()
  return line, err
end

if ARG_CHILD then   -- a child of the off-switch checks below
  if ARG_CHILD == "module" then require("gil").module_io_for("socket.core", "hold") end
  example()
  os.exit(0)
end

local line, err = example()
assert(line == "hello" and err == nil, tostring(line) .. " " .. tostring(err))

-- The off switches, in children (their example would hang: 'timeout' kills it).
local gil = require "gil"
if gil.enabled() then
  local bin = assert(os.getenv("GILLUA"), "GILLUA not set")
  local me = assert(arg[0])
  local child = "local f = assert(loadfile(%q)); ARG_CHILD = %q; f()"
  for _, how in ipairs{"flag", "env", "module"} do
    local cmd
    if how == "flag" then
      cmd = string.format("timeout 1.5 %s --module-io=hold -e %q", bin, child:format(me, "plain"))
    elseif how == "env" then
      cmd = string.format("GILLUA_MODULE_IO=hold timeout 1.5 %s -e %q", bin, child:format(me, "plain"))
    else
      cmd = string.format("timeout 1.5 %s -e %q", bin, child:format(me, "module"))
    end
    local ok, kind, code = os.execute(cmd .. " > /dev/null 2>&1")
    assert(not ok and kind == "exit" and code == 124,
           how .. ": the example was expected to stay stuck, got " .. tostring(kind) .. " " .. tostring(code))
  end
end
print("sock_example ok")

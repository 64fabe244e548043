-- os.exit(0, true) called by a finalizer that lua_close runs at the end of
-- the program (Lua 5.4.4's main.lua, "finalizer called when closing a
-- state"): the exit path is already running on this stack, so os.exit
-- closes the state as lua5.4 does (the remaining finalizer still runs) and
-- exits. It used to wait for itself for ever.
-- timeout: 30
local sp = require "subprocess"
local bin = assert(os.getenv("GILLUA"))
local prog = os.tmpname()
local f = assert(io.open(prog, "w"))
f:write[[
print("creating 1")
setmetatable({}, {__gc = function () print(1) end})
print("creating 2")
setmetatable({}, {__gc = function ()
  print("2")
  print("creating 3")
  setmetatable({}, {__gc = function () print(3) end})
  print(collectgarbage())
  os.exit(0, true)
end})
]]
f:close()
for _, flags in ipairs{"--gil=on", "--gil=off"} do
  local r = sp.run{args = {bin, flags, "-W", prog}, capture_output = true, timeout = 10}
  assert(r.returncode == 0, flags .. ": exit code " .. tostring(r.returncode) .. "\n" .. r.stderr)
  assert(r.stdout == "creating 1\ncreating 2\n2\ncreating 3\nnil\n1\n", flags .. ": " .. r.stdout)
end
os.remove(prog)
print("ok")

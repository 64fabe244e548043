-- C modules' blocking calls (vm/interpose.c): the gil module's switches
-- (module_io, module_io_for: values, errors), and require finding
-- Debian's lua-* modules for 5.4 exactly as lua5.4 does (same
-- package.path and cpath, same files, with and without LUA_PATH_5_4 /
-- LUA_CPATH_5_4).
-- run: --gil=on
-- run: --gil=off
local gil = require "gil"

-- the default, and setting it (the previous value comes back)
assert(gil.module_io() == "release")
assert(gil.module_io("hold") == "release" and gil.module_io() == "hold")
assert(gil.module_io("release") == "hold" and gil.module_io() == "release")
local ok, err = pcall(gil.module_io, "off")
assert(not ok and err:find("invalid option 'off'", 1, true), err)

-- per module: by require's name or by path; "release" removes a hold
assert(gil.module_io_for("socket.core") == "release")
assert(gil.module_io_for("socket.core", "hold") == "release")
assert(gil.module_io_for("socket.core") == "hold")
local path = package.searchpath("socket.core", package.cpath)
assert(gil.module_io_for(path) == "hold", "the same object by its path")
assert(gil.module_io_for(path, "release") == "hold")
assert(gil.module_io_for("socket.core") == "release")
ok, err = pcall(gil.module_io_for, "no.such.module")
assert(not ok and err:find("no C module 'no.such.module' in package.cpath", 1, true), err)
ok, err = pcall(gil.module_io_for, "/no/such/file.so")
assert(not ok and err:find("cannot resolve '/no/such/file.so'", 1, true), err)
ok, err = pcall(gil.module_io_for, "socket.core", "maybe")
assert(not ok and err:find("invalid option 'maybe'", 1, true), err)
ok, err = pcall(gil.module_io_for)
assert(not ok and err:find("string expected", 1, true), err)

-- with a hold on socket.core its calls still work (they keep the GIL)
gil.module_io_for("socket.core", "hold")
local socket = require "socket"
local t0 = socket.gettime(); socket.sleep(0.05)
assert(socket.gettime() - t0 >= 0.04)
gil.module_io_for("socket.core", "release")

-- require finds what lua5.4 finds
local same_as_lua = dofile("tests/lib/same_as_lua.lua")
same_as_lua("tests/data/require_paths.lua", 12)
local function output(interp)
  local p = assert(io.popen("LUA_PATH_5_4='/tmp/nowhere/?.lua;;' LUA_CPATH_5_4='/tmp/nowhere/?.so;;' " ..
                            interp .. " tests/data/require_paths.lua 2>&1"))
  local out = p:read("a"); p:close(); return out
end
local want, got = output("lua5.4"), output(os.getenv("GILLUA"))
assert(want:find("/tmp/nowhere/?.so;/usr/local/lib/lua/5.4/?.so", 1, true), want)
assert(got == want, "with LUA_PATH_5_4 and LUA_CPATH_5_4:\nlua5.4:\n" .. want .. "\ngillua:\n" .. got)
print("gil_module_io ok")

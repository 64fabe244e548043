-- Writes to pipes in the ways Lua allows, the bytes read back and
-- printed. tests/scripts/io_pipe_writes.lua runs this under lua5.4 and
-- under gillua (whose pipe writes are its own, runtime/lio_write.c) and
-- compares.
local out = os.tmpname()
local function readback()
  local f = assert(io.open(out, "rb"))
  local s = f:read("a")
  f:close()
  return #s > 200 and #s .. ":" .. s:sub(1, 60) .. "..." .. s:sub(-60) or string.format("%q", s)
end
local values = {
  {"a", "b", "\n"}, {1, 2.5, -0.0, 1e300, math.mininteger, math.maxinteger, 1 / 0, -1 / 0, 2^53, 1.0, 3},
  {string.rep("x", 100000)}, {string.rep("y", 4095), string.rep("z", 4097)}, {}, {"", "", ""},
  {"nul\0byte"}, {string.rep("line\n", 3000)},
}
local modes = { false, {"no"}, {"full"}, {"line"}, {"full", 65536}, {"full", 100}, {"full", 4096} }
for _, m in ipairs(modes) do
  for i, v in ipairs(values) do
    local p = assert(io.popen("cat > " .. out, "w"))
    if m then p:setvbuf(table.unpack(m)) end
    local r = p:write(table.unpack(v))
    local r2 = p:write("|end")
    print(m and table.concat(m, " ") or "default", i, r == p, r2 == p, tostring(p:close()), readback())
  end
end
-- io.write on io.output() redirected to a pipe, chained
local p = assert(io.popen("cat > " .. out, "w"))
io.output(p)
print("chain", io.write("a", 1, "b"):write("c", 2.0) == p)
io.output(io.stdout)
p:close()
print("io.write", readback())
-- errors
p = assert(io.popen("cat > " .. out, "w"))
print("bad value", pcall(p.write, p, "ok", {}))
print("bad value 2", pcall(p.write, p, nil))
p:close()
print("closed", pcall(p.write, p, "x"))
print("after errors", readback())
io.output(assert(io.popen("cat > " .. out, "w")))
print("io.write bad", pcall(io.write, 1, true))
io.output():close()
print("io.write closed", pcall(io.write, "x"))
io.output(io.stdout)
os.remove(out)

-- Pipe writes give what Lua's give: tests/data/pipe_writes.lua, which
-- writes to pipes every kind of value, with every buffering mode (sizes
-- under, at and over a pipe's 4096 bytes), chains, bad values and closed
-- files, prints the same under gillua (runtime/lio_write.c writes pipes
-- itself) as under lua5.4, the reference interpreter (`make deps`).
local function run(interp)
  local p = assert(io.popen(interp .. " tests/data/pipe_writes.lua 2>&1"))
  local out = p:read("a")
  local ok, how, code = p:close()
  assert(ok, interp .. " failed (" .. tostring(how) .. " " .. tostring(code) .. "):\n" .. out)
  return out
end
assert(os.execute("command -v lua5.4 >/dev/null 2>&1"), "lua5.4 is not installed: run `make deps`")
local want, got = run("lua5.4"), run(os.getenv("GILLUA"))
if got ~= want then
  local wl, gl, n = {}, {}, 0
  for l in want:gmatch("[^\n]*\n?") do wl[#wl + 1] = l end
  for l in got:gmatch("[^\n]*\n?") do gl[#gl + 1] = l end
  repeat n = n + 1 until wl[n] ~= gl[n]
  error(string.format("line %d differs:\nlua5.4: %sgillua: %s", n, tostring(wl[n]), tostring(gl[n])))
end
assert(select(2, want:gsub("\n", "")) >= 60, "the comparison printed too little:\n" .. want)
print("ok")

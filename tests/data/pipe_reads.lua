-- Reads from pipes in every format Lua has (but "n"), printed one per
-- line. tests/scripts/io_pipe_reads.lua runs this under lua5.4 and under
-- gillua (whose pipe reads are its own, runtime/lio_read.c) and compares.
local function q(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = type(t[i]) == "string" and string.format("%q", t[i]) or tostring(t[i]) end
  return table.concat(t, ",", 1, t.n)
end
local outputs = {
  "printf 'ab\\ncd\\n\\nlast'", "printf ''", "printf '\\n\\n'", "printf 'x\\0y\\nz'",
  "head -c 20000 /dev/zero | tr '\\0' a; echo; echo tail", "printf '12 34\\nrest\\n'",
  "printf '0x1F -3.5e2 .5 1e+ 0x 99 0x1p4 +7 - 12abc'", "printf '%0250d 5' 1", "printf '  \\n\\t 42\\n'",
}
local formats = {
  {}, {"l"}, {"L"}, {"a"}, {"*l"}, {"*a"}, {3}, {0}, {"l", "l", "l", "l", "l"}, {"L", "a", "a"},
  {0, "a", 0}, {100000}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, {"a", "l"}, {"l", 0, "L"},
  {"n"}, {"n", "n", "n"}, {"*n", "l"}, {"n", "a"}, {"n", 2, "n"},
}
local function show(s) return #s > 300 and #s .. ":" .. s:sub(1, 100) .. s:sub(-100) or s end
for _, cmd in ipairs(outputs) do
  for _, f in ipairs(formats) do
    local p = io.popen(cmd)
    local out = {}
    for i = 1, 3 do out[i] = "[" .. q(p:read(table.unpack(f))) .. "]" end
    p:close()
    print(cmd, table.concat(f, " "), show(table.concat(out)))
  end
  local p, got = io.popen(cmd), {}
  for a, b in p:lines("L", 2) do got[#got + 1] = q(a, b) end
  p:close()
  print("lines L 2", show(table.concat(got, ";")))
  p, got = io.popen(cmd), {}
  for l in p:lines() do got[#got + 1] = #l end
  p:close()
  print("lines", table.concat(got, " "))
  io.input(io.popen(cmd))
  print("io.read l a", q(io.read("l", "a")))
  io.input():close()
  io.input(io.popen(cmd))
  local n = 0
  for l in io.lines() do n = n + #l end
  print("io.lines", n)
  io.input(io.stdin)
end
local p = io.popen("echo x")
p:close()
print("closed read", pcall(p.read, p, "l"))
print("closed read, bad format", pcall(p.read, p, "x"))
print("bad format", pcall(io.read, "x"))
local it = io.popen("echo y"):lines()
print("iterator", it(), it())
print("after the end", select("#", it()))

-- Shared by the script tests that hold gillua to Lua's own behaviour:
-- same_as_lua(script, min_lines) runs the Lua program `script` under
-- lua5.4 (the reference interpreter, installed by `make deps`) and under
-- gillua ($GILLUA), and asserts that both succeed and print the same
-- bytes, naming the first line that differs. min_lines guards against a
-- comparison of two empty outputs.
local function run(interp, script)
  local p = assert(io.popen(interp .. " " .. script .. " 2>&1"))
  local out = p:read("a")
  local ok, how, code = p:close()
  assert(ok, interp .. " failed (" .. tostring(how) .. " " .. tostring(code) .. "):\n" .. out)
  return out
end

local function lines_of(s)
  local t = {}
  for l in s:gmatch("[^\n]*\n?") do t[#t + 1] = l end
  return t
end

return function(script, min_lines)
  assert(os.execute("command -v lua5.4 >/dev/null 2>&1"), "lua5.4 is not installed: run `make deps`")
  local want, got = run("lua5.4", script), run(os.getenv("GILLUA"), script)
  if got ~= want then
    local wl, gl, n = lines_of(want), lines_of(got), 0
    repeat n = n + 1 until wl[n] ~= gl[n]
    error(string.format("%s: line %d differs:\nlua5.4: %sgillua: %s", script, n, tostring(wl[n]), tostring(gl[n])))
  end
  local count = select(2, want:gsub("\n", ""))
  assert(count >= min_lines, script .. " printed too little (" .. count .. " lines):\n" .. want)
end

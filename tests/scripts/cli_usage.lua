-- Usage errors: every bad option or value exits 2 before anything runs,
-- with "gillua: <message naming it>" on stderr followed by the usage.
local T = dofile("tests/lib/cli.lua")

T.main(function()
  local cases = {
    { { "--foo" }, "gillua: unrecognized option '--foo'" },
    { { "-x" }, "gillua: unrecognized option '-x'" },
    { { "-vx" }, "gillua: unrecognized option '-vx'" },
    { { "-Ex" }, "gillua: unrecognized option '-Ex'" },
    { { "---" }, "gillua: unrecognized option '---'" },
    { { "-e" }, "gillua: '-e' needs argument" },
    { { "-l" }, "gillua: '-l' needs argument" },
    { { "-e", "-v" }, "gillua: '-e' needs argument" },
    { { "-E", "-l", "-x" }, "gillua: '-l' needs argument" },
    { { "--gil=maybe" }, "gillua: invalid --gil value 'maybe'" },
    { { "--gil=" }, "gillua: invalid --gil value ''" },
    { { "--gil" }, "gillua: option '--gil' needs a value" },
    { { "--switch=bytecodes:0" }, "gillua: invalid --switch value 'bytecodes:0': " },
    { { "--switch=bytecodes:x" }, "gillua: invalid --switch value 'bytecodes:x': " },
    { { "--switch=bytecodes:-5" }, "gillua: invalid --switch value 'bytecodes:-5': " },
    { { "--switch=interval:-1" }, "gillua: invalid --switch value 'interval:-1': " },
    { { "--switch=interval:abc" }, "gillua: invalid --switch value 'interval:abc': " },
    { { "--switch=foo:3" }, "gillua: invalid --switch value 'foo:3': unknown policy 'foo' (expected ticks, bytecodes, interval or priority)" },
    { { "--switch=ticks:0" }, "gillua: invalid --switch value 'ticks:0': N must be an integer" },
    { { "--switch=priority:-2" }, "gillua: invalid --switch value 'priority:-2': MS must be a number" },
    { { "--switch=priority" }, "gillua: invalid --switch value 'priority': expected ticks:N, bytecodes:N, interval:MS or priority:MS[:PCT]" },
    { { "--switch=priority:5:95" }, "gillua: invalid --switch value 'priority:5:95': PCT (the share urgent turns may cost the others) must be an integer from 1 to 90" },
    { { "--switch=" }, "gillua: invalid --switch value '': " },
    { { "--switch" }, "gillua: option '--switch' needs a value" },
    { { "--stats=yes" }, "gillua: option '--stats' does not take a value" },
    { { "--trace=" }, "gillua: option '--trace' needs a file name" },
    { { "--trace" }, "gillua: option '--trace' needs a file name" },
    { { "--help=1" }, "gillua: option '--help' does not take a value" },
    -- the first bad option is reported, even after good ones
    { { "--gil=off", "--stats", "--bogus", "script.lua" }, "gillua: unrecognized option '--bogus'" },
  }
  T.write("script.lua", "print('script ran')")
  for _, c in ipairs(cases) do
    local args = c[1]
    args[#args + 1] = "-e"
    args[#args + 1] = "print('ran')"
    local r = T.run{ args = args, stdin = "print('stdin ran')" }
    T.expect(r, { code = 2, out = "", err_has = { c[2], "usage: gillua [options] [script [args]]" } },
             table.concat(args, " "))
    local first = r.err:match("^[^\n]*")
    if first:sub(1, #c[2]) ~= c[2] then
      error("first line of stderr is " .. first .. ", expected it to start with " .. c[2])
    end
  end

  -- after the script, nothing is an option
  local r = T.run{ args = { "script.lua", "--bogus", "-e" } }
  T.expect(r, { code = 0, out = "script ran\n" })
end)

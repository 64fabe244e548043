-- Errors reaching the top level: "gillua: message" (argv[0] as given)
-- plus a traceback on stderr, exit 1; non-string error objects; a missing script; syntax
-- errors; stdin as the program when it is not a terminal.
local T = dofile("tests/lib/cli.lua")

T.main(function()
  T.write("boom.lua", "local function f()\n  error('boom')\nend\nprint('before')\nf()\nprint('after')\n")
  local r = T.run{ args = { "boom.lua" } }
  T.expect(r, { code = 1, out = "before\n",
    err_match = "^gillua: boom%.lua:2: boom\nstack traceback:\n.*boom%.lua:2: in .*boom%.lua:5: in main chunk" })

  -- the prefix is argv[0] as given (lua.c's progname), however gillua
  -- was started: a path, a relative path; usage errors too
  for _, as in ipairs({ T.bin, "bin/gillua", "./bin/../bin/gillua" }) do
    r = T.run{ args = { "boom.lua" }, as = as }
    T.expect(r, { code = 1, out = "before\n", err_match = "^" .. as:gsub("%p", "%%%0") .. ": boom%.lua:2: boom\n" }, as)
    r = T.run{ args = { "-x" }, as = as }
    T.expect(r, { code = 2, out = "", err_has = { as .. ": unrecognized option '-x'\nusage: " .. as .. " [options]" } }, as)
  end

  -- error objects that are not strings
  local objects = {
    { "error({})", "gillua: (error object is a table value)\nstack traceback:" },
    { "error()", "gillua: (error object is a nil value)\nstack traceback:" },
    { "error(true)", "gillua: (error object is a boolean value)\nstack traceback:" },
    { "error(42)", "gillua: 42\nstack traceback:" },
    { "error(setmetatable({}, {__tostring = function() return 'custom' end}))", "gillua: custom\n" },
    { "error('no position', 0)", "gillua: no position\nstack traceback:" },
  }
  for _, o in ipairs(objects) do
    r = T.run{ args = { "-e", o[1] } }
    T.expect(r, { code = 1, out = "" }, o[1])
    if r.err:sub(1, #o[2]) ~= o[2] then
      error(string.format("%s: stderr %q does not start with %q", o[1], r.err, o[2]))
    end
  end
  -- __tostring: the string alone, no traceback (as lua)
  r = T.run{ args = { "-e", "error(setmetatable({}, {__tostring = function() return 'custom' end}))" } }
  T.expect(r, { code = 1, err = "gillua: custom\n" })

  -- a missing script
  r = T.run{ args = { "nofile.lua" } }
  T.expect(r, { code = 1, out = "", err_match = "^gillua: cannot open nofile%.lua" })

  -- syntax errors: exit 1, no traceback (nothing ran)
  T.write("syntax.lua", "print('x'\n")
  r = T.run{ args = { "syntax.lua" } }
  T.expect(r, { code = 1, out = "", err_match = "^gillua: syntax%.lua:%d+: '%)' expected", err_not = "stack traceback" })
  r = T.run{ args = { "-e", "x = = 1" } }
  T.expect(r, { code = 1, err_match = "^gillua: %(command line%):1: unexpected symbol" })

  -- an error in the script after -e ran
  r = T.run{ args = { "-e", "print('e ran')", "boom.lua" } }
  T.expect(r, { code = 1, out = "e ran\nbefore\n", err_has = "gillua: boom.lua:2: boom" })

  -- stdin (not a terminal) is the program when there is no script
  r = T.run{ args = {}, stdin = "print('from stdin', ...)\nprint(1 + 1)\n" }
  T.expect(r, { code = 0, out = "from stdin\n2\n", err = "" }, "stdin program")
  r = T.run{ args = {}, stdin = "print('a')\nerror('stdin boom')\nprint('b')\n" }
  T.expect(r, { code = 1, out = "a\n", err_has = { "gillua: stdin:2: stdin boom", "stack traceback:" } })
  r = T.run{ args = { "-" }, stdin = "error('dash boom')" }
  T.expect(r, { code = 1, err_has = "gillua: stdin:1: dash boom" })

  -- a successful script exits 0 with nothing on stderr
  T.write("ok.lua", "io.write('fine\\n')")
  r = T.run{ args = { "ok.lua" } }
  T.expect(r, { code = 0, out = "fine\n", err = "" })

  -- os.exit codes pass through
  r = T.run{ args = { "-e", "os.exit(7)" } }
  T.expect(r, { code = 7 })
  r = T.run{ args = { "-e", "os.exit(false)" } }
  T.expect(r, { code = 1 })
end)

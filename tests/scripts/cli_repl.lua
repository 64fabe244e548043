-- The interactive loop: with -i on a pipe (stdin not a terminal: each
-- line is echoed after its prompt, as lua5.4 built with readline does;
-- prompts on stdout), and on a real terminal through util-linux's
-- `script` when it is installed (no script and stdin a tty => version
-- line + REPL).
local T = dofile("tests/lib/cli.lua")

local session = table.concat({
  "x = 20",
  "x + 1",                       -- an expression: its value is printed
  "=x * 2",                      -- 5.2-style "=expr"
  "return 1, nil, 'three'",      -- several values, with print's tabs
  "for i = 1, 2 do",             -- incomplete: continued with ">> "
  "print('loop', i)",
  "end",
  "error('boom')",               -- reported without the program name; loop goes on
  "error({})",
  "local t = setmetatable({}, {__tostring = function() return 'T!' end}) return t",
  "_PROMPT = 'P> '",
  "_PROMPT2 = 'C> '",
  "if true then",
  "print('custom prompts') end",
  "print(...)",                  -- the REPL's chunks get no varargs
  "x = = 1",                     -- a syntax error
  "print('still alive')",
  "if unfinished then",          -- input ends inside a statement
}, "\n") .. "\n"

T.main(function()
  local r = T.run{ args = { "-i" }, stdin = session }
  T.expect(r, { code = 0 })
  local version = T.run{ args = { "-v" } }.out
  -- input that is not a terminal is echoed after its prompt, as lua5.4
  -- (built with readline) does
  local want_out = version ..
    "> x = 20\n" ..
    "> x + 1\n21\n" ..
    "> =x * 2\n40\n" ..
    "> return 1, nil, 'three'\n1\tnil\tthree\n" ..
    "> for i = 1, 2 do\n>> print('loop', i)\n>> end\nloop\t1\nloop\t2\n" ..
    "> error('boom')\n> error({})\n" ..
    "> local t = setmetatable({}, {__tostring = function() return 'T!' end}) return t\nT!\n" ..
    "> _PROMPT = 'P> '\nP> _PROMPT2 = 'C> '\n" ..
    "P> if true then\nC> print('custom prompts') end\ncustom prompts\n" ..
    "P> print(...)\n\n" ..
    "P> x = = 1\nP> print('still alive')\nstill alive\n" ..
    "P> if unfinished then\nC> P> \n"   -- continuation hits the end of input, then the final newline
  T.expect(r, { out = want_out }, "-i on a pipe: stdout")
  local e = r.err
  local function expect_in_order(list)
    local pos = 1
    for _, s in ipairs(list) do
      local a, b = e:find(s, pos, true)
      if not a then error(string.format("stderr lacks %q after position %d:\n%s", s, pos, e)) end
      pos = b + 1
    end
  end
  expect_in_order({ "stdin:1: boom\nstack traceback:", "(error object is a table value)\nstack traceback:",
                    "stdin:1: unexpected symbol near '='", "stdin:1: 'end' expected near <eof>" })
  T.expect(r, { err_not = "gillua:" }, "no program name on REPL errors")

  -- a script, then the REPL (-i): the script's globals are visible
  T.write("setup.lua", "answer = 42 print('setup', ...)")
  r = T.run{ args = { "-i", "setup.lua", "a" }, stdin = "answer\n" }
  T.expect(r, { code = 0, out = version .. "setup\ta\n> answer\n42\n> \n", err = "" })

  -- without -i and with stdin not a terminal, stdin is a program, not a REPL
  r = T.run{ args = {}, stdin = "1 + 1\n" }
  T.expect(r, { code = 1, out = "", err_has = "gillua: stdin:1: unexpected symbol" })

  -- on a terminal
  local have_script = os.execute("command -v script >/dev/null 2>&1")
  if not have_script then
    print("SKIP terminal REPL: util-linux `script` is not installed")
    return
  end
  -- Runs gillua ARGS on a terminal with echo off (so the output is only
  -- gillua's), feeding INPUT once the terminal is set up; returns the
  -- output without carriage returns.
  local function on_tty(args, input)
    T.write("tty.in", input)
    for _, a in ipairs(args) do assert(a:match("^[%w%.%-]+$"), "plain words only") end
    local out = T.shell([=[
rm -f sttydone
{
  while [ ! -e sttydone ]; do sleep 0.01; done
  cat tty.in
} | timeout 20 script -qec 'stty -echo; : >sttydone; "$GILLUA" ]=] .. table.concat(args, " ") ..
      [=[; echo "status=$?"' /dev/null
]=])
    return (out:gsub("\r", ""))
  end
  local out = on_tty({}, "1 + 1\nx = \n5\nprint('x is', x)\nerror('tty boom')\n")
  local want = version .. "> 2\n> >> > x is\t5\n> stdin:1: tty boom\nstack traceback:\n"
  if out:sub(1, #want) ~= want or not out:find("\n> \nstatus=0\n$") then
    error(string.format("terminal REPL: output %q does not start with %q and end with the exit status 0", out, want))
  end
  -- terminal, a script given: no REPL unless -i
  T.write("hello.lua", "print('hello')")
  out = on_tty({ "hello.lua" }, "print('not read')\n")
  if out ~= "hello\nstatus=0\n" then error("script on a terminal: output " .. string.format("%q", out)) end
  out = on_tty({ "-i", "hello.lua" }, "print('read')\n")
  if out ~= version .. "hello\n> read\n> \nstatus=0\n" then error("-i on a terminal: output " .. string.format("%q", out)) end
end)

-- The command line as lua 5.4 reads it: the arg table, script arguments as
-- varargs, -e/-l/-W executed in order, -l g=mod, "--", "-", -v / --version,
-- -h / --help.
local T = dofile("tests/lib/cli.lua")

T.main(function()
  T.write("show.lua", [[
local n = select("#", ...)
print("n", n, ...)
for i = -3, #arg do print(i, arg[i]) end
]])
  T.write("mymod.lua", [[
order = (order or "") .. "L"
return { v = "from mymod", order = order }
]])

  -- script and its arguments: arg[0] the script, negative indices the
  -- interpreter and the options, the rest as varargs
  local r = T.expect(T.run{ args = { "-E", "show.lua", "a", "b c", "--gil=off" } }, { code = 0 })
  T.expect(r, { out = "n\t3\ta\tb c\t--gil=off\n" ..
                      "-3\tnil\n-2\tgillua\n-1\t-E\n0\tshow.lua\n" ..
                      "1\ta\n2\tb c\n3\t--gil=off\n" }, "arg table")

  -- no script: everything counts from the interpreter at 0
  r = T.run{ args = { "-e", "print(arg[0] == os.getenv('X'), arg[1], arg[2], arg[-1])" },
             env = { X = "gillua" } }
  T.expect(r, { code = 0, out = "true\t-e\tprint(arg[0] == os.getenv('X'), arg[1], arg[2], arg[-1])\tnil\n" },
           "arg without a script")

  -- gillua's own options go to arg's negative side like lua's options
  r = T.run{ args = { "--stats", "--switch=bytecodes:50", "show.lua" } }
  T.expect(r, { code = 0, out_has = { "-2\t--stats\n", "-1\t--switch=bytecodes:50\n", "0\tshow.lua\n" } })

  -- -e and -l run in command-line order, before the script; -l g=mod
  -- stores require(mod) in global g
  T.write("mod2.lua", "order = order .. 'M' return { seen = order }")
  r = T.run{ args = { "-e", "order = 'E'", "-l", "mymod", "-e", "order = order .. 'E'",
                      "-l", "g=mod2", "-eprint(order, mymod.v, g.seen, mod2)", "show.lua" } }
  T.expect(r, { code = 0, out_has = "ELEM\tfrom mymod\tELEM\tnil\nn\t0\n" }, "-e/-l order")
  r = T.run{ args = { "-lmymod", "-l", "g=mymod", "-e", "print(g == mymod, order)" } }
  T.expect(r, { code = 0, out = "true\tL\n" }, "-l g=mod of a loaded module")

  -- a failing -e stops everything after it (exit 1)
  r = T.run{ args = { "-e", "print('first')", "-e", "error('second')", "-e", "print('third')", "show.lua" } }
  T.expect(r, { code = 1, out = "first\n", err_has = { "gillua: (command line):1: second", "stack traceback:" } })

  -- -l of a missing module
  r = T.run{ args = { "-l", "no_such_mod_xyz" } }
  T.expect(r, { code = 1, err_has = { "gillua: module 'no_such_mod_xyz' not found" } })

  -- "--" ends the options; "-" runs stdin with the arguments that follow
  r = T.run{ args = { "--", "show.lua", "-e" } }
  T.expect(r, { code = 0, out_has = { "n\t1\t-e\n", "-1\t--\n", "0\tshow.lua\n" } })
  r = T.run{ args = { "-", "x", "y" }, stdin = "print(arg[0], arg[-1], ...)" }
  T.expect(r, { code = 0, out = "-\tgillua\tx\ty\n" }, "- with arguments")
  -- after "--", "-" is a file named "-"
  T.write("-", "print('file named dash', ...)")
  r = T.run{ args = { "--", "-", "z" }, stdin = "print('stdin')" }
  T.expect(r, { code = 0, out = "file named dash\tz\n" })
  -- "--" with nothing after it: stdin is the program (not a tty here)
  r = T.run{ args = { "--" }, stdin = "print('from stdin', ...)" }
  T.expect(r, { code = 0, out = "from stdin\n" })

  -- options after the script belong to the script
  r = T.run{ args = { "show.lua", "-e", "error('not run')" } }
  T.expect(r, { code = 0, out_has = "n\t2\t-e\terror('not run')\n" })

  -- -W turns warnings on, in order with -e
  r = T.run{ args = { "-e", "warn('early')", "-W", "-e", "warn('late')" } }
  T.expect(r, { code = 0, err = "Lua warning: late\n" }, "-W")

  -- -v: gillua's version, then Lua's own line exactly as lua5.4 prints
  -- it (scripts and Lua's test suite look for it); with -e it goes on
  r = T.run{ args = { "-v" } }
  T.expect(r, { code = 0, out_match = "^gillua %d+%.%d+%.%d+\nLua 5%.4%.%d+  Copyright %(C%) 1994%-%d+ Lua%.org, PUC%-Rio\n$", err = "" })
  local version_line = r.out
  r = T.run{ args = { "--version" } }
  T.expect(r, { code = 0, out = version_line }, "--version")
  r = T.run{ args = { "--version", "-e", "print('not run')" } }
  T.expect(r, { code = 0, out = version_line }, "--version exits")
  r = T.run{ args = { "-v", "-e", "print('ran')" } }
  T.expect(r, { code = 0, out = version_line .. "ran\n" })
  r = T.run{ args = { "-v", "show.lua" } }
  T.expect(r, { code = 0, out_has = { version_line, "0\tshow.lua" } })
  -- -v without a script does not read stdin
  r = T.run{ args = { "-v" }, stdin = "print('should not run')" }
  T.expect(r, { code = 0, out = version_line })
  -- -e without a script does not read stdin either
  r = T.run{ args = { "-e", "x=1" }, stdin = "print('should not run')" }
  T.expect(r, { code = 0, out = "" })

  -- -h / --help: usage on stdout, exit 0, nothing run
  for _, h in ipairs({ "-h", "--help" }) do
    r = T.run{ args = { h, "-e", "print('not run')" } }
    T.expect(r, { code = 0, err = "", out_has = { "usage: gillua [options] [script [args]]",
      "-e stat", "-l g=mod", "-i", "-v", "-E", "-W", "--gil=on|off", "--switch=bytecodes:N",
      "--switch=interval:MS", "--switch=priority:MS", "--switch=ticks:N", "--stats", "--trace=FILE", "--version", "GILLUA_GIL", "GILLUA_SWITCH" },
      out_not = "not run" }, h)
  end

  -- the GIL flags reach the vm
  r = T.run{ args = { "--gil=off", "--switch=interval:5", "-e",
                      "local g = require 'gil' print(g.enabled(), g.policy())" } }
  T.expect(r, { code = 0, out_match = "^false\tinterval\t5" })
  r = T.run{ args = { "--gil=on", "--switch=bytecodes:7", "-e",
                      "local g = require 'gil' print(g.enabled(), g.policy())" } }
  T.expect(r, { code = 0, out = "true\tbytecodes\t7\n" })
  r = T.run{ args = { "-e", "local g = require 'gil' print(g.enabled(), g.policy())" } }
  T.expect(r, { code = 0, out = "true\tbytecodes\t100\n" }, "defaults")
  r = T.run{ args = { "--switch=ticks:50", "-e", "local g = require 'gil' print(g.policy())" } }
  T.expect(r, { code = 0, out = "ticks\t50\n" })
  r = T.run{ args = { "--switch=priority:2", "-e", "local g = require 'gil' print(g.policy())" } }
  T.expect(r, { code = 0, out_match = "^priority\t2" })
  -- last one wins
  r = T.run{ args = { "--gil=off", "--gil=on", "-e", "print(require'gil'.enabled())" } }
  T.expect(r, { code = 0, out = "true\n" })
end)

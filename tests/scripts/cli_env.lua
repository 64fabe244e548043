-- Environment variables: LUA_INIT_5_4 / LUA_INIT (a chunk or @file, run
-- before -e and the script; ignored with -E, as LUA_PATH is),
-- GILLUA_GIL / GILLUA_SWITCH (same syntax as the flags; flags win; bad
-- values are usage errors naming the variable).
local T = dofile("tests/lib/cli.lua")

T.main(function()
  T.write("init.lua", "print('init file', arg[0]) x = 'from init'")
  T.write("main.lua", "print('main', x)")

  local r = T.run{ args = { "main.lua" }, env = { LUA_INIT = "print('init str', arg[0]) x = 1" } }
  T.expect(r, { code = 0, out = "init str\tmain.lua\nmain\t1\n" }, "LUA_INIT string")

  r = T.run{ args = { "-e", "print('e', x)", "main.lua" }, env = { LUA_INIT = "@init.lua" } }
  T.expect(r, { code = 0, out = "init file\tmain.lua\ne\tfrom init\nmain\tfrom init\n" }, "LUA_INIT=@file")

  -- LUA_INIT_5_4 takes precedence over LUA_INIT
  r = T.run{ args = { "main.lua" }, env = { LUA_INIT_5_4 = "x = 54", LUA_INIT = "x = 0" } }
  T.expect(r, { code = 0, out = "main\t54\n" }, "LUA_INIT_5_4")

  -- -E: no LUA_INIT, no LUA_PATH
  r = T.run{ args = { "-E", "-e", "print(x, package.path:find('CUSTOM', 1, true))", "main.lua" },
             env = { LUA_INIT = "@init.lua", LUA_INIT_5_4 = "x = 54", LUA_PATH = "CUSTOM/?.lua" } }
  T.expect(r, { code = 0, out = "nil\tnil\nmain\tnil\n" }, "-E")
  r = T.run{ args = { "-e", "print(package.path)" }, env = { LUA_PATH = "CUSTOM/?.lua" } }
  T.expect(r, { code = 0, out = "CUSTOM/?.lua\n" }, "LUA_PATH without -E")

  -- an error in LUA_INIT stops the program (exit 1), named like lua names it
  r = T.run{ args = { "main.lua" }, env = { LUA_INIT = "error('bad init')" } }
  T.expect(r, { code = 1, out = "", err_has = { "gillua: LUA_INIT:1: bad init", "stack traceback:" } })
  r = T.run{ args = { "main.lua" }, env = { LUA_INIT = "@missing_init.lua" } }
  T.expect(r, { code = 1, out = "", err_has = "gillua: cannot open missing_init.lua" })

  -- GILLUA_GIL / GILLUA_SWITCH
  local probe = { "-e", "local g = require 'gil' print(g.enabled(), g.policy())" }
  r = T.run{ args = probe, env = { GILLUA_GIL = "off", GILLUA_SWITCH = "bytecodes:33" } }
  T.expect(r, { code = 0, out = "false\tbytecodes\t33\n" }, "environment")
  r = T.run{ args = probe, env = { GILLUA_SWITCH = "interval:2.5" } }
  T.expect(r, { code = 0, out_match = "^true\tinterval\t2%.5\n$" }, "interval from the environment")
  r = T.run{ args = probe, env = { GILLUA_SWITCH = "priority:3" } }
  T.expect(r, { code = 0, out_match = "^true\tpriority\t3" }, "priority from the environment")
  r = T.run{ args = probe, env = { GILLUA_SWITCH = "ticks:40" } }
  T.expect(r, { code = 0, out = "true\tticks\t40\n" }, "ticks from the environment")
  -- flags win (and a bad variable is not even looked at then)
  r = T.run{ args = { "--gil=on", "--switch=bytecodes:9", table.unpack(probe) },
             env = { GILLUA_GIL = "off", GILLUA_SWITCH = "interval:3" } }
  T.expect(r, { code = 0, out = "true\tbytecodes\t9\n" }, "flags win")
  r = T.run{ args = { "--gil=off", "--switch=bytecodes:9", table.unpack(probe) },
             env = { GILLUA_GIL = "bogus", GILLUA_SWITCH = "bogus" } }
  T.expect(r, { code = 0, out = "false\tbytecodes\t9\n" }, "flags win over bad variables")
  -- an empty variable is unset
  r = T.run{ args = probe, env = { GILLUA_GIL = "", GILLUA_SWITCH = "" } }
  T.expect(r, { code = 0, out = "true\tbytecodes\t100\n" }, "empty variables")

  -- bad values: exit 2, the variable and the value named, then the usage
  local bad = {
    { GILLUA_GIL = "maybe", "GILLUA_GIL", "'maybe'" },
    { GILLUA_GIL = "ON", "GILLUA_GIL", "'ON'" },
    { GILLUA_SWITCH = "bytecodes:0", "GILLUA_SWITCH", "'bytecodes:0'" },
    { GILLUA_SWITCH = "bytecodes:x", "GILLUA_SWITCH", "'bytecodes:x'" },
    { GILLUA_SWITCH = "interval:-1", "GILLUA_SWITCH", "'interval:-1'" },
    { GILLUA_SWITCH = "foo:3", "GILLUA_SWITCH", "'foo:3'" },
    { GILLUA_SWITCH = "ticks:0", "GILLUA_SWITCH", "'ticks:0'" },
    { GILLUA_SWITCH = "priority:abc", "GILLUA_SWITCH", "'priority:abc'" },
    { GILLUA_SWITCH = "100", "GILLUA_SWITCH", "'100'" },
  }
  for _, b in ipairs(bad) do
    local env = { GILLUA_GIL = b.GILLUA_GIL, GILLUA_SWITCH = b.GILLUA_SWITCH }
    r = T.run{ args = { "-e", "print('must not run')" }, env = env }
    T.expect(r, { code = 2, out = "", err_match = "^gillua: invalid " .. b[1] .. " value " .. b[2]:gsub("%p", "%%%0"),
                  err_has = "usage: gillua" }, b[1])
  end
end)

/*
** lgil.c — the `gil` module: look at and tune the GIL from a script.
**   enabled()                      -> boolean
**   policy([spec])                 -> kind, N | kind, ms  (kind: "ticks", "bytecodes",
**                                      "interval", "priority"); with spec (as --switch,
**                                      e.g. "priority:5") sets the policy first
**   setcheckinterval(n)            switch every n bytecodes (as Python 2's sys.setcheckinterval)
**   setswitchinterval(seconds)     time slices (as Python 3's sys.setswitchinterval)
**   getswitchinterval()            -> seconds (nil under ticks and bytecodes)
**   stats()                        -> {switches=, forced_switches=, requests=, releases=,
**                                      wasted_wakeups=, urgent_grants=, urgent_cost_s=, enabled=,
**                                      threads={ {name=, held_s=, wait_s=, blocked_s=,
**                                                 acquisitions=, alive=}, ...}}
**   module_io, module_io_for       C modules' blocking calls (lgil_io.c)
*/
#include <math.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "gil.h"
#include "modules.h"
#include "stats.h"

static int g_enabled(lua_State *L) {
  lua_pushboolean(L, gil_enabled());
  return 1;
}

static int g_policy(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    const char *spec = luaL_checkstring(L, 1);
    GILPolicy np;
    char why[160];
    if (gil_parse_policy(spec, &np, why, sizeof why) != 0)
      return luaL_error(L, "bad policy '%s': %s", spec, why);
    gil_set_policy(np);
  }
  GILPolicy p = gil_policy();
  lua_pushstring(L, gil_policy_name(p.kind));
  if (gil_policy_counts(p.kind)) lua_pushinteger(L, p.n);
  else lua_pushnumber(L, (lua_Number)p.n / 1000.0);
  if (p.kind != GIL_PRIORITY) return 2;
  lua_pushinteger(L, p.share > 0 ? p.share : GIL_PRIORITY_SHARE);   /* the share, PCT */
  return 3;
}

static int g_setcheckinterval(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1 && n <= 1000000000, 1, "check interval must be from 1 to 1000000000");
  gil_set_policy((GILPolicy){ GIL_BYTECODES, (long)n, 0 });
  return 0;
}

static int g_setswitchinterval(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, !isnan(s) && s >= 1e-6 && s <= 1000, 1,
                "switch interval must be from 0.000001 to 1000 seconds");
  gil_set_policy((GILPolicy){ GIL_INTERVAL, (long)(s * 1e6 + 0.5), 0 });
  return 0;
}

static int g_getswitchinterval(lua_State *L) {
  GILPolicy p = gil_policy();
  if (!gil_policy_counts(p.kind)) lua_pushnumber(L, (lua_Number)p.n / 1e6);
  else lua_pushnil(L);
  return 1;
}

static int g_stats(lua_State *L) {
  GILStats s = gil_stats();
  int n;
  GLThreadFigures *th = gl_stats_collect(&n);
  lua_createtable(L, 0, 8);
  lua_pushboolean(L, gil_enabled());
  lua_setfield(L, -2, "enabled");
  lua_pushinteger(L, (lua_Integer)s.switches);
  lua_setfield(L, -2, "switches");
  lua_pushinteger(L, (lua_Integer)s.forced_switches);
  lua_setfield(L, -2, "forced_switches");
  lua_pushinteger(L, (lua_Integer)s.requests);
  lua_setfield(L, -2, "requests");
  lua_pushinteger(L, (lua_Integer)s.releases);
  lua_setfield(L, -2, "releases");
  lua_pushinteger(L, (lua_Integer)s.wasted_wakeups);
  lua_setfield(L, -2, "wasted_wakeups");
  lua_pushinteger(L, (lua_Integer)s.urgent_grants);
  lua_setfield(L, -2, "urgent_grants");
  lua_pushnumber(L, (lua_Number)s.urgent_cost_ns / 1e9);
  lua_setfield(L, -2, "urgent_cost_s");
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_createtable(L, 0, 6);
    lua_pushstring(L, th[i].name);
    lua_setfield(L, -2, "name");
    lua_pushnumber(L, th[i].held_s);
    lua_setfield(L, -2, "held_s");
    lua_pushnumber(L, th[i].wait_s);
    lua_setfield(L, -2, "wait_s");
    lua_pushnumber(L, th[i].blocked_s);
    lua_setfield(L, -2, "blocked_s");
    lua_pushinteger(L, (lua_Integer)th[i].acquisitions);
    lua_setfield(L, -2, "acquisitions");
    lua_pushboolean(L, th[i].alive);
    lua_setfield(L, -2, "alive");
    lua_rawseti(L, -2, i + 1);
  }
  free(th);
  lua_setfield(L, -2, "threads");
  return 1;
}

int luaopen_gil(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"enabled", g_enabled}, {"policy", g_policy},
    {"setcheckinterval", g_setcheckinterval}, {"setswitchinterval", g_setswitchinterval},
    {"getswitchinterval", g_getswitchinterval}, {"stats", g_stats}, {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  lua_pushinteger(L, GIL_PRIORITY_SHARE);   /* priority:MS's default share, PCT */
  lua_setfield(L, -2, "PRIORITY_SHARE");
  gl_gil_io_open(L);   /* module_io, module_io_for (lgil_io.c) */
  return 1;
}

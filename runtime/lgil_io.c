/*
** lgil_io.c — the gil module's say over C modules' blocking calls
** (vm/interpose.c):
**   module_io([mode])          -> the default mode before the call; with
**                                 mode "release" or "hold", sets it for
**                                 the whole process (every thread)
**   module_io_for(name [, mode]) -> that module's mode before the call;
**                                 with a mode, sets it. 'name' is a
**                                 module name as given to require (found
**                                 with package.searchpath on
**                                 package.cpath, as require finds it) or
**                                 the path of a shared object.
** A module's "hold" wins over the default; "release" only removes its
** "hold" (the default then applies).
*/
#include <string.h>

#include <lauxlib.h>

#include "interpose.h"
#include "modules.h"

static const char *const modes[] = { "hold", "release", NULL };

static int g_module_io(lua_State *L) {
  int was = ip_release();
  if (!lua_isnoneornil(L, 1))
    ip_set_release(luaL_checkoption(L, 1, NULL, modes));
  lua_pushstring(L, modes[was]);
  return 1;
}

/* The shared object of module 'name' (a path when it has a '/'). */
static const char *object_path(lua_State *L, int idx) {
  const char *name = luaL_checkstring(L, idx);
  if (strchr(name, '/') != NULL) return name;
  lua_getglobal(L, "package");
  if (lua_type(L, -1) != LUA_TTABLE ||
      lua_getfield(L, -1, "searchpath") != LUA_TFUNCTION ||
      lua_getfield(L, -2, "cpath") != LUA_TSTRING)
    luaL_error(L, "package.searchpath and package.cpath are needed to find module '%s'", name);
  lua_pushvalue(L, idx);
  lua_insert(L, -2);
  lua_call(L, 2, 2);
  if (lua_isnil(L, -2))
    luaL_error(L, "no C module '%s' in package.cpath:%s", name, lua_tostring(L, -1));
  return lua_tostring(L, -2);
}

static int g_module_io_for(lua_State *L) {
  lua_settop(L, 2);
  const char *path = object_path(L, 1);
  int holds;
  if (lua_isnoneornil(L, 2)) holds = ip_module_holds(path);
  else {
    int hold = !luaL_checkoption(L, 2, NULL, modes);
    if (ip_module_rule(path, hold, &holds) != 0)
      return luaL_error(L, "cannot set a rule for '%s'", path);
  }
  if (holds < 0) return luaL_error(L, "cannot resolve '%s'", path);
  lua_pushstring(L, holds ? "hold" : "release");
  return 1;
}

void gl_gil_io_open(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"module_io", g_module_io}, {"module_io_for", g_module_io_for}, {NULL, NULL}
  };
  luaL_setfuncs(L, funcs, 0);
}

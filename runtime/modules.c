/*
** modules.c — registers the runtime modules in package.preload.
** One line per module: a module is added here and nowhere else.
*/
#include <lauxlib.h>

#include "modules.h"

static const luaL_Reg preloads[] = {
  {"threading", luaopen_threading},
  {"queue", luaopen_queue},
  {"time", luaopen_time},
  {"gil", luaopen_gil},
  {"multiprocessing", luaopen_multiprocessing},
  {"subprocess", luaopen_subprocess},
  {"multiprocessing.managers", luaopen_multiprocessing_managers},
  {"mpi", luaopen_mpi},
  {NULL, NULL}
};

void gl_runtime_open(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const luaL_Reg *m = preloads; m->name; m++) {
    lua_pushcfunction(L, m->func);
    lua_setfield(L, -2, m->name);
  }
  lua_pop(L, 1);
}

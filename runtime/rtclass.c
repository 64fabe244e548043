/*
** rtclass.c — see rtclass.h. The "methods" table is kept in the
** metatable so that an __index written in C (for fields computed on
** access, such as Process.exitcode) can fall back to it.
*/
#include "rtclass.h"

void rt_new_class(lua_State *L, const char *tname, const luaL_Reg *methods, const luaL_Reg *meta) {
  if (!luaL_newmetatable(L, tname)) { lua_pop(L, 1); return; }
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "methods");
  lua_setfield(L, -2, "__index");        /* replaced below by meta's own __index */
  if (meta) luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
}

int rt_push_method(lua_State *L, const char *k) {
  if (!lua_getmetatable(L, 1)) { lua_pushnil(L); return 1; }
  if (lua_getfield(L, -1, "methods") != LUA_TTABLE) { lua_pushnil(L); return 1; }
  lua_getfield(L, -1, k);
  return 1;
}

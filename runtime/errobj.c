/*
** errobj.c — per-interpreter named error objects. See errobj.h.
** Registry: "gillua.errobj" = { [name] = object }, one metatable
** "gillua.errobj" whose __tostring returns the object's name.
*/
#include <lauxlib.h>

#include "errobj.h"

#define ERR_TABLE "gillua.errobj"      /* registry: name -> object */
#define ERR_META "gillua.errobj.meta"  /* their shared metatable */


static int err_tostring(lua_State *L) {
  lua_getfield(L, 1, "name");
  return 1;
}

void gl_errobj_push(lua_State *L, const char *name) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, ERR_TABLE);
  if (lua_getfield(L, -1, name) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, 0, 1);
    lua_pushstring(L, name);
    lua_setfield(L, -2, "name");
    if (luaL_newmetatable(L, ERR_META)) {
      lua_pushcfunction(L, err_tostring);
      lua_setfield(L, -2, "__tostring");
      lua_pushliteral(L, "error");
      lua_setfield(L, -2, "__name");
      lua_pushboolean(L, 0);
      lua_setfield(L, -2, "__metatable");   /* fixed: nobody can swap it */
    }
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, name);
  }
  lua_remove(L, -2);
}

int gl_errobj_raise(lua_State *L, const char *name) {
  gl_errobj_push(L, name);
  return lua_error(L);
}

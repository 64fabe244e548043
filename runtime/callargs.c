/*
** callargs.c — checking and unpacking the args table of a Thread or a
** Process. See callargs.h.
**
** Why a limit: the arguments go on the callee's Lua stack, which holds
** at most LUAI_MAXSTACK (1,000,000) slots; a larger n used to be cast to
** int and handed to luaL_checkstack (n = 1<<32 became 0 slots, then
** lua_geti wrote past the stack). The count is checked as a lua_Integer
** against that bound before any cast.
*/
#include <lauxlib.h>

#include "callargs.h"

#define MAX_CALL_ARGS 999000   /* below LUAI_MAXSTACK, with room for the call */

lua_Integer gl_args_count(lua_State *L, int idx, const char *who) {
  if (lua_isnoneornil(L, idx)) return 0;
  idx = lua_absindex(L, idx);
  lua_Integer n;
  int type = lua_getfield(L, idx, "n");
  if (type == LUA_TNIL) {
    lua_pop(L, 1);
    n = luaL_len(L, idx);
    if (n < 0) n = 0;   /* a __len may say anything; unpack(t, 1, -5) is empty */
  } else {
    int isint;
    n = lua_tointegerx(L, -1, &isint);
    if (!isint || type != LUA_TNUMBER) {
      const char *shown = luaL_tolstring(L, -1, NULL);
      luaL_error(L, "%s: args.n must be an integer (got %s %s)", who,
                 luaL_typename(L, -2), shown);
    }
    lua_pop(L, 1);
    if (n < 0)
      luaL_error(L, "%s: args.n must be >= 0 (got %I)", who, n);
  }
  if (n > MAX_CALL_ARGS)
    luaL_error(L, "%s: too many arguments (args.n or #args is %I; at most %d)",
               who, n, MAX_CALL_ARGS);
  return n;
}

int gl_args_push(lua_State *L, int idx, const char *who) {
  if (lua_isnoneornil(L, idx)) return 0;
  idx = lua_absindex(L, idx);
  int n = (int)gl_args_count(L, idx, who);
  if (!lua_checkstack(L, n + 5))
    luaL_error(L, "%s: too many arguments (%d): stack overflow", who, n);
  for (int i = 1; i <= n; i++) lua_geti(L, idx, i);
  return n;
}

/*
** callargs.c — checking and unpacking the args table of a Thread or a
** Process. See callargs.h.
**
** Why a limit: the arguments go on the callee's Lua stack, which holds
** at most LUAI_MAXSTACK (1,000,000) slots; a larger n used to be cast to
** int and handed to luaL_checkstack (n = 1<<32 became 0 slots, then
** lua_geti wrote past the stack). The count is checked as a lua_Integer
** against that bound before any cast.
**
** start() checks only args.n: #args may call a __len, which, like the
** unpacking, belongs to the new thread or child (an error there is that
** thread's or child's, as Python evaluates its args there).
*/
#include <lauxlib.h>

#include "callargs.h"

#define MAX_CALL_ARGS 999000   /* below LUAI_MAXSTACK, with room for the call */

/* args.n of the table at idx, checked (raw: a plain field, no __index
** run in the caller at start()); returns 0 with *present = 0 when there
** is none. */
static lua_Integer args_n(lua_State *L, int idx, const char *who, int raw, int *present) {
  lua_pushliteral(L, "n");
  int type = raw ? lua_rawget(L, idx) : lua_gettable(L, idx);
  *present = type != LUA_TNIL;
  if (!*present) { lua_pop(L, 1); return 0; }
  int isint = 0;
  lua_Integer n = type == LUA_TNUMBER ? lua_tointegerx(L, -1, &isint) : 0;
  if (!isint) {
    const char *shown = luaL_tolstring(L, -1, NULL);
    luaL_error(L, "%s: args.n must be an integer (got %s %s)", who,
               luaL_typename(L, -2), shown);
  }
  lua_pop(L, 1);
  if (n < 0 || n > MAX_CALL_ARGS)
    luaL_error(L, "%s: args.n must be between 0 and %d (got %I)", who, MAX_CALL_ARGS, n);
  return n;
}

void gl_args_check(lua_State *L, int idx, const char *who) {
  if (!lua_istable(L, idx)) return;
  int present;
  args_n(L, lua_absindex(L, idx), who, 1, &present);
}

int gl_args_push(lua_State *L, int idx, const char *who) {
  if (lua_isnoneornil(L, idx)) return 0;
  idx = lua_absindex(L, idx);
  int present;
  lua_Integer n = args_n(L, idx, who, 0, &present);
  if (!present) {
    n = luaL_len(L, idx);
    if (n < 0) n = 0;   /* a __len may say anything; unpack(t, 1, -5) is empty */
    if (n > MAX_CALL_ARGS)
      luaL_error(L, "%s: too many arguments (#args is %I; at most %d)", who, n, MAX_CALL_ARGS);
  }
  if (!lua_checkstack(L, (int)n + 5))
    luaL_error(L, "%s: too many arguments (%I): stack overflow", who, n);
  for (lua_Integer i = 1; i <= n; i++) lua_geti(L, idx, i);
  return (int)n;
}

/*
** lprint.c — gillua's `print`: as Lua's own (tostring of each argument,
** tabs between, a newline, flush), but the line is built first and
** written with one fwrite. stdio locks the stream per call, so lines
** printed by GIL-off threads running in parallel never interleave within
** a line; stock print writes piece by piece. When stdout is a pipe the
** write waits for room without the GIL (runtime/lio_write.c), so a
** reader that is slow to empty it stops only the printing thread.
*/
#include <stdio.h>

#include <lauxlib.h>

#include "lio.h"
#include "modules.h"

static int line_print(lua_State *L) {
  int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, NULL);   /* error when __tostring does not give a string */
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  size_t len;
  const char *s = lua_tolstring(L, -1, &len);
  lio_print_out(L, stdout, s, len);   /* errors ignored, as Lua's print does */
  return 0;
}

void gl_open_print(lua_State *L) {
  lua_pushcfunction(L, line_print);
  lua_setglobal(L, "print");
}

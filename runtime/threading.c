/*
** threading.c — the `threading` module table, assembled from its parts.
*/
#include <lauxlib.h>

#include "modules.h"
#include "threading.h"

int luaopen_threading(lua_State *L) {
  lua_newtable(L);
  gl_threading_open_thread(L);
  gl_threading_open_locks(L);
  gl_threading_open_sync(L);
  gl_threading_open_local(L);
  return 1;
}

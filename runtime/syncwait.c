/*
** syncwait.c — the blocking loop every runtime synchronisation object
** uses, and Python-compatible timeout arguments. See syncwait.h.
*/
#include <errno.h>
#include <math.h>

#include <lauxlib.h>

#include "block.h"
#include "syncwait.h"

/*
** The loop of vm/block.h. 'take' is retried after every wake-up, also
** after a timeout or an interrupt: something that became available at the
** last moment is taken rather than reported as missing (the caller then
** sees success; a pending Ctrl-C is raised by the next blocking call).
*/
int sync_wait(pthread_mutex_t *mu, pthread_cond_t *cv, int (*take)(void *),
              void *ud, const struct timespec *deadline) {
  int rc = 0;
  gl_block_begin();
  pthread_mutex_lock(mu);
  for (;;) {
    if (take(ud)) { rc = 0; break; }
    if (rc != 0) break;
    rc = gl_cond_wait(cv, mu, deadline);
  }
  pthread_mutex_unlock(mu);
  gl_block_end();
  return rc;
}

struct timespec *sync_timeout(lua_State *L, int idx, struct timespec *ts,
                              int minus_one) {
  if (lua_isnoneornil(L, idx)) return NULL;
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_argerror(L, idx, "timeout must be a number or nil");
  lua_Number t = lua_tonumber(L, idx);
  if (minus_one && t == -1) return NULL;
  if (!(t >= 0))   /* negative or NaN */
    luaL_argerror(L, idx, "timeout value must be a non-negative number");
  if (t > 1e9) return NULL;   /* ~31 years: as good as forever, no overflow */
  return gl_deadline(ts, (double)t);
}

int sync_optbool(lua_State *L, int idx, int def) {
  if (lua_isnoneornil(L, idx)) return def;
  luaL_checktype(L, idx, LUA_TBOOLEAN);
  return lua_toboolean(L, idx);
}

void sync_check_interrupt(lua_State *L, int rc) {
  if (rc == EINTR) gl_raise_interrupt(L);
}

/*
** syncwait.c — the blocking loop every runtime synchronisation object
** uses, and Python-compatible timeout arguments. See syncwait.h.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>

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

void sync_pair_init(pthread_mutex_t *mu, pthread_cond_t *cv) {
  pthread_mutex_init(mu, NULL);
  gl_cond_init(cv);
}

void sync_pair_free(RtObject *o, pthread_mutex_t *mu, pthread_cond_t *cv) {
  rt_unlink(o);
  pthread_cond_destroy(cv);
  pthread_mutex_destroy(mu);
  free(o);
}

int sync_optbool(lua_State *L, int idx, int def) {
  if (lua_isnoneornil(L, idx)) return def;
  luaL_checktype(L, idx, LUA_TBOOLEAN);
  return lua_toboolean(L, idx);
}

void sync_check_interrupt(lua_State *L, int rc) {
  if (rc == EINTR) gl_raise_interrupt(L);
}

/*
** barrier.c — threading.Barrier(parties[, timeout]) and
** threading.BrokenBarrierError.
**
** Arrivals queue a record on their C stack; the last of 'parties' marks
** every record passed and starts the next cycle (count back to 0). A
** timeout, an interrupt or abort() breaks the barrier: every queued record
** is marked broken, later waits fail until reset(). reset() breaks the
** current waiters (they get BrokenBarrierError, as in Python) and makes
** the barrier usable again. Records are only touched under b->mu and are
** off the list when wait returns.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "block.h"
#include "errobj.h"
#include "locks.h"
#include "syncwait.h"

#define BROKEN "BrokenBarrierError"

typedef struct BWaiter {
  struct BWaiter *next;
  int done, broken;
} BWaiter;

typedef struct GLBarrier {
  RtObject base;
  lua_Integer parties;        /* immutable, >= 1 */
  double timeout;             /* immutable default for wait; < 0: none */
  pthread_mutex_t mu;         /* guards the fields below and queued records */
  pthread_cond_t cv;          /* broadcast when a cycle ends or it breaks */
  BWaiter *waiters;
  lua_Integer count;          /* threads waiting in this cycle */
  int broken;
} GLBarrier;

static void barrier_destroy(RtObject *o, lua_State *L) {
  GLBarrier *b = (GLBarrier *)o;
  (void)L;
  sync_pair_free(o, &b->mu, &b->cv);
}

/* The waiting threads do not exist in the child. */
static void barrier_after_fork(RtObject *o) {
  GLBarrier *b = (GLBarrier *)o;
  sync_pair_init(&b->mu, &b->cv);
  b->waiters = NULL;
  b->count = 0;
}

static const RtType barrier_type = {"threading.Barrier", "threading", barrier_destroy, barrier_after_fork};

static GLBarrier *checkbarrier(lua_State *L) {
  return (GLBarrier *)rt_check(L, 1, &barrier_type);
}

/* With mu held: ends the current cycle, marking its waiters. */
static void release_all(GLBarrier *b, int broken) {
  for (BWaiter *w = b->waiters, *next; w; w = next) {
    next = w->next;
    w->next = NULL;
    w->done = 1;
    w->broken = broken;
  }
  b->waiters = NULL;
  b->count = 0;
  pthread_cond_broadcast(&b->cv);
}

static int waiter_done(void *ud) { return ((BWaiter *)ud)->done; }

/* wait([timeout]) -> arrival index 0..parties-1 (the last to arrive gets
** parties-1), as Python. Raises threading.BrokenBarrierError. */
static int b_wait(lua_State *L) {
  GLBarrier *b = checkbarrier(L);
  struct timespec ts, *dl;
  if (lua_isnoneornil(L, 2)) dl = b->timeout < 0 ? NULL : gl_deadline(&ts, b->timeout);
  else dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  BWaiter w = {NULL, 0, 0};
  pthread_mutex_lock(&b->mu);
  if (b->broken) {
    pthread_mutex_unlock(&b->mu);
    return gl_errobj_raise(L, BROKEN);
  }
  lua_Integer index = b->count;
  if (index + 1 == b->parties) {
    release_all(b, 0);
    pthread_mutex_unlock(&b->mu);
    lua_pushinteger(L, index);
    return 1;
  }
  w.next = b->waiters;
  b->waiters = &w;
  b->count++;
  pthread_mutex_unlock(&b->mu);
  int rc = gl_expired(dl) ? ETIMEDOUT : 0;
  if (rc == 0) rc = sync_wait(&b->mu, &b->cv, waiter_done, &w, dl);
  pthread_mutex_lock(&b->mu);
  if (!w.done) {              /* timed out or interrupted: break it for all */
    b->broken = 1;
    release_all(b, 1);
  }
  int broken = w.broken;
  pthread_mutex_unlock(&b->mu);
  sync_check_interrupt(L, rc);
  if (broken) return gl_errobj_raise(L, BROKEN);
  lua_pushinteger(L, index);
  return 1;
}

static int b_reset(lua_State *L) {
  GLBarrier *b = checkbarrier(L);
  pthread_mutex_lock(&b->mu);
  release_all(b, 1);
  b->broken = 0;
  pthread_mutex_unlock(&b->mu);
  return 0;
}

static int b_abort(lua_State *L) {
  GLBarrier *b = checkbarrier(L);
  pthread_mutex_lock(&b->mu);
  b->broken = 1;
  release_all(b, 1);
  pthread_mutex_unlock(&b->mu);
  return 0;
}

static const luaL_Reg barrier_methods[] = {
  {"wait", b_wait},
  {"reset", b_reset},
  {"abort", b_abort},
  {NULL, NULL}
};

/* __index: the attributes parties, n_waiting, broken, then the methods. */
static int b_index(lua_State *L) {
  GLBarrier *b = checkbarrier(L);
  const char *k = lua_tostring(L, 2);
  if (k && strcmp(k, "parties") == 0) {
    lua_pushinteger(L, b->parties);
    return 1;
  }
  if (k && (strcmp(k, "n_waiting") == 0 || strcmp(k, "broken") == 0)) {
    pthread_mutex_lock(&b->mu);
    lua_Integer n = b->count;
    int broken = b->broken;
    pthread_mutex_unlock(&b->mu);
    if (k[0] == 'n') lua_pushinteger(L, n); else lua_pushboolean(L, broken);
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}

static int b_new(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n >= 1, 1, "parties must be > 0");
  double timeout = -1;
  if (!lua_isnoneornil(L, 2)) {
    timeout = luaL_checknumber(L, 2);
    luaL_argcheck(L, timeout >= 0, 2, "timeout value must be a non-negative number");
  }
  GLBarrier *b = (GLBarrier *)calloc(1, sizeof *b);
  if (b == NULL) return luaL_error(L, "not enough memory");
  b->parties = n;
  b->timeout = timeout;
  sync_pair_init(&b->mu, &b->cv);
  rt_init(&b->base, &barrier_type);
  rt_push_owned(L, &b->base);
  return 1;
}

void gl_threading_open_barrier(lua_State *L) {
  rt_newtype(L, &barrier_type, barrier_methods);
  lua_getfield(L, -1, "__index");
  lua_pushcclosure(L, b_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, b_new);
  lua_setfield(L, -2, "Barrier");
  gl_errobj_push(L, BROKEN);
  lua_setfield(L, -2, BROKEN);
}

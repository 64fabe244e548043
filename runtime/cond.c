/*
** cond.c — threading.Condition([lock]).
**
** A Condition wraps a Lock or RLock (default: a new RLock) and keeps a FIFO
** of waiters. Each waiter is a record on the waiting thread's C stack:
**
**   wait: append my record (under c->mu) -> release the user lock fully
**         (RLock: remember its level, as Python's _release_save) -> sleep on
**         c->cv until my record is marked, the deadline passes or Ctrl-C ->
**         unlink my record if still queued -> re-acquire the user lock and
**         restore its level (_acquire_restore).
**   notify(n): mark and unlink the first n records, broadcast c->cv; every
**         sleeper re-checks its own mark, so exactly n wake with true.
**
** The record is queued before the user lock is released, so a notify
** issued between the release and the sleep is not lost. Records are only
** touched under c->mu and leave the list before wait returns.
**
** The GIL is released only while sleeping and while re-acquiring a
** contended user lock; c->mu is a leaf (never held while taking the GIL or
** the user lock's mutex).
*/
#include <errno.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "block.h"
#include "locks.h"
#include "syncwait.h"

typedef struct Waiter {
  struct Waiter *next;
  int notified;
} Waiter;

typedef struct GLCond {
  RtObject base;
  GLLock *lock;               /* immutable; one reference held */
  pthread_mutex_t mu;         /* guards head, tail and every queued record */
  pthread_cond_t cv;
  Waiter *head, *tail;
} GLCond;

static void cond_destroy(RtObject *o, lua_State *L);
static void cond_after_fork(RtObject *o);

static const RtType cond_type = {"threading.Condition", "threading", cond_destroy, cond_after_fork};

static void cond_destroy(RtObject *o, lua_State *L) {
  GLCond *c = (GLCond *)o;
  rt_decref(&c->lock->base, L);
  sync_pair_free(o, &c->mu, &c->cv);
}

/* The waiters' threads are gone in the child: their records too. */
static void cond_after_fork(RtObject *o) {
  GLCond *c = (GLCond *)o;
  sync_pair_init(&c->mu, &c->cv);
  c->head = c->tail = NULL;
}

static GLCond *checkcond(lua_State *L) {
  return (GLCond *)rt_check(L, 1, &cond_type);
}

static int waiter_marked(void *ud) { return ((Waiter *)ud)->notified; }

static void unlink_waiter(GLCond *c, Waiter *w) {
  Waiter *prev = NULL;
  for (Waiter *p = c->head; p; prev = p, p = p->next) {
    if (p != w) continue;
    if (prev) prev->next = w->next; else c->head = w->next;
    if (c->tail == w) c->tail = prev;
    return;
  }
}

/*
** The wait itself. Returns 1 when notified, 0 on timeout; raises on
** Ctrl-C (after trying to re-acquire the lock, which may itself be
** interrupted: then the lock is not held when the error propagates).
*/
static int cond_wait(lua_State *L, GLCond *c, const struct timespec *dl) {
  if (!gl_lock_is_owned(c->lock))
    return luaL_error(L, "cannot wait on un-acquired lock");
  Waiter w = {NULL, 0};
  pthread_mutex_lock(&c->mu);
  if (c->tail) c->tail->next = &w; else c->head = &w;
  c->tail = &w;
  pthread_mutex_unlock(&c->mu);
  long saved = gl_lock_release_save(c->lock);
  int rc = gl_expired(dl) ? ETIMEDOUT : 0;
  if (rc == 0)
    rc = sync_wait(&c->mu, &c->cv, waiter_marked, &w, dl);
  pthread_mutex_lock(&c->mu);
  int notified = w.notified;
  if (!notified) unlink_waiter(c, &w);
  pthread_mutex_unlock(&c->mu);
  int rc2 = gl_lock_acquire_restore(c->lock, saved);
  sync_check_interrupt(L, rc == EINTR ? rc : rc2);
  return notified;
}

static int notify(lua_State *L, GLCond *c, lua_Integer n) {
  if (!gl_lock_is_owned(c->lock))
    return luaL_error(L, "cannot notify on un-acquired lock");
  pthread_mutex_lock(&c->mu);
  int woke = 0;
  while (c->head && (n < 0 || woke < n)) {
    Waiter *w = c->head;
    c->head = w->next;
    if (c->head == NULL) c->tail = NULL;
    w->next = NULL;
    w->notified = 1;
    woke++;
  }
  if (woke) pthread_cond_broadcast(&c->cv);
  pthread_mutex_unlock(&c->mu);
  return 0;
}

/* ---- Lua binding ---------------------------------------------------- */

static int c_acquire(lua_State *L) {
  GLCond *c = checkcond(L);
  int blocking = sync_optbool(L, 2, 1);
  struct timespec ts, *dl = gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_LOCK);
  if (!blocking && dl != NULL)
    return luaL_error(L, "can't specify a timeout for a non-blocking call");
  int rc = gl_lock_acquire(c->lock, blocking, dl);
  sync_check_interrupt(L, rc);
  lua_pushboolean(L, rc == 0);
  return 1;
}

static int c_release(lua_State *L) {
  GLCond *c = checkcond(L);
  if (gl_lock_release(c->lock) != 0)
    return luaL_error(L, c->lock->recursive ? "cannot release un-acquired lock"
                                            : "release unlocked lock");
  return 0;
}

/* wait([timeout]) -> true when notified, false on timeout. */
static int c_wait(lua_State *L) {
  GLCond *c = checkcond(L);
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  lua_pushboolean(L, cond_wait(L, c, dl));
  return 1;
}

/* wait_for(predicate[, timeout]) -> the predicate's last result, as
** Python: calls predicate() (lock held) until it is true or time is up. */
static int c_wait_for(lua_State *L) {
  GLCond *c = checkcond(L);
  luaL_checkany(L, 2);
  struct timespec ts, *dl = gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_ZERO);
  for (;;) {
    lua_settop(L, 3);
    lua_pushvalue(L, 2);
    lua_call(L, 0, 1);
    if (lua_toboolean(L, -1) || gl_expired(dl)) return 1;
    lua_pop(L, 1);
    cond_wait(L, c, dl);
  }
}

static int c_notify(lua_State *L) {
  GLCond *c = checkcond(L);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  luaL_argcheck(L, n >= 0, 2, "n must be >= 0");
  return notify(L, c, n);
}

static int c_notify_all(lua_State *L) {
  return notify(L, checkcond(L), -1);
}

/* with(f, ...) as Lock:with. */
static int c_with(lua_State *L) {
  GLCond *c = checkcond(L);
  luaL_checkany(L, 2);
  sync_check_interrupt(L, gl_lock_acquire(c->lock, 1, NULL));
  int status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
  gl_lock_release(c->lock);
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L) - 1;
}

static const luaL_Reg cond_methods[] = {
  {"acquire", c_acquire},
  {"release", c_release},
  {"wait", c_wait},
  {"wait_for", c_wait_for},
  {"notify", c_notify},
  {"notify_all", c_notify_all},
  {"with", c_with},
  {NULL, NULL}
};

static int c_new(lua_State *L) {
  GLLock *lock;
  if (lua_isnoneornil(L, 1)) {
    lock = gl_lock_new(1);
    if (lock == NULL) return luaL_error(L, "not enough memory");
  } else {
    lock = gl_lock_check(L, 1);
    rt_incref(&lock->base);
  }
  GLCond *c = (GLCond *)calloc(1, sizeof *c);
  if (c == NULL) {
    rt_decref(&lock->base, L);
    return luaL_error(L, "not enough memory");
  }
  c->lock = lock;
  sync_pair_init(&c->mu, &c->cv);
  rt_init(&c->base, &cond_type);
  rt_push_owned(L, &c->base);
  return 1;
}

void gl_threading_open_condition(lua_State *L) {
  rt_newtype(L, &cond_type, cond_methods);
  lua_pop(L, 1);
  lua_pushcfunction(L, c_new);
  lua_setfield(L, -2, "Condition");
}

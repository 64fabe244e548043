/*
** locks.c — threading.Lock and threading.RLock.
**
** A lock is a flag guarded by a pthread mutex, plus a condition variable
** for the threads that wait for it. The pthread mutex is only held for a
** few instructions (it is a leaf lock: the GIL is never taken under it),
** so "holding a threading.Lock" never means holding a pthread mutex, and
** a Lock may be released by another thread, as in Python.
**
** acquire first tries without releasing the GIL; only when it must wait
** does it follow vm/block.h (release the GIL, wait on cv with the
** deadline, re-acquire the GIL, raise "interrupted" on Ctrl-C).
**
** RLock owner: the OS thread (pthread_t). Coroutines of one thread share
** it, as generators of one Python thread do.
*/
#include <errno.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "block.h"
#include "locks.h"
#include "syncwait.h"
#include "threading.h"

static void lock_destroy(RtObject *o, lua_State *L);
static void lock_after_fork(RtObject *o);

const RtType gl_lock_type = {"threading.Lock", "threading", lock_destroy, lock_after_fork};
const RtType gl_rlock_type = {"threading.RLock", "threading", lock_destroy, lock_after_fork};

GLLock *gl_lock_new(int recursive) {
  GLLock *l = (GLLock *)calloc(1, sizeof *l);
  if (l == NULL) return NULL;
  l->recursive = recursive;
  sync_pair_init(&l->mu, &l->cv);
  rt_init(&l->base, recursive ? &gl_rlock_type : &gl_lock_type);
  return l;
}

static void lock_destroy(RtObject *o, lua_State *L) {
  GLLock *l = (GLLock *)o;
  (void)L;
  sync_pair_free(o, &l->mu, &l->cv);
}

/* In the fork()ed child only the forking thread survives: a lock held by
** any other thread would stay locked forever (Python's classic fork
** deadlock), so it is released; one held by the survivor stays held. */
static void lock_after_fork(RtObject *o) {
  GLLock *l = (GLLock *)o;
  sync_pair_init(&l->mu, &l->cv);
  if (l->locked && !pthread_equal(l->holder, pthread_self())) {
    l->locked = 0;
    l->count = 0;
  }
}

/* With mu held: takes the lock if the caller may. */
static int lock_take(void *ud) {
  GLLock *l = (GLLock *)ud;
  pthread_t me = pthread_self();
  if (!l->locked) {
    l->locked = 1;
    l->holder = me;
    l->count = 1;
    return 1;
  }
  if (l->recursive && pthread_equal(l->holder, me)) {
    l->count++;
    return 1;
  }
  return 0;
}

int gl_lock_acquire(GLLock *l, int blocking, const struct timespec *deadline) {
  pthread_mutex_lock(&l->mu);
  int ok = lock_take(l);
  pthread_mutex_unlock(&l->mu);
  if (ok) return 0;
  if (!blocking) return EBUSY;
  if (gl_expired(deadline)) return ETIMEDOUT;
  return sync_wait(&l->mu, &l->cv, lock_take, l, deadline);
}

int gl_lock_release(GLLock *l) {
  int rc = 0;
  pthread_mutex_lock(&l->mu);
  if (!l->locked) rc = EPERM;
  else if (l->recursive && !pthread_equal(l->holder, pthread_self())) rc = EPERM;
  else if (--l->count == 0) {
    l->locked = 0;
    pthread_cond_signal(&l->cv);
  }
  pthread_mutex_unlock(&l->mu);
  return rc;
}

int gl_lock_is_owned(GLLock *l) {
  pthread_mutex_lock(&l->mu);
  int owned = l->locked && (!l->recursive || pthread_equal(l->holder, pthread_self()));
  pthread_mutex_unlock(&l->mu);
  return owned;
}

long gl_lock_release_save(GLLock *l) {
  pthread_mutex_lock(&l->mu);
  long saved = l->count;
  l->count = 0;
  l->locked = 0;
  pthread_cond_signal(&l->cv);
  pthread_mutex_unlock(&l->mu);
  return saved;
}

int gl_lock_acquire_restore(GLLock *l, long saved) {
  int rc = gl_lock_acquire(l, 1, NULL);
  if (rc == 0) {
    pthread_mutex_lock(&l->mu);
    l->count = saved;        /* we own it: count was 1 */
    pthread_mutex_unlock(&l->mu);
  }
  return rc;
}

GLLock *gl_lock_check(lua_State *L, int idx) {
  RtObject *o = rt_test(L, idx);
  if (o == NULL || (o->type != &gl_lock_type && o->type != &gl_rlock_type)) {
    const char *got = o ? o->type->name : luaL_typename(L, idx);
    luaL_argerror(L, idx, lua_pushfstring(L, "threading.Lock or threading.RLock expected, got %s", got));
  }
  return (GLLock *)o;
}

/* ---- Lua binding ---------------------------------------------------- */

static GLLock *checkself(lua_State *L) {
  return gl_lock_check(L, 1);
}

/* acquire([blocking[, timeout]]) -> boolean, as Python's
** acquire(blocking=True, timeout=-1). */
static int l_acquire(lua_State *L) {
  GLLock *l = checkself(L);
  int blocking = sync_optbool(L, 2, 1);
  struct timespec ts, *dl = gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_LOCK);
  if (!blocking && dl != NULL)
    return luaL_error(L, "can't specify a timeout for a non-blocking call");
  int rc = gl_lock_acquire(l, blocking, dl);
  sync_check_interrupt(L, rc);
  lua_pushboolean(L, rc == 0);
  return 1;
}

static int l_release(lua_State *L) {
  GLLock *l = checkself(L);
  if (gl_lock_release(l) != 0)
    return luaL_error(L, l->recursive ? "cannot release un-acquired lock"
                                      : "release unlocked lock");
  return 0;
}

static int l_locked(lua_State *L) {
  GLLock *l = checkself(L);
  pthread_mutex_lock(&l->mu);
  int locked = l->locked;
  pthread_mutex_unlock(&l->mu);
  lua_pushboolean(L, locked);
  return 1;
}

/* with(f, ...): acquire, call f(...), release (also when f raises, then
** re-raise): Python's `with lock:`. Returns f's results. */
static int l_with(lua_State *L) {
  GLLock *l = checkself(L);
  luaL_checkany(L, 2);
  int rc = gl_lock_acquire(l, 1, NULL);
  sync_check_interrupt(L, rc);
  int base = 1;   /* results start after self */
  int status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
  gl_lock_release(l);
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L) - base;
}

static const luaL_Reg lock_methods[] = {
  {"acquire", l_acquire},
  {"release", l_release},
  {"locked", l_locked},
  {"with", l_with},
  {NULL, NULL}
};

static int newlock(lua_State *L, int recursive) {
  GLLock *l = gl_lock_new(recursive);
  if (l == NULL) return luaL_error(L, "not enough memory");
  rt_push_owned(L, &l->base);
  return 1;
}

static int l_Lock(lua_State *L) { return newlock(L, 0); }
static int l_RLock(lua_State *L) { return newlock(L, 1); }

void gl_threading_open_locks(lua_State *L) {
  rt_newtype(L, &gl_lock_type, lock_methods);
  lua_pop(L, 1);
  rt_newtype(L, &gl_rlock_type, lock_methods);
  lua_pop(L, 1);
  lua_pushcfunction(L, l_Lock);
  lua_setfield(L, -2, "Lock");
  lua_pushcfunction(L, l_RLock);
  lua_setfield(L, -2, "RLock");
}

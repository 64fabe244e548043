/*
** mp_sync.c — process-shared synchronization: multiprocessing.Lock,
** RLock and Condition, and the types and registration of all the sync
** objects (Semaphore, BoundedSemaphore, Event, Barrier are in mp_sem.c).
**
** Each object is a block in the shared arena (mp_shm.c) seen through a
** local MpRef handle, so it works across forked processes and across
** GIL-off threads alike.
**
** Lock and RLock ARE robust, process-shared pthread mutexes (error-check
** and recursive kinds). A lock is owned by the thread that acquired it:
** when that thread's process dies (killed, crashed, os._exit) the kernel
** hands the lock to the next acquirer, whose acquire() returns true and
** a second value "owner died" (better than Python, where the lock stays
** locked forever). Releasing a lock the calling thread does not hold is
** an error (Python's multiprocessing.Lock, a semaphore, allows it).
** Acquiring a Lock the caller already holds would deadlock: without a
** timeout it raises, with one it waits it out and returns false.
**
** Condition sleeps on a futex sequence word ('seq', see mp.h) bumped by
** notify. Waits release the GIL and look at Ctrl-C every 50 ms.
**
** Fields of each block are guarded by its 'mu' (Lock/RLock: owner_tid and
** count are written only by the owning thread while it holds the lock).
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mp.h"
#include "mp_sync.h"

typedef struct SLock {
  int kind;
  pthread_mutex_t mu;        /* the lock itself */
  pid_t owner_pid;           /* owner only */
  pid_t owner_tid;
  int count;                 /* RLock recursion, owner only */
} SLock;

typedef struct SCond {
  int kind;
  uint32_t seq;              /* futex word, bumped by notify */
  int waiters;               /* guarded by the condition's lock */
  SLock *lock;               /* one shared reference */
} SCond;

static const char *const kind_names[] = {
  "", "multiprocessing.Lock", "multiprocessing.RLock", "multiprocessing.Semaphore",
  "multiprocessing.BoundedSemaphore", "multiprocessing.Event",
  "multiprocessing.Condition", "multiprocessing.Barrier"
};

static void sync_destroy(RtObject *o, lua_State *L) {
  (void)L;
  mp_ref_destroy((MpRef *)o);
}

static const RtType types[] = {
  {NULL, NULL, NULL, NULL},
  {"multiprocessing.Lock", "multiprocessing", sync_destroy, NULL},
  {"multiprocessing.RLock", "multiprocessing", sync_destroy, NULL},
  {"multiprocessing.Semaphore", "multiprocessing", sync_destroy, NULL},
  {"multiprocessing.BoundedSemaphore", "multiprocessing", sync_destroy, NULL},
  {"multiprocessing.Event", "multiprocessing", sync_destroy, NULL},
  {"multiprocessing.Condition", "multiprocessing", sync_destroy, NULL},
  {"multiprocessing.Barrier", "multiprocessing", sync_destroy, NULL},
};

static pid_t my_tid(void) { return (pid_t)syscall(SYS_gettid); }

static void cond_release(void *p) {
  SCond *c = (SCond *)p;
  if (!mp_shm_unref(c)) return;
  if (c->lock) mp_shm_decref(c->lock);
  mp_shm_free(c);
}

/* Pushes a handle on an existing block (takes a new shared reference). */
void mp_sync_push(lua_State *L, void *block) {
  int kind = *(int *)block;
  MpRef *r = (MpRef *)calloc(1, sizeof(MpRef));
  if (r == NULL) luaL_error(L, "out of memory");
  mp_shm_incref(block);
  if (kind == K_COND) r->release = cond_release;
  mp_ref_init(r, &types[kind], block);
  rt_push_owned(L, &r->rt);
}

void mp_sync_push_new(lua_State *L, void *block) {
  mp_sync_push(L, block);
  mp_shm_decref(block);            /* the handle holds it now */
}

const char *mp_sync_kind_name(int kind) { return kind_names[kind]; }

void *mp_sync_check(lua_State *L, int idx, int k1, int k2) {
  RtObject *o = rt_test(L, idx);
  if (o == NULL || (o->type != &types[k1] && o->type != &types[k2]))
    luaL_argerror(L, idx, lua_pushfstring(L, "%s expected, got %s", kind_names[k1],
                                          o ? o->type->name : luaL_typename(L, idx)));
  return ((MpRef *)o)->shared;
}

void *mp_sync_test_lock(lua_State *L, int idx) {
  RtObject *o = rt_test(L, idx);
  if (o == NULL || (o->type != &types[K_LOCK] && o->type != &types[K_RLOCK])) return NULL;
  return ((MpRef *)o)->shared;
}

/* ---- Lock / RLock ---- */

void *mp_sync_new_lock(lua_State *L, int recursive) {
  SLock *l = (SLock *)mp_shm_alloc_or_raise(L, sizeof(SLock), recursive ? "RLock" : "Lock");
  l->kind = recursive ? K_RLOCK : K_LOCK;
  mp_mutex_init(&l->mu, recursive ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_ERRORCHECK);
  return l;
}

/* Takes the lock; returns 0 acquired, 1 acquired from a dead owner,
** ETIMEDOUT, EINTR or EDEADLK. Releases the GIL only when it must wait. */
static int lock_take(SLock *l, int block, const struct timespec *deadline) {
  pid_t me = my_tid();
  if (l->kind == K_LOCK && __atomic_load_n(&l->owner_tid, __ATOMIC_RELAXED) == me &&
      __atomic_load_n(&l->owner_pid, __ATOMIC_RELAXED) == getpid())
    return EDEADLK;
  int rc = pthread_mutex_trylock(&l->mu);
  if (rc == EBUSY && block) {
    gl_block_begin();
    for (;;) {
      if (gl_expired(deadline)) { rc = ETIMEDOUT; break; }
      if (gl_interrupted()) { rc = EINTR; break; }
      struct timespec ts;
      gl_realtime_slice(&ts);
      rc = pthread_mutex_timedlock(&l->mu, &ts);
      if (rc != ETIMEDOUT) break;
    }
    gl_block_end();
  } else if (rc == EBUSY) rc = ETIMEDOUT;
  if (rc == EOWNERDEAD) {
    pthread_mutex_consistent(&l->mu);
    l->count = 0;
    rc = 1;
  } else if (rc != 0) return rc;
  __atomic_store_n(&l->owner_pid, getpid(), __ATOMIC_RELAXED);
  __atomic_store_n(&l->owner_tid, me, __ATOMIC_RELAXED);
  l->count++;
  return rc;
}

static int lock_give(SLock *l) {
  if (__atomic_load_n(&l->owner_tid, __ATOMIC_RELAXED) != my_tid() ||
      __atomic_load_n(&l->owner_pid, __ATOMIC_RELAXED) != getpid())
    return EPERM;
  if (--l->count == 0) {
    __atomic_store_n(&l->owner_tid, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&l->owner_pid, 0, __ATOMIC_RELAXED);
  }
  return pthread_mutex_unlock(&l->mu);
}

static int push_acquired(lua_State *L, int rc, const struct timespec *dl) {
  if (rc == EINTR) return gl_raise_interrupt(L);
  if (rc == EDEADLK) {
    if (dl == NULL) return luaL_error(L, "deadlock: this thread already holds the Lock");
    gl_block_begin();
    while (!gl_expired(dl) && !gl_interrupted()) gl_sleep(0.01);
    gl_block_end();
    if (gl_interrupted()) return gl_raise_interrupt(L);
    rc = ETIMEDOUT;
  }
  lua_pushboolean(L, rc == 0 || rc == 1);
  if (rc == 1) {
    lua_pushliteral(L, "owner died");
    return 2;
  }
  return 1;
}

/* acquire([block[, timeout]]) -> bool[, "owner died"] */
static int l_acquire(lua_State *L) {
  SLock *l = (SLock *)mp_sync_check(L, 1, K_LOCK, K_RLOCK);
  int block = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
  struct timespec ts, *dl = block ? gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_ZERO) : NULL;
  int rc = lock_take(l, block, dl);
  if (rc == EDEADLK && !block) rc = ETIMEDOUT;
  return push_acquired(L, rc, dl);
}

static int l_release(lua_State *L) {
  SLock *l = (SLock *)mp_sync_check(L, 1, K_LOCK, K_RLOCK);
  if (lock_give(l) != 0)
    return luaL_error(L, l->kind == K_LOCK ? "cannot release un-acquired lock"
                                           : "cannot release un-acquired lock (RLock is owned by another thread)");
  return 0;
}

static int l_locked(lua_State *L) {
  SLock *l = (SLock *)mp_sync_check(L, 1, K_LOCK, K_RLOCK);
  lua_pushboolean(L, __atomic_load_n(&l->owner_tid, __ATOMIC_RELAXED) != 0);
  return 1;
}

static int mp_Lock(lua_State *L) { mp_sync_push_new(L, mp_sync_new_lock(L, 0)); return 1; }
static int mp_RLock(lua_State *L) { mp_sync_push_new(L, mp_sync_new_lock(L, 1)); return 1; }

/* ---- Condition ---- */

/* Condition([lock]) — lock: a multiprocessing Lock or RLock (default RLock) */
static int mp_Condition(lua_State *L) {
  SLock *l;
  if (lua_isnoneornil(L, 1)) l = (SLock *)mp_sync_new_lock(L, 1);
  else {
    l = (SLock *)mp_sync_check(L, 1, K_LOCK, K_RLOCK);
    mp_shm_incref(l);
  }
  SCond *c = (SCond *)mp_shm_alloc(sizeof(SCond));
  if (c == NULL) { mp_shm_decref(l); return mp_raise_exhausted(L, "Condition", sizeof(SCond)); }
  c->kind = K_COND;
  c->lock = l;
  mp_sync_push_new(L, c);
  return 1;
}

static SCond *check_cond(lua_State *L) { return (SCond *)mp_sync_check(L, 1, K_COND, K_COND); }

static int owns(SLock *l) {
  return __atomic_load_n(&l->owner_tid, __ATOMIC_RELAXED) == my_tid() &&
         __atomic_load_n(&l->owner_pid, __ATOMIC_RELAXED) == getpid();
}

static int c_acquire(lua_State *L) {
  SCond *c = check_cond(L);
  int block = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
  struct timespec ts, *dl = block ? gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_ZERO) : NULL;
  int rc = lock_take(c->lock, block, dl);
  if (rc == EDEADLK && !block) rc = ETIMEDOUT;
  return push_acquired(L, rc, dl);
}

static int c_release(lua_State *L) {
  SCond *c = check_cond(L);
  if (lock_give(c->lock) != 0) return luaL_error(L, "cannot release un-acquired lock");
  return 0;
}

/* Waits for a notify; the lock is fully released meanwhile and re-taken
** (with its recursion level) before returning. true, or false on timeout. */
static int cond_wait(lua_State *L, SCond *c, const struct timespec *dl) {
  SLock *l = c->lock;
  if (!owns(l)) return luaL_error(L, "cannot wait on un-acquired lock");
  uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
  int depth = l->count;
  c->waiters++;
  l->count = 1;
  lock_give(l);
  for (int i = 1; i < depth; i++) pthread_mutex_unlock(&l->mu);
  gl_block_begin();
  int rc = 0;
  for (;;) {
    if (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != seq) break;
    if (gl_interrupted()) { rc = EINTR; break; }
    if (gl_expired(dl)) { rc = ETIMEDOUT; break; }
    mp_futex_wait(&c->seq, seq, dl);
  }
  gl_block_end();
  int r2 = lock_take(l, 1, NULL);
  while (r2 == EINTR) r2 = lock_take(l, 1, NULL);   /* must hold it again */
  for (int i = 1; i < depth; i++) pthread_mutex_lock(&l->mu);
  l->count = depth;
  c->waiters--;
  if (rc == EINTR) return gl_raise_interrupt(L);
  return rc == 0;
}

static int c_wait(lua_State *L) {
  SCond *c = check_cond(L);
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  lua_pushboolean(L, cond_wait(L, c, dl));
  return 1;
}

/* wait_for(pred[, timeout]) -> the predicate's last value */
static int c_wait_for(lua_State *L) {
  SCond *c = check_cond(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  struct timespec ts, *dl = gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_ZERO);
  for (;;) {
    lua_pushvalue(L, 2);
    lua_call(L, 0, 1);
    if (lua_toboolean(L, -1) || gl_expired(dl)) return 1;
    lua_pop(L, 1);
    cond_wait(L, c, dl);
  }
}

static int c_notify(lua_State *L) {
  SCond *c = check_cond(L);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  if (!owns(c->lock)) return luaL_error(L, "cannot notify on un-acquired lock");
  if (c->waiters > 0 && n > 0) mp_futex_wake(&c->seq, n > 0x7fffffff ? -1 : (int)n);
  return 0;
}

static int c_notify_all(lua_State *L) {
  SCond *c = check_cond(L);
  if (!owns(c->lock)) return luaL_error(L, "cannot notify on un-acquired lock");
  if (c->waiters > 0) mp_futex_wake(&c->seq, -1);
  return 0;
}

/* ---- registration ---- */

static const luaL_Reg lock_methods[] = {
  {"acquire", l_acquire}, {"release", l_release}, {"locked", l_locked}, {NULL, NULL}
};
static const luaL_Reg cond_methods[] = {
  {"acquire", c_acquire}, {"release", c_release}, {"wait", c_wait},
  {"wait_for", c_wait_for}, {"notify", c_notify}, {"notify_all", c_notify_all}, {NULL, NULL}
};

static int close_release(lua_State *L) {    /* __close: `local l <close> = lock` after acquire */
  return l_release(L);
}

static const MpExport exports[] = {
  {NULL, 0, NULL},
  {&types[K_LOCK], sizeof(MpRef), mp_shm_decref},
  {&types[K_RLOCK], sizeof(MpRef), mp_shm_decref},
  {&types[K_SEM], sizeof(MpRef), mp_shm_decref},
  {&types[K_BSEM], sizeof(MpRef), mp_shm_decref},
  {&types[K_EVENT], sizeof(MpRef), mp_shm_decref},
  {&types[K_COND], sizeof(MpRef), cond_release},
  {&types[K_BARRIER], sizeof(MpRef), mp_shm_decref},
};

void mp_open_sync(lua_State *L) {
  for (int k = K_LOCK; k <= K_BARRIER; k++) mp_exportable(&exports[k]);
  const luaL_Reg *methods[] = {NULL, lock_methods, lock_methods, mp_sem_methods, mp_sem_methods,
                               mp_event_methods, cond_methods, mp_barrier_methods};
  for (int k = K_LOCK; k <= K_BARRIER; k++) {
    rt_newtype(L, &types[k], methods[k]);
    lua_pushcfunction(L, mp_ref_eq);
    lua_setfield(L, -2, "__eq");
    if (k == K_LOCK || k == K_RLOCK) {
      lua_pushcfunction(L, close_release);
      lua_setfield(L, -2, "__close");
    }
    if (k == K_BARRIER) {
      lua_getfield(L, -1, "__index");
      lua_setfield(L, -2, "methods");
      lua_pushcfunction(L, mp_sem_barrier_index);
      lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
  }
  static const luaL_Reg f[] = {
    {"Lock", mp_Lock}, {"RLock", mp_RLock}, {"Semaphore", mp_sem_Semaphore},
    {"BoundedSemaphore", mp_sem_BoundedSemaphore}, {"Event", mp_sem_Event},
    {"Condition", mp_Condition}, {"Barrier", mp_sem_Barrier}, {NULL, NULL}
  };
  luaL_setfuncs(L, f, 0);
}

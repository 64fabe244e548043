/*
** sync.c — threading.Semaphore, BoundedSemaphore and Event; the module
** entry for the synchronisation part (Condition is in cond.c, Barrier in
** barrier.c).
**
** Each object is a small state guarded by a pthread mutex (a leaf lock)
** with a condition variable for waiters; waits follow vm/block.h through
** sync_wait after one try that keeps the GIL.
*/
#include <errno.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "block.h"
#include "locks.h"
#include "syncwait.h"
#include "threading.h"

/* ---- Semaphore / BoundedSemaphore ---------------------------------- */

typedef struct GLSem {
  RtObject base;
  lua_Integer bound;          /* immutable; < 0: unbounded */
  pthread_mutex_t mu;         /* guards value */
  pthread_cond_t cv;          /* signalled when value grows */
  lua_Integer value;
} GLSem;

static void sem_destroy(RtObject *o, lua_State *L) {
  GLSem *s = (GLSem *)o;
  (void)L;
  sync_pair_free(o, &s->mu, &s->cv);
}

static void sem_after_fork(RtObject *o) {
  GLSem *s = (GLSem *)o;
  sync_pair_init(&s->mu, &s->cv);
}

static const RtType sem_type = {"threading.Semaphore", "threading", sem_destroy, sem_after_fork};
static const RtType bsem_type = {"threading.BoundedSemaphore", "threading", sem_destroy, sem_after_fork};

static GLSem *checksem(lua_State *L) {
  RtObject *o = rt_test(L, 1);
  if (o == NULL || (o->type != &sem_type && o->type != &bsem_type)) {
    const char *got = o ? o->type->name : luaL_typename(L, 1);
    luaL_argerror(L, 1, lua_pushfstring(L, "threading.Semaphore expected, got %s", got));
  }
  return (GLSem *)o;
}

static int sem_take(void *ud) {
  GLSem *s = (GLSem *)ud;
  if (s->value <= 0) return 0;
  s->value--;
  return 1;
}

/* acquire([blocking[, timeout]]) -> boolean. Python's timeout=None is nil
** here; a negative timeout tries once, as Python's Semaphore. */
static int s_acquire(lua_State *L) {
  GLSem *s = checksem(L);
  int blocking = sync_optbool(L, 2, 1);
  struct timespec ts, *dl = gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_ZERO);
  if (!blocking && dl != NULL)
    return luaL_error(L, "can't specify timeout for non-blocking acquire");
  pthread_mutex_lock(&s->mu);
  int ok = sem_take(s);
  pthread_mutex_unlock(&s->mu);
  int rc = ok ? 0 : !blocking || gl_expired(dl) ? ETIMEDOUT
                  : sync_wait(&s->mu, &s->cv, sem_take, s, dl);
  sync_check_interrupt(L, rc);
  lua_pushboolean(L, rc == 0);
  return 1;
}

/* release([n]): adds n permits (default 1) and wakes up to n waiters.
** Past the bound (BoundedSemaphore) or past math.maxinteger (any
** semaphore: the count must never wrap negative; "...: value out of
** range", as multiprocessing's) it is "Semaphore released too many
** times" and the value is unchanged. */
static int s_release(lua_State *L) {
  GLSem *s = checksem(L);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  luaL_argcheck(L, n >= 1, 2, "n must be one or more");
  pthread_mutex_lock(&s->mu);
  lua_Integer was = s->value;
  int bounded = s->bound >= 0 && was > s->bound - n;
  int wraps = !bounded && was > LUA_MAXINTEGER - n;
  if (!bounded && !wraps) {
    s->value += n;
    if (n == 1) pthread_cond_signal(&s->cv);
    else pthread_cond_broadcast(&s->cv);
  }
  pthread_mutex_unlock(&s->mu);
  if (bounded) return luaL_error(L, "Semaphore released too many times");
  if (wraps)
    return luaL_error(L, "Semaphore released too many times: value out of range (%I + %I)", was, n);
  return 0;
}

static int s_with(lua_State *L) {
  GLSem *s = checksem(L);
  luaL_checkany(L, 2);
  pthread_mutex_lock(&s->mu);
  int ok = sem_take(s);
  pthread_mutex_unlock(&s->mu);
  if (!ok) sync_check_interrupt(L, sync_wait(&s->mu, &s->cv, sem_take, s, NULL));
  int status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 0);
  pthread_mutex_lock(&s->mu);
  s->value++;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  if (status != LUA_OK) return lua_error(L);
  return lua_gettop(L) - 1;
}

static const luaL_Reg sem_methods[] = {
  {"acquire", s_acquire},
  {"release", s_release},
  {"with", s_with},
  {NULL, NULL}
};

static int newsem(lua_State *L, const RtType *t) {
  lua_Integer v = luaL_optinteger(L, 1, 1);
  luaL_argcheck(L, v >= 0, 1, "semaphore initial value must be >= 0");
  GLSem *s = (GLSem *)calloc(1, sizeof *s);
  if (s == NULL) return luaL_error(L, "not enough memory");
  s->value = v;
  s->bound = t == &bsem_type ? v : -1;
  sync_pair_init(&s->mu, &s->cv);
  rt_init(&s->base, t);
  rt_push_owned(L, &s->base);
  return 1;
}

static int s_Semaphore(lua_State *L) { return newsem(L, &sem_type); }
static int s_BoundedSemaphore(lua_State *L) { return newsem(L, &bsem_type); }

/* ---- Event ---------------------------------------------------------- */

/*
** 'sets' counts set() calls. A waiter notes it before sleeping and wakes
** when the flag is up OR the count moved: a set() immediately followed by
** clear() still releases every thread that was waiting when set() ran
** (Python's guarantee, gh-57711); testing the flag alone lost them.
*/
typedef struct GLEvent {
  RtObject base;
  pthread_mutex_t mu;         /* guards flag, sets and waiting */
  pthread_cond_t cv;          /* broadcast by set */
  int flag;
  unsigned long sets;
  long waiting;               /* threads inside wait() (ev:_waiters(), for tests) */
} GLEvent;

typedef struct EventWaiter { GLEvent *e; unsigned long sets_seen; } EventWaiter;

static void event_destroy(RtObject *o, lua_State *L) {
  GLEvent *e = (GLEvent *)o;
  (void)L;
  sync_pair_free(o, &e->mu, &e->cv);
}

static void event_after_fork(RtObject *o) {
  GLEvent *e = (GLEvent *)o;
  sync_pair_init(&e->mu, &e->cv);
}

static const RtType event_type = {"threading.Event", "threading", event_destroy, event_after_fork};

static GLEvent *checkevent(lua_State *L) {
  return (GLEvent *)rt_check(L, 1, &event_type);
}

static int event_fired(void *ud) {
  EventWaiter *w = (EventWaiter *)ud;
  return w->e->flag || w->e->sets != w->sets_seen;
}

static int e_set(lua_State *L) {
  GLEvent *e = checkevent(L);
  pthread_mutex_lock(&e->mu);
  e->flag = 1;
  e->sets++;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  return 0;
}

static int e_clear(lua_State *L) {
  GLEvent *e = checkevent(L);
  pthread_mutex_lock(&e->mu);
  e->flag = 0;
  pthread_mutex_unlock(&e->mu);
  return 0;
}

static int e_is_set(lua_State *L) {
  GLEvent *e = checkevent(L);
  pthread_mutex_lock(&e->mu);
  int f = e->flag;
  pthread_mutex_unlock(&e->mu);
  lua_pushboolean(L, f);
  return 1;
}

/* wait([timeout]) -> the flag (true unless the wait timed out). */
static int e_wait(lua_State *L) {
  GLEvent *e = checkevent(L);
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  pthread_mutex_lock(&e->mu);
  int f = e->flag;
  EventWaiter w = {e, e->sets};
  e->waiting++;
  pthread_mutex_unlock(&e->mu);
  int rc = f ? 0 : gl_expired(dl) ? ETIMEDOUT
                 : sync_wait(&e->mu, &e->cv, event_fired, &w, dl);
  pthread_mutex_lock(&e->mu);
  e->waiting--;
  pthread_mutex_unlock(&e->mu);
  sync_check_interrupt(L, rc);
  lua_pushboolean(L, rc == 0);
  return 1;
}

/* _waiters() -> how many threads are inside wait() (as Python tests read
** Condition._waiters): lets a test know its threads are waiting. */
static int e_waiters(lua_State *L) {
  GLEvent *e = checkevent(L);
  pthread_mutex_lock(&e->mu);
  long n = e->waiting;
  pthread_mutex_unlock(&e->mu);
  lua_pushinteger(L, n);
  return 1;
}

static const luaL_Reg event_methods[] = {
  {"_waiters", e_waiters},
  {"set", e_set},
  {"clear", e_clear},
  {"is_set", e_is_set},
  {"wait", e_wait},
  {NULL, NULL}
};

static int e_new(lua_State *L) {
  GLEvent *e = (GLEvent *)calloc(1, sizeof *e);
  if (e == NULL) return luaL_error(L, "not enough memory");
  sync_pair_init(&e->mu, &e->cv);
  rt_init(&e->base, &event_type);
  rt_push_owned(L, &e->base);
  return 1;
}

void gl_threading_open_sync(lua_State *L) {
  rt_newtype(L, &sem_type, sem_methods);
  lua_pop(L, 1);
  rt_newtype(L, &bsem_type, sem_methods);
  lua_pop(L, 1);
  rt_newtype(L, &event_type, event_methods);
  lua_pop(L, 1);
  lua_pushcfunction(L, s_Semaphore);
  lua_setfield(L, -2, "Semaphore");
  lua_pushcfunction(L, s_BoundedSemaphore);
  lua_setfield(L, -2, "BoundedSemaphore");
  lua_pushcfunction(L, e_new);
  lua_setfield(L, -2, "Event");
  gl_threading_open_condition(L);
  gl_threading_open_barrier(L);
}

/*
** mp_sem.c — process-shared Semaphore, BoundedSemaphore, Event and
** Barrier: small state blocks in the shared arena (SState, mp_sync.h).
**
** Each keeps its fields under a short robust mutex ('mu') and sleeps on a
** futex sequence word ('seq'), see mp.h: a waker bumps seq and wakes the
** sleepers, who re-check their condition under mu. Waits release the GIL
** (never while mu is held: the GIL is not acquired with a leaf lock held)
** and look at Ctrl-C every 50 ms.
*/
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <lauxlib.h>

#include "block.h"
#include "mp.h"
#include "mp_sync.h"
#include "rtclass.h"

static SState *new_state(lua_State *L, int kind) {
  SState *s = (SState *)mp_shm_alloc_or_raise(L, sizeof(SState), mp_sync_kind_name(kind));
  s->kind = kind;
  mp_mutex_init(&s->mu, PTHREAD_MUTEX_NORMAL);
  return s;
}

/* With s->mu held: waits until ready(s) holds. Returns 0 (ready), EINTR
** or ETIMEDOUT, with s->mu held. */
static int state_wait(SState *s, int (*ready)(SState *, void *), void *ud,
                      const struct timespec *deadline) {
  int rc = 0, released = 0;
  while (!ready(s, ud)) {
    if (!released) {            /* never acquire the GIL with mu held */
      mp_unlock(&s->mu);
      gl_block_begin();
      released = 1;
      mp_lock(&s->mu);
      continue;
    }
    if (gl_interrupted()) { rc = EINTR; break; }
    if (gl_expired(deadline)) { rc = ETIMEDOUT; break; }
    uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    s->waiters++;
    mp_unlock(&s->mu);
    mp_futex_wait(&s->seq, seq, deadline);
    mp_lock(&s->mu);
    s->waiters--;
  }
  if (released) {
    mp_unlock(&s->mu);
    gl_block_end();
    mp_lock(&s->mu);
  }
  return rc;
}

static void state_wake(SState *s, int n) {   /* s->mu held */
  if (s->waiters > 0) mp_futex_wake(&s->seq, n);
  else __atomic_fetch_add(&s->seq, 1, __ATOMIC_RELEASE);
}

/* Semaphore */

static int sem_ready(SState *s, void *ud) { (void)ud; return s->value > 0; }

static int new_sem(lua_State *L, int kind) {
  lua_Integer v = luaL_optinteger(L, 1, 1);
  if (v < 0) return luaL_argerror(L, 1, "semaphore initial value must be >= 0");
  SState *s = new_state(L, kind);
  s->value = v;
  s->max = kind == K_BSEM ? v : -1;
  mp_sync_push_new(L, s);
  return 1;
}

int mp_sem_Semaphore(lua_State *L) { return new_sem(L, K_SEM); }
int mp_sem_BoundedSemaphore(lua_State *L) { return new_sem(L, K_BSEM); }

static int s_acquire(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_SEM, K_BSEM);
  int block = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
  struct timespec ts, *dl = block ? gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_ZERO) : NULL;
  mp_lock(&s->mu);
  int rc = 0;
  if (s->value == 0) rc = block ? state_wait(s, sem_ready, NULL, dl) : ETIMEDOUT;
  if (rc == 0) s->value--;
  mp_unlock(&s->mu);
  if (rc == EINTR) return gl_raise_interrupt(L);
  lua_pushboolean(L, rc == 0);
  return 1;
}

/* release([n]): the count never wraps; over the bound (BoundedSemaphore)
** or over math.maxinteger is an error and changes nothing. */
static int s_release(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_SEM, K_BSEM);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  if (n < 1) return luaL_argerror(L, 2, "n must be >= 1");
  mp_lock(&s->mu);
  if (s->max >= 0 && n > s->max - s->value) {
    mp_unlock(&s->mu);
    return luaL_error(L, "Semaphore released too many times");
  }
  if (n > LUA_MAXINTEGER - s->value) {
    mp_unlock(&s->mu);
    return luaL_error(L, "Semaphore released too many times: value out of range (%I + %I)", (lua_Integer)s->value, n);
  }
  s->value += n;
  state_wake(s, n > INT_MAX ? -1 : (int)n);
  mp_unlock(&s->mu);
  return 0;
}

static int s_get_value(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_SEM, K_BSEM);
  mp_lock(&s->mu);
  lua_Integer v = s->value;
  mp_unlock(&s->mu);
  lua_pushinteger(L, v);
  return 1;
}

/* Event. A waiter wakes up when the flag is set or when set() was called
** since it began to wait ('sets' moved): set() followed at once by
** clear() still wakes every thread that was waiting (Python's promise). */

typedef struct EvWait { uint32_t sets; } EvWait;

static int ev_ready(SState *s, void *ud) {
  return s->value != 0 || s->sets != ((EvWait *)ud)->sets;
}

int mp_sem_Event(lua_State *L) { mp_sync_push_new(L, new_state(L, K_EVENT)); return 1; }

static int e_set(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_EVENT, K_EVENT);
  mp_lock(&s->mu);
  s->value = 1;
  s->sets++;
  state_wake(s, -1);
  mp_unlock(&s->mu);
  return 0;
}

static int e_clear(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_EVENT, K_EVENT);
  mp_lock(&s->mu);
  s->value = 0;
  mp_unlock(&s->mu);
  return 0;
}

static int e_is_set(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_EVENT, K_EVENT);
  mp_lock(&s->mu);
  int v = s->value != 0;
  mp_unlock(&s->mu);
  lua_pushboolean(L, v);
  return 1;
}

/* _waiters() -> how many threads or processes sleep in wait() (for tests). */
static int e_waiters(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_EVENT, K_EVENT);
  mp_lock(&s->mu);
  int n = s->waiters;
  mp_unlock(&s->mu);
  lua_pushinteger(L, n);
  return 1;
}

static int e_wait(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_EVENT, K_EVENT);
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  mp_lock(&s->mu);
  EvWait w = { s->sets };
  int rc = state_wait(s, ev_ready, &w, dl);
  int v = ev_ready(s, &w);
  mp_unlock(&s->mu);
  if (rc == EINTR) return gl_raise_interrupt(L);
  lua_pushboolean(L, v);
  return 1;
}

/* Barrier (phases: mp_sync.h) */

static int bar_can_enter(SState *s, void *ud) {
  (void)ud;
  return s->phase == BAR_FILLING || s->phase == BAR_BROKEN;
}

static int bar_released(SState *s, void *ud) { (void)ud; return s->phase != BAR_FILLING; }

int mp_sem_Barrier(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  if (n < 1) return luaL_argerror(L, 1, "parties must be >= 1");
  SState *s = new_state(L, K_BARRIER);
  s->parties = (long)n;
  mp_sync_push_new(L, s);
  return 1;
}

static void bar_set(SState *s, int phase) {   /* s->mu held */
  s->phase = phase;
  state_wake(s, -1);
}

/* The waiting part of wait(), s->mu held: 0 (the barrier tripped),
** EPIPE (broken or reset meanwhile), ETIMEDOUT or EINTR (this waiter
** breaks the barrier, as in Python). */
static int bar_wait(SState *s, const struct timespec *dl, long *index) {
  int rc = state_wait(s, bar_can_enter, NULL, NULL);
  if (rc) return rc;
  if (s->phase == BAR_BROKEN) return EPIPE;
  *index = s->count++;
  if (s->count == s->parties) bar_set(s, BAR_DRAINING);
  else {
    rc = state_wait(s, bar_released, NULL, dl);
    if (rc) bar_set(s, BAR_BROKEN);
    else if (s->phase != BAR_DRAINING) rc = EPIPE;
  }
  if (--s->count == 0 && (s->phase == BAR_DRAINING || s->phase == BAR_RESETTING))
    bar_set(s, BAR_FILLING);
  return rc;
}

/* wait([timeout]) -> index in 0..parties-1; raises BrokenBarrierError */
static int b_wait(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_BARRIER, K_BARRIER);
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  long index = 0;
  mp_lock(&s->mu);
  int rc = bar_wait(s, dl, &index);
  mp_unlock(&s->mu);
  if (rc == EINTR) return gl_raise_interrupt(L);
  if (rc) return luaL_error(L, "BrokenBarrierError");
  lua_pushinteger(L, index);
  return 1;
}

static int b_abort(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_BARRIER, K_BARRIER);
  mp_lock(&s->mu);
  bar_set(s, BAR_BROKEN);
  mp_unlock(&s->mu);
  return 0;
}

/* reset(): the threads waiting now raise BrokenBarrierError; the barrier
** is usable again once they have left. */
static int b_reset(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_BARRIER, K_BARRIER);
  mp_lock(&s->mu);
  if (s->count == 0) bar_set(s, BAR_FILLING);
  else if (s->phase != BAR_DRAINING) bar_set(s, BAR_RESETTING);
  mp_unlock(&s->mu);
  return 0;
}

int mp_sem_barrier_index(lua_State *L) {
  SState *s = (SState *)mp_sync_check(L, 1, K_BARRIER, K_BARRIER);
  const char *k = luaL_checkstring(L, 2);
  mp_lock(&s->mu);
  long parties = s->parties, count = s->phase == BAR_FILLING ? s->count : 0;
  int broken = s->phase == BAR_BROKEN;
  mp_unlock(&s->mu);
  if (strcmp(k, "parties") == 0) lua_pushinteger(L, parties);
  else if (strcmp(k, "n_waiting") == 0) lua_pushinteger(L, count);
  else if (strcmp(k, "broken") == 0) lua_pushboolean(L, broken);
  else return rt_push_method(L, k);
  return 1;
}

const luaL_Reg mp_sem_methods[] = {
  {"acquire", s_acquire}, {"release", s_release}, {"get_value", s_get_value}, {NULL, NULL}
};
const luaL_Reg mp_event_methods[] = {
  {"set", e_set}, {"clear", e_clear}, {"is_set", e_is_set}, {"wait", e_wait},
  {"_waiters", e_waiters}, {NULL, NULL}
};
const luaL_Reg mp_barrier_methods[] = {
  {"wait", b_wait}, {"abort", b_abort}, {"reset", b_reset}, {NULL, NULL}
};

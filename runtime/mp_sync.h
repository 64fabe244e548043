/*
** mp_sync.h — what the process-shared sync objects share between
** mp_sync.c (Lock, RLock, Condition; the types and registration) and
** mp_sem.c (Semaphore, BoundedSemaphore, Event, Barrier). Internal to
** those two files; other modules use the interface in mp.h.
*/
#ifndef mp_sync_h
#define mp_sync_h

#include <pthread.h>
#include <stdint.h>

#include <lauxlib.h>

enum { K_LOCK = 1, K_RLOCK, K_SEM, K_BSEM, K_EVENT, K_COND, K_BARRIER };

/* A barrier's phase, as Python's threading.Barrier: waiters arrive while
** FILLING; the last one makes it DRAINING (all pass) and reset() with
** waiters makes it RESETTING (all raise BrokenBarrierError); the last
** waiter to leave turns either back to FILLING. New arrivals wait while
** it drains or resets. BROKEN stays until reset(). */
enum { BAR_FILLING, BAR_DRAINING, BAR_RESETTING, BAR_BROKEN };

typedef struct SState {      /* Semaphore, Event, Barrier: all fields under 'mu' */
  int kind;
  pthread_mutex_t mu;
  uint32_t seq;              /* futex word */
  int waiters;
  lua_Integer value, max;    /* semaphore value / bound (-1: none); event flag */
  uint32_t sets;             /* event: set() calls, a waiter's wake-up (wraps) */
  long parties, count;       /* barrier: its size, threads inside wait() */
  int phase;                 /* barrier: BAR_FILLING, _DRAINING, _RESETTING, _BROKEN */
} SState;

/* The name of a kind, as in error messages ("multiprocessing.Event"). */
const char *mp_sync_kind_name(int kind);

/* The shared block of the object at idx, which must be of kind k1 or k2
** (else an argument error naming the expected kind). */
void *mp_sync_check(lua_State *L, int idx, int k1, int k2);

/* Pushes a handle on a block just allocated (the handle takes over the
** allocation's reference). */
void mp_sync_push_new(lua_State *L, void *block);

/* mp_sem.c: constructors and methods. */
int mp_sem_Semaphore(lua_State *L);
int mp_sem_BoundedSemaphore(lua_State *L);
int mp_sem_Event(lua_State *L);
int mp_sem_Barrier(lua_State *L);
int mp_sem_barrier_index(lua_State *L);   /* __index: parties, n_waiting, broken */
extern const luaL_Reg mp_sem_methods[], mp_event_methods[], mp_barrier_methods[];

#endif

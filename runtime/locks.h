/*
** locks.h — threading.Lock and threading.RLock at the C level, for the
** Lua binding (locks.c) and for Condition (cond.c), which releases and
** re-acquires the lock it wraps.
*/
#ifndef locks_h
#define locks_h

#include <pthread.h>
#include <time.h>

#include <lua.h>

#include "rtobject.h"

/*
** One struct for both kinds. All fields below 'mu' are guarded by mu.
**   locked   Lock: 1 while held.  RLock: 1 while count > 0.
**   holder   the OS thread that acquired it (RLock: the owner; Lock: only
**            used by after_fork, since any thread may release a Lock).
**   count    RLock recursion level; 0 when free. Lock: 0 or 1.
** Waiters block on cv; a release signals one of them.
*/
typedef struct GLLock {
  RtObject base;
  int recursive;            /* immutable */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int locked;
  pthread_t holder;
  long count;
} GLLock;

/* A new lock with one reference (the caller's). */
GLLock *gl_lock_new(int recursive);

/* Acquires. blocking == 0: one try. Returns 0 (acquired), EBUSY (not
** acquired, non-blocking), ETIMEDOUT or EINTR. Releases the GIL only when
** it must wait. */
int gl_lock_acquire(GLLock *l, int blocking, const struct timespec *deadline);

/* Releases once. Returns 0, or EPERM when not locked (Lock) / not owned
** by the caller (RLock). */
int gl_lock_release(GLLock *l);

/* Lock: locked. RLock: owned by the calling thread. */
int gl_lock_is_owned(GLLock *l);

/* Held by any thread (Lock.locked; for an RLock: count > 0). */
int gl_lock_locked(GLLock *l);

/* For Condition.wait: releases completely and returns the state to give
** back (the RLock recursion level; 1 for a Lock). Caller owns the lock. */
long gl_lock_release_save(GLLock *l);

/* Re-acquires (blocking, no deadline) and restores the saved level.
** Returns 0 or EINTR (then the lock is not held). */
int gl_lock_acquire_restore(GLLock *l, long saved);

/* The lock behind the handle at idx, a Lock or an RLock, else raises. */
GLLock *gl_lock_check(lua_State *L, int idx);

/* Parts of gl_threading_open_sync: add threading.Condition (cond.c) and
** threading.Barrier with threading.BrokenBarrierError (barrier.c) to the
** module table on top. */
void gl_threading_open_condition(lua_State *L);
void gl_threading_open_barrier(lua_State *L);

#endif

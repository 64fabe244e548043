/*
** block.h — how runtime code blocks: condition waits that see Ctrl-C,
** releasing the GIL around a wait, timeout arguments (clocks and
** deadlines: clock.h).
**
** The rule every blocking call in runtime/ follows:
**
**     gl_block_begin();                 -- GIL released (trace: blocked)
**     pthread_mutex_lock(&obj->mu);
**     while (!ready && rc == 0)
**       rc = gl_cond_wait(&obj->cv, &obj->mu, deadline);
**     pthread_mutex_unlock(&obj->mu);
**     gl_block_end();                   -- GIL re-acquired
**     if (rc == EINTR) gl_raise_interrupt(L);
**
** Lock order: the GIL is never acquired while a runtime mutex is held.
** Runtime mutexes are leaves; so no cycle can form through the GIL.
*/
#ifndef block_h
#define block_h

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <lua.h>

#include "clock.h"   /* slices, deadlines: every includer waits */

/* Condition variable that measures time on CLOCK_MONOTONIC. */
void gl_cond_init(pthread_cond_t *cv);

/* Waits on cv (mu held) until signalled (0), the deadline passes
** (ETIMEDOUT) or the main thread is interrupted by Ctrl-C (EINTR). Waits
** in slices of at most 50 ms so an interrupt is seen promptly. A return
** of 0 may be spurious: callers loop on their predicate. */
int gl_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu,
                 const struct timespec *deadline);

/* Sleeps 'seconds' (GIL released by the caller); returns 0 or EINTR. */
int gl_sleep(double seconds);

/* True when stdio already holds unread input for f (a read will not
** block). Known on glibc only; elsewhere always false. */
int gl_file_buffered(FILE *f);

/* Waits (GIL released by the caller) until poll says fd is ready for
** 'events' (POLLIN: readable or at end of file; POLLOUT: room to write)
** or in error; returns 0, or EINTR on Ctrl-C. */
int gl_wait_fd(int fd, short events);

/* Release / re-acquire the calling thread's GIL around a blocking wait. */
void gl_block_begin(void);
void gl_block_end(void);

/* How many times a thread has let go of the GIL in gl_block_begin (any
** thread, since start-up; GIL on only). A thread that wants the GIL from a holder
** about to block (a new thread whose creator joins it next) watches it
** change before queueing (spin.h: gl_spin_for_block). */
unsigned long gl_block_epoch(void);


/* True when Ctrl-C is pending and the caller is the main thread (or the
** thread that runs the way out, see gl_take_interrupts). */
int gl_interrupted(void);
/* From now on the calling thread (not the main one) sees Ctrl-C in
** gl_interrupted as the main thread does: for the thread that runs the
** program's way out (vm.c). */
void gl_take_interrupts(void);

/* Raises the Lua error "interrupted" (does not return). */
int gl_raise_interrupt(lua_State *L);

/* What a negative (or NaN) timeout means, as in the Python function of
** the same name: one rule for every module (docs/threading.md, Timeouts). */
typedef enum {
  GL_TIMEOUT_ZERO,     /* 0: try once (Event.wait, Condition.wait, mp, subprocess) */
  GL_TIMEOUT_STRICT,   /* an error (queue get/put/join, Thread.join) */
  GL_TIMEOUT_LOCK      /* -1 = forever, other negatives an error (Lock.acquire) */
} GLTimeoutRule;

/* Optional timeout argument at 'idx': nil or absent => no deadline
** (NULL); a number of seconds => its deadline in *ts; a negative number
** as 'rule' says; anything else is an error. Returns ts or NULL. */
struct timespec *gl_opt_timeout(lua_State *L, int idx, struct timespec *ts,
                                GLTimeoutRule rule);

#endif

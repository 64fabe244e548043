/*
** syncwait.h — helpers shared by the synchronisation objects of
** `threading` and `queue`: the blocking wait of vm/block.h wrapped around
** a "try to take" predicate, and Python's timeout arguments.
*/
#ifndef syncwait_h
#define syncwait_h

#include <pthread.h>
#include <time.h>

#include <lua.h>

#include "rtobject.h"

/* Blocks until take(ud) returns non-zero. take runs with 'mu' held and
** must both test and consume (take the lock, the item, the permit...), so
** that the decision and the change are one atomic step. The GIL is
** released around the wait (gl_block_begin/end) and never re-acquired
** while 'mu' is held. Returns 0 when taken, ETIMEDOUT when 'deadline'
** passed first, EINTR when the main thread was interrupted (Ctrl-C).
** The caller has already tried once without releasing the GIL. */
int sync_wait(pthread_mutex_t *mu, pthread_cond_t *cv, int (*take)(void *),
              void *ud, const struct timespec *deadline);

/* Every threading object's mutex and condition variable (CLOCK_MONOTONIC)
** are started here, and started afresh here in a fork()ed child, where a
** thread that held the mutex or waited on the condition is gone. */
void sync_pair_init(pthread_mutex_t *mu, pthread_cond_t *cv);
/* The end of such an object: off the live list, the pair destroyed, freed. */
void sync_pair_free(RtObject *o, pthread_mutex_t *mu, pthread_cond_t *cv);

/* Optional boolean at idx (nil/none => def); any other type is an error. */
int sync_optbool(lua_State *L, int idx, int def);

/* Raises "interrupted" when rc is EINTR; returns otherwise. */
void sync_check_interrupt(lua_State *L, int rc);

#endif

/*
** gil.h — the global interpreter lock. See gil.c for the algorithm.
*/
#ifndef gil_h
#define gil_h

#include <stdint.h>

#include "gthread.h"

typedef enum { GIL_BYTECODES, GIL_INTERVAL } GILPolicyKind;

typedef struct GILPolicy {
  GILPolicyKind kind;
  long n;            /* bytecodes: N instructions; interval: microseconds */
} GILPolicy;

/* Parses "bytecodes:N" or "interval:MS" (MS may be fractional). Returns 0
** on success, -1 with a message in 'err' otherwise. */
int gil_parse_policy(const char *s, GILPolicy *out, char *err, size_t errlen);

/* Process-wide set-up, once, before any thread starts. */
void gil_setup(int enabled, GILPolicy policy);
int gil_enabled(void);
GILPolicy gil_policy(void);
void gil_set_policy(GILPolicy p);

void gil_acquire(GLThread *t);
void gil_release(GLThread *t);

/* Called by the count hook on the holder's own thread: drops the GIL if a
** waiter asked for it, and decides whether the hook stays armed on L. */
void gil_hook_point(GLThread *t, lua_State *L);

/* After a coroutine switch: if a drop was requested, arm the hook on the
** state the thread now runs. */
void gil_rearm(GLThread *t, lua_State *L);

/* Fork duties (gl_at_fork): gil.mu is held across fork(); in the child
** the calling thread is the only one left (and holds the GIL when on). */
void gil_fork_prepare(void);
void gil_fork_parent(pid_t pid);
void gil_fork_child(void);

/* Adds time spent in a blocking call to t's figures. */
void gil_note_blocked(GLThread *t, uint64_t ns);

typedef struct GILStats {
  unsigned long switches, forced_switches, requests;
} GILStats;
GILStats gil_stats(void);

/* How many threads wait for the GIL now; who holds it (NULL: free). */
int gil_waiting(void);
GLThread *gil_holder(void);

/* Per-thread figures, read consistently under the GIL's mutex. */
void gil_thread_figures(GLThread *t, uint64_t *held_ns, uint64_t *wait_ns,
                        unsigned long *acquisitions);

#endif

/*
** gil.h — the global interpreter lock. See gil.c for the algorithm.
*/
#ifndef gil_h
#define gil_h

#include <stdint.h>

#include "gthread.h"

/* The order is the spelling table's in gil_policy.c. */
typedef enum { GIL_BYTECODES, GIL_INTERVAL, GIL_TICKS, GIL_PRIORITY } GILPolicyKind;

typedef struct GILPolicy {
  GILPolicyKind kind;
  long n;            /* ticks, bytecodes: N instructions; interval, priority: microseconds */
  int share;         /* priority: the percent of GIL time that serving threads back from a
                     ** blocking call first may cost the others (1..90); 0: the default */
} GILPolicy;

/* priority:MS's share when none is given. Measured on the 2-core VM (the
** convoy over TCP beside one CPU-bound thread, docs/lab.md): at 5 the
** CPU-bound thread kept ~90% of its rate and the I/O thread ~15-20% of
** its own; at 10, ~84% and ~30%. The CPU-bound threads lose a few points
** more than the share: the I/O thread's ordinary turns (interval:5 alone
** costs them ~4% here) and what a switch costs besides the urgent turn. */
#define GIL_PRIORITY_SHARE 5

/* Parses "ticks:N", "bytecodes:N", "interval:MS" or "priority:MS[:PCT]"
** (MS may be fractional; PCT is the share, an integer from 1 to 90). Returns 0 on success, -1 with a message in 'err'. */
int gil_parse_policy(const char *s, GILPolicy *out, char *err, size_t errlen);

/* "bytecodes:100", "interval:5"... into buf. */
void gil_format_policy(GILPolicy p, char *buf, size_t len);
const char *gil_policy_name(GILPolicyKind k);
/* True for the policies whose number counts instructions. */
int gil_policy_counts(GILPolicyKind k);

/* What the interpreter's instructions cost, calibrated once (ns). */
double gil_ns_per_instruction(void);
/* How long a holder's turn lasts before a waiter may ask (bytecodes:N: N
** instructions' time, at least min_turn_ns; others: min_turn_ns). */
uint64_t gil_turn_ns(GILPolicy p, uint64_t min_turn_ns);

/* Process-wide set-up, once, before any thread starts. */
void gil_setup(int enabled, GILPolicy policy);
int gil_enabled(void);
GILPolicy gil_policy(void);
void gil_set_policy(GILPolicy p);

void gil_acquire(GLThread *t);
void gil_release(GLThread *t);
/* Acquire after a blocking call: under priority:MS the thread may be
** served first (gil_priority.c). */
void gil_reacquire(GLThread *t);

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
  unsigned long switches;        /* the holder changed */
  unsigned long forced_switches; /* ... because a holder was asked to drop */
  unsigned long requests;        /* drop requests sent */
  unsigned long releases;        /* every drop: blocking calls, hand-overs, ticks */
  unsigned long wasted_wakeups;  /* a waiter woke and found the GIL taken */
  unsigned long urgent_grants;   /* priority: waits served first */
  uint64_t urgent_cost_ns;       /* priority: what those cost the others (the bucket's charges) */
} GILStats;
GILStats gil_stats(void);

/* How many threads wait for the GIL now; who holds it (NULL: free). */
int gil_waiting(void);
GLThread *gil_holder(void);

/* Per-thread figures, read consistently under the GIL's mutex. */
void gil_thread_figures(GLThread *t, uint64_t *held_ns, uint64_t *wait_ns,
                        unsigned long *acquisitions);

#endif

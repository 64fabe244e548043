/*
** gil_core.h — the GIL's record and the helpers its policies share
** (gil.c, gil_ticks.c, gil_priority.c). Not for use outside vm/gil*.c.
**
** Every field of GILCore is guarded by gil.mu except 'enabled', set once
** before any thread starts. GLThread's gil_* fields are guarded by gil.mu
** too (see gthread.h).
*/
#ifndef gil_core_h
#define gil_core_h

#include "clock.h"
#include "gil.h"

#define SPIN_NS 50000ull        /* a waiter that asked spins at most this long */
#ifndef MIN_TURN_NS
#define MIN_TURN_NS 500000ull   /* bytecodes policy: a turn lasts at least this */
#endif
#define LANDING_MAX 1000        /* bytecodes: the hand-over lands within this many */

typedef struct GILCore {
  pthread_mutex_t mu;
  int enabled;
  GILPolicy policy;
  uint64_t turn_ns;            /* bytecodes: a turn's length (gil_turn_ns) */
  GLThread *holder;            /* thread that may run Lua, or NULL */
  GLThread *last_holder;       /* for counting switches between threads */
  GLThread *head, *tail;       /* waiters: urgent ones first, then FIFO */
  unsigned long switch_number; /* changes whenever the holder changes */
  unsigned long slice_number;  /* changes when a new time slice starts */
  uint64_t turn_start;         /* when the holder got it */
  int dropped_at_hook;         /* ticks: the GIL was last let go at a hook point */
  int64_t prio_credit_ns;      /* priority: the urgency bucket (gil_priority.c) */
  uint64_t prio_refill_at;     /* priority: when the bucket was last filled */
  uint64_t displaced_at;       /* priority: when an urgent thread displaced a
                               ** CPU-bound holder that has not resumed (0: none) */
  GILStats stats;
} GILCore;

extern GILCore gil;

/* The queue. 'where' is one of: */
enum { Q_TAIL, Q_FRONT, Q_URGENT, Q_RESUME };
void gil_enqueue(GLThread *t, int where);
GLThread *gil_dequeue(void);
void gil_unqueue(GLThread *t);

void gil_make_holder(GLThread *t);
void gil_grant(GLThread *t);
void gil_begin_holding(GLThread *t, uint64_t now);
void gil_end_holding(GLThread *t, uint64_t now);
void gil_request_drop(GLThread *h, int count, int resend);
void gil_spin_for_grant(GLThread *t, uint64_t ns);
/* t is queued: waits as the policy says, then holds the GIL. */
void gil_wait_turn(GLThread *t);

/* ticks:N (gil_ticks.c) */
void ticks_wait(GLThread *t);
void ticks_release(GLThread *t);
void ticks_hook_point(GLThread *t);
void ticks_arm_if_contended(GLThread *t);

/* priority:MS (gil_priority.c) */
/* May a thread back from a blocking call be served first? */
int prio_admit(uint64_t now);
/* The CPU-bound threads lost lost_ns to urgent turns: pay for it. */
void prio_charge(uint64_t lost_ns);

#endif

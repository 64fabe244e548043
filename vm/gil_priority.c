/*
** gil_priority.c — priority:MS, a GIL without the convoy effect.
**
** The problem (CPython bpo-7946, open since 2010). Under a time-slice GIL
** (interval:MS, CPython 3.2+) a thread that does I/O gives the GIL up at
** every blocking call, and when its data arrives it must wait for the
** CPU-bound holder's slice to end: each round trip costs up to a whole
** slice. An I/O thread that needs a thousand round trips beside one
** CPU-bound thread takes a thousand slices: five seconds at 5 ms.
**
** The design.
** 1. CPU-bound threads share the GIL in slices of MS exactly as under
**    interval:MS (gil.c): a waiter asks the holder to drop once no new
**    slice began for MS.
** 2. A thread coming back from a blocking call (gil_reacquire: sleep,
**    lock, queue, join, pipe, io, wait) is *urgent*. It queues ahead of
**    every non-urgent waiter (behind earlier urgent ones), asks the
**    holder to drop at once (the arm signal with a count-1 hook: the
**    holder hands over at its next call, return or jump) and spins up to
**    SPIN_NS for the hand-over instead of sleeping. So it waits
**    microseconds, not a slice.
** 3. The displaced holder does not lose its slice: it queues right
**    behind the urgent waiters (Q_RESUME), and neither the urgent grant
**    nor its return starts a new slice (gil.slice_number), so the other
**    CPU-bound threads keep their place and their timing. An urgent
**    thread that keeps running after its I/O is a holder like any other:
**    the CPU-bound waiters take the GIL back when the slice ends.
** 4. Urgency is paid for, from a bucket of GIL time per thread. The
**    bucket fills at PRIO_SHARE of wall time up to a cap of PRIO_SHARE x
**    MS (and never below PRIO_MIN_CAP_NS); each urgent turn is charged its
**    holding time plus PRIO_SWITCH_NS, what the two switches cost the
**    displaced holder (signal, hook, wake-up, cache). A thread whose
**    bucket is empty queues at the tail like anybody else. So a thread
**    that blocks briefly in a loop (sleep(0), a lock taken and dropped at
**    once) cannot starve the CPU-bound threads: each thread's urgent
**    turns cost the others at most PRIO_SHARE of the GIL, and a real
**    I/O-bound thread, whose turns are short, never runs dry.
**
** Fields: prio_credit_ns and prio_refill_at of each GLThread are guarded
** by gil.mu (gthread.h), like every other GIL field.
*/
#include "block.h"
#include "gil_core.h"

#define PRIO_SHARE_PCT 10            /* urgent turns may cost the others this much */
#define PRIO_SWITCH_NS 8000ull       /* charge per urgent turn for the two switches */
#define PRIO_MIN_CAP_NS 200000ull    /* the bucket holds at least this much */

static uint64_t bucket_cap(void) {
  uint64_t cap = (uint64_t)gil.policy.n * 1000ull * PRIO_SHARE_PCT / 100;
  return cap > PRIO_MIN_CAP_NS ? cap : PRIO_MIN_CAP_NS;
}

/* Fills t's bucket for the time since its last refill. */
static void refill(GLThread *t, uint64_t now) {
  uint64_t cap = bucket_cap();
  if (t->prio_refill_at == 0) {         /* first time: a full bucket */
    t->prio_credit_ns = (int64_t)cap;
  } else if (now > t->prio_refill_at) {
    uint64_t add = (now - t->prio_refill_at) * PRIO_SHARE_PCT / 100;
    int64_t c = t->prio_credit_ns + (int64_t)(add < cap ? add : cap);
    t->prio_credit_ns = c > (int64_t)cap ? (int64_t)cap : c;
  }
  t->prio_refill_at = now;
}

/* May t, back from a blocking call, be served first? */
int prio_admit(GLThread *t, uint64_t now) {
  refill(t, now);
  if (t->prio_credit_ns <= 0) return 0;
  gil.stats.urgent_grants++;
  return 1;
}

/* t's urgent turn held the GIL for held_ns: pay for it. */
void prio_charge(GLThread *t, uint64_t held_ns) {
  refill(t, gl_now_ns());
  t->prio_credit_ns -= (int64_t)(held_ns + PRIO_SWITCH_NS);
}

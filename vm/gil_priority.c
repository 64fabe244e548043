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
** 4. Urgency is paid for, from one bucket of GIL time for the whole
**    process. The bucket fills at the share (priority:MS:PCT, default
**    GIL_PRIORITY_SHARE = 5 percent) of wall time, up to the share of a
**    slice (and never less than PRIO_MIN_CAP_NS). It
**    is charged what the CPU-bound threads really lost: from the moment an
**    urgent thread displaced a CPU-bound holder to the moment that holder
**    runs again (the urgent turns, both hand-overs, the wake-up; a
**    displacement still running counts against the bucket when the next
**    thread asks to go first, so urgent threads cannot pass the GIL among
**    themselves for ever while the displaced holder waits), or, when
**    nobody was displaced (the GIL came free and an urgent thread went
**    ahead of the CPU-bound waiters), the urgent turn's holding time. With
**    the bucket empty a thread back from a blocking call queues at the
**    tail like anybody else. So the CPU-bound threads keep at least
**    100 - PCT percent of the GIL whatever the other threads
**    do: a thread that blocks briefly in a loop (sleep(0), a lock taken
**    and dropped at once) empties the bucket and then waits its turn,
**    while a real I/O-bound thread, whose turns are short, seldom does.
**
** Fields: the bucket (gil.prio_credit_ns, gil.prio_refill_at,
** gil.displaced_at) is guarded by gil.mu, like the rest of GILCore.
*/
#include "block.h"
#include "gil_core.h"

/* The percent of GIL time urgent turns may cost the others. */
static uint64_t share_pct(void) {
  return (uint64_t)(gil.policy.share > 0 ? gil.policy.share : GIL_PRIORITY_SHARE);
}
#define PRIO_MIN_CAP_NS 200000ull    /* the bucket holds at least this much */

static uint64_t bucket_cap(void) {
  uint64_t cap = (uint64_t)gil.policy.n * 1000ull * share_pct() / 100;
  return cap > PRIO_MIN_CAP_NS ? cap : PRIO_MIN_CAP_NS;
}

/* Fills the bucket for the time since its last refill. */
static void refill(uint64_t now) {
  uint64_t cap = bucket_cap();
  if (gil.prio_refill_at == 0) {         /* first time: a full bucket */
    gil.prio_credit_ns = (int64_t)cap;
  } else if (now > gil.prio_refill_at) {
    uint64_t add = (now - gil.prio_refill_at) * share_pct() / 100;
    int64_t c = gil.prio_credit_ns + (int64_t)(add < cap ? add : cap);
    gil.prio_credit_ns = c > (int64_t)cap ? (int64_t)cap : c;
  }
  gil.prio_refill_at = now;
}

int prio_admit(uint64_t now) {
  refill(now);
  int64_t credit = gil.prio_credit_ns;
  if (gil.displaced_at && now > gil.displaced_at)   /* a displacement still running */
    credit -= (int64_t)(now - gil.displaced_at);
  if (credit <= 0) return 0;
  gil.stats.urgent_grants++;
  return 1;
}

void prio_charge(uint64_t lost_ns) {
  gil.stats.urgent_cost_ns += lost_ns;
  refill(gl_now_ns());
  gil.prio_credit_ns -= (int64_t)lost_ns;
}

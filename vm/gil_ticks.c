/*
** gil_ticks.c — ticks:N, CPython 2's GIL (the "check interval").
**
** Python 2 kept its GIL as a plain lock (a semaphore on Linux). Every
** sys.getcheckinterval() ticks (100 bytecodes by default) the running
** thread did PyThread_release_lock then PyThread_acquire_lock at once:
** no hand-over, whoever takes the lock first wins. On one core the OS
** rarely runs the woken waiter before the releaser retakes the lock, and
** on several cores the waiter wakes on the other core only to find the
** lock taken again: "the GIL battle" (David Beazley, 2009). This file
** does the same on gillua's GIL record, on purpose:
**
** - The count is real: while anybody waits, the holder carries a count
**   hook with count N (it traps every instruction, the cost Python 2's
**   ticks counter paid in its own way). The first waiter arms it through
**   the arm signal; a thread that takes the GIL while others wait arms it
**   on itself; the hook clears itself once nobody waits.
** - At each hook point the holder releases (holder = NULL, the head of
**   the waiters is woken through its semaphore, not granted), leaves
**   gil.mu, and asks for it again. If a woken waiter got gil.mu in between, it took the GIL
**   and the holder queues up; otherwise the holder simply goes on.
** - A waiter that wakes and finds the GIL taken goes back to sleep:
**   gil.stats.wasted_wakeups counts those, releases counts every drop,
**   switches only the drops that changed the holder, and forced_switches
**   the switches that followed a drop at a hook point (gil.dropped_at_hook:
**   in the window between release and retake other threads may take and
**   let go of the GIL, so the loser cannot count it itself).
** - The one exception to "first wins": an interrupted main thread (Ctrl-C)
**   at the head of the queue is handed the GIL, so ^C works as elsewhere.
**
** The waiting set is the same queue as the other policies', in arrival
** order; it only says whom a release wakes. Fields: gil.mu as in gil.c.
*/
#include <errno.h>
#include <time.h>

#include "block.h"
#include "gil_core.h"
#include "hook.h"
#include "trace.h"

/* The new holder t: when others wait, the count hook runs on t. */
void ticks_arm_if_contended(GLThread *t) {
  if (gil.head == NULL) return;
  atomic_store(&t->hook_count, (int)gil.policy.n);
  atomic_store(&t->drop_request, 1);
  lua_State *L = atomic_load_explicit(&t->running, memory_order_relaxed);
  if (L) gl_hook_arm(L, (int)gil.policy.n);
}

/* t (queued) takes the GIL when it finds it free; gil.mu held. It sleeps
** on its own semaphore, not on gil.mu's condition: a woken waiter then
** takes gil.mu only for a moment to look, as Python 2's woken waiter
** looked at its lock, and a look that finds the GIL taken is a wasted
** wake-up. */
void ticks_wait(GLThread *t) {
  while (!atomic_load(&t->gil_granted)) {
    if (gil.holder == NULL) {
      gil_unqueue(t);
      gil_make_holder(t);
      ticks_arm_if_contended(t);
      if (gil.head == NULL) atomic_store(&t->drop_request, 0);
      return;
    }
    pthread_mutex_unlock(&gil.mu);
    struct timespec ts = gl_ns_ts(gl_now_ns() + GL_SLICE_NS);   /* waiters re-check this often */
    int rc;
    while ((rc = sem_clockwait(&t->gil_sem, CLOCK_MONOTONIC, &ts)) != 0 && errno == EINTR) {}
    pthread_mutex_lock(&gil.mu);
    t->ticks_signalled = 0;
    if (atomic_load(&t->gil_granted)) return;           /* handed over (Ctrl-C) */
    if (gil.holder != NULL) {
      if (rc == 0) {
        gil.stats.wasted_wakeups++;
        GL_TRACE(t, TR_WASTED_WAKEUP, gl_now_ns());
      } else gil_request_drop(gil.holder, (int)gil.policy.n, 1);   /* lost-signal cover */
    }
    if (t->is_main && gl_interrupt_pending() && gil.head != t) {
      gil_unqueue(t);
      gil_enqueue(t, Q_FRONT);
    }
  }
}

/* Wakes waiter w (at most one pending post, as a lock's release would). */
static void wake(GLThread *w) {
  if (w->ticks_signalled) return;
  w->ticks_signalled = 1;
  sem_post(&w->gil_sem);
}

/* The holder t lets go: the GIL is free, the first waiter is woken. */
void ticks_release(GLThread *t) {
  (void)t;
  gil.holder = NULL;
  if (gil.head) wake(gil.head);
}

/* The holder's hook fired with waiters queued: release and take again. */
void ticks_hook_point(GLThread *t) {
  uint64_t now = gl_now_ns();
  gil_end_holding(t, now);
  GLThread *h = gil.head;
  if (h->is_main && gl_interrupt_pending()) {   /* ^C: hand over */
    atomic_store(&t->drop_request, 0);
    gil.stats.forced_switches++;
    gil_dequeue();
    gil_enqueue(t, Q_TAIL);
    gil_grant(h);
    wake(h);                    /* it sleeps on its semaphore */
  } else {
    atomic_store(&t->gil_granted, 0);
    ticks_release(t);
    gil.dropped_at_hook = 1;         /* whoever takes it next: a forced switch */
    pthread_mutex_unlock(&gil.mu);   /* the window a woken waiter may win */
    pthread_mutex_lock(&gil.mu);
    if (gil.holder == NULL) {          /* nobody came: carry on */
      gil_make_holder(t);
      gil_begin_holding(t, gl_now_ns());
      ticks_arm_if_contended(t);
      if (gil.head == NULL) atomic_store(&t->drop_request, 0);
      return;
    }
    gil_enqueue(t, Q_TAIL);   /* the winner may not know anybody waits */
    gil_request_drop(gil.holder, (int)gil.policy.n, 1);
  }
  gil_wait_turn(t);
}

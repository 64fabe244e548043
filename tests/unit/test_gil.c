/*
** test_gil.c — the GIL as a lock: policy parsing, mutual exclusion under
** contention, FIFO hand-over, figures, and the GIL-off no-op mode.
** Real pthreads; no Lua code runs here (running == NULL, so the arm signal
** finds nothing to hook), which isolates the lock from the hook.
*/
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "block.h"
#include "gil.h"
#include "gthread.h"
#include "hook.h"

static void test_parse_policy(void **state) {
  (void)state;
  GILPolicy p;
  char err[128];
  assert_int_equal(gil_parse_policy("bytecodes:100", &p, err, sizeof err), 0);
  assert_int_equal(p.kind, GIL_BYTECODES);
  assert_int_equal(p.n, 100);
  assert_int_equal(gil_parse_policy("interval:5", &p, err, sizeof err), 0);
  assert_int_equal(p.kind, GIL_INTERVAL);
  assert_int_equal(p.n, 5000);              /* microseconds */
  assert_int_equal(gil_parse_policy("interval:0.5", &p, err, sizeof err), 0);
  assert_int_equal(p.n, 500);
  assert_int_equal(gil_parse_policy("ticks:100", &p, err, sizeof err), 0);
  assert_int_equal(p.kind, GIL_TICKS);
  assert_int_equal(p.n, 100);
  assert_int_equal(gil_parse_policy("priority:2.5", &p, err, sizeof err), 0);
  assert_int_equal(p.kind, GIL_PRIORITY);
  assert_int_equal(p.n, 2500);
  char name[64];
  gil_format_policy(p, name, sizeof name);
  assert_string_equal(name, "priority:2.5");
  assert_int_equal(p.share, 0);             /* the default share */
  assert_int_equal(gil_parse_policy("priority:5:25", &p, err, sizeof err), 0);
  assert_int_equal(p.kind, GIL_PRIORITY);
  assert_int_equal(p.n, 5000);
  assert_int_equal(p.share, 25);
  gil_format_policy(p, name, sizeof name);
  assert_string_equal(name, "priority:5:25");
  gil_format_policy((GILPolicy){ GIL_TICKS, 7, 0 }, name, sizeof name);
  assert_string_equal(name, "ticks:7");
  const char *bad[] = { "bytecodes:0", "bytecodes:-3", "bytecodes:x", "bytecodes:",
                        "interval:-1", "interval:abc", "interval:", "foo:3", "100",
                        "bytecodes:10x", "", "ticks:0", "ticks:1.5", "ticks:",
                        "priority:0", "priority:x", "priority", "Ticks:3",
                        "priority:5:0", "priority:5:91", "priority:5:", "priority:5:x",
                        "priority:5:10:1", "priority::10", "interval:5:10", "bytecodes:100:10" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    assert_int_equal(gil_parse_policy(bad[i], &p, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
  }
}

/* ---- contention ---- */

#define NTHREADS 4
#define ROUNDS 3000

static atomic_int inside;     /* threads between acquire and release: must stay <= 1 */
static atomic_int violations;
static long counter;          /* protected by the GIL alone */

static void *contender(void *arg) {
  GLThread *t = (GLThread *)arg;
  gt_bind_self(t, NULL, NULL);
  for (int i = 0; i < ROUNDS; i++) {
    if (i & 1) gil_reacquire(t);   /* as after a blocking call (priority: urgent) */
    else gil_acquire(t);
    if (atomic_fetch_add(&inside, 1) != 0) atomic_fetch_add(&violations, 1);
    long c = counter;          /* a racy read-modify-write, safe only under the GIL */
    for (volatile int k = 0; k < 50; k++) {}
    counter = c + 1;
    atomic_fetch_sub(&inside, 1);
    gil_release(t);
  }
  return NULL;
}

static void run_contention(GILPolicy policy) {
  gil_setup(1, policy);
  pthread_t tids[NTHREADS];
  GLThread *ts[NTHREADS];
  counter = 0;
  atomic_store(&violations, 0);
  for (int i = 0; i < NTHREADS; i++) {
    ts[i] = gt_new();
    assert_non_null(ts[i]);
    assert_int_equal(pthread_create(&tids[i], NULL, contender, ts[i]), 0);
  }
  for (int i = 0; i < NTHREADS; i++) pthread_join(tids[i], NULL);
  assert_int_equal(atomic_load(&violations), 0);
  assert_int_equal(counter, (long)NTHREADS * ROUNDS);
  for (int i = 0; i < NTHREADS; i++) {
    uint64_t held, wait;
    unsigned long acq;
    gil_thread_figures(ts[i], &held, &wait, &acq);
    assert_int_equal(acq, ROUNDS);
    gt_decref(ts[i]);
  }
  assert_null(gil_holder());
  assert_int_equal(gil_waiting(), 0);
}

static void test_mutual_exclusion_bytecodes(void **state) {
  (void)state;
  run_contention((GILPolicy){ .kind = GIL_BYTECODES, .n = 100 });
}

static void test_mutual_exclusion_interval(void **state) {
  (void)state;
  run_contention((GILPolicy){ .kind = GIL_INTERVAL, .n = 1000 });
}

static void test_mutual_exclusion_ticks(void **state) {
  (void)state;
  GILStats before = gil_stats();
  run_contention((GILPolicy){ .kind = GIL_TICKS, .n = 100 });
  GILStats after = gil_stats();
  /* every acquisition ends in a release; no hand-over, so none forced */
  assert_int_equal(after.releases - before.releases, (unsigned long)NTHREADS * ROUNDS);
  assert_int_equal(after.forced_switches, before.forced_switches);
}

static void test_mutual_exclusion_priority(void **state) {
  (void)state;
  run_contention((GILPolicy){ .kind = GIL_PRIORITY, .n = 1000 });
}

/* ---- FIFO hand-over: a releaser cannot re-grab while others wait ---- */

static GLThread *order[8];
static atomic_int norder;

static void *queued_waiter(void *arg) {
  GLThread *t = (GLThread *)arg;
  gt_bind_self(t, NULL, NULL);
  gil_acquire(t);
  order[atomic_fetch_add(&norder, 1)] = t;
  gil_release(t);
  return NULL;
}

static void wait_for_waiters(int n) {
  uint64_t until = gl_now_ns() + 5000000000ull;
  while (gil_waiting() < n) {
    assert_true(gl_now_ns() < until);
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
  }
}

static void test_fifo_hand_over(void **state) {
  (void)state;
  gil_setup(1, (GILPolicy){ .kind = GIL_INTERVAL, .n = 1000000 });   /* 1 s: no forced drops */
  GLThread *me = gt_new();
  gt_bind_self(me, NULL, NULL);
  gil_acquire(me);
  GLThread *w[3];
  pthread_t tid[3];
  atomic_store(&norder, 0);
  for (int i = 0; i < 3; i++) {   /* queue them one by one: known order */
    w[i] = gt_new();
    assert_int_equal(pthread_create(&tid[i], NULL, queued_waiter, w[i]), 0);
    wait_for_waiters(i + 1);
  }
  gil_release(me);
  gil_acquire(me);                /* must come after all three */
  assert_int_equal(atomic_load(&norder), 3);
  for (int i = 0; i < 3; i++) assert_ptr_equal(order[i], w[i]);
  gil_release(me);
  for (int i = 0; i < 3; i++) { pthread_join(tid[i], NULL); gt_decref(w[i]); }
  gt_decref(me);
}

/* ---- priority: back from a blocking call goes first, within a budget ---- */

static int hold_ms;   /* how long an urgent waiter holds the GIL (set before it starts) */

static void *urgent_waiter(void *arg) {
  GLThread *t = (GLThread *)arg;
  gt_bind_self(t, NULL, NULL);
  gil_reacquire(t);
  order[atomic_fetch_add(&norder, 1)] = t;
  /* The whole hold_ms: the waiter's arm signal (its drop request) cuts a
  ** nanosleep short, and a shorter hold would be charged less. */
  struct timespec ts = { 0, hold_ms * 1000000L };
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
  gil_release(t);
  return NULL;
}

/* me holds; a plain waiter queues, then one back from a block: returns
** the order in which the two got the GIL once me let go. */
static void race_plain_and_urgent(GLThread *me, GLThread *w[2]) {
  pthread_t tid[2];
  atomic_store(&norder, 0);
  gil_acquire(me);
  w[0] = gt_new();
  w[1] = gt_new();
  assert_int_equal(pthread_create(&tid[0], NULL, queued_waiter, w[0]), 0);
  wait_for_waiters(1);
  assert_int_equal(pthread_create(&tid[1], NULL, urgent_waiter, w[1]), 0);
  wait_for_waiters(2);
  gil_release(me);
  for (int i = 0; i < 2; i++) pthread_join(tid[i], NULL);
  assert_int_equal(atomic_load(&norder), 2);
}

static void test_priority_serves_urgent_first(void **state) {
  (void)state;
  /* 1 ms slices: the bucket holds 0.2 ms (PRIO_MIN_CAP_NS), refilled at
  ** 10% of wall time. No Lua runs, so drop requests change nothing. */
  gil_setup(1, (GILPolicy){ .kind = GIL_PRIORITY, .n = 1000 });
  GLThread *me = gt_new(), *w[2];
  gt_bind_self(me, NULL, NULL);
  unsigned long urgent0 = gil_stats().urgent_grants;
  hold_ms = 40;                 /* charged 40 ms: the bucket is empty for ~400 ms */
  race_plain_and_urgent(me, w);
  assert_ptr_equal(order[0], w[1]);   /* urgent first */
  assert_ptr_equal(order[1], w[0]);
  assert_int_equal(gil_stats().urgent_grants, urgent0 + 1);
  gt_decref(w[0]); gt_decref(w[1]);
  hold_ms = 0;
  race_plain_and_urgent(me, w);       /* bucket empty: queued like anybody */
  assert_ptr_equal(order[0], w[0]);
  assert_ptr_equal(order[1], w[1]);
  assert_int_equal(gil_stats().urgent_grants, urgent0 + 1);
  gt_decref(w[0]); gt_decref(w[1]);
  gt_decref(me);
  gil_setup(1, (GILPolicy){ .kind = GIL_BYTECODES, .n = 100 });
}

static void test_gil_off_is_free(void **state) {
  (void)state;
  gil_setup(0, (GILPolicy){ .kind = GIL_BYTECODES, .n = 100 });
  GLThread *a = gt_new(), *b = gt_new();
  gil_acquire(a);
  gil_acquire(b);                 /* would block forever with the GIL on */
  assert_null(gil_holder());
  gil_release(b);
  gil_release(a);
  assert_int_equal(gil_enabled(), 0);
  gt_decref(a);
  gt_decref(b);
  gil_setup(1, (GILPolicy){ .kind = GIL_BYTECODES, .n = 100 });
}

int main(void) {
  gl_hooks_install();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_policy),
    cmocka_unit_test(test_mutual_exclusion_bytecodes),
    cmocka_unit_test(test_mutual_exclusion_interval),
    cmocka_unit_test(test_mutual_exclusion_ticks),
    cmocka_unit_test(test_mutual_exclusion_priority),
    cmocka_unit_test(test_fifo_hand_over),
    cmocka_unit_test(test_priority_serves_urgent_first),
    cmocka_unit_test(test_gil_off_is_free),
  };
  return cmocka_run_group_tests_name("gil", tests, NULL, NULL);
}

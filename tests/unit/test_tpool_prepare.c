/*
** test_tpool_prepare.c — work prepared ahead by a parked OS thread
** (vm/tpool.c, gl_tpool_set_prepare; GIL off prepares the next thread's
** interpreter so): the next work on that thread takes it, one never taken
** is discarded on the thread that made it when the idle time ends and at
** exit, and nothing is prepared after the exit path began. A binary of its
** own: the prepare hook is process-wide.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "block.h"
#include "tpool.h"

typedef struct Made { pthread_t by; } Made;

static atomic_int made, discarded, wrong_thread;

static void *prepare(void) {
  Made *m = malloc(sizeof *m);
  m->by = pthread_self();
  atomic_fetch_add(&made, 1);
  return m;
}

static void discard(void *p) {
  Made *m = (Made *)p;
  if (!pthread_equal(m->by, pthread_self())) atomic_fetch_add(&wrong_thread, 1);
  atomic_fetch_add(&discarded, 1);
  free(m);
}

typedef struct Run {
  atomic_int done;
  int took;                    /* gl_tpool_take_prepared gave something */
  int same_thread;             /* ... made by the thread that runs this */
} Run;

static void *work(void *arg) {
  Run *r = (Run *)arg;
  Made *m = (Made *)gl_tpool_take_prepared();
  r->took = m != NULL;
  r->same_thread = m && pthread_equal(m->by, pthread_self());
  free(m);
  atomic_store(&r->done, 1);
  return NULL;
}

static void run(Run *r) {
  atomic_store(&r->done, 0);
  assert_int_equal(gl_spawn(work, r), 0);
  uint64_t until = gl_now_ns() + 5000000000ull;
  while (!atomic_load(&r->done)) assert_true(gl_now_ns() < until);
}

static void wait_for(atomic_int *v, int want) {   /* 5 s at most */
  uint64_t until = gl_now_ns() + 5000000000ull;
  while (atomic_load(v) != want) {
    assert_true(gl_now_ns() < until);
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
  }
}

static void test_next_work_takes_it(void **state) {
  (void)state;
  gl_tpool_set_prepare(prepare, discard);
  Run a, b;
  run(&a);
  assert_false(a.took);               /* a new OS thread has nothing yet */
  wait_for(&made, 1);                 /* parked: it prepares */
  run(&b);
  assert_true(b.took && b.same_thread);
}

static void test_idle_end_discards(void **state) {
  (void)state;
  wait_for(&made, 2);                 /* b's thread parked and prepared again */
  wait_for(&discarded, 1);            /* its idle time (1 s) ended */
  assert_int_equal(atomic_load(&wrong_thread), 0);
}

static void test_exit_discards(void **state) {
  (void)state;
  Run c;
  run(&c);                            /* a new thread again */
  wait_for(&made, 3);
  gl_tpool_discard_prepared();        /* returns once it is discarded */
  assert_int_equal(atomic_load(&discarded), 2);
  Run d;
  run(&d);                            /* after the exit path began: */
  wait_for(&d.done, 1);
  gl_tpool_discard_prepared();        /* ... nothing is prepared any more */
  assert_int_equal(atomic_load(&made), 3);
  assert_false(d.took);
  assert_int_equal(atomic_load(&wrong_thread), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_next_work_takes_it),
    cmocka_unit_test(test_idle_end_discards),
    cmocka_unit_test(test_exit_discards),
  };
  return cmocka_run_group_tests_name("tpool_prepare", tests, NULL, NULL);
}

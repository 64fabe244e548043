/*
** test_sync.c — threading.Lock / RLock at the C level on real pthreads:
** mutual exclusion, non-blocking and timed acquire, RLock recursion and
** ownership, Condition's release_save/acquire_restore, and the
** after-fork reset of a lock held by a thread that does not survive.
*/
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "block.h"
#include "locks.h"

#define NTHR 4
#define ITER 20000

typedef struct Counter { GLLock *lock; long value; } Counter;

static void *bump(void *ud) {
  Counter *c = (Counter *)ud;
  for (int i = 0; i < ITER; i++) {
    if (gl_lock_acquire(c->lock, 1, NULL) != 0) return (void *)1;
    long v = c->value;        /* a read-modify-write the lock must protect */
    c->value = v + 1;
    if (gl_lock_release(c->lock) != 0) return (void *)1;
  }
  return NULL;
}

static void exclusion(int recursive) {
  Counter c = {gl_lock_new(recursive), 0};
  assert_non_null(c.lock);
  pthread_t t[NTHR];
  for (int i = 0; i < NTHR; i++) assert_int_equal(pthread_create(&t[i], NULL, bump, &c), 0);
  for (int i = 0; i < NTHR; i++) {
    void *r;
    pthread_join(t[i], &r);
    assert_null(r);
  }
  assert_int_equal(c.value, (long)NTHR * ITER);
  rt_decref(&c.lock->base, NULL);
}

static void test_lock_exclusion(void **state) { (void)state; exclusion(0); }
static void test_rlock_exclusion(void **state) { (void)state; exclusion(1); }

typedef struct TryArg { GLLock *lock; int rc_try, rc_timed, rc_release; } TryArg;

static void *other_thread(void *ud) {
  TryArg *a = (TryArg *)ud;
  struct timespec ts;
  a->rc_try = gl_lock_acquire(a->lock, 0, NULL);
  a->rc_timed = gl_lock_acquire(a->lock, 1, gl_deadline(&ts, 0.03));
  a->rc_release = gl_lock_release(a->lock);
  return NULL;
}

static void test_lock_nonblocking_and_timeout(void **state) {
  (void)state;
  GLLock *l = gl_lock_new(0);
  assert_int_equal(gl_lock_acquire(l, 0, NULL), 0);
  assert_int_equal(gl_lock_acquire(l, 0, NULL), EBUSY);    /* not recursive */
  TryArg a = {l, -1, -1, -1};
  pthread_t t;
  uint64_t t0 = gl_now_ns();
  pthread_create(&t, NULL, other_thread, &a);
  pthread_join(t, NULL);
  assert_int_equal(a.rc_try, EBUSY);
  assert_int_equal(a.rc_timed, ETIMEDOUT);
  assert_true(gl_now_ns() - t0 >= 25000000u);
  assert_int_equal(a.rc_release, 0);       /* a Lock may be released by any thread */
  assert_int_equal(gl_lock_release(l), EPERM);   /* already unlocked */
  rt_decref(&l->base, NULL);
}

static void test_rlock_recursion_and_owner(void **state) {
  (void)state;
  GLLock *l = gl_lock_new(1);
  for (int i = 0; i < 3; i++) assert_int_equal(gl_lock_acquire(l, 0, NULL), 0);
  assert_true(gl_lock_is_owned(l));
  TryArg a = {l, -1, -1, -1};
  pthread_t t;
  pthread_create(&t, NULL, other_thread, &a);
  pthread_join(t, NULL);
  assert_int_equal(a.rc_try, EBUSY);
  assert_int_equal(a.rc_timed, ETIMEDOUT);
  assert_int_equal(a.rc_release, EPERM);   /* not the owner */
  for (int i = 0; i < 3; i++) assert_int_equal(gl_lock_release(l), 0);
  assert_int_equal(gl_lock_release(l), EPERM);
  assert_false(gl_lock_is_owned(l));
  rt_decref(&l->base, NULL);
}

static void *grab_and_release(void *ud) {
  GLLock *l = (GLLock *)ud;
  if (gl_lock_acquire(l, 1, NULL) != 0) return (void *)1;
  gl_lock_release(l);
  return NULL;
}

static void test_release_save_restore(void **state) {
  (void)state;
  GLLock *l = gl_lock_new(1);
  for (int i = 0; i < 4; i++) gl_lock_acquire(l, 1, NULL);
  long saved = gl_lock_release_save(l);
  assert_int_equal(saved, 4);
  assert_false(gl_lock_is_owned(l));
  pthread_t t;                       /* another thread can take it meanwhile */
  pthread_create(&t, NULL, grab_and_release, l);
  void *r;
  pthread_join(t, &r);
  assert_null(r);
  assert_int_equal(gl_lock_acquire_restore(l, saved), 0);
  for (int i = 0; i < 4; i++) assert_int_equal(gl_lock_release(l), 0);
  assert_int_equal(gl_lock_release(l), EPERM);
  rt_decref(&l->base, NULL);
}

static void *hold(void *ud) {
  gl_lock_acquire((GLLock *)ud, 1, NULL);
  return NULL;
}

static void test_after_fork_frees_dead_holder(void **state) {
  (void)state;
  GLLock *mine = gl_lock_new(0), *theirs = gl_lock_new(1);
  gl_lock_acquire(mine, 1, NULL);
  pthread_t t;
  pthread_create(&t, NULL, hold, theirs);
  pthread_join(t, NULL);             /* that thread "does not survive" */
  mine->base.type->after_fork(&mine->base);
  theirs->base.type->after_fork(&theirs->base);
  assert_int_equal(gl_lock_acquire(mine, 0, NULL), EBUSY);   /* still mine */
  assert_int_equal(gl_lock_acquire(theirs, 0, NULL), 0);     /* freed */
  gl_lock_release(mine);
  gl_lock_release(theirs);
  rt_decref(&mine->base, NULL);
  rt_decref(&theirs->base, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_lock_exclusion),
    cmocka_unit_test(test_rlock_exclusion),
    cmocka_unit_test(test_lock_nonblocking_and_timeout),
    cmocka_unit_test(test_rlock_recursion_and_owner),
    cmocka_unit_test(test_release_save_restore),
    cmocka_unit_test(test_after_fork_frees_dead_holder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

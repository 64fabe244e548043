/*
** test_mp_shm.c — the shared-memory arena (runtime/mp_shm.c): blocks are
** zeroed and aligned, reused by size class after the last reference is
** dropped, visible to a forked child at the same address, offsets map
** back to pointers and bad offsets are refused; robust mutexes recover
** from a holder that died; futex waits time out.
*/
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "block.h"
#include "mp.h"

static void test_alloc_zero_aligned(void **state) {
  (void)state;
  assert_int_equal(mp_shm_init(NULL, 0), 0);
  unsigned char *p = mp_shm_alloc(100);
  assert_non_null(p);
  assert_int_equal((uintptr_t)p % 16, 0);
  for (int i = 0; i < 100; i++) assert_int_equal(p[i], 0);
  memset(p, 0xab, 100);
  mp_shm_decref(p);
  unsigned char *q = mp_shm_alloc(100);        /* same class: the freed block, zeroed again */
  assert_ptr_equal(p, q);
  assert_int_equal(q[50], 0);
  mp_shm_decref(q);
}

static void test_refcount_and_used(void **state) {
  (void)state;
  size_t before = mp_shm_used();
  void *p = mp_shm_alloc(5000);
  assert_true(mp_shm_used() > before);
  mp_shm_incref(p);
  assert_int_equal(mp_shm_unref(p), 0);         /* one left */
  assert_int_equal(mp_shm_unref(p), 1);         /* last: caller frees */
  mp_shm_free(p);
  assert_int_equal(mp_shm_used(), before);
}

static void test_large_blocks(void **state) {
  (void)state;
  void *big = mp_shm_alloc((size_t)3 << 20);
  assert_non_null(big);
  memset(big, 1, (size_t)3 << 20);
  mp_shm_decref(big);
  void *again = mp_shm_alloc((size_t)2 << 20);   /* first fit reuses it */
  assert_ptr_equal(big, again);
  mp_shm_decref(again);
  assert_null(mp_shm_alloc((size_t)1 << 40));    /* far too large: NULL, no crash */
}

static void test_offsets(void **state) {
  (void)state;
  void *p = mp_shm_alloc(64);
  uint64_t off = mp_shm_off(p);
  assert_true(off > 0);
  assert_ptr_equal(mp_shm_ptr(off), p);
  assert_null(mp_shm_ptr(0));
  assert_null(mp_shm_ptr((uint64_t)1 << 50));
  mp_shm_decref(p);
}

static void test_shared_with_child(void **state) {
  (void)state;
  int *p = mp_shm_alloc(sizeof(int) * 4);
  pid_t pid = fork();
  if (pid == 0) {
    int *q = mp_shm_alloc(sizeof(int));       /* allocated in the child after the fork */
    *q = 77;
    p[0] = 42;
    p[1] = (int)mp_shm_off(q);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  assert_int_equal(p[0], 42);
  int *q = mp_shm_ptr((uint64_t)p[1]);
  assert_non_null(q);
  assert_int_equal(*q, 77);
  mp_shm_decref(q);
  mp_shm_decref(p);
}

static void test_robust_mutex(void **state) {
  (void)state;
  pthread_mutex_t *mu = mp_shm_alloc(sizeof(pthread_mutex_t));
  mp_mutex_init(mu, PTHREAD_MUTEX_NORMAL);
  pid_t pid = fork();
  if (pid == 0) {
    mp_lock(mu);
    _exit(0);                                  /* dies holding it */
  }
  int st;
  waitpid(pid, &st, 0);
  assert_int_equal(mp_lock(mu), 1);            /* recovered, and told */
  mp_unlock(mu);
  assert_int_equal(mp_lock(mu), 0);
  mp_unlock(mu);
  mp_shm_decref(mu);
}

static void test_futex_timeout(void **state) {
  (void)state;
  uint32_t *w = mp_shm_alloc(sizeof(uint32_t));
  struct timespec ts;
  uint64_t t0 = gl_now_ns();
  const struct timespec *dl = gl_deadline(&ts, 0.02);
  int rc = 0;
  while (rc == 0) rc = mp_futex_wait(w, 0, dl);
  assert_int_equal(rc, ETIMEDOUT);
  assert_true(gl_now_ns() - t0 >= 15000000ull);
  assert_int_equal(mp_futex_wait(w, 1, NULL), 0);   /* value differs: returns at once */
  mp_futex_wake(w, 1);
  assert_int_equal(*w, 1);
  mp_shm_decref(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_alloc_zero_aligned),
    cmocka_unit_test(test_refcount_and_used),
    cmocka_unit_test(test_large_blocks),
    cmocka_unit_test(test_offsets),
    cmocka_unit_test(test_shared_with_child),
    cmocka_unit_test(test_robust_mutex),
    cmocka_unit_test(test_futex_timeout),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

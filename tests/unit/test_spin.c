/*
** test_spin.c — the bounded spins of vm/spin.c: a flag already set or set
** while spinning is seen, a flag never set gives up, and a place whose
** spins keep running out of time stops spinning (probing again now and
** then) until one succeeds; one miss after that stops it again.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <time.h>

#include "block.h"
#include "spin.h"

static atomic_int flag;

static void *set_flag(void *arg) {
  (void)arg;
  atomic_store(&flag, 1);
  return NULL;
}

static void test_sees_the_flag(void **state) {
  (void)state;
  GLSpin site = GL_SPIN_INIT;
  atomic_store(&flag, 7);
  assert_int_equal(gl_spin_for_flag(&site, &flag, 1000), 7);   /* set already */
  atomic_store(&flag, 0);
  pthread_t tid;
  pthread_create(&tid, NULL, set_flag, NULL);
  int v = gl_spin_for_flag(&site, &flag, 5000000000ull);       /* until the thread sets it */
  pthread_join(tid, NULL);
  assert_int_equal(v, 1);
  assert_int_equal(atomic_load(&site.misses), 0);
}

static void *set_late(void *arg) {   /* sets the flag 1 ms from now */
  struct timespec ts = { 0, 1000000 };
  nanosleep(&ts, NULL);
  atomic_store((atomic_int *)arg, 1);
  return NULL;
}

static void test_gives_up_then_stops_spinning(void **state) {
  (void)state;
  GLSpin site = GL_SPIN_INIT;
  atomic_int never = 0;
  for (int i = 0; i < 3; i++) {                    /* three misses in a row */
    uint64_t t0 = gl_now_ns();
    assert_int_equal(gl_spin_for_flag(&site, &never, 200000), 0);
    assert_true(gl_now_ns() - t0 >= 200000);       /* it did spin its time */
  }
  assert_int_equal(atomic_load(&site.misses), 3);
  for (int i = 0; i < 300; i++) assert_int_equal(gl_spin_for_flag(&site, &never, 200000), 0);
  assert_int_equal(atomic_load(&site.skipped), 300);   /* all counted; 3 of them probed */
  for (int i = 300; i < 384; i++) gl_spin_for_flag(&site, &never, 200000);   /* no probe */
  assert_int_equal(atomic_load(&site.misses), 3);
  pthread_t tid;                                   /* the probe at 384 sees a late flag */
  pthread_create(&tid, NULL, set_late, &never);
  assert_int_equal(gl_spin_for_flag(&site, &never, 5000000000ull), 1);
  pthread_join(tid, NULL);
  assert_int_equal(atomic_load(&site.misses), 2);   /* below 3: spins every time again */
  atomic_store(&never, 0);
  assert_int_equal(gl_spin_for_flag(&site, &never, 1000), 0);   /* one miss stops it again */
  assert_int_equal(atomic_load(&site.misses), 3);
}

static void test_block_epoch(void **state) {
  (void)state;
  GLSpin site = GL_SPIN_INIT;
  unsigned long seen = gl_block_epoch();
  assert_int_equal(gl_spin_for_block(&site, seen + 1, 1000), 1);   /* moved already */
  assert_int_equal(gl_spin_for_block(&site, seen, 100000), 0);     /* no GIL holder blocks here */
  assert_int_equal(atomic_load(&site.misses), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sees_the_flag),
    cmocka_unit_test(test_gives_up_then_stops_spinning),
    cmocka_unit_test(test_block_epoch),
  };
  return cmocka_run_group_tests_name("spin", tests, NULL, NULL);
}

/*
** test_mp_chan.c — byte channels in shared memory (runtime/mp_chan.c):
** FIFO order, empty/full/timeout results, tags taken with the message,
** JoinableQueue counting, and messages from a child that exits right
** after putting them (nothing lost or duplicated).
*/
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>

#include "block.h"
#include "mp.h"

static lua_State *L;

static int setup(void **state) {
  (void)state;
  L = luaL_newstate();
  return L == NULL;
}

static int teardown(void **state) {
  (void)state;
  lua_close(L);
  return 0;
}

static int get_str(MpChan *c, char *out, size_t n, int block, const struct timespec *dl) {
  void *d;
  size_t len;
  int rc = mp_chan_get(c, &d, &len, block, dl, NULL, NULL, NULL);
  if (rc == 0) {
    size_t k = len < n - 1 ? len : n - 1;
    memcpy(out, d, k);
    out[k] = '\0';
    free(d);
  }
  return rc;
}

static void test_fifo(void **state) {
  (void)state;
  MpChan *c = mp_chan_new(L, 0);
  assert_int_equal(mp_chan_put(c, "one", 3, 1, NULL), 0);
  assert_int_equal(mp_chan_put2(c, "tw", 2, "o", 1, 1, NULL), 0);
  assert_int_equal(mp_chan_put(c, "", 0, 1, NULL), 0);
  assert_int_equal(mp_chan_size(c), 3);
  char buf[16];
  assert_int_equal(get_str(c, buf, sizeof buf, 1, NULL), 0);
  assert_string_equal(buf, "one");
  assert_int_equal(get_str(c, buf, sizeof buf, 1, NULL), 0);
  assert_string_equal(buf, "two");
  assert_int_equal(get_str(c, buf, sizeof buf, 1, NULL), 0);
  assert_string_equal(buf, "");
  assert_int_equal(get_str(c, buf, sizeof buf, 0, NULL), EAGAIN);
  struct timespec ts;
  assert_int_equal(get_str(c, buf, sizeof buf, 1, gl_deadline(&ts, 0.02)), ETIMEDOUT);
  mp_chan_decref(c);
}

static void test_bounded(void **state) {
  (void)state;
  MpChan *c = mp_chan_new(L, 2);
  assert_int_equal(mp_chan_maxsize(c), 2);
  assert_int_equal(mp_chan_put(c, "a", 1, 0, NULL), 0);
  assert_int_equal(mp_chan_put(c, "b", 1, 0, NULL), 0);
  assert_int_equal(mp_chan_put(c, "c", 1, 0, NULL), EAGAIN);
  struct timespec ts;
  assert_int_equal(mp_chan_put(c, "c", 1, 1, gl_deadline(&ts, 0.02)), ETIMEDOUT);
  assert_int_equal(mp_chan_size(c), 2);
  mp_chan_decref(c);                     /* frees the queued messages too */
}

static void test_tag(void **state) {
  (void)state;
  MpChan *c = mp_chan_new(L, 0);
  uint64_t job = 12345, tag = 0;
  assert_int_equal(mp_chan_put2(c, &job, 8, "x", 1, 1, NULL), 0);
  void *d;
  size_t len;
  assert_int_equal(mp_chan_get(c, &d, &len, 1, NULL, &tag, NULL, NULL), 0);
  assert_int_equal(tag, 12345);
  assert_int_equal(len, 9);
  free(d);
  mp_chan_decref(c);
}

static void test_join_counts(void **state) {
  (void)state;
  MpChan *c = mp_chan_new(L, 0);
  mp_chan_put(c, "a", 1, 1, NULL);
  struct timespec ts;
  assert_int_equal(mp_chan_join(c, gl_deadline(&ts, 0.01)), ETIMEDOUT);
  assert_int_equal(mp_chan_task_done(c), 0);
  assert_int_equal(mp_chan_task_done(c), -1);   /* too many */
  assert_int_equal(mp_chan_join(c, NULL), 0);
  mp_chan_decref(c);
}

static void test_child_exits_after_put(void **state) {
  (void)state;
  MpChan *c = mp_chan_new(L, 0);
  enum { N = 5000, P = 3 };
  for (int k = 0; k < P; k++) {
    if (fork() == 0) {
      for (int i = 0; i < N; i++) {
        int v = k * N + i;
        mp_chan_put(c, &v, sizeof v, 1, NULL);
      }
      _exit(0);                          /* at once: nothing may be lost */
    }
  }
  static unsigned char seen[N * P];
  memset(seen, 0, sizeof seen);
  for (int i = 0; i < N * P; i++) {
    void *d;
    size_t len;
    struct timespec ts;
    assert_int_equal(mp_chan_get(c, &d, &len, 1, gl_deadline(&ts, 10), NULL, NULL, NULL), 0);
    assert_int_equal(len, sizeof(int));
    int v;
    memcpy(&v, d, sizeof v);
    free(d);
    assert_true(v >= 0 && v < N * P);
    assert_int_equal(seen[v], 0);
    seen[v] = 1;
  }
  for (int k = 0; k < P; k++) wait(NULL);
  assert_int_equal(mp_chan_size(c), 0);
  mp_chan_decref(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fifo),
    cmocka_unit_test(test_bounded),
    cmocka_unit_test(test_tag),
    cmocka_unit_test(test_join_counts),
    cmocka_unit_test(test_child_exits_after_put),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

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
#include <signal.h>
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

/* A putter or a getter killed with SIGKILL at every step of linking or
** unlinking, with the lock held: the next locker repairs the list; a
** message being put is delivered once, in order, one being got is gone
** (its getter took it), the counts are right and the channel goes on. */
static int kill_at;
static void kill_hook(int step) { if (step == kill_at) raise(SIGKILL); }

static void test_death_while_linking(void **state) {
  (void)state;
  for (int step = 0; step < MP_CHAN_STEPS; step++)
    for (int queued = 0; queued <= 2; queued += 2) {   /* onto an empty list, or a longer one */
      MpChan *c = mp_chan_new(L, 0);
      int getting = step >= MP_CHAN_UNLINKED;
      if (getting) mp_chan_put(c, "z", 1, 1, NULL);   /* first: the one the getter takes */
      for (int i = 0; i < queued; i++) mp_chan_put(c, "ab" + i, 1, 1, NULL);
      pid_t pid = fork();
      if (pid == 0) {
        kill_at = step;
        mp_chan_step_hook = kill_hook;
        void *d;
        size_t len;
        if (getting) mp_chan_get(c, &d, &len, 0, NULL, NULL, NULL, NULL);
        else mp_chan_put(c, "c", 1, 1, NULL);
        _exit(0);
      }
      int st;
      waitpid(pid, &st, 0);
      assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
      char got[8];
      struct timespec ts;
      if (getting) {                    /* "z" went with its getter; a, b remain after it */
        for (int i = 0; i < queued; i++) {
          assert_int_equal(get_str(c, got, sizeof got, 0, NULL), 0);
          assert_int_equal(got[0], "ab"[i]);
        }
      } else {
        for (int i = 0; i < queued; i++) {
          assert_int_equal(get_str(c, got, sizeof got, 0, NULL), 0);
          assert_int_equal(got[0], "ab"[i]);
        }
        assert_int_equal(get_str(c, got, sizeof got, 0, NULL), 0);   /* delivered once */
        assert_string_equal(got, "c");
      }
      assert_int_equal(mp_chan_size(c), 0);
      assert_int_equal(get_str(c, got, sizeof got, 0, NULL), EAGAIN);
      mp_chan_put(c, "d", 1, 1, NULL);  /* and it goes on */
      assert_int_equal(mp_chan_size(c), 1);
      assert_int_equal(get_str(c, got, sizeof got, 1, gl_deadline(&ts, 5)), 0);
      assert_string_equal(got, "d");
      mp_chan_decref(c);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fifo),
    cmocka_unit_test(test_bounded),
    cmocka_unit_test(test_tag),
    cmocka_unit_test(test_join_counts),
    cmocka_unit_test(test_child_exits_after_put),
    cmocka_unit_test(test_death_while_linking),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/*
** test_tpool.c — OS threads kept for reuse (vm/tpool.c): a finished
** thread parks and runs the next work (handed over while it spins or
** after it fell asleep), gl_self does not carry over, many
** at once get threads of their own, a parked thread ends after its idle
** time, and a forked child has no parked threads.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "block.h"
#include "gthread.h"
#include "tpool.h"

typedef struct Run {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  pthread_t who;
  GLThread *self_seen;            /* gl_self when the work began */
  int hold;                       /* wait for 'release' before finishing */
  int release;
} Run;

static void *work(void *arg) {
  Run *r = (Run *)arg;
  pthread_mutex_lock(&r->mu);
  r->who = pthread_self();
  r->self_seen = gl_self;
  gl_self = (GLThread *)r;        /* dirty it: the pool must clear it */
  while (r->hold && !r->release) pthread_cond_wait(&r->cv, &r->mu);
  r->done = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

static void run_init(Run *r, int hold) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->hold = hold;
}

static void run_wait(Run *r) {
  pthread_mutex_lock(&r->mu);
  while (!r->done) pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
}

static void wait_idle(int n) {   /* until n threads are parked (5 s at most) */
  uint64_t until = gl_now_ns() + 5000000000ull;
  while (gl_tpool_idle() != n) {
    assert_true(gl_now_ns() < until);
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
  }
}

static void test_reuse(void **state) {
  (void)state;
  Run a, b;
  run_init(&a, 0);
  assert_int_equal(gl_spawn(work, &a), 0);
  run_wait(&a);
  wait_idle(1);
  run_init(&b, 0);
  assert_int_equal(gl_spawn(work, &b), 0);
  run_wait(&b);
  assert_true(pthread_equal(a.who, b.who));   /* the same OS thread ran both */
  assert_null(b.self_seen);                   /* gl_self was cleared between */
  wait_idle(1);
}

/* A parked thread spins for its first 100 us, then sleeps: work handed
** over in either phase runs, on the same OS thread. */
static void test_handed_while_spinning_or_asleep(void **state) {
  (void)state;
  Run a, b, c;
  run_init(&a, 0);
  assert_int_equal(gl_spawn(work, &a), 0);
  run_wait(&a);
  wait_idle(1);                   /* parked: spinning now */
  run_init(&b, 0);
  assert_int_equal(gl_spawn(work, &b), 0);
  run_wait(&b);
  wait_idle(1);
  struct timespec ts = { 0, 20000000 };
  nanosleep(&ts, NULL);           /* 20 ms: its spin is over, it sleeps */
  run_init(&c, 0);
  assert_int_equal(gl_spawn(work, &c), 0);
  run_wait(&c);
  assert_true(pthread_equal(a.who, b.who));
  assert_true(pthread_equal(b.who, c.who));
  assert_null(c.self_seen);
  wait_idle(1);
}

static void start_held(Run *r, int n) {
  for (int i = 0; i < n; i++) {
    run_init(&r[i], 1);
    assert_int_equal(gl_spawn(work, &r[i]), 0);
  }
}

static void release_all(Run *r, int n) {
  for (int i = 0; i < n; i++) {
    pthread_mutex_lock(&r[i].mu);
    r[i].release = 1;
    pthread_cond_broadcast(&r[i].cv);
    pthread_mutex_unlock(&r[i].mu);
    run_wait(&r[i]);
  }
}

/* Four at once get threads of their own; the four then park (one spins,
** three sleep) and the next four at once run on them, no new thread. */
static void test_many_at_once(void **state) {
  (void)state;
  enum { N = 4 };
  Run r[N], again[N];
  start_held(r, N);
  for (int i = 0; i < N; i++) {   /* all four run at the same time */
    pthread_mutex_lock(&r[i].mu);
    while (r[i].who == 0) {
      pthread_mutex_unlock(&r[i].mu);
      struct timespec ts = { 0, 1000000 };
      nanosleep(&ts, NULL);
      pthread_mutex_lock(&r[i].mu);
    }
    pthread_mutex_unlock(&r[i].mu);
  }
  for (int i = 0; i < N; i++)
    for (int j = i + 1; j < N; j++) assert_false(pthread_equal(r[i].who, r[j].who));
  release_all(r, N);
  wait_idle(N);
  start_held(again, N);
  release_all(again, N);
  for (int i = 0; i < N; i++) {
    int known = 0;
    for (int j = 0; j < N; j++) known |= pthread_equal(again[i].who, r[j].who);
    assert_true(known);
  }
  wait_idle(N);
}

static void test_fork_child_has_none(void **state) {
  (void)state;
  assert_true(gl_tpool_idle() > 0);
  gl_tpool_fork_prepare();        /* as gl_fork runs the fork list */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    gl_tpool_fork_child();
    _exit(gl_tpool_idle() == 0 ? 0 : 1);
  }
  gl_tpool_fork_parent(pid);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_idle_threads_end(void **state) {
  (void)state;
  assert_true(gl_tpool_idle() > 0);
  wait_idle(0);                   /* after their idle time (1 s) */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_reuse),
    cmocka_unit_test(test_handed_while_spinning_or_asleep),
    cmocka_unit_test(test_many_at_once),
    cmocka_unit_test(test_fork_child_has_none),
    cmocka_unit_test(test_idle_threads_end),
  };
  return cmocka_run_group_tests_name("tpool", tests, NULL, NULL);
}

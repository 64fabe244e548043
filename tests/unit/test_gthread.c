/*
** test_gthread.c — the thread record's interface that runtime/tthread*.c
** uses (vm/gthread.h): start() claims a record once even when several
** threads race for it, the started handshake (also after start()'s spin),
** join seeing the end while it spins, asleep, or not before a timeout, one Lua object per record
** (a dying one is replaced, never revived), and the main thread marked
** finished wakes its joiners. Real pthreads; no Lua code runs.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "block.h"
#include "gil.h"
#include "gthread.h"

#define RACERS 8

static GLThread *contested;
static atomic_int winners;
static pthread_barrier_t line_up;

static void *racer(void *arg) {
  (void)arg;
  pthread_barrier_wait(&line_up);
  if (gt_claim_start(contested) == 0) atomic_fetch_add(&winners, 1);
  return NULL;
}

static void test_claim_once(void **state) {
  (void)state;
  for (int round = 0; round < 50; round++) {
    contested = gt_new();
    atomic_store(&winners, 0);
    pthread_barrier_init(&line_up, NULL, RACERS);
    pthread_t tid[RACERS];
    for (int i = 0; i < RACERS; i++) pthread_create(&tid[i], NULL, racer, NULL);
    for (int i = 0; i < RACERS; i++) pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&line_up);
    assert_int_equal(atomic_load(&winners), 1);
    assert_int_equal(gt_state(contested), GT_RUNNING);
    assert_int_equal(gt_set_daemon(contested, 1), -1);   /* started: refused */
    gt_start_failed(contested);                          /* drops the OS thread's ref */
    assert_int_equal(gt_state(contested), GT_DONE);
    gt_decref(contested);
  }
}

static void *starter(void *arg) {
  GLThread *t = (GLThread *)arg;
  gt_bind_self(t, NULL, NULL);
  gt_mark_started(t);
  return NULL;
}

static void test_started_handshake(void **state) {
  (void)state;
  GLThread *t = gt_new();
  lua_Integer ident, native;
  assert_int_equal(gt_idents(t, &ident, &native), 0);   /* not started yet */
  assert_int_equal(gt_set_daemon(t, 1), 0);
  assert_int_equal(gt_daemon(t), 1);
  pthread_t tid;
  pthread_create(&tid, NULL, starter, t);
  gt_wait_started(t);
  assert_int_equal(gt_idents(t, &ident, &native), 1);
  assert_true(ident != 0 && native > 0);
  pthread_join(tid, NULL);
  gt_set_name(t, "a name longer than the record keeps is cut, never overflows the "
                 "sixty-four bytes of the field");
  char name[64];
  gt_get_name(t, name, sizeof name);
  assert_int_equal(strlen(name), 63);
  gt_decref(t);
}

/* ---- one Lua object per record ---- */

typedef struct Obj { atomic_long refs; int id; } Obj;
static int made;

static int keep(void *p) {
  Obj *o = (Obj *)p;
  long r = atomic_load(&o->refs);
  while (r > 0)
    if (atomic_compare_exchange_weak(&o->refs, &r, r + 1)) return 1;
  return 0;
}

static void *make(GLThread *t) {
  (void)t;
  Obj *o = calloc(1, sizeof *o);
  atomic_init(&o->refs, 1);
  o->id = ++made;
  return o;
}

static void test_one_lua_object(void **state) {
  (void)state;
  GLThread *t = gt_new();
  Obj *a = (Obj *)gt_lua_obj(t, keep, make);
  Obj *b = (Obj *)gt_lua_obj(t, keep, make);
  assert_ptr_equal(a, b);
  assert_int_equal(atomic_load(&a->refs), 2);
  atomic_store(&a->refs, 0);                 /* a is being destroyed */
  Obj *c = (Obj *)gt_lua_obj(t, keep, make);
  assert_ptr_not_equal(c, a);                /* a new one, a is not revived */
  gt_forget_lua_obj(t, a);                   /* a's destroy leaves c recorded */
  assert_ptr_equal(gt_lua_obj(t, keep, make), c);
  gt_forget_lua_obj(t, c);
  Obj *d = (Obj *)gt_lua_obj(t, keep, make);
  assert_int_equal(d->id, 3);
  free(a); free(c); free(d);
  gt_decref(t);
}

/* ---- start() and join() spin, then sleep ---- */

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

static void *late_starter(void *arg) {   /* marks started after the spin is over */
  GLThread *t = (GLThread *)arg;
  sleep_ms(20);
  gt_bind_self(t, NULL, NULL);
  gt_mark_started(t);
  return NULL;
}

static void test_started_after_the_spin(void **state) {
  (void)state;
  GLThread *t = gt_new();
  pthread_t tid;
  pthread_create(&tid, NULL, late_starter, t);
  gt_wait_started(t);
  lua_Integer ident, native;
  assert_int_equal(gt_idents(t, &ident, &native), 1);
  pthread_join(tid, NULL);
  gt_decref(t);
}

typedef struct Finisher { GLThread *t; long after_ms; } Finisher;

static void *finisher(void *arg) {
  Finisher *f = (Finisher *)arg;
  if (f->after_ms) sleep_ms(f->after_ms);
  gt_set_done(f->t);
  return NULL;
}

/* Done at once (seen while spinning), done after the spin (seen asleep),
** never done within a short timeout, and a zero timeout. */
static void test_join_spin_then_sleep(void **state) {
  (void)state;
  long after[2] = { 0, 20 };
  for (int i = 0; i < 2; i++) {
    Finisher f = { gt_new(), after[i] };
    pthread_t tid;
    pthread_create(&tid, NULL, finisher, &f);
    assert_int_equal(gt_join(f.t, NULL), 0);
    assert_int_equal(gt_state(f.t), GT_DONE);
    pthread_join(tid, NULL);
    gt_decref(f.t);
  }
  GLThread *never = gt_new();
  struct timespec ts;
  uint64_t t0 = gl_now_ns();
  assert_int_equal(gt_join(never, gl_deadline(&ts, 0.01)), ETIMEDOUT);
  uint64_t took = gl_now_ns() - t0;
  assert_true(took >= 9000000ull && took < 5000000000ull);
  assert_int_equal(gt_join(never, gl_deadline(&ts, 0)), ETIMEDOUT);
  gt_set_done(never);
  assert_int_equal(gt_join(never, gl_deadline(&ts, 0)), 0);
  gt_decref(never);
}

/* ---- the end of the main program ---- */

static atomic_int joined_main;

static void *main_joiner(void *arg) {
  GLThread *t = (GLThread *)arg;
  gt_bind_self(t, NULL, NULL);
  if (gt_join(gt_main(), NULL) == 0) atomic_store(&joined_main, 1);
  return NULL;
}

static void test_main_finished_wakes_joiners(void **state) {
  (void)state;
  gil_setup(0, (GILPolicy){ .kind = GIL_BYTECODES, .n = 100 });
  gt_init_main(NULL);
  GLThread *w = gt_new();
  pthread_t tid;
  pthread_create(&tid, NULL, main_joiner, w);
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
  assert_int_equal(atomic_load(&joined_main), 0);   /* main still runs */
  assert_int_equal(gt_state(gt_main()), GT_RUNNING);
  gt_main_finished();
  pthread_join(tid, NULL);
  assert_int_equal(atomic_load(&joined_main), 1);
  assert_int_equal(gt_state(gt_main()), GT_DONE);
  GLThread *snap[4];
  int n = gt_snapshot(snap, 4);
  int listed = 0;
  for (int i = 0; i < n && i < 4; i++) { listed |= snap[i] == gt_main(); gt_decref(snap[i]); }
  assert_true(listed);   /* still on the live list: it runs the exit path */
  gt_decref(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_claim_once),
    cmocka_unit_test(test_started_handshake),
    cmocka_unit_test(test_one_lua_object),
    cmocka_unit_test(test_started_after_the_spin),
    cmocka_unit_test(test_join_spin_then_sleep),
    cmocka_unit_test(test_main_finished_wakes_joiners),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

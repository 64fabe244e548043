/*
** test_queue.c — the C side of `queue`: container order (FIFO ring, LIFO,
** priority heap with Lua-like key comparison and FIFO ties), bounds,
** task counting, timeouts, and blocking producers/consumers on real
** pthreads (gl_self is NULL here: no GIL to release).
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
#include "queue_core.h"

static QItem item_int(int payload) {
  QItem it;
  memset(&it, 0, sizeof it);
  it.is_ref = 1;
  it.ref = payload;
  return it;
}

static QItem item_key_i(int payload, lua_Integer k) {
  QItem it = item_int(payload);
  it.key.type = QK_INT;
  it.key.i = k;
  return it;
}

static QItem item_key_f(int payload, double k) {
  QItem it = item_int(payload);
  it.key.type = QK_FLT;
  it.key.f = k;
  return it;
}

static QItem item_key_s(int payload, const char *s, size_t len) {
  QItem it = item_int(payload);
  it.key.type = QK_STR;
  it.key.s = (char *)s;          /* not freed: tests drop with NULL */
  it.key.len = len;
  return it;
}

static int pop_payload(QCore *c) {
  QItem it;
  assert_int_equal(qc_pop(c, &it), 0);
  return it.ref;
}

static void test_fifo_order_and_wrap(void **state) {
  (void)state;
  QCore c;
  qc_init(&c, QC_FIFO);
  int next_out = 0, next_in = 0;
  /* interleave pushes and pops so the ring wraps and grows several times */
  for (int round = 0; round < 50; round++) {
    for (int i = 0; i < round % 13 + 3; i++) {
      QItem it = item_int(next_in++);
      assert_int_equal(qc_push(&c, &it), 0);
    }
    for (int i = 0; i < round % 7 + 1 && qc_len(&c) > 0; i++)
      assert_int_equal(pop_payload(&c), next_out++);
  }
  while (qc_len(&c) > 0) assert_int_equal(pop_payload(&c), next_out++);
  assert_int_equal(next_in, next_out);
  QItem it;
  assert_int_equal(qc_pop(&c, &it), EAGAIN);
  qc_free(&c, NULL, NULL);
}

static void test_lifo_order(void **state) {
  (void)state;
  QCore c;
  qc_init(&c, QC_LIFO);
  for (int i = 0; i < 100; i++) {
    QItem it = item_int(i);
    assert_int_equal(qc_push(&c, &it), 0);
  }
  for (int i = 99; i >= 0; i--) assert_int_equal(pop_payload(&c), i);
  qc_free(&c, NULL, NULL);
}

static void test_priority_numbers_stable(void **state) {
  (void)state;
  QCore c;
  qc_init(&c, QC_PRIO);
  /* keys 3,1,2,1,3,2 (payload = insertion index); ties leave in FIFO order */
  lua_Integer keys[] = {3, 1, 2, 1, 3, 2};
  for (int i = 0; i < 6; i++) {
    QItem it = item_key_i(i, keys[i]);
    assert_int_equal(qc_push(&c, &it), 0);
  }
  int want[] = {1, 3, 2, 5, 0, 4};
  for (int i = 0; i < 6; i++) assert_int_equal(pop_payload(&c), want[i]);
  qc_free(&c, NULL, NULL);
}

static void test_priority_many_sorted(void **state) {
  (void)state;
  QCore c;
  qc_init(&c, QC_PRIO);
  unsigned x = 12345;
  for (int i = 0; i < 1000; i++) {
    x = x * 1103515245u + 12345u;
    QItem it = item_key_i(i, (lua_Integer)(x % 100));
    assert_int_equal(qc_push(&c, &it), 0);
  }
  QItem prev, cur;
  assert_int_equal(qc_pop(&c, &prev), 0);
  while (qc_pop(&c, &cur) == 0) {
    assert_true(prev.key.i < cur.key.i || (prev.key.i == cur.key.i && prev.seq < cur.seq));
    prev = cur;
  }
  qc_free(&c, NULL, NULL);
}

static void test_priority_int_float_mix(void **state) {
  (void)state;
  QCore c;
  qc_init(&c, QC_PRIO);
  QItem a = item_key_f(0, 2.5), b = item_key_i(1, 2), d = item_key_i(2, 3),
        e = item_key_f(3, -1e300), f = item_key_i(4, INT64_MAX), g = item_key_f(5, 0x1p63);
  QItem all[] = {a, b, d, e, f, g};
  for (int i = 0; i < 6; i++) assert_int_equal(qc_push(&c, &all[i]), 0);
  int want[] = {3, 1, 0, 2, 4, 5};   /* -1e300 < 2 < 2.5 < 3 < maxint < 2^63 */
  for (int i = 0; i < 6; i++) assert_int_equal(pop_payload(&c), want[i]);
  /* exact comparison where a double cannot represent the integer */
  QKey k1 = {QK_INT, (lua_Integer)9007199254740993LL, 0, NULL, 0};
  QKey k2 = {QK_FLT, 0, 9007199254740992.0, NULL, 0};
  assert_int_equal(qkey_cmp(&k1, &k2), 1);
  assert_int_equal(qkey_cmp(&k2, &k1), -1);
  QKey k3 = {QK_INT, 2, 0, NULL, 0}, k4 = {QK_FLT, 0, 2.0, NULL, 0};
  assert_int_equal(qkey_cmp(&k3, &k4), 0);
  qc_free(&c, NULL, NULL);
}

static void test_priority_strings(void **state) {
  (void)state;
  QCore c;
  qc_init(&c, QC_PRIO);
  QItem a = item_key_s(0, "b", 1), b = item_key_s(1, "a\0b", 3),
        d = item_key_s(2, "a", 1), e = item_key_s(3, "ab", 2);
  QItem all[] = {a, b, d, e};
  for (int i = 0; i < 4; i++) assert_int_equal(qc_push(&c, &all[i]), 0);
  int want[] = {2, 1, 3, 0};   /* "a" < "a\0b" < "ab" < "b" */
  for (int i = 0; i < 4; i++) assert_int_equal(pop_payload(&c), want[i]);
  /* a string key among numbers is refused; an empty heap accepts any */
  QItem n = item_key_i(9, 1), s = item_key_s(10, "x", 1);
  assert_int_equal(qc_push(&c, &n), 0);
  assert_int_equal(qc_push(&c, &s), EINVAL);
  assert_int_equal(pop_payload(&c), 9);
  assert_int_equal(qc_push(&c, &s), 0);
  qc_free(&c, NULL, NULL);
}

static int dropped;
static void count_drop(QItem *it, void *ud) {
  (void)it;
  (void)ud;
  dropped++;
}

static void test_free_drops_remaining(void **state) {
  (void)state;
  QCore c;
  qc_init(&c, QC_FIFO);
  for (int i = 0; i < 5; i++) {
    QItem it = item_int(i);
    qc_push(&c, &it);
  }
  pop_payload(&c);
  dropped = 0;
  qc_free(&c, count_drop, NULL);
  assert_int_equal(dropped, 4);
}

static void test_bounded_full_empty(void **state) {
  (void)state;
  GLQueue q;
  gq_init(&q, QC_FIFO, 2);
  QItem it = item_int(1), out;
  assert_false(gq_full(&q));
  assert_int_equal(gq_get(&q, &out, 0, NULL), EAGAIN);
  assert_int_equal(gq_put(&q, &it, 0, NULL), 0);
  assert_int_equal(gq_put(&q, &it, 0, NULL), 0);
  assert_true(gq_full(&q));
  assert_int_equal(gq_put(&q, &it, 0, NULL), EAGAIN);
  struct timespec ts;
  uint64_t t0 = gl_now_ns();
  assert_int_equal(gq_put(&q, &it, 1, gl_deadline(&ts, 0.05)), ETIMEDOUT);
  assert_true(gl_now_ns() - t0 >= 45000000u);
  assert_int_equal(gq_qsize(&q), 2);
  assert_int_equal(gq_get(&q, &out, 0, NULL), 0);
  assert_int_equal(gq_get(&q, &out, 1, gl_deadline(&ts, 0.01)), 0);
  t0 = gl_now_ns();
  assert_int_equal(gq_get(&q, &out, 1, gl_deadline(&ts, 0.05)), ETIMEDOUT);
  assert_true(gl_now_ns() - t0 >= 45000000u);
  assert_int_equal(gq_get(&q, &out, 1, gl_deadline(&ts, 0)), ETIMEDOUT);
  gq_destroy(&q, NULL, NULL);
}

static void test_task_counting(void **state) {
  (void)state;
  GLQueue q;
  gq_init(&q, QC_LIFO, 0);
  QItem it = item_int(1), out;
  assert_int_equal(gq_task_done(&q), ERANGE);
  assert_int_equal(gq_join(&q, NULL), 0);          /* nothing put: done */
  for (int i = 0; i < 3; i++) assert_int_equal(gq_put(&q, &it, 1, NULL), 0);
  struct timespec ts;
  assert_int_equal(gq_join(&q, gl_deadline(&ts, 0.02)), ETIMEDOUT);
  for (int i = 0; i < 3; i++) assert_int_equal(gq_get(&q, &out, 0, NULL), 0);
  assert_int_equal(gq_join(&q, gl_deadline(&ts, 0.02)), ETIMEDOUT);  /* got, not done */
  for (int i = 0; i < 3; i++) assert_int_equal(gq_task_done(&q), 0);
  assert_int_equal(gq_join(&q, gl_deadline(&ts, 0)), 0);
  assert_int_equal(gq_task_done(&q), ERANGE);
  gq_destroy(&q, NULL, NULL);
}

/* ---- real threads --------------------------------------------------- */

#define NPROD 3
#define PER 2000

typedef struct Shared {
  GLQueue q;
  int seen[NPROD * PER];
  int last[NPROD];            /* per producer: FIFO keeps each one's order */
  int order_ok;
} Shared;

typedef struct ProdArg { Shared *s; int id; } ProdArg;

static void *producer(void *ud) {
  ProdArg *a = (ProdArg *)ud;
  for (int i = 0; i < PER; i++) {
    QItem it = item_int(a->id * PER + i);
    if (gq_put(&a->s->q, &it, 1, NULL) != 0) return (void *)1;
  }
  return NULL;
}

static void *consumer(void *ud) {
  Shared *s = (Shared *)ud;
  for (;;) {
    QItem it;
    if (gq_get(&s->q, &it, 1, NULL) != 0) return (void *)1;
    if (it.ref < 0) { gq_task_done(&s->q); return NULL; }     /* sentinel */
    int p = it.ref / PER, i = it.ref % PER;
    if (i <= s->last[p]) s->order_ok = 0;
    s->last[p] = i;
    s->seen[it.ref]++;
    gq_task_done(&s->q);
  }
}

static void test_threads_bounded_fifo(void **state) {
  (void)state;
  static Shared s;
  memset(&s, 0, sizeof s);
  gq_init(&s.q, QC_FIFO, 4);     /* small bound: producers really block */
  for (int p = 0; p < NPROD; p++) s.last[p] = -1;
  s.order_ok = 1;
  pthread_t prod[NPROD], cons;
  ProdArg args[NPROD];
  assert_int_equal(pthread_create(&cons, NULL, consumer, &s), 0);
  for (int p = 0; p < NPROD; p++) {
    args[p] = (ProdArg){&s, p};
    assert_int_equal(pthread_create(&prod[p], NULL, producer, &args[p]), 0);
  }
  for (int p = 0; p < NPROD; p++) {
    void *r;
    pthread_join(prod[p], &r);
    assert_null(r);
  }
  assert_int_equal(gq_join(&s.q, NULL), 0);        /* every item task_done'd */
  QItem stop = item_int(-1);
  assert_int_equal(gq_put(&s.q, &stop, 1, NULL), 0);
  void *r;
  pthread_join(cons, &r);
  assert_null(r);
  assert_true(s.order_ok);
  for (int i = 0; i < NPROD * PER; i++) assert_int_equal(s.seen[i], 1);
  assert_int_equal(gq_qsize(&s.q), 0);
  gq_destroy(&s.q, NULL, NULL);
}

typedef struct Waker { GLQueue *q; } Waker;

static void *late_put(void *ud) {
  GLQueue *q = (GLQueue *)ud;
  struct timespec ts = {0, 20000000};
  nanosleep(&ts, NULL);
  QItem it = item_int(42);
  gq_put(q, &it, 1, NULL);
  return NULL;
}

static void test_blocking_get_wakes(void **state) {
  (void)state;
  GLQueue q;
  gq_init(&q, QC_FIFO, 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, late_put, &q), 0);
  QItem out;
  struct timespec ts;
  assert_int_equal(gq_get(&q, &out, 1, gl_deadline(&ts, 10)), 0);
  assert_int_equal(out.ref, 42);
  pthread_join(t, NULL);
  gq_destroy(&q, NULL, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fifo_order_and_wrap),
    cmocka_unit_test(test_lifo_order),
    cmocka_unit_test(test_priority_numbers_stable),
    cmocka_unit_test(test_priority_many_sorted),
    cmocka_unit_test(test_priority_int_float_mix),
    cmocka_unit_test(test_priority_strings),
    cmocka_unit_test(test_free_drops_remaining),
    cmocka_unit_test(test_bounded_full_empty),
    cmocka_unit_test(test_task_counting),
    cmocka_unit_test(test_threads_bounded_fifo),
    cmocka_unit_test(test_blocking_get_wakes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

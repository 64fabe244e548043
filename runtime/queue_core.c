/*
** queue_core.c — ring, stack and heap of queue items, and the blocking
** queue built on them. See queue_core.h.
**
** Invariants:
**   FIFO: live items are items[(head + i) % cap], i < len.
**   LIFO: items[0..len), top at len-1.
**   PRIO: items[0..len) is a binary min-heap on (key, seq); all keys are
**         of one class (numbers or strings) while len > 0.
** The GLQueue mutex is a leaf lock: no Lua code and no GIL under it.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "queue_core.h"
#include "syncwait.h"

void qc_init(QCore *c, QcKind kind) {
  memset(c, 0, sizeof *c);
  c->kind = kind;
}

size_t qc_len(const QCore *c) { return c->len; }

static QItem *at(QCore *c, size_t i) {
  return c->kind == QC_FIFO ? &c->items[(c->head + i) % c->cap] : &c->items[i];
}

void qc_free(QCore *c, void (*drop)(QItem *it, void *ud), void *ud) {
  for (size_t i = 0; drop && i < c->len; i++) drop(at(c, i), ud);
  free(c->items);
  c->items = NULL;
  c->len = c->cap = c->head = 0;
}

/* Grows (doubling) or, when a quarter full, shrinks the array; the ring
** is unrolled so head becomes 0. */
static int resize(QCore *c, size_t ncap) {
  QItem *n = (QItem *)malloc(ncap * sizeof *n);
  if (n == NULL) return ENOMEM;
  for (size_t i = 0; i < c->len; i++) n[i] = *at(c, i);
  free(c->items);
  c->items = n;
  c->cap = ncap;
  c->head = 0;
  return 0;
}

int qkey_is_number(const QKey *k) { return k->type == QK_INT || k->type == QK_FLT; }

/* i < f exactly, as Lua compares an integer with a float. */
static int int_lt_flt(lua_Integer i, double f) {
  if (isnan(f)) return 0;
  if (f >= 0x1p63) return 1;
  if (f < -0x1p63) return 0;
  double c = ceil(f);                     /* i < f  <=>  i < ceil(f) */
  return c >= 0x1p63 ? 1 : i < (lua_Integer)c;
}

static int flt_lt_int(double f, lua_Integer i) {
  if (isnan(f)) return 0;
  if (f >= 0x1p63) return 0;
  if (f < -0x1p63) return 1;
  return (lua_Integer)floor(f) < i;        /* f < i  <=>  floor(f) < i */
}

static int key_lt(const QKey *a, const QKey *b) {
  if (a->type == QK_INT && b->type == QK_INT) return a->i < b->i;
  if (a->type == QK_FLT && b->type == QK_FLT) return a->f < b->f;
  if (a->type == QK_INT && b->type == QK_FLT) return int_lt_flt(a->i, b->f);
  if (a->type == QK_FLT && b->type == QK_INT) return flt_lt_int(a->f, b->i);
  if (a->type == QK_STR && b->type == QK_STR) {
    size_t n = a->len < b->len ? a->len : b->len;
    int r = memcmp(a->s, b->s, n);
    return r < 0 || (r == 0 && a->len < b->len);
  }
  return 0;
}

int qkey_cmp(const QKey *a, const QKey *b) {
  if (key_lt(a, b)) return -1;
  if (key_lt(b, a)) return 1;
  return 0;
}

static int item_lt(const QItem *a, const QItem *b) {
  int r = qkey_cmp(&a->key, &b->key);
  return r < 0 || (r == 0 && a->seq < b->seq);
}

static void sift_up(QItem *h, size_t i) {
  QItem it = h[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!item_lt(&it, &h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = it;
}

static void sift_down(QItem *h, size_t n, size_t i) {
  QItem it = h[i];
  for (;;) {
    size_t l = 2 * i + 1, m = l;
    if (l >= n) break;
    if (l + 1 < n && item_lt(&h[l + 1], &h[l])) m = l + 1;
    if (!item_lt(&h[m], &it)) break;
    h[i] = h[m];
    i = m;
  }
  h[i] = it;
}

int qc_push(QCore *c, const QItem *it) {
  if (c->kind == QC_PRIO && c->len > 0 &&
      qkey_is_number(&it->key) != qkey_is_number(&c->items[0].key))
    return EINVAL;
  if (c->len == c->cap) {
    int rc = resize(c, c->cap ? 2 * c->cap : 8);
    if (rc) return rc;
  }
  QItem *slot = c->kind == QC_FIFO ? &c->items[(c->head + c->len) % c->cap]
                                   : &c->items[c->len];
  *slot = *it;
  slot->seq = c->seq++;
  c->len++;
  if (c->kind == QC_PRIO) sift_up(c->items, c->len - 1);
  return 0;
}

int qc_pop(QCore *c, QItem *out) {
  if (c->len == 0) return EAGAIN;
  switch (c->kind) {
    case QC_FIFO:
      *out = c->items[c->head];
      c->head = (c->head + 1) % c->cap;
      c->len--;
      break;
    case QC_LIFO:
      *out = c->items[--c->len];
      break;
    case QC_PRIO:
      *out = c->items[0];
      c->items[0] = c->items[--c->len];
      if (c->len > 0) sift_down(c->items, c->len, 0);
      break;
  }
  if (c->cap > 64 && c->len < c->cap / 4) resize(c, c->cap / 2);  /* failure: keep */
  return 0;
}

/* ---- the blocking queue -------------------------------------------- */

void gq_init(GLQueue *q, QcKind kind, long maxsize) {
  q->maxsize = maxsize;
  q->shutdown = 0;
  pthread_mutex_init(&q->mu, NULL);
  gl_cond_init(&q->not_empty);
  gl_cond_init(&q->not_full);
  gl_cond_init(&q->all_done);
  qc_init(&q->core, kind);
  q->unfinished = 0;
}

void gq_destroy(GLQueue *q, void (*drop)(QItem *it, void *ud), void *ud) {
  qc_free(&q->core, drop, ud);
  pthread_cond_destroy(&q->not_empty);
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->all_done);
  pthread_mutex_destroy(&q->mu);
}

void gq_after_fork(GLQueue *q) {
  pthread_mutex_init(&q->mu, NULL);
  gl_cond_init(&q->not_empty);
  gl_cond_init(&q->not_full);
  gl_cond_init(&q->all_done);
}

static int isfull(GLQueue *q) {
  return q->maxsize > 0 && (long)q->core.len >= q->maxsize;
}

typedef struct PutCtx { GLQueue *q; const QItem *it; int rc; } PutCtx;
typedef struct GetCtx { GLQueue *q; QItem *out; int rc; } GetCtx;

/* With mu held. Returns 1 when done (rc tells how), 0 when full. */
static int try_put(void *ud) {
  PutCtx *p = (PutCtx *)ud;
  if (p->q->shutdown) { p->rc = ESHUTDOWN; return 1; }
  if (isfull(p->q)) return 0;
  p->rc = qc_push(&p->q->core, p->it);
  if (p->rc == 0) {
    p->q->unfinished++;
    pthread_cond_signal(&p->q->not_empty);
  }
  return 1;
}

static int try_get(void *ud) {
  GetCtx *g = (GetCtx *)ud;
  if (qc_pop(&g->q->core, g->out) != 0) {
    if (!g->q->shutdown) return 0;
    g->rc = ESHUTDOWN;
    return 1;
  }
  pthread_cond_signal(&g->q->not_full);
  return 1;
}

int gq_put(GLQueue *q, const QItem *it, int block, const struct timespec *deadline) {
  PutCtx p = {q, it, 0};
  pthread_mutex_lock(&q->mu);
  int done = try_put(&p);
  pthread_mutex_unlock(&q->mu);
  if (done) return p.rc;
  if (!block) return EAGAIN;
  if (gl_expired(deadline)) return ETIMEDOUT;
  int rc = sync_wait(&q->mu, &q->not_full, try_put, &p, deadline);
  return rc ? rc : p.rc;
}

int gq_get(GLQueue *q, QItem *out, int block, const struct timespec *deadline) {
  GetCtx g = {q, out, 0};
  pthread_mutex_lock(&q->mu);
  int done = try_get(&g);
  pthread_mutex_unlock(&q->mu);
  if (done) return g.rc;
  if (!block) return EAGAIN;
  if (gl_expired(deadline)) return ETIMEDOUT;
  int rc = sync_wait(&q->mu, &q->not_empty, try_get, &g, deadline);
  return rc ? rc : g.rc;
}

int gq_task_done(GLQueue *q) {
  int rc = 0;
  pthread_mutex_lock(&q->mu);
  if (q->unfinished <= 0) rc = ERANGE;
  else if (--q->unfinished == 0) pthread_cond_broadcast(&q->all_done);
  pthread_mutex_unlock(&q->mu);
  return rc;
}

static int all_done(void *ud) { return ((GLQueue *)ud)->unfinished == 0; }

int gq_join(GLQueue *q, const struct timespec *deadline) {
  pthread_mutex_lock(&q->mu);
  int done = all_done(q);
  pthread_mutex_unlock(&q->mu);
  if (done) return 0;
  if (gl_expired(deadline)) return ETIMEDOUT;
  return sync_wait(&q->mu, &q->all_done, all_done, q, deadline);
}

void gq_shutdown(GLQueue *q, int immediate, void (*drop)(QItem *it, void *ud), void *ud) {
  QCore removed;
  qc_init(&removed, QC_FIFO);
  pthread_mutex_lock(&q->mu);
  q->shutdown = 1;
  if (immediate) {
    removed = q->core;                 /* the items leave with the whole array; */
    q->core.items = NULL;              /* 'kind' is not written: it is read */
    q->core.head = q->core.len = q->core.cap = 0;   /* without mu (queue.c) */
    size_t n = qc_len(&removed);
    q->unfinished = q->unfinished > (long)n ? q->unfinished - (long)n : 0;
    pthread_cond_broadcast(&q->all_done);
  }
  pthread_cond_broadcast(&q->not_empty);
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->mu);
  qc_free(&removed, drop, ud);
}

void gq_set_maxsize(GLQueue *q, long maxsize) {
  pthread_mutex_lock(&q->mu);
  q->maxsize = maxsize;
  pthread_cond_broadcast(&q->not_full);     /* room may have appeared */
  pthread_mutex_unlock(&q->mu);
}

long gq_maxsize(GLQueue *q) {
  pthread_mutex_lock(&q->mu);
  long m = q->maxsize;
  pthread_mutex_unlock(&q->mu);
  return m;
}

long gq_unfinished(GLQueue *q) {
  pthread_mutex_lock(&q->mu);
  long n = q->unfinished;
  pthread_mutex_unlock(&q->mu);
  return n;
}

int gq_is_shutdown(GLQueue *q) {
  pthread_mutex_lock(&q->mu);
  int s = q->shutdown;
  pthread_mutex_unlock(&q->mu);
  return s;
}

size_t gq_qsize(GLQueue *q) {
  pthread_mutex_lock(&q->mu);
  size_t n = q->core.len;
  pthread_mutex_unlock(&q->mu);
  return n;
}

int gq_full(GLQueue *q) {
  pthread_mutex_lock(&q->mu);
  int f = isfull(q);
  pthread_mutex_unlock(&q->mu);
  return f;
}

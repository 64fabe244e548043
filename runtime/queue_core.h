/*
** queue_core.h — the C side of the `queue` module, usable without Lua
** values: a container of items (FIFO ring, LIFO stack or priority heap),
** a bound, the unfinished-task count, and the blocking put/get/join of
** vm/block.h. queue.c wraps it for Lua (and decides what an item's
** payload is: a registry reference with the GIL on, encoded bytes off).
*/
#ifndef queue_core_h
#define queue_core_h

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <lua.h>

#include "transfer.h"

typedef enum { QC_FIFO, QC_LIFO, QC_PRIO } QcKind;

/* Priority key of an item (PriorityQueue only). Numbers compare with
** numbers (integers and floats exactly, as Lua's `<`), strings with
** strings (bytewise, as Lua's `<` in the C locale); ties keep insertion
** order. */
typedef enum { QK_NONE, QK_INT, QK_FLT, QK_STR } QKeyType;
typedef struct QKey {
  QKeyType type;
  lua_Integer i;
  double f;
  char *s;                  /* owned by the item, freed with it */
  size_t len;
} QKey;

typedef struct QItem {
  int is_ref;               /* payload: ref (1) or buf (0) */
  int ref;                  /* GIL on: reference into the interpreter's item table */
  TrBuffer buf;             /* GIL off: the encoded value */
  QKey key;
  uint64_t seq;             /* set by qc_push: insertion order */
} QItem;

/* The container. Not locked: GLQueue below locks it. */
typedef struct QCore {
  QcKind kind;
  QItem *items;
  size_t head, len, cap;    /* FIFO: ring from head; LIFO/PRIO: items[0..len) */
  uint64_t seq;
} QCore;

void qc_init(QCore *c, QcKind kind);
/* Frees the array; calls 'drop' on each remaining item first (may be NULL). */
void qc_free(QCore *c, void (*drop)(QItem *it, void *ud), void *ud);
/* 0, or ENOMEM, or EINVAL when the key cannot be compared with the keys
** already queued (number vs string). */
int qc_push(QCore *c, const QItem *it);
/* 0, or EAGAIN when empty. */
int qc_pop(QCore *c, QItem *out);
size_t qc_len(const QCore *c);

/* -1, 0, 1. Keys of different classes (number/string) are not compared
** by the heap (qc_push refuses them). */
int qkey_cmp(const QKey *a, const QKey *b);
int qkey_is_number(const QKey *k);

/*
** A blocking queue. Every field but mu and the conditions is guarded by mu.
**   maxsize    <= 0: unbounded; settable (gq_set_maxsize)
**   unfinished items put and not yet task_done()'d
**   shutdown   set once by gq_shutdown, never cleared
** not_empty is signalled on put, not_full on get, all_done broadcast when
** unfinished reaches 0; all three are broadcast by a shutdown, and
** not_full by a larger maxsize.
*/
typedef struct GLQueue {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full, all_done;
  long maxsize;
  QCore core;
  long unfinished;
  int shutdown;
} GLQueue;

void gq_init(GLQueue *q, QcKind kind, long maxsize);
void gq_destroy(GLQueue *q, void (*drop)(QItem *it, void *ud), void *ud);
/* After fork() in the child: fresh mutex and condition variables. */
void gq_after_fork(GLQueue *q);

/* put: 0, EAGAIN (full and !block), ETIMEDOUT, EINTR, ENOMEM, EINVAL
** (incomparable key), ESHUTDOWN (the queue was shut down, also while
** waiting). The item is queued only on 0. Tries once before releasing
** the GIL. */
int gq_put(GLQueue *q, const QItem *it, int block, const struct timespec *deadline);
/* get: 0 with *out filled, EAGAIN (empty and !block), ETIMEDOUT, EINTR,
** ESHUTDOWN (shut down and empty). */
int gq_get(GLQueue *q, QItem *out, int block, const struct timespec *deadline);
/* task_done: 0, or ERANGE when called more times than items were put. */
int gq_task_done(GLQueue *q);
/* join: 0 when every item put has been task_done()'d, ETIMEDOUT, EINTR. */
int gq_join(GLQueue *q, const struct timespec *deadline);

/* Python 3.13's Queue.shutdown: puts fail from now on; gets fail once the
** queue is empty; with 'immediate' the items are removed first (each
** counting as task_done, so join() returns) and handed to 'drop' after
** mu is released. Every waiter wakes up to look. */
void gq_shutdown(GLQueue *q, int immediate, void (*drop)(QItem *it, void *ud), void *ud);
void gq_set_maxsize(GLQueue *q, long maxsize);
long gq_maxsize(GLQueue *q);
int gq_is_shutdown(GLQueue *q);
long gq_unfinished(GLQueue *q);
size_t gq_qsize(GLQueue *q);
int gq_full(GLQueue *q);

#endif

/*
** mp_chan.c — byte-message channels in shared memory: the core of
** multiprocessing.Queue, and the Pool's and the Manager's transport.
**
** A channel is an arena block (MpChan) holding a singly linked FIFO of
** message blocks, each its own arena block. put() builds the message
** completely in shared memory first and then links it in under the
** channel's robust mutex: once put() has returned, the item is in shared
** memory and survives its producer exiting at once (there is no feeder
** thread and no pipe buffer to lose it from); a message is unlinked by
** exactly one get() under the same mutex, so nothing is lost or
** duplicated.
**
** Waiting: getters sleep on the futex word put_seq, putters (bounded
** channel) on get_seq, joiners on join_seq. The waiting counts let put/get
** skip the wake-up syscall when nobody sleeps. A waiter spins briefly
** before sleeping (cheap hand-off between two busy processes). Waits are
** sliced (mp_futex_wait, <= 50 ms) so Ctrl-C and the caller's poll hook
** are seen promptly.
**
** Fields of MpChan are guarded by mu, except the seq words (atomics, also
** futex words) and count (written under mu with release stores, read
** lock-free by spinners).
*/
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "block.h"
#include "mp.h"

typedef struct Msg {
  uint64_t next;          /* offset of the next message, 0 = none */
  uint64_t len;
  unsigned char data[];
} Msg;

struct MpChan {
  pthread_mutex_t mu;
  uint32_t put_seq, get_seq, join_seq;
  int32_t getters, putters, joiners;
  long maxsize;           /* 0 = unbounded */
  long count;
  long unfinished;        /* JoinableQueue: puts not yet task_done */
  uint64_t head, tail;
};

#define SPIN_ROUNDS 400

MpChan *mp_chan_new(lua_State *L, long maxsize) {
  MpChan *c = (MpChan *)mp_shm_alloc_or_raise(L, sizeof(MpChan), "Queue");
  mp_mutex_init(&c->mu, PTHREAD_MUTEX_NORMAL);
  c->maxsize = maxsize > 0 ? maxsize : 0;
  return c;
}

void mp_chan_incref(MpChan *c) { mp_shm_incref(c); }

/* The last reference frees the messages still queued. */
void mp_chan_decref(MpChan *c) {
  if (!mp_shm_unref(c)) return;
  uint64_t off = c->head;
  while (off) {
    Msg *m = (Msg *)mp_shm_ptr(off);
    off = m->next;
    mp_shm_decref(m);
  }
  pthread_mutex_destroy(&c->mu);
  mp_shm_free(c);
}

static long load_count(MpChan *c) { return __atomic_load_n(&c->count, __ATOMIC_ACQUIRE); }

long mp_chan_size(MpChan *c) { return load_count(c); }
long mp_chan_maxsize(MpChan *c) { return c->maxsize; }

static int is_full(MpChan *c) { return c->maxsize > 0 && c->count >= c->maxsize; }


/* Brief spin (GIL released): until items are there (want_items) or room. */
static void spin(MpChan *c, int want_items) {
  for (int i = 0; i < SPIN_ROUNDS; i++) {
    long n = load_count(c);
    if (want_items ? n > 0 : (c->maxsize == 0 || n < c->maxsize)) return;
    if ((i & 7) == 7) sched_yield();       /* see mp_pipe.c: no pause */
    else __asm__ __volatile__("" ::: "memory");
  }
}

static void bump(uint32_t *seq, int sleepers, int n) {
  if (sleepers) mp_futex_wake(seq, n);
  else __atomic_fetch_add(seq, 1, __ATOMIC_RELEASE);
}

/* Called with mu held and the GIL released: waits on *seq until ready(c)
** (ready: 1 = has items, 0 = has room), counting itself in *waiters.
** Returns 0 (ready, mu held), EINTR or ETIMEDOUT (mu held). */
static int wait_for(MpChan *c, int want_items, uint32_t *seq, int32_t *waiters,
                    const struct timespec *deadline, int (*poll)(void *), void *ud) {
  for (;;) {
    if (want_items ? c->count > 0 : !is_full(c)) return 0;
    if (gl_interrupted()) return EINTR;
    if (gl_expired(deadline)) return ETIMEDOUT;
    uint32_t s = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
    (*waiters)++;
    mp_unlock(&c->mu);
    mp_futex_wait(seq, s, deadline);
    int prc = 0;
    if (poll) {                         /* the hook runs with the GIL */
      gl_block_end();
      prc = poll(ud);
      gl_block_begin();
    }
    mp_lock(&c->mu);
    (*waiters)--;
    if (prc) return prc;
  }
}

int mp_chan_put(MpChan *c, const void *data, size_t len, int block,
                const struct timespec *deadline) {
  return mp_chan_put2(c, NULL, 0, data, len, block, deadline);
}

int mp_chan_put2(MpChan *c, const void *hdr, size_t hlen, const void *data,
                 size_t len, int block, const struct timespec *deadline) {
  Msg *m = (Msg *)mp_shm_alloc(sizeof(Msg) + hlen + len);
  if (m == NULL) return ENOMEM;
  m->len = hlen + len;
  if (hlen) memcpy(m->data, hdr, hlen);
  if (len) memcpy(m->data + hlen, data, len);
  int rc = 0, blocked = 0;
  mp_lock(&c->mu);
  if (is_full(c)) {
    mp_unlock(&c->mu);
    if (!block) { mp_shm_decref(m); return EAGAIN; }
    blocked = 1;
    gl_block_begin();
    spin(c, 0);
    mp_lock(&c->mu);
    rc = wait_for(c, 0, &c->get_seq, &c->putters, deadline, NULL, NULL);
  }
  if (rc == 0) {
    uint64_t off = mp_shm_off(m);
    if (c->tail) ((Msg *)mp_shm_ptr(c->tail))->next = off;
    else c->head = off;
    c->tail = off;
    __atomic_store_n(&c->count, c->count + 1, __ATOMIC_RELEASE);
    c->unfinished++;
  }
  int sleepers = c->getters > 0;
  /* a woken putter that gives up passes its wake-up on */
  int pass = rc != 0 && c->putters > 0 && !is_full(c);
  mp_unlock(&c->mu);
  if (blocked) gl_block_end();
  if (rc) {
    mp_shm_decref(m);
    if (pass) mp_futex_wake(&c->get_seq, 1);
    return rc;
  }
  bump(&c->put_seq, sleepers, 1);
  return 0;
}

int mp_chan_get(MpChan *c, void **data, size_t *len, int block,
                const struct timespec *deadline, uint64_t *tag,
                int (*poll)(void *), void *poll_ud) {
  int rc = 0, blocked = 0;
  mp_lock(&c->mu);
  if (c->count == 0) {
    mp_unlock(&c->mu);
    if (!block) return EAGAIN;
    blocked = 1;
    gl_block_begin();
    spin(c, 1);
    mp_lock(&c->mu);
    rc = wait_for(c, 1, &c->put_seq, &c->getters, deadline, poll, poll_ud);
  }
  Msg *m = NULL;
  if (rc == 0) {
    m = (Msg *)mp_shm_ptr(c->head);
    c->head = m->next;
    if (c->head == 0) c->tail = 0;
    __atomic_store_n(&c->count, c->count - 1, __ATOMIC_RELEASE);
    if (tag) {
      uint64_t t = 0;
      if (m->len >= 8) memcpy(&t, m->data, 8);
      *tag = t;
    }
  }
  int sleepers = c->putters > 0;
  int pass = rc != 0 && c->getters > 0 && c->count > 0;
  mp_unlock(&c->mu);
  if (blocked) gl_block_end();
  if (rc) {
    if (pass) mp_futex_wake(&c->put_seq, 1);
    return rc;
  }
  bump(&c->get_seq, sleepers, 1);
  *len = m->len;
  *data = malloc(m->len ? m->len : 1);
  if (*data == NULL) abort();
  memcpy(*data, m->data, m->len);
  mp_shm_decref(m);
  return 0;
}

void mp_chan_unfinished_add(MpChan *c, long d) {
  mp_lock(&c->mu);
  c->unfinished += d;
  mp_unlock(&c->mu);
}

int mp_chan_task_done(MpChan *c) {
  mp_lock(&c->mu);
  if (c->unfinished <= 0) { mp_unlock(&c->mu); return -1; }
  int zero = --c->unfinished == 0;
  int sleepers = c->joiners > 0;
  mp_unlock(&c->mu);
  if (zero) bump(&c->join_seq, sleepers, -1);
  return 0;
}

/* Waits until every item put has been task_done()'d. 0, ETIMEDOUT, EINTR. */
int mp_chan_join(MpChan *c, const struct timespec *deadline) {
  mp_lock(&c->mu);
  if (c->unfinished == 0) { mp_unlock(&c->mu); return 0; }
  mp_unlock(&c->mu);
  int rc = 0;
  gl_block_begin();
  mp_lock(&c->mu);
  while (c->unfinished > 0) {
    if (gl_interrupted()) { rc = EINTR; break; }
    if (gl_expired(deadline)) { rc = ETIMEDOUT; break; }
    uint32_t s = __atomic_load_n(&c->join_seq, __ATOMIC_ACQUIRE);
    c->joiners++;
    mp_unlock(&c->mu);
    mp_futex_wait(&c->join_seq, s, deadline);
    mp_lock(&c->mu);
    c->joiners--;
  }
  mp_unlock(&c->mu);
  gl_block_end();
  return rc;
}

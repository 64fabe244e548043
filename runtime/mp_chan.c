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
**
** Processes get killed. A message being built belongs to its producer:
** it is in the producer's ledger (mp_ledger.c) from its allocation on, so
** a producer killed while copying 50 MB gives the block back when reaped,
** and nothing partial is ever linked. Who owns it is then told by one
** store, its 'queued' word, written under mu: Q_QUEUED (the channel's)
** right before it is linked, Q_TAKEN (the getter's) right after get()
** unlinked it. The producer's ledger entry releases it only while it is
** Q_BUILDING (msg_lost), the getter's only once Q_TAKEN (msg_taken), so
** an entry its process left behind when it died, holding mu, between two
** steps cannot release a message that went on to another owner (and one
** freed and reused since has another generation: mp_ledger.c). A
** producer killed while linking, with mu held, left 'linking' set: the
** next locker gets EOWNERDEAD and repairs the list from head (relink,
** recount, new tail).
*/
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "block.h"
#include "mp.h"

enum { Q_BUILDING = 0, Q_QUEUED = 1, Q_TAKEN = 2 };   /* who owns a message */

typedef struct Msg {
  uint64_t queued;        /* Q_*: zeroed by the allocator (see the top) */
  uint64_t next;          /* offset of the next message, 0 = none */
  uint64_t len;
  unsigned char data[];
} Msg;

/* The ledger's releases of a message whose producer or getter died
** (see the top). */
static void msg_lost(void *p) {
  Msg *m = (Msg *)p;
  if (__atomic_load_n(&m->queued, __ATOMIC_ACQUIRE) == Q_BUILDING) mp_shm_decref(m);
}

static void msg_taken(void *p) {
  Msg *m = (Msg *)p;
  if (__atomic_load_n(&m->queued, __ATOMIC_ACQUIRE) == Q_TAKEN) mp_shm_decref(m);
}

struct MpChan {
  pthread_mutex_t mu;
  uint32_t put_seq, get_seq, join_seq;
  int32_t getters, putters, joiners;
  long maxsize;           /* 0 = unbounded */
  long count;
  long unfinished;        /* JoinableQueue: puts not yet task_done */
  uint64_t head, tail;
  uint64_t linking;       /* message being linked by the mu holder, 0 = none */
  int32_t shutdown;       /* set once by mp_chan_shutdown */
};

#define SPIN_ROUNDS 400

void (*mp_chan_step_hook)(int step);
#define STEP(s) do { if (mp_chan_step_hook) mp_chan_step_hook(s); } while (0)

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

/* The holder of mu died (EOWNERDEAD): head's chain is authoritative; the
** message it was linking goes at the end if it did not get there. */
static void repair(MpChan *c) {
  long n = 0;
  uint64_t last = 0, found = 0;
  for (uint64_t off = c->head; off; off = ((Msg *)mp_shm_ptr(off))->next) {
    found |= off == c->linking;
    last = off;
    n++;
  }
  if (c->linking && !found) {
    ((Msg *)mp_shm_ptr(c->linking))->next = 0;
    if (last) ((Msg *)mp_shm_ptr(last))->next = c->linking;
    else c->head = c->linking;
    last = c->linking;
    n++;
  }
  c->linking = 0;
  c->tail = last;
  __atomic_store_n(&c->count, n, __ATOMIC_RELEASE);
}

static void chan_lock(MpChan *c) {
  if (mp_lock(&c->mu)) repair(c);
}

static long load_count(MpChan *c) { return __atomic_load_n(&c->count, __ATOMIC_ACQUIRE); }

/* Under the lock, so that a count left wrong by a holder that died is
** repaired first (qsize is no hot path; spinners read count directly). */
long mp_chan_size(MpChan *c) {
  chan_lock(c);
  long n = c->count;
  mp_unlock(&c->mu);
  return n;
}
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
    if (want_items ? c->count > 0 : !c->shutdown && !is_full(c)) return 0;
    if (c->shutdown) return ESHUTDOWN;
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
    chan_lock(c);
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
  return mp_chan_put_handing(c, hdr, hlen, data, len, block, deadline, NULL);
}

int mp_chan_put_handing(MpChan *c, const void *hdr, size_t hlen, const void *data,
                        size_t len, int block, const struct timespec *deadline,
                        uint32_t *sent) {
  Msg *m = (Msg *)mp_shm_alloc_owned(sizeof(Msg) + hlen + len, msg_lost);
  if (m == NULL) return ENOMEM;
  m->len = hlen + len;
  if (hlen) memcpy(m->data, hdr, hlen);
  if (len) memcpy(m->data + hlen, data, len);
  int rc = 0, blocked = 0;
  chan_lock(c);
  if (c->shutdown) rc = ESHUTDOWN;
  else if (is_full(c)) {
    mp_unlock(&c->mu);
    if (!block) { mp_ledger_remove(m); mp_shm_decref(m); return EAGAIN; }
    blocked = 1;
    gl_block_begin();
    spin(c, 0);
    chan_lock(c);
    rc = wait_for(c, 0, &c->get_seq, &c->putters, deadline, NULL, NULL);
  }
  if (rc == 0) {
    uint64_t off = mp_shm_off(m);
    __atomic_store_n(&m->queued, Q_QUEUED, __ATOMIC_RELEASE);
    if (sent) __atomic_store_n(sent, 1, __ATOMIC_RELEASE);
    c->linking = off;
    c->unfinished++;                    /* with 'linking': repair() links it */
    STEP(MP_CHAN_LINKING);
    if (c->tail) ((Msg *)mp_shm_ptr(c->tail))->next = off;
    else c->head = off;
    STEP(MP_CHAN_LINKED);
    c->tail = off;
    STEP(MP_CHAN_TAILED);
    __atomic_store_n(&c->count, c->count + 1, __ATOMIC_RELEASE);
    STEP(MP_CHAN_COUNTED);
    c->linking = 0;
    mp_ledger_remove(m);                /* under mu: nobody has taken it yet */
  }
  int sleepers = c->getters > 0;
  /* a woken putter that gives up passes its wake-up on */
  int pass = rc != 0 && c->putters > 0 && !is_full(c);
  mp_unlock(&c->mu);
  if (blocked) gl_block_end();
  if (rc) {
    mp_ledger_remove(m);
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
  chan_lock(c);
  if (c->count == 0 && c->shutdown) rc = ESHUTDOWN;
  else if (c->count == 0) {
    mp_unlock(&c->mu);
    if (!block) return EAGAIN;
    blocked = 1;
    gl_block_begin();
    spin(c, 1);
    chan_lock(c);
    rc = wait_for(c, 1, &c->put_seq, &c->getters, deadline, poll, poll_ud);
  }
  Msg *m = NULL;
  if (rc == 0) {
    m = (Msg *)mp_shm_ptr(c->head);
    mp_ledger_add(m, msg_taken);        /* inert while queued */
    c->head = m->next;
    STEP(MP_CHAN_UNLINKED);
    if (c->head == 0) c->tail = 0;
    STEP(MP_CHAN_UNTAILED);
    __atomic_store_n(&m->queued, Q_TAKEN, __ATOMIC_RELEASE);   /* ours, until copied out */
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
  mp_ledger_remove(m);
  mp_shm_decref(m);
  return 0;
}

void mp_chan_shutdown(MpChan *c, int immediate) {
  uint64_t removed = 0;
  chan_lock(c);
  c->shutdown = 1;
  if (immediate) {
    removed = c->head;
    c->head = c->tail = 0;
    c->unfinished = c->unfinished > c->count ? c->unfinished - c->count : 0;
    __atomic_store_n(&c->count, 0, __ATOMIC_RELEASE);
  }
  mp_unlock(&c->mu);
  mp_futex_wake(&c->put_seq, -1);
  mp_futex_wake(&c->get_seq, -1);
  mp_futex_wake(&c->join_seq, -1);
  while (removed) {
    Msg *m = (Msg *)mp_shm_ptr(removed);
    removed = m->next;
    mp_shm_decref(m);
  }
}

int mp_chan_is_shutdown(MpChan *c) {
  chan_lock(c);
  int s = c->shutdown;
  mp_unlock(&c->mu);
  return s;
}

void mp_chan_unfinished_add(MpChan *c, long d) {
  chan_lock(c);
  c->unfinished += d;
  mp_unlock(&c->mu);
}

int mp_chan_task_done(MpChan *c) {
  chan_lock(c);
  if (c->unfinished <= 0) { mp_unlock(&c->mu); return -1; }
  int zero = --c->unfinished == 0;
  int sleepers = c->joiners > 0;
  mp_unlock(&c->mu);
  if (zero) bump(&c->join_seq, sleepers, -1);
  return 0;
}

/* Waits until every item put has been task_done()'d. 0, ETIMEDOUT, EINTR. */
int mp_chan_join(MpChan *c, const struct timespec *deadline) {
  chan_lock(c);
  if (c->unfinished == 0) { mp_unlock(&c->mu); return 0; }
  mp_unlock(&c->mu);
  int rc = 0;
  gl_block_begin();
  chan_lock(c);
  while (c->unfinished > 0) {
    if (gl_interrupted()) { rc = EINTR; break; }
    if (gl_expired(deadline)) { rc = ETIMEDOUT; break; }
    uint32_t s = __atomic_load_n(&c->join_seq, __ATOMIC_ACQUIRE);
    c->joiners++;
    mp_unlock(&c->mu);
    mp_futex_wait(&c->join_seq, s, deadline);
    chan_lock(c);
    c->joiners--;
  }
  mp_unlock(&c->mu);
  gl_block_end();
  return rc;
}

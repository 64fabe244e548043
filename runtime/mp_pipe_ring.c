/*
** mp_pipe_ring.c — the data path of multiprocessing.Pipe: a pipe is an
** arena block (PipeShm, mp_pipe.h) with two rings of RING bytes, one per
** direction. A message is a frame
**     u32 length | u32 type | payload padded to 8 bytes
** type INLINE carries the bytes, BIG carries the offset of an arena block
** holding them (messages over BIG), WRAP pads the end of the ring.
** The writer fills the frame, then publishes it by a release store of
** 'tail'; the reader takes it and publishes its progress in 'head'. No
** system call is made while the peer is busy: a waiting reader spins
** first, then sleeps.
**
** Waking: a reader about to sleep sets 'rsleep' and polls its end's
** control socket (mp_pipe.c); a writer that sees 'rsleep' sends one
** wake-up byte. (rsleep is stored, then tail re-read, with sequentially
** consistent order on both sides: a wake-up cannot be lost.) When every
** handle of the other end is closed the socket reports EOF.
**
** Who owns a BIG block: the sender until the frame naming it is published
** (in its ledger meanwhile, so a sender killed while copying gives it
** back), then the ring; the reader publishes 'head' past the frame BEFORE
** dropping the block (a reader killed between the two leaks it, never
** frees it twice). Frames never read are freed with the pipe
** (mp_ring_release): a dropped Pipe with unread big messages gives their
** space back.
**
** Locks are taken without the GIL when they are busy (a holder may be
** waiting for the peer).
*/
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "mp.h"
#include "mp_pipe.h"

#define MAX_MSG ((size_t)1 << 31)
#define SPIN 2000

enum { F_INLINE = 1, F_BIG = 2, F_WRAP = 3 };

void mp_ring_init(PipeShm *p) {
  for (int k = 0; k < 2; k++) {
    mp_mutex_init(&p->d[k].wmu, PTHREAD_MUTEX_NORMAL);
    mp_mutex_init(&p->d[k].rmu, PTHREAD_MUTEX_NORMAL);
  }
}

/* Frees the big messages between head and tail (the last reference is
** gone: nobody else reads or writes the rings). */
static void drop_unread(Dir *d) {
  uint64_t head = d->head;
  while (head != d->tail) {
    uint64_t pos = head % RING;
    uint32_t hdr[2];
    memcpy(hdr, d->ring + pos, 8);
    if (hdr[1] == F_WRAP) { head += RING - pos; continue; }
    uint64_t plen = hdr[0];
    if (hdr[1] == F_BIG) {
      uint64_t off;
      memcpy(&off, d->ring + pos + 8, 8);
      void *blk = mp_shm_block_at(off);
      if (blk) mp_shm_decref(blk);
      plen = 8;
    }
    head += 8 + ((plen + 7) & ~(uint64_t)7);
  }
  d->head = head;
}

void mp_ring_release(PipeShm *p) {
  if (!mp_shm_unref(p)) return;
  drop_unread(&p->d[0]);
  drop_unread(&p->d[1]);
  mp_shm_free(p);
}

int mp_ring_ready(PipeShm *p, int side) {
  Dir *d = &p->d[1 - side];
  return __atomic_load_n(&d->tail, __ATOMIC_ACQUIRE) != __atomic_load_n(&d->head, __ATOMIC_ACQUIRE);
}

/* ---- waiting helpers (GIL released by the caller) ---- */

/* Takes a robust mutex that may be held long; 0 or EINTR. */
static int lock_long(pthread_mutex_t *mu) {
  for (;;) {
    struct timespec ts;
    gl_realtime_slice(&ts);
    int rc = pthread_mutex_timedlock(mu, &ts);
    if (rc == 0) return 0;
    if (rc == EOWNERDEAD) { pthread_mutex_consistent(mu); return 0; }
    if (gl_interrupted()) return EINTR;
  }
}

/* Locks mu: without releasing the GIL when free, else with it released.
** *released tells the caller to call gl_block_end() later. */
static int lock_maybe_block(pthread_mutex_t *mu, int *released) {
  int rc = pthread_mutex_trylock(mu);
  if (rc == 0) return 0;
  if (rc == EOWNERDEAD) { pthread_mutex_consistent(mu); return 0; }
  if (!*released) { gl_block_begin(); *released = 1; }
  return lock_long(mu);
}


/* Drains wake-up bytes; returns -1 on EOF (every peer handle closed). */
static int drain_wakeups(int fd) {
  char buf[64];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n == 0) return -1;
    if (errno == EINTR) continue;
    return (errno == ECONNRESET) ? -1 : 0;
  }
}

static uint64_t pad8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* ---- writing ---- */

/* Waits for 'need' contiguous-or-wrappable bytes of space (wmu held, GIL
** released). 0, EINTR, EPIPE. */
static int wait_space(Dir *d, int fd, PipeShm *p, int peer, uint64_t need) {
  for (int i = 0;; i++) {
    uint64_t head = __atomic_load_n(&d->head, __ATOMIC_ACQUIRE);
    uint64_t pos = d->tail % RING, contiguous = RING - pos;
    uint64_t want = need + (contiguous < need ? contiguous : 0);
    if (RING - (d->tail - head) >= want) return 0;
    if (__atomic_load_n(&p->open[peer], __ATOMIC_SEQ_CST) == 0) return EPIPE;
    if (i < SPIN) { if ((i & 7) == 7) sched_yield(); continue; }
    if (gl_interrupted()) return EINTR;
    struct pollfd pf = { fd, POLLRDHUP, 0 };
    if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP | POLLERR))) return EPIPE;
    uint32_t s = __atomic_load_n(&d->space_seq, __ATOMIC_ACQUIRE);
    __atomic_fetch_add(&d->wwait, 1, __ATOMIC_SEQ_CST);
    if (RING - (d->tail - __atomic_load_n(&d->head, __ATOMIC_SEQ_CST)) < want)
      mp_futex_wait(&d->space_seq, s, NULL);
    __atomic_fetch_sub(&d->wwait, 1, __ATOMIC_SEQ_CST);
  }
}

int mp_ring_send(PipeShm *p, int side, int fd, const void *data, size_t len) {
  if (len >= MAX_MSG) return EMSGSIZE;
  int peer = 1 - side;
  if (__atomic_load_n(&p->open[peer], __ATOMIC_SEQ_CST) == 0) return EPIPE;
  Dir *d = &p->d[side];
  uint32_t type = F_INLINE;
  uint64_t off = 0;
  const void *payload = data;
  uint64_t plen = len;
  void *blk = NULL;
  if (len > BIG) {                      /* big: the bytes go in their own block */
    blk = mp_shm_alloc_owned(len, NULL);      /* ours until the frame is published */
    if (blk == NULL) return ENOMEM;
    memcpy(blk, data, len);
    off = mp_shm_off(blk);
    payload = &off;
    plen = 8;
    type = F_BIG;
  }
  uint64_t need = 8 + pad8(plen);
  int released = 0;
  int rc = lock_maybe_block(&d->wmu, &released);
  if (rc == 0) {
    uint64_t head = __atomic_load_n(&d->head, __ATOMIC_ACQUIRE);
    uint64_t pos = d->tail % RING, contiguous = RING - pos;
    uint64_t want = need + (contiguous < need ? contiguous : 0);
    if (RING - (d->tail - head) < want) {
      if (!released) { gl_block_begin(); released = 1; }
      rc = wait_space(d, fd, p, peer, need);
    }
    if (rc == 0) {
      pos = d->tail % RING;
      contiguous = RING - pos;
      if (contiguous < need) {            /* pad to the end, start over at 0 */
        uint32_t wrap[2] = {0, F_WRAP};
        memcpy(d->ring + pos, wrap, 8);
        d->tail += contiguous;
        pos = 0;
      }
      uint32_t hdr[2] = {(uint32_t)len, type};
      memcpy(d->ring + pos, hdr, 8);
      memcpy(d->ring + pos + 8, payload, plen);
      mp_ledger_remove(blk);            /* the ring's from the next store on */
      __atomic_store_n(&d->tail, d->tail + need, __ATOMIC_SEQ_CST);
    }
    pthread_mutex_unlock(&d->wmu);
  }
  if (rc == 0 && __atomic_load_n(&d->rsleep, __ATOMIC_SEQ_CST))
    send(fd, "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (released) gl_block_end();
  if (rc && blk) {
    mp_ledger_remove(blk);
    mp_shm_decref(blk);
  }
  return rc;
}
/* ---- reading ---- */

/* Takes one frame (rmu held). 1 taken, 0 ring empty. */
static int take(Dir *d, char **out, size_t *outlen) {
  for (;;) {
    uint64_t tail = __atomic_load_n(&d->tail, __ATOMIC_ACQUIRE);
    if (tail == d->head) return 0;
    uint64_t pos = d->head % RING;
    uint32_t hdr[2];
    memcpy(hdr, d->ring + pos, 8);
    if (hdr[1] == F_WRAP) {
      __atomic_store_n(&d->head, d->head + (RING - pos), __ATOMIC_RELEASE);
      continue;
    }
    size_t len = hdr[0];
    char *buf = (char *)malloc(len ? len : 1);
    if (buf == NULL) abort();
    uint64_t plen = len;
    void *blk = NULL;
    if (hdr[1] == F_BIG) {
      uint64_t off;
      memcpy(&off, d->ring + pos + 8, 8);
      blk = mp_shm_ptr(off);
      memcpy(buf, blk, len);
      plen = 8;
    } else if (len) memcpy(buf, d->ring + pos + 8, len);
    __atomic_store_n(&d->head, d->head + 8 + pad8(plen), __ATOMIC_SEQ_CST);
    if (blk) mp_shm_decref(blk);        /* after head: see the top of the file */
    if (__atomic_load_n(&d->wwait, __ATOMIC_SEQ_CST)) mp_futex_wake(&d->space_seq, -1);
    *out = buf;
    *outlen = len;
    return 1;
  }
}

/* Waits until the ring has data (1) or EOF (-1), EINTR, ETIMEDOUT. GIL
** released by the caller. */
static int wait_data(Dir *d, int fd, const struct timespec *dl) {
  for (int i = 0; i < SPIN; i++) {
    if (__atomic_load_n(&d->tail, __ATOMIC_ACQUIRE) != d->head) return 1;
    /* yield often, and no `pause` in between: on this VM a pause loop
    ** costs more (hypervisor pause-loop exits) than it saves */
    if ((i & 7) == 7) sched_yield(); else __asm__ __volatile__("" ::: "memory");
  }
  for (;;) {
    __atomic_store_n(&d->rsleep, 1, __ATOMIC_SEQ_CST);
    int rc = 0;
    if (__atomic_load_n(&d->tail, __ATOMIC_SEQ_CST) != d->head) rc = 1;
    else {
      int ms = gl_slice_ms(dl);
      struct pollfd pf = { fd, POLLIN, 0 };
      if (ms > 0 && poll(&pf, 1, ms) > 0 && drain_wakeups(fd) < 0)
        rc = __atomic_load_n(&d->tail, __ATOMIC_SEQ_CST) != d->head ? 1 : -1;
      else if (__atomic_load_n(&d->tail, __ATOMIC_SEQ_CST) != d->head) rc = 1;
      else if (gl_interrupted()) rc = EINTR;
      else if (gl_expired(dl)) rc = ETIMEDOUT;
    }
    __atomic_store_n(&d->rsleep, 0, __ATOMIC_SEQ_CST);
    if (rc) return rc;
  }
}

int mp_ring_recv(PipeShm *p, int side, int fd, char **out, size_t *outlen) {
  Dir *d = &p->d[1 - side];
  int released = 0;
  int rc = lock_maybe_block(&d->rmu, &released);
  if (rc == 0) {
    while (!take(d, out, outlen)) {
      if (!released) { gl_block_begin(); released = 1; }
      rc = wait_data(d, fd, NULL);
      if (rc != 1) break;
      rc = 0;
    }
    pthread_mutex_unlock(&d->rmu);
  }
  if (released) gl_block_end();
  return rc;
}

int mp_ring_wait(PipeShm *p, int side, int fd, const struct timespec *dl) {
  Dir *d = &p->d[1 - side];
  int released = 0;
  int rc = lock_maybe_block(&d->rmu, &released);
  if (rc == 0) {
    if (!released) { gl_block_begin(); released = 1; }
    rc = wait_data(d, fd, dl);
    pthread_mutex_unlock(&d->rmu);
  }
  if (released) gl_block_end();
  return rc;
}

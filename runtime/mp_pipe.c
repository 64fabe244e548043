/*
** mp_pipe.c — multiprocessing.Pipe([duplex]) -> conn1, conn2.
**
** Data path: shared memory. A pipe is an arena block with two rings of
** RING bytes, one per direction. A message is a frame
**     u32 length | u32 type | payload padded to 8 bytes
** type INLINE carries the bytes, BIG carries the offset of an arena block
** holding them (messages over RING/4), WRAP pads the end of the ring.
** The writer fills the frame, then publishes it by a release store of
** 'tail'; the reader takes it and publishes its progress in 'head'. No
** system call is made while the peer is busy: a waiting reader spins
** first, then sleeps.
**
** Control path: a Unix socketpair, one socket per end (inherited by forked
** children like any fd). A reader about to sleep sets 'rsleep' and polls
** its socket; a writer that sees 'rsleep' sends one wake-up byte. When
** every handle of the other end is closed — also by a process killed with
** SIGKILL, since the kernel closes its fds — the socket reports EOF, and
** recv() raises "EOFError" once the ring is empty instead of blocking
** forever. (rsleep is stored, then tail re-read, with sequentially
** consistent order on both sides: a wake-up cannot be lost.)
**
** Each end also counts its open handles across processes ('open', a
** forked child adds its inherited ones, close/GC/child exit subtract), so
** send() to an end whose handles were all closed raises "BrokenPipeError"
** without a system call; a killed reader is noticed when the ring is full.
**
** Concurrency: per direction, writers are serialized by 'wmu' and readers
** by 'rmu' (robust, process-shared: threads and processes alike). A
** frame's bytes are written only by the wmu holder before tail is
** published and read only by the rmu holder before head is published.
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

#include <lauxlib.h>

#include "block.h"
#include "mp.h"

#define RING ((uint64_t)32 * 1024 - 128)   /* a pipe then fits a 64 KiB arena class */
#define BIG (RING / 4)
#define MAX_MSG ((size_t)1 << 31)
#define SPIN 2000

enum { F_INLINE = 1, F_BIG = 2, F_WRAP = 3 };

typedef struct Dir {
  pthread_mutex_t wmu, rmu;
  uint64_t head, tail;          /* bytes consumed / produced, ever growing */
  uint32_t rsleep;              /* a reader sleeps in poll() */
  uint32_t space_seq;           /* futex: bumped when space is freed and wwait */
  uint32_t wwait;               /* writers waiting for space */
  unsigned char ring[RING];
} Dir;

typedef struct PipeShm {
  Dir d[2];                     /* d[k]: written by end k, read by end 1-k */
  int open[2];                  /* open handles of each end, all processes */
} PipeShm;

_Static_assert(sizeof(PipeShm) <= 65536, "PipeShm must fit a 64 KiB block");

typedef struct EndRef {         /* arena block: one per end, refs = handles */
  PipeShm *pipe;                /* one shared reference */
  int side;
} EndRef;

typedef struct Conn {
  MpRef ref;                    /* ref.shared: the EndRef */
  int fd;
  int readable, writable;
  atomic_int closed;            /* this handle */
  int counted;                  /* contributes to pipe->open[side] */
} Conn;

/* ---- handle lifetime ---- */

static void end_release(void *p) {
  EndRef *e = (EndRef *)p;
  if (!mp_shm_unref(e)) return;
  mp_shm_decref(e->pipe);
  mp_shm_free(e);
}

static EndRef *end_of(Conn *c) { return (EndRef *)c->ref.shared; }

static void uncount(Conn *c) {
  if (!c->counted) return;
  c->counted = 0;
  EndRef *e = end_of(c);
  __atomic_fetch_sub(&e->pipe->open[e->side], 1, __ATOMIC_SEQ_CST);
}

static void conn_forked(MpRef *r, int delta) {
  Conn *c = (Conn *)r;
  if (c->counted) __atomic_fetch_add(&end_of(c)->pipe->open[end_of(c)->side], delta, __ATOMIC_SEQ_CST);
}

static void conn_closing(MpRef *r) { uncount((Conn *)r); }

static void conn_destroy(RtObject *o, lua_State *L) {
  (void)L;
  Conn *c = (Conn *)o;
  if (!atomic_exchange(&c->closed, 1)) close(c->fd);
  mp_ref_destroy(&c->ref);       /* closing() uncounts */
}

static const RtType conn_type = {"multiprocessing.Connection", "multiprocessing",
                                 conn_destroy, NULL};

static Conn *check_conn(lua_State *L, int need) {
  Conn *c = (Conn *)rt_check(L, 1, &conn_type);
  if (atomic_load(&c->closed)) luaL_error(L, "connection is closed");
  if (need == 'r' && !c->readable) luaL_error(L, "connection is write-only");
  if (need == 'w' && !c->writable) luaL_error(L, "connection is read-only");
  return c;
}

static void push_conn(lua_State *L, PipeShm *p, int side, int fd, int r, int w) {
  EndRef *e = (EndRef *)mp_shm_alloc(sizeof(EndRef));
  Conn *c = e ? (Conn *)calloc(1, sizeof(Conn)) : NULL;
  if (c == NULL) {
    if (e) mp_shm_decref(e);
    close(fd);
    luaL_error(L, "Pipe: out of memory");
  }
  mp_shm_incref(p);
  e->pipe = p;
  e->side = side;
  mp_ref_init(&c->ref, &conn_type, e);
  c->ref.release = end_release;
  c->ref.forked = conn_forked;
  c->ref.closing = conn_closing;
  c->fd = fd;
  c->readable = r;
  c->writable = w;
  c->counted = 1;
  __atomic_fetch_add(&p->open[side], 1, __ATOMIC_SEQ_CST);
  rt_push_owned(L, &c->ref.rt);
}

/* Pipe([duplex]) */
static int mp_Pipe(lua_State *L) {
  int duplex = lua_isnoneornil(L, 1) || lua_toboolean(L, 1);
  int sv[2];
  PipeShm *p = (PipeShm *)mp_shm_alloc_or_raise(L, sizeof(PipeShm), "Pipe");
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    mp_shm_decref(p);
    return luaL_error(L, "Pipe: %s", strerror(errno));
  }
  for (int k = 0; k < 2; k++) {
    mp_mutex_init(&p->d[k].wmu, PTHREAD_MUTEX_NORMAL);
    mp_mutex_init(&p->d[k].rmu, PTHREAD_MUTEX_NORMAL);
  }
  push_conn(L, p, 0, sv[0], 1, duplex);   /* conn1: reads d[1], writes d[0] */
  push_conn(L, p, 1, sv[1], duplex, 1);   /* conn2: reads d[0], writes d[1] */
  mp_shm_decref(p);                       /* the ends hold it */
  return 2;
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

/* Sends one frame. 0, EMSGSIZE, ENOMEM, EPIPE or EINTR (nothing raised, so
** the caller can free its buffer first: see raise_send). */
static int send_frame(Conn *c, const void *data, size_t len) {
  if (len >= MAX_MSG) return EMSGSIZE;
  EndRef *e = end_of(c);
  PipeShm *p = e->pipe;
  int peer = 1 - e->side;
  if (__atomic_load_n(&p->open[peer], __ATOMIC_SEQ_CST) == 0) return EPIPE;
  Dir *d = &p->d[e->side];
  uint32_t type = F_INLINE;
  uint64_t off = 0;
  const void *payload = data;
  uint64_t plen = len;
  void *blk = NULL;
  if (len > BIG) {                      /* big: the bytes go in their own block */
    blk = mp_shm_alloc(len);
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
      rc = wait_space(d, c->fd, p, peer, need);
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
      __atomic_store_n(&d->tail, d->tail + need, __ATOMIC_SEQ_CST);
    }
    pthread_mutex_unlock(&d->wmu);
  }
  if (rc == 0 && __atomic_load_n(&d->rsleep, __ATOMIC_SEQ_CST))
    send(c->fd, "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (released) gl_block_end();
  if (rc && blk) mp_shm_decref(blk);
  return rc;
}

static int raise_send(lua_State *L, int rc, size_t len) {
  if (rc == EINTR) return gl_raise_interrupt(L);
  if (rc == EMSGSIZE) return luaL_error(L, "message too long (%d bytes)", (int)len);
  if (rc == ENOMEM) return luaL_error(L, "send: shared memory exhausted (%d bytes)", (int)len);
  return luaL_error(L, "BrokenPipeError: the other end of the connection is closed");
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
    if (hdr[1] == F_BIG) {
      uint64_t off;
      memcpy(&off, d->ring + pos + 8, 8);
      void *blk = mp_shm_ptr(off);
      memcpy(buf, blk, len);
      mp_shm_decref(blk);
      plen = 8;
    } else if (len) memcpy(buf, d->ring + pos + 8, len);
    __atomic_store_n(&d->head, d->head + 8 + pad8(plen), __ATOMIC_SEQ_CST);
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

static void recv_frame(lua_State *L, Conn *c, char **out, size_t *outlen) {
  EndRef *e = end_of(c);
  Dir *d = &e->pipe->d[1 - e->side];
  int released = 0;
  int rc = lock_maybe_block(&d->rmu, &released);
  if (rc == 0) {
    while (!take(d, out, outlen)) {
      if (!released) { gl_block_begin(); released = 1; }
      rc = wait_data(d, c->fd, NULL);
      if (rc != 1) break;
      rc = 0;
    }
    pthread_mutex_unlock(&d->rmu);
  }
  if (released) gl_block_end();
  if (rc == EINTR) gl_raise_interrupt(L);
  if (rc == -1) luaL_error(L, "EOFError: the other end of the connection is closed");
  if (rc) luaL_error(L, "recv: %s", strerror(rc));
}

/* ---- methods ---- */

static int c_send(lua_State *L) {
  Conn *c = check_conn(L, 'w');
  luaL_checkany(L, 2);
  TrBuffer b;
  mp_mark(L, 2, 1);
  mp_encode(L, 2, 1, "obj", &b);
  size_t len = b.len;
  int rc = send_frame(c, b.data, len);
  mp_encoded_done(&b);
  return rc ? raise_send(L, rc, len) : 0;
}

static int c_recv(lua_State *L) {
  Conn *c = check_conn(L, 'r');
  char *buf;
  size_t n;
  recv_frame(L, c, &buf, &n);
  char err[TR_ERRMAX];
  lua_settop(L, 1);
  int k = tr_decode(L, buf, n, err, sizeof err);
  int marked = k > 0 && mp_marked(buf, n);
  free(buf);
  if (k < 0) return luaL_error(L, "recv: bad message: %s", err);
  if (marked) mp_unmark(L, 2, k);
  return k;
}

/* send_bytes(s[, offset[, size]]) — offset is 0-based as in Python */
static int c_send_bytes(lua_State *L) {
  Conn *c = check_conn(L, 'w');
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  lua_Integer off = luaL_optinteger(L, 3, 0);
  if (off < 0 || (size_t)off > len) return luaL_argerror(L, 3, "offset out of range");
  lua_Integer size = luaL_optinteger(L, 4, (lua_Integer)(len - (size_t)off));
  if (size < 0 || (size_t)(off + size) > len) return luaL_argerror(L, 4, "size out of range");
  int rc = send_frame(c, s + off, (size_t)size);
  return rc ? raise_send(L, rc, (size_t)size) : 0;
}

static int c_recv_bytes(lua_State *L) {
  Conn *c = check_conn(L, 'r');
  lua_Integer maxlen = luaL_optinteger(L, 2, -1);
  char *buf;
  size_t n;
  recv_frame(L, c, &buf, &n);
  if (maxlen >= 0 && n > (size_t)maxlen) {
    free(buf);
    if (!atomic_exchange(&c->closed, 1)) { close(c->fd); uncount(c); }
    return luaL_error(L, "recv_bytes: message of %d bytes is longer than maxlength %d",
                      (int)n, (int)maxlen);
  }
  lua_pushlstring(L, buf, n);
  free(buf);
  return 1;
}

/* poll([timeout]) -> true when a message (or EOF) is there. No argument:
** does not wait (as Python); poll(nil) waits without limit. */
static int c_poll(lua_State *L) {
  Conn *c = check_conn(L, 'r');
  EndRef *e = end_of(c);
  Dir *d = &e->pipe->d[1 - e->side];
  if (__atomic_load_n(&d->tail, __ATOMIC_ACQUIRE) != __atomic_load_n(&d->head, __ATOMIC_ACQUIRE)) {
    lua_pushboolean(L, 1);
    return 1;
  }
  struct timespec ts, *dl;
  if (lua_gettop(L) < 2) dl = gl_deadline(&ts, 0);
  else dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  struct pollfd pf = { c->fd, POLLIN | POLLRDHUP, 0 };
  if (dl && gl_expired(dl)) {          /* no wait: EOF counts as readable */
    int eof = poll(&pf, 1, 0) > 0 && (pf.revents & (POLLRDHUP | POLLHUP));
    lua_pushboolean(L, eof);
    return 1;
  }
  int released = 0;
  int rc = lock_maybe_block(&d->rmu, &released);
  if (rc == 0) {
    if (!released) { gl_block_begin(); released = 1; }
    rc = wait_data(d, c->fd, dl);
    pthread_mutex_unlock(&d->rmu);
  }
  if (released) gl_block_end();
  if (rc == EINTR) return gl_raise_interrupt(L);
  lua_pushboolean(L, rc == 1 || rc == -1);
  return 1;
}

static int c_close(lua_State *L) {
  Conn *c = (Conn *)rt_check(L, 1, &conn_type);
  if (!atomic_exchange(&c->closed, 1)) {
    close(c->fd);
    uncount(c);
  }
  return 0;
}

static int c_index(lua_State *L) {
  Conn *c = (Conn *)rt_check(L, 1, &conn_type);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "closed") == 0) lua_pushboolean(L, atomic_load(&c->closed));
  else if (strcmp(k, "readable") == 0) lua_pushboolean(L, c->readable);
  else if (strcmp(k, "writable") == 0) lua_pushboolean(L, c->writable);
  else {
    lua_getmetatable(L, 1);
    lua_getfield(L, -1, "methods");
    lua_getfield(L, -1, k);
  }
  return 1;
}

static const luaL_Reg conn_methods[] = {
  {"send", c_send}, {"recv", c_recv}, {"send_bytes", c_send_bytes},
  {"recv_bytes", c_recv_bytes}, {"poll", c_poll}, {"close", c_close},
  {NULL, NULL}
};

void mp_open_pipe(lua_State *L) {
  rt_newtype(L, &conn_type, conn_methods);
  lua_getfield(L, -1, "__index");
  lua_setfield(L, -2, "methods");
  lua_pushcfunction(L, c_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, mp_ref_eq);
  lua_setfield(L, -2, "__eq");
  lua_pop(L, 1);
  lua_pushcfunction(L, mp_Pipe);
  lua_setfield(L, -2, "Pipe");
}

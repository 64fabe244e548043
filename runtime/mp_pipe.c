/*
** mp_pipe.c — multiprocessing.Pipe([duplex]) -> conn1, conn2.
**
** A connection is a local runtime object owning one end of a Unix stream
** socketpair (inherited by forked children). A message is a frame: a
** 4-byte little-endian length, then the bytes (send/recv: the value
** transfer's encoding; send_bytes/recv_bytes: raw). Writers are serialized
** per connection by send_mu and readers by recv_mu, so frames from the
** threads of one process never interleave; frames written by several
** processes to one end may interleave only above the socket's atomic size
** (as in Python: one writer per end is the rule).
**
** recv() on a connection whose every peer end is closed raises
** "EOFError: ..." instead of blocking. Blocking calls first try without
** releasing the GIL, then wait in poll() slices (<= 50 ms, Ctrl-C aware)
** with the GIL released. send() never raises SIGPIPE (MSG_NOSIGNAL).
**
** Fields: fd, readable, writable are set at creation; 'closed' is atomic;
** send_mu / recv_mu are reset in a forked child (after_fork).
*/
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mp.h"

#define MAX_FRAME ((size_t)1 << 31)
#define SPIN_TRIES 64

typedef struct Conn {
  RtObject rt;
  int fd;
  int readable, writable;
  atomic_int closed;
  pthread_mutex_t send_mu, recv_mu;
} Conn;

static void conn_destroy(RtObject *o, lua_State *L) {
  (void)L;
  Conn *c = (Conn *)o;
  rt_unlink(o);
  if (!atomic_load(&c->closed)) close(c->fd);
  pthread_mutex_destroy(&c->send_mu);
  pthread_mutex_destroy(&c->recv_mu);
  free(c);
}

static void conn_after_fork(RtObject *o) {
  Conn *c = (Conn *)o;
  pthread_mutex_init(&c->send_mu, NULL);
  pthread_mutex_init(&c->recv_mu, NULL);
}

static const RtType conn_type = {"multiprocessing.Connection", "multiprocessing",
                                 conn_destroy, conn_after_fork};

static Conn *check_conn(lua_State *L, int need) {
  Conn *c = (Conn *)rt_check(L, 1, &conn_type);
  if (atomic_load(&c->closed)) luaL_error(L, "connection is closed");
  if (need == 'r' && !c->readable) luaL_error(L, "connection is write-only");
  if (need == 'w' && !c->writable) luaL_error(L, "connection is read-only");
  return c;
}

static void push_conn(lua_State *L, int fd, int r, int w) {
  Conn *c = (Conn *)calloc(1, sizeof(Conn));
  if (c == NULL) { close(fd); luaL_error(L, "out of memory"); }
  rt_init(&c->rt, &conn_type);
  c->fd = fd;
  c->readable = r;
  c->writable = w;
  pthread_mutex_init(&c->send_mu, NULL);
  pthread_mutex_init(&c->recv_mu, NULL);
  rt_push_owned(L, &c->rt);
}

/* Pipe([duplex]) */
static int mp_Pipe(lua_State *L) {
  int duplex = lua_isnoneornil(L, 1) || lua_toboolean(L, 1);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return luaL_error(L, "Pipe: %s", strerror(errno));
  if (!duplex) {
    shutdown(sv[0], SHUT_WR);
    shutdown(sv[1], SHUT_RD);
  }
  push_conn(L, sv[0], 1, duplex);
  push_conn(L, sv[1], duplex, 1);
  return 2;
}

/* Waits (GIL released by the caller) until fd is ready for 'events' or
** the deadline passes. 0 ready, ETIMEDOUT, EINTR. */
static int wait_fd(int fd, short events, const struct timespec *deadline) {
  for (;;) {
    int ms = 50;
    if (deadline) {
      if (mp_expired(deadline)) return ETIMEDOUT;
      uint64_t d = (uint64_t)deadline->tv_sec * 1000000000ull + (uint64_t)deadline->tv_nsec;
      uint64_t left = (d - gl_now_ns()) / 1000000 + 1;
      if (left < (uint64_t)ms) ms = (int)left;
    }
    struct pollfd p = { fd, events, 0 };
    int r = poll(&p, 1, ms);
    if (r > 0) return 0;
    if (gl_interrupted()) return EINTR;
  }
}

/* Writes all of [a, an) then [b, bn). GIL released by the caller. 0 or an
** errno (EPIPE when the peer is gone, EINTR on Ctrl-C). */
static int write_all(int fd, const void *a, size_t an, const void *b, size_t bn) {
  struct iovec iov[2] = {{(void *)a, an}, {(void *)b, bn}};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = iov;
  mh.msg_iovlen = 2;
  while (iov[0].iov_len + iov[1].iov_len > 0) {
    ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) return errno;
      int rc = wait_fd(fd, POLLOUT, NULL);
      if (rc) return rc;
      continue;
    }
    size_t n = (size_t)w;
    for (int i = 0; i < 2 && n > 0; i++) {
      size_t k = n < iov[i].iov_len ? n : iov[i].iov_len;
      iov[i].iov_base = (char *)iov[i].iov_base + k;
      iov[i].iov_len -= k;
      n -= k;
    }
    if (iov[0].iov_len == 0) { mh.msg_iov = &iov[1]; mh.msg_iovlen = 1; }
  }
  return 0;
}

static void send_frame(lua_State *L, Conn *c, const void *p, size_t n) {
  if (n >= MAX_FRAME) luaL_error(L, "message too long (%zu bytes)", n);
  unsigned char hdr[4] = {(unsigned char)n, (unsigned char)(n >> 8),
                          (unsigned char)(n >> 16), (unsigned char)(n >> 24)};
  /* fast path: the whole frame fits now, GIL kept */
  int rc = -1;
  if (pthread_mutex_trylock(&c->send_mu) == 0) {
    struct iovec iov[2] = {{hdr, 4}, {(void *)p, n}};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w == (ssize_t)(n + 4)) rc = 0;
    else if (w < 0 && errno != EAGAIN && errno != EINTR) rc = errno;
    else {
      size_t done = w > 0 ? (size_t)w : 0;
      size_t h = done < 4 ? 4 - done : 0;
      size_t pd = done > 4 ? done - 4 : 0;
      gl_block_begin();
      rc = write_all(c->fd, hdr + (4 - h), h, (const char *)p + pd, n - pd);
      gl_block_end();
    }
    pthread_mutex_unlock(&c->send_mu);
  } else {
    gl_block_begin();
    pthread_mutex_lock(&c->send_mu);
    rc = write_all(c->fd, hdr, 4, p, n);
    pthread_mutex_unlock(&c->send_mu);
    gl_block_end();
  }
  if (rc == EINTR) gl_raise_interrupt(L);
  if (rc == EPIPE || rc == ECONNRESET)
    luaL_error(L, "BrokenPipeError: the other end of the connection is closed");
  if (rc) luaL_error(L, "send: %s", strerror(rc));
}

/* Reads exactly n bytes. GIL released by the caller. 0, EOF (-1: clean EOF
** before any byte), EPIPE (EOF in the middle), EINTR, ETIMEDOUT. */
static int read_all(int fd, void *p, size_t n, const struct timespec *dl, int first) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, (char *)p + got, n - got, MSG_DONTWAIT);
    if (r > 0) { got += (size_t)r; first = 0; continue; }
    if (r == 0) return (first && got == 0) ? -1 : EPIPE;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return errno == ECONNRESET ? -1 : errno;
    int rc = wait_fd(fd, POLLIN, dl);
    if (rc) return rc;
  }
  return 0;
}

/* Receives one frame into a malloc'ed buffer. */
static int recv_frame(lua_State *L, Conn *c, char **out, size_t *outlen) {
  unsigned char hdr[4];
  int rc;
  gl_block_begin();
  pthread_mutex_lock(&c->recv_mu);
  /* brief spin for a frame that is about to arrive */
  for (int i = 0; i < SPIN_TRIES; i++) {
    struct pollfd p = { c->fd, POLLIN, 0 };
    if (poll(&p, 1, 0) > 0) break;
    sched_yield();
  }
  rc = read_all(c->fd, hdr, 4, NULL, 1);
  char *buf = NULL;
  size_t n = 0;
  if (rc == 0) {
    n = (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16 | (size_t)hdr[3] << 24;
    buf = (char *)malloc(n ? n : 1);
    if (buf == NULL) rc = ENOMEM;
    else rc = read_all(c->fd, buf, n, NULL, 0);
  }
  pthread_mutex_unlock(&c->recv_mu);
  gl_block_end();
  if (rc) {
    free(buf);
    if (rc == EINTR) gl_raise_interrupt(L);
    if (rc == -1) luaL_error(L, "EOFError: the other end of the connection is closed");
    if (rc == EPIPE) luaL_error(L, "EOFError: connection closed in the middle of a message");
    luaL_error(L, "recv: %s", strerror(rc));
  }
  *out = buf;
  *outlen = n;
  return 0;
}

static int c_send(lua_State *L) {
  Conn *c = check_conn(L, 'w');
  luaL_checkany(L, 2);
  TrBuffer b;
  mp_encode(L, 2, 1, "obj", &b);
  send_frame(L, c, b.data, b.len);   /* on error the buffer leaks only its bytes' refs */
  mp_encoded_done(&b);
  return 0;
}

static int c_recv(lua_State *L) {
  Conn *c = check_conn(L, 'r');
  char *buf;
  size_t n;
  recv_frame(L, c, &buf, &n);
  char err[TR_ERRMAX];
  lua_settop(L, 1);
  int k = tr_decode(L, buf, n, err, sizeof err);
  free(buf);
  if (k < 0) return luaL_error(L, "recv: bad message: %s", err);
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
  send_frame(L, c, s + off, (size_t)size);
  return 0;
}

static int c_recv_bytes(lua_State *L) {
  Conn *c = check_conn(L, 'r');
  lua_Integer maxlen = luaL_optinteger(L, 2, -1);
  char *buf;
  size_t n;
  recv_frame(L, c, &buf, &n);
  if (maxlen >= 0 && n > (size_t)maxlen) {
    free(buf);
    atomic_store(&c->closed, 1);
    close(c->fd);
    return luaL_error(L, "recv_bytes: message of %d bytes is longer than maxlength %d",
                      (int)n, (int)maxlen);
  }
  lua_pushlstring(L, buf, n);
  free(buf);
  return 1;
}

/* poll([timeout]) -> true when data (or EOF) is available. No timeout
** given: does not wait (as Python). nil timeout explicitly: waits. */
static int c_poll(lua_State *L) {
  Conn *c = check_conn(L, 'r');
  struct pollfd p = { c->fd, POLLIN, 0 };
  if (poll(&p, 1, 0) > 0) { lua_pushboolean(L, 1); return 1; }
  if (lua_gettop(L) < 2) { lua_pushboolean(L, 0); return 1; }
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts);
  gl_block_begin();
  int rc = wait_fd(c->fd, POLLIN, dl);
  gl_block_end();
  if (rc == EINTR) return gl_raise_interrupt(L);
  lua_pushboolean(L, rc == 0);
  return 1;
}

static int c_close(lua_State *L) {
  Conn *c = (Conn *)rt_check(L, 1, &conn_type);
  if (!atomic_exchange(&c->closed, 1)) close(c->fd);
  return 0;
}

static int c_fileno(lua_State *L) {
  Conn *c = check_conn(L, 0);
  lua_pushinteger(L, c->fd);
  return 1;
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
  {"fileno", c_fileno},
  {NULL, NULL}
};

void mp_open_pipe(lua_State *L) {
  rt_newtype(L, &conn_type, conn_methods);
  lua_getfield(L, -1, "__index");
  lua_setfield(L, -2, "methods");
  lua_pushcfunction(L, c_index);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  lua_pushcfunction(L, mp_Pipe);
  lua_setfield(L, -2, "Pipe");
}

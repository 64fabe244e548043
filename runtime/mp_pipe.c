/*
** mp_pipe.c — multiprocessing.Pipe([duplex]) -> conn1, conn2: the
** Connection objects. The data travel through shared memory
** (mp_pipe_ring.c); this file holds the handles and the control path.
**
** Control path: a Unix socketpair, one socket per end (inherited by forked
** children like any fd). A reader about to sleep polls its socket and a
** writer sends it one wake-up byte (mp_pipe_ring.c). When every handle of
** the other end is closed — also by a process killed with SIGKILL, since
** the kernel closes its fds — the socket reports EOF, and recv() raises
** "EOFError" once the ring is empty instead of blocking forever.
**
** Each end also counts its open handles across processes ('open', a
** forked child adds its inherited ones, close/GC/child exit subtract), so
** send() to an end whose handles were all closed raises "BrokenPipeError"
** without a system call; a killed reader is noticed when the ring is full.
**
** Lifetime: each end is an arena block (EndRef) whose refcount counts the
** handles on that end in every process; each EndRef holds one reference
** on the PipeShm, whose last release frees unread big messages too.
*/
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mp.h"
#include "mp_pipe.h"

_Static_assert(sizeof(PipeShm) <= 65536, "PipeShm grew");

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
  mp_ring_release(e->pipe);
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
  c->ref.release = end_release;
  mp_ref_init(&c->ref, &conn_type, e);
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
    mp_ring_release(p);
    return luaL_error(L, "Pipe: %s", strerror(errno));
  }
  mp_ring_init(p);
  push_conn(L, p, 0, sv[0], 1, duplex);   /* conn1: reads d[1], writes d[0] */
  push_conn(L, p, 1, sv[1], duplex, 1);   /* conn2: reads d[0], writes d[1] */
  mp_ring_release(p);                     /* the ends hold it */
  return 2;
}

static int raise_send(lua_State *L, int rc, size_t len) {
  if (rc == EINTR) return gl_raise_interrupt(L);
  if (rc == EMSGSIZE) return luaL_error(L, "message too long (%d bytes)", (int)len);
  if (rc == ENOMEM) return mp_raise_exhausted(L, "send", len);
  return luaL_error(L, "BrokenPipeError: the other end of the connection is closed");
}


static void recv_frame(lua_State *L, Conn *c, char **out, size_t *outlen) {
  int rc = mp_ring_recv(end_of(c)->pipe, end_of(c)->side, c->fd, out, outlen);
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
  int rc = mp_ring_send(end_of(c)->pipe, end_of(c)->side, c->fd, b.data, len);
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
  int rc = mp_ring_send(end_of(c)->pipe, end_of(c)->side, c->fd, s + off, (size_t)size);
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
  if (mp_ring_ready(e->pipe, e->side)) {
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
  int rc = mp_ring_wait(e->pipe, e->side, c->fd, dl);
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

/*
** mgr_net_server.c — the managers' TCP server: one poll loop accepts
** connections and runs their handshakes (mp_auth.c's state machine), and
** each authenticated connection gets a handler thread (a daemon
** threading.Thread in the serving universe, so every handler sees the
** same objects; the GIL serialises their Lua, and a handler blocked in,
** say, queue:get lets the others run).
**
** Bounded before authentication: at most MGR_MAX_PENDING handshakes at a
** time (a new connection evicts the oldest), each with its own deadline,
** each message at most MGR_HS_MAXFRAME bytes, nothing decoded; a peer that
** fails is logged with its address and closed. After it: at most
** MGR_MAX_CLIENTS connections, frames at most MGR_MAXFRAME, a begun frame
** completes within MGR_FRAME_TIMEOUT.
*/
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mgr_net.h"

#define CONN_MT "multiprocessing.managers.connection"

typedef struct Pending {
  int fd;
  uint64_t deadline_ns;
  size_t sent;
  char peer[64];
  AuthServer hs;
} Pending;

void mgr_srv_log(const char *peer, const char *what) {
  fprintf(stderr, "multiprocessing.managers: %s: %s\n", peer, what);
  fflush(stderr);
}

void mgr_srv_decref(NetServer *s) {
  if (atomic_fetch_sub(&s->refs, 1) != 1) return;
  if (s->lfd >= 0) close(s->lfd);
  if (s->wake[0] >= 0) { close(s->wake[0]); close(s->wake[1]); }
  free(s->key);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static void peer_name(int fd, char *out, size_t n) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)&ss;
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
      port = ntohs(a->sin6_port);
    }
  }
  snprintf(out, n, "%s:%d", host, port);
}

/* ---- handler threads ---- */

static void conn_unlist_close(ServerConn *c) {
  NetServer *s = c->srv;
  pthread_mutex_lock(&s->mu);
  if (c->prev) c->prev->next = c->next; else if (s->conns == c) s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  s->nconns--;
  nc_close(&c->nc);
  pthread_mutex_unlock(&s->mu);
}

static int conn_gc(lua_State *L) {
  ServerConn *c = (ServerConn *)luaL_checkudata(L, 1, CONN_MT);
  if (c->srv) {
    if (c->nc.fd >= 0) conn_unlist_close(c);
    mgr_srv_decref(c->srv);
    c->srv = NULL;
  }
  return 0;
}

/* The body of a handler thread: requests until the peer leaves. */
static int serve_conn(lua_State *L) {
  ServerConn *c = (ServerConn *)luaL_checkudata(L, 1, CONN_MT);
  NetServer *s = c->srv;
  TrBuffer reply;
  for (;;) {
    const unsigned char *req;
    size_t len;
    int rc = nc_read_frame(&c->nc, MGR_MAXFRAME, NULL, MGR_FRAME_TIMEOUT, &req, &len);
    if (rc) {
      if (rc == EMSGSIZE) mgr_srv_log(c->peer, "message over the frame limit, connection closed");
      else if (rc == ETIMEDOUT) mgr_srv_log(c->peer, "message left unfinished, connection closed");
      break;
    }
    tr_buffer_init(&reply);
    int stop = mgr_obj_dispatch(L, s, req, len, &reply);
    lua_settop(L, 1);
    rc = nc_write_frame(&c->nc, reply.data, reply.len, NULL);
    tr_buffer_free(&reply);
    if (stop) {
      atomic_store(&s->stopping, 1);
      if (write(s->wake[1], "x", 1) < 0) { /* the loop also polls 'stopping' */ }
    }
    if (rc || stop) break;
  }
  conn_unlist_close(c);
  return 0;
}

/* Starts a daemon threading.Thread running serve_conn(c) (under pcall:
** a failure closes the connection). */
static int spawn_handler(lua_State *L) {
  ServerConn *c = (ServerConn *)lua_touserdata(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "threading");
  lua_getfield(L, -1, "Thread");
  lua_createtable(L, 0, 4);
  lua_pushcfunction(L, serve_conn);
  lua_setfield(L, -2, "target");
  lua_createtable(L, 1, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  lua_setfield(L, -2, "args");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "daemon");
  lua_pushfstring(L, "manager %s", c->peer);
  lua_setfield(L, -2, "name");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "start");
  lua_insert(L, -2);
  lua_call(L, 1, 0);
  return 0;
}

/* A handshake succeeded: the connection becomes a handler thread. */
static void admit(lua_State *L, NetServer *s, Pending *p, const unsigned char *rest, size_t nrest) {
  pthread_mutex_lock(&s->mu);
  int full = s->nconns >= MGR_MAX_CLIENTS;
  pthread_mutex_unlock(&s->mu);
  if (full) {
    mgr_srv_log(p->peer, "too many connections, refused");
    close(p->fd);
    return;
  }
  ServerConn *c = (ServerConn *)lua_newuserdatauv(L, sizeof(ServerConn), 0);
  memset(c, 0, sizeof *c);
  nc_init(&c->nc, p->fd);
  snprintf(c->peer, sizeof c->peer, "%s", p->peer);
  luaL_setmetatable(L, CONN_MT);
  atomic_fetch_add(&s->refs, 1);
  c->srv = s;
  pthread_mutex_lock(&s->mu);
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->nconns++;
  pthread_mutex_unlock(&s->mu);
  int one = 1;
  setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (nc_push_input(&c->nc, rest, nrest) != 0) { conn_unlist_close(c); lua_pop(L, 1); return; }
  lua_pushcfunction(L, spawn_handler);
  lua_insert(L, -2);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    mgr_srv_log(c->peer, lua_tostring(L, -1) ? lua_tostring(L, -1) : "cannot start a handler");
    lua_pop(L, 1);
    conn_unlist_close(c);
  }
}

/* ---- the handshake loop ---- */

static void drop_pending(Pending *ps, int *n, int i, const char *why) {
  if (why) mgr_srv_log(ps[i].peer, why);
  close(ps[i].fd);
  ps[i] = ps[--*n];
}

/* Sends what the handshake has to say. -1: the peer is gone. */
static int flush_pending(Pending *p) {
  while (p->sent < p->hs.outlen) {
    ssize_t w = send(p->fd, p->hs.out + p->sent, p->hs.outlen - p->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    p->sent += (size_t)w;
  }
  return 0;
}

static void accept_new(NetServer *s, Pending *ps, int *n) {
  for (int k = 0; k < MGR_MAX_PENDING; k++) {
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if ((errno == EMFILE || errno == ENFILE) && *n > 0)
        drop_pending(ps, n, 0, "out of file descriptors: oldest handshake dropped");
      return;
    }
    if (*n == MGR_MAX_PENDING) {         /* the oldest makes room: ps[0] */
      int oldest = 0;
      for (int i = 1; i < *n; i++) if (ps[i].deadline_ns < ps[oldest].deadline_ns) oldest = i;
      drop_pending(ps, n, oldest, "too many handshakes at once: dropped");
    }
    Pending *p = &ps[(*n)++];
    p->fd = fd;
    p->sent = 0;
    p->deadline_ns = gl_now_ns() + (uint64_t)(s->hs_timeout * 1e9);
    peer_name(fd, p->peer, sizeof p->peer);
    mp_auth_server_begin(&p->hs, s->key, s->keylen);
    if (flush_pending(p) != 0) drop_pending(ps, n, *n - 1, "closed during the handshake");
  }
}

/* Reads and feeds one pending handshake. Returns 1 when it was removed
** (done or failed) from the array. */
static int step_pending(lua_State *L, NetServer *s, Pending *ps, int *n, int i) {
  unsigned char buf[512];
  ssize_t r = recv(ps[i].fd, buf, sizeof buf, 0);
  if (r == 0) { drop_pending(ps, n, i, "closed during the handshake"); return 1; }
  if (r < 0) {
    if (errno == EAGAIN || errno == EINTR) return 0;
    drop_pending(ps, n, i, "connection error during the handshake");
    return 1;
  }
  size_t used = mp_auth_server_feed(&ps[i].hs, buf, (size_t)r);
  int gone = flush_pending(&ps[i]) != 0;
  if (ps[i].hs.state == HS_FAILED) { drop_pending(ps, n, i, ps[i].hs.why); return 1; }
  if (gone) { drop_pending(ps, n, i, "closed during the handshake"); return 1; }
  if (ps[i].hs.state == HS_DONE) {
    Pending p = ps[i];
    ps[i] = ps[--*n];
    admit(L, s, &p, buf + used, (size_t)r - used);
    return 1;
  }
  return 0;
}

static void stop_all(NetServer *s, Pending *ps, int n) {
  for (int i = 0; i < n; i++) close(ps[i].fd);
  pthread_mutex_lock(&s->mu);
  for (ServerConn *c = s->conns; c; c = c->next)
    if (c->nc.fd >= 0) shutdown(c->nc.fd, SHUT_RDWR);
  pthread_mutex_unlock(&s->mu);
  close(s->lfd);
  s->lfd = -1;
}

void mgr_srv_loop(lua_State *L, NetServer *s) {
  luaL_newmetatable(L, CONN_MT);
  lua_pushcfunction(L, conn_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_getglobal(L, "require");              /* spawn_handler finds it in package.loaded */
  lua_pushliteral(L, "threading");
  lua_call(L, 1, 0);
  static Pending ps[MGR_MAX_PENDING];       /* one serve loop per process at a time */
  static int serving;                       /* guards ps; the loop runs under the GIL */
  if (serving) luaL_error(L, "this process is already serving a manager");
  serving = 1;
  int n = 0;
  struct pollfd fds[2 + MGR_MAX_PENDING];
  while (!atomic_load(&s->stopping)) {
    if (s->watch_parent && getppid() != s->watch_parent) break;
    fds[0] = (struct pollfd){ s->wake[0], POLLIN, 0 };
    fds[1] = (struct pollfd){ s->lfd, POLLIN, 0 };
    uint64_t now = gl_now_ns(), wait_ns = 200000000u;
    for (int i = 0; i < n; i++) {
      fds[2 + i] = (struct pollfd){ ps[i].fd, POLLIN, 0 };
      if (ps[i].deadline_ns <= now) wait_ns = 0;
      else if (ps[i].deadline_ns - now < wait_ns) wait_ns = ps[i].deadline_ns - now;
    }
    int interrupted = 0;
    gl_block_begin();
    for (uint64_t waited = 0;;) {         /* in slices: Ctrl-C is seen */
      if ((interrupted = gl_interrupted())) break;
      uint64_t slice = wait_ns - waited < GL_SLICE_NS ? wait_ns - waited : GL_SLICE_NS;
      int r = poll(fds, (nfds_t)(2 + n), (int)(slice / 1000000u));
      waited += slice;
      if (r != 0 || waited >= wait_ns) break;
    }
    gl_block_end();
    if (interrupted) { stop_all(s, ps, n); serving = 0; gl_raise_interrupt(L); }
    /* downwards: drop_pending moves the last entry, already seen, into i
    ** (its poll result is at another index: the fd check skips it) */
    now = gl_now_ns();
    for (int i = n - 1; i >= 0; i--) {
      if ((fds[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) && fds[2 + i].fd == ps[i].fd &&
          step_pending(L, s, ps, &n, i))
        continue;
      if (ps[i].deadline_ns <= now) drop_pending(ps, &n, i, "handshake timed out");
    }
    if (fds[1].revents & POLLIN) accept_new(s, ps, &n);
  }
  stop_all(s, ps, n);
  serving = 0;
}

/*
** mgr_net_client.c — the client side of a manager over TCP: connecting
** and authenticating (GIL released), the pool of connections, requests.
**
** A connection inherited through fork belongs to the parent: a child
** that finds the pool's owner is not itself forgets those connections
** (closing its copies of the descriptors, which the parent keeps) and
** opens its own, so two processes never talk on one socket.
** A request interrupted half way (Ctrl-C, an error on the socket) closes
** its connection: the stream is out of step.
*/
#include <errno.h>
#include <stdint.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "errobj.h"
#include "mgr_net.h"
#include "mp.h"

/* This process's pid, without a system call per request (glibc no longer
** caches getpid): set again in a forked child by mgr_clients_fork_child. */
static pid_t my_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void note_pid(void) { __atomic_store_n(&my_pid, getpid(), __ATOMIC_RELAXED); }

static pid_t self_pid(void) {
  pthread_once(&pid_once, note_pid);
  return __atomic_load_n(&my_pid, __ATOMIC_RELAXED);
}

/* Every live client, so that fork can hold and renew their mutexes. Lock
** order: clients_mu, then a client's mu. */
static NetClient *clients;
static pthread_mutex_t clients_mu = PTHREAD_MUTEX_INITIALIZER;

static void free_conn(NetConn *nc);

void mgr_clients_fork_prepare(void) {
  pthread_mutex_lock(&clients_mu);
  for (NetClient *c = clients; c; c = c->next) pthread_mutex_lock(&c->mu);
}

void mgr_clients_fork_parent(pid_t pid) {
  (void)pid;
  for (NetClient *c = clients; c; c = c->next) pthread_mutex_unlock(&c->mu);
  pthread_mutex_unlock(&clients_mu);
}

void mgr_clients_fork_child(void) {
  note_pid();
  for (NetClient *c = clients; c; c = c->next) {
    for (int i = 0; i < c->nidle; i++) free_conn(c->idle[i]);   /* our copies of the parent's */
    c->nidle = 0;
    c->ndrops = 0;                      /* the parent's proxies, not ours */
    c->owner = my_pid;
    pthread_mutex_unlock(&c->mu);       /* taken in prepare, by this thread */
  }
  pthread_mutex_unlock(&clients_mu);
}

NetClient *mgr_client_new(const char *host, int port, const void *key, size_t keylen,
                          int allow_functions, double timeout) {
  NetClient *c = (NetClient *)calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->key = (unsigned char *)malloc(keylen ? keylen : 1);
  if (c->key == NULL) { free(c); return NULL; }
  memcpy(c->key, key, keylen);
  c->keylen = keylen;
  atomic_init(&c->refs, 1);
  snprintf(c->host, sizeof c->host, "%s", host);
  c->port = port;
  c->allow_functions = allow_functions;
  c->timeout = timeout;
  c->owner = self_pid();
  pthread_mutex_init(&c->mu, NULL);
  pthread_mutex_lock(&clients_mu);
  c->next = clients;
  if (clients) clients->prev = c;
  clients = c;
  pthread_mutex_unlock(&clients_mu);
  return c;
}

void mgr_client_incref(NetClient *c) { atomic_fetch_add(&c->refs, 1); }

static void free_conn(NetConn *nc) {
  nc_close(nc);
  free(nc);
}

void mgr_client_decref(NetClient *c) {
  if (atomic_fetch_sub(&c->refs, 1) != 1) return;
  pthread_mutex_lock(&clients_mu);
  if (c->prev) c->prev->next = c->next; else clients = c->next;
  if (c->next) c->next->prev = c->prev;
  pthread_mutex_unlock(&clients_mu);
  for (int i = 0; i < c->nidle; i++) free_conn(c->idle[i]);
  free(c->drops);
  free(c->key);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

/* Connects (non-blocking, GIL released, until dl). Returns the fd or -1
** with a reason in why. */
static int dial(NetClient *c, const struct timespec *dl, char *why, size_t n) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  char port[16];
  snprintf(port, sizeof port, "%d", c->port);
  int rc = getaddrinfo(c->host, port, &hints, &res);
  if (rc != 0) { snprintf(why, n, "%s", gai_strerror(rc)); return -1; }
  int fd = -1, err = ECONNREFUSED;
  for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) { err = errno; continue; }
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    err = errno;
    if (errno == EINPROGRESS) {
      int wr = 0;
      gl_block_begin();
      for (;;) {
        if (gl_interrupted()) { wr = EINTR; break; }
        if (gl_expired(dl)) { wr = ETIMEDOUT; break; }
        struct pollfd p = { fd, POLLOUT, 0 };
        if (poll(&p, 1, gl_slice_ms(dl)) > 0) break;
      }
      gl_block_end();
      socklen_t sl = sizeof err;
      if (wr == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0) break;
      if (wr) err = wr;
    }
    close(fd);
    fd = -1;
    if (err == EINTR) break;
  }
  freeaddrinfo(res);
  if (fd < 0) snprintf(why, n, "%s", err == EINTR ? "interrupted" : strerror(err));
  return fd;
}

/* Opens an authenticated connection; raises on failure. */
static NetConn *open_conn(lua_State *L, NetClient *c) {
  struct timespec ts, *dl = gl_deadline(&ts, c->timeout);
  char why[160];
  int fd = dial(c, dl, why, sizeof why);
  if (fd < 0) {
    if (strcmp(why, "interrupted") == 0) gl_raise_interrupt(L);
    luaL_error(L, "multiprocessing.managers: cannot connect to %s:%d: %s", c->host, c->port, why);
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  NetConn *nc = (NetConn *)malloc(sizeof *nc);
  if (nc == NULL) { close(fd); luaL_error(L, "not enough memory"); }
  nc_init(nc, fd);
  const char *fail = mp_auth_client(nc, c->key, c->keylen, dl);
  if (fail) {
    free_conn(nc);
    if (strcmp(fail, "interrupted") == 0) gl_raise_interrupt(L);
    if (strcmp(fail, "authentication failed") == 0)
      luaL_error(L, "AuthenticationError: authentication failed (%s:%d refused the key)", c->host, c->port);
    luaL_error(L, "multiprocessing.managers: %s:%d: %s", c->host, c->port, fail);
  }
  return nc;
}

/* Takes the calling thread's idle connection (NULL: none). */
static NetConn *take(NetClient *c) {
  pthread_mutex_lock(&c->mu);
  pid_t me = self_pid();
  if (c->owner != me) {                 /* (the fork duty already did this) */
    for (int i = 0; i < c->nidle; i++) free_conn(c->idle[i]);
    c->nidle = 0;
    c->ndrops = 0;                      /* the parent's proxies, not ours */
    c->owner = me;
  }
  NetConn *nc = NULL;
  for (int i = 0; i < c->nidle && nc == NULL; i++) {
    if (!pthread_equal(c->idle_thread[i], pthread_self())) continue;
    nc = c->idle[i];
    c->nidle--;
    memmove(c->idle + i, c->idle + i + 1, (size_t)(c->nidle - i) * sizeof c->idle[0]);
    memmove(c->idle_thread + i, c->idle_thread + i + 1, (size_t)(c->nidle - i) * sizeof c->idle_thread[0]);
  }
  pthread_mutex_unlock(&c->mu);
  return nc;
}

/* Takes the ids of collected proxies (the caller frees the array). */
static lua_Integer *take_drops(NetClient *c, size_t *n) {
  pthread_mutex_lock(&c->mu);
  lua_Integer *d = c->owner == self_pid() ? c->drops : NULL;
  *n = d ? c->ndrops : 0;
  if (d) { c->drops = NULL; c->ndrops = c->dropcap = 0; }
  pthread_mutex_unlock(&c->mu);
  return d;
}

/* Keeps nc for the calling thread; when the pool is full the oldest
** connection (a thread's that has not called for longest) is closed. */
static void give_back(NetClient *c, NetConn *nc) {
  NetConn *evicted = NULL;
  pthread_mutex_lock(&c->mu);
  if (c->owner == self_pid()) {
    if (c->nidle == MGR_IDLE) {
      evicted = c->idle[0];
      c->nidle--;
      memmove(c->idle, c->idle + 1, (size_t)c->nidle * sizeof c->idle[0]);
      memmove(c->idle_thread, c->idle_thread + 1, (size_t)c->nidle * sizeof c->idle_thread[0]);
    }
    c->idle[c->nidle] = nc;
    c->idle_thread[c->nidle++] = pthread_self();
    nc = NULL;
  }
  pthread_mutex_unlock(&c->mu);
  if (nc) free_conn(nc);
  if (evicted) free_conn(evicted);
}

void mgr_client_drop(NetClient *c, lua_Integer id) {
  pthread_mutex_lock(&c->mu);
  if (c->ndrops == c->dropcap) {
    size_t cap = c->dropcap ? c->dropcap * 2 : 16;
    lua_Integer *p = (lua_Integer *)realloc(c->drops, cap * sizeof *p);
    if (p) { c->drops = p; c->dropcap = cap; }
  }
  if (c->ndrops < c->dropcap) c->drops[c->ndrops++] = id;   /* no memory: the object stays */
  pthread_mutex_unlock(&c->mu);
}

void mgr_client_check(lua_State *L, NetClient *c) {
  NetConn *nc = take(c);
  if (nc == NULL) nc = open_conn(L, c);
  give_back(c, nc);
}

/* Raises what a failed exchange left in rc. */
static int raise_io(lua_State *L, NetClient *c, int rc) {
  if (rc == EINTR) return gl_raise_interrupt(L);
  if (rc == ECONNRESET || rc == EPIPE)
    return luaL_error(L, "multiprocessing.managers: the server at %s:%d closed the connection", c->host, c->port);
  if (rc == EMSGSIZE)
    return luaL_error(L, "multiprocessing.managers: reply over the frame limit (%d bytes)", (int)MGR_MAXFRAME);
  return luaL_error(L, "multiprocessing.managers: %s:%d: %s", c->host, c->port, strerror(rc));
}

/* Pushes op, id, name, drops, then copies of the n arguments; encodes. */
static int encode_request(lua_State *L, const char *op, lua_Integer id, const char *name,
                          lua_Integer *drops, size_t nd, int first, int n, TrBuffer *b,
                          char *err) {
  int top = lua_gettop(L);
  luaL_checkstack(L, n + 8, "too many arguments");
  lua_pushstring(L, op);
  lua_pushinteger(L, id);
  if (name) lua_pushstring(L, name); else lua_pushnil(L);
  if (nd) {
    lua_createtable(L, (int)nd, 0);
    for (size_t i = 0; i < nd; i++) { lua_pushinteger(L, drops[i]); lua_rawseti(L, -2, (lua_Integer)i + 1); }
  } else lua_pushnil(L);
  for (int i = 0; i < n; i++) lua_pushvalue(L, first + i);
  /* errors name the caller's arguments: "cannot transfer coroutine at args[1]" */
  enum { NAMELEN = 24 };                 /* "args[" + an int + "]" fits */
  const char **names = (const char **)lua_newuserdatauv(L, (size_t)(n + 4) * (sizeof(char *) + NAMELEN), 0);
  char *text = (char *)(names + n + 4);
  for (int i = 0; i < n + 4; i++) {
    names[i] = text + NAMELEN * i;
    if (i < 4) snprintf(text + NAMELEN * i, NAMELEN, "request");
    else snprintf(text + NAMELEN * i, NAMELEN, "args[%d]", i - 3);
  }
  int rc = tr_encode_named_opts(L, top + 1, n + 4, names, TR_ENC_NOOBJ, b, err, TR_ERRMAX);
  lua_settop(L, top);
  return rc;
}

/* Turns a decoded reply (at base+1..) into results or a raised error. */
static int finish_reply(lua_State *L, int base) {
  int k = lua_gettop(L) - base;
  if (k >= 1 && lua_toboolean(L, base + 1)) {
    lua_remove(L, base + 1);
    return k - 1;
  }
  if (k >= 4 && lua_type(L, base + 4) == LUA_TSTRING) return gl_errobj_raise(L, lua_tostring(L, base + 4));
  const char *msg = k >= 2 ? lua_tostring(L, base + 2) : NULL;
  const char *tb = k >= 3 ? lua_tostring(L, base + 3) : NULL;
  if (tb && *tb) lua_pushfstring(L, "%s\nremote %s", msg ? msg : "error", tb + (*tb == '\n'));
  else lua_pushstring(L, msg ? msg : "multiprocessing.managers: bad error reply");
  return lua_error(L);
}

int mgr_client_request(lua_State *L, NetClient *c, const char *op, lua_Integer id,
                       const char *name, int first, int n) {
  for (int i = 0; i < n; i++)
    if (mgr_is_proxy(L, first + i))
      return luaL_error(L, "multiprocessing.managers: args[%d] is a proxy, and proxies do not travel "
                           "in calls (pass a value, or let the server keep the object)", i + 1);
  NetConn *nc = take(c);
  if (nc == NULL) nc = open_conn(L, c);   /* may raise: nothing is held yet */
  size_t nd;
  lua_Integer *drops = take_drops(c, &nd);
  TrBuffer b;
  tr_buffer_init(&b);
  char err[TR_ERRMAX];
  int rc = encode_request(L, op, id, name, drops, nd, first, n, &b, err);
  if (rc != 0) {                        /* the drops go with the next request */
    for (size_t i = 0; i < nd; i++) mgr_client_drop(c, drops[i]);
    free(drops);
    give_back(c, nc);
    return luaL_error(L, "%s", err);
  }
  free(drops);
  if (b.len > MGR_MAXFRAME) {           /* the server would drop the connection */
    tr_buffer_free(&b);
    give_back(c, nc);
    return luaL_error(L, "multiprocessing.managers: request of %d bytes over the frame limit (%d bytes)",
                      (int)(b.len > INT32_MAX ? INT32_MAX : b.len), (int)MGR_MAXFRAME);
  }
  rc = nc_write_frame(nc, b.data, b.len, NULL);
  tr_buffer_free(&b);
  const unsigned char *body;
  size_t len;
  if (rc == 0) rc = nc_read_frame(nc, MGR_MAXFRAME, NULL, MGR_FRAME_TIMEOUT, &body, &len);
  if (rc) { free_conn(nc); return raise_io(L, c, rc); }
  int base = lua_gettop(L);
  unsigned flags = c->allow_functions ? 0 : TR_DEC_NOFUNC | TR_DEC_NONAMED;
  int k = tr_decode_opts(L, body, len, flags, err, sizeof err);
  give_back(c, nc);
  if (k < 0) {
    if (strstr(err, "not accepted from this source"))
      return luaL_error(L, "multiprocessing.managers: the reply holds a function or a module, "
                           "refused (allow_functions = true on both sides accepts them)");
    return luaL_error(L, "multiprocessing.managers: bad reply: %s", err);
  }
  return finish_reply(L, base);
}

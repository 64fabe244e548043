/*
** mgr_net_serve.c — the serving side of a BaseManager: the listening
** socket, the child that start() forks (initializer, "ready" byte,
** serving, exit), and get_server():serve_forever() in the calling process.
** The serving process runs with the GIL on: its handler threads share the
** served objects (a --gil=off process switches it on while it is alone).
*/
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "gil.h"
#include "mgr_net.h"
#include "mp.h"

typedef struct Server { NetServer *s; } Server;   /* user value 1: its manager */

int mgr_bind_listen(lua_State *L, const char *host, int *port) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", *port);
  int rc = getaddrinfo(*host ? host : NULL, ps, &hints, &res);
  if (rc != 0) return luaL_error(L, "BaseManager: cannot bind %s:%d: %s", host, *port, gai_strerror(rc));
  int fd = -1, err = 0;
  for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) { err = errno; continue; }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 128) == 0) break;
    err = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return luaL_error(L, "BaseManager: cannot bind %s:%d: %s", host, *port, strerror(err));
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

/* The serving process needs the GIL on: handlers share its objects. */
static void gil_for_serving(lua_State *L) {
  if (gil_enabled()) return;
  if (!gt_alone())
    luaL_error(L, "serve_forever: with --gil=off a process that runs other threads cannot serve "
                  "(handler threads share the served objects): serve from a process of its own");
  gil_setup(1, gil_policy());
  gil_acquire(gl_self);
}

/* A NetServer on lfd for the manager at mi (its key and options). */
static NetServer *new_server(lua_State *L, int mi, int lfd) {
  Mgr *m = (Mgr *)lua_touserdata(L, mi);
  NetServer *s = (NetServer *)calloc(1, sizeof *s);
  lua_getiuservalue(L, mi, 2);
  size_t kl;
  const char *key = lua_tolstring(L, -1, &kl);
  if (s) s->key = (unsigned char *)malloc(kl);
  if (s == NULL || s->key == NULL || pipe2(s->wake, O_CLOEXEC) != 0) {
    close(lfd);
    if (s) free(s->key);
    free(s);
    luaL_error(L, "BaseManager: cannot create the server: %s", strerror(errno ? errno : ENOMEM));
  }
  memcpy(s->key, key, kl);
  lua_pop(L, 1);
  s->keylen = kl;
  atomic_init(&s->refs, 1);
  s->lfd = lfd;
  s->allow_functions = m->allow_functions;
  s->hs_timeout = m->hs_timeout;
  pthread_mutex_init(&s->mu, NULL);
  return s;
}

/* Serves the manager at mi on s (GIL on, types set up); s's reference
** is the caller's. */
static void serve(lua_State *L, int mi, NetServer *s) {
  Mgr *m = (Mgr *)lua_touserdata(L, mi);
  gil_for_serving(L);
  lua_getiuservalue(L, mi, 1);
  mgr_obj_setup(L, -1, m->sync);
  lua_pop(L, 1);
  mgr_srv_loop(L, s);
}

void mgr_run_server_child(lua_State *L, int lfd, int ready) {
  signal(SIGINT, SIG_IGN);              /* ^C is for the program; it stops us at exit */
  Mgr *m = (Mgr *)luaL_checkudata(L, 1, MGR_MT);
  NetServer *s = new_server(L, 1, lfd);
  s->watch_parent = m->creator;
  gil_for_serving(L);
  if (!lua_isnil(L, 2)) {
    int n = 0;
    if (lua_istable(L, 3)) {
      n = (int)luaL_len(L, 3);
      luaL_checkstack(L, n + 2, "too many initargs");
      lua_pushvalue(L, 2);
      for (int i = 1; i <= n; i++) lua_geti(L, 3, i);
    } else lua_pushvalue(L, 2);
    if (lua_pcall(L, n, 0, 0) != LUA_OK) {
      fprintf(stderr, "multiprocessing.managers: the initializer failed: %s\n", lua_tostring(L, -1));
      mp_child_exit(1);
    }
  }
  if (write(ready, "!", 1) < 0) mp_child_exit(1);
  close(ready);
  lua_settop(L, 1);
  serve(L, 1, s);
  mp_child_exit(0);
}

int mgr_await_ready(int fd) {
  char c;
  ssize_t r;
  gl_block_begin();
  do r = read(fd, &c, 1); while (r < 0 && errno == EINTR);
  gl_block_end();
  return r == 1 ? 0 : -1;
}

int mgr_get_server(lua_State *L) {
  Mgr *m = (Mgr *)luaL_checkudata(L, 1, MGR_MT);
  if (m->state != M_NEW) return luaL_error(L, "BaseManager: already started, connected or shut down");
  lua_settop(L, 1);
  Server *sv = (Server *)lua_newuserdatauv(L, sizeof(Server), 1);
  sv->s = NULL;
  luaL_setmetatable(L, SERVER_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, 2, 1);
  int lfd = mgr_bind_listen(L, m->host, &m->port);
  sv->s = new_server(L, 1, lfd);
  return 1;
}

static int sv_serve_forever(lua_State *L) {
  Server *sv = (Server *)luaL_checkudata(L, 1, SERVER_MT);
  if (sv->s == NULL || sv->s->lfd < 0) return luaL_error(L, "serve_forever: this server has stopped");
  lua_settop(L, 1);
  lua_getiuservalue(L, 1, 1);
  serve(L, 2, sv->s);
  return 0;
}

static int sv_index(lua_State *L) {
  Server *sv = (Server *)luaL_checkudata(L, 1, SERVER_MT);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "serve_forever") == 0) { lua_pushcfunction(L, sv_serve_forever); return 1; }
  if (strcmp(k, "address") == 0) {
    lua_getiuservalue(L, 1, 1);
    lua_getfield(L, -1, "address");
    return 1;
  }
  (void)sv;
  return 0;
}

static int sv_gc(lua_State *L) {
  Server *sv = (Server *)lua_touserdata(L, 1);
  if (sv->s) mgr_srv_decref(sv->s);
  sv->s = NULL;
  return 0;
}

void mgr_server_open(lua_State *L) {
  if (luaL_newmetatable(L, SERVER_MT)) {
    lua_pushcfunction(L, sv_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, sv_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
}

/*
** mgr_net_manager.c — require "multiprocessing.managers": BaseManager and
** SyncManager over TCP, with Python's names:
**
**   local m = managers.BaseManager{address = {host, port}, authkey = "k",
**                                  allow_functions = false, timeout = 10,
**                                  handshake_timeout = 5}
**   m:register(typeid [, callable])     before start/connect/get_server
**   m:start([initializer [, initargs]]) the server in a forked child
**   m:connect()                         to a server started elsewhere
**   m:get_server():serve_forever()      serve from this process
**   m:typeid(args...) -> proxy; m.address -> {host, port}; m:shutdown()
**
** Port 0 binds a free port; m.address tells which. The listening socket is
** bound in the caller (errors such as "address in use" are raised there)
** and inherited by the server child, which reports through a pipe once
** its initializer has run (the serving side: mgr_net_serve.c).
**
** Who owns what: a Mgr is used by the universe that made it; its
** NetClient is shared with the proxies (reference counted). Started
** servers are listed in 'started' (started_mu) so that the program's exit
** stops them.
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
#include "options.h"
#include "vm.h"

static const char *const sync_typeids[] = {
  "dict", "list", "Namespace", "Value", "Array", "Queue", "JoinableQueue", "LifoQueue",
  "Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event", "Barrier", NULL
};

/* ---- started servers, stopped at exit ---- */

static pid_t started[64];
static int nstarted;
static pthread_mutex_t started_mu = PTHREAD_MUTEX_INITIALIZER;

static void stop_pid(pid_t pid, double grace) {
  int st;
  struct timespec ts;
  if (mp_wait_pid(pid, &st, gl_deadline(&ts, grace), MP_REAP_OWNER) == 0) {
    kill(pid, SIGKILL);
    mp_wait_pid(pid, &st, NULL, MP_REAP_OWNER);
  }
}

static void stop_started(int interrupted) {
  (void)interrupted;
  pthread_mutex_lock(&started_mu);
  pid_t mine[64];
  int n = nstarted;
  memcpy(mine, started, sizeof mine);
  nstarted = 0;
  pthread_mutex_unlock(&started_mu);
  for (int i = 0; i < n; i++) kill(mine[i], SIGTERM);
  for (int i = 0; i < n; i++) stop_pid(mine[i], 1.0);
}

void mgr_started_fork_prepare(void) { pthread_mutex_lock(&started_mu); }
void mgr_started_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&started_mu); }

void mgr_started_fork_child(void) {      /* the parent's servers are the parent's to stop */
  nstarted = 0;
  pthread_mutex_unlock(&started_mu);    /* taken in prepare, by this thread */
}

static void list_started(pid_t pid, int add) {
  pthread_mutex_lock(&started_mu);
  if (add && nstarted < 64) started[nstarted++] = pid;
  for (int i = 0; !add && i < nstarted; i++)
    if (started[i] == pid) { started[i] = started[--nstarted]; break; }
  pthread_mutex_unlock(&started_mu);
  if (add) gl_at_shutdown(stop_started);
}

/* ---- construction ---- */

static Mgr *check_mgr(lua_State *L) { return (Mgr *)luaL_checkudata(L, 1, MGR_MT); }

/* The process's default key (Python's current_process().authkey): random,
** made once, inherited by forked children. */
static unsigned char default_key[32];
static pthread_once_t default_key_once = PTHREAD_ONCE_INIT;

static void make_default_key(void) { mp_auth_random(default_key, sizeof default_key); }

static void push_default_key(lua_State *L) {
  pthread_once(&default_key_once, make_default_key);
  lua_pushlstring(L, (const char *)default_key, sizeof default_key);
}

static int new_manager(lua_State *L, int sync) {
  lua_settop(L, 1);
  if (!lua_isnil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
  else { lua_newtable(L); lua_replace(L, 1); }
  rt_check_options(L, 1, sync ? "SyncManager" : "BaseManager", (const char *const[]){
                   "address", "authkey", "allow_functions", "timeout", "handshake_timeout", NULL});
  Mgr *m = (Mgr *)lua_newuserdatauv(L, sizeof(Mgr), 2);
  memset(m, 0, sizeof *m);
  m->sync = sync;
  snprintf(m->host, sizeof m->host, "127.0.0.1");
  m->timeout = 10.0;
  m->hs_timeout = MGR_HS_TIMEOUT;
  luaL_setmetatable(L, MGR_MT);
  if (lua_getfield(L, 1, "address") == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (lua_type(L, -2) != LUA_TSTRING || !lua_isinteger(L, -1) || lua_tointeger(L, -1) < 0 ||
        lua_tointeger(L, -1) > 65535)
      return luaL_error(L, "BaseManager: address must be {host, port} (a string and a port 0-65535)");
    snprintf(m->host, sizeof m->host, "%s", lua_tostring(L, -2));
    m->port = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);
  } else if (!lua_isnil(L, -1)) return luaL_error(L, "BaseManager: address must be {host, port}");
  lua_pop(L, 1);
  int t = lua_getfield(L, 1, "authkey");
  if (t == LUA_TNIL) { lua_pop(L, 1); push_default_key(L); }
  else if (t != LUA_TSTRING || lua_rawlen(L, -1) == 0)
    return luaL_error(L, "BaseManager: authkey must be a non-empty string");
  lua_setiuservalue(L, 2, 2);
  lua_getfield(L, 1, "allow_functions");
  m->allow_functions = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "timeout") != LUA_TNIL) {
    m->timeout = luaL_checknumber(L, -1);
    if (!(m->timeout > 0)) return luaL_error(L, "BaseManager: timeout must be positive");
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "handshake_timeout") != LUA_TNIL) {
    m->hs_timeout = luaL_checknumber(L, -1);
    if (!(m->hs_timeout > 0 && m->hs_timeout <= 3600))
      return luaL_error(L, "BaseManager: handshake_timeout must be a number of seconds in (0, 3600]");
  }
  lua_pop(L, 1);
  lua_newtable(L);                      /* registrations */
  for (int i = 0; sync && sync_typeids[i]; i++) {
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, sync_typeids[i]);
  }
  lua_setiuservalue(L, 2, 1);
  m->creator = getpid();
  return 1;
}

static int l_BaseManager(lua_State *L) { return new_manager(L, 0); }
static int l_SyncManager(lua_State *L) { return new_manager(L, 1); }

static int m_register(lua_State *L) {
  Mgr *m = check_mgr(L);
  const char *typeid = luaL_checkstring(L, 2);
  if (m->state != M_NEW)
    return luaL_error(L, "register('%s'): register types before start(), connect() or get_server()", typeid);
  lua_settop(L, 3);
  if (typeid[0] == '_' || luaL_getmetafield(L, 1, "methods") == LUA_TNIL ||
      (lua_getfield(L, -1, typeid) != LUA_TNIL) || !strcmp(typeid, "address") || !strcmp(typeid, "pid"))
    return luaL_error(L, "register: '%s' is a name of the manager itself", typeid);
  lua_settop(L, 3);
  if (!lua_isnil(L, 3) && !lua_isfunction(L, 3) && luaL_getmetafield(L, 3, "__call") == LUA_TNIL)
    return luaL_argerror(L, 3, "callable expected");
  lua_settop(L, 3);
  lua_getiuservalue(L, 1, 1);
  if (lua_isnil(L, 3)) lua_pushboolean(L, 0); else lua_pushvalue(L, 3);
  lua_setfield(L, -2, typeid);
  return 0;
}

static void make_client(lua_State *L, Mgr *m) {
  lua_getiuservalue(L, 1, 2);
  size_t kl;
  const char *key = lua_tolstring(L, -1, &kl);
  const char *host = m->host;
  if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "") == 0) host = "127.0.0.1";
  else if (strcmp(host, "::") == 0) host = "::1";
  m->c = mgr_client_new(host, m->port, key, kl, m->allow_functions, m->timeout);
  lua_pop(L, 1);
  if (m->c == NULL) luaL_error(L, "not enough memory");
}

/* The started server's process (mp_child_main): the manager,
** initializer and initargs at 1..3, the listening socket and the ready
** pipe at 4, 5. */
static int server_body(lua_State *L) {
  int lfd = (int)lua_tointeger(L, 4), ready = (int)lua_tointeger(L, 5);
  lua_settop(L, 3);
  mgr_run_server_child(L, lfd, ready);
}

static int m_start(lua_State *L) {
  Mgr *m = check_mgr(L);
  if (m->state != M_NEW) return luaL_error(L, "BaseManager: already started, connected or shut down");
  lua_settop(L, 3);
  if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TFUNCTION);
  if (!lua_isnil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  int lfd = mgr_bind_listen(L, m->host, &m->port);
  int pp[2];
  if (pipe2(pp, O_CLOEXEC) != 0) { close(lfd); return luaL_error(L, "BaseManager: pipe: %s", strerror(errno)); }
  pid_t pid = mp_fork(L, MP_FORK_TIED);   /* the server dies with its starter */
  if (pid == 0) {                          /* protected: never back into the caller's code */
    close(pp[0]);
    lua_pushinteger(L, lfd);
    lua_pushinteger(L, pp[1]);
    mp_child_main(L, server_body, 5);
  }
  int saved = errno;
  close(lfd);
  close(pp[1]);
  if (pid < 0) { close(pp[0]); return luaL_error(L, "BaseManager: cannot fork the server: %s", strerror(saved)); }
  int ok = mgr_await_ready(pp[0]);
  close(pp[0]);
  if (ok != 0) {
    int st;
    mp_wait_pid(pid, &st, NULL, MP_REAP_OWNER);
    return luaL_error(L, "BaseManager: the server process failed to start (exit code %d)", mp_exitcode(st));
  }
  m->server = pid;
  m->state = M_STARTED;
  list_started(pid, 1);
  make_client(L, m);
  return 0;
}

static int m_connect(lua_State *L) {
  Mgr *m = check_mgr(L);
  if (m->state != M_NEW) return luaL_error(L, "BaseManager: already started, connected or shut down");
  make_client(L, m);
  mgr_client_check(L, m->c);            /* connects and authenticates now */
  m->state = M_CONNECTED;
  return 0;
}

/* ---- the rest of the manager ---- */

static int send_shutdown(lua_State *L) {
  NetClient *c = (NetClient *)lua_touserdata(L, 1);
  return mgr_client_request(L, c, "shutdown", 0, NULL, 2, 0);
}

/* Stops a server this process started (a shutdown request, then the
** process is waited for, killed after 2 s); a connected manager only
** closes its connections. */
static int m_shutdown(lua_State *L) {
  Mgr *m = check_mgr(L);
  int was = m->state;
  if (was == M_SHUT || was == M_NEW) return 0;
  m->state = M_SHUT;
  if (was == M_STARTED && m->creator == getpid()) {
    list_started(m->server, 0);
    lua_pushcfunction(L, send_shutdown);
    lua_pushlightuserdata(L, m->c);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) kill(m->server, SIGTERM);   /* it may be gone already */
    lua_settop(L, 1);
    stop_pid(m->server, 2.0);
  }
  if (m->c) { mgr_client_decref(m->c); m->c = NULL; }
  return 0;
}

static int m_nobjects(lua_State *L) {
  Mgr *m = check_mgr(L);
  if (m->c == NULL || m->state == M_SHUT) return luaL_error(L, "BaseManager: not started or connected");
  return mgr_client_request(L, m->c, "nobjects", 0, NULL, 2, 0);
}

/* m:typeid(args...): upvalue 1 is the typeid. */
static int m_create(lua_State *L) {
  Mgr *m = check_mgr(L);
  const char *typeid = lua_tostring(L, lua_upvalueindex(1));
  if (m->c == NULL || m->state == M_SHUT)
    return luaL_error(L, "%s(): the manager is not started or connected (call start() or connect() first)", typeid);
  int base = lua_gettop(L);
  int k = mgr_client_request(L, m->c, "create", 0, typeid, 2, base - 1);
  if (k < 2 || !lua_isinteger(L, base + 1)) return luaL_error(L, "%s(): bad reply from the server", typeid);
  mgr_proxy_push(L, m->c, typeid, lua_tointeger(L, base + 1), base + 2);
  return 1;
}

static int m_index(lua_State *L) {
  Mgr *m = check_mgr(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "address") == 0) {
    lua_createtable(L, 2, 0);
    lua_pushstring(L, m->host);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, m->port);
    lua_rawseti(L, -2, 2);
    return 1;
  }
  if (strcmp(k, "pid") == 0) { if (m->server) lua_pushinteger(L, m->server); else lua_pushnil(L); return 1; }
  luaL_getmetafield(L, 1, "methods");
  if (lua_getfield(L, -1, k) != LUA_TNIL) return 1;
  lua_getiuservalue(L, 1, 1);
  if (lua_getfield(L, -1, k) == LUA_TNIL) return 1;
  lua_pushstring(L, k);
  lua_pushcclosure(L, m_create, 1);
  return 1;
}

static int m_gc(lua_State *L) {
  Mgr *m = (Mgr *)lua_touserdata(L, 1);
  if (m->c) mgr_client_decref(m->c);
  m->c = NULL;
  return 0;
}

static int m_tostring(lua_State *L) {
  Mgr *m = check_mgr(L);
  static const char *const states[] = {"initial", "started", "connected", "shutdown"};
  lua_pushfstring(L, "<%s address=%s:%d state=%s>", m->sync ? "SyncManager" : "BaseManager",
                  m->host, m->port, states[m->state]);
  return 1;
}

/* multiprocessing.Manager{address =, authkey = ...}: a started
** SyncManager (the table at 1 holds its options). */
int mgr_net_sync_manager(lua_State *L) {
  lua_settop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "multiprocessing.managers");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "SyncManager");
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "start");
  lua_pushvalue(L, -2);
  lua_call(L, 1, 0);
  return 1;
}

int luaopen_multiprocessing_managers(lua_State *L) {
  /* Registered now, usually before multiprocessing's own duty (its first
  ** Process): at exit that duty runs first (the list runs backwards), so
  ** children still using a started server are joined before it stops,
  ** as with multiprocessing.Manager(). */
  gl_at_shutdown(stop_started);
  static const luaL_Reg methods[] = {
    {"register", m_register}, {"start", m_start}, {"connect", m_connect},
    {"get_server", mgr_get_server}, {"shutdown", m_shutdown},
    {"_number_of_objects", m_nobjects}, {NULL, NULL}
  };
  static const luaL_Reg metamethods[] = {
    {"__index", m_index}, {"__gc", m_gc}, {"__close", m_shutdown}, {"__tostring", m_tostring},
    {NULL, NULL}
  };
  if (luaL_newmetatable(L, MGR_MT)) {
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "methods");
    luaL_setfuncs(L, metamethods, 0);
  }
  lua_pop(L, 1);
  mgr_server_open(L);
  mgr_proxy_open(L);
  lua_newtable(L);
  lua_pushcfunction(L, l_BaseManager);
  lua_setfield(L, -2, "BaseManager");
  lua_pushcfunction(L, l_SyncManager);
  lua_setfield(L, -2, "SyncManager");
  return 1;
}

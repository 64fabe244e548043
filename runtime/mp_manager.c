/*
** mp_manager.c — multiprocessing.Manager() and its proxies (dict, list,
** Namespace): the client side. The server is a forked process
** (mp_mgr_server.c); requests go through a channel in shared memory and
** each request gets a reply box in the arena, so a proxy works in every
** process forked after the arena was mapped (passed to a Process, or
** inherited) and in GIL-off threads, with no sockets and no pickling.
**
** A proxy is a runtime object holding a shared reference to the
** manager's block and the object's id. Indexing a proxy fetches from the
** server (d[k], l[i] 1-based, ns.x); assignment stores; #proxy, pairs(),
** tostring() work on a snapshot. Method names win over keys in d.name
** lookups: read such keys with d:get("name").
**
** Waiting for a reply releases the GIL; every 50 ms the client checks that
** the server is alive (a dead server raises instead of hanging).
**
** The creating process shuts its managers down at exit (after joining
** its non-daemon children, which may still use them), or earlier with
** mgr:shutdown() or `local mgr <close> = Manager()`. Registry of live
** managers: mgrs_mu.
**
** An object lives while a proxy on it exists anywhere (MgrObj in
** mp_manager.h): dropping the last one sends MOP_DROP, a request without
** reply that never blocks and never releases the GIL, since it may be
** sent from a __gc finalizer.
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mgr_net.h"
#include "mp_manager.h"

#define MANAGER_MT "multiprocessing.Manager"

typedef struct Manager {
  MgrShared *m;              /* one shared reference */
  pid_t creator;
  int shut;
} Manager;

typedef struct MgrEntry { MgrShared *m; struct MgrEntry *next; } MgrEntry;
static MgrEntry *mgrs;
static pthread_mutex_t mgrs_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct Proxy {
  MpRef ref;                 /* ref.shared: the MgrObj (the object's id and kind) */
} Proxy;

static void proxy_destroy(RtObject *o, lua_State *L) {
  (void)L;
  mp_ref_destroy((MpRef *)o);
}

static const RtType proxy_types[] = {
  {NULL, NULL, NULL, NULL},
  {"multiprocessing.DictProxy", "multiprocessing", proxy_destroy, NULL},
  {"multiprocessing.ListProxy", "multiprocessing", proxy_destroy, NULL},
  {"multiprocessing.Namespace", "multiprocessing", proxy_destroy, NULL},
};

void mp_managers_fork_prepare(void) { pthread_mutex_lock(&mgrs_mu); }

void mp_managers_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&mgrs_mu); }

void mp_managers_fork_child(void) {
  pthread_mutex_init(&mgrs_mu, NULL);
  mgrs = NULL;
}

/* ---- requests ---- */

static int server_alive(MgrShared *m) {
  if (__atomic_load_n(&m->stopped, __ATOMIC_ACQUIRE)) return 0;
  if (getpid() == m->creator) {
    siginfo_t si;
    si.si_pid = 0;
    if (waitid(P_PID, (id_t)m->server, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == m->server)
      return 0;
    return 1;
  }
  return mp_pid_alive(m->server);
}

/* Waits for the reply (GIL released). 0, EINTR, ESRCH (server gone),
** ETIMEDOUT. */
static int wait_reply(MgrShared *m, MgrReply *box, const struct timespec *dl) {
  for (int i = 0; i < 200; i++) {
    if (__atomic_load_n(&box->done, __ATOMIC_ACQUIRE)) return 0;
    if ((i & 7) == 7) sched_yield();
  }
  int rc = 0;
  gl_block_begin();
  for (;;) {
    uint32_t s = __atomic_load_n(&box->seq, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&box->done, __ATOMIC_ACQUIRE)) break;
    if (gl_interrupted()) { rc = EINTR; break; }
    if (gl_expired(dl)) { rc = ETIMEDOUT; break; }
    if (!server_alive(m)) {
      rc = __atomic_load_n(&box->done, __ATOMIC_ACQUIRE) ? 0 : ESRCH;
      break;
    }
    mp_futex_wait(&box->seq, s, dl);
  }
  gl_block_end();
  return rc;
}

void mp_mgr_box_release(MgrReply *box) {
  if (!mp_shm_unref(box)) return;
  void *msg = mp_shm_ptr(box->msg);
  if (msg) mp_shm_decref(msg);
  mp_shm_free(box);
}

/* The ledger's release of a box whose client died: the client's
** reference, and the server's when it was taken and no request carries
** it yet (each told by one store). */
static void box_lost(void *p) {
  MgrReply *box = (MgrReply *)p;
  int server = __atomic_load_n(&box->server_ref, __ATOMIC_ACQUIRE) &&
               !__atomic_load_n(&box->sent, __ATOMIC_ACQUIRE);
  int client = __atomic_exchange_n(&box->client_ref, 0, __ATOMIC_ACQ_REL);
  if (server) mp_mgr_box_release(box);
  if (client) mp_mgr_box_release(box);
}

/* A new reply box with its two references (see mp_manager.h), ours and
** the server's, under one ledger entry (box_lost, made by the allocator)
** until our reference is dropped: a client killed at any point gives the
** box back. */
static MgrReply *new_box(void) {
  MgrReply *box = (MgrReply *)mp_shm_alloc_owned(sizeof(MgrReply), box_lost);
  if (box == NULL) return NULL;
  memset(box, 0, sizeof *box);
  box->client_ref = 1;
  mp_shm_incref(box);
  __atomic_store_n(&box->server_ref, 1, __ATOMIC_RELEASE);
  return box;
}

/* Our reference: taken back from the box by one exchange, dropped, and
** only then the ledger entry removed (an entry left on a box freed since
** is ignored: mp_ledger.c), so that no death falls between the entry
** going and the reference going. */
static void drop_box(MgrReply *box) {
  uint64_t gen = mp_shm_gen(box);
  void *entry = box;
  if (__atomic_exchange_n(&box->client_ref, 0, __ATOMIC_ACQ_REL)) mp_mgr_box_release(box);
  mp_ledger_remove_gen(entry, gen);
}

static void drop_box_unsent(MgrReply *box) {   /* the request never left */
  __atomic_store_n(&box->server_ref, 0, __ATOMIC_RELEASE);
  mp_mgr_box_release(box);                     /* the server's */
  drop_box(box);
}

/* Sends op with the n values at first.. and pushes the results. Raises
** the server's error. 'dl' limits the wait (NULL: none). */
static int request(lua_State *L, MgrShared *m, uint32_t id, int op, int first, int n,
                   const struct timespec *dl) {
  if (__atomic_load_n(&m->stopped, __ATOMIC_ACQUIRE))
    return luaL_error(L, "the Manager has been shut down");
  TrBuffer b;
  tr_buffer_init(&b);
  char err[TR_ERRMAX];
  if (n > 0 && tr_encode_opts(L, first, n, "value", TR_ENC_NOOBJ, &b, err, sizeof err) != 0)
    return luaL_error(L, "%s", err);
  MgrReply *box = new_box();
  if (box == NULL) {
    mp_encoded_done(&b);
    return mp_raise_exhausted(L, "Manager", sizeof(MgrReply));
  }
  unsigned char hdr[13];
  uint64_t off = mp_shm_off(box);
  memcpy(hdr, &off, 8);
  memcpy(hdr + 8, &id, 4);
  hdr[12] = (unsigned char)op;
  int rc = mp_chan_put_handing(m->req, hdr, 13, b.data, b.len, 1, NULL, &box->sent);
  mp_encoded_done(&b);
  if (rc) { drop_box_unsent(box); return luaL_error(L, "Manager: cannot send the request (%s)", strerror(rc)); }
  rc = wait_reply(m, box, dl);
  if (rc) {                      /* the server (if alive) still drops its reference */
    drop_box(box);
    if (rc == EINTR) return gl_raise_interrupt(L);
    if (rc == ESRCH) return luaL_error(L, "the Manager's server process (%d) is gone", (int)m->server);
    return luaL_error(L, "the Manager did not answer in time");
  }
  int ok = box->ok;
  void *msg = mp_shm_ptr(box->msg);
  size_t len = (size_t)box->len;
  int top = lua_gettop(L);
  int k = msg ? (len ? tr_decode(L, msg, len, err, sizeof err) : 0) : -1;
  drop_box(box);                 /* frees the reply bytes too, if last */
  if (k < 0) return luaL_error(L, "Manager: bad reply: %s", msg ? err : "server out of memory");
  if (!ok) {
    lua_settop(L, top + 1);
    return lua_error(L);
  }
  return k;
}

/* ---- proxies ---- */

static Proxy *check_proxy(lua_State *L, int idx) {
  RtObject *o = rt_test(L, idx);
  if (o == NULL || (o->type != &proxy_types[MK_DICT] && o->type != &proxy_types[MK_LIST] &&
                    o->type != &proxy_types[MK_NAMESPACE]))
    luaL_argerror(L, idx, "Manager proxy expected");
  return (Proxy *)o;
}

static MgrObj *obj_of(Proxy *p) { return (MgrObj *)p->ref.shared; }
static MgrShared *mgr_of(Proxy *p) { return obj_of(p)->m; }

static void mgr_release(void *p);

/* Tells the server to forget object id. Never blocks: the request
** channel has no size limit, and this runs in finalizers. */
static void send_drop(MgrShared *m, uint32_t id) {
  if (__atomic_load_n(&m->stopped, __ATOMIC_ACQUIRE)) return;
  unsigned char hdr[13];
  memset(hdr, 0, 8);                    /* no reply box */
  memcpy(hdr + 8, &id, 4);
  hdr[12] = MOP_DROP;
  mp_chan_put2(m->req, hdr, 13, NULL, 0, 0, NULL);   /* ENOMEM: the object stays */
}

/* MpRef.release of a proxy: drops its reference to the object. */
static void obj_release(void *p) {
  MgrObj *o = (MgrObj *)p;
  if (!mp_shm_unref(o)) return;
  MgrShared *m = o->m;
  send_drop(m, o->id);
  mp_shm_free(o);
  mgr_release(m);
}

/* Pushes the first proxy on the new object id (its MgrObj is made here). */
static void push_proxy(lua_State *L, MgrShared *m, uint32_t id, int kind) {
  MgrObj *o = (MgrObj *)mp_shm_alloc(sizeof(MgrObj));
  Proxy *p = o ? (Proxy *)calloc(1, sizeof(Proxy)) : NULL;
  if (p == NULL) {
    if (o) mp_shm_free(o);
    send_drop(m, id);
    luaL_error(L, "Manager: out of memory for a proxy");
  }
  o->m = m;
  o->id = id;
  o->kind = kind;
  mp_shm_incref(m);                     /* the object's */
  p->ref.release = obj_release;
  mp_ref_init(&p->ref, &proxy_types[kind], o);   /* takes over o's first reference */
  rt_push_owned(L, &p->ref.rt);
}

/* Generic: proxy:op(args...) */
static int call_op(lua_State *L, int op) {
  Proxy *p = check_proxy(L, 1);
  int n = lua_gettop(L) - 1;
  return request(L, mgr_of(p), obj_of(p)->id, op, 2, n, NULL);
}

#define OPFN(name, op) static int name(lua_State *L) { return call_op(L, op); }
OPFN(px_append, MOP_APPEND)
OPFN(px_extend, MOP_EXTEND)
OPFN(px_insert, MOP_INSERT)
OPFN(px_pop, MOP_POP)
OPFN(px_remove, MOP_REMOVE)
OPFN(px_index, MOP_INDEX)
OPFN(px_count, MOP_COUNT)
OPFN(px_clear, MOP_CLEAR)
OPFN(px_keys, MOP_KEYS)
OPFN(px_values, MOP_VALUES)
OPFN(px_items, MOP_ITEMS)
OPFN(px_setdefault, MOP_SETDEF)
OPFN(px_update, MOP_UPDATE)
OPFN(px_contains, MOP_CONTAINS)
OPFN(px_copy, MOP_COPY)

/* get(key[, default]) */
static int px_get(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  lua_settop(L, 3);
  if (obj_of(p)->kind == MK_LIST) return request(L, mgr_of(p), obj_of(p)->id, MOP_GET, 2, 1, NULL);
  return request(L, mgr_of(p), obj_of(p)->id, MOP_GETDEF, 2, 2, NULL);
}

/* list copy: a plain array (items may be nil: n says how many) */
static int px_tolist(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  request(L, mgr_of(p), obj_of(p)->id, MOP_COPY, 2, 0, NULL);
  return 1;
}

static int px_len(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  return request(L, mgr_of(p), obj_of(p)->id, MOP_LEN, 2, 0, NULL);
}

static int px_index_mm(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  if (obj_of(p)->kind != MK_NAMESPACE && lua_type(L, 2) == LUA_TSTRING) {
    lua_getmetatable(L, 1);
    if (lua_getfield(L, -1, "methods") == LUA_TTABLE) {
      lua_pushvalue(L, 2);
      if (lua_rawget(L, -2) != LUA_TNIL) return 1;
    }
    lua_settop(L, 2);
  }
  if (obj_of(p)->kind == MK_LIST && !lua_isinteger(L, 2)) return 0;
  lua_settop(L, 3);                 /* key, default nil */
  return request(L, mgr_of(p), obj_of(p)->id, obj_of(p)->kind == MK_LIST ? MOP_GET : MOP_GETDEF, 2,
                 obj_of(p)->kind == MK_LIST ? 1 : 2, NULL);
}

static int px_newindex_mm(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  lua_settop(L, 3);
  if (obj_of(p)->kind != MK_LIST && lua_isnil(L, 3)) {        /* d[k] = nil deletes */
    request(L, mgr_of(p), obj_of(p)->id, MOP_POP, 2, 2, NULL);   /* pop(k, nil): no KeyError */
    return 0;
  }
  return request(L, mgr_of(p), obj_of(p)->id, MOP_SET, 2, 2, NULL);
}

static int px_pairs(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  lua_getglobal(L, "next");
  request(L, mgr_of(p), obj_of(p)->id, MOP_COPY, 2, 0, NULL);
  if (obj_of(p)->kind == MK_LIST) { lua_pushnil(L); lua_setfield(L, -2, "n"); }
  lua_pushnil(L);
  return 3;
}

/* Appends a readable form of the value at idx to b. */
static void repr_value(lua_State *L, luaL_Buffer *b, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING) {
    lua_pushfstring(L, "'%s'", lua_tostring(L, idx));
    luaL_addvalue(b);
  } else {
    luaL_tolstring(L, idx, NULL);
    luaL_addvalue(b);
  }
}

static int px_tostring(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  request(L, mgr_of(p), obj_of(p)->id, MOP_COPY, 2, 0, NULL);
  int t = lua_gettop(L);
  luaL_Buffer b;
  if (obj_of(p)->kind == MK_LIST) {
    lua_getfield(L, t, "n");
    lua_Integer n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '[');
    for (lua_Integer i = 1; i <= n; i++) {
      if (i > 1) luaL_addstring(&b, ", ");
      lua_rawgeti(L, t, i);
      repr_value(L, &b, -1);
      lua_pop(L, 1);
    }
    luaL_addchar(&b, ']');
    luaL_pushresult(&b);
    return 1;
  }
  /* dict / namespace: keys sorted by their text, for a stable output */
  lua_newtable(L);
  int keys = lua_gettop(L);
  lua_Integer nk = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) { lua_pop(L, 1); lua_pushvalue(L, -1); lua_rawseti(L, keys, ++nk); }
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, keys);
  luaL_loadstring(L, "local a, b = ... return tostring(a) < tostring(b)");
  lua_call(L, 2, 0);
  lua_pop(L, 1);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, obj_of(p)->kind == MK_NAMESPACE ? "Namespace(" : "{");
  for (lua_Integer i = 1; i <= nk; i++) {
    if (i > 1) luaL_addstring(&b, ", ");
    lua_rawgeti(L, keys, i);
    if (obj_of(p)->kind == MK_NAMESPACE) { luaL_addvalue(&b); luaL_addchar(&b, '='); lua_rawgeti(L, keys, i); }
    else { repr_value(L, &b, -1); luaL_addstring(&b, ": "); }
    lua_rawget(L, t);
    repr_value(L, &b, -1);
    lua_pop(L, 1);
  }
  luaL_addstring(&b, obj_of(p)->kind == MK_NAMESPACE ? ")" : "}");
  luaL_pushresult(&b);
  return 1;
}

/* ---- the Manager ---- */

static Manager *check_mgr(lua_State *L) {
  return (Manager *)luaL_checkudata(L, 1, MANAGER_MT);
}

static void mgr_release(void *p) {
  MgrShared *m = (MgrShared *)p;
  if (!mp_shm_unref(m)) return;
  mp_chan_decref(m->req);
  mp_shm_free(m);
}

static int mp_Manager(lua_State *L) {
  if (lua_istable(L, 1)) return mgr_net_sync_manager(L);   /* over TCP: mgr_net_manager.c */
  MgrShared *m = (MgrShared *)mp_shm_alloc_or_raise(L, sizeof(MgrShared), "Manager");
  Manager *mg = (Manager *)lua_newuserdatauv(L, sizeof(Manager), 0);
  memset(mg, 0, sizeof *mg);
  mg->m = m;
  mg->creator = getpid();
  mg->shut = 1;                         /* until the server runs */
  luaL_setmetatable(L, MANAGER_MT);
  m->req = mp_chan_new(L, 0);
  m->creator = getpid();
  pid_t pid = mp_fork(L);
  if (pid < 0) return luaL_error(L, "Manager: cannot start the server: %s", strerror(errno));
  if (pid == 0) mp_mgr_serve(L, m);
  m->server = pid;
  mg->shut = 0;
  MgrEntry *e = (MgrEntry *)malloc(sizeof(MgrEntry));
  if (e) {
    mp_shm_incref(m);
    e->m = m;
    pthread_mutex_lock(&mgrs_mu);
    e->next = mgrs;
    mgrs = e;
    pthread_mutex_unlock(&mgrs_mu);
  }
  return 1;
}

/* Asks the server to stop (at most 'grace' s), then kills; reaps it. */
static void stop_server(MgrShared *m, double grace) {
  MgrReply *box = NULL;
  if (!__atomic_load_n(&m->stopped, __ATOMIC_ACQUIRE)) {
    box = new_box();
    if (box) {
      unsigned char hdr[13] = {0};
      uint64_t off = mp_shm_off(box);
      memcpy(hdr, &off, 8);
      hdr[12] = MOP_SHUTDOWN;
      if (mp_chan_put_handing(m->req, hdr, 13, NULL, 0, 1, NULL, &box->sent) != 0) {
        drop_box_unsent(box);
        box = NULL;
      }
    }
  }
  int st;
  struct timespec ts;
  if (mp_wait_pid(m->server, &st, gl_deadline(&ts, grace), MP_REAP_OWNER) == 0) {
    kill(m->server, SIGKILL);
    mp_wait_pid(m->server, &st, NULL, MP_REAP_OWNER);
  }
  if (box) drop_box(box);               /* ours; the server dropped its own if it replied */
  __atomic_store_n(&m->stopped, 1, __ATOMIC_RELEASE);
}

static void unlist(MgrShared *m) {
  pthread_mutex_lock(&mgrs_mu);
  MgrEntry *found = NULL;
  for (MgrEntry **e = &mgrs; *e; e = &(*e)->next)
    if ((*e)->m == m) { found = *e; *e = found->next; break; }
  pthread_mutex_unlock(&mgrs_mu);
  if (found) { mgr_release(m); free(found); }
}

static int mgr_shutdown(lua_State *L) {
  Manager *mg = check_mgr(L);
  if (mg->shut || mg->creator != getpid()) return 0;
  mg->shut = 1;
  stop_server(mg->m, 2.0);
  unlist(mg->m);
  return 0;
}

void mp_managers_shutdown(int interrupted) {
  for (;;) {
    pthread_mutex_lock(&mgrs_mu);
    MgrEntry *e = mgrs;
    if (e) mgrs = e->next;
    pthread_mutex_unlock(&mgrs_mu);
    if (e == NULL) return;
    stop_server(e->m, interrupted ? 0.5 : 2.0);
    mgr_release(e->m);
    free(e);
  }
}

static int mgr_gc(lua_State *L) {
  Manager *mg = (Manager *)lua_touserdata(L, 1);
  if (mg->m && mg->creator == getpid()) mgr_release(mg->m);
  mg->m = NULL;
  return 0;
}

static int create(lua_State *L, int kind) {
  Manager *mg = check_mgr(L);
  if (mg->shut) return luaL_error(L, "the Manager has been shut down");
  lua_settop(L, 2);
  if (!lua_isnil(L, 2)) luaL_checktype(L, 2, LUA_TTABLE);
  lua_pushinteger(L, kind);
  lua_insert(L, 2);
  request(L, mg->m, 0, MOP_CREATE, 2, 2, NULL);
  push_proxy(L, mg->m, (uint32_t)lua_tointeger(L, -1), kind);
  return 1;
}

/* How many objects the server holds (Python's _number_of_objects). */
static int mgr_nobjects(lua_State *L) {
  Manager *mg = check_mgr(L);
  if (mg->shut) return luaL_error(L, "the Manager has been shut down");
  return request(L, mg->m, 0, MOP_NOBJECTS, 2, 0, NULL);
}

static int mgr_dict(lua_State *L) { return create(L, MK_DICT); }
static int mgr_list(lua_State *L) { return create(L, MK_LIST); }
static int mgr_namespace(lua_State *L) { return create(L, MK_NAMESPACE); }

static int mgr_index(lua_State *L) {
  Manager *mg = check_mgr(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "pid") == 0) { lua_pushinteger(L, mg->m ? mg->m->server : 0); return 1; }
  luaL_getmetatable(L, MANAGER_MT);
  lua_getfield(L, -1, "methods");
  lua_getfield(L, -1, k);
  return 1;
}

static const luaL_Reg mgr_methods[] = {
  {"dict", mgr_dict}, {"list", mgr_list}, {"Namespace", mgr_namespace},
  {"shutdown", mgr_shutdown}, {"_number_of_objects", mgr_nobjects}, {NULL, NULL}
};

static const luaL_Reg dict_methods[] = {
  {"get", px_get}, {"keys", px_keys}, {"values", px_values}, {"items", px_items},
  {"copy", px_copy}, {"update", px_update}, {"setdefault", px_setdefault}, {"pop", px_pop},
  {"clear", px_clear}, {"has", px_contains}, {NULL, NULL}
};

static const luaL_Reg list_methods[] = {
  {"get", px_get}, {"append", px_append}, {"extend", px_extend}, {"insert", px_insert},
  {"pop", px_pop}, {"remove", px_remove}, {"index", px_index}, {"count", px_count},
  {"clear", px_clear}, {"copy", px_tolist}, {"tolist", px_tolist}, {"has", px_contains},
  {NULL, NULL}
};

static const MpExport exports[] = {
  {NULL, 0, NULL},
  {&proxy_types[MK_DICT], sizeof(Proxy), obj_release},
  {&proxy_types[MK_LIST], sizeof(Proxy), obj_release},
  {&proxy_types[MK_NAMESPACE], sizeof(Proxy), obj_release},
};

void mp_open_manager(lua_State *L) {
  for (int k = MK_DICT; k <= MK_NAMESPACE; k++) mp_exportable(&exports[k]);
  if (luaL_newmetatable(L, MANAGER_MT)) {
    lua_newtable(L);
    luaL_setfuncs(L, mgr_methods, 0);
    lua_setfield(L, -2, "methods");
    lua_pushcfunction(L, mgr_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, mgr_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, mgr_shutdown);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  const luaL_Reg *methods[] = {NULL, dict_methods, list_methods, NULL};
  for (int k = MK_DICT; k <= MK_NAMESPACE; k++) {
    rt_newtype(L, &proxy_types[k], methods[k]);
    lua_pushcfunction(L, mp_ref_eq);
    lua_setfield(L, -2, "__eq");
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -2, "methods");
    lua_pushcfunction(L, px_index_mm);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, px_newindex_mm);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, px_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, px_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushcfunction(L, px_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
  }
  lua_pushcfunction(L, mp_Manager);
  lua_setfield(L, -2, "Manager");
}

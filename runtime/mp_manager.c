/*
** mp_manager.c — multiprocessing.Manager(): starting and stopping its
** server. The server is a forked process (mp_mgr_server.c); requests go
** through a channel in shared memory and each request gets a reply box
** in the arena (mp_mgr_client.c), so a proxy (mp_mgr_proxy.c) works in
** every process forked after the arena was mapped (passed to a Process,
** or inherited) and in GIL-off threads, with no sockets and no pickling.
**
** The creating process shuts its managers down at exit (after joining
** its non-daemon children, which may still use them), or earlier with
** mgr:shutdown() or `local mgr <close> = Manager()`. A Manager collected
** without shutdown() is abandoned: its server leaves once no shared
** object is left (at once when there is none; see MgrShared), the
** reaper reaps it, and its record here is freed by the next Manager()
** once the server is gone. The server dies with its creator (SIGKILL
** included: it is a tied child, mp_fork). Registry of managers: mgrs_mu.
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
#include "rtclass.h"

#define MANAGER_MT "multiprocessing.Manager"

typedef struct Manager {
  MgrShared *m;              /* one shared reference */
  pid_t creator;
  int shut;
} Manager;

typedef struct MgrEntry { MgrShared *m; struct MgrEntry *next; } MgrEntry;
static MgrEntry *mgrs;
static pthread_mutex_t mgrs_mu = PTHREAD_MUTEX_INITIALIZER;

void mp_managers_fork_prepare(void) { pthread_mutex_lock(&mgrs_mu); }

void mp_managers_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&mgrs_mu); }

void mp_managers_fork_child(void) {
  pthread_mutex_unlock(&mgrs_mu);       /* taken in prepare, by this thread */
  mgrs = NULL;
}

/* ---- the Manager ---- */

static Manager *check_mgr(lua_State *L) {
  return (Manager *)luaL_checkudata(L, 1, MANAGER_MT);
}

void mp_mgr_release(void *p) {
  MgrShared *m = (MgrShared *)p;
  if (!mp_shm_unref(m)) return;
  mp_chan_decref(m->req);
  mp_shm_free(m);
}

/* Frees the records of abandoned managers whose server has left (and
** reaps it if the reaper did not yet). mgrs_mu is a leaf of the fork
** list's order (after reap_mu), so the abandoned records are taken off
** the list first and looked at with no lock held; the live ones go back. */
static void sweep_abandoned(void) {
  MgrEntry *abandoned = NULL;
  pthread_mutex_lock(&mgrs_mu);
  for (MgrEntry **e = &mgrs; *e;) {
    if (__atomic_load_n(&(*e)->m->abandoned, __ATOMIC_ACQUIRE)) {
      MgrEntry *x = *e;
      *e = x->next;
      x->next = abandoned;
      abandoned = x;
    } else e = &(*e)->next;
  }
  pthread_mutex_unlock(&mgrs_mu);
  while (abandoned) {
    MgrEntry *x = abandoned;
    abandoned = x->next;
    int st;
    if (mp_reap(x->m->server, &st, MP_REAP_OWNER) != 0) {   /* gone */
      mp_mgr_release(x->m);
      free(x);
      continue;
    }
    pthread_mutex_lock(&mgrs_mu);
    x->next = mgrs;
    mgrs = x;
    pthread_mutex_unlock(&mgrs_mu);
  }
}

static int mp_Manager(lua_State *L) {
  if (lua_istable(L, 1)) return mgr_net_sync_manager(L);   /* over TCP: mgr_net_manager.c */
  sweep_abandoned();
  MgrShared *m = (MgrShared *)mp_shm_alloc_or_raise(L, sizeof(MgrShared), "Manager");
  Manager *mg = (Manager *)lua_newuserdatauv(L, sizeof(Manager), 0);
  memset(mg, 0, sizeof *mg);
  mg->m = m;
  mg->creator = getpid();
  mg->shut = 1;                         /* until the server runs */
  luaL_setmetatable(L, MANAGER_MT);
  m->req = mp_chan_new(L, 0);
  m->creator = getpid();
  pid_t pid = mp_fork(L, MP_FORK_TIED);
  if (pid < 0) return luaL_error(L, "Manager: cannot start the server: %s", strerror(errno));
  if (pid == 0) {
    lua_pushlightuserdata(L, m);
    mp_child_main(L, mp_mgr_serve, 1);
  }
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

void mp_mgr_say_bye(MgrShared *m) {
  if (__atomic_exchange_n(&m->bye_sent, 1, __ATOMIC_SEQ_CST)) return;
  unsigned char hdr[13] = {0};          /* no reply box */
  hdr[12] = MOP_SHUTDOWN;
  mp_chan_put(m->req, hdr, 13, 0, NULL);   /* never blocks: the channel has no bound */
}

/* Asks the server to stop (at most 'grace' s), then kills; reaps it. */
static void stop_server(MgrShared *m, double grace) {
  MgrReply *box = NULL;
  if (!__atomic_load_n(&m->stopped, __ATOMIC_ACQUIRE)) {
    box = mp_mgr_new_box();
    if (box) {
      unsigned char hdr[13] = {0};
      uint64_t off = mp_shm_off(box);
      memcpy(hdr, &off, 8);
      hdr[12] = MOP_SHUTDOWN;
      if (mp_chan_put_handing(m->req, hdr, 13, NULL, 0, 1, NULL, &box->sent) != 0) {
        mp_mgr_drop_box_unsent(box);
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
  if (box) mp_mgr_drop_box(box);        /* ours; the server dropped its own if it replied */
  __atomic_store_n(&m->stopped, 1, __ATOMIC_RELEASE);
}

static void unlist(MgrShared *m) {
  pthread_mutex_lock(&mgrs_mu);
  MgrEntry *found = NULL;
  for (MgrEntry **e = &mgrs; *e; e = &(*e)->next)
    if ((*e)->m == m) { found = *e; *e = found->next; break; }
  pthread_mutex_unlock(&mgrs_mu);
  if (found) { mp_mgr_release(m); free(found); }
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
    mp_mgr_release(e->m);
    free(e);
  }
}

/* Collected without shutdown(): the server leaves when the last shared
** object goes (now, if none is left; else the last proxy's release says
** bye: mp_mgr_proxy.c). A finalizer does not wait: the reaper reaps. */
static void abandon(MgrShared *m) {
  __atomic_store_n(&m->abandoned, 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&m->objects, __ATOMIC_SEQ_CST) == 0) mp_mgr_say_bye(m);
  mp_reap_later(m->server);
}

static int mgr_gc(lua_State *L) {
  Manager *mg = (Manager *)lua_touserdata(L, 1);
  if (mg->m && mg->creator == getpid()) {
    if (!mg->shut) abandon(mg->m);
    mp_mgr_release(mg->m);
  }
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
  mp_mgr_request(L, mg->m, 0, MOP_CREATE, 2, 2, NULL);
  mp_mgr_push_proxy(L, mg->m, (uint32_t)lua_tointeger(L, -1), kind);
  return 1;
}

/* How many objects the server holds (Python's _number_of_objects). */
static int mgr_nobjects(lua_State *L) {
  Manager *mg = check_mgr(L);
  if (mg->shut) return luaL_error(L, "the Manager has been shut down");
  return mp_mgr_request(L, mg->m, 0, MOP_NOBJECTS, 2, 0, NULL);
}

static int mgr_dict(lua_State *L) { return create(L, MK_DICT); }
static int mgr_list(lua_State *L) { return create(L, MK_LIST); }
static int mgr_namespace(lua_State *L) { return create(L, MK_NAMESPACE); }

static int mgr_index(lua_State *L) {
  Manager *mg = check_mgr(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "pid") == 0) { lua_pushinteger(L, mg->m ? mg->m->server : 0); return 1; }
  return rt_push_method(L, k);
}

static const luaL_Reg mgr_methods[] = {
  {"dict", mgr_dict}, {"list", mgr_list}, {"Namespace", mgr_namespace},
  {"shutdown", mgr_shutdown}, {"_number_of_objects", mgr_nobjects}, {NULL, NULL}
};

void mp_open_manager(lua_State *L) {
  static const luaL_Reg meta[] = {
    {"__index", mgr_index}, {"__gc", mgr_gc}, {"__close", mgr_shutdown}, {NULL, NULL}
  };
  rt_new_class(L, MANAGER_MT, mgr_methods, meta);
  mp_mgr_open_proxies(L);
  lua_pushcfunction(L, mp_Manager);
  lua_setfield(L, -2, "Manager");
}

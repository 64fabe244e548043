/*
** tthread.c — threading.Thread and the module functions about threads
** (current_thread, main_thread, enumerate, active_count, get_ident).
**
** A Thread handle is a userdata holding one reference to a GLThread
** record (vm/gthread.h). Its user value is a table of the Lua-side
** fields: target, args, an overriding run, and anything the script
** stores on the object (t.urls = ...). Handles are cached per
** interpreter, so current_thread() is the very object the script made.
**
** Starting a thread:
**   GIL on:  the new OS thread runs on a lua_newthread of the same
**            universe, anchored in the registry until it ends; it calls
**            self:run() under the GIL.
**   GIL off: the new OS thread gets a fresh universe; run, target, args
**            and the fields travel there by the value transfer, and it
**            calls self:run() there. Nothing else is shared.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "block.h"
#include "gil.h"
#include "gthread.h"
#include "options.h"
#include "stats.h"
#include "threading.h"
#include "tpool.h"
#include "trace.h"
#include "transfer.h"
#include "vm.h"
#include "modules.h"

#define THREAD_MT "threading.Thread"
#define THREAD_CACHE "gillua.threads"    /* lightuserdata(GLThread) -> handle, weak */
#define THREAD_ANCHOR "gillua.anchors"   /* lightuserdata(GLThread) -> lua_State (GIL on) */

typedef struct ThreadHandle { GLThread *t; } ThreadHandle;

/* What the creating thread hands to the new OS thread. */
typedef struct StartInfo {
  GLThread *t;
  lua_State *L1;       /* GIL on: the thread's lua_State, with the handle on it */
  TrBuffer payload;    /* GIL off: run, target, args, fields */
  int no_env;
} StartInfo;

static atomic_ulong unnamed_counter;   /* "Thread-N" */

/* ---- handles ---- */

/* Pushes this interpreter's handle for t (creating it with 'fields' at
** stack index 'fields', or an empty table when fields == 0). */
static void push_thread_with(lua_State *L, GLThread *t, int fields) {
  if (fields) fields = lua_absindex(L, fields);
  rt_registry_table(L, THREAD_CACHE, "v");
  if (lua_rawgetp(L, -1, t) != LUA_TNIL) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  ThreadHandle *h = (ThreadHandle *)lua_newuserdatauv(L, sizeof *h, 1);
  h->t = t;
  gt_incref(t);
  luaL_setmetatable(L, THREAD_MT);
  if (fields) lua_pushvalue(L, fields);
  else lua_newtable(L);
  lua_setiuservalue(L, -2, 1);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, -3, t);
  lua_remove(L, -2);
}

static void push_thread(lua_State *L, GLThread *t) { push_thread_with(L, t, 0); }

static GLThread *check_thread(lua_State *L, int idx) {
  ThreadHandle *h = (ThreadHandle *)luaL_checkudata(L, idx, THREAD_MT);
  return h->t;
}

static int thread_gc(lua_State *L) {
  ThreadHandle *h = (ThreadHandle *)luaL_checkudata(L, 1, THREAD_MT);
  if (h->t) { gt_decref(h->t); h->t = NULL; }
  return 0;
}

/* ---- construction ---- */

static void set_option(lua_State *L, GLThread *t, const char *key, int v) {
  if (strcmp(key, "target") == 0) {
    int callable = lua_isnil(L, v) || lua_isfunction(L, v);
    if (!callable && luaL_getmetafield(L, v, "__call") != LUA_TNIL) {
      lua_pop(L, 1);
      callable = 1;
    }
    if (!callable)
      luaL_error(L, "Thread: target must be a function (got %s)", luaL_typename(L, v));
  } else if (strcmp(key, "args") == 0) {
    if (!lua_isnil(L, v) && !lua_istable(L, v))
      luaL_error(L, "Thread: args must be a table (got %s)", luaL_typename(L, v));
  } else if (strcmp(key, "name") == 0) {
    if (!lua_isnil(L, v)) {
      if (lua_type(L, v) != LUA_TSTRING)   /* not lua_isstring: 5 is no name */
        luaL_error(L, "Thread: name must be a string (got %s)", luaL_typename(L, v));
      snprintf(t->name, sizeof t->name, "%s", lua_tostring(L, v));
    }
    return;
  } else if (strcmp(key, "daemon") == 0) {
    if (!lua_isnil(L, v)) {
      if (!lua_isboolean(L, v))
        luaL_error(L, "Thread: daemon must be a boolean (got %s)", luaL_typename(L, v));
      t->daemon = lua_toboolean(L, v);
    }
    return;
  } else
    luaL_error(L, "Thread: unknown option '%s' (expected target, args, name, daemon)", key);
  /* target, args: stored in the fields table (at stack index -2 of caller) */
}

/* threading.Thread{target=, args={}, name=, daemon=} */
static int thread_new(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
  rt_check_options(L, 1, "Thread", (const char *const[]){"target", "args", "name", "daemon", NULL});
  GLThread *t = gt_new();
  if (t == NULL) return luaL_error(L, "Thread: not enough memory");
  t->daemon = gl_self ? gl_self->daemon : 0;
  lua_newtable(L);                        /* fields */
  int fields = lua_gettop(L);
  ThreadHandle *h = (ThreadHandle *)lua_newuserdatauv(L, sizeof *h, 1);
  h->t = t;                               /* the handle owns t's first reference */
  luaL_setmetatable(L, THREAD_MT);
  lua_pushvalue(L, fields);
  lua_setiuservalue(L, -2, 1);
  if (lua_istable(L, 1)) {
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        return luaL_error(L, "Thread: options must be named (target=, args=, name=, daemon=)");
      const char *key = lua_tostring(L, -2);
      set_option(L, t, key, lua_gettop(L));
      if (strcmp(key, "target") == 0 || strcmp(key, "args") == 0) {
        lua_pushvalue(L, -2);
        lua_pushvalue(L, -2);
        lua_rawset(L, fields);
      }
      lua_pop(L, 1);
    }
  }
  if (t->name[0] == '\0')
    snprintf(t->name, sizeof t->name, "Thread-%lu", atomic_fetch_add(&unnamed_counter, 1) + 1);
  rt_registry_table(L, THREAD_CACHE, "v");
  lua_pushvalue(L, -2);
  lua_rawsetp(L, -2, t);
  lua_pop(L, 1);
  return 1;
}

/* ---- the thread body ---- */

/* Calls self:run() with the handle on top of L; reports an uncaught error
** as Python does ("Exception in thread NAME:") and keeps its message. */
static int call_run(lua_State *L) {   /* self:run(), inside the pcall */
  lua_getfield(L, 1, "run");
  lua_insert(L, 1);
  lua_call(L, 1, 0);
  return 0;
}

/* Keeps the first mlen bytes of msg as t.error (NULL when out of memory). */
static void keep_error(GLThread *t, const char *msg, size_t mlen) {
  char *copy = malloc(mlen + 1);
  if (copy) { memcpy(copy, msg, mlen); copy[mlen] = '\0'; }
  gt_lock();
  free(t->error);
  t->error = copy;
  gt_unlock();
}

static void run_body(lua_State *L, GLThread *t) {
  int handle = lua_gettop(L);
  lua_pushcfunction(L, gl_traceback_handler);
  lua_pushcfunction(L, call_run);
  lua_pushvalue(L, handle);
  if (lua_pcall(L, 1, 0, handle + 1) == LUA_OK) return;
  const char *tb = lua_tostring(L, -1);
  if (tb == NULL) tb = "(error object is not a string)";
  /* the message is the traceback's first line */
  const char *nl = strstr(tb, "\nstack traceback:");
  keep_error(t, tb, nl ? (size_t)(nl - tb) : strlen(tb));
  gt_lock();
  char name[sizeof t->name];
  memcpy(name, t->name, sizeof name);
  gt_unlock();
  lua_pushfstring(L, "Exception in thread %s:\n%s\n", name, tb);
  fputs(lua_tostring(L, -1), stderr);
  fflush(stderr);
}

static void unanchor(lua_State *universe, GLThread *t) {
  rt_registry_table(universe, THREAD_ANCHOR, NULL);
  lua_pushnil(universe);
  lua_rawsetp(universe, -2, t);
  lua_pop(universe, 1);
}

static void signal_started(GLThread *t) {
  pthread_mutex_lock(&t->done_mu);
  t->started = 1;
  pthread_cond_broadcast(&t->done_cv);
  pthread_mutex_unlock(&t->done_mu);
}

/* GIL off, in the thread's fresh universe (protected): decode run,
** target, args and fields, make this thread's handle and run it. */
static int isolated_entry(lua_State *U) {
  StartInfo *si = (StartInfo *)lua_touserdata(U, 1);
  GLThread *t = si->t;
  luaL_requiref(U, "threading", luaopen_threading, 0);   /* registers THREAD_MT */
  lua_settop(U, 0);
  if (tr_push_decoded(U, si->payload.data, si->payload.len) != 4)
    return luaL_error(U, "thread payload has the wrong shape");
  if (lua_isnil(U, 4)) { lua_pop(U, 1); lua_newtable(U); }
  const char *keys[3] = { "run", "target", "args" };
  for (int i = 0; i < 3; i++) {
    lua_pushvalue(U, i + 1);
    lua_setfield(U, 4, keys[i]);
  }
  push_thread_with(U, t, 4);
  run_body(U, t);
  return 0;
}

static void *thread_main(void *arg) {
  StartInfo *si = (StartInfo *)arg;
  GLThread *t = si->t;
  if (gil_enabled()) {
    gt_bind_self(t, si->L1, t->universe);
    signal_started(t);
    gil_acquire(t);
    run_body(si->L1, t);
    lua_settop(si->L1, 0);
    atomic_store(&t->running, NULL);   /* no signal may touch L1 any more */
    unanchor(si->L1, t);               /* L1 is collectable once we drop the GIL */
  } else {
    lua_State *U = gl_universe_new(si->no_env);
    gt_bind_self(t, U, U);
    signal_started(t);
    gil_acquire(t);
    if (U == NULL) {
      fprintf(stderr, "Exception in thread %s:\ncannot create interpreter: not enough memory\n", t->name);
    } else {
      lua_pushcfunction(U, isolated_entry);
      lua_pushlightuserdata(U, si);
      if (lua_pcall(U, 1, 0, 0) != LUA_OK) {   /* setting up failed, not the thread's code */
        const char *msg = lua_tostring(U, -1);
        if (msg == NULL) msg = "(error object is not a string)";
        keep_error(t, msg, strlen(msg));       /* t.error says it too */
        fprintf(stderr, "Exception in thread %s:\n%s\n", t->name, msg);
      }
      atomic_store(&t->running, NULL);
      lua_close(U);
    }
    tr_buffer_free(&si->payload);
  }
  free(si);
  gil_release(t);
  gl_stats_retire(t);
  if (gl_trace_enabled) gl_trace_thread_exit(t);
  gt_set_done(t);
  gt_decref(t);
  return NULL;
}

/* ---- methods ---- */

static int thread_start(lua_State *L) {
  GLThread *t = check_thread(L, 1);
  gt_lock();
  GTState st = t->state;
  gt_unlock();
  if (st != GT_NEW) return luaL_error(L, "threads can only be started once");
  StartInfo *si = calloc(1, sizeof *si);
  if (si == NULL) return luaL_error(L, "Thread:start: not enough memory");
  si->t = t;
  tr_buffer_init(&si->payload);
  if (gil_enabled()) {
    si->L1 = lua_newthread(L);
    rt_registry_table(L, THREAD_ANCHOR, NULL);
    lua_pushvalue(L, -2);
    lua_rawsetp(L, -2, t);                 /* anchored until the thread ends */
    lua_pop(L, 2);
    lua_pushvalue(L, 1);
    lua_xmove(L, si->L1, 1);               /* the handle, for self:run() */
    t->universe = gl_self ? gl_self->universe : L;
  } else {
    lua_getiuservalue(L, 1, 1);            /* fields */
    int fields = lua_gettop(L);
    lua_getfield(L, fields, "run");
    lua_getfield(L, fields, "target");
    lua_getfield(L, fields, "args");
    lua_newtable(L);                       /* the other fields */
    lua_pushnil(L);
    while (lua_next(L, fields)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
      if (k && (!strcmp(k, "run") || !strcmp(k, "target") || !strcmp(k, "args"))) {
        lua_pop(L, 1);
        continue;
      }
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -4);
    }
    static const char *const names[] = { "run", "target", "args", "fields" };
    char err[256];
    if (tr_encode_named(L, fields + 1, 4, names, &si->payload, err, sizeof err) != 0) {
      free(si);
      return luaL_error(L, "%s", err);
    }
    lua_settop(L, fields - 1);
    si->no_env = gl_config()->no_env;
  }
  gt_lock();
  t->state = GT_RUNNING;
  gt_unlock();
  gt_incref(t);                            /* the OS thread's reference */
  gt_register(t);
  /* an OS thread kept from a finished thread, or a new one (vm/tpool.c:
  ** SIGINT blocked, so it always reaches the main thread) */
  int rc = gl_spawn(thread_main, si);
  if (rc != 0) {
    if (si->L1) unanchor(L, t);
    tr_buffer_free(&si->payload);
    free(si);
    gt_set_done(t);
    gt_decref(t);
    return luaL_error(L, "Thread:start: cannot create thread: %s", strerror(rc));
  }
  /* Wait until the thread has its ident (it signals before taking the
  ** GIL, so this short wait needs no GIL release). */
  pthread_mutex_lock(&t->done_mu);
  while (!t->started) pthread_cond_wait(&t->done_cv, &t->done_mu);
  pthread_mutex_unlock(&t->done_mu);
  return 0;
}

static int thread_join(lua_State *L) {
  GLThread *t = check_thread(L, 1);
  struct timespec ts, *deadline = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_STRICT);
  if (t == gl_self) return luaL_error(L, "cannot join current thread");
  gt_lock();
  GTState st = t->state;
  gt_unlock();
  if (st == GT_NEW) return luaL_error(L, "cannot join thread before it is started");
  int rc = gt_join(t, deadline);
  if (rc == EINTR) return gl_raise_interrupt(L);
  lua_pushboolean(L, rc == 0);
  return 1;
}

static int thread_is_alive(lua_State *L) {
  GLThread *t = check_thread(L, 1);
  gt_lock();
  lua_pushboolean(L, t->state == GT_RUNNING);
  gt_unlock();
  return 1;
}

/* Default run: target(table.unpack(args, 1, args.n or #args)). */
static int thread_run(lua_State *L) {
  check_thread(L, 1);
  lua_getiuservalue(L, 1, 1);
  int fields = lua_gettop(L);
  if (lua_getfield(L, fields, "target") == LUA_TNIL) return 0;
  int n = 0;
  if (lua_getfield(L, fields, "args") == LUA_TTABLE) {
    int args = lua_gettop(L);
    lua_Integer len;
    if (lua_getfield(L, args, "n") == LUA_TNUMBER) len = lua_tointeger(L, -1);
    else { lua_pop(L, 1); len = luaL_len(L, args); lua_pushnil(L); }
    lua_pop(L, 1);
    luaL_checkstack(L, (int)len, "too many thread arguments");
    for (lua_Integer i = 1; i <= len; i++) lua_geti(L, args, i);
    lua_remove(L, args);
    n = (int)len;
  } else
    lua_pop(L, 1);
  lua_call(L, n, 0);
  return 0;
}

static int thread_index(lua_State *L) {
  GLThread *t = check_thread(L, 1);
  const char *k = lua_tostring(L, 2);
  if (k && lua_type(L, 2) == LUA_TSTRING) {
    if (!strcmp(k, "name")) { gt_lock(); lua_pushstring(L, t->name); gt_unlock(); return 1; }
    if (!strcmp(k, "daemon")) { gt_lock(); lua_pushboolean(L, t->daemon); gt_unlock(); return 1; }
    if (!strcmp(k, "error")) {
      gt_lock();
      if (t->error) lua_pushstring(L, t->error); else lua_pushnil(L);
      gt_unlock();
      return 1;
    }
    if (!strcmp(k, "ident") || !strcmp(k, "native_id")) {
      gt_lock();
      int started = t->state != GT_NEW;
      gt_unlock();
      if (!started) lua_pushnil(L);
      else lua_pushinteger(L, k[0] == 'i' ? t->ident : t->native_id);
      return 1;
    }
  }
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) != LUA_TNIL) return 1;
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int thread_newindex(lua_State *L) {
  GLThread *t = check_thread(L, 1);
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  if (k && !strcmp(k, "name")) {
    luaL_checktype(L, 3, LUA_TSTRING);
    const char *v = lua_tostring(L, 3);
    gt_lock();
    snprintf(t->name, sizeof t->name, "%s", v);
    gt_unlock();
    return 0;
  }
  if (k && !strcmp(k, "daemon")) {
    luaL_checktype(L, 3, LUA_TBOOLEAN);
    gt_lock();
    int started = t->state != GT_NEW;
    if (!started) t->daemon = lua_toboolean(L, 3);
    gt_unlock();
    if (started) return luaL_error(L, "cannot set daemon status of active thread");
    return 0;
  }
  if (k && (!strcmp(k, "ident") || !strcmp(k, "native_id") || !strcmp(k, "error")))
    return luaL_error(L, "Thread field '%s' is read-only", k);
  lua_getiuservalue(L, 1, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_rawset(L, -3);
  return 0;
}

static int thread_tostring(lua_State *L) {
  GLThread *t = check_thread(L, 1);
  gt_lock();
  const char *st = t->state == GT_NEW ? "initial" : t->state == GT_RUNNING ? "started" : "stopped";
  lua_pushfstring(L, "<Thread(%s, %s%s", t->name, st, t->daemon ? " daemon" : "");
  if (t->state != GT_NEW) lua_pushfstring(L, " %I)>", t->ident);
  else lua_pushliteral(L, ")>");
  gt_unlock();
  lua_concat(L, 2);
  return 1;
}

static int thread_eq(lua_State *L) {
  ThreadHandle *a = (ThreadHandle *)luaL_testudata(L, 1, THREAD_MT);
  ThreadHandle *b = (ThreadHandle *)luaL_testudata(L, 2, THREAD_MT);
  lua_pushboolean(L, a && b && a->t == b->t);
  return 1;
}

/* ---- module functions ---- */

static int current_thread(lua_State *L) {
  if (gl_self == NULL) return luaL_error(L, "current_thread: not a gillua thread");
  push_thread(L, gl_self);
  return 1;
}

static int main_thread(lua_State *L) {
  push_thread(L, gt_main());
  return 1;
}

#define MAX_ENUM 65536

static int enumerate(lua_State *L) {
  GLThread **snap = malloc(MAX_ENUM * sizeof *snap);
  if (snap == NULL) return luaL_error(L, "enumerate: not enough memory");
  int n = gt_snapshot(snap, MAX_ENUM);
  if (n > MAX_ENUM) n = MAX_ENUM;
  lua_createtable(L, n, 0);
  for (int i = n - 1, k = 1; i >= 0; i--, k++) {   /* registry is newest first */
    push_thread(L, snap[i]);
    lua_rawseti(L, -2, k);
  }
  for (int i = 0; i < n; i++) gt_decref(snap[i]);
  free(snap);
  return 1;
}

static int active_count(lua_State *L) {
  GLThread *one[1];
  int n = gt_snapshot(one, 1);
  if (n > 0) gt_decref(one[0]);
  lua_pushinteger(L, n);
  return 1;
}

static int get_ident(lua_State *L) {
  if (gl_self == NULL) return luaL_error(L, "get_ident: not a gillua thread");
  lua_pushinteger(L, gl_self->ident);
  return 1;
}

static int get_native_id(lua_State *L) {
  if (gl_self == NULL) return luaL_error(L, "get_native_id: not a gillua thread");
  lua_pushinteger(L, gl_self->native_id);
  return 1;
}

void gl_threading_open_thread(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"start", thread_start}, {"join", thread_join}, {"is_alive", thread_is_alive},
    {"run", thread_run}, {NULL, NULL}
  };
  static const luaL_Reg meta[] = {
    {"__index", thread_index}, {"__newindex", thread_newindex},
    {"__gc", thread_gc}, {"__tostring", thread_tostring}, {"__eq", thread_eq},
    {NULL, NULL}
  };
  static const luaL_Reg funcs[] = {
    {"Thread", thread_new}, {"current_thread", current_thread},
    {"main_thread", main_thread}, {"enumerate", enumerate},
    {"active_count", active_count}, {"get_ident", get_ident},
    {"get_native_id", get_native_id}, {NULL, NULL}
  };
  if (luaL_newmetatable(L, THREAD_MT)) {
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "methods");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, funcs, 0);
}

/*
** tthread_run.c — Thread:start() and the body of a thread.
**
** Starting a thread:
**   GIL on:  the new OS thread runs on a lua_newthread of the same
**            universe, anchored in the registry until it ends; it calls
**            self:run() under the GIL.
**   GIL off: the new OS thread gets a fresh universe; run, target, args,
**            the other fields and a custom threading.excepthook travel
**            there by the value transfer, and it calls self:run() there.
**            Nothing else is shared.
** The record goes NEW -> RUNNING in one step (gt_claim_start), so two
** interpreters holding the same handle cannot both start it.
**
** An uncaught error: the message handler keeps the error value, its
** message and the traceback; t.error gets the message and
** threading.excepthook{exc_type=, exc_value=, exc_traceback=, thread=}
** reports it (the default prints "Exception in thread NAME:" and the
** traceback, as Python's).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "block.h"
#include "callargs.h"
#include "gil.h"
#include "modules.h"
#include "spin.h"
#include "stats.h"
#include "threading.h"
#include "tpool.h"
#include "trace.h"
#include "transfer.h"
#include "tthread.h"
#include "vm.h"

#define THREAD_ANCHOR "gillua.anchors"   /* lightuserdata(GLThread) -> lua_State (GIL on) */
#define GIL_SPIN_NS 50000ull   /* GIL on: a new thread waits this long for its creator to block */

static GLSpin creator_spin = GL_SPIN_INIT;   /* GIL on: see thread_main */

/* What the creating thread hands to the new OS thread. */
typedef struct StartInfo {
  GLThread *t;
  lua_State *L1;       /* GIL on: the thread's lua_State, with the handle on it */
  lua_State *universe; /* GIL on: the creator's universe */
  TrBuffer payload;    /* GIL off: run, target, args, fields, excepthook */
  int no_env;
} StartInfo;

/* ---- reporting an uncaught error ---- */

/* Message handler: {value = the error, message = its text, traceback =}. */
static int msgh_report(lua_State *L) {
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "value");
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  lua_pushstring(L, msg);
  lua_setfield(L, 2, "message");
  luaL_traceback(L, L, NULL, 1);
  lua_setfield(L, 2, "traceback");
  lua_settop(L, 2);
  return 1;
}

/* Calls the excepthook with the report at 'report' for the handle at
** 'handle'; an excepthook that fails is reported on stderr. */
static void call_excepthook(lua_State *L, int handle, int report) {
  int top = lua_gettop(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int hook_ok = lua_getfield(L, -1, "threading") == LUA_TTABLE &&
                lua_getfield(L, -1, "excepthook") != LUA_TNIL;
  if (!hook_ok) {
    lua_settop(L, top);
    lua_pushcfunction(L, tt_default_excepthook);
  }
  lua_createtable(L, 0, 4);
  lua_getfield(L, report, "value");
  lua_pushstring(L, luaL_typename(L, -1));
  lua_setfield(L, -3, "exc_type");
  lua_setfield(L, -2, "exc_value");
  lua_getfield(L, report, "traceback");
  lua_setfield(L, -2, "exc_traceback");
  lua_getfield(L, report, "message");
  lua_setfield(L, -2, "message");
  lua_pushvalue(L, handle);
  lua_setfield(L, -2, "thread");
  lua_pushcfunction(L, msgh_report);
  lua_insert(L, -3);
  if (lua_pcall(L, 1, 0, -3) != LUA_OK) {
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "message");
      lua_getfield(L, -2, "traceback");
    } else
      lua_pushliteral(L, "");
    fprintf(stderr, "Exception in threading.excepthook:\n%s\n%s\n",
            lua_tostring(L, -2), lua_tostring(L, -1));
    fflush(stderr);
  }
  lua_settop(L, top);
}

static int call_run(lua_State *L) {   /* self:run(), inside the pcall */
  lua_getfield(L, 1, "run");
  lua_insert(L, 1);
  lua_call(L, 1, 0);
  return 0;
}

/* Calls self:run() with the handle on top of L; an uncaught error sets
** t.error and goes to threading.excepthook. */
static void run_body(lua_State *L, GLThread *t) {
  int handle = lua_gettop(L);
  lua_pushcfunction(L, msgh_report);
  lua_pushcfunction(L, call_run);
  lua_pushvalue(L, handle);
  if (lua_pcall(L, 1, 0, handle + 1) == LUA_OK) return;
  int report = lua_gettop(L);
  if (!lua_istable(L, report)) {       /* the handler itself failed (memory) */
    const char *msg = lua_tostring(L, report);
    if (msg == NULL) msg = "(error object is not a string)";
    gt_set_error(t, msg, strlen(msg));
    fprintf(stderr, "Exception in thread:\n%s\n", msg);
    fflush(stderr);
    return;
  }
  lua_getfield(L, report, "message");
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  gt_set_error(t, msg, len);
  lua_pop(L, 1);
  call_excepthook(L, handle, report);
}

/* ---- the new OS thread ---- */

static void unanchor(lua_State *universe, GLThread *t) {
  rt_registry_table(universe, THREAD_ANCHOR, NULL);
  lua_pushnil(universe);
  lua_rawsetp(universe, -2, t);
  lua_pop(universe, 1);
}

/* GIL off, in the thread's fresh universe (protected): decode run,
** target, args, fields and the excepthook, make this thread's handle and
** run it. Only the Thread type is registered for the handle, not the
** whole threading module (a sixth of a thread's start-up cost, measured:
** 15 of 60 us per universe): the thread's require "threading", or a
** value in its payload that needs the module (an Event, a custom
** excepthook), opens it, as in the main universe. */
static int isolated_entry(lua_State *U) {
  StartInfo *si = (StartInfo *)lua_touserdata(U, 1);
  GLThread *t = si->t;
  tt_open_type(U);
  lua_settop(U, 0);
  if (tr_push_decoded(U, si->payload.data, si->payload.len) != 5)
    return luaL_error(U, "thread payload has the wrong shape");
  if (!lua_isnil(U, 5)) {
    luaL_requiref(U, "threading", luaopen_threading, 0);
    lua_pushvalue(U, 5);
    lua_setfield(U, -2, "excepthook");
  }
  lua_settop(U, 4);
  if (lua_isnil(U, 4)) { lua_pop(U, 1); lua_newtable(U); }
  const char *keys[3] = { "run", "target", "args" };
  for (int i = 0; i < 3; i++) {
    lua_pushvalue(U, i + 1);
    lua_setfield(U, 4, keys[i]);
  }
  tt_push(U, t);
  lua_pushvalue(U, 4);
  lua_setiuservalue(U, -2, 1);   /* this interpreter's fields are the starter's */
  run_body(U, t);
  return 0;
}

/* GIL off: the interpreter a parked OS thread prepares for the next
** thread it runs (vm/tpool.c), so that the ~35 us a universe costs are
** spent while the starting thread builds the next Thread and encodes its
** target, not after. The same OS thread builds, uses and closes it (one
** malloc arena: a universe built on one thread and closed on another
** made glibc's arena lock a point of contention, measured 90-125 us per
** start + join instead of 58). At most one is prepared at a time; one
** never used is closed when its thread's idle time ends or at exit. */
static void *prepare_universe(void) { return gl_universe_new(gl_config()->no_env); }

static void discard_universe(void *U) { lua_close((lua_State *)U); }

static void discard_at_exit(int interrupted) {
  (void)interrupted;
  gl_tpool_discard_prepared();
}

/* At the first GIL-off start(), on the main thread (no other thread can
** start one before it has): the exit duties are the main thread's. */
static void prepare_ahead_setup(void) {
  static atomic_int done;
  if (atomic_exchange(&done, 1)) return;
  gl_tpool_set_prepare(prepare_universe, discard_universe);
  gl_at_shutdown(discard_at_exit);
}

static void run_isolated(StartInfo *si, GLThread *t) {
  lua_State *U = (lua_State *)gl_tpool_take_prepared();
  if (U == NULL) U = gl_universe_new(si->no_env);
  gt_bind_self(t, U, U);
  gt_mark_started(t);
  gil_acquire(t);
  char name[sizeof t->name];
  gt_get_name(t, name, sizeof name);
  if (U == NULL) {
    static const char nomem[] = "cannot create interpreter: not enough memory";
    gt_set_error(t, nomem, sizeof nomem - 1);
    fprintf(stderr, "Exception in thread %s:\n%s\n", name, nomem);
  } else {
    lua_pushcfunction(U, isolated_entry);
    lua_pushlightuserdata(U, si);
    if (lua_pcall(U, 1, 0, 0) != LUA_OK) {   /* setting up failed, not the thread's code */
      const char *msg = lua_tostring(U, -1);
      if (msg == NULL) msg = "(error object is not a string)";
      gt_set_error(t, msg, strlen(msg));      /* t.error says it too */
      fprintf(stderr, "Exception in thread %s:\n%s\n", name, msg);
    }
    gt_unbind_running(t);
    lua_close(U);
  }
  tr_buffer_free(&si->payload);
}

static void *thread_main(void *arg) {
  StartInfo *si = (StartInfo *)arg;
  GLThread *t = si->t;
  if (gil_enabled()) {
    unsigned long epoch = gl_block_epoch();
    gt_bind_self(t, si->L1, si->universe);
    gt_mark_started(t);
    /* The creator holds the GIL until it blocks, often at once (join,
    ** a queue, a lock): queueing now would make the GIL's hand-over wake
    ** this thread from a sleep; waiting a moment for the block lets it
    ** find the GIL free. */
    gl_spin_for_block(&creator_spin, epoch, GIL_SPIN_NS);
    gil_acquire(t);
    run_body(si->L1, t);
    lua_settop(si->L1, 0);
    gt_unbind_running(t);              /* no signal may touch L1 any more */
    unanchor(si->L1, t);               /* L1 is collectable once we drop the GIL */
  } else
    run_isolated(si, t);
  free(si);
  gil_release(t);
  gl_stats_retire(t);
  if (gl_trace_enabled) gl_trace_thread_exit(t);
  gt_set_done(t);
  gt_decref(t);
  return NULL;
}

/* ---- start() ---- */

/* GIL off: encodes run, target, args, the other fields and a custom
** excepthook into si->payload (raises on values that cannot travel). */
static void encode_payload(lua_State *L, StartInfo *si) {
  int top = lua_gettop(L);
  tt_push_fields(L, 1);
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
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "threading") != LUA_TTABLE) lua_pushnil(L);
  else lua_getfield(L, -1, "excepthook");
  lua_replace(L, -3);
  lua_pop(L, 1);
  if (lua_tocfunction(L, -1) == tt_default_excepthook) {   /* the new one has it */
    lua_pop(L, 1);
    lua_pushnil(L);
  }
  static const char *const names[] = { "run", "target", "args", "fields", "excepthook" };
  char err[TR_ERRMAX];
  if (tr_encode_named(L, fields + 1, 5, names, &si->payload, err, sizeof err) != 0) {
    free(si);
    luaL_error(L, "%s", err);
  }
  lua_settop(L, top);
}

int tt_start(lua_State *L) {
  GLThread *t = tt_check(L, 1);
  if (gt_state(t) != GT_NEW) return luaL_error(L, "threads can only be started once");
  tt_push_fields(L, 1);                    /* a bad args.n fails here, not in the thread */
  if (lua_getfield(L, -1, "args") == LUA_TTABLE) gl_args_check(L, -1, "Thread");
  lua_pop(L, 2);
  StartInfo *si = calloc(1, sizeof *si);
  if (si == NULL) return luaL_error(L, "Thread:start: not enough memory");
  si->t = t;
  tr_buffer_init(&si->payload);
  if (gil_enabled()) {
    si->universe = gl_self ? gl_self->universe : L;
    si->L1 = lua_newthread(L);             /* on the stack until anchored below */
    lua_pushvalue(L, 1);
    lua_xmove(L, si->L1, 1);               /* the handle, for self:run() */
  } else {
    encode_payload(L, si);                 /* frees si when it raises */
    si->no_env = gl_config()->no_env;
    prepare_ahead_setup();
  }
  if (gt_claim_start(t) != 0) {            /* another thread started it meanwhile */
    tr_buffer_free(&si->payload);
    free(si);
    return luaL_error(L, "threads can only be started once");
  }
  if (si->L1) {                            /* anchored until the thread ends */
    rt_registry_table(L, THREAD_ANCHOR, NULL);
    lua_pushvalue(L, -2);
    lua_rawsetp(L, -2, t);
    lua_pop(L, 2);
  }
  /* an OS thread kept from a finished thread, or a new one (vm/tpool.c:
  ** SIGINT blocked, so it always reaches the main thread) */
  int rc = gl_spawn(thread_main, si);
  if (rc != 0) {
    if (si->L1) unanchor(L, t);
    tr_buffer_free(&si->payload);
    free(si);
    gt_start_failed(t);
    return luaL_error(L, "Thread:start: cannot create thread: %s", strerror(rc));
  }
  gt_wait_started(t);
  return 0;
}

/*
** hook.c — arming the count hook from a signal, Ctrl-C, and coroutine
** tracking.
**
** The arm signal (a real-time signal, SA_RESTART so Lua's io calls are
** not disturbed) is sent by a GIL waiter to the holder's thread. Its
** handler runs on that thread and calls lua_sethook on the lua_State the
** thread runs at that moment (GLThread.running). Only that thread writes
** 'running', so the handler reads a value its own thread stored.
**
** Ctrl-C: SIGINT is blocked in every thread but the main one, so it is
** always delivered to the main thread. The handler marks an interrupt as
** pending and arms the count hook (count 1) on the main thread's running
** state: the next Lua instruction raises "interrupted". A main thread
** that is blocked (join, lock, queue, sleep...) sees the pending flag in
** gl_cond_wait within 50 ms; one that waits for the GIL goes to the head
** of the queue and asks the holder to drop (gil.c).
**
** Every arming goes through gl_hook_arm / gl_hook_idle, which touch a
** state only when its hook is the GIL's or none: a state carrying a
** script's debug.sethook hook (runtime/ldbhook.c) has a dispatcher that
** polls for the GIL itself, and arming must not overwrite it.
*/
#include <signal.h>
#include <string.h>

#include <lauxlib.h>

#include "gil.h"
#include "hook.h"

static atomic_int interrupt_pending;
static atomic_int interrupt_seen;

int gl_arm_signal(void) { return SIGRTMIN + 3; }

static void on_arm(int sig) {
  (void)sig;
  GLThread *t = gl_self;
  if (t == NULL) return;
  lua_State *L = atomic_load_explicit(&t->running, memory_order_relaxed);
  if (L) gl_hook_arm(L, atomic_load(&t->hook_count));
}

static void on_sigint(int sig) {
  (void)sig;
  atomic_store(&interrupt_pending, 1);
  atomic_store(&interrupt_seen, 1);
  GLThread *m = gl_self;   /* SIGINT is only unblocked on the main thread */
  if (m == NULL || !m->is_main) return;
  lua_State *L = atomic_load_explicit(&m->running, memory_order_relaxed);
  if (L) gl_hook_arm(L, 1);
}

void gl_hooks_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sa.sa_handler = on_arm;
  sigaction(gl_arm_signal(), &sa, NULL);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, NULL);
}

/* A state whose hook is somebody else's (debug.sethook's dispatcher,
** see runtime/ldbhook.c) polls for the GIL by itself: leave it alone. */
static int hook_is_ours(lua_State *L) {
  lua_Hook h = lua_gethook(L);
  return h == NULL || h == gl_count_hook;
}

void gl_hook_arm(lua_State *L, int count) {
  if (hook_is_ours(L)) lua_sethook(L, gl_count_hook, LUA_MASKCOUNT, count);
}

void gl_hook_idle(lua_State *L) {
  if (!hook_is_ours(L)) return;
  if (GL_POLL_COUNT) lua_sethook(L, gl_count_hook, LUA_MASKCOUNT, GL_POLL_COUNT);
  else lua_sethook(L, NULL, 0, 0);
}

void gl_arm_thread(GLThread *t) {
  pthread_kill(t->tid, gl_arm_signal());
}

int gl_interrupt_pending(void) { return atomic_load(&interrupt_pending); }
void gl_interrupt_consume(void) { atomic_store(&interrupt_pending, 0); }
void gl_interrupt_repost(void) { atomic_store(&interrupt_pending, 1); }
int gl_interrupt_seen(void) { return atomic_load(&interrupt_seen); }

void gl_interrupt_forget(void) {
  atomic_store(&interrupt_pending, 0);
  atomic_store(&interrupt_seen, 0);
}

void gl_count_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if (gl_self == NULL) { lua_sethook(L, NULL, 0, 0); return; }
  gl_hook_service(L);
}

void gl_hook_service(lua_State *L) {
  GLThread *t = gl_self;
  if (t == NULL) return;
  if (t->is_main && gl_interrupt_pending()) {
    gl_interrupt_consume();
    gl_hook_idle(L);
    luaL_error(L, "interrupted");
    return;
  }
  gil_hook_point(t, L);
  if (t->is_main && gl_interrupt_pending()) {   /* arrived while we waited */
    gl_interrupt_consume();
    luaL_error(L, "interrupted");
  }
}

/*
** coroutine.resume / coroutine.wrap, written on the public API so that a
** thread's 'running' state follows resumes and yields. Behaviour and
** messages are those of Lua 5.4's own coroutine library.
*/

static lua_State *check_co(lua_State *L, int idx) {
  lua_State *co = lua_tothread(L, idx);
  luaL_argexpected(L, co, idx, "coroutine");
  return co;
}

/* Resumable? Returns NULL or the reason it is not. */
static const char *not_resumable(lua_State *L, lua_State *co) {
  if (co == L) return "cannot resume non-suspended coroutine";
  switch (lua_status(co)) {
    case LUA_YIELD: return NULL;
    case LUA_OK: {
      lua_Debug ar;
      if (lua_getstack(co, 0, &ar)) return "cannot resume non-suspended coroutine";
      if (lua_gettop(co) == 0) return "cannot resume dead coroutine";
      return NULL;
    }
    default: return "cannot resume dead coroutine";
  }
}

/* Moves narg values from L to co and resumes it. Returns the number of
** results moved back to L, or -1 with the error object on top of L. */
static int do_resume(lua_State *L, lua_State *co, int narg) {
  const char *why = not_resumable(L, co);
  if (why) { lua_pushstring(L, why); return -1; }
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  lua_xmove(L, co, narg);
  GLThread *t = gl_self;
  int nres, status;
  if (t) {
    atomic_store_explicit(&t->running, co, memory_order_relaxed);
    gil_rearm(t, co);
  }
  status = lua_resume(co, L, narg, &nres);
  if (t) {
    atomic_store_explicit(&t->running, L, memory_order_relaxed);
    gil_rearm(t, L);
  }
  if (status != LUA_OK && status != LUA_YIELD) {
    lua_xmove(co, L, 1);   /* the error object */
    return -1;
  }
  if (!lua_checkstack(L, nres + 1)) {
    lua_pop(co, nres);
    lua_pushliteral(L, "too many results to resume");
    return -1;
  }
  lua_xmove(co, L, nres);
  return nres;
}

static int co_resume(lua_State *L) {
  lua_State *co = check_co(L, 1);
  int r = do_resume(L, co, lua_gettop(L) - 1);
  if (r < 0) {
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, -(r + 1));
  return r + 1;
}

static int co_wrapped(lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  int r = do_resume(L, co, lua_gettop(L));
  if (r >= 0) return r;
  int st = lua_status(co);
  if (st != LUA_OK && st != LUA_YIELD) {   /* the coroutine died: close it */
    lua_resetthread(co);
  }
  if (lua_type(L, -1) == LUA_TSTRING) {    /* add where the call happened */
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}

static int co_wrap(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State *co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  lua_pushcclosure(L, co_wrapped, 1);
  return 1;
}

void gl_coroutine_patch(lua_State *L) {
  lua_getglobal(L, "coroutine");
  if (!lua_istable(L, -1)) { lua_pop(L, 1); return; }
  lua_pushcfunction(L, co_resume);
  lua_setfield(L, -2, "resume");
  lua_pushcfunction(L, co_wrap);
  lua_setfield(L, -2, "wrap");
  lua_pop(L, 1);
}

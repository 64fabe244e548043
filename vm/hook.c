/*
** hook.c — arming the count hook from a signal, and Ctrl-C (the
** coroutine functions that keep GLThread.running are in coroutine.c).
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

/* lua_sethook walks every CallInfo of L (it sets the trap flag of each
** Lua frame), which takes milliseconds in a deep recursion. A signal that
** finds the state already carrying the GIL's count hook with this count
** leaves it: the flags are still set (Lua clears them only when no count
** or line hook is left), and a waiter that re-sends its request every
** slice (--switch=interval:1) would otherwise keep a deeply recursing
** thread in this handler, never reaching the hook (Lua 5.4.4's
** locals.lua). The lock's own arming (gl_hook_arm) still restarts the
** count. */
static void on_arm(int sig) {
  (void)sig;
  GLThread *t = gl_self;
  if (t == NULL) return;
  lua_State *L = atomic_load_explicit(&t->running, memory_order_relaxed);
  if (L == NULL) return;
  int count = atomic_load(&t->hook_count);
  if (lua_gethook(L) == gl_count_hook &&
      (count == GL_HOOK_LINE ? lua_gethookmask(L) == LUA_MASKLINE
                             : lua_gethookmask(L) == LUA_MASKCOUNT && lua_gethookcount(L) == count))
    return;
  gl_hook_arm(L, count);
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

/* Arming the line hook restarts the thread's count of line events: Lua's
** record of the last line (L->oldpc) may be stale then, so the first
** event can come in the middle of a line (gil_hook_point lets it pass). */
void gl_hook_arm(lua_State *L, int count) {
  if (!hook_is_ours(L)) return;
  if (count == GL_HOOK_LINE) {
    GLThread *t = gl_self;
    if (t) atomic_store(&t->line_events, 0);
    lua_sethook(L, gl_count_hook, LUA_MASKLINE, 0);
  }
  else lua_sethook(L, gl_count_hook, LUA_MASKCOUNT, count);
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

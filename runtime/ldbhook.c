/*
** ldbhook.c — debug.sethook and debug.gethook that live with the GIL.
**
** Lua keeps one hook per lua_State. The GIL needs a count hook on the
** state a thread runs (armed from a signal when a waiter asks, vm/hook.c),
** and a script may set its own with debug.sethook (a profiler, coverage,
** a debugger). Left alone, each would overwrite the other: the script's
** hook would vanish at the first GIL switch, or the GIL would never be
** dropped again. So a state on which the script set a hook carries
** 'debug_hook', which serves both:
**   - the script's events (call, return, line, count) go to its function
**     with the arguments Lua's debug library gives: the event name and
**     the current line (nil when there is none);
**   - a count event comes at least every POLL_COUNT instructions, and does
**     what the GIL's own hook does (Ctrl-C, dropping the GIL when asked);
**     the GIL's arming code leaves states with a foreign hook alone.
** The script's count is kept exactly: the count installed is the smaller
** of POLL_COUNT and what is left of the script's count.
**
** The hook functions live where Lua's own debug library keeps them: the
** registry's "_HOOKKEY" table, thread -> function, with weak keys (the
** table is its own metatable, __mode "k"), so scripts that look there
** (Lua's test suite does) see what lua5.4 shows, and a function stored
** there is the one called. Beside it, per state, a record of the mask and
** counts (a userdata) in a second weak-keyed registry table. Both are
** touched only by the thread running that state, with the GIL (or in its
** own interpreter): no lock. The signal handlers only read lua_gethook of
** their own thread's running state, so sethook blocks them while it
** changes a hook.
*/
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "gil.h"
#include "gthread.h"
#include "hook.h"
#include "modules.h"
#include "rtobject.h"

#define HOOKS_KEY "gillua.debughooks"   /* thread -> DebugHook record */
#define HOOKKEY "_HOOKKEY"                /* thread -> function, as ldblib.c */
#define POLL_COUNT 1000   /* instructions between two GIL checks, at most */

typedef struct DebugHook {
  int mask;        /* the script's LUA_MASK* bits (count included if count > 0) */
  int count;       /* the script's count, 0 for none */
  int left;        /* instructions until the script's next count event */
  int installed;   /* the count lua_sethook was last given */
} DebugHook;

static void debug_hook(lua_State *L, lua_Debug *ar);

/* Pushes thread L1 on L's stack (the key of its record). */
static void push_thread(lua_State *L, lua_State *L1) {
  if (L1 == L) lua_pushthread(L);
  else {
    if (!lua_checkstack(L1, 1)) luaL_error(L, "stack overflow");
    lua_pushthread(L1);
    lua_xmove(L1, L, 1);
  }
}

/* Pushes the record of thread L1 (as seen from L), or nil. */
static DebugHook *push_record(lua_State *L, lua_State *L1) {
  rt_registry_table(L, HOOKS_KEY, "k");
  push_thread(L, L1);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  return (DebugHook *)lua_touserdata(L, -1);
}

/* Sets L1's hook with the GIL's signals blocked: their handlers read it. */
static void set_hook(lua_State *L1, lua_Hook fn, int mask, int count) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, gl_arm_signal());
  pthread_sigmask(SIG_BLOCK, &block, &old);
  lua_sethook(L1, fn, mask, count);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Installs debug_hook on L1 for record h, with the next count. */
static void install(lua_State *L1, DebugHook *h) {
  h->installed = h->count > 0 && h->left < POLL_COUNT ? h->left : POLL_COUNT;
  set_hook(L1, debug_hook, h->mask | LUA_MASKCOUNT, h->installed);
}

/* Pushes Lua's hook table (registry._HOOKKEY), creating it as ldblib.c
** does: weak keys, the table its own metatable. */
static void push_hook_table(lua_State *L) {
  if (!luaL_getsubtable(L, LUA_REGISTRYINDEX, HOOKKEY)) {
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_pushvalue(L, -1);
    lua_setmetatable(L, -2);
  }
}

/* Pushes the hook function of thread L1 (as seen from L), or nil. */
static void push_hook_function(lua_State *L, lua_State *L1) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, HOOKKEY) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  push_thread(L, L1);
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

/* Calls the script's hook as Lua's debug library does: f(event name,
** current line or nil); nothing when _HOOKKEY holds no function. */
static void call_script_hook(lua_State *L, lua_Debug *ar) {
  static const char *const names[] = {"call", "return", "line", "count", "tail call"};
  push_hook_function(L, L);
  if (lua_type(L, -1) != LUA_TFUNCTION) { lua_pop(L, 1); return; }
  lua_pushstring(L, names[ar->event]);
  if (ar->currentline >= 0) lua_pushinteger(L, ar->currentline);
  else lua_pushnil(L);
  lua_call(L, 2, 0);
}

static void debug_hook(lua_State *L, lua_Debug *ar) {
  DebugHook *h = push_record(L, L);
  if (h == NULL) {   /* the record was collected: nothing to serve */
    lua_pop(L, 1);
    set_hook(L, NULL, 0, 0);
    gl_hook_idle(L);
    return;
  }
  int script_event;
  if (ar->event == LUA_HOOKCOUNT) {
    script_event = 0;
    if (h->count > 0) {
      h->left -= h->installed;
      if (h->left <= 0) { script_event = 1; h->left = h->count; }
    }
    install(L, h);
    GLThread *t = gl_self;
    if (t && (atomic_load(&t->drop_request) || (t->is_main && gl_interrupt_pending())))
      gl_hook_service(L);
  }
  else {
    int bit = ar->event == LUA_HOOKTAILCALL ? LUA_MASKCALL : 1 << ar->event;
    script_event = (h->mask & bit) != 0;
  }
  if (script_event) call_script_hook(L, ar);
  lua_pop(L, 1);
}

/* The thread argument of the debug functions: *arg is 1 when given. */
static lua_State *thread_arg(lua_State *L, int *arg) {
  if (lua_isthread(L, 1)) { *arg = 1; return lua_tothread(L, 1); }
  *arg = 0;
  return L;
}

/* The mask of a string of 'c', 'r', 'l', and a count. */
static int make_mask(const char *s, int count) {
  int mask = 0;
  if (strchr(s, 'c')) mask |= LUA_MASKCALL;
  if (strchr(s, 'r')) mask |= LUA_MASKRET;
  if (strchr(s, 'l')) mask |= LUA_MASKLINE;
  if (count > 0) mask |= LUA_MASKCOUNT;
  return mask;
}

/* Removes the script's hook from L1 and gives the state back to the GIL. */
static void remove_hook(lua_State *L1) {
  set_hook(L1, NULL, 0, 0);
  gl_hook_idle(L1);
  GLThread *t = gl_self;
  if (t && atomic_load_explicit(&t->running, memory_order_relaxed) == L1)
    gil_rearm(t, L1);   /* a request that came meanwhile */
}

/* debug.sethook([thread,] hook, mask [, count]) */
static int db_sethook(lua_State *L) {
  int arg;
  lua_State *L1 = thread_arg(L, &arg);
  int mask = 0, count = 0;
  if (lua_isnoneornil(L, arg + 1)) lua_settop(L, arg + 1);   /* no hook */
  else {
    const char *smask = luaL_checkstring(L, arg + 2);
    luaL_checktype(L, arg + 1, LUA_TFUNCTION);
    count = (int)luaL_optinteger(L, arg + 3, 0);
    mask = make_mask(smask, count);
  }
  push_hook_table(L);   /* hooktable[L1] = the function (or nil), as ldblib.c */
  push_thread(L, L1);
  lua_pushvalue(L, arg + 1);
  lua_rawset(L, -3);
  rt_registry_table(L, HOOKS_KEY, "k");
  push_thread(L, L1);
  if (mask == 0) {   /* as lua_sethook: no events means no hook */
    lua_pushnil(L);
    lua_rawset(L, -3);
    remove_hook(L1);
    return 0;
  }
  DebugHook *h = (DebugHook *)lua_newuserdatauv(L, sizeof *h, 0);
  h->mask = mask;
  h->count = count > 0 ? count : 0;
  h->left = h->count;
  lua_rawset(L, -3);
  install(L1, h);   /* h stays alive: the table holds it while L1 lives */
  return 0;
}

/* debug.gethook([thread]) -> hook, mask, count (or fail when none) */
static int db_gethook(lua_State *L) {
  int arg;
  lua_State *L1 = thread_arg(L, &arg);
  lua_Hook hook = lua_gethook(L1);
  int mask, count;
  if (hook == NULL || hook == gl_count_hook) {   /* the GIL's is not the script's */
    luaL_pushfail(L);
    return 1;
  }
  if (hook == debug_hook) {
    DebugHook *h = push_record(L, L1);
    if (h == NULL) { luaL_pushfail(L); return 1; }
    mask = h->mask;
    count = h->count;
    lua_pop(L, 1);
    push_hook_function(L, L1);
  }
  else {
    lua_pushliteral(L, "external hook");
    mask = lua_gethookmask(L1);
    count = lua_gethookcount(L1);
  }
  char s[4];
  int n = 0;
  if (mask & LUA_MASKCALL) s[n++] = 'c';
  if (mask & LUA_MASKRET) s[n++] = 'r';
  if (mask & LUA_MASKLINE) s[n++] = 'l';
  s[n] = '\0';
  lua_pushstring(L, s);
  lua_pushinteger(L, count);
  return 3;
}

void gl_debug_patch(lua_State *L) {
  lua_getglobal(L, LUA_DBLIBNAME);
  if (lua_istable(L, -1)) {
    lua_pushcfunction(L, db_sethook);
    lua_setfield(L, -2, "sethook");
    lua_pushcfunction(L, db_gethook);
    lua_setfield(L, -2, "gethook");
  }
  lua_pop(L, 1);
}

/*
** coroutine.c — coroutine.resume, coroutine.wrap and coroutine.close
** that keep track of which lua_State a thread is running.
**
** The arm signal's handler (vm/hook.c) installs the count hook on
** GLThread.running, the state its thread runs at that moment; a thread
** spinning inside a coroutine must be reached there, not on the state
** that resumed it. Only the thread itself writes 'running'.
*/
#include <lauxlib.h>

#include "coroutine.h"
#include "gil.h"
#include "hook.h"

/*
** coroutine.resume / wrap / close, written on the public API so that a
** thread's 'running' state follows resumes and yields, and the closing
** of a coroutine (its __close handlers run on its own state, and may run
** long). They are Lua 5.4.4's lcorolib.c (auxresume, luaB_coresume,
** auxwrap, luaB_close) plus the stores of 'running': lua_resume itself
** says why a coroutine cannot be resumed ("cannot resume non-suspended
** coroutine", "... dead ...", "C stack overflow"), so messages and corner
** cases are Lua's own.
*/

static lua_State *check_co(lua_State *L, int idx) {
  lua_State *co = lua_tothread(L, idx);
  luaL_argexpected(L, co, idx, "thread");   /* lua5.4 says "thread expected" */
  return co;
}

/* Makes 'co' the state thread t runs. A waiter's arm signal that came
** before the store armed the previous state, which will not run for a
** while: arm 'co' as well (gil_rearm). */
static inline void set_running(GLThread *t, lua_State *co) {
  atomic_store_explicit(&t->running, co, memory_order_relaxed);
  if (atomic_load_explicit(&t->drop_request, memory_order_relaxed))
    gil_rearm(t, co);
}

/* lua_resetthread(co), called from L: runs co's pending to-be-closed
** variables on co. Returns its status (the error, if any, on co). */
static int reset_thread(lua_State *L, lua_State *co) {
  GLThread *t = gl_self;
  if (t) set_running(t, co);
  int status = lua_resetthread(co);
  if (t) set_running(t, L);
  return status;
}

/* Moves narg values from L to co and resumes it. Returns the number of
** results moved back to L, or -1 with the error object on top of L. */
static int do_resume(lua_State *L, lua_State *co, int narg) {
  int nres, status;
  if (!lua_checkstack(co, narg)) {
    lua_pushliteral(L, "too many arguments to resume");
    return -1;
  }
  lua_xmove(L, co, narg);
  GLThread *t = gl_self;
  if (t) set_running(t, co);
  status = lua_resume(co, L, narg, &nres);
  if (t) set_running(t, L);
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

/* The function coroutine.wrap returns. When the coroutine dies of an
** error, lua_resetthread runs its pending to-be-closed variables; the
** error that propagates is then the one the last __close handler raised
** (or the original one), with position information added to a string,
** and the coroutine is dead: calling again says so. */
static int co_wrapped(lua_State *L) {
  lua_State *co = lua_tothread(L, lua_upvalueindex(1));
  int r = do_resume(L, co, lua_gettop(L));
  if (r >= 0) return r;
  int status = lua_status(co);
  if (status != LUA_OK && status != LUA_YIELD) {   /* error in the coroutine */
    status = reset_thread(L, co);   /* close its tbc variables */
    lua_xmove(co, L, 1);            /* the error after closing */
  }
  if (status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
    luaL_where(L, 1);   /* where the wrapper was called */
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  return lua_error(L);
}

/* What coroutine.status says of co (as seen from L): Lua's auxstatus. */
enum { CO_RUNNING, CO_DEAD, CO_SUSPENDED, CO_NORMAL };
static int co_status(lua_State *L, lua_State *co) {
  if (L == co) return CO_RUNNING;
  switch (lua_status(co)) {
    case LUA_YIELD: return CO_SUSPENDED;
    case LUA_OK: {
      lua_Debug ar;
      if (lua_getstack(co, 0, &ar)) return CO_NORMAL;   /* it has frames */
      return lua_gettop(co) == 0 ? CO_DEAD : CO_SUSPENDED;
    }
    default: return CO_DEAD;   /* died of an error */
  }
}

/* coroutine.close(co): true, or false and the error of its closing. */
static int co_close(lua_State *L) {
  static const char *const names[] = {"running", "dead", "suspended", "normal"};
  lua_State *co = check_co(L, 1);
  int st = co_status(L, co);
  if (st != CO_DEAD && st != CO_SUSPENDED)
    return luaL_error(L, "cannot close a %s coroutine", names[st]);
  if (reset_thread(L, co) == LUA_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1);   /* the error */
  return 2;
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
  lua_pushcfunction(L, co_close);
  lua_setfield(L, -2, "close");
  lua_pop(L, 1);
}

/*
** coroutine.c — coroutine.resume and coroutine.wrap that keep track of
** which lua_State a thread is running.
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

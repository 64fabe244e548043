/*
** tlocal.c — threading.local().
**
** The local object is a runtime object with identity only: it can travel
** to GIL-off threads like any runtime object, and carries no data in C.
** Its data lives in each interpreter, in the registry:
**
**   "gillua.tlocal" = { [local handle] = { [thread] = data table } }
**
** both levels with weak keys. 'thread' is the Lua thread the current
** gillua thread started on (its base lua_State, not the running coroutine:
** coroutines of one thread share its locals, as generators of one Python
** thread do). When a thread ends, its base state becomes garbage and its
** data goes with it; when the local is no longer reachable in this
** interpreter, all its data goes. In a GIL-off thread (its own
** interpreter) the same local is therefore empty at first, per thread, as
** in Python.
*/
#include <stdlib.h>

#include <lauxlib.h>

#include "gthread.h"
#include "threading.h"

#define TLOCAL_TABLE "gillua.tlocal"

typedef struct GLLocal { RtObject base; } GLLocal;

static void local_destroy(RtObject *o, lua_State *L) {
  (void)L;
  rt_unlink(o);
  free(o);
}

static const RtType local_type = {"threading.local", "threading", local_destroy, NULL};

/* Pushes the Lua thread that identifies the calling OS thread here. */
static void push_thread_key(lua_State *L) {
  lua_State *base = gl_self ? gl_self->L : NULL;
  if (base == L) {
    lua_pushthread(L);
    return;
  }
  if (base != NULL && lua_checkstack(base, 1)) {
    /* L is a coroutine run by 'base' (same universe: base is suspended in
    ** lua_resume below us); borrow one slot of its stack to move it here. */
    lua_pushthread(base);
    lua_xmove(base, L, 1);
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
}

/* Pushes the calling thread's data table of the local at idx; creates it
** when 'create', else may push nil. */
static void push_data(lua_State *L, int idx, int create) {
  rt_check(L, idx, &local_type);
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, LUA_REGISTRYINDEX, TLOCAL_TABLE) != LUA_TTABLE) {
    lua_pop(L, 1);
    if (!create) { lua_pushnil(L); return; }
    rt_newweak(L, "k");
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, TLOCAL_TABLE);
  }
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) != LUA_TTABLE) {      /* per-local table */
    lua_pop(L, 1);
    if (!create) { lua_pop(L, 1); lua_pushnil(L); return; }
    rt_newweak(L, "k");
    lua_pushvalue(L, idx);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
  }
  lua_remove(L, -2);
  push_thread_key(L);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) != LUA_TTABLE) {      /* this thread's data */
    lua_pop(L, 1);
    if (!create) { lua_pop(L, 2); lua_pushnil(L); return; }
    lua_newtable(L);
    lua_pushvalue(L, -2);                      /* thread */
    lua_pushvalue(L, -2);                      /* data */
    lua_rawset(L, -5);
  }
  lua_remove(L, -2);
  lua_remove(L, -2);
}

static int local_index(lua_State *L) {
  push_data(L, 1, 0);
  if (lua_isnil(L, -1)) return 1;
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int local_newindex(lua_State *L) {
  luaL_checkany(L, 3);
  push_data(L, 1, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_rawset(L, -3);
  return 0;
}

/* pairs(local): the calling thread's fields. */
static int local_pairs(lua_State *L) {
  lua_getglobal(L, "next");
  push_data(L, 1, 1);
  lua_pushnil(L);
  return 3;
}

static int local_new(lua_State *L) {
  GLLocal *o = (GLLocal *)calloc(1, sizeof *o);
  if (o == NULL) return luaL_error(L, "not enough memory");
  rt_init(&o->base, &local_type);
  rt_push_owned(L, &o->base);
  return 1;
}

void gl_threading_open_local(lua_State *L) {
  rt_newtype(L, &local_type, NULL);
  lua_pushcfunction(L, local_index);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, local_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, local_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_pop(L, 1);
  /* `local` is a Lua keyword: threading["local"]() works, and so does the
  ** alias threading.Local(). */
  lua_pushcfunction(L, local_new);
  lua_setfield(L, -2, "local");
  lua_pushcfunction(L, local_new);
  lua_setfield(L, -2, "Local");
}

/*
** tthread_mod.c — the module functions about threads (current_thread,
** main_thread, enumerate, active_count, get_ident, get_native_id),
** threading.Timer and the default threading.excepthook.
**
** A Timer is a Thread whose run waits on its 'finished' Event for
** 'interval' seconds and then calls function(table.unpack(args)) unless
** cancel() set the event first (Python's threading.Timer). Its run and
** cancel are the module's _timer_run and _timer_cancel, so with the GIL
** off they travel to the timer's own interpreter by name.
*/
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>

#include "callargs.h"
#include "threading.h"
#include "tthread.h"

static int current_thread(lua_State *L) {
  if (gl_self == NULL) return luaL_error(L, "current_thread: not a gillua thread");
  tt_push(L, gl_self);
  return 1;
}

static int main_thread(lua_State *L) {
  tt_push(L, gt_main());
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
    tt_push(L, snap[i]);
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
  lua_Integer ident, native_id;
  if (gl_self == NULL || !gt_idents(gl_self, &ident, &native_id))
    return luaL_error(L, "get_ident: not a gillua thread");
  lua_pushinteger(L, ident);
  return 1;
}

static int get_native_id(lua_State *L) {
  lua_Integer ident, native_id;
  if (gl_self == NULL || !gt_idents(gl_self, &ident, &native_id))
    return luaL_error(L, "get_native_id: not a gillua thread");
  lua_pushinteger(L, native_id);
  return 1;
}

/* An error object with a __tostring is reported as that string alone, as
** lua reports one that reaches its top level. */
static int tostring_object(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TSTRING || luaL_getmetafield(L, idx, "__tostring") == LUA_TNIL)
    return 0;
  lua_pop(L, 1);
  return 1;
}

/* excepthook(args): "Exception in thread NAME:", the message and the
** traceback on stderr, as gillua always printed (Python's format); the
** hook still gets exc_traceback for every error. */
int tt_default_excepthook(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "exc_value");
  int plain = tostring_object(L, -1);
  lua_pop(L, 1);
  const char *name = "?";
  if (lua_getfield(L, 1, "thread") != LUA_TNIL) {
    lua_getfield(L, -1, "name");
    name = lua_tostring(L, -1);
  }
  lua_getfield(L, 1, "message");
  if (!lua_isstring(L, -1)) {
    lua_getfield(L, 1, "exc_value");
    luaL_tolstring(L, -1, NULL);
  }
  const char *msg = lua_tostring(L, -1);
  lua_getfield(L, 1, "exc_traceback");
  const char *tb = plain ? NULL : lua_tostring(L, -1);
  lua_pushfstring(L, "Exception in thread %s:\n%s%s%s\n", name ? name : "?", msg,
                  tb ? "\n" : "", tb ? tb : "");
  fputs(lua_tostring(L, -1), stderr);
  fflush(stderr);
  return 0;
}

/* ---- Timer ---- */

static void push_finished(lua_State *L) {
  tt_check(L, 1);
  tt_push_fields(L, 1);
  if (lua_getfield(L, -1, "finished") == LUA_TNIL)
    luaL_error(L, "Timer: not a timer (no 'finished' event)");
  lua_remove(L, -2);
}

/* Calls event:method(arg) on the event on top (kept); returns the result. */
static int call_event(lua_State *L, const char *method, int with_arg, double arg) {
  int ev = lua_gettop(L);
  lua_getfield(L, ev, method);
  lua_pushvalue(L, ev);
  if (with_arg) lua_pushnumber(L, arg);
  lua_call(L, 1 + with_arg, 1);
  int r = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return r;
}

static int timer_run(lua_State *L) {
  push_finished(L);
  int ev = lua_gettop(L);
  tt_push_fields(L, 1);
  int fields = lua_gettop(L);
  lua_getfield(L, fields, "interval");
  double interval = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(interval > 0)) interval = 0;
  lua_pushvalue(L, ev);
  call_event(L, "wait", 1, interval);
  if (!call_event(L, "is_set", 0, 0)) {
    lua_getfield(L, fields, "function");
    lua_getfield(L, fields, "args");
    int args = lua_gettop(L);
    int n = gl_args_push(L, args, "Timer");
    lua_remove(L, args);
    lua_call(L, n, 0);
  }
  call_event(L, "set", 0, 0);
  return 0;
}

static int timer_cancel(lua_State *L) {
  push_finished(L);
  call_event(L, "set", 0, 0);
  return 0;
}

/* Timer(interval, function[, args]) */
static int timer_new(lua_State *L) {
  if (lua_type(L, 1) != LUA_TNUMBER)   /* negative (or NaN): fires at once, as Python's */
    return luaL_argerror(L, 1, lua_pushfstring(L, "interval must be a number (got %s)",
                                               luaL_typename(L, 1)));
  if (!lua_isfunction(L, 2) && luaL_getmetafield(L, 2, "__call") == LUA_TNIL)
    return luaL_argerror(L, 2, lua_pushfstring(L, "function expected, got %s", luaL_typename(L, 2)));
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);
  tt_name_if_unnamed(tt_new(L));
  int handle = lua_gettop(L);
  tt_push_fields(L, handle);
  int fields = lua_gettop(L);
  lua_pushvalue(L, 1); lua_setfield(L, fields, "interval");
  lua_pushvalue(L, 2); lua_setfield(L, fields, "function");
  lua_pushvalue(L, 3); lua_setfield(L, fields, "args");
  lua_getfield(L, lua_upvalueindex(1), "Event");
  lua_call(L, 0, 1);
  lua_setfield(L, fields, "finished");
  lua_getfield(L, lua_upvalueindex(1), "_timer_run");
  lua_setfield(L, fields, "run");
  lua_getfield(L, lua_upvalueindex(1), "_timer_cancel");
  lua_setfield(L, fields, "cancel");
  lua_settop(L, handle);
  return 1;
}

void gl_threading_open_thread_module(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"current_thread", current_thread}, {"main_thread", main_thread},
    {"enumerate", enumerate}, {"active_count", active_count},
    {"get_ident", get_ident}, {"get_native_id", get_native_id},
    {"_timer_run", timer_run}, {"_timer_cancel", timer_cancel},
    {"excepthook", tt_default_excepthook}, {"__excepthook__", tt_default_excepthook},
    {NULL, NULL}
  };
  luaL_setfuncs(L, funcs, 0);
  lua_pushvalue(L, -1);                 /* Timer finds Event and its helpers here */
  lua_pushcclosure(L, timer_new, 1);
  lua_setfield(L, -2, "Timer");
}

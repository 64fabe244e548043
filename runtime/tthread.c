/*
** tthread.c — the threading.Thread object: construction, attributes
** (name, daemon, ident, native_id, error and the Lua-side fields), join,
** is_alive and the default run. See tthread.h for what a handle is;
** starting and the thread body are in tthread_run.c.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "block.h"
#include "callargs.h"
#include "gil.h"
#include "options.h"
#include "threading.h"
#include "tthread.h"

static atomic_ulong unnamed_counter;   /* "Thread-N" */

/* ---- the object ---- */

static void thread_destroy(RtObject *o, lua_State *L) {
  ThreadObj *obj = (ThreadObj *)o;
  (void)L;
  rt_unlink(o);
  gt_forget_lua_obj(obj->t, obj);
  gt_decref(obj->t);
  free(obj);
}

const RtType gl_thread_type = {THREAD_MT, "threading", thread_destroy, NULL};

/* Under gt_lock (gt_lua_obj): take a reference unless the count already
** reached 0 (then destroy is on its way and a new object is made). */
static int keep_obj(void *p) {
  RtObject *o = (RtObject *)p;
  long refs = atomic_load(&o->refs);
  while (refs > 0)
    if (atomic_compare_exchange_weak(&o->refs, &refs, refs + 1)) return 1;
  return 0;
}

static void *make_obj(GLThread *t) {
  ThreadObj *obj = (ThreadObj *)calloc(1, sizeof *obj);
  if (obj == NULL) return NULL;
  obj->t = t;
  gt_incref(t);
  rt_init(&obj->base, &gl_thread_type);
  return obj;
}

void tt_push(lua_State *L, GLThread *t) {
  ThreadObj *obj = (ThreadObj *)gt_lua_obj(t, keep_obj, make_obj);
  if (obj == NULL) luaL_error(L, "Thread: not enough memory");
  rt_push_owned(L, &obj->base);
}

GLThread *tt_check(lua_State *L, int idx) {
  return ((ThreadObj *)rt_check(L, idx, &gl_thread_type))->t;
}

void tt_push_fields(lua_State *L, int idx) {
  if (lua_getiuservalue(L, idx, 1) == LUA_TTABLE) return;
  lua_pop(L, 1);
  idx = lua_absindex(L, idx);
  lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, idx, 1);
}

void tt_name_if_unnamed(GLThread *t) {
  char name[32];
  gt_get_name(t, name, sizeof name);
  if (name[0] != '\0') return;
  snprintf(name, sizeof name, "Thread-%lu", atomic_fetch_add(&unnamed_counter, 1) + 1);
  gt_set_name(t, name);
}

GLThread *tt_new(lua_State *L) {
  GLThread *t = gt_new();
  if (t == NULL) luaL_error(L, "Thread: not enough memory");
  gt_set_daemon(t, gl_self ? gt_daemon(gl_self) : 0);
  ThreadObj *obj = (ThreadObj *)gt_lua_obj(t, keep_obj, make_obj);
  gt_decref(t);                          /* the object holds it now */
  if (obj == NULL) luaL_error(L, "Thread: not enough memory");
  rt_push_owned(L, &obj->base);
  tt_push_fields(L, -1);
  lua_pop(L, 1);
  return t;
}

/* ---- construction ---- */

static int is_callable(lua_State *L, int v) {
  if (lua_isnil(L, v) || lua_isfunction(L, v)) return 1;
  if (luaL_getmetafield(L, v, "__call") == LUA_TNIL) return 0;
  lua_pop(L, 1);
  return 1;
}

/* One option of Thread{...}: the value is on top; 'fields' is the
** handle's fields table. */
static void set_option(lua_State *L, GLThread *t, const char *key, int fields) {
  int v = lua_gettop(L);
  if (strcmp(key, "target") == 0 || strcmp(key, "args") == 0) {
    if (key[0] == 't' && !is_callable(L, v))
      luaL_error(L, "Thread: target must be a function (got %s)", luaL_typename(L, v));
    if (key[0] == 'a' && !lua_isnil(L, v) && !lua_istable(L, v))
      luaL_error(L, "Thread: args must be a table (got %s)", luaL_typename(L, v));
    lua_pushvalue(L, v);
    lua_setfield(L, fields, key);
  } else if (strcmp(key, "name") == 0) {
    if (lua_isnil(L, v)) return;
    if (lua_type(L, v) != LUA_TSTRING)   /* not lua_isstring: 5 is no name */
      luaL_error(L, "Thread: name must be a string (got %s)", luaL_typename(L, v));
    gt_set_name(t, lua_tostring(L, v));
  } else if (strcmp(key, "daemon") == 0) {
    if (lua_isnil(L, v)) return;
    if (!lua_isboolean(L, v))
      luaL_error(L, "Thread: daemon must be a boolean (got %s)", luaL_typename(L, v));
    gt_set_daemon(t, lua_toboolean(L, v));
  } else
    luaL_error(L, "Thread: unknown option '%s' (expected target, args, name, daemon)", key);
}

/* threading.Thread{target=, args={}, name=, daemon=} */
static int thread_new(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TTABLE);
  rt_check_options(L, 1, "Thread", (const char *const[]){"target", "args", "name", "daemon", NULL});
  GLThread *t = tt_new(L);
  int handle = lua_gettop(L);
  tt_push_fields(L, handle);
  int fields = lua_gettop(L);
  if (lua_istable(L, 1)) {
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        return luaL_error(L, "Thread: options must be named (target=, args=, name=, daemon=)");
      set_option(L, t, lua_tostring(L, -2), fields);
      lua_pop(L, 1);
    }
  }
  tt_name_if_unnamed(t);
  lua_settop(L, handle);
  return 1;
}

/* ---- methods ---- */

static int thread_join(lua_State *L) {
  GLThread *t = tt_check(L, 1);
  struct timespec ts, *deadline = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_STRICT);
  if (t == gl_self) return luaL_error(L, "cannot join current thread");
  if (gt_state(t) == GT_NEW) return luaL_error(L, "cannot join thread before it is started");
  int rc = gt_join(t, deadline);
  if (rc == EINTR) return gl_raise_interrupt(L);
  lua_pushboolean(L, rc == 0);
  return 1;
}

static int thread_is_alive(lua_State *L) {
  lua_pushboolean(L, gt_state(tt_check(L, 1)) == GT_RUNNING);
  return 1;
}

/* Default run: target(table.unpack(args, 1, args.n or #args)). */
static int thread_run(lua_State *L) {
  tt_check(L, 1);
  tt_push_fields(L, 1);
  int fields = lua_gettop(L);
  if (lua_getfield(L, fields, "target") == LUA_TNIL) return 0;
  lua_getfield(L, fields, "args");
  int args = lua_gettop(L);
  int n = gl_args_push(L, args, "Thread");
  lua_remove(L, args);
  lua_call(L, n, 0);
  return 0;
}

/* ---- attributes ---- */

static int push_attribute(lua_State *L, GLThread *t, const char *k) {
  char name[sizeof t->name];
  lua_Integer ident, native_id;
  if (!strcmp(k, "name")) { gt_get_name(t, name, sizeof name); lua_pushstring(L, name); }
  else if (!strcmp(k, "daemon")) lua_pushboolean(L, gt_daemon(t));
  else if (!strcmp(k, "error")) gt_push_error(L, t);
  else if (!strcmp(k, "ident") || !strcmp(k, "native_id")) {
    if (!gt_idents(t, &ident, &native_id)) lua_pushnil(L);
    else lua_pushinteger(L, k[0] == 'i' ? ident : native_id);
  } else
    return 0;
  return 1;
}

static int thread_index(lua_State *L) {
  GLThread *t = tt_check(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING && push_attribute(L, t, lua_tostring(L, 2)))
    return 1;
  tt_push_fields(L, 1);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, -2) != LUA_TNIL) return 1;
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "methods");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);
  return 1;
}

static int thread_newindex(lua_State *L) {
  GLThread *t = tt_check(L, 1);
  const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
  if (k && !strcmp(k, "name")) {
    luaL_checktype(L, 3, LUA_TSTRING);
    gt_set_name(t, lua_tostring(L, 3));
    return 0;
  }
  if (k && !strcmp(k, "daemon")) {
    luaL_checktype(L, 3, LUA_TBOOLEAN);
    if (gt_set_daemon(t, lua_toboolean(L, 3)) != 0)
      return luaL_error(L, "cannot set daemon status of active thread");
    return 0;
  }
  if (k && (!strcmp(k, "ident") || !strcmp(k, "native_id") || !strcmp(k, "error")))
    return luaL_error(L, "Thread field '%s' is read-only", k);
  tt_push_fields(L, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_rawset(L, -3);
  return 0;
}

static int thread_tostring(lua_State *L) {
  GLThread *t = tt_check(L, 1);
  char name[sizeof t->name];
  gt_get_name(t, name, sizeof name);
  GTState st = gt_state(t);
  const char *what = st == GT_NEW ? "initial" : st == GT_RUNNING ? "started" : "stopped";
  lua_pushfstring(L, "<Thread(%s, %s%s", name, what, gt_daemon(t) ? " daemon" : "");
  lua_Integer ident, native_id;
  if (gt_idents(t, &ident, &native_id)) lua_pushfstring(L, " %I)>", ident);
  else lua_pushliteral(L, ")>");
  lua_concat(L, 2);
  return 1;
}

void tt_open_type(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"start", tt_start}, {"join", thread_join}, {"is_alive", thread_is_alive},
    {"run", thread_run}, {NULL, NULL}
  };
  static const luaL_Reg meta[] = {
    {"__index", thread_index}, {"__newindex", thread_newindex},
    {"__tostring", thread_tostring}, {NULL, NULL}
  };
  rt_newtype(L, &gl_thread_type, NULL);   /* __gc, __eq, the runtime mark */
  luaL_setfuncs(L, meta, 0);
  luaL_newlib(L, methods);
  lua_setfield(L, -2, "methods");
  lua_pop(L, 1);
}

void gl_threading_open_thread(lua_State *L) {
  tt_open_type(L);                        /* again after tt_open_type: the same table */
  lua_pushcfunction(L, thread_new);
  lua_setfield(L, -2, "Thread");
  gl_threading_open_thread_module(L);
}

/*
** mp_result.c — AsyncResult (apply_async, map_async, starmap_async) and
** the iterators of imap / imap_unordered. A result is filled in by
** mp_pool_drain (mp_pool.c) in the creating process; waiting on it drains
** the pool's result channel (callbacks run then, in this interpreter).
**
** Uservalues of an AsyncResult: 1 the pool, 2 values (apply: {n=, ...};
** map: the result list), 3 callback, 4 error_callback, 5 for imap: the
** indices delivered (ordered: set; unordered: list in arrival order),
** 6 the error message of a failed task.
**
** imap iterators yield index, value (like ipairs: a nil result does not
** end the loop); imap_unordered yields them in completion order, with each
** item's index in the input list.
*/
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mp_pool.h"
#include "rtclass.h"
#include "vm.h"

AResult *mp_result_new(lua_State *L, int pool_idx, int kind, long chunks, lua_Integer nitems) {
  AResult *r = (AResult *)lua_newuserdatauv(L, sizeof(AResult), 6);
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->remaining = chunks;
  r->nitems = nitems;
  luaL_setmetatable(L, RESULT_MT);
  int idx = lua_gettop(L);
  lua_pushvalue(L, pool_idx);
  lua_setiuservalue(L, idx, 1);
  lua_createtable(L, kind == AR_APPLY ? 1 : (int)nitems, 1);
  lua_setiuservalue(L, idx, 2);
  lua_newtable(L);
  lua_setiuservalue(L, idx, 5);
  if (kind != AR_APPLY && chunks == 0) { r->ready = 1; r->ok = 1; }
  return r;
}

/* Calls the callback in uservalue 'slot' with 'n' values below the top;
** an error in it is reported on stderr and otherwise ignored. */
static void run_callback(lua_State *L, int ar, int slot, int first, int n) {
  if (lua_getiuservalue(L, ar, slot) == LUA_TNIL) { lua_pop(L, 1); return; }
  lua_pushcfunction(L, gl_traceback_handler);   /* describes error({}) too */
  lua_insert(L, -2);
  int h = lua_gettop(L) - 1;
  for (int i = 0; i < n; i++) lua_pushvalue(L, first + i);
  if (lua_pcall(L, n, 0, h) != LUA_OK) {
    fprintf(stderr, "Exception in %s of a Pool task:\n%s\n",
            slot == 3 ? "callback" : "error_callback", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

void mp_result_deliver(lua_State *L, int ar, int ok, int nvals, lua_Integer off) {
  AResult *r = (AResult *)lua_touserdata(L, ar);
  int first = lua_gettop(L) - nvals + 1;
  if (!ok) {
    r->remaining--;
    if (r->ready && !r->ok) return;         /* the first error stays the result's */
    lua_pushvalue(L, lua_gettop(L));
    lua_setiuservalue(L, ar, 6);
    r->ready = 1;
    r->ok = 0;
    run_callback(L, ar, 4, lua_gettop(L), 1);
    return;
  }
  if (r->kind == AR_APPLY) {
    lua_createtable(L, nvals, 1);
    for (int i = 0; i < nvals; i++) {
      lua_pushvalue(L, first + i);
      lua_rawseti(L, -2, i + 1);
    }
    lua_pushinteger(L, nvals);
    lua_setfield(L, -2, "n");
    lua_setiuservalue(L, ar, 2);
    r->remaining = 0;
    r->ready = 1;
    r->ok = 1;
    run_callback(L, ar, 3, first, nvals);
    return;
  }
  int list = lua_gettop(L);
  lua_getiuservalue(L, ar, 2);
  int res = lua_gettop(L);
  lua_getiuservalue(L, ar, 5);
  int got = lua_gettop(L);
  lua_Integer n = luaL_len(L, list);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, list, i);
    lua_seti(L, res, off + i - 1);
    if (r->kind == AR_IMAP_UNORDERED) {
      lua_pushinteger(L, off + i - 1);
      lua_rawseti(L, got, ++r->arrived);
    } else {
      lua_pushboolean(L, 1);
      lua_rawseti(L, got, off + i - 1);
    }
  }
  r->remaining--;
  if (r->remaining == 0 && !(r->ready && !r->ok)) {
    r->ready = 1;
    r->ok = 1;
    if (r->kind == AR_MAP) run_callback(L, ar, 3, res, 1);
  }
  lua_settop(L, list);
}

static AResult *check_ar(lua_State *L) {
  return (AResult *)luaL_checkudata(L, 1, RESULT_MT);
}

/* Drains until 'done(r)' or the deadline; 1 if done. A pool terminated
** meanwhile (by another thread, or by a callback run here) fails what it
** had pending; a result still not done then raises "Pool terminated". */
static int wait_until(lua_State *L, AResult *r, int (*done)(AResult *, lua_State *),
                      const struct timespec *dl) {
  lua_getiuservalue(L, 1, 1);
  int pool = lua_gettop(L);
  Pool *p = (Pool *)lua_touserdata(L, pool);
  if (p->creator != getpid()) luaL_error(L, "an AsyncResult can only be used by the process that created its Pool");
  while (!done(r, L)) {
    if (p->results == NULL || p->state == POOL_TERMINATE) {
      if (done(r, L)) break;
      luaL_error(L, "Pool terminated");
    }
    if (gl_expired(dl)) break;
    mp_pool_drain(L, pool, 1, dl);
  }
  lua_settop(L, pool - 1);
  return done(r, L);
}

static int is_ready(AResult *r, lua_State *L) { (void)L; return r->ready; }

static int raise_failure(lua_State *L) {
  lua_getiuservalue(L, 1, 6);
  return lua_error(L);
}

/* get([timeout]) -> the task's results; raises its error, or on timeout */
static int ar_get(lua_State *L) {
  AResult *r = check_ar(L);
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  if (!wait_until(L, r, is_ready, dl)) {
    if (r->kind == AR_APPLY || r->kind == AR_MAP)
      return luaL_error(L, "TimeoutError: the result is not ready");
  }
  if (!r->ok) return raise_failure(L);
  lua_getiuservalue(L, 1, 2);
  if (r->kind != AR_APPLY) return 1;
  int t = lua_gettop(L);
  lua_getfield(L, t, "n");
  int n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  luaL_checkstack(L, n, "too many results");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, t, i);
  return n;
}

static int ar_wait(lua_State *L) {
  AResult *r = check_ar(L);
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  lua_pushboolean(L, wait_until(L, r, is_ready, dl));
  return 1;
}

static int ar_ready(lua_State *L) {
  AResult *r = check_ar(L);
  struct timespec ts;
  if (!r->ready) wait_until(L, r, is_ready, gl_deadline(&ts, 0));
  lua_pushboolean(L, r->ready);
  return 1;
}

static int ar_successful(lua_State *L) {
  AResult *r = check_ar(L);
  struct timespec ts;
  if (!r->ready) wait_until(L, r, is_ready, gl_deadline(&ts, 0));
  if (!r->ready) return luaL_error(L, "ValueError: the result is not ready");
  lua_pushboolean(L, r->ok);
  return 1;
}

/* imap iterators: (ar, ctl) -> index, value */
static int has_ordered(AResult *r, lua_State *L) {
  if (r->ready && !r->ok) return 1;
  lua_getiuservalue(L, 1, 5);
  int got = lua_rawgeti(L, -1, r->next + 1) != LUA_TNIL;
  lua_pop(L, 2);
  return got;
}

static int has_unordered(AResult *r, lua_State *L) {
  (void)L;
  return (r->ready && !r->ok) || r->arrived > r->next;
}

static int ar_iter(lua_State *L) {
  AResult *r = check_ar(L);
  if (r->next >= r->nitems) return 0;
  if (r->kind == AR_IMAP) {
    wait_until(L, r, has_ordered, NULL);
    lua_getiuservalue(L, 1, 5);
    int have = lua_rawgeti(L, -1, r->next + 1) != LUA_TNIL;
    lua_pop(L, 2);
    if (!have) return raise_failure(L);
    lua_Integer i = ++r->next;
    lua_pushinteger(L, i);
    lua_getiuservalue(L, 1, 2);
    lua_rawgeti(L, -1, i);
    lua_remove(L, -2);
    return 2;
  }
  wait_until(L, r, has_unordered, NULL);
  if (r->arrived <= r->next) return raise_failure(L);
  lua_getiuservalue(L, 1, 5);
  lua_rawgeti(L, -1, ++r->next);
  lua_Integer i = lua_tointeger(L, -1);
  lua_getiuservalue(L, 1, 2);
  lua_rawgeti(L, -1, i);
  lua_remove(L, -2);
  return 2;
}

static int ar_index(lua_State *L) {
  check_ar(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "_iter") == 0) { lua_pushcfunction(L, ar_iter); return 1; }
  return rt_push_method(L, k);
}

void mp_open_result(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"get", ar_get}, {"wait", ar_wait}, {"ready", ar_ready}, {"successful", ar_successful},
    {NULL, NULL}
  };
  static const luaL_Reg meta[] = {{"__index", ar_index}, {"__call", ar_iter}, {NULL, NULL}};
  rt_new_class(L, RESULT_MT, methods, meta);
}

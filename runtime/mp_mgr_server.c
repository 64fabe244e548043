/*
** mp_mgr_server.c — the Manager's server process: owns the real dicts,
** lists and namespaces as Lua tables in its own universe (a fork of the
** creator's) and applies one request at a time, so every operation is
** atomic with respect to the others. Lists keep their length in field n
** (items may be nil). An object lives until its last proxy is gone
** (MOP_DROP, see MgrObj) or the manager shuts down. Ids are never reused.
**
** The server leaves on MOP_SHUTDOWN, or when its creator process is gone.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "mp_manager.h"

#define OBJS 1     /* stack slot: id -> table */
#define KINDS 2    /* stack slot: id -> kind */

static lua_Integer last_id;   /* the server process's own: ids handed out */

static lua_Integer list_len(lua_State *L, int t) {
  lua_getfield(L, t, "n");
  lua_Integer n = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return n;
}

static void set_len(lua_State *L, int t, lua_Integer n) {
  lua_pushinteger(L, n);
  lua_setfield(L, t, "n");
}

/* 1-based index, negative from the end (as Python's -1 = last). */
static lua_Integer list_index(lua_State *L, int t, int k, int for_insert) {
  lua_Integer n = list_len(L, t);
  if (!lua_isinteger(L, k)) luaL_error(L, "TypeError: list indices must be integers");
  lua_Integer i = lua_tointeger(L, k);
  if (i < 0) i = n + 1 + i;
  if (for_insert) return i < 1 ? 1 : (i > n + 1 ? n + 1 : i);
  if (i < 1 || i > n) luaL_error(L, "IndexError: list index out of range");
  return i;
}

static void list_remove_at(lua_State *L, int t, lua_Integer i) {
  lua_Integer n = list_len(L, t);
  for (lua_Integer j = i; j < n; j++) {
    lua_rawgeti(L, t, j + 1);
    lua_rawseti(L, t, j);
  }
  lua_pushnil(L);
  lua_rawseti(L, t, n);
  set_len(L, t, n - 1);
}

static lua_Integer list_find(lua_State *L, int t, int v) {
  lua_Integer n = list_len(L, t);
  for (lua_Integer j = 1; j <= n; j++) {
    lua_rawgeti(L, t, j);
    int eq = lua_compare(L, -1, v, LUA_OPEQ);
    lua_pop(L, 1);
    if (eq) return j;
  }
  return 0;
}

static int dict_count(lua_State *L, int t) {
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) { lua_pop(L, 1); n++; }
  return n;
}

/* (objs, kinds, id, op, args...) -> results */
static int do_op(lua_State *L) {
  lua_Integer id = lua_tointeger(L, 3);
  int op = (int)lua_tointeger(L, 4);
  int a = 5;                                  /* first argument */
  int nargs = lua_gettop(L) - 4;
  if (op == MOP_NOBJECTS) {
    lua_pushinteger(L, dict_count(L, KINDS));
    return 1;
  }
  if (op == MOP_CREATE) {
    lua_Integer kind = luaL_checkinteger(L, a);
    if (last_id == UINT32_MAX) return luaL_error(L, "the Manager ran out of object ids");
    lua_Integer nid = ++last_id;
    if (lua_istable(L, a + 1)) lua_pushvalue(L, a + 1); else lua_newtable(L);
    int t = lua_gettop(L);
    if (kind == MK_LIST) set_len(L, t, (lua_Integer)lua_rawlen(L, t));
    lua_rawseti(L, OBJS, nid);
    lua_pushinteger(L, kind);
    lua_rawseti(L, KINDS, nid);
    lua_pushinteger(L, nid);
    return 1;
  }
  if (lua_rawgeti(L, OBJS, id) != LUA_TTABLE) return luaL_error(L, "no such shared object %I", id);
  int t = lua_gettop(L);
  lua_rawgeti(L, KINDS, id);
  int kind = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  int list = kind == MK_LIST;
  switch (op) {
    case MOP_GET:
      if (list) lua_rawgeti(L, t, list_index(L, t, a, 0));
      else { lua_pushvalue(L, a); lua_rawget(L, t); }
      return 1;
    case MOP_GETDEF:
      lua_pushvalue(L, a);
      if (lua_rawget(L, t) == LUA_TNIL) lua_pushvalue(L, a + 1);
      return 1;
    case MOP_SET:
      if (list) { lua_pushvalue(L, a + 1); lua_rawseti(L, t, list_index(L, t, a, 0)); }
      else {
        if (lua_isnil(L, a)) return luaL_error(L, "TypeError: nil is not a valid key");
        lua_pushvalue(L, a); lua_pushvalue(L, a + 1); lua_rawset(L, t);
      }
      return 0;
    case MOP_SETDEF:
      lua_pushvalue(L, a);
      if (lua_rawget(L, t) == LUA_TNIL) {
        lua_pushvalue(L, a); lua_pushvalue(L, a + 1); lua_rawset(L, t);
        lua_pushvalue(L, a + 1);
      }
      return 1;
    case MOP_DEL:
      if (list) list_remove_at(L, t, list_index(L, t, a, 0));
      else {
        lua_pushvalue(L, a);
        if (lua_rawget(L, t) == LUA_TNIL) return luaL_error(L, "KeyError: %s", luaL_tolstring(L, a, NULL));
        lua_pushvalue(L, a); lua_pushnil(L); lua_rawset(L, t);
      }
      return 0;
    case MOP_LEN:
      lua_pushinteger(L, list ? list_len(L, t) : dict_count(L, t));
      return 1;
    case MOP_COPY: {
      lua_newtable(L);
      int c = lua_gettop(L);
      lua_pushnil(L);
      while (lua_next(L, t)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, c);
      }
      return 1;
    }
    case MOP_APPEND: {
      lua_Integer n = list_len(L, t) + 1;
      lua_pushvalue(L, a);
      lua_rawseti(L, t, n);
      set_len(L, t, n);
      return 0;
    }
    case MOP_EXTEND: {
      luaL_checktype(L, a, LUA_TTABLE);
      lua_Integer n = list_len(L, t), k = (lua_Integer)lua_rawlen(L, a);
      for (lua_Integer i = 1; i <= k; i++) { lua_rawgeti(L, a, i); lua_rawseti(L, t, n + i); }
      set_len(L, t, n + k);
      return 0;
    }
    case MOP_INSERT: {
      lua_Integer i = list_index(L, t, a, 1), n = list_len(L, t);
      for (lua_Integer j = n; j >= i; j--) { lua_rawgeti(L, t, j); lua_rawseti(L, t, j + 1); }
      lua_pushvalue(L, a + 1);
      lua_rawseti(L, t, i);
      set_len(L, t, n + 1);
      return 0;
    }
    case MOP_POP:
      if (list) {
        if (list_len(L, t) == 0) return luaL_error(L, "IndexError: pop from empty list");
        lua_Integer i = nargs >= 1 && !lua_isnil(L, a) ? list_index(L, t, a, 0) : list_len(L, t);
        lua_rawgeti(L, t, i);
        list_remove_at(L, t, i);
        return 1;
      }
      lua_pushvalue(L, a);
      if (lua_rawget(L, t) == LUA_TNIL) {
        if (nargs >= 2) { lua_pushvalue(L, a + 1); return 1; }
        return luaL_error(L, "KeyError: %s", luaL_tolstring(L, a, NULL));
      }
      lua_pushvalue(L, a); lua_pushnil(L); lua_rawset(L, t);
      return 1;
    case MOP_REMOVE: {
      lua_Integer i = list_find(L, t, a);
      if (i == 0) return luaL_error(L, "ValueError: list.remove(x): x not in list");
      list_remove_at(L, t, i);
      return 0;
    }
    case MOP_INDEX: {
      lua_Integer i = list_find(L, t, a);
      if (i == 0) return luaL_error(L, "ValueError: %s is not in list", luaL_tolstring(L, a, NULL));
      lua_pushinteger(L, i);
      return 1;
    }
    case MOP_COUNT: {
      lua_Integer n = list_len(L, t), c = 0;
      for (lua_Integer j = 1; j <= n; j++) {
        lua_rawgeti(L, t, j);
        c += lua_compare(L, -1, a, LUA_OPEQ);
        lua_pop(L, 1);
      }
      lua_pushinteger(L, c);
      return 1;
    }
    case MOP_CONTAINS:
      if (list) lua_pushboolean(L, list_find(L, t, a) != 0);
      else { lua_pushvalue(L, a); lua_pushboolean(L, lua_rawget(L, t) != LUA_TNIL); }
      return 1;
    case MOP_CLEAR:
      lua_newtable(L);
      if (list) set_len(L, lua_gettop(L), 0);
      lua_rawseti(L, OBJS, id);
      return 0;
    case MOP_KEYS: case MOP_VALUES: case MOP_ITEMS: {
      lua_newtable(L);
      int out = lua_gettop(L);
      lua_Integer k = 0;
      lua_pushnil(L);
      while (lua_next(L, t)) {
        if (op == MOP_KEYS) lua_pushvalue(L, -2);
        else if (op == MOP_VALUES) lua_pushvalue(L, -1);
        else {
          lua_createtable(L, 2, 0);
          lua_pushvalue(L, -3); lua_rawseti(L, -2, 1);
          lua_pushvalue(L, -2); lua_rawseti(L, -2, 2);
        }
        lua_rawseti(L, out, ++k);
        lua_pop(L, 1);
      }
      return 1;
    }
    case MOP_UPDATE:
      luaL_checktype(L, a, LUA_TTABLE);
      lua_pushnil(L);
      while (lua_next(L, a)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, t);
      }
      return 0;
  }
  return luaL_error(L, "unknown manager operation %d", op);
}

/* Publishes the reply, wakes the client, drops the request's reference. */
static void reply(lua_State *L, MgrReply *box, int ok, int first, int n) {
  TrBuffer b;
  tr_buffer_init(&b);
  char err[TR_ERRMAX];
  if (n > 0 && tr_encode_opts(L, first, n, "result", TR_ENC_NOOBJ, &b, err, sizeof err) != 0) {
    lua_pushfstring(L, "cannot send the result back: %s", err);
    ok = 0;
    tr_encode_opts(L, lua_gettop(L), 1, "error", TR_ENC_NOOBJ, &b, err, sizeof err);
  }
  void *msg = mp_shm_alloc(b.len ? b.len : 1);
  if (msg == NULL) {
    ok = 0;
    box->len = 0;
  } else {
    if (b.len) memcpy(msg, b.data, b.len);
    box->len = b.len;
  }
  mp_encoded_done(&b);
  box->msg = mp_shm_off(msg);
  box->ok = ok;
  __atomic_store_n(&box->done, 1, __ATOMIC_RELEASE);
  mp_futex_wake(&box->seq, 1);     /* writes the box: our reference keeps it alive */
  mp_mgr_box_release(box);
}

static int creator_gone(void *ud) {
  return getppid() != *(pid_t *)ud ? ESRCH : 0;
}

int mp_mgr_serve(lua_State *L) {
  MgrShared *m = (MgrShared *)lua_touserdata(L, 1);
  mp_set_current_name("SyncManager-1");
  pid_t creator = m->creator;
  lua_settop(L, 0);
  lua_newtable(L);                 /* OBJS */
  lua_newtable(L);                 /* KINDS */
  for (;;) {
    void *data;
    size_t len;
    int rc = mp_chan_get(m->req, &data, &len, 1, NULL, NULL, creator_gone, &creator);
    if (rc == ESRCH || rc == EINTR) mp_child_exit(0);
    if (rc || len < 13) { if (rc == 0) free(data); continue; }
    uint64_t boxoff;
    uint32_t id;
    memcpy(&boxoff, data, 8);
    memcpy(&id, (char *)data + 8, 4);
    int op = ((unsigned char *)data)[12];
    if (op == MOP_DROP) {                    /* the last proxy is gone: no reply */
      free(data);
      lua_settop(L, KINDS);
      lua_pushnil(L);
      lua_rawseti(L, OBJS, id);
      lua_pushnil(L);
      lua_rawseti(L, KINDS, id);
      continue;
    }
    if (op == MOP_SHUTDOWN && boxoff == 0) {   /* from a collected Manager: no reply */
      free(data);
      __atomic_store_n(&m->stopped, 1, __ATOMIC_RELEASE);
      mp_child_exit(0);
    }
    MgrReply *box = (MgrReply *)mp_shm_block_at(boxoff);   /* the request's reference */
    if (box == NULL) { free(data); continue; }
    lua_settop(L, KINDS);
    if (op == MOP_SHUTDOWN) {
      free(data);
      __atomic_store_n(&m->stopped, 1, __ATOMIC_RELEASE);
      reply(L, box, 1, 1, 0);
      mp_child_exit(0);
    }
    lua_pushcfunction(L, do_op);
    lua_pushvalue(L, OBJS);
    lua_pushvalue(L, KINDS);
    lua_pushinteger(L, id);
    lua_pushinteger(L, op);
    char err[TR_ERRMAX];
    int n = len > 13 ? tr_decode(L, (char *)data + 13, len - 13, err, sizeof err) : 0;
    free(data);
    if (n < 0) {
      lua_settop(L, KINDS);
      lua_pushfstring(L, "bad request: %s", err);
      reply(L, box, 0, KINDS + 1, 1);
      continue;
    }
    int base = KINDS;
    if (lua_pcall(L, 4 + n, LUA_MULTRET, 0) != LUA_OK) reply(L, box, 0, lua_gettop(L), 1);
    else reply(L, box, 1, base + 1, lua_gettop(L) - base);
  }
}

/*
** mgr_net_objects.c — what a manager's server does with a request: the
** table of served objects and the operations on them. Runs in a handler
** thread with the GIL held (handlers share one universe, so the tables
** below are shared; the GIL keeps each table access whole).
**
** Registry tables of the serving universe:
**   TYPES   typeid -> callable (false: registered without one here)
**   OBJS    id -> object          REFS  id -> proxies holding it
**   IDS     object -> id (a callable that returns the same object twice,
**           like the seeds' get_task_queue, gives one id)
** An object lives while its count is positive: a proxy made by "create"
** holds one, its collection sends the id back in a later request's
** 'drops'. Ids are never reused.
**
** Operations (request: op, id, name, drops, args...):
**   create   name = typeid: calls TYPES[typeid](args...), replies id and
**            the exposed method names (public functions of the object
**            and of its metatable's __index table, or of the table a
**            runtime type's __index function keeps as its upvalue 1)
**   call     obj:name(args...), name public (not starting with '_')
**   getitem / setitem / len / copy / repr: obj:__getitem(k) ... when
**            the object defines them, else plain indexing, #, a shallow
**            copy, tostring
**   nobjects, ping, shutdown
*/
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "errobj.h"
#include "mgr_net.h"

#define TYPES "gillua.mgrnet.types"
#define OBJS "gillua.mgrnet.objs"
#define REFS "gillua.mgrnet.refs"
#define IDS "gillua.mgrnet.ids"

static lua_Integer last_id;   /* the serving process's: ids handed out */

static void push_reg(lua_State *L, const char *key) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
  }
}

/* SyncManager's types, server side: Python's names, Lua's style. */
static const char sync_types[] =
  "local threading, queue = require 'threading', require 'queue'\n"
  "local function repr(v) if type(v) == 'string' then return \"'\" .. v .. \"'\" end return tostring(v) end\n"
  "local function skeys(t) local ks = {} for k in pairs(t) do ks[#ks + 1] = k end\n"
  "  table.sort(ks, function(a, b) return tostring(a) < tostring(b) end) return ks end\n"
  "local Dict = {} Dict.__index = Dict\n"
  "local function dict(t) local d = setmetatable({data = {}}, Dict) for k, v in pairs(t or {}) do d.data[k] = v end return d end\n"
  "function Dict:__getitem(k) local v = self.data[k] if v == nil then error('KeyError: ' .. repr(k), 0) end return v end\n"
  "function Dict:__setitem(k, v) self.data[k] = v end\n"
  "function Dict:__len() local n = 0 for _ in pairs(self.data) do n = n + 1 end return n end\n"
  "function Dict:__copy() local c = {} for k, v in pairs(self.data) do c[k] = v end return c end\n"
  "function Dict:__repr() local p = {} for _, k in ipairs(skeys(self.data)) do p[#p + 1] = repr(k) .. ': ' .. repr(self.data[k]) end\n"
  "  return '{' .. table.concat(p, ', ') .. '}' end\n"
  "function Dict:get(k, d) local v = self.data[k] if v == nil then return d end return v end\n"
  "function Dict:keys() local r = {} for k in pairs(self.data) do r[#r + 1] = k end return r end\n"
  "function Dict:values() local r = {} for _, v in pairs(self.data) do r[#r + 1] = v end return r end\n"
  "function Dict:items() local r = {} for k, v in pairs(self.data) do r[#r + 1] = {k, v} end return r end\n"
  "Dict.copy = Dict.__copy\n"
  "function Dict:update(t) for k, v in pairs(t) do self.data[k] = v end end\n"
  "function Dict:setdefault(k, v) if self.data[k] == nil then self.data[k] = v end return self.data[k] end\n"
  "function Dict:pop(k, ...) local v = self.data[k] if v == nil then\n"
  "  if select('#', ...) == 0 then error('KeyError: ' .. repr(k), 0) end return (...) end self.data[k] = nil return v end\n"
  "function Dict:clear() self.data = {} end\n"
  "function Dict:has(k) return self.data[k] ~= nil end\n"
  "local List = {} List.__index = List\n"
  "local function list(t) local l = setmetatable({n = 0}, List) for _, v in ipairs(t or {}) do l.n = l.n + 1 l[l.n] = v end return l end\n"
  "local function at(l, i, ins) if math.type(i) ~= 'integer' then error('TypeError: list indices must be integers', 0) end\n"
  "  if i < 0 then i = l.n + 1 + i end if ins then return math.max(1, math.min(i, l.n + 1)) end\n"
  "  if i < 1 or i > l.n then error('IndexError: list index out of range', 0) end return i end\n"
  "function List:__getitem(i) return self[at(self, i)] end\n"
  "function List:__setitem(i, v) self[at(self, i)] = v end\n"
  "function List:__len() return self.n end\n"
  "function List:__copy() return table.move(self, 1, self.n, 1, {n = self.n}) end\n"
  "function List:__repr() local p = {} for i = 1, self.n do p[i] = repr(self[i]) end return '[' .. table.concat(p, ', ') .. ']' end\n"
  "List.get = List.__getitem List.tolist = List.__copy List.copy = List.__copy\n"
  "function List:append(v) self.n = self.n + 1 self[self.n] = v end\n"
  "function List:extend(t) for _, v in ipairs(t) do self:append(v) end end\n"
  "function List:insert(i, v) i = at(self, i, true) table.move(self, i, self.n, i + 1) self[i] = v self.n = self.n + 1 end\n"
  "function List:pop(i) i = at(self, i or -1) local v = self[i] table.move(self, i + 1, self.n + 1, i) self.n = self.n - 1 return v end\n"
  "function List:index(v) for i = 1, self.n do if self[i] == v then return i end end error('ValueError: ' .. repr(v) .. ' is not in list', 0) end\n"
  "function List:remove(v) self:pop(self:index(v)) end\n"
  "function List:count(v) local c = 0 for i = 1, self.n do if self[i] == v then c = c + 1 end end return c end\n"
  "function List:has(v) return self:count(v) > 0 end\n"
  "function List:clear() for i = 1, self.n do self[i] = nil end self.n = 0 end\n"
  "local NS = {}\n"
  "function NS.__index(t, k) if k == '__repr' then return NS.repr end end\n"
  "function NS.repr(self) local p = {} for _, k in ipairs(skeys(self)) do p[#p + 1] = tostring(k) .. '=' .. repr(self[k]) end\n"
  "  return 'Namespace(' .. table.concat(p, ', ') .. ')' end\n"
  "local function namespace(t) local ns = setmetatable({}, NS) for k, v in pairs(t or {}) do ns[k] = v end return ns end\n"
  "local Value = {} Value.__index = Value\n"
  "function Value:get() return self.value end\n"
  "function Value:set(v) self.value = v end\n"
  "function Value:__repr() return 'Value(' .. repr(self.typecode) .. ', ' .. repr(self.value) .. ')' end\n"
  "local function value(tc, v) return setmetatable({typecode = tc, value = v}, Value) end\n"
  "local function array(tc, t) local l = list(t) l.typecode = tc return l end\n"
  "return {dict = dict, list = list, Namespace = namespace, Value = value, Array = array,\n"
  "  Queue = queue.Queue, JoinableQueue = queue.Queue, LifoQueue = queue.LifoQueue,\n"
  "  Lock = threading.Lock, RLock = threading.RLock, Semaphore = threading.Semaphore,\n"
  "  BoundedSemaphore = threading.BoundedSemaphore, Condition = threading.Condition,\n"
  "  Event = threading.Event, Barrier = threading.Barrier}\n";

void mgr_obj_setup(lua_State *L, int idx, int sync) {
  idx = lua_absindex(L, idx);
  lua_newtable(L);
  if (sync) {
    if (luaL_loadbuffer(L, sync_types, sizeof sync_types - 1, "=SyncManager") != LUA_OK) lua_error(L);
    lua_call(L, 0, 1);
    lua_pushnil(L);
    while (lua_next(L, -2)) { lua_pushvalue(L, -2); lua_insert(L, -2); lua_settable(L, -5); }
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {            /* types, key, value: the user's registrations win */
    int keep = !lua_toboolean(L, -1);   /* registered without a callable: keep a built-in one */
    if (keep) { lua_pushvalue(L, -2); keep = lua_gettable(L, -4) != LUA_TNIL; lua_pop(L, 1); }
    if (!keep) { lua_pushvalue(L, -2); lua_pushvalue(L, -2); lua_settable(L, -5); }
    lua_pop(L, 1);
  }
  lua_setfield(L, LUA_REGISTRYINDEX, TYPES);
}

/* ---- operations (inside the dispatch's pcall) ---- */

/* Pushes the object with id at stack slot 2; raises when unknown. */
static void push_obj(lua_State *L) {
  push_reg(L, OBJS);
  lua_pushvalue(L, 2);
  if (lua_gettable(L, -2) == LUA_TNIL)
    luaL_error(L, "KeyError: the manager holds no object with id %s", luaL_tolstring(L, 2, NULL));
  lua_remove(L, -2);
}

static void drop_ids(lua_State *L, int drops) {
  if (!lua_istable(L, drops)) return;
  push_reg(L, REFS);
  int refs = lua_gettop(L);
  for (lua_Integer i = 1; lua_rawgeti(L, drops, i) == LUA_TNUMBER; i++) {
    lua_pushvalue(L, -1);
    lua_Integer n = (lua_rawget(L, refs) == LUA_TNUMBER) ? lua_tointeger(L, -1) - 1 : -1;
    lua_pop(L, 1);
    if (n > 0) { lua_pushinteger(L, n); lua_rawset(L, refs); continue; }
    if (n < 0) { lua_pop(L, 1); continue; }   /* unknown id: ignored */
    push_reg(L, OBJS);                       /* the last proxy is gone */
    lua_pushvalue(L, -2);
    lua_rawget(L, -2);
    push_reg(L, IDS);
    lua_pushvalue(L, -2);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 2);
    lua_pushvalue(L, -2);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawset(L, refs);
  }
  lua_settop(L, refs - 1);
}

/* Appends the public function-valued string keys of table t to list r. */
static void add_exposed(lua_State *L, int t, int r) {
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_tostring(L, -2)[0] != '_' &&
        (lua_isfunction(L, -1) || luaL_getmetafield(L, -1, "__call") != LUA_TNIL)) {
      if (!lua_isfunction(L, -1)) lua_pop(L, 1);
      lua_pushvalue(L, -2);
      lua_rawseti(L, r, (lua_Integer)lua_rawlen(L, r) + 1);
    }
    lua_pop(L, 1);
  }
}

/* create: stack 1 op, 2 id, 3 typeid, 4 drops, 5.. args */
static int op_create(lua_State *L) {
  const char *typeid = luaL_checkstring(L, 3);
  push_reg(L, TYPES);
  if (lua_getfield(L, -1, typeid) == LUA_TNIL)
    return luaL_error(L, "KeyError: the manager has no type '%s' registered", typeid);
  if (!lua_toboolean(L, -1))
    return luaL_error(L, "TypeError: '%s' was registered without a callable on the server", typeid);
  lua_replace(L, 4);
  lua_settop(L, lua_gettop(L) - 1);
  lua_call(L, lua_gettop(L) - 4, 1);
  if (lua_isnil(L, -1)) return luaL_error(L, "TypeError: the callable of '%s' returned nil", typeid);
  int obj = lua_gettop(L);
  push_reg(L, IDS);
  lua_pushvalue(L, obj);
  lua_Integer id = lua_rawget(L, -2) == LUA_TNUMBER ? lua_tointeger(L, -1) : ++last_id;
  lua_pop(L, 2);
  push_reg(L, REFS);
  lua_rawgeti(L, -1, id);
  lua_pushinteger(L, lua_tointeger(L, -1) + 1);
  lua_rawseti(L, -3, id);
  lua_pop(L, 2);
  push_reg(L, OBJS);
  lua_pushvalue(L, obj);
  lua_rawseti(L, -2, id);
  push_reg(L, IDS);
  lua_pushvalue(L, obj);
  lua_pushinteger(L, id);
  lua_rawset(L, -3);
  lua_settop(L, obj);
  lua_pushinteger(L, id);
  lua_newtable(L);                        /* exposed */
  int r = lua_gettop(L);
  if (lua_istable(L, obj)) add_exposed(L, obj, r);
  int t = luaL_getmetafield(L, obj, "__index");
  if (t == LUA_TFUNCTION && lua_getupvalue(L, -1, 1) != NULL) t = lua_type(L, -1);
  if (t == LUA_TTABLE) add_exposed(L, lua_gettop(L), r);   /* a runtime type's methods */
  lua_settop(L, r);
  return 2;
}

/* Calls obj:__name(args) when the object has it: returns the results'
** count, or -1 when it has no such method (nothing pushed). */
static int call_special(lua_State *L, int obj, const char *name, int first, int n) {
  lua_getfield(L, obj, name);
  if (!lua_isfunction(L, -1)) { lua_pop(L, 1); return -1; }
  int base = lua_gettop(L) - 1;
  lua_pushvalue(L, obj);
  for (int i = 0; i < n; i++) lua_pushvalue(L, first + i);
  lua_call(L, n + 1, LUA_MULTRET);
  return lua_gettop(L) - base;
}

static int op_item(lua_State *L, const char *op) {
  if (lua_gettop(L) < 6) lua_settop(L, 6);   /* key and value slots, maybe nil */
  push_obj(L);
  int obj = lua_gettop(L);
  int k;
  if (strcmp(op, "getitem") == 0) {
    if ((k = call_special(L, obj, "__getitem", 5, 1)) >= 0) return k;
    lua_pushvalue(L, 5);
    lua_gettable(L, obj);
    return 1;
  }
  if (strcmp(op, "setitem") == 0) {
    if (call_special(L, obj, "__setitem", 5, 2) >= 0) return 0;
    lua_pushvalue(L, 5);
    lua_pushvalue(L, 6);
    lua_settable(L, obj);
    return 0;
  }
  if (strcmp(op, "len") == 0) {
    if ((k = call_special(L, obj, "__len", 5, 0)) >= 0) return k;
    lua_len(L, obj);
    return 1;
  }
  if (strcmp(op, "copy") == 0) {
    if ((k = call_special(L, obj, "__copy", 5, 0)) >= 0) return k;
    lua_newtable(L);
    if (lua_istable(L, obj)) {
      lua_pushnil(L);
      while (lua_next(L, obj)) { lua_pushvalue(L, -2); lua_insert(L, -2); lua_rawset(L, -4); }
    }
    return 1;
  }
  if ((k = call_special(L, obj, "__repr", 5, 0)) >= 0) return k;   /* repr */
  luaL_tolstring(L, obj, NULL);
  return 1;
}

static int op_call(lua_State *L) {
  const char *name = luaL_checkstring(L, 3);
  push_obj(L);
  int obj = lua_gettop(L);
  if (name[0] == '_') return luaL_error(L, "AttributeError: method '%s' is not exposed", name);
  lua_getfield(L, obj, name);
  if (lua_isnil(L, -1))
    return luaL_error(L, "AttributeError: '%s' object has no method '%s'", luaL_typename(L, obj), name);
  lua_insert(L, 5);                     /* f, then obj as self, then the args */
  lua_insert(L, 6);
  int base = 4;
  lua_call(L, lua_gettop(L) - 5, LUA_MULTRET);
  return lua_gettop(L) - base;
}

static int count_objs(lua_State *L) {
  push_reg(L, OBJS);
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) { n++; lua_pop(L, 1); }
  lua_pushinteger(L, n);
  return 1;
}

typedef struct Req { const unsigned char *p; size_t len; NetServer *s; int shutdown; } Req;

static int run_request(lua_State *L) {
  Req *r = (Req *)lua_touserdata(L, 1);
  lua_settop(L, 0);
  char err[TR_ERRMAX];
  unsigned flags = r->s->allow_functions ? 0 : TR_DEC_NOFUNC | TR_DEC_NONAMED;
  int n = tr_decode_opts(L, r->p, r->len, flags, err, sizeof err);
  if (n < 0) {
    if (strstr(err, "not accepted from this source"))
      return luaL_error(L, "the manager refuses Lua functions from the network, also library "
                           "functions and modules sent by name (allow_functions = true on both "
                           "sides accepts them)");
    return luaL_error(L, "bad request: %s", err);
  }
  if (n < 4 || lua_type(L, 1) != LUA_TSTRING) return luaL_error(L, "bad request: no operation");
  lua_settop(L, n < 4 ? 4 : n);
  drop_ids(L, 4);
  const char *op = lua_tostring(L, 1);
  if (strcmp(op, "call") == 0) return op_call(L);
  if (strcmp(op, "create") == 0) return op_create(L);
  if (!strcmp(op, "getitem") || !strcmp(op, "setitem") || !strcmp(op, "len") ||
      !strcmp(op, "copy") || !strcmp(op, "repr"))
    return op_item(L, op);
  if (strcmp(op, "nobjects") == 0) return count_objs(L);
  if (strcmp(op, "ping") == 0) { lua_pushboolean(L, 1); return 1; }
  if (strcmp(op, "shutdown") == 0) { r->shutdown = 1; return 0; }
  return luaL_error(L, "bad request: unknown operation '%s'", op);
}

/* True when the traceback on top names a Lua function: one that holds
** only C frames (the server's own machinery) says nothing to the client. */
static int names_lua_code(lua_State *L) {
  const char *line = strchr(lua_tostring(L, -1), '\n');
  for (; line; line = strchr(line + 1, '\n'))
    if (strncmp(line + 1, "\t[C]:", 5) != 0) return 1;
  return 0;
}

/* Message handler: {error value, traceback or ""}. */
static int msgh(lua_State *L) {
  luaL_traceback(L, L, NULL, 1);
  if (!names_lua_code(L)) { lua_pop(L, 1); lua_pushliteral(L, ""); }
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  lua_insert(L, -2);
  lua_rawseti(L, -2, 2);
  return 1;
}

/* The error part of a reply: false, message, traceback [, name of an
** error object such as queue.Empty]. */
static void encode_error(lua_State *L, int e, TrBuffer *reply) {
  int top = lua_gettop(L);
  lua_pushboolean(L, 0);
  lua_rawgeti(L, e, 1);
  int v = lua_gettop(L);
  char name[64] = "";
  if (lua_istable(L, v) && lua_getfield(L, v, "name") == LUA_TSTRING && lua_rawlen(L, -1) < sizeof name) {
    gl_errobj_push(L, lua_tostring(L, -1));
    if (lua_rawequal(L, -1, v)) snprintf(name, sizeof name, "%s", lua_tostring(L, -2));
  }
  luaL_tolstring(L, v, NULL);
  lua_replace(L, v);
  lua_settop(L, v);
  lua_rawgeti(L, e, 2);
  if (name[0]) lua_pushstring(L, name);
  char err[TR_ERRMAX];
  tr_encode_opts(L, top + 1, lua_gettop(L) - top, "error", TR_ENC_NOOBJ, reply, err, sizeof err);
  lua_settop(L, top);
}

int mgr_obj_dispatch(lua_State *L, NetServer *s, const unsigned char *req, size_t len,
                     TrBuffer *reply) {
  Req r = { req, len, s, 0 };
  int base = lua_gettop(L);
  lua_pushcfunction(L, msgh);
  lua_pushcfunction(L, run_request);
  lua_pushlightuserdata(L, &r);
  if (lua_pcall(L, 1, LUA_MULTRET, base + 1) != LUA_OK) {
    if (!lua_istable(L, -1)) {          /* out of memory in the handler itself */
      lua_createtable(L, 2, 0);
      lua_insert(L, -2);
      lua_rawseti(L, -2, 1);
    }
    encode_error(L, lua_gettop(L), reply);
    lua_settop(L, base);
    return 0;
  }
  lua_pushboolean(L, 1);
  lua_insert(L, base + 2);
  char err[TR_ERRMAX];
  if (tr_encode_opts(L, base + 2, lua_gettop(L) - base - 1, "result", TR_ENC_NOOBJ, reply, err,
                     sizeof err) != 0) {
    lua_settop(L, base);
    lua_createtable(L, 2, 0);
    lua_pushstring(L, err);
    lua_rawseti(L, -2, 1);
    lua_pushliteral(L, "");
    lua_rawseti(L, -2, 2);
    encode_error(L, lua_gettop(L), reply);
  }
  lua_settop(L, base);
  return r.shutdown;
}

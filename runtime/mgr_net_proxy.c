/*
** mgr_net_proxy.c — proxies on objects held by a manager's server over
** TCP. A proxy is a userdata (the client and the object's id) whose user
** value is {typeid =, exposed = {name = true, ...}}:
**   p:name(...)   for an exposed method name: a call in the server
**   p[k], p.k     otherwise: the object's item or field (obj:__getitem(k)
**                 when it defines one)
**   p[k] = v      likewise stored; #p, pairs(p) (on a copy), tostring(p)
**   p:_callmethod(name, ...), p:_getvalue()   as Python's
** Collecting a proxy hands its id to the client, which tells the server
** with its next request (a finalizer must not block on the network).
*/
#include <string.h>

#include <lauxlib.h>

#include "mgr_net.h"

#define PROXY_MT "multiprocessing.managers.Proxy"
#define METHODS "gillua.mgrnet.methodcache"

typedef struct Proxy {
  NetClient *c;              /* one reference */
  lua_Integer id;
} Proxy;

static Proxy *check_proxy(lua_State *L, int idx) {
  Proxy *p = (Proxy *)luaL_checkudata(L, idx, PROXY_MT);
  if (p->c == NULL) luaL_argerror(L, idx, "closed proxy");
  return p;
}

int mgr_is_proxy(lua_State *L, int idx) { return luaL_testudata(L, idx, PROXY_MT) != NULL; }

void mgr_proxy_push(lua_State *L, NetClient *c, const char *typeid, lua_Integer id, int exposed) {
  exposed = lua_absindex(L, exposed);
  Proxy *p = (Proxy *)lua_newuserdatauv(L, sizeof(Proxy), 1);
  p->c = NULL;
  p->id = id;
  lua_createtable(L, 0, 2);
  lua_pushstring(L, typeid);
  lua_setfield(L, -2, "typeid");
  lua_newtable(L);
  if (lua_istable(L, exposed)) {
    for (lua_Integer i = 1; lua_rawgeti(L, exposed, i) == LUA_TSTRING; i++) {
      lua_pushboolean(L, 1);
      lua_rawset(L, -3);
    }
    lua_pop(L, 1);
  }
  lua_setfield(L, -2, "exposed");
  lua_setiuservalue(L, -2, 1);
  luaL_setmetatable(L, PROXY_MT);
  mgr_client_incref(c);
  p->c = c;
}

/* A method closure: upvalue 1 is its name. */
static int call_method(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  const char *name = lua_tostring(L, lua_upvalueindex(1));
  return mgr_client_request(L, p->c, "call", p->id, name, 2, lua_gettop(L) - 1);
}

static int px_callmethod(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  const char *name = luaL_checkstring(L, 2);
  return mgr_client_request(L, p->c, "call", p->id, name, 3, lua_gettop(L) - 2);
}

static int px_getvalue(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  return mgr_client_request(L, p->c, "copy", p->id, NULL, 2, 0);
}

static void push_method(lua_State *L, int name) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, METHODS) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, METHODS);
  }
  lua_pushvalue(L, name);
  if (lua_rawget(L, -2) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushvalue(L, name);
    lua_pushcclosure(L, call_method, 1);
    lua_pushvalue(L, name);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
  }
}

static int px_index(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "_callmethod") == 0) { lua_pushcfunction(L, px_callmethod); return 1; }
    if (strcmp(k, "_getvalue") == 0) { lua_pushcfunction(L, px_getvalue); return 1; }
    if (strcmp(k, "_id") == 0) { lua_pushinteger(L, p->id); return 1; }
    lua_getiuservalue(L, 1, 1);
    lua_getfield(L, -1, "exposed");
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL) { push_method(L, 2); return 1; }
    lua_settop(L, 2);
  }
  return mgr_client_request(L, p->c, "getitem", p->id, NULL, 2, 1);
}

static int px_newindex(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  lua_settop(L, 3);
  mgr_client_request(L, p->c, "setitem", p->id, NULL, 2, 2);
  return 0;
}

static int px_len(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  return mgr_client_request(L, p->c, "len", p->id, NULL, 2, 0);
}

static int px_pairs(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  lua_getglobal(L, "next");
  mgr_client_request(L, p->c, "copy", p->id, NULL, 2, 0);
  lua_settop(L, 3);
  if (lua_istable(L, 3)) { lua_pushnil(L); lua_setfield(L, 3, "n"); }   /* a list's length field */
  lua_pushnil(L);
  return 3;
}

static int px_tostring(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  mgr_client_request(L, p->c, "repr", p->id, NULL, 2, 0);
  lua_settop(L, 2);
  if (!lua_isstring(L, 2)) luaL_tolstring(L, 2, NULL);
  return 1;
}

static int px_eq(lua_State *L) {
  Proxy *a = (Proxy *)luaL_testudata(L, 1, PROXY_MT), *b = (Proxy *)luaL_testudata(L, 2, PROXY_MT);
  lua_pushboolean(L, a && b && a->c && b->c && a->id == b->id &&
                     a->c->port == b->c->port && strcmp(a->c->host, b->c->host) == 0);
  return 1;
}

static int px_gc(lua_State *L) {
  Proxy *p = (Proxy *)lua_touserdata(L, 1);
  if (p->c) {
    mgr_client_drop(p->c, p->id);
    mgr_client_decref(p->c);
    p->c = NULL;
  }
  return 0;
}

void mgr_proxy_open(lua_State *L) {
  static const luaL_Reg mt[] = {
    {"__index", px_index}, {"__newindex", px_newindex}, {"__len", px_len},
    {"__pairs", px_pairs}, {"__tostring", px_tostring}, {"__eq", px_eq}, {"__gc", px_gc},
    {NULL, NULL}
  };
  if (luaL_newmetatable(L, PROXY_MT)) luaL_setfuncs(L, mt, 0);
  lua_pop(L, 1);
}

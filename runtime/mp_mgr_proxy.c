/*
** mp_mgr_proxy.c — the proxies of a Manager's shared objects (dict,
** list, Namespace).
**
** A proxy is a runtime object holding a shared reference to the object's
** record (MgrObj, mp_manager.h). Indexing a proxy fetches from the
** server (d[k], l[i] 1-based, ns.x); assignment stores; #proxy, pairs(),
** tostring() work on a snapshot. Method names win over keys in d.name
** lookups: read such keys with d:get("name").
**
** An object lives while a proxy on it exists anywhere: dropping the last
** one sends MOP_DROP, a request without reply that never blocks and
** never releases the GIL, since it may be sent from a __gc finalizer.
** The records are counted (MgrShared.objects): when the last goes and
** the Manager was collected without shutdown(), the server is told to
** leave (mp_mgr_say_bye).
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "mp_manager.h"

typedef struct Proxy {
  MpRef ref;                 /* ref.shared: the MgrObj (the object's id and kind) */
} Proxy;

static void proxy_destroy(RtObject *o, lua_State *L) {
  (void)L;
  mp_ref_destroy((MpRef *)o);
}

static const RtType proxy_types[] = {
  {NULL, NULL, NULL, NULL},
  {"multiprocessing.DictProxy", "multiprocessing", proxy_destroy, NULL},
  {"multiprocessing.ListProxy", "multiprocessing", proxy_destroy, NULL},
  {"multiprocessing.Namespace", "multiprocessing", proxy_destroy, NULL},
};

static Proxy *check_proxy(lua_State *L, int idx) {
  RtObject *o = rt_test(L, idx);
  if (o == NULL || (o->type != &proxy_types[MK_DICT] && o->type != &proxy_types[MK_LIST] &&
                    o->type != &proxy_types[MK_NAMESPACE]))
    luaL_argerror(L, idx, "Manager proxy expected");
  return (Proxy *)o;
}

static MgrObj *obj_of(Proxy *p) { return (MgrObj *)p->ref.shared; }
static MgrShared *mgr_of(Proxy *p) { return obj_of(p)->m; }

/* Tells the server to forget object id. Never blocks: the request
** channel has no size limit, and this runs in finalizers. */
static void send_drop(MgrShared *m, uint32_t id) {
  if (__atomic_load_n(&m->stopped, __ATOMIC_ACQUIRE)) return;
  unsigned char hdr[13];
  memset(hdr, 0, 8);                    /* no reply box */
  memcpy(hdr + 8, &id, 4);
  hdr[12] = MOP_DROP;
  mp_chan_put2(m->req, hdr, 13, NULL, 0, 0, NULL);   /* ENOMEM: the object stays */
}

/* MpRef.release of a proxy: drops its reference to the object. */
static void obj_release(void *p) {
  MgrObj *o = (MgrObj *)p;
  if (!mp_shm_unref(o)) return;
  MgrShared *m = o->m;
  send_drop(m, o->id);
  mp_shm_free(o);
  if (__atomic_sub_fetch(&m->objects, 1, __ATOMIC_SEQ_CST) == 0 &&
      __atomic_load_n(&m->abandoned, __ATOMIC_SEQ_CST))
    mp_mgr_say_bye(m);                  /* the Manager was collected: the server may go */
  mp_mgr_release(m);
}

/* Pushes the first proxy on the new object id (its MgrObj is made here). */
void mp_mgr_push_proxy(lua_State *L, MgrShared *m, uint32_t id, int kind) {
  MgrObj *o = (MgrObj *)mp_shm_alloc(sizeof(MgrObj));
  Proxy *p = o ? (Proxy *)calloc(1, sizeof(Proxy)) : NULL;
  if (p == NULL) {
    if (o) mp_shm_free(o);
    send_drop(m, id);
    luaL_error(L, "Manager: out of memory for a proxy");
  }
  o->m = m;
  o->id = id;
  o->kind = kind;
  mp_shm_incref(m);                     /* the object's */
  __atomic_add_fetch(&m->objects, 1, __ATOMIC_SEQ_CST);
  p->ref.release = obj_release;         /* before mp_ref_init: the ledger records it */
  mp_ref_init(&p->ref, &proxy_types[kind], o);   /* takes over o's first reference */
  rt_push_owned(L, &p->ref.rt);
}

/* Generic: proxy:op(args...) */
static int call_op(lua_State *L, int op) {
  Proxy *p = check_proxy(L, 1);
  int n = lua_gettop(L) - 1;
  return mp_mgr_request(L, mgr_of(p), obj_of(p)->id, op, 2, n, NULL);
}

#define OPFN(name, op) static int name(lua_State *L) { return call_op(L, op); }
OPFN(px_append, MOP_APPEND)
OPFN(px_extend, MOP_EXTEND)
OPFN(px_insert, MOP_INSERT)
OPFN(px_pop, MOP_POP)
OPFN(px_remove, MOP_REMOVE)
OPFN(px_index, MOP_INDEX)
OPFN(px_count, MOP_COUNT)
OPFN(px_clear, MOP_CLEAR)
OPFN(px_keys, MOP_KEYS)
OPFN(px_values, MOP_VALUES)
OPFN(px_items, MOP_ITEMS)
OPFN(px_setdefault, MOP_SETDEF)
OPFN(px_update, MOP_UPDATE)
OPFN(px_contains, MOP_CONTAINS)
OPFN(px_copy, MOP_COPY)

/* get(key[, default]) */
static int px_get(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  lua_settop(L, 3);
  if (obj_of(p)->kind == MK_LIST) return mp_mgr_request(L, mgr_of(p), obj_of(p)->id, MOP_GET, 2, 1, NULL);
  return mp_mgr_request(L, mgr_of(p), obj_of(p)->id, MOP_GETDEF, 2, 2, NULL);
}

/* list copy: a plain array (items may be nil: n says how many) */
static int px_tolist(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  mp_mgr_request(L, mgr_of(p), obj_of(p)->id, MOP_COPY, 2, 0, NULL);
  return 1;
}

static int px_len(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  return mp_mgr_request(L, mgr_of(p), obj_of(p)->id, MOP_LEN, 2, 0, NULL);
}

static int px_index_mm(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  if (obj_of(p)->kind != MK_NAMESPACE && lua_type(L, 2) == LUA_TSTRING) {
    lua_getmetatable(L, 1);
    if (lua_getfield(L, -1, "methods") == LUA_TTABLE) {
      lua_pushvalue(L, 2);
      if (lua_rawget(L, -2) != LUA_TNIL) return 1;
    }
    lua_settop(L, 2);
  }
  if (obj_of(p)->kind == MK_LIST && !lua_isinteger(L, 2)) return 0;
  lua_settop(L, 3);                 /* key, default nil */
  return mp_mgr_request(L, mgr_of(p), obj_of(p)->id, obj_of(p)->kind == MK_LIST ? MOP_GET : MOP_GETDEF, 2,
                 obj_of(p)->kind == MK_LIST ? 1 : 2, NULL);
}

static int px_newindex_mm(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  lua_settop(L, 3);
  if (obj_of(p)->kind != MK_LIST && lua_isnil(L, 3)) {        /* d[k] = nil deletes */
    mp_mgr_request(L, mgr_of(p), obj_of(p)->id, MOP_POP, 2, 2, NULL);   /* pop(k, nil): no KeyError */
    return 0;
  }
  return mp_mgr_request(L, mgr_of(p), obj_of(p)->id, MOP_SET, 2, 2, NULL);
}

static int px_pairs(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  lua_getglobal(L, "next");
  mp_mgr_request(L, mgr_of(p), obj_of(p)->id, MOP_COPY, 2, 0, NULL);
  if (obj_of(p)->kind == MK_LIST) { lua_pushnil(L); lua_setfield(L, -2, "n"); }
  lua_pushnil(L);
  return 3;
}

/* Appends a readable form of the value at idx to b. */
static void repr_value(lua_State *L, luaL_Buffer *b, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING) {
    lua_pushfstring(L, "'%s'", lua_tostring(L, idx));
    luaL_addvalue(b);
  } else {
    luaL_tolstring(L, idx, NULL);
    luaL_addvalue(b);
  }
}

static int px_tostring(lua_State *L) {
  Proxy *p = check_proxy(L, 1);
  mp_mgr_request(L, mgr_of(p), obj_of(p)->id, MOP_COPY, 2, 0, NULL);
  int t = lua_gettop(L);
  luaL_Buffer b;
  if (obj_of(p)->kind == MK_LIST) {
    lua_getfield(L, t, "n");
    lua_Integer n = lua_tointeger(L, -1);
    lua_pop(L, 1);
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '[');
    for (lua_Integer i = 1; i <= n; i++) {
      if (i > 1) luaL_addstring(&b, ", ");
      lua_rawgeti(L, t, i);
      repr_value(L, &b, -1);
      lua_pop(L, 1);
    }
    luaL_addchar(&b, ']');
    luaL_pushresult(&b);
    return 1;
  }
  /* dict / namespace: keys sorted by their text, for a stable output */
  lua_newtable(L);
  int keys = lua_gettop(L);
  lua_Integer nk = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) { lua_pop(L, 1); lua_pushvalue(L, -1); lua_rawseti(L, keys, ++nk); }
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_pushvalue(L, keys);
  luaL_loadstring(L, "local a, b = ... return tostring(a) < tostring(b)");
  lua_call(L, 2, 0);
  lua_pop(L, 1);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, obj_of(p)->kind == MK_NAMESPACE ? "Namespace(" : "{");
  for (lua_Integer i = 1; i <= nk; i++) {
    if (i > 1) luaL_addstring(&b, ", ");
    lua_rawgeti(L, keys, i);
    if (obj_of(p)->kind == MK_NAMESPACE) { luaL_addvalue(&b); luaL_addchar(&b, '='); lua_rawgeti(L, keys, i); }
    else { repr_value(L, &b, -1); luaL_addstring(&b, ": "); }
    lua_rawget(L, t);
    repr_value(L, &b, -1);
    lua_pop(L, 1);
  }
  luaL_addstring(&b, obj_of(p)->kind == MK_NAMESPACE ? ")" : "}");
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg dict_methods[] = {
  {"get", px_get}, {"keys", px_keys}, {"values", px_values}, {"items", px_items},
  {"copy", px_copy}, {"update", px_update}, {"setdefault", px_setdefault}, {"pop", px_pop},
  {"clear", px_clear}, {"has", px_contains}, {NULL, NULL}
};

static const luaL_Reg list_methods[] = {
  {"get", px_get}, {"append", px_append}, {"extend", px_extend}, {"insert", px_insert},
  {"pop", px_pop}, {"remove", px_remove}, {"index", px_index}, {"count", px_count},
  {"clear", px_clear}, {"copy", px_tolist}, {"tolist", px_tolist}, {"has", px_contains},
  {NULL, NULL}
};

static const MpExport exports[] = {
  {NULL, 0, NULL},
  {&proxy_types[MK_DICT], sizeof(Proxy), obj_release},
  {&proxy_types[MK_LIST], sizeof(Proxy), obj_release},
  {&proxy_types[MK_NAMESPACE], sizeof(Proxy), obj_release},
};

/* Every proxy type's metamethods: its methods stay reachable as the
** metatable's 'methods' (px_index_mm looks there first). */
static const luaL_Reg proxy_metamethods[] = {
  {"__eq", mp_ref_eq}, {"__index", px_index_mm}, {"__newindex", px_newindex_mm},
  {"__len", px_len}, {"__pairs", px_pairs}, {"__tostring", px_tostring}, {NULL, NULL}
};

void mp_mgr_open_proxies(lua_State *L) {
  for (int k = MK_DICT; k <= MK_NAMESPACE; k++) mp_exportable(&exports[k]);
  const luaL_Reg *methods[] = {NULL, dict_methods, list_methods, NULL};
  for (int k = MK_DICT; k <= MK_NAMESPACE; k++) {
    rt_newtype(L, &proxy_types[k], methods[k]);
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -2, "methods");
    luaL_setfuncs(L, proxy_metamethods, 0);
    lua_pop(L, 1);
  }
}

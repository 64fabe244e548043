/*
** rtobject.c — handles, reference counts and the per-interpreter handle
** cache for runtime objects. See rtobject.h.
*/
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "rtobject.h"

#define RT_CACHE "gillua.rtcache"   /* registry: lightuserdata(obj) -> handle, weak values */
#define RT_MARK "__gillua_rt"        /* metatable field that marks runtime handles */
#define RT_MAXTYPES 64

typedef struct Handle { RtObject *obj; } Handle;

static const RtType *types[RT_MAXTYPES];
static atomic_int ntypes;
static pthread_mutex_t types_mu = PTHREAD_MUTEX_INITIALIZER;  /* serializes writers */

/* Every live object, for rt_fork_child. */
static RtObject *all_head;
static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;

void rt_init(RtObject *o, const RtType *type) {
  o->type = type;
  atomic_init(&o->refs, 1);
  pthread_mutex_lock(&all_mu);
  o->all_prev = NULL;
  o->all_next = all_head;
  if (all_head) all_head->all_prev = o;
  all_head = o;
  pthread_mutex_unlock(&all_mu);
}

void rt_unlink(RtObject *o) {
  pthread_mutex_lock(&all_mu);
  if (o->all_prev) o->all_prev->all_next = o->all_next;
  else if (all_head == o) all_head = o->all_next;
  if (o->all_next) o->all_next->all_prev = o->all_prev;
  o->all_prev = o->all_next = NULL;
  pthread_mutex_unlock(&all_mu);
}

/* Fork duties: types_mu then all_mu are held across fork(), so the child
** never sees the type table or the object list half-updated (GIL-off
** threads create objects and load modules in parallel). The child starts
** both mutexes afresh and re-initialises every object's own locks. */
void rt_fork_prepare(void) {
  pthread_mutex_lock(&types_mu);
  pthread_mutex_lock(&all_mu);
}

void rt_fork_parent(pid_t pid) {
  (void)pid;
  pthread_mutex_unlock(&all_mu);
  pthread_mutex_unlock(&types_mu);
}

void rt_fork_child(void) {
  pthread_mutex_unlock(&all_mu);      /* taken in prepare, by this thread */
  pthread_mutex_unlock(&types_mu);
  for (RtObject *o = all_head; o; o = o->all_next)
    if (o->type->after_fork) o->type->after_fork(o);
}

void rt_incref(RtObject *o) {
  atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void rt_decref(RtObject *o, lua_State *L) {
  if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
    o->type->destroy(o, L);
}

void rt_newweak(lua_State *L, const char *mode) {
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushstring(L, mode);
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
}

void rt_registry_table(lua_State *L, const char *key, const char *mode) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE) return;
  lua_pop(L, 1);
  if (mode) rt_newweak(L, mode);
  else lua_newtable(L);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, key);
}

/* Pushes the registry's handle cache, creating it on first use. */
static void pushcache(lua_State *L) { rt_registry_table(L, RT_CACHE, "v"); }

/* Pushes the metatable of type t, loading its module when needed. */
static void pushmeta(lua_State *L, const RtType *t) {
  if (luaL_getmetatable(L, t->name) != LUA_TNIL) return;
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushstring(L, t->module);
  lua_call(L, 1, 0);
  if (luaL_getmetatable(L, t->name) == LUA_TNIL)
    luaL_error(L, "module '%s' did not register type '%s'", t->module, t->name);
}

static void push_handle(lua_State *L, RtObject *o, int take_ref) {
  pushcache(L);
  if (lua_rawgetp(L, -1, o) != LUA_TNIL) {   /* already has a handle here */
    lua_remove(L, -2);
    if (take_ref) rt_decref(o, L);
    return;
  }
  lua_pop(L, 1);
  pushmeta(L, o->type);                        /* may raise: before the handle holds a ref */
  Handle *h = (Handle *)lua_newuserdatauv(L, sizeof(Handle), 1);
  h->obj = o;
  if (!take_ref) rt_incref(o);
  lua_insert(L, -2);
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, -3, o);
  lua_remove(L, -2);
}

void rt_push(lua_State *L, RtObject *o) { push_handle(L, o, 0); }

void rt_push_owned(lua_State *L, RtObject *o) { push_handle(L, o, 1); }

RtObject *rt_test(lua_State *L, int idx) {
  Handle *h = (Handle *)lua_touserdata(L, idx);
  if (h == NULL || !lua_getmetatable(L, idx)) return NULL;
  int isrt = lua_getfield(L, -1, RT_MARK) == LUA_TBOOLEAN;
  lua_pop(L, 2);
  return isrt ? h->obj : NULL;
}

RtObject *rt_check(lua_State *L, int idx, const RtType *t) {
  RtObject *o = rt_test(L, idx);
  if (o == NULL || o->type != t) {
    const char *got = o ? o->type->name : luaL_typename(L, idx);
    luaL_argerror(L, idx, lua_pushfstring(L, "%s expected, got %s", t->name, got));
  }
  if (o == NULL) return NULL; /* not reached */
  return o;
}

static int handle_gc(lua_State *L) {
  Handle *h = (Handle *)lua_touserdata(L, 1);
  if (h->obj) {
    RtObject *o = h->obj;
    h->obj = NULL;
    rt_decref(o, L);
  }
  return 0;
}

static int handle_eq(lua_State *L) {
  RtObject *a = rt_test(L, 1), *b = rt_test(L, 2);
  lua_pushboolean(L, a != NULL && a == b);
  return 1;
}

static int handle_tostring(lua_State *L) {
  RtObject *o = rt_test(L, 1);
  if (o == NULL) return luaL_error(L, "runtime object expected");
  lua_pushfstring(L, "%s: %p", o->type->name, (void *)o);
  return 1;
}

void rt_newtype(lua_State *L, const RtType *t, const luaL_Reg *methods) {
  rt_register_type(t);
  luaL_newmetatable(L, t->name);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, RT_MARK);
  lua_pushcfunction(L, handle_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, handle_eq);
  lua_setfield(L, -2, "__eq");
  lua_pushcfunction(L, handle_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_newtable(L);
  if (methods) luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
}

/* Writers take types_mu; readers see types[0..ntypes) because the slot is
** written before ntypes is published (release/acquire). */
void rt_register_type(const RtType *t) {
  pthread_mutex_lock(&types_mu);
  int n = atomic_load(&ntypes), found = 0;
  for (int i = 0; i < n && !found; i++) found = (types[i] == t);
  if (!found && n < RT_MAXTYPES) {
    types[n] = t;
    atomic_store_explicit(&ntypes, n + 1, memory_order_release);
  } else if (!found)
    fprintf(stderr, "gillua: too many runtime types (%s)\n", t->name);
  pthread_mutex_unlock(&types_mu);
}

const RtType *rt_find_type(const char *name) {
  int n = atomic_load_explicit(&ntypes, memory_order_acquire);
  for (int i = 0; i < n; i++)
    if (strcmp(types[i]->name, name) == 0) return types[i];
  return NULL;
}

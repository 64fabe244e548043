/*
** transfer.c — the parts of the value transfer shared by the encoder and
** the decoder: byte buffers, the by-name table of standard and runtime
** module values, and the check word that guards runtime-object addresses.
** See transfer.h for the interface, docs/transfer-format.md for the bytes.
*/
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>

#include "rtobject.h"
#include "transfer_int.h"

/*
** {==================================================================
** Buffers. Memory comes from malloc, not from an interpreter's allocator:
** a buffer is made in one interpreter and freed in another.
** ===================================================================
*/

void tr_buffer_init(TrBuffer *b) {
  memset(b, 0, sizeof *b);
}

void tr_buffer_free(TrBuffer *b) {
  for (size_t i = 0; i < b->nobjs; i++)
    rt_decref(b->objs[i], NULL);
  free(b->objs);
  free(b->data);
  memset(b, 0, sizeof *b);
}

/* Grows geometrically, so appending n bytes costs O(n) amortized. */
static void reserve(lua_State *L, TrBuffer *b, size_t n) {
  if (b->cap - b->len >= n) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len < n) {
    if (cap > SIZE_MAX / 2) luaL_error(L, "not enough memory");
    cap *= 2;
  }
  unsigned char *p = (unsigned char *)realloc(b->data, cap);
  if (p == NULL) luaL_error(L, "not enough memory");
  b->data = p;
  b->cap = cap;
}

void tr_put(lua_State *L, TrBuffer *b, const void *p, size_t n) {
  reserve(L, b, n);
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
}

void tr_putbyte(lua_State *L, TrBuffer *b, int c) {
  reserve(L, b, 1);
  b->data[b->len++] = (unsigned char)c;
}

void tr_putvarint(lua_State *L, TrBuffer *b, uint64_t v) {
  reserve(L, b, 10);
  while (v >= 0x80) {
    b->data[b->len++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  b->data[b->len++] = (unsigned char)v;
}

void tr_putu32(lua_State *L, TrBuffer *b, uint32_t v) {
  reserve(L, b, 4);
  tr_patchu32(b, b->len, v);
  b->len += 4;
}

void tr_putu64(lua_State *L, TrBuffer *b, uint64_t v) {
  reserve(L, b, 8);
  for (int i = 0; i < 8; i++) b->data[b->len++] = (unsigned char)(v >> (8 * i));
}

void tr_patchu32(TrBuffer *b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; i++) b->data[at + i] = (unsigned char)(v >> (8 * i));
}

void tr_addobj(lua_State *L, TrBuffer *b, RtObject *o) {
  if (b->nobjs == b->objcap) {
    size_t cap = b->objcap ? 2 * b->objcap : 8;
    RtObject **p = (RtObject **)realloc(b->objs, cap * sizeof *p);
    if (p == NULL) {
      rt_decref(o, L);
      luaL_error(L, "not enough memory");
    }
    b->objs = p;
    b->objcap = cap;
  }
  b->objs[b->nobjs++] = o;
}

/* }================================================================== */


/*
** {==================================================================
** Check word for runtime-object addresses. A runtime object travels as
** its address (threads of one process share the heap). Before the
** decoder dereferences an address it recomputes this word: an address
** that was not written by this process's encoder does not match (except
** with probability 2^-64), so corrupted or foreign bytes are refused
** instead of crashing. The process id is mixed in because a fork()ed
** child inherits the key but not the objects made after the fork. This
** guards against accidents, not against someone who can read encodings
** (the mix is not a cryptographic MAC).
** ===================================================================
*/

static uint64_t objkey;
static pthread_once_t objkey_once = PTHREAD_ONCE_INIT;

static void objkey_init(void) {
  uint64_t k = 0;
  if (getrandom(&k, sizeof k, 0) != (ssize_t)sizeof k) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    k = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15u ^ (uint64_t)ts.tv_sec ^
        (uint64_t)(uintptr_t)&k;
  }
  objkey = k | 1;
}

static uint64_t mix64(uint64_t x) {   /* splitmix64's finalizer */
  x ^= x >> 30; x *= 0xBF58476D1CE4E5B9u;
  x ^= x >> 27; x *= 0x94D049BB133111EBu;
  x ^= x >> 31;
  return x;
}

uint64_t tr_objcheck(uint64_t addr) {
  pthread_once(&objkey_once, objkey_init);
  uint64_t pid = (uint64_t)getpid();
  return mix64(mix64(addr ^ objkey) ^ (pid * 0x9E3779B97F4A7C15u) ^ objkey);
}

/* }================================================================== */


/*
** {==================================================================
** The by-name table. Values that belong to the interpreter rather than
** to the program travel by name and are looked up again on arrival:
**   - the module tables of the standard libraries and of the runtime
**     modules (keys of package.preload), and the global table ("_G");
**   - the tables of the other modules in package.loaded that have C
**     functions (which cannot be copied: LuaSocket's, say) and that
**     require finds in a file (package.searchpath on package.cpath or
**     package.path); the receiver requires them (a GIL-off thread gets
**     its own instance, as each interpreter has its own modules). Modules
**     of Lua functions only are still copied;
**   - their fields that are C functions, tables or userdata (e.g.
**     "string.format", "threading.Lock", "io.stdout"); for "_G" only the
**     C functions ("_G.print"), since other globals belong to the program.
** The table maps each such value to its name and lives in the registry
** with weak keys. It is rebuilt when a module was loaded after it was
** built (tr_names_stale) and when a C function or userdata is not found
** (the caller retries once). When a value has several names the choice
** is deterministic: not "_G" if possible, then the shortest, then the
** smallest in byte order.
** ===================================================================
*/

#define NAMES_KEY "gillua.transfer.names"

static const char *const stdlibs[] = {
  "_G", "coroutine", "debug", "io", "math", "os", "package", "string",
  "table", "utf8", NULL
};

int tr_module_allowed(lua_State *L, const char *name, size_t len) {
  luaL_checkstack(L, 4, NULL);
  if (strlen(name) != len) return 0;           /* embedded zero */
  for (int i = 0; stdlibs[i]; i++)
    if (strcmp(stdlibs[i], name) == 0) return 1;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  int ok = lua_getfield(L, -1, name) != LUA_TNIL;
  lua_pop(L, 2);
  return ok;
}

static int is_gname(const char *s, size_t len) {
  return (len == 2 && memcmp(s, "_G", 2) == 0) ||
         (len > 2 && memcmp(s, "_G\0", 3) == 0);
}

/* Whether the name 'a' is preferred to 'old' for the same value. */
static int better(const char *a, size_t alen, const char *old, size_t oldlen) {
  int ag = is_gname(a, alen), og = is_gname(old, oldlen);
  if (ag != og) return og;
  if (alen != oldlen) return alen < oldlen;
  return memcmp(a, old, alen) < 0;
}

/* cache[value at v] = name (the string on top), popping the name. */
static void names_add(lua_State *L, int cache, int v) {
  size_t len, oldlen;
  const char *name = lua_tolstring(L, -1, &len);
  lua_pushvalue(L, v);
  if (lua_rawget(L, cache) == LUA_TSTRING) {
    const char *old = lua_tolstring(L, -1, &oldlen);
    if (!better(name, len, old, oldlen)) {
      lua_pop(L, 2);
      return;
    }
  }
  lua_pop(L, 1);
  lua_pushvalue(L, v);
  lua_insert(L, -2);
  lua_rawset(L, cache);
}

/* Adds module 'name' (table at 'm') and its fields to the cache. */
static void names_module(lua_State *L, int cache, int m, const char *name) {
  int isg = strcmp(name, "_G") == 0;
  lua_pushstring(L, name);
  names_add(L, cache, m);
  lua_pushnil(L);
  while (lua_next(L, m)) {
    int t = lua_type(L, -1);
    int take = isg ? lua_iscfunction(L, -1)
                   : (lua_iscfunction(L, -1) || t == LUA_TTABLE ||
                      t == LUA_TUSERDATA);
    if (take && lua_type(L, -2) == LUA_TSTRING) {
      size_t flen;
      const char *f = lua_tolstring(L, -2, &flen);
      luaL_Buffer nb;
      luaL_buffinit(L, &nb);
      luaL_addstring(&nb, name);
      luaL_addchar(&nb, '\0');
      luaL_addlstring(&nb, f, flen);
      luaL_pushresult(&nb);
      names_add(L, cache, lua_gettop(L) - 1);
    }
    lua_pop(L, 1);
  }
}

/* Key (a light userdata) of the names table's list of the standard and
** runtime modules that were not loaded when it was built. */
static const char pending_key = 'p';
/* Key of the number of package.loaded entries when it was built. */
static const char loaded_count_key = 'n';

/* Whether require finds module 'name' in a file: package.searchpath on
** package.cpath or package.path (package being the loaded library's). */
static int found_by_require(lua_State *L, const char *name) {
  int found = 0, top = lua_gettop(L);
  luaL_checkstack(L, 8, NULL);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "package") == LUA_TTABLE &&
      lua_getfield(L, -1, "searchpath") == LUA_TFUNCTION) {
    for (int i = 0; i < 2 && !found; i++) {
      lua_pushvalue(L, -1);
      lua_pushstring(L, name);
      if (lua_getfield(L, -4, i == 0 ? "cpath" : "path") == LUA_TSTRING &&
          lua_pcall(L, 2, 1, 0) == LUA_OK)
        found = lua_type(L, -1) == LUA_TSTRING;
      lua_settop(L, top + 3);
    }
  }
  lua_settop(L, top);
  return found;
}

static lua_Integer count_entries(lua_State *L, int t) {
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) { n++; lua_pop(L, 1); }
  return n;
}

static int has_cfunction(lua_State *L, int t) {
  int found = 0;
  lua_pushnil(L);
  while (!found && lua_next(L, t)) {
    found = lua_iscfunction(L, -1);
    lua_pop(L, 1);
  }
  if (found) lua_pop(L, 1);   /* the key lua_next left */
  return found;
}

/* Adds the modules of package.loaded (at 'loaded') with C functions that
** require finds in a file and that have no name yet; records how many
** entries package.loaded had. */
static void names_required(lua_State *L, int cache, int loaded) {
  lua_pushnil(L);
  while (lua_next(L, loaded)) {
    if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TTABLE &&
        strlen(lua_tostring(L, -2)) == lua_rawlen(L, -2)) {
      lua_pushvalue(L, -1);
      int named = lua_rawget(L, cache) != LUA_TNIL;
      lua_pop(L, 1);
      const char *name = lua_tostring(L, -2);
      if (!named && has_cfunction(L, lua_gettop(L)) && found_by_require(L, name))
        names_module(L, cache, lua_gettop(L), name);
    }
    lua_pop(L, 1);
  }
  lua_pushinteger(L, count_entries(L, loaded));
  lua_rawsetp(L, cache, &loaded_count_key);
}

/* Adds module 'name' when it is loaded, else lists it as pending. */
static void names_consider(lua_State *L, int cache, int loaded, int pending,
                           const char *name) {
  if (lua_getfield(L, loaded, name) == LUA_TTABLE)
    names_module(L, cache, lua_gettop(L), name);
  else {
    lua_pushstring(L, name);
    lua_rawseti(L, pending, (lua_Integer)lua_rawlen(L, pending) + 1);
  }
  lua_pop(L, 1);
}

static void names_build(lua_State *L) {
  luaL_checkstack(L, 24, NULL);      /* the walk below and luaL_Buffer */
  rt_newweak(L, "k");
  int cache = lua_gettop(L);
  lua_newtable(L);
  int pending = lua_gettop(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_gettop(L);
  for (int i = 0; stdlibs[i]; i++)
    names_consider(L, cache, loaded, pending, stdlibs[i]);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING &&
        strlen(lua_tostring(L, -1)) == lua_rawlen(L, -1))
      names_consider(L, cache, loaded, pending, lua_tostring(L, -1));
  }
  lua_pop(L, 1);                                 /* preload */
  names_required(L, cache, loaded);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  lua_pushliteral(L, "_G");
  names_add(L, cache, lua_gettop(L) - 1);
  lua_pop(L, 2);                                 /* globals, loaded */
  lua_rawsetp(L, cache, &pending_key);           /* pops pending */
  lua_pushvalue(L, cache);
  lua_setfield(L, LUA_REGISTRYINDEX, NAMES_KEY);
}

void tr_names_push(lua_State *L, int rebuild) {
  if (!rebuild && lua_getfield(L, LUA_REGISTRYINDEX, NAMES_KEY) == LUA_TTABLE)
    return;
  if (!rebuild) lua_pop(L, 1);
  names_build(L);
}

int tr_travels_by_name(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 4, NULL);
  tr_names_push(L, 0);
  lua_pushvalue(L, idx);
  int named = lua_rawget(L, -2) == LUA_TSTRING;
  lua_pop(L, 2);
  return named;
}

/* Whether a module that was pending at build time is loaded now, or
** package.loaded has more or fewer entries (a module was required). Cheap:
** this runs once per encode call that meets a table.
** A module table replaced in package.loaded is not noticed here; its
** fields still are, by the check in enc_byname. */
int tr_names_stale(lua_State *L, int names) {
  int stale = 0;
  luaL_checkstack(L, 6, NULL);
  names = lua_absindex(L, names);
  if (lua_rawgetp(L, names, &pending_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  if (n > 0) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    for (lua_Integer i = 1; i <= n && !stale; i++) {
      lua_rawgeti(L, -2, i);
      stale = lua_rawget(L, -2) == LUA_TTABLE;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  if (!stale) {
    lua_Integer had = lua_rawgetp(L, names, &loaded_count_key) == LUA_TNUMBER ? lua_tointeger(L, -1) : -1;
    lua_pop(L, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    stale = count_entries(L, lua_gettop(L)) != had;
    lua_pop(L, 1);
  }
  return stale;
}

int tr_module_findable(lua_State *L, const char *name, size_t len) {
  if (strlen(name) != len) return 0;
  luaL_checkstack(L, 4, NULL);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  int loaded = lua_getfield(L, -1, name) == LUA_TTABLE;
  lua_pop(L, 2);
  return loaded || found_by_require(L, name);
}

/* require(mod) in this interpreter, for a module that is not loaded yet
** and has no preload function. */
static void load_required(lua_State *L, const char *mod) {
  luaL_checkstack(L, 4, NULL);
  if (lua_getglobal(L, "require") != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return;
  }
  lua_pushstring(L, mod);
  lua_call(L, 1, 0);
}

/* require's protocol for a preload loader, without searching files. */
static void load_preloaded(lua_State *L, const char *mod, int loaded) {
  luaL_checkstack(L, 6, NULL);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  if (lua_getfield(L, -1, mod) != LUA_TFUNCTION) {
    lua_pop(L, 2);
    return;
  }
  lua_pushstring(L, mod);
  lua_pushliteral(L, ":preload:");
  lua_call(L, 2, 1);
  if (!lua_isnil(L, -1)) lua_setfield(L, loaded, mod);
  else lua_pop(L, 1);
  if (lua_getfield(L, loaded, mod) == LUA_TNIL) {
    lua_pushboolean(L, 1);
    lua_setfield(L, loaded, mod);
  }
  lua_pop(L, 2);                                 /* value, preload */
}

void tr_push_named(lua_State *L, const char *mod, size_t modlen,
                   const char *field, size_t fieldlen, int load) {
  luaL_checkstack(L, 6, NULL);
  if (modlen == 2 && memcmp(mod, "_G", 2) == 0)
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  else {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushlstring(L, mod, modlen);
    if (lua_rawget(L, -2) == LUA_TNIL && load) {
      lua_pop(L, 1);
      int loaded = lua_gettop(L);
      const char *name = lua_pushlstring(L, mod, modlen);
      load_preloaded(L, name, loaded);
      if (lua_getfield(L, loaded, name) == LUA_TNIL) load_required(L, name);
      lua_pop(L, 2);
      lua_pushlstring(L, mod, modlen);
      lua_rawget(L, -2);
    }
    lua_remove(L, -2);
  }
  if (field == NULL) return;
  if (lua_type(L, -1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  lua_pushlstring(L, field, fieldlen);
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

/* }================================================================== */


void tr_check_encode(lua_State *L, int first, int n, const char *what,
                     TrBuffer *b) {
  char err[TR_ERRMAX];
  if (tr_encode(L, first, n, what, b, err, sizeof err) < 0)
    luaL_error(L, "%s", err);
}

int tr_push_decoded(lua_State *L, const void *data, size_t len) {
  char err[TR_ERRMAX];
  int n = tr_decode(L, data, len, err, sizeof err);
  if (n < 0) return luaL_error(L, "%s", err);
  return n;
}

/*
** mp_mark.c — arena objects inside messages that cross processes.
**
** The value transfer encodes a runtime object by its address, which only
** the encoding process can decode. Objects that live in the shared arena
** are the same everywhere, though, so before a Queue item, a Pipe message
** or a Pool task/result is encoded, every such object in it is replaced
** by a marker table
**     { [KEY] = { type name, arena offset, arena secret } }
** (tables that lead to one are copied, never changed in place; cycles and
** shared sub-tables are kept by memoization), and the sender takes one
** shared reference per marker for the message in flight. The receiver
** scans the raw bytes for KEY (cheap) and only then walks the decoded
** values, turning markers into handles that take over those references.
** A marker whose secret, type or block does not check out is an error, not
** a crash. A message that is never received leaks its references (the
** objects then live until the program ends).
**
** Lua functions are walked through their upvalues: a closure over a Queue
** works in a Pool task or a message. A closure in a message that has
** markers is cloned (lua_dump + load, then each upvalue set to its
** rewritten value), as tables are copied: the sender's own functions are
** never changed. Upvalues shared between functions of the message stay
** shared in the clones (lua_upvaluejoin, memo keyed by lua_upvalueid).
** Values that travel by name (_G, modules and their fields) are neither
** walked nor copied: the transfer writes their names.
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "mp.h"
#include "transfer.h"

#define KEY "\0gillua.mp\0"
#define KEYLEN 11
#define MAXDEPTH 200
#define MAXTYPES 32

static const MpExport *exports[MAXTYPES];
static int nexports;
static pthread_mutex_t exports_mu = PTHREAD_MUTEX_INITIALIZER;

void mp_exportable(const MpExport *e) {
  pthread_mutex_lock(&exports_mu);
  int found = 0;
  for (int i = 0; i < nexports; i++) found |= exports[i] == e;
  if (!found && nexports < MAXTYPES) exports[nexports++] = e;
  pthread_mutex_unlock(&exports_mu);
}

/* Fork duties: GIL-off threads send (and so read the table) in parallel. */
void mp_exports_fork_prepare(void) { pthread_mutex_lock(&exports_mu); }

void mp_exports_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&exports_mu); }

void mp_exports_fork_child(void) { pthread_mutex_unlock(&exports_mu); }   /* taken in prepare */

static const MpExport *find_by_type(const RtType *t) {
  const MpExport *r = NULL;
  pthread_mutex_lock(&exports_mu);
  for (int i = 0; i < nexports && !r; i++) if (exports[i]->type == t) r = exports[i];
  pthread_mutex_unlock(&exports_mu);
  return r;
}

static const MpExport *find_by_name(const char *name) {
  const MpExport *r = NULL;
  pthread_mutex_lock(&exports_mu);
  for (int i = 0; i < nexports && !r; i++)
    if (strcmp(exports[i]->type->name, name) == 0) r = exports[i];
  pthread_mutex_unlock(&exports_mu);
  return r;
}

static const MpExport *exportable_at(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TUSERDATA) return NULL;
  RtObject *o = rt_test(L, idx);
  if (o == NULL || ((MpRef *)o)->shared == NULL) return NULL;
  return find_by_type(o->type);
}

/* What the walkers enter: tables and Lua functions, but not values that
** travel by name. */
enum { LEAF, TABLE, LFUNCTION };

static int kind_at(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  if (t == LUA_TTABLE) return tr_travels_by_name(L, idx) ? LEAF : TABLE;
  if (t == LUA_TFUNCTION && !lua_iscfunction(L, idx))
    return tr_travels_by_name(L, idx) ? LEAF : LFUNCTION;
  return LEAF;
}

/* Marks the value at idx visited; returns 0 when it already was. */
static int first_visit(lua_State *L, int idx, int visited) {
  lua_pushvalue(L, idx);
  if (lua_rawget(L, visited) != LUA_TNIL) { lua_pop(L, 1); return 0; }
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, visited);
  return 1;
}

/* ---- sending side ---- */

/* Is an exportable object reachable from the value at idx? (visited: a
** table on the stack) */
static int reaches(lua_State *L, int idx, int visited, int depth) {
  idx = lua_absindex(L, idx);
  if (exportable_at(L, idx)) return 1;
  int kind = kind_at(L, idx);
  if (kind == LEAF || depth > MAXDEPTH || !first_visit(L, idx, visited)) return 0;
  luaL_checkstack(L, 6, "message too deep");
  if (kind == LFUNCTION) {
    for (int i = 1; lua_getupvalue(L, idx, i) != NULL; i++) {
      int found = reaches(L, -1, visited, depth + 1);
      lua_pop(L, 1);
      if (found) return 1;
    }
    return 0;
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (reaches(L, -1, visited, depth + 1) || reaches(L, -2, visited, depth + 1)) {
      lua_pop(L, 2);
      return 1;
    }
    lua_pop(L, 1);
  }
  return 0;
}

static void push_marker(lua_State *L, int idx, const MpExport *e) {
  MpRef *r = (MpRef *)rt_test(L, idx);
  mp_shm_incref(r->shared);                 /* the message's reference */
  lua_createtable(L, 0, 1);
  lua_pushlstring(L, KEY, KEYLEN);
  lua_createtable(L, 3, 0);
  lua_pushstring(L, e->type->name);
  lua_rawseti(L, -2, 1);
  lua_pushinteger(L, (lua_Integer)mp_shm_off(r->shared));
  lua_rawseti(L, -2, 2);
  lua_pushinteger(L, (lua_Integer)mp_shm_secret());
  lua_rawseti(L, -2, 3);
  lua_rawset(L, -3);
}

static void rewrite(lua_State *L, int idx, int memo, int *count, int depth);

/* lua_dump's writer: the buffer is opened on the first call, once the
** function to dump is no longer needed on top (as string.dump does). */
typedef struct Dump { int open; luaL_Buffer b; } Dump;

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud) {
  Dump *d = (Dump *)ud;
  if (!d->open) { d->open = 1; luaL_buffinit(L, &d->b); }
  luaL_addlstring(&d->b, (const char *)p, sz);
  return 0;
}

/* Pushes a copy of the Lua function at idx whose upvalues hold the
** rewritten values; memo[function] = copy, memo[upvalue id] = {copy, n}. */
static void clone_function(lua_State *L, int idx, int memo, int *count, int depth) {
  Dump d;
  d.open = 0;
  lua_pushvalue(L, idx);
  lua_dump(L, dump_writer, &d, 0);
  if (!d.open) luaL_error(L, "cannot copy a function for a message");
  luaL_pushresult(&d.b);
  size_t len;
  const char *code = lua_tolstring(L, -1, &len);
  if (luaL_loadbufferx(L, code, len, "=message", "b") != LUA_OK) lua_error(L);
  lua_replace(L, -3);                       /* the copy where the original was pushed */
  lua_pop(L, 1);                            /* the dump */
  int copy = lua_gettop(L);
  lua_pushvalue(L, idx);
  lua_pushvalue(L, copy);
  lua_rawset(L, memo);
  for (int i = 1; lua_getupvalue(L, idx, i) != NULL; i++) {
    void *id = lua_upvalueid(L, idx, i);
    if (lua_rawgetp(L, memo, id) == LUA_TTABLE) {   /* a variable already copied: share it */
      lua_rawgeti(L, -1, 1);
      lua_rawgeti(L, -2, 2);
      lua_upvaluejoin(L, copy, i, lua_absindex(L, -2), (int)lua_tointeger(L, -1));
      lua_pop(L, 4);
      continue;
    }
    lua_pop(L, 1);
    lua_createtable(L, 2, 0);
    lua_pushvalue(L, copy);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, i);
    lua_rawseti(L, -2, 2);
    lua_rawsetp(L, memo, id);
    rewrite(L, -1, memo, count, depth + 1);
    lua_setupvalue(L, copy, i);
    lua_pop(L, 1);                          /* the original value */
  }
}

/* Pushes the rewritten copy of the value at idx (memo: original -> copy). */
static void rewrite(lua_State *L, int idx, int memo, int *count, int depth) {
  idx = lua_absindex(L, idx);
  const MpExport *e = exportable_at(L, idx);
  if (e) { push_marker(L, idx, e); (*count)++; return; }
  int kind = kind_at(L, idx);
  if (kind == LEAF) { lua_pushvalue(L, idx); return; }
  if (depth > MAXDEPTH) luaL_error(L, "message nested too deeply");
  lua_pushvalue(L, idx);
  if (lua_rawget(L, memo) != LUA_TNIL) return;   /* already copied (shared or cyclic) */
  lua_pop(L, 1);
  luaL_checkstack(L, 8, "message too deep");
  if (kind == LFUNCTION) { clone_function(L, idx, memo, count, depth); return; }
  lua_newtable(L);
  int copy = lua_gettop(L);
  lua_pushvalue(L, idx);
  lua_pushvalue(L, copy);
  lua_rawset(L, memo);
  if (lua_getmetatable(L, idx)) lua_setmetatable(L, copy);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    rewrite(L, -2, memo, count, depth + 1);       /* key */
    rewrite(L, -2, memo, count, depth + 1);       /* value */
    lua_rawset(L, copy);
    lua_pop(L, 1);
  }
}

int mp_mark(lua_State *L, int first, int n) {
  int count = 0;
  first = lua_absindex(L, first);
  int candidates = 0;                       /* fast path: plain scalars, strings, C functions */
  for (int i = 0; i < n; i++) {
    int t = lua_type(L, first + i);
    candidates |= (t == LUA_TTABLE || t == LUA_TUSERDATA ||
                   (t == LUA_TFUNCTION && !lua_iscfunction(L, first + i)));
  }
  if (!candidates) return 0;
  lua_newtable(L);
  int visited = lua_gettop(L);
  int any = 0;
  for (int i = 0; i < n && !any; i++) any = reaches(L, first + i, visited, 0);
  if (any) {
    lua_newtable(L);
    int memo = lua_gettop(L);
    for (int i = 0; i < n; i++) {
      rewrite(L, first + i, memo, &count, 0);
      lua_replace(L, first + i);
    }
  }
  lua_settop(L, visited - 1);
  return count;
}

/* ---- receiving side ---- */

/* If the table at idx is a marker, pushes the handle it stands for and
** returns 1 (raises on a bad marker); else returns 0. */
static int import(lua_State *L, int idx) {
  lua_pushlstring(L, KEY, KEYLEN);
  if (lua_rawget(L, idx) != LUA_TTABLE) { lua_pop(L, 1); return 0; }
  int m = lua_gettop(L);
  lua_rawgeti(L, m, 1);
  lua_rawgeti(L, m, 2);
  lua_rawgeti(L, m, 3);
  const char *name = lua_tostring(L, m + 1);
  uint64_t off = (uint64_t)lua_tointeger(L, m + 2);
  uint64_t secret = (uint64_t)lua_tointeger(L, m + 3);
  const MpExport *e = name ? find_by_name(name) : NULL;
  if (e == NULL && name) {                  /* its module may not be open here yet */
    lua_getglobal(L, "require");
    lua_pushstring(L, "multiprocessing");
    lua_call(L, 1, 0);
    e = find_by_name(name);
  }
  void *block = mp_shm_block_at(off);
  if (e == NULL || secret != mp_shm_secret() || block == NULL)
    luaL_error(L, "bad reference to a shared object in a message (%s)", name ? name : "?");
  MpRef *r = (MpRef *)calloc(1, e->size);
  if (r == NULL) luaL_error(L, "out of memory");
  r->release = e->release;
  mp_ref_init(r, e->type, block);           /* takes over the message's reference */
  lua_settop(L, m - 1);
  rt_push_owned(L, &r->rt);
  return 1;
}

static void fix(lua_State *L, int idx, int visited, int depth);

/* Rewrites markers in the upvalues of the (freshly decoded) Lua function
** at idx, and walks the tables and functions they hold. */
static void fix_function(lua_State *L, int idx, int visited, int depth) {
  idx = lua_absindex(L, idx);
  if (depth > MAXDEPTH || !first_visit(L, idx, visited)) return;
  luaL_checkstack(L, 6, "message too deep");
  for (int i = 1; lua_getupvalue(L, idx, i) != NULL; i++) {
    int kind = kind_at(L, -1);
    if (kind == TABLE && import(L, lua_gettop(L))) lua_setupvalue(L, idx, i);
    else if (kind == TABLE) fix(L, -1, visited, depth + 1);
    else if (kind == LFUNCTION) fix_function(L, -1, visited, depth + 1);
    lua_pop(L, 1);
  }
}

/* Rewrites markers inside the (freshly decoded) table at idx, in place. */
static void fix(lua_State *L, int idx, int visited, int depth) {
  idx = lua_absindex(L, idx);
  if (depth > MAXDEPTH || !first_visit(L, idx, visited)) return;
  luaL_checkstack(L, 8, "message too deep");
  lua_newtable(L);                          /* marker keys to re-insert: list of {k, v} */
  int moved = lua_gettop(L);
  int nmoved = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int vkind = kind_at(L, -1);
    if (vkind == TABLE) {
      if (import(L, lua_gettop(L))) {       /* value is a marker */
        lua_pushvalue(L, -3);
        lua_insert(L, -2);
        lua_rawset(L, idx);                 /* same key: allowed during traversal */
      } else fix(L, -1, visited, depth + 1);
    } else if (vkind == LFUNCTION) fix_function(L, -1, visited, depth + 1);
    int kkind = kind_at(L, -2);
    if (kkind == LFUNCTION) fix_function(L, -2, visited, depth + 1);
    if (kkind == TABLE) {
      lua_pushvalue(L, -2);
      if (import(L, lua_gettop(L))) {       /* key is a marker: move the entry later */
        lua_createtable(L, 2, 0);
        lua_insert(L, -2);
        lua_rawseti(L, -2, 1);
        lua_pushvalue(L, -4);
        lua_rawget(L, idx);                  /* the value now (may be a handle) */
        lua_rawseti(L, -2, 2);
        lua_pushvalue(L, -4);
        lua_rawseti(L, -2, 3);               /* the old key */
        lua_rawseti(L, moved, ++nmoved);
        lua_pop(L, 1);
      } else {
        lua_pop(L, 1);
        fix(L, -2, visited, depth + 1);
      }
    }
    lua_pop(L, 1);
  }
  for (int i = 1; i <= nmoved; i++) {
    lua_rawgeti(L, moved, i);
    lua_rawgeti(L, -1, 3);
    lua_pushnil(L);
    lua_rawset(L, idx);                     /* drop the marker key */
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    lua_rawset(L, idx);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

int mp_marked(const void *data, size_t len) {
  return data != NULL && memmem(data, len, KEY, KEYLEN) != NULL;
}

void mp_unmark(lua_State *L, int first, int n) {
  if (n <= 0) return;
  first = lua_absindex(L, first);
  lua_newtable(L);
  int visited = lua_gettop(L);
  for (int i = 0; i < n; i++) {
    int kind = kind_at(L, first + i);
    if (kind == LFUNCTION) fix_function(L, first + i, visited, 0);
    if (kind != TABLE) continue;
    if (import(L, first + i)) lua_replace(L, first + i);
    else fix(L, first + i, visited, 0);
  }
  lua_settop(L, visited - 1);
}

/* ---- protected variants (for the Pool's worker loop, outside any pcall) ---- */

static int mark_cf(lua_State *L) { mp_mark(L, 1, lua_gettop(L)); return lua_gettop(L); }
static int unmark_cf(lua_State *L) { mp_unmark(L, 1, lua_gettop(L)); return lua_gettop(L); }

static int protect(lua_State *L, lua_CFunction f, int first, int n) {
  first = lua_absindex(L, first);
  lua_pushcfunction(L, f);
  for (int i = 0; i < n; i++) lua_pushvalue(L, first + i);
  if (lua_pcall(L, n, n, 0) != LUA_OK) return -1;   /* message on top */
  for (int i = n - 1; i >= 0; i--) lua_replace(L, first + i);
  return 0;
}

int mp_mark_p(lua_State *L, int first, int n) { return protect(L, mark_cf, first, n); }
int mp_unmark_p(lua_State *L, int first, int n) { return protect(L, unmark_cf, first, n); }

/*
** transfer_enc.c — the encoder: Lua values -> bytes (format in
** docs/transfer-format.md).
**
** The encoder runs inside lua_pcall (enc_main), so any failure — a value
** that cannot travel, nesting too deep, memory — is a Lua error that
** encode() turns into a message, after rolling the buffer back.
**
** Invariants while encoding:
**   - 'seen' maps every table, Lua function and runtime handle already
**     written to its ref id (ids count from 1 in the order the decoder
**     will meet them), every long string's object address (light
**     userdata) to its ref id, and every upvalue variable
**     (lightuserdata lua_upvalueid) to fref * 256 + n, the function and
**     slot that wrote it first. Identity, cycles and shared upvalues are
**     therefore preserved, and nothing is written twice (O(n) overall).
**   - A table gets its id before its contents are written, a function
**     before its upvalues: a cycle always refers back to an id that the
**     decoder has already created.
**   - 'depth' counts the tables, functions and metatables being written;
**     it never exceeds TR_MAXDEPTH, which bounds the C recursion.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "rtobject.h"
#include "transfer_int.h"

typedef struct Enc {
  lua_State *L;
  TrBuffer *b;
  int seen;            /* stack index: see the invariants above */
  int globals;         /* stack index: this interpreter's global table */
  int names;           /* stack index: by-name table, nil until needed */
  int names_checked;   /* names compared with the loaded modules already */
  int names_rebuilt;   /* names rebuilt once in this call already */
  lua_Integer nrefs;
  int depth;
  unsigned flags;      /* TR_ENC_* */
} Enc;

static void enc_value(Enc *e, int idx, const Path *path);

/* Raises "cannot transfer WHAT at PATH[WHY]"; does not return. */
static void refuse_because(Enc *e, const char *what, const Path *path,
                           const char *why) {
  char where[400];
  tr_path_render(e->L, path, where, sizeof where);
  lua_pushfstring(e->L, "cannot transfer %s at %s%s", what, where, why);
  lua_error(e->L);
}

static void refuse(Enc *e, const char *what, const Path *path) {
  refuse_because(e, what, path, "");
}

static void enter(Enc *e, const char *what, const Path *path) {
  if (++e->depth > TR_MAXDEPTH) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s nested more than %d levels deep", what,
             TR_MAXDEPTH);
    refuse(e, msg, path);
  }
  luaL_checkstack(e->L, 10, "transfer: nesting too deep");
}

/* Writes a ref to the value at idx if it was written before. */
static int enc_seen(Enc *e, int idx) {
  lua_State *L = e->L;
  lua_pushvalue(L, idx);
  if (lua_rawget(L, e->seen) == LUA_TNUMBER) {
    lua_Integer id = lua_tointeger(L, -1);
    lua_pop(L, 1);
    tr_putbyte(L, e->b, TR_REF);
    tr_putvarint(L, e->b, (uint64_t)id);
    return 1;
  }
  lua_pop(L, 1);
  return 0;
}

static lua_Integer enc_newref(Enc *e, int idx) {
  lua_pushvalue(e->L, idx);
  lua_pushinteger(e->L, ++e->nrefs);
  lua_rawset(e->L, e->seen);
  return e->nrefs;
}

static void enc_names(Enc *e, int rebuild) {
  tr_names_push(e->L, rebuild);
  lua_replace(e->L, e->names);
}

/* Looks the value at idx up in the by-name table and checks the name
** still denotes it here. On success writes TR_MODULE / TR_NAMED. */
static int enc_byname(Enc *e, int idx) {
  lua_State *L = e->L;
  size_t len;
  lua_pushvalue(L, idx);
  if (lua_rawget(L, e->names) != LUA_TSTRING) {
    lua_pop(L, 1);
    return 0;
  }
  const char *name = lua_tolstring(L, -1, &len);
  size_t modlen = strlen(name);
  const char *field = modlen < len ? name + modlen + 1 : NULL;
  size_t fieldlen = field ? len - modlen - 1 : 0;
  tr_push_named(L, name, modlen, field, fieldlen, 0);
  int same = lua_rawequal(L, -1, idx);
  lua_pop(L, 1);
  if (same) {
    tr_putbyte(L, e->b, field ? TR_NAMED : TR_MODULE);
    tr_putvarint(L, e->b, modlen);
    tr_put(L, e->b, name, modlen);
    if (field) {
      tr_putvarint(L, e->b, fieldlen);
      tr_put(L, e->b, field, fieldlen);
    }
  }
  lua_pop(L, 1);
  return same;
}

/* Values that travel by name. Tables: a miss is the normal case, so the
** table is refreshed at most once per call when a module was loaded since
** it was built. C functions and userdata: a miss refreshes it (once). */
static int enc_named(Enc *e, int idx, int is_table) {
  lua_State *L = e->L;
  if (lua_isnil(L, e->names)) enc_names(e, 0);
  if (is_table && !e->names_checked) {
    e->names_checked = 1;
    if (tr_names_stale(L, e->names)) {
      enc_names(e, 1);
      e->names_rebuilt = 1;
    }
  }
  if (enc_byname(e, idx)) return 1;
  if (is_table || e->names_rebuilt) return 0;
  e->names_rebuilt = 1;
  enc_names(e, 1);
  return enc_byname(e, idx);
}

/* Long strings are shared by identity (the string object's address, as
** a light userdata key), not by content: keying 'seen' by the string
** itself would make Lua hash all of it, ~2.7 ms for a fresh 1 MB string.
** The object cannot move or die while it is reachable from the values
** being encoded. Equal strings that are distinct objects are written
** twice, which costs bytes, not correctness. */
static void enc_string(Enc *e, int idx) {
  lua_State *L = e->L;
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  if (len >= TR_SHARE_MIN) {
    const void *id = lua_topointer(L, idx);
    if (lua_rawgetp(L, e->seen, id) == LUA_TNUMBER) {
      lua_Integer ref = lua_tointeger(L, -1);
      lua_pop(L, 1);
      tr_putbyte(L, e->b, TR_REF);
      tr_putvarint(L, e->b, (uint64_t)ref);
      return;
    }
    lua_pop(L, 1);
    lua_pushinteger(L, ++e->nrefs);
    lua_rawsetp(L, e->seen, id);
    tr_putbyte(L, e->b, TR_LSTR);
  } else
    tr_putbyte(e->L, e->b, TR_STR);
  tr_putvarint(e->L, e->b, len);
  tr_put(e->L, e->b, s, len);
}

/* Array part: keys 1..n up to the first nil (walked, never trusting a
** border that could sit after a huge hole); everything else, including
** integer keys after the first hole, goes to the hash part. Both counts
** are patched in once known. */
static void enc_table(Enc *e, int t, const Path *path) {
  lua_State *L = e->L;
  TrBuffer *b = e->b;
  if (enc_seen(e, t)) return;
  if (lua_rawequal(L, t, e->globals)) {
    tr_putbyte(L, b, TR_MODULE);
    tr_putvarint(L, b, 2);
    tr_put(L, b, "_G", 2);
    return;
  }
  if (enc_named(e, t, 1)) return;
  enter(e, "table", path);
  enc_newref(e, t);
  tr_putbyte(L, b, TR_TABLE);
  size_t at = b->len;
  tr_putu32(L, b, 0);
  tr_putu32(L, b, 0);
  lua_Unsigned border = lua_rawlen(L, t);
  lua_Integer n = 0;
  while ((lua_Unsigned)n < border && n < (lua_Integer)UINT32_MAX) {
    Path p = {path, P_INDEX, NULL, n + 1, 0};
    if (lua_rawgeti(L, t, n + 1) == LUA_TNIL) {
      lua_pop(L, 1);
      break;
    }
    enc_value(e, lua_gettop(L), &p);
    lua_pop(L, 1);
    n++;
  }
  tr_patchu32(b, at, (uint32_t)n);
  uint64_t nhash = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    int k = lua_gettop(L) - 1;
    if (lua_isinteger(L, k)) {
      lua_Integer i = lua_tointeger(L, k);
      if (i >= 1 && i <= n) {
        lua_pop(L, 1);
        continue;
      }
    }
    Path pk = {path, P_KEYOF, NULL, 0, 0};
    Path pv = {path, P_KEY, NULL, 0, k};
    enc_value(e, k, &pk);
    enc_value(e, k + 1, &pv);
    nhash++;
    lua_pop(L, 1);
  }
  if (nhash > UINT32_MAX) luaL_error(L, "table too large to transfer");
  tr_patchu32(b, at + 4, (uint32_t)nhash);
  if (lua_getmetatable(L, t)) {
    Path pm = {path, P_META, NULL, 0, 0};
    enc_value(e, lua_gettop(L), &pm);
    lua_pop(L, 1);
  } else
    tr_putbyte(L, b, TR_NIL);
  e->depth--;
}

/* lua_dump's writer. It must not raise (Lua may hold its lock), so it
** grows the buffer by hand and reports failure to lua_dump. */
static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud) {
  TrBuffer *b = (TrBuffer *)ud;
  (void)L;
  if (b->cap - b->len < sz) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < sz) {
      if (cap > SIZE_MAX / 2) return 1;
      cap *= 2;
    }
    unsigned char *d = (unsigned char *)realloc(b->data, cap);
    if (d == NULL) return 1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, sz);
  b->len += sz;
  return 0;
}

/* A Lua function: bytecode with debug info (so tracebacks keep names),
** then each upvalue: the variable itself if another function already
** wrote it (TR_UPJOIN), else its value. */
static void enc_function(Enc *e, int f, const Path *path) {
  lua_State *L = e->L;
  TrBuffer *b = e->b;
  if (lua_iscfunction(L, f)) {
    if (enc_named(e, f, 0)) return;
    refuse(e, "C function", path);
    return;
  }
  if (enc_seen(e, f)) return;
  enter(e, "function", path);
  lua_Integer id = enc_newref(e, f);
  int nup = 0;
  while (lua_getupvalue(L, f, nup + 1) != NULL) {
    lua_pop(L, 1);
    nup++;
  }
  tr_putbyte(L, b, TR_LFUNC);
  tr_putvarint(L, b, (uint64_t)nup);
  size_t at = b->len;
  tr_putu32(L, b, 0);
  lua_pushvalue(L, f);
  int st = lua_dump(L, dump_writer, b, 0);
  lua_pop(L, 1);
  if (st != 0) luaL_error(L, "not enough memory");
  if (b->len - at - 4 > UINT32_MAX) luaL_error(L, "function too large to transfer");
  tr_patchu32(b, at, (uint32_t)(b->len - at - 4));
  for (int i = 1; i <= nup; i++) {
    const char *name = lua_getupvalue(L, f, i);
    void *uid = lua_upvalueid(L, f, i);
    if (lua_rawgetp(L, e->seen, uid) == LUA_TNUMBER) {
      lua_Integer where = lua_tointeger(L, -1);
      tr_putbyte(L, b, TR_UPJOIN);
      tr_putvarint(L, b, (uint64_t)(where >> 8));
      tr_putvarint(L, b, (uint64_t)(where & 0xff));
      lua_pop(L, 2);
      continue;
    }
    lua_pop(L, 1);
    lua_pushinteger(L, id * 256 + i);
    lua_rawsetp(L, e->seen, uid);
    Path pu = {path, P_UPVAL, name, i, 0};
    enc_value(e, lua_gettop(L), &pu);
    lua_pop(L, 1);
  }
  e->depth--;
}

static void enc_userdata(Enc *e, int u, const Path *path) {
  lua_State *L = e->L;
  RtObject *o = rt_test(L, u);
  if (o != NULL) {
    if (e->flags & TR_ENC_NOOBJ) {
      char what[96];
      snprintf(what, sizeof what, "%.60s", o->type->name);
      refuse_because(e, what, path, " (runtime objects do not cross processes)");
      return;
    }
    if (enc_seen(e, u)) return;
    enc_newref(e, u);
    rt_incref(o);
    tr_addobj(L, e->b, o);      /* the buffer owns that reference now */
    uint64_t addr = (uint64_t)(uintptr_t)o;
    size_t len = strlen(o->type->name);
    tr_putbyte(L, e->b, TR_RTOBJ);
    tr_putu64(L, e->b, addr);
    tr_putu64(L, e->b, tr_objcheck(addr));
    tr_putvarint(L, e->b, len);
    tr_put(L, e->b, o->type->name, len);
    return;
  }
  if (enc_named(e, u, 0)) return;
  refuse(e, "userdata", path);
}

static void enc_value(Enc *e, int idx, const Path *path) {
  lua_State *L = e->L;
  TrBuffer *b = e->b;
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      tr_putbyte(L, b, TR_NIL);
      break;
    case LUA_TBOOLEAN:
      tr_putbyte(L, b, lua_toboolean(L, idx) ? TR_TRUE : TR_FALSE);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        uint64_t u = (uint64_t)lua_tointeger(L, idx);
        tr_putbyte(L, b, TR_INT);
        tr_putvarint(L, b, (u << 1) ^ (0 - (u >> 63)));   /* zigzag */
      } else {
        double d = (double)lua_tonumber(L, idx);
        uint64_t u;
        memcpy(&u, &d, sizeof u);
        tr_putbyte(L, b, TR_FLOAT);
        tr_putu64(L, b, u);
      }
      break;
    case LUA_TSTRING:
      enc_string(e, idx);
      break;
    case LUA_TTABLE:
      enc_table(e, idx, path);
      break;
    case LUA_TFUNCTION:
      enc_function(e, idx, path);
      break;
    case LUA_TUSERDATA:
      enc_userdata(e, idx, path);
      break;
    case LUA_TLIGHTUSERDATA:
      refuse(e, "light userdata", path);
      break;
    case LUA_TTHREAD:
      refuse(e, "coroutine", path);
      break;
    default:
      refuse(e, luaL_typename(L, idx), path);
      break;
  }
}

typedef struct EncCall {
  Enc e;
  int n;
  const char *what;              /* or NULL */
  const char *const *names;      /* or NULL */
} EncCall;

/* lua_pcall'ed: argument 1 is the EncCall, 2..n+1 the values. */
static int enc_main(lua_State *L) {
  EncCall *c = (EncCall *)lua_touserdata(L, 1);
  Enc *e = &c->e;
  lua_newtable(L);
  e->seen = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
  e->globals = lua_gettop(L);
  lua_pushnil(L);
  e->names = lua_gettop(L);
  tr_put(L, e->b, TR_MAGIC, 4);
  tr_putbyte(L, e->b, TR_VERSION);
  tr_putvarint(L, e->b, (uint64_t)c->n);
  for (int i = 0; i < c->n; i++) {
    Path root = {NULL, P_ROOT, "value", 0, 0};
    Path item = {&root, P_INDEX, NULL, i + 1, 0};
    const Path *p = &root;
    if (c->names) {
      if (c->names[i]) root.name = c->names[i];
    } else {
      if (c->what) root.name = c->what;
      if (c->n > 1) p = &item;
    }
    enc_value(e, 2 + i, p);
  }
  return 0;
}

static int encode(lua_State *L, int first, int n, const char *what,
                  const char *const *names, unsigned flags, TrBuffer *b,
                  char *err, size_t errlen) {
  EncCall c;
  memset(&c, 0, sizeof c);
  c.e.flags = flags;
  c.e.L = L;
  c.e.b = b;
  c.n = n;
  c.what = what;
  c.names = names;
  size_t len0 = b->len, nobjs0 = b->nobjs;
  first = lua_absindex(L, first);
  if (n < 0 || n > 1000000 || !lua_checkstack(L, n + 3)) {
    snprintf(err, errlen, "cannot transfer %d values at once", n);
    return -1;
  }
  lua_pushcfunction(L, enc_main);
  lua_pushlightuserdata(L, &c);
  for (int i = 0; i < n; i++) lua_pushvalue(L, first + i);
  if (lua_pcall(L, n + 1, 0, 0) == LUA_OK) return 0;
  const char *msg = lua_tostring(L, -1);
  snprintf(err, errlen, "%s", msg ? msg : "cannot transfer value (error object is not a string)");
  lua_pop(L, 1);
  while (b->nobjs > nobjs0) rt_decref(b->objs[--b->nobjs], L);
  b->len = len0;
  if (len0 == 0 && nobjs0 == 0) tr_buffer_free(b);   /* no storage to leak */
  return -1;
}

int tr_encode(lua_State *L, int first, int n, const char *what, TrBuffer *b,
              char *err, size_t errlen) {
  return encode(L, first, n, what, NULL, 0, b, err, errlen);
}

int tr_encode_opts(lua_State *L, int first, int n, const char *what,
                   unsigned flags, TrBuffer *b, char *err, size_t errlen) {
  return encode(L, first, n, what, NULL, flags, b, err, errlen);
}

int tr_encode_named(lua_State *L, int first, int n, const char *const *names,
                    TrBuffer *b, char *err, size_t errlen) {
  return encode(L, first, n, NULL, names, 0, b, err, errlen);
}

int tr_encode_named_opts(lua_State *L, int first, int n, const char *const *names,
                         unsigned flags, TrBuffer *b, char *err, size_t errlen) {
  return encode(L, first, n, NULL, names, flags, b, err, errlen);
}

/*
** transfer_dec.c — the decoder: bytes -> Lua values (format in
** docs/transfer-format.md). The bytes are untrusted.
**
** Invariants:
**   - Every read goes through need(): the cursor never passes 'end', so
**     truncated or corrupted input is an error, never an over-read.
**   - Counts are checked against the bytes left before anything is
**     allocated for them (every element takes at least one byte), so a
**     short input cannot make the decoder allocate much.
**   - 'depth' never exceeds TR_MAXDEPTH: bounded C recursion.
**   - 'refs' holds every value that got a ref id, in order; a TR_REF or
**     TR_UPJOIN may only name an id already created.
**   - Everything runs inside lua_pcall (dec_main): errors unwind to
**     tr_decode_opts, which pops whatever was pushed and reports.
**   - Bytecode reaches lua_load only after tr_check_chunk accepted it.
**     The decoder never calls a decoded value (functions, metamethods).
*/
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "rtobject.h"
#include "transfer_int.h"

typedef struct Dec {
  lua_State *L;
  const unsigned char *start, *p, *end;
  int refs;              /* stack index: ref id -> value */
  lua_Integer nrefs;
  int depth;
  unsigned flags;
} Dec;

/* Raises "transfer: <message> (at byte N)". Does not return. */
static void derror(Dec *d, const char *fmt, const char *arg) {
  lua_State *L = d->L;
  char msg[160];
  snprintf(msg, sizeof msg, fmt, arg ? arg : "");
  lua_pushfstring(L, "transfer: %s (at byte %I)", msg,
                  (lua_Integer)(d->p - d->start));
  lua_error(L);
}

static void need(Dec *d, size_t n) {
  if ((size_t)(d->end - d->p) < n) derror(d, "truncated data", NULL);
}

static size_t left(Dec *d) { return (size_t)(d->end - d->p); }

static int getbyte(Dec *d) {
  need(d, 1);
  return *d->p++;
}

/* Unsigned LEB128, at most 10 bytes, no bits beyond 64. */
static uint64_t getvarint(Dec *d) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    int c = getbyte(d);
    if (shift == 63 && c > 1) derror(d, "varint overflows 64 bits", NULL);
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return v;
  }
}

static uint64_t getuint(Dec *d, int nbytes) {
  need(d, (size_t)nbytes);
  uint64_t v = 0;
  for (int i = 0; i < nbytes; i++) v |= (uint64_t)d->p[i] << (8 * i);
  d->p += nbytes;
  return v;
}

/* A length-prefixed byte string; *len gets its length. */
static const char *getlstr(Dec *d, size_t *len) {
  uint64_t n = getvarint(d);
  if (n > left(d)) derror(d, "truncated data", NULL);
  const char *s = (const char *)d->p;
  d->p += n;
  *len = (size_t)n;
  return s;
}

static void newref(Dec *d, int idx) {
  lua_pushvalue(d->L, idx);
  lua_rawseti(d->L, d->refs, ++d->nrefs);
}

static void enter(Dec *d) {
  if (++d->depth > TR_MAXDEPTH) {
    char lim[16];
    snprintf(lim, sizeof lim, "%d", TR_MAXDEPTH);
    derror(d, "values nested more than %s levels deep", lim);
  }
  if (!lua_checkstack(d->L, 10)) derror(d, "stack overflow", NULL);
}

static void dec_value(Dec *d);

/* Decodes one value that must not be nil (table keys and entries). */
static void dec_nonnil(Dec *d, const char *what) {
  dec_value(d);
  if (lua_isnil(d->L, -1)) derror(d, "nil %s in a table", what);
}

static void dec_table(Dec *d) {
  lua_State *L = d->L;
  enter(d);
  uint64_t narr = getuint(d, 4);
  uint64_t nhash = getuint(d, 4);
  if (narr > left(d) || nhash > left(d) / 2 || narr > INT_MAX || nhash > INT_MAX)
    derror(d, "table size exceeds the data", NULL);
  lua_createtable(L, (int)narr, (int)nhash);
  int t = lua_gettop(L);
  newref(d, t);
  for (uint64_t i = 1; i <= narr; i++) {
    dec_nonnil(d, "value");
    lua_rawseti(L, t, (lua_Integer)i);
  }
  for (uint64_t i = 0; i < nhash; i++) {
    dec_nonnil(d, "key");
    if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1) &&
        lua_tonumber(L, -1) != lua_tonumber(L, -1))
      derror(d, "NaN key in a table", NULL);
    dec_nonnil(d, "value");
    lua_rawset(L, t);
  }
  dec_value(d);                                  /* metatable */
  if (lua_istable(L, -1)) lua_setmetatable(L, t);
  else if (lua_isnil(L, -1)) lua_pop(L, 1);
  else derror(d, "metatable is not a table", NULL);
  d->depth--;
}

typedef struct ChunkReader {
  const unsigned char *p;
  size_t len;
} ChunkReader;

static const char *chunk_reader(lua_State *L, void *ud, size_t *size) {
  ChunkReader *r = (ChunkReader *)ud;
  (void)L;
  *size = r->len;
  r->len = 0;
  return *size ? (const char *)r->p : NULL;
}

/* The function at 'ref' as a Lua function with upvalue k, pushed. */
static void push_upvalue_owner(Dec *d, uint64_t ref, uint64_t k) {
  lua_State *L = d->L;
  if (ref < 1 || ref > (uint64_t)d->nrefs) derror(d, "bad upvalue link", NULL);
  lua_rawgeti(L, d->refs, (lua_Integer)ref);
  if (!lua_isfunction(L, -1) || lua_iscfunction(L, -1) || k < 1 ||
      k > TR_MAXUPVAL || lua_getupvalue(L, -1, (int)k) == NULL)
    derror(d, "bad upvalue link", NULL);
  lua_pop(L, 1);
}

static void dec_function(Dec *d) {
  lua_State *L = d->L;
  if (d->flags & TR_DEC_NOFUNC)
    derror(d, "Lua functions are not accepted from this source", NULL);
  enter(d);
  uint64_t nup = getvarint(d);
  if (nup > TR_MAXUPVAL) derror(d, "too many upvalues", NULL);
  uint64_t len = getuint(d, 4);
  if (len > left(d)) derror(d, "truncated data", NULL);
  const char *why = tr_check_chunk(d->p, (size_t)len, (int)nup);
  if (why != NULL) derror(d, "bad function bytecode: %s", why);
  ChunkReader r = {d->p, (size_t)len};
  if (lua_load(L, chunk_reader, &r, "=(transfer)", "b") != LUA_OK)
    derror(d, "bad function bytecode: %s", lua_tostring(L, -1));
  d->p += len;
  int f = lua_gettop(L);
  newref(d, f);
  for (int i = 1; i <= (int)nup; i++) {
    if (d->p < d->end && *d->p == TR_UPJOIN) {
      d->p++;
      uint64_t ref = getvarint(d);
      uint64_t k = getvarint(d);
      push_upvalue_owner(d, ref, k);
      lua_upvaluejoin(L, f, i, lua_gettop(L), (int)k);
      lua_pop(L, 1);
    } else {
      dec_value(d);
      lua_setupvalue(L, f, i);
    }
  }
  d->depth--;
}

/* TR_NAMED / TR_MODULE: only standard and runtime modules, which this
** interpreter has or can load from package.preload (never from files). */
static void dec_named(Dec *d, int tag) {
  lua_State *L = d->L;
  if (d->flags & TR_DEC_NONAMED)
    derror(d, "values sent by name (modules and their functions) are not accepted from this source", NULL);
  size_t mlen, flen = 0;
  const char *m = getlstr(d, &mlen);
  const char *f = tag == TR_NAMED ? getlstr(d, &flen) : NULL;
  const char *mod = lua_pushlstring(L, m, mlen);
  if (!tr_module_allowed(L, mod, mlen) &&
      ((d->flags & TR_DEC_NOFUNC) || !tr_module_findable(L, mod, mlen)))
    derror(d, "'%s' is not a standard library or runtime module, nor one require finds here", mod);
  tr_push_named(L, mod, mlen, f, flen, 1);
  if (lua_isnil(L, -1)) {
    if (f != NULL) {
      const char *field = lua_pushlstring(L, f, flen);
      lua_pushfstring(L, "%s.%s", mod, field);
    } else
      lua_pushvalue(L, -2);
    derror(d, "'%s' does not exist in this interpreter", lua_tostring(L, -1));
  }
  lua_remove(L, -2);
}

static void dec_rtobj(Dec *d) {
  lua_State *L = d->L;
  uint64_t addr = getuint(d, 8);
  uint64_t check = getuint(d, 8);
  size_t len;
  const char *s = getlstr(d, &len);
  const char *name = lua_pushlstring(L, s, len);
  if (check != tr_objcheck(addr))
    derror(d, "runtime object %s was not encoded by this process (or the data is corrupted)", name);
  const RtType *t = rt_find_type(name);
  RtObject *o = (RtObject *)(uintptr_t)addr;
  if (t == NULL || o->type != t) derror(d, "runtime object type mismatch (%s)", name);
  lua_pop(L, 1);
  luaL_checkstack(L, 8, NULL);       /* rt_push may load the type's module */
  rt_push(L, o);
  newref(d, lua_gettop(L));
}

static void dec_value(Dec *d) {
  lua_State *L = d->L;
  int tag = getbyte(d);
  switch (tag) {
    case TR_NIL: lua_pushnil(L); break;
    case TR_FALSE: lua_pushboolean(L, 0); break;
    case TR_TRUE: lua_pushboolean(L, 1); break;
    case TR_INT: {
      uint64_t u = getvarint(d);
      lua_pushinteger(L, (lua_Integer)((u >> 1) ^ (0 - (u & 1))));
      break;
    }
    case TR_FLOAT: {
      uint64_t u = getuint(d, 8);
      double x;
      memcpy(&x, &u, sizeof x);
      lua_pushnumber(L, (lua_Number)x);
      break;
    }
    case TR_STR: case TR_LSTR: {
      size_t len;
      const char *s = getlstr(d, &len);
      lua_pushlstring(L, s, len);
      if (tag == TR_LSTR) newref(d, lua_gettop(L));
      break;
    }
    case TR_TABLE: dec_table(d); break;
    case TR_REF: {
      uint64_t id = getvarint(d);
      if (id < 1 || id > (uint64_t)d->nrefs) derror(d, "reference to an unknown value", NULL);
      lua_rawgeti(L, d->refs, (lua_Integer)id);
      break;
    }
    case TR_LFUNC: dec_function(d); break;
    case TR_NAMED: case TR_MODULE: dec_named(d, tag); break;
    case TR_RTOBJ: dec_rtobj(d); break;
    case TR_UPJOIN: d->p--; derror(d, "upvalue link outside a function", NULL); break;
    default: {
      char t[8];
      d->p--;
      snprintf(t, sizeof t, "%d", tag);
      derror(d, "unknown tag %s", t);
    }
  }
}

/* lua_pcall'ed with the Dec as its argument; returns the values. */
static int dec_main(lua_State *L) {
  Dec *d = (Dec *)lua_touserdata(L, 1);
  if (left(d) < 4 || memcmp(d->p, TR_MAGIC, 4) != 0)
    derror(d, "not a transfer encoding (bad magic)", NULL);
  d->p += 4;
  int version = getbyte(d);
  if (version != TR_VERSION) {
    char v[8];
    d->p--;
    snprintf(v, sizeof v, "%d", version);
    derror(d, "unsupported format version %s (this build reads version 1)", v);
  }
  uint64_t n = getvarint(d);
  if (n > left(d)) derror(d, "value count exceeds the data", NULL);
  if (n > 1000000 || !lua_checkstack(L, (int)n + 10))
    derror(d, "too many values", NULL);
  lua_newtable(L);
  d->refs = lua_gettop(L);
  for (uint64_t i = 0; i < n; i++) dec_value(d);
  if (d->p != d->end) derror(d, "unexpected bytes after the last value", NULL);
  return (int)n;
}

int tr_decode_opts(lua_State *L, const void *data, size_t len,
                   unsigned flags, char *err, size_t errlen) {
  Dec d;
  memset(&d, 0, sizeof d);
  d.L = L;
  d.start = d.p = (const unsigned char *)data;
  d.end = d.p + len;
  d.flags = flags;
  if (data == NULL) d.start = d.p = d.end = (const unsigned char *)"";
  if (!lua_checkstack(L, 4)) {
    snprintf(err, errlen, "transfer: stack overflow");
    return -1;
  }
  int base = lua_gettop(L);
  lua_pushcfunction(L, dec_main);
  lua_pushlightuserdata(L, &d);
  if (lua_pcall(L, 1, LUA_MULTRET, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    snprintf(err, errlen, "%s", msg ? msg : "transfer: decoding failed");
    lua_settop(L, base);
    return -1;
  }
  return lua_gettop(L) - base;
}

int tr_decode(lua_State *L, const void *data, size_t len, char *err,
              size_t errlen) {
  return tr_decode_opts(L, data, len, 0, err, errlen);
}

/*
** transfer_chunk.c — structural check of a Lua 5.4 binary chunk (the
** output of lua_dump) before the decoder hands it to lua_load.
**
** Why: Lua's undump trusts its input in a few places that matter even
** when the loaded function is never called. It allocates each vector at
** the size the chunk announces before reading it (a short chunk can ask
** for gigabytes); it recurses once per nested prototype without a limit;
** it writes upvalue names for as many entries as the debug section says,
** past the upvalue vector when that count is larger; and it only
** asserts that the closure's upvalue count equals its prototype's, which
** lua_getupvalue/lua_setupvalue then rely on. This walk rejects all of
** that: every count must fit in the bytes that remain, nesting is
** bounded, the debug vectors agree with the code and upvalue vectors, the
** closure has exactly 'nup' upvalues, and the chunk ends exactly at its
** last byte. It mirrors lundump.c's reading rules (MSB-first 7-bit
** varints, with the same overflow limits).
**
** What it does not do: verify the instructions (register and constant
** indices, jumps). Lua has no bytecode verifier; a chunk crafted to pass
** this walk can still crash the interpreter when it is *called*. See the
** "Trust" section of docs/transfer-format.md.
*/
#include <limits.h>
#include <string.h>

#include <lua.h>

#include "transfer_int.h"

/* Constant tags of the 5.4 dump format (lobject.h's variant tags). */
#define K_NIL    0x00
#define K_FALSE  0x01
#define K_TRUE   0x11
#define K_INT    0x03
#define K_FLT    0x13
#define K_SHRSTR 0x04
#define K_LNGSTR 0x14

#define HEADER_LEN (4 + 1 + 1 + 6 + 3 + sizeof(lua_Integer) + sizeof(lua_Number))

typedef struct Chk {
  const unsigned char *p, *end;
  const char *err;
} Chk;

/* Every reader returns 0 on success, -1 with c->err set on failure. */
static int fail(Chk *c, const char *why) {
  if (c->err == NULL) c->err = why;
  return -1;
}

static size_t rest(const Chk *c) { return (size_t)(c->end - c->p); }

static int skip(Chk *c, size_t n) {
  if (rest(c) < n) return fail(c, "truncated chunk");
  c->p += n;
  return 0;
}

static int rdbyte(Chk *c, int *b) {
  if (c->p >= c->end) return fail(c, "truncated chunk");
  *b = *c->p++;
  return 0;
}

/* lundump.c's loadUnsigned: 7 bits a byte, last byte has bit 7 set. */
static int rdunsigned(Chk *c, size_t limit, size_t *out) {
  size_t x = 0;
  int b;
  limit >>= 7;
  do {
    if (rdbyte(c, &b) < 0) return -1;
    if (x >= limit) return fail(c, "integer overflow in chunk");
    x = (x << 7) | (size_t)(b & 0x7f);
  } while ((b & 0x80) == 0);
  *out = x;
  return 0;
}

static int rdint(Chk *c, size_t *out) { return rdunsigned(c, INT_MAX, out); }

/* A count of elements of at least 'min' bytes each. */
static int rdcount(Chk *c, size_t min, size_t *out) {
  if (rdint(c, out) < 0) return -1;
  if (*out > rest(c) / min) return fail(c, "count exceeds chunk size");
  return 0;
}

static int rdstring(Chk *c, int nullable) {
  size_t size;
  if (rdunsigned(c, ~(size_t)0, &size) < 0) return -1;
  if (size == 0) return nullable ? 0 : fail(c, "missing constant string");
  return skip(c, size - 1);
}

static int rdconstants(Chk *c) {
  size_t n;
  if (rdcount(c, 1, &n) < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    int t;
    if (rdbyte(c, &t) < 0) return -1;
    switch (t) {
      case K_NIL: case K_FALSE: case K_TRUE: break;
      case K_INT: if (skip(c, sizeof(lua_Integer)) < 0) return -1; break;
      case K_FLT: if (skip(c, sizeof(lua_Number)) < 0) return -1; break;
      case K_SHRSTR: case K_LNGSTR: if (rdstring(c, 0) < 0) return -1; break;
      default: return fail(c, "bad constant type");
    }
  }
  return 0;
}

static int rdfunction(Chk *c, int depth, size_t *nupvals) {
  size_t ncode, nup, n, x;
  if (depth > TR_MAXDEPTH) return fail(c, "prototypes nested too deeply");
  if (rdstring(c, 1) < 0) return -1;                       /* source */
  if (rdint(c, &x) < 0 || rdint(c, &x) < 0) return -1;     /* line info */
  if (skip(c, 3) < 0) return -1;          /* numparams, is_vararg, maxstack */
  if (rdcount(c, 4, &ncode) < 0 || skip(c, ncode * 4) < 0) return -1;
  if (ncode == 0) return fail(c, "function without code");
  if (rdconstants(c) < 0) return -1;
  if (rdcount(c, 3, &nup) < 0 || skip(c, nup * 3) < 0) return -1;
  if (nup > TR_MAXUPVAL) return fail(c, "too many upvalues");
  *nupvals = nup;
  if (rdcount(c, 1, &n) < 0) return -1;                    /* prototypes */
  for (size_t i = 0; i < n; i++) {
    size_t sub;
    if (rdfunction(c, depth + 1, &sub) < 0) return -1;
  }
  /* debug information */
  if (rdcount(c, 1, &n) < 0 || skip(c, n) < 0) return -1;  /* lineinfo */
  if (n != 0 && n != ncode) return fail(c, "line info does not match code");
  if (rdcount(c, 2, &n) < 0) return -1;                    /* abslineinfo */
  for (size_t i = 0; i < n; i++)
    if (rdint(c, &x) < 0 || rdint(c, &x) < 0) return -1;
  if (rdcount(c, 3, &n) < 0) return -1;                    /* locvars */
  for (size_t i = 0; i < n; i++)
    if (rdstring(c, 1) < 0 || rdint(c, &x) < 0 || rdint(c, &x) < 0) return -1;
  if (rdcount(c, 1, &n) < 0) return -1;                    /* upvalue names */
  if (n != 0 && n != nup) return fail(c, "upvalue names do not match upvalues");
  for (size_t i = 0; i < n; i++)
    if (rdstring(c, 1) < 0) return -1;
  return 0;
}

/* The header lua_dump writes in this build (lundump.h's checkHeader). */
static void build_header(unsigned char *h) {
  static const unsigned char data[6] = {0x19, 0x93, '\r', '\n', 0x1a, '\n'};
  lua_Integer i = 0x5678;
  lua_Number x = 370.5;
  size_t n = 0;
  memcpy(h, LUA_SIGNATURE, 4); n += 4;
  h[n++] = (unsigned char)((LUA_VERSION_NUM / 100) * 16 + LUA_VERSION_NUM % 100);
  h[n++] = 0;                                    /* LUAC_FORMAT */
  memcpy(h + n, data, 6); n += 6;
  h[n++] = 4;                                    /* sizeof(Instruction) */
  h[n++] = (unsigned char)sizeof(lua_Integer);
  h[n++] = (unsigned char)sizeof(lua_Number);
  memcpy(h + n, &i, sizeof i); n += sizeof i;
  memcpy(h + n, &x, sizeof x);
}

const char *tr_check_chunk(const unsigned char *p, size_t len, int nup) {
  unsigned char header[HEADER_LEN];
  Chk c = {p, p + len, NULL};
  size_t protonup;
  build_header(header);
  if (len < HEADER_LEN + 1 || memcmp(p, header, HEADER_LEN) != 0)
    return "not a Lua " LUA_VERSION_MAJOR "." LUA_VERSION_MINOR
           " chunk of this build";
  c.p += HEADER_LEN;
  if (*c.p++ != nup) return "closure upvalue count mismatch";
  if (rdfunction(&c, 1, &protonup) < 0) return c.err;
  if (protonup != (size_t)nup) return "closure upvalue count mismatch";
  if (c.p != c.end) return "unexpected bytes after the chunk";
  return NULL;
}

/*
** fuzz_transfer.c — libFuzzer target for the transfer decoder (`make fuzz`).
**
** Each input is decoded into a fresh interpreter (luaL_newstate with the
** standard libraries). Decoding must either fail with a message or push
** values; anything else (crash, over-read, leak, UB, hang) is a finding.
** Values that decode are encoded again and that encoding decoded again,
** which drives the encoder over odd graphs too (it may refuse: a shared
** table can sit deeper in another traversal order than the depth limit).
**
** Function chunks are decoded (after tr_check_chunk) and loaded, never
** called: the decoder's guarantee is about framing and the chunk's
** structure, not about what arbitrary bytecode does when run (see
** docs/transfer-format.md, "Trust"). Set GILLUA_FUZZ_NOFUNC=1 to decode
** with TR_DEC_NOFUNC instead, as a decoder facing foreign bytes would.
**
** A stand-in module "fuzzmod" sits in package.preload (as the runtime
** modules do in gillua) so names that load a module on arrival are
** reachable. Runtime-object tags cannot be forged (their check word is keyed per
** process), so the fuzzer exercises their refusal path only.
*/
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "transfer.h"

static unsigned flags;

/* A stand-in runtime module in package.preload, so that names of a module
** the receiver has not loaded yet (loaded on arrival) are reachable. */
static int fuzzmod_f(lua_State *L) {
  lua_pushinteger(L, 1);
  return 1;
}

static int luaopen_fuzzmod(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, fuzzmod_f);
  lua_setfield(L, -2, "f");
  lua_newtable(L);
  lua_setfield(L, -2, "t");
  return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  const char *e = getenv("GILLUA_FUZZ_NOFUNC");
  if (e && *e == '1') flags = TR_DEC_NOFUNC;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[TR_ERRMAX];
  lua_State *L = luaL_newstate();
  if (L == NULL) return 0;
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_fuzzmod);
  lua_setfield(L, -2, "fuzzmod");
  lua_pop(L, 1);
  int n = tr_decode_opts(L, data, size, flags, err, sizeof err);
  if (n < 0) {
    if (lua_gettop(L) != 0) abort();              /* nothing pushed on failure */
  } else {
    if (lua_gettop(L) != n) abort();
    TrBuffer b;
    tr_buffer_init(&b);
    if (tr_encode(L, 1, n, "v", &b, err, sizeof err) == 0) {
      int m = tr_decode_opts(L, b.data, b.len, flags, err, sizeof err);
      if (m != n) {
        fprintf(stderr, "re-encoded values do not decode: %s\n", m < 0 ? err : "count");
        abort();
      }
    }
    tr_buffer_free(&b);
  }
  lua_close(L);
  return 0;
}

/*
** fuzz_mgr_net.c — libFuzzer target for what a manager's server reads
** from the network (`make fuzz`, after fuzz_transfer): the first byte
** picks
**   0  the server's handshake state machine (mp_auth.c), fed the rest in
**      pieces whose sizes the second byte sets;
**   1  the client's answer to a challenge and the check of a response;
**   2  a stream of frames (mgr_net_frame.c), each body decoded as a
**      request is, with functions and named values refused
**      (TR_DEC_NOFUNC | TR_DEC_NONAMED).
** Invariants checked: the state machine never consumes more than it is
** given, never leaves a state it cannot leave, never accepts a response
** it did not get right (a fuzzer cannot forge HMAC-SHA256); frames never
** claim more than the bytes or the limit; decoding fails cleanly or
** pushes what it says.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "mgr_net.h"

static const char key[] = "fuzz key";

static void fuzz_handshake(const uint8_t *p, size_t n) {
  if (n < 1) return;
  size_t step = (size_t)p[0] % 64 + 1;
  p++, n--;
  AuthServer h;
  mp_auth_server_begin(&h, key, sizeof key - 1);
  size_t off = 0;
  while (off < n && h.state != HS_DONE && h.state != HS_FAILED) {
    size_t k = n - off < step ? n - off : step;
    size_t u = mp_auth_server_feed(&h, p + off, k);
    if (u > k || h.outlen > sizeof h.out || h.inlen > sizeof h.in) abort();
    off += u;
    if (u < k && h.state != HS_DONE && h.state != HS_FAILED) abort();
  }
  if (h.state == HS_DONE || h.state == HS_WAIT_CHALLENGE || h.state == HS_WAIT_VERDICT) abort();
}

static void fuzz_client(const uint8_t *p, size_t n) {
  unsigned char out[64], nonce[MGR_NONCE] = {0};
  size_t olen = 0;
  if (mp_auth_answer(key, sizeof key - 1, p, n, out, &olen) == 0 && olen > sizeof out) abort();
  if (mp_auth_check(key, sizeof key - 1, nonce, p, n)) abort();
}

static void fuzz_frames(const uint8_t *p, size_t n) {
  lua_State *L = luaL_newstate();
  if (L == NULL) return;
  luaL_openlibs(L);
  char err[TR_ERRMAX];
  while (n > 0) {
    const unsigned char *body;
    size_t blen, used;
    int r = mgr_frame_parse(p, n, 1 << 16, &body, &blen, &used);
    if (r != FRAME_OK) break;
    if (used > n || blen + 4 != used) abort();
    int k = tr_decode_opts(L, body, blen, TR_DEC_NOFUNC | TR_DEC_NONAMED, err, sizeof err);
    if (k >= 0 && lua_gettop(L) != k) abort();
    if (k < 0 && lua_gettop(L) != 0) abort();
    lua_settop(L, 0);
    p += used, n -= used;
  }
  lua_close(L);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  switch (data[0] % 3) {
    case 0: fuzz_handshake(data + 1, size - 1); break;
    case 1: fuzz_client(data + 1, size - 1); break;
    default: fuzz_frames(data + 1, size - 1); break;
  }
  return 0;
}

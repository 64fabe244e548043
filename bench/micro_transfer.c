/*
** micro_transfer.c — throughput of the value transfer (encode + decode
** into a second interpreter, as a GIL-off queue does), for:
**   a 1 MB string, a 100k-entry table {i -> i}, a 100k-entry table of
**   small strings {i -> "item<i>"}.
** MB/s counts the encoded bytes; the Lua value sizes differ.
**
** Build and run (from the repository root, no Makefile needed):
**   cc -std=c11 -O2 -D_GNU_SOURCE -Iruntime -Ivm $(pkg-config --cflags lua5.4) \
**      -o /tmp/micro_transfer bench/micro_transfer.c runtime/transfer*.c \
**      runtime/rtobject.c $(pkg-config --libs lua5.4) -lm -pthread
**   /tmp/micro_transfer
*/
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "transfer.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 'remake' (or NULL) runs in the source before each iteration, outside
** the timed part, replacing the value with a fresh one. */
static void bench(const char *name, const char *make, const char *remake,
                  double min_seconds) {
  lua_State *src = luaL_newstate(), *dst = luaL_newstate();
  luaL_openlibs(src);
  luaL_openlibs(dst);
  if (luaL_dostring(src, make) != LUA_OK) {
    fprintf(stderr, "%s\n", lua_tostring(src, -1));
    exit(1);
  }
  char err[TR_ERRMAX];
  double tenc = 0, tdec = 0;
  size_t bytes = 0;
  int iters = 0;
  while (tenc + tdec < min_seconds || iters < 3) {
    TrBuffer b;
    tr_buffer_init(&b);
    if (remake) {
      lua_settop(src, 0);
      if (luaL_dostring(src, remake) != LUA_OK) exit(1);
    }
    double t0 = now();
    if (tr_encode(src, 1, 1, "v", &b, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      exit(1);
    }
    double t1 = now();
    if (tr_decode(dst, b.data, b.len, err, sizeof err) != 1) {
      fprintf(stderr, "%s\n", err);
      exit(1);
    }
    double t2 = now();
    lua_settop(dst, 0);
    bytes = b.len;
    tr_buffer_free(&b);
    tenc += t1 - t0;
    tdec += t2 - t1;
    iters++;
  }
  double mb = (double)bytes / 1e6;
  printf("%-28s %8.0f bytes  encode %7.2f ms  decode %7.2f ms  round trip %7.2f ms  %8.1f MB/s\n",
         name, (double)bytes, 1e3 * tenc / iters, 1e3 * tdec / iters,
         1e3 * (tenc + tdec) / iters, mb * iters / (tenc + tdec));
  lua_close(src);
  lua_close(dst);
}

/* Many tiny messages: the fixed cost per encode + decode call. */
static void small(const char *name, const char *make) {
  lua_State *src = luaL_newstate(), *dst = luaL_newstate();
  luaL_openlibs(src);
  luaL_openlibs(dst);
  if (luaL_dostring(src, make) != LUA_OK) exit(1);
  char err[TR_ERRMAX];
  int iters = 200000;
  double t0 = now();
  for (int i = 0; i < iters; i++) {
    TrBuffer b;
    tr_buffer_init(&b);
    if (tr_encode(src, 1, 1, "v", &b, err, sizeof err) != 0 ||
        tr_decode(dst, b.data, b.len, err, sizeof err) != 1)
      exit(1);
    lua_settop(dst, 0);
    tr_buffer_free(&b);
  }
  double t = now() - t0;
  printf("%-36s %6.2f us per message (encode + decode), %.0f messages/s\n",
         name, 1e6 * t / iters, iters / t);
  lua_close(src);
  lua_close(dst);
}

int main(void) {
  bench("1 MB string", "return string.rep('x', 1 << 20)", NULL, 1.0);
  bench("1 MB string, a new one each", "N = 0 return ''",
        "N = N + 1 return string.rep('x', 1 << 20) .. N", 1.0);
  bench("100k table {i -> i}",
        "local t = {} for i = 1, 100000 do t[i] = i end return t", NULL, 1.0);
  bench("100k table of small strings",
        "local t = {} for i = 1, 100000 do t[i] = 'item' .. i end return t", NULL, 1.0);
  bench("100k hash {'k'..i -> i}",
        "local t = {} for i = 1, 100000 do t['k' .. i] = i end return t", NULL, 1.0);
  small("small message: 42", "return 42");
  small("small message: {1, 'msg', x = 2.5}", "return {1, 'msg', x = 2.5}");
  return 0;
}

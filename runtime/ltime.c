/*
** ltime.c — the `time` module, after Python's: sleep releases the GIL
** (even sleep(0), which is how a thread politely yields), the clocks are
** floats in seconds.
*/
#include <math.h>
#include <time.h>

#include <lauxlib.h>

#include "block.h"
#include "modules.h"

static int clock_seconds(lua_State *L, clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static int t_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, !isnan(s), 1, "sleep length must be a number, not NaN");
  luaL_argcheck(L, s >= 0, 1, "sleep length must be non-negative");
  gl_block_begin();
  int rc = gl_sleep(s);
  gl_block_end();
  if (rc == EINTR) return gl_raise_interrupt(L);
  return 0;
}

static int t_time(lua_State *L) { return clock_seconds(L, CLOCK_REALTIME); }
static int t_monotonic(lua_State *L) { return clock_seconds(L, CLOCK_MONOTONIC); }
static int t_perf_counter(lua_State *L) { return clock_seconds(L, CLOCK_MONOTONIC_RAW); }
static int t_process_time(lua_State *L) { return clock_seconds(L, CLOCK_PROCESS_CPUTIME_ID); }
static int t_thread_time(lua_State *L) { return clock_seconds(L, CLOCK_THREAD_CPUTIME_ID); }

int luaopen_time(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"sleep", t_sleep}, {"time", t_time}, {"monotonic", t_monotonic},
    {"perf_counter", t_perf_counter}, {"process_time", t_process_time},
    {"thread_time", t_thread_time}, {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  return 1;
}

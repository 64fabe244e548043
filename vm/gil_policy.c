/*
** gil_policy.c — the switch policies' spelling (--switch, GILLUA_SWITCH,
** gil.policy()) and what bytecodes:N means in time.
**
**   ticks:N      CPython 2: every N instructions the holder releases the
**                GIL and asks for it again at once, no hand-over.
**   bytecodes:N  gillua's FIFO hand-over: a turn of N instructions (at
**                least the minimum turn), then the head waiter gets it.
**   interval:MS  CPython 3.2+: a waiter asks the holder to drop after MS.
**   priority:MS[:PCT]  interval, but a thread back from a blocking call
**                is served first, at a cost to the others of at most PCT
**                percent of the GIL's time (default 5; gil_priority.c).
**
** What N means under bytecodes. Counting instructions needs Lua's count
** hook, and an armed count hook makes every instruction trap into
** luaG_traceexec (the loop then runs at about half speed, whatever the
** count). So bytecodes:N does not count the turn: it times it. A turn
** lasts N instructions at the interpreter's calibrated cost of one
** instruction (gil_ns_per_instruction: a private lua_State runs a mixed
** loop of arithmetic, table reads and calls, once, the first time a
** policy needs it), and never less than the minimum turn; only then is
** the hook armed, for the hand-over's landing window of at most
** LANDING_MAX instructions. So a large N costs nothing, and switches per
** second fall as 1/N once N instructions outlast the minimum turn.
** ticks:N is the opposite: its count is real and its cost is the point.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "block.h"
#include "gil.h"

static const char *const kind_names[] = { "bytecodes", "interval", "ticks", "priority" };

const char *gil_policy_name(GILPolicyKind k) {
  return kind_names[k];
}

int gil_policy_counts(GILPolicyKind k) {
  return k == GIL_BYTECODES || k == GIL_TICKS;
}

static int parse_count(const char *v, GILPolicy *out, char *err, size_t errlen) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || errno || n < 1 || n > 1000000000L) {
    snprintf(err, errlen, "N must be an integer from 1 to 1000000000");
    return -1;
  }
  out->n = n;
  return 0;
}

static int parse_ms(const char *v, GILPolicy *out, char *err, size_t errlen) {
  char *end;
  errno = 0;
  double ms = strtod(v, &end);
  if (*v == '\0' || *end != '\0' || errno || !(ms >= 0.001 && ms <= 1e6)) {
    snprintf(err, errlen, "MS must be a number of milliseconds from 0.001 to 1000000");
    return -1;
  }
  out->n = (long)(ms * 1000.0 + 0.5);
  return 0;
}

/* priority's optional ":PCT" after MS: 'v' is "MS" or "MS:PCT". */
static int parse_priority(const char *v, GILPolicy *out, char *err, size_t errlen) {
  const char *colon = strchr(v, ':');
  if (colon == NULL) return parse_ms(v, out, err, errlen);
  char ms[64];
  size_t len = (size_t)(colon - v);
  if (len >= sizeof ms) len = sizeof ms - 1;
  memcpy(ms, v, len);
  ms[len] = '\0';
  if (parse_ms(ms, out, err, errlen) != 0) return -1;
  char *end;
  errno = 0;
  long pct = strtol(colon + 1, &end, 10);
  if (colon[1] == '\0' || *end != '\0' || errno || pct < 1 || pct > 90) {
    snprintf(err, errlen, "PCT (the share urgent turns may cost the others) must be an integer from 1 to 90");
    return -1;
  }
  out->share = (int)pct;
  return 0;
}

int gil_parse_policy(const char *s, GILPolicy *out, char *err, size_t errlen) {
  const char *colon = strchr(s, ':');
  if (colon == NULL) {
    snprintf(err, errlen, "expected ticks:N, bytecodes:N, interval:MS or priority:MS[:PCT]");
    return -1;
  }
  size_t klen = (size_t)(colon - s);
  for (int k = 0; k < (int)(sizeof kind_names / sizeof kind_names[0]); k++) {
    if (strlen(kind_names[k]) != klen || strncmp(s, kind_names[k], klen) != 0) continue;
    GILPolicy p = { (GILPolicyKind)k, 0, 0 };
    int rc = gil_policy_counts(p.kind) ? parse_count(colon + 1, &p, err, errlen)
           : p.kind == GIL_PRIORITY    ? parse_priority(colon + 1, &p, err, errlen)
                                       : parse_ms(colon + 1, &p, err, errlen);
    if (rc == 0) *out = p;
    return rc;
  }
  snprintf(err, errlen, "unknown policy '%.*s' (expected ticks, bytecodes, interval or priority)",
           (int)klen, s);
  return -1;
}

void gil_format_policy(GILPolicy p, char *buf, size_t len) {
  if (gil_policy_counts(p.kind))
    snprintf(buf, len, "%s:%ld", gil_policy_name(p.kind), p.n);
  else if (p.kind == GIL_PRIORITY && p.share > 0)
    snprintf(buf, len, "%s:%g:%d", gil_policy_name(p.kind), (double)p.n / 1000.0, p.share);
  else
    snprintf(buf, len, "%s:%g", gil_policy_name(p.kind), (double)p.n / 1000.0);
}

/* ---- the cost of one instruction ---- */

#define CALIBRATION_CHUNK \
  "local t, s = {1, 2, 3}, 0\n" \
  "local function f(a) return a + 1 end\n" \
  "for i = 1, 100000 do\n" \
  "  s = f(s) + t[i % 3 + 1] * 0.5\n" \
  "  if s > 1e6 then s = 0 end\n" \
  "end\n" \
  "return s\n"

#define COUNT_STEP 1000
#define DEFAULT_NS_PER_INSTRUCTION 4.0   /* if calibration cannot run */

static unsigned long counted;   /* only the calibrating thread (pthread_once) */
static double ns_per_instruction = DEFAULT_NS_PER_INSTRUCTION;
static pthread_once_t calibrated = PTHREAD_ONCE_INIT;

static void count_hook(lua_State *L, lua_Debug *ar) {
  (void)L; (void)ar;
  counted += COUNT_STEP;
}

/* Runs the chunk once; returns its wall time in ns, or 0 on error. */
static uint64_t run_chunk(lua_State *L, int hooked) {
  if (luaL_loadstring(L, CALIBRATION_CHUNK) != LUA_OK) return 0;
  lua_sethook(L, hooked ? count_hook : NULL, hooked ? LUA_MASKCOUNT : 0, COUNT_STEP);
  uint64_t t0 = gl_now_ns();
  int rc = lua_pcall(L, 0, 0, 0);
  uint64_t dt = gl_now_ns() - t0;
  lua_sethook(L, NULL, 0, 0);
  if (rc != LUA_OK) { lua_pop(L, 1); return 0; }
  return dt;
}

/* A private universe, touched by no other thread: runs without the GIL. */
static void calibrate(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) return;
  counted = 0;
  if (run_chunk(L, 1) == 0 || counted == 0) { lua_close(L); return; }
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 3; i++) {   /* best of 3: least disturbed */
    uint64_t dt = run_chunk(L, 0);
    if (dt && dt < best) best = dt;
  }
  lua_close(L);
  if (best != UINT64_MAX) ns_per_instruction = (double)best / (double)counted;
}

double gil_ns_per_instruction(void) {
  pthread_once(&calibrated, calibrate);
  return ns_per_instruction;
}

uint64_t gil_turn_ns(GILPolicy p, uint64_t min_turn_ns) {
  if (p.kind != GIL_BYTECODES) return min_turn_ns;
  if ((double)p.n * 50.0 < (double)min_turn_ns)   /* even at 50 ns an instruction */
    return min_turn_ns;
  double ns = (double)p.n * gil_ns_per_instruction();
  if (ns > 6e10) ns = 6e10;   /* a minute: enough for any N */
  return ns > (double)min_turn_ns ? (uint64_t)ns : min_turn_ns;
}

/*
** block.c — clocks, deadlines and interruptible waits. See block.h.
*/
#include <math.h>
#include <poll.h>

#include <lauxlib.h>

#include <stdatomic.h>

#include "block.h"
#include "gil.h"
#include "hook.h"
#include "trace.h"


void gl_cond_init(pthread_cond_t *cv) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &a);
  pthread_condattr_destroy(&a);
}

int gl_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu,
                 const struct timespec *deadline) {
  if (gl_interrupted()) return EINTR;
  uint64_t now = gl_now_ns(), until = now + GL_SLICE_NS;
  int final = 0;
  if (deadline) {
    uint64_t d = gl_ts_ns(deadline);
    if (d <= now) return ETIMEDOUT;
    if (d <= until) { until = d; final = 1; }
  }
  struct timespec ts = gl_ns_ts(until);
  int rc = pthread_cond_timedwait(cv, mu, &ts);
  if (gl_interrupted()) return EINTR;
  if (rc == ETIMEDOUT && !final) return 0;   /* slice over: caller re-checks */
  return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}

int gl_sleep(double seconds) {
  uint64_t until = gl_now_ns() + (uint64_t)(seconds * 1e9);
  for (;;) {
    if (gl_interrupted()) return EINTR;
    uint64_t now = gl_now_ns();
    if (now >= until) return 0;
    uint64_t left = until - now;
    if (left > GL_SLICE_NS) left = GL_SLICE_NS;
    struct timespec ts = gl_ns_ts(left);
    nanosleep(&ts, NULL);   /* EINTR (a GIL signal) just loops */
  }
}

int gl_file_buffered(FILE *f) {
#ifdef __GLIBC__
  return f->_IO_read_ptr < f->_IO_read_end;   /* glibc's FILE fields are public */
#else
  (void)f;
  return 0;
#endif
}

int gl_wait_fd(int fd, short events) {
  struct pollfd pf = { .fd = fd, .events = events };
  for (;;) {
    if (gl_interrupted()) return EINTR;
    int r = poll(&pf, 1, GL_SLICE_MS);
    if (r > 0 || (r < 0 && errno != EINTR)) return 0;   /* EINTR: a GIL signal */
  }
}

static atomic_ulong block_epoch;

unsigned long gl_block_epoch(void) { return atomic_load(&block_epoch); }

void gl_block_begin(void) {
  GLThread *t = gl_self;
  if (t == NULL) return;
  uint64_t now = gl_now_ns();
  t->blocked_since = now;
  GL_TRACE(t, TR_BLOCK_BEGIN, now);
  gil_release(t);
  if (gil_enabled())                   /* GIL off: no one watches; no shared cache line */
    atomic_fetch_add(&block_epoch, 1); /* after: a watcher that sees it finds the GIL let go */
}

void gl_block_end(void) {
  GLThread *t = gl_self;
  if (t == NULL) return;
  uint64_t now = gl_now_ns();
  GL_TRACE(t, TR_BLOCK_END, now);
  gil_note_blocked(t, now - t->blocked_since);
  gil_reacquire(t);
}

/* The thread that runs the way out (os.exit in a thread other than the
** main one) takes interrupts too: its joins must answer Ctrl-C. */
static _Thread_local int takes_interrupts;

void gl_take_interrupts(void) { takes_interrupts = 1; }

int gl_interrupted(void) {
  GLThread *t = gl_self;
  return t != NULL && (t->is_main || takes_interrupts) && gl_interrupt_pending();
}

int gl_raise_interrupt(lua_State *L) {
  gl_interrupt_consume();
  return luaL_error(L, "interrupted");
}

/*
** The one timeout parser (docs/threading.md, "Timeouts"). NaN counts as
** negative. A negative timeout is 0 (try once) where Python's function
** treats it so, an error where Python raises, and -1 is "forever" for
** Lock.acquire, Python's default there.
*/
struct timespec *gl_opt_timeout(lua_State *L, int idx, struct timespec *ts,
                                GLTimeoutRule rule) {
  if (lua_isnoneornil(L, idx)) return NULL;
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_argerror(L, idx, "timeout must be a number or nil");
  double s = (double)lua_tonumber(L, idx);
  if (s >= 0) return gl_deadline(ts, s);
  if (rule == GL_TIMEOUT_LOCK && s == -1) return NULL;
  if (rule == GL_TIMEOUT_ZERO) return gl_deadline(ts, 0);
  luaL_argerror(L, idx, "timeout value must be a non-negative number");
  return NULL;
}

/*
** interpose.c — blocking libc calls made by C modules let go of the GIL.
**
** A C module loaded by require (LuaSocket, say) calls accept, recv,
** poll, select, nanosleep... itself; done with the GIL held, one thread
** waiting for the network would stop every other thread. CPython leaves
** this to each extension (Py_BEGIN_ALLOW_THREADS); gillua does it for
** the module, without changing it:
**
**   gillua's executable defines those functions (interpose_calls.c) and
**   exports them (the linker's dynamic list vm/interpose.list), so a
**   module's references bind to them rather than to libc's. Each one
**   calls the real function, found with dlsym(RTLD_NEXT), and releases
**   the GIL for the wait when the call would block.
**
** Rules (each function in interpose_calls.c keeps them):
**  1. Only calls from outside gillua's executable are candidates. Every
**     call gillua makes itself (its own waits, its pipes, its poll with
**     the GIL already released) comes from the executable's text and
**     goes straight to the real function: gillua's blocking paths keep
**     their own handling, and no call made while gillua holds one of its
**     internal locks is ever touched (gillua never calls into Lua with
**     such a lock held, block.h, so no module code runs under one).
**  2. Only a gillua thread that holds the GIL releases it (with the GIL
**     off: only the main thread is handled, to see Ctrl-C; there is
**     nothing to release). Threads a module starts itself have no
**     gillua record and are left alone.
**  3. The GIL is released only when the call would block: a call on a
**     descriptor in non-blocking mode, with MSG_DONTWAIT, WNOHANG or a
**     zero timeout, or one whose descriptor is ready (poll with no
**     timeout) runs as is, with the GIL, at the cost of one fcntl/poll.
**     So a module that polls costs no GIL hand-over per call.
**  4. A module calls these functions from a C function Lua called, never
**     from inside a Lua API call except through callbacks that Lua
**     itself runs unlocked (lua_load's reader, lua_dump's writer: with
**     lua_lock, Lua's own GIL, these run with the lock released), so the
**     universe is in a consistent state whenever the GIL is let go.
**  5. Waits happen in slices of at most 50 ms; the main thread checks for
**     Ctrl-C between slices and raises "interrupted" in the module's
**     Lua state (as luaL_error would), after taking the GIL back. A
**     module's C frames are unwound as by any Lua error.
**  6. errno is the real call's.
**
** What a module may not assume any more: while one thread waits in the
** module, another may run the module's functions. C statics the module
** uses across a blocking call may be touched by two threads; a module
** that holds its own mutex across a blocking call, and takes it while
** holding the GIL, deadlocks. A wait is not cut short by a signal the
** module set up itself (EINTR is retried; only Ctrl-C ends it). Such a
** module keeps the GIL in its calls with gil.module_io_for(name, "hold");
** the whole mechanism is turned off by --module-io=hold,
** GILLUA_MODULE_IO=hold, or gil.module_io("hold").
**
** Shared state: 'release' is atomic (any thread reads it on every call);
** the per-module rules are under rules.mu, a leaf lock held only while a
** list is read or changed (never across a call); 'rules.count' is read
** atomically first so that, with no rules, no lock is taken.
*/
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lua.h>

#include "block.h"
#include "clock.h"
#include "gil.h"
#include "interpose.h"

#define MAX_RULES 64

extern char __executable_start[], etext[];   /* gillua's own text (the linker's) */

static atomic_int release = 1;

static struct {
  pthread_mutex_t mu;
  atomic_int count;
  char *path[MAX_RULES];     /* real paths of objects whose calls hold the GIL */
} rules = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Fork duties: rules.mu is held across fork(); the child releases it. */
void ip_fork_prepare(void) { pthread_mutex_lock(&rules.mu); }
void ip_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&rules.mu); }
void ip_fork_child(void) { pthread_mutex_unlock(&rules.mu); }   /* taken in prepare, by this thread */

void ip_set_release(int on) { atomic_store(&release, on != 0); }
int ip_release(void) { return atomic_load(&release); }

int ip_parse_mode(const char *s, int *on) {
  if (strcmp(s, "release") == 0) *on = 1;
  else if (strcmp(s, "hold") == 0) *on = 0;
  else return -1;
  return 0;
}

/* Index of 'real' among the rules, or -1 (rules.mu held). */
static int find_rule(const char *real) {
  int n = atomic_load(&rules.count);
  for (int i = 0; i < n; i++)
    if (strcmp(rules.path[i], real) == 0) return i;
  return -1;
}

int ip_module_rule(const char *path, int hold, int *was) {
  char real[PATH_MAX];
  if (realpath(path, real) == NULL) return -1;
  int rc = 0;
  pthread_mutex_lock(&rules.mu);
  int i = find_rule(real), n = atomic_load(&rules.count);
  *was = (i >= 0);
  if (hold && i < 0) {
    char *copy = (n < MAX_RULES) ? strdup(real) : NULL;
    if (copy == NULL) rc = -1;
    else { rules.path[n] = copy; atomic_store(&rules.count, n + 1); }
  } else if (!hold && i >= 0) {
    free(rules.path[i]);
    rules.path[i] = rules.path[n - 1];
    atomic_store(&rules.count, n - 1);
  }
  pthread_mutex_unlock(&rules.mu);
  return rc;
}

int ip_module_holds(const char *path) {
  char real[PATH_MAX];
  if (realpath(path, real) == NULL) return -1;
  pthread_mutex_lock(&rules.mu);
  int i = find_rule(real);
  pthread_mutex_unlock(&rules.mu);
  return i >= 0;
}

/* True when the object holding code address 'caller' has a hold rule.
** dladdr names the file as it was opened; compared by real path. */
static int caller_holds(void *caller) {
  Dl_info info;
  char real[PATH_MAX];
  if (dladdr(caller, &info) == 0 || info.dli_fname == NULL) return 0;
  if (realpath(info.dli_fname, real) == NULL) return 0;
  pthread_mutex_lock(&rules.mu);
  int i = find_rule(real);
  pthread_mutex_unlock(&rules.mu);
  return i >= 0;
}

GLThread *ip_thread(void *caller) {
  GLThread *t = gl_self;
  if (t == NULL || !atomic_load_explicit(&release, memory_order_relaxed)) return NULL;
  if ((char *)caller >= __executable_start && (char *)caller < etext) return NULL;
  if (atomic_load(&rules.count) > 0 && caller_holds(caller)) return NULL;
  if (!gil_enabled()) return t->is_main ? t : NULL;
  return t;   /* whether it holds the GIL is asked (under gil.mu) only before releasing */
}

void *ip_real(const char *name, void **slot) {
  void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (f == NULL) {
    f = dlsym(RTLD_NEXT, name);
    if (f == NULL) abort();   /* libc without it: nothing sensible to call */
    __atomic_store_n(slot, f, __ATOMIC_RELEASE);
  }
  return f;
}

static void take_back(GLThread *t) {
  (void)t;
  int e = errno;
  gl_block_end();
  errno = e;
}

/* After the GIL is back: a pending Ctrl-C on the main thread becomes the
** Lua error "interrupted" in the state the thread runs. */
static void raise_interrupt(GLThread *t) {
  lua_State *L = atomic_load(&t->running);
  gl_raise_interrupt(L);
}

int ip_timed_wait(GLThread *t, IPTry try, void *ctx, int ms) {
  int r = try(ctx, 0);
  if (r != 0 && !(r < 0 && errno == EINTR)) return r;   /* EINTR: the GIL's arm signal */
  if (ms == 0 || !ip_may_release(t)) return ms == 0 ? r : try(ctx, ms);
  uint64_t until = (ms < 0) ? UINT64_MAX : gl_now_ns() + (uint64_t)ms * 1000000ull;
  int interrupted = 0;
  gl_block_begin();
  for (;;) {
    if (gl_interrupted()) { interrupted = 1; break; }
    uint64_t now = gl_now_ns();
    if (now >= until) { r = 0; break; }
    uint64_t left_ms = (until - now + 999999ull) / 1000000ull;
    r = try(ctx, left_ms > GL_SLICE_MS ? GL_SLICE_MS : (int)left_ms);
    if (r != 0 && !(r < 0 && errno == EINTR)) break;
  }
  take_back(t);
  if (interrupted) raise_interrupt(t);
  return r;
}

int ip_may_release(GLThread *t) {
  return !gil_enabled() || gil_holder() == t;
}

int ip_must_wait(GLThread *t, int fd, short events, int big) {
  int e = errno;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || (fl & O_NONBLOCK)) { errno = e; return 0; }
  struct pollfd pf = { .fd = fd, .events = events };
  int r = poll(&pf, 1, 0);
  int not_ready = (r == 0 || (r < 0 && errno == EINTR));
  errno = e;
  return (not_ready || big) && ip_may_release(t);
}

int ip_enter_fd(GLThread *t, int fd, short events) {
  (void)t;
  gl_block_begin();
  if (gl_wait_fd(fd, events) != EINTR) return 0;
  gl_block_end();
  return EINTR;
}

void ip_leave(GLThread *t) { take_back(t); }

void ip_raise(GLThread *t) { raise_interrupt(t); }

void ip_sleep_ns(GLThread *t, unsigned long long ns) {
  if (!ip_may_release(t)) {
    struct timespec ts = gl_ns_ts(ns);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    return;
  }
  gl_block_begin();
  int rc = gl_sleep(gl_ns_s(ns));
  take_back(t);
  if (rc == EINTR) raise_interrupt(t);
}

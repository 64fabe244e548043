/*
** vm.c — the life of a gillua process: start-up, universes, fork and
** the way out. See vm.h.
*/
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "block.h"
#include "cli.h"
#include "coroutine.h"
#include "gil.h"
#include "interpose.h"
#include "gthread.h"
#include "hook.h"
#include "stats.h"
#include "tpool.h"
#include "trace.h"
#include "vm.h"

#define MAX_SHUTDOWN 16
#define MAX_FORK_DUTIES 24

static GLConfig config;
static GLOpenUniverse open_universe;              /* set once by gl_vm_start */
static void (*shutdown_fns[MAX_SHUTDOWN])(int);  /* main thread only */
static int nshutdown;

/*
** The fork list: what every layer must do around fork(), in the order of
** registration, which is also the lock order of the mutexes the prepare
** steps take (docs/architecture.md lists it whole). Entries are only
** added: written under fork_list_mu, counted by an atomic so gl_fork
** reads the list without that lock.
*/
typedef struct ForkDuty {
  void (*prepare)(void);        /* before fork: take the mutex, so no one holds it */
  void (*parent)(pid_t pid);    /* in the parent: release it (pid -1: fork failed) */
  void (*child)(void);          /* in the child: start it afresh, forget the others */
} ForkDuty;

static ForkDuty fork_duties[MAX_FORK_DUTIES];   /* fork_list_mu (writers) */
static atomic_int nfork_duties;
static pthread_mutex_t fork_list_mu = PTHREAD_MUTEX_INITIALIZER;

const GLConfig *gl_config(void) { return &config; }

lua_State *gl_universe_new(int no_env) {
  lua_State *L = luaL_newstate();
  if (L == NULL) return NULL;
  if (no_env) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  lua_gc(L, LUA_GCGEN, 0, 0);   /* as lua5.4's interpreter runs: it matters for speed */
  gl_coroutine_patch(L);
  if (open_universe) open_universe(L);
  return L;
}

/* The core's own fork duties, first on the list: threads, GIL, statistics,
** the module-io rules, the parked OS threads. */
static void register_core_fork_duties(void) {
  gl_at_fork(gt_fork_prepare, gt_fork_parent, gt_fork_child);
  gl_at_fork(gil_fork_prepare, gil_fork_parent, gil_fork_child);
  gl_at_fork(gl_stats_fork_prepare, gl_stats_fork_parent, gl_stats_fork_child);
  gl_at_fork(ip_fork_prepare, ip_fork_parent, ip_fork_child);
  gl_at_fork(gl_tpool_fork_prepare, gl_tpool_fork_parent, gl_tpool_fork_child);
}

lua_State *gl_vm_start(const GLConfig *cfg, GLOpenUniverse open,
                       char *err, size_t errlen) {
  config = *cfg;
  open_universe = open;
  register_core_fork_duties();
  if (cfg->trace_path && gl_trace_open(cfg->trace_path, err, errlen) != 0)
    return NULL;
  gil_setup(cfg->gil_on, cfg->policy);
  ip_set_release(!cfg->module_io_hold);
  gl_hooks_install();   /* SIGINT reaches the main thread only: see tthread.c */
  lua_State *L = gl_universe_new(cfg->no_env);
  if (L == NULL) {
    snprintf(err, errlen, "cannot create state: not enough memory");
    return NULL;
  }
  gt_init_main(L);
  gil_acquire(gl_self);
  return L;
}

void gl_at_shutdown(void (*fn)(int interrupted)) {
  for (int i = 0; i < nshutdown; i++)
    if (shutdown_fns[i] == fn) return;
  if (nshutdown < MAX_SHUTDOWN) shutdown_fns[nshutdown++] = fn;
}

void gl_at_fork(void (*prepare)(void), void (*parent)(pid_t pid),
                void (*child)(void)) {
  pthread_mutex_lock(&fork_list_mu);
  int n = atomic_load(&nfork_duties), known = 0;
  for (int i = 0; i < n; i++)
    known |= fork_duties[i].prepare == prepare && fork_duties[i].child == child;
  if (!known) {
    if (n == MAX_FORK_DUTIES) abort();   /* a build error: raise MAX_FORK_DUTIES */
    fork_duties[n] = (ForkDuty){ prepare, parent, child };
    atomic_store(&nfork_duties, n + 1);
  }
  pthread_mutex_unlock(&fork_list_mu);
}

int gl_traceback_handler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int gl_was_interrupted(void) { return gl_interrupt_seen(); }

void gl_interrupt_handled(void) { gl_interrupt_forget(); }

static void run_shutdown(int interrupted) {
  while (nshutdown > 0) shutdown_fns[--nshutdown](interrupted);
}

static int any_thread_alive(void) {
  GLThread *snap[1];
  int n = gt_snapshot(snap, 1);
  if (n > 0) gt_decref(snap[0]);
  return n > 1;   /* the main thread is always on the list */
}

/*
** The exit path runs once. The first thread to reach it (the main
** program's end, or os.exit in any thread) runs it, and takes Ctrl-C
** from then on (gl_take_interrupts); a thread that comes later parks: it
** leaves the list of threads to join (so the runner does not wait for
** it) and sleeps until exit() ends the process. A later os.exit still
** chooses the exit code (exit_override), as os.exit says.
**
** A parked main thread watches for Ctrl-C too: the signal reaches only
** the main thread, whose own "interrupted" error may have consumed the
** pending flag, so it posts it again for the runner (whose joins then
** stop: children are stopped, the status is 130). Should the runner not
** be done within PARK_GRACE_NS, the main thread reports (unless its error
** report already said "interrupted") and _exits 130.
*/
static atomic_int finishing;           /* 1 once a thread runs the exit path */
static _Atomic(GLThread *) finisher;   /* that thread (set once, by itself) */
static atomic_int exit_override = -1;  /* code of an os.exit that parked */

#define PARK_GRACE_NS 5000000000ull

static void report_interrupt(void) {   /* as clirun reports one: argv[0] first */
  fprintf(stderr, "%s: interrupted\n", cli_progname);
  fflush(stderr);
}

static _Noreturn void park(int status, int from_exit) {
  GLThread *self = gl_self;
  int is_main = self && self->is_main;
  int reported = gl_was_interrupted();   /* main's error report said so */
  uint64_t since = 0;
  if (from_exit) atomic_store(&exit_override, status);
  if (self && !is_main) gt_set_done(self);
  if (self) gl_block_begin();
  for (;;) {
    if (is_main && since == 0 && gl_was_interrupted()) {
      since = gl_now_ns();
      gl_interrupt_repost();
    }
    if (since && gl_now_ns() - since > PARK_GRACE_NS) {
      fflush(stdout);
      if (!reported) report_interrupt();
      _exit(130);
    }
    usleep(20000);
  }
}

static int exit_status;   /* the main thread's, set once the program has ended */

int gl_exit_status(void) { return exit_status; }

static int finish(lua_State *L, int status, int from_exit) {
  if (atomic_exchange(&finishing, 1)) park(status, from_exit);
  atomic_store(&finisher, gl_self);
  exit_status = status;
  gl_take_interrupts();
  int interrupted = gl_was_interrupted();   /* already reported by clirun */
  gt_main_finished();   /* a thread joining the main thread must not wait for us */
  int late = !interrupted && gt_join_non_daemon() == EINTR;
  run_shutdown(interrupted || late);
  if (!interrupted && gl_was_interrupted()) late = 1;   /* during the join or shutdown */
  if (late) report_interrupt();
  if (config.stats) gl_stats_print(stderr);
  if (gl_trace_enabled && gl_trace_close() != 0 && status == 0) status = 1;
  fflush(stdout);
  fflush(stderr);
  if (interrupted || late) return 130;
  int override = atomic_load(&exit_override);
  if (override >= 0) status = override;
  /* Close the universe (running finalizers, as lua.c does) only when no
  ** other thread can still be running in it: daemon threads are simply
  ** abandoned by exit(), as Python abandons daemon threads. */
  if (L && !any_thread_alive()) {
    lua_close(L);
  }
  return status;
}

int gl_vm_finish(lua_State *L, int status) { return finish(L, status, 0); }

void gl_vm_exit(lua_State *L, int status, int close) {
  lua_State *universe = NULL;
  if (close && gl_self && gl_self->is_main) universe = gl_self->universe;
  (void)L;
  if (gl_self != NULL && atomic_load(&finisher) == gl_self) {
    /* os.exit from inside the exit path on this very stack (a finalizer
    ** that lua_close runs, a shutdown duty): the joins and duties are done
    ** or under way below us, so parking would wait for ourselves. Do what
    ** lua5.4's os.exit does: close the state if asked (its remaining
    ** finalizers run, as Lua 5.4.4's main.lua checks), then exit. */
    if (universe) lua_close(universe);
    exit(status);
  }
  exit(finish(universe, status, 1));
}

/*
** Every prepare step runs in list order (so the mutexes are taken in the
** documented lock order), then fork(), then every parent or every child
** step in the same order. A prepare step must not fail; what can fail
** (mapping the arena) is done by the caller before gl_fork.
*/
pid_t gl_fork(void) {
  int n = atomic_load(&nfork_duties);
  fflush(stdout);
  fflush(stderr);
  for (int i = 0; i < n; i++) fork_duties[i].prepare();
  pid_t pid = fork();
  int saved = errno;
  if (pid != 0) {
    for (int i = 0; i < n; i++) fork_duties[i].parent(pid);
    errno = saved;
    return pid;
  }
  /* child: only this thread exists now */
  pthread_mutex_init(&fork_list_mu, NULL);
  nshutdown = 0;   /* the parent's exit duties are not the child's */
  atomic_store(&finishing, 0);        /* nor its way out, if a thread was on it */
  atomic_store(&exit_override, -1);
  for (int i = 0; i < n; i++) fork_duties[i].child();
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &s, NULL);
  return 0;
}

/*
** vm.c — the life of a gillua process: start-up, universes, fork and
** the way out. See vm.h.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "block.h"
#include "coroutine.h"
#include "gil.h"
#include "gthread.h"
#include "hook.h"
#include "modules.h"
#include "rtobject.h"
#include "stats.h"
#include "trace.h"
#include "vm.h"

#define MAX_SHUTDOWN 16

static GLConfig config;
static void (*shutdown_fns[MAX_SHUTDOWN])(int);  /* main thread only */
static int nshutdown;

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
  gl_open_print(L);
  gl_runtime_open(L);
  gl_io_patch(L);
  gl_debug_patch(L);
  lua_getglobal(L, "os");
  gl_os_extend(L);
  lua_pop(L, 1);
  return L;
}

lua_State *gl_vm_start(const GLConfig *cfg, char *err, size_t errlen) {
  config = *cfg;
  if (cfg->trace_path && gl_trace_open(cfg->trace_path, err, errlen) != 0)
    return NULL;
  gil_setup(cfg->gil_on, cfg->policy);
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

int gl_vm_finish(lua_State *L, int status) {
  int interrupted = gl_was_interrupted();
  if (!interrupted && gt_join_non_daemon() == EINTR) interrupted = 1;
  run_shutdown(interrupted);
  if (config.stats) gl_stats_print(stderr);
  if (gl_trace_enabled) gl_trace_close();
  fflush(stdout);
  fflush(stderr);
  if (interrupted) return 130;
  /* Close the universe (running finalizers, as lua.c does) only when no
  ** other thread can still be running in it: daemon threads are simply
  ** abandoned by exit(), as Python abandons daemon threads. */
  if (L && !any_thread_alive()) {
    lua_close(L);
  }
  return status;
}

pid_t gl_fork(void) {
  GLThread *self = gl_self;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid != 0) return pid;
  /* child: only this thread exists now */
  nshutdown = 0;   /* the parent's exit duties are not the child's */
  gt_after_fork_child(self);
  gil_after_fork_child(self);
  rt_after_fork_child();
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &s, NULL);
  return 0;
}

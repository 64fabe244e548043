/*
** mp_process.c — multiprocessing.Process, current_process,
** parent_process, active_children, and what happens to children at exit.
**
** Start method: fork (mp_fork). The child runs target(args...) in its copy
** of the parent's universe — no transfer — then joins its own non-daemon
** threads and children and leaves with _exit: 0 on return, 1 on an
** uncaught error ("Process NAME:" and the traceback on stderr, as Python
** prints it), or the code given to os.exit. It never returns into the
** parent's main chunk and never runs the parent's shutdown callbacks.
**
** Child records (MpChild) are the truth about a started child: pid,
** daemon flag, whether it was reaped and its wait status. They live on a
** per-process list (children_mu) until reaped; a Process handle holds one
** reference, the list another. The Lua side keeps started, not yet
** reaped Process handles in a registry table (for active_children);
** start() and active_children() reap the ended ones first, so a program
** that never joins leaves no zombies (Python's _cleanup).
**
** The child's body runs protected (mp_child_main): nothing after fork()
** can unwind into the parent's code. It is tied to its parent (dies
** with it, mp_fork) unless started with outlive_parent = true.
**
** At exit (gl_at_shutdown): pools are terminated, daemon children get
** SIGTERM, the others are joined (as Python's atexit handler does), then
** managers are shut down. On Ctrl-C every child gets SIGTERM, then SIGKILL
** after a grace period, and all are reaped: no zombies, no orphans.
*/
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "callargs.h"
#include "gthread.h"
#include "mp.h"
#include "options.h"
#include "rtclass.h"
#include "vm.h"

#define PROCESS_MT "multiprocessing.Process"
#define CHILDREN_KEY "gillua.mp.children"   /* registry: pid -> Process handle */

typedef struct MpChild {
  pid_t pid;
  int daemon;
  int reaped, status;        /* children_mu */
  int refs;                  /* children_mu */
  struct MpChild *next;      /* children_mu: list of unreaped children */
} MpChild;

static MpChild *children;
/* gl_fork drops the parent's callbacks in the child, so a child that
** starts processes registers its own. */
static atomic_int shutdown_registered;
static pthread_mutex_t children_mu = PTHREAD_MUTEX_INITIALIZER;
static int current_daemon;   /* this process is a daemonic child */
static long name_counter;    /* owner: the universe's threads, under the GIL */

typedef struct Process {
  MpChild *child;            /* NULL until started */
  pid_t creator;             /* the process that made the object */
  int daemon;
  int outlive_parent;        /* not killed when the parent dies (mp_fork) */
  char name[64];
} Process;

static void child_unref(MpChild *c) {
  pthread_mutex_lock(&children_mu);
  int last = --c->refs == 0;
  pthread_mutex_unlock(&children_mu);
  if (last) free(c);
}

/* Marks c reaped and takes it off the list (children_mu held). */
static void mark_reaped(MpChild *c, int status) {
  if (c->reaped) return;
  c->reaped = 1;
  c->status = status;
  for (MpChild **p = &children; *p; p = &(*p)->next)
    if (*p == c) { *p = c->next; c->refs--; break; }
}

void mp_child_reaped(pid_t pid, int status) {
  MpChild *gone = NULL;
  pthread_mutex_lock(&children_mu);
  for (MpChild *c = children; c; c = c->next)
    if (c->pid == pid) {
      mark_reaped(c, status);
      if (c->refs == 0) gone = c;   /* no Process handle left */
      break;
    }
  pthread_mutex_unlock(&children_mu);
  free(gone);
}

/* Waits for c (GIL released while waiting). 1 reaped, 0 timeout, -2 ^C. */
static int child_wait(MpChild *c, const struct timespec *deadline) {
  pthread_mutex_lock(&children_mu);
  int done = c->reaped;
  pthread_mutex_unlock(&children_mu);
  if (done) return 1;
  int status = 0;
  int rc = mp_wait_pid(c->pid, &status, deadline, MP_REAP_OWNER);
  if (rc == -2) return -2;
  if (rc == 0) return 0;
  pthread_mutex_lock(&children_mu);
  if (rc == 1) mark_reaped(c, status);
  else if (!c->reaped) mark_reaped(c, 0);     /* ECHILD: reaped outside gillua */
  pthread_mutex_unlock(&children_mu);
  return 1;
}

static int child_poll(MpChild *c) {
  struct timespec zero;
  gl_deadline(&zero, 0);
  return child_wait(c, &zero) == 1;
}

void mp_children_fork_prepare(void) { pthread_mutex_lock(&children_mu); }

void mp_children_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&children_mu); }

void mp_children_fork_child(void) {
  pthread_mutex_unlock(&children_mu);   /* taken in prepare, by this thread */
  atomic_store(&shutdown_registered, 0);
  children = NULL;           /* the parent's children are not ours (records leak in the copy) */
}

/* ---- exit ---- */

/* Sends sig to every unreaped child matching 'daemon_only'. */
static void signal_children(int sig, int daemon_only) {
  pthread_mutex_lock(&children_mu);
  for (MpChild *c = children; c; c = c->next)
    if (!daemon_only || c->daemon) kill(c->pid, sig);
  pthread_mutex_unlock(&children_mu);
}

/* Reaps every child, waiting at most 'grace' seconds (< 0: forever) before
** killing the rest. Returns 1 when interrupted by Ctrl-C. */
static int reap_all(double grace) {
  struct timespec ts, *dl = grace >= 0 ? gl_deadline(&ts, grace) : NULL;
  for (;;) {
    pthread_mutex_lock(&children_mu);
    MpChild *c = children;
    if (c) c->refs++;
    pthread_mutex_unlock(&children_mu);
    if (c == NULL) return 0;
    int rc = child_wait(c, dl);
    if (rc == 0) {                     /* grace period over */
      kill(c->pid, SIGKILL);
      rc = child_wait(c, NULL);
    }
    if (rc == -2) { child_unref(c); return 1; }
    child_unref(c);
  }
}

static void stop_all(void) {
  signal_children(SIGTERM, 0);
  reap_all(1.0);
}

static void mp_shutdown(int interrupted) {
  mp_pools_shutdown(interrupted);
  if (interrupted) stop_all();
  else {
    signal_children(SIGTERM, 1);
    if (reap_all(-1)) { stop_all(); interrupted = 1; }
  }
  mp_managers_shutdown(interrupted);
  mp_reap_orphans(interrupted ? 0.5 : 1.0);
}

static void register_shutdown(void) {
  if (!atomic_exchange(&shutdown_registered, 1)) gl_at_shutdown(mp_shutdown);
}

/* ---- the child side of start() ---- */

/* In the child, protected (mp_child_main), the Process at 1: runs
** target(args...), then joins its threads and children. Returns the exit
** code. */
static int process_body(lua_State *L) {
  Process *p = (Process *)lua_touserdata(L, 1);
  lua_pushcfunction(L, gl_traceback_handler);
  lua_getiuservalue(L, 1, 1);           /* target */
  lua_getiuservalue(L, 1, 2);           /* args */
  int nargs = gl_args_push(L, 4, "Process");
  lua_remove(L, 4);
  int code = 0;
  if (!lua_isnil(L, 3) && lua_pcall(L, nargs, 0, 2) != LUA_OK) {
    fprintf(stderr, "Process %s:\n%s\n", p->name, lua_tostring(L, -1));
    code = 1;
  }
  mp_child_finish(code);
}

void mp_child_finish(int code) {
  gt_main_finished();
  int interrupted = gt_join_non_daemon() == EINTR;
  mp_shutdown(interrupted);
  mp_child_exit(code);
}

static void run_child(lua_State *L, Process *p) {
  mp_set_current_name(p->name);
  current_daemon = p->daemon;
  lua_settop(L, 1);
  mp_child_main(L, process_body, 1);
}

/* Reaps the started children that have ended and forgets their handles;
** with 'out' (a stack index, or 0) appends the live ones to that list. */
static void sweep_children(lua_State *L, int out) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, CHILDREN_KEY);
  int reg = lua_gettop(L);
  lua_newtable(L);                   /* pids to forget */
  int dead = reg + 1, nd = 0;
  lua_Integer n = out ? luaL_len(L, out) : 0;
  lua_pushnil(L);
  while (lua_next(L, reg)) {
    Process *p = (Process *)luaL_testudata(L, -1, PROCESS_MT);
    if (p && p->child && !child_poll(p->child)) {
      if (out) { lua_pushvalue(L, -1); lua_rawseti(L, out, ++n); }
    } else {
      lua_pushvalue(L, -2);
      lua_rawseti(L, dead, ++nd);
    }
    lua_pop(L, 1);
  }
  for (int i = 1; i <= nd; i++) {
    lua_rawgeti(L, dead, i);
    lua_pushnil(L);
    lua_rawset(L, reg);
  }
  lua_settop(L, reg - 1);
}

/* Python's start() reaps finished children first: a program that starts
** processes and never joins them leaves no zombies behind. */
static void reap_finished(lua_State *L) { sweep_children(L, 0); }

/* ---- Process methods ---- */

static Process *check_proc(lua_State *L) {
  return (Process *)luaL_checkudata(L, 1, PROCESS_MT);
}

static const char *const process_options[] = {
  "target", "args", "name", "daemon", "outlive_parent", NULL
};

/* Process{target=, args={}, name=, daemon=, outlive_parent=} */
static int mp_Process(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  rt_check_options(L, 1, "Process", process_options);
  Process *p = (Process *)lua_newuserdatauv(L, sizeof(Process), 2);
  memset(p, 0, sizeof *p);
  p->creator = getpid();
  luaL_setmetatable(L, PROCESS_MT);
  lua_getfield(L, 1, "target");
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TFUNCTION &&
      !luaL_getmetafield(L, -1, "__call"))
    return luaL_error(L, "Process: target must be callable (got %s)", luaL_typename(L, -1));
  lua_setiuservalue(L, -2, 1);
  lua_getfield(L, 1, "args");
  if (!lua_isnil(L, -1) && !lua_istable(L, -1))
    return luaL_error(L, "Process: args must be a table (got %s)", luaL_typename(L, -1));
  lua_setiuservalue(L, -2, 2);
  lua_getfield(L, 1, "name");
  if (lua_isnil(L, -1)) snprintf(p->name, sizeof p->name, "Process-%ld", ++name_counter);
  else snprintf(p->name, sizeof p->name, "%s", luaL_checkstring(L, -1));
  lua_pop(L, 1);
  lua_getfield(L, 1, "daemon");
  p->daemon = lua_isnil(L, -1) ? current_daemon : lua_toboolean(L, -1);
  lua_getfield(L, 1, "outlive_parent");
  p->outlive_parent = lua_toboolean(L, -1);
  lua_pop(L, 2);
  return 1;
}

static int p_start(lua_State *L) {
  Process *p = check_proc(L);
  if (p->child) return luaL_error(L, "cannot start a process twice");
  if (p->creator != getpid())
    return luaL_error(L, "can only start a process object created by the current process");
  if (current_daemon) return luaL_error(L, "daemonic processes are not allowed to have children");
  /* A bad args.n (a plain field) fails here, in the parent; #args with
  ** a __len is the child's to run (protected: a raising one ends it). */
  lua_getiuservalue(L, 1, 2);
  gl_args_check(L, -1, "Process");
  lua_pop(L, 1);
  register_shutdown();
  reap_finished(L);
  MpChild *c = (MpChild *)calloc(1, sizeof(MpChild));
  if (c == NULL) return luaL_error(L, "out of memory");
  pid_t pid = mp_fork(L, p->outlive_parent ? 0 : MP_FORK_TIED);
  if (pid < 0) {
    int e = errno;
    free(c);
    return luaL_error(L, "Process.start: fork failed: %s", strerror(e));
  }
  if (pid == 0) { free(c); run_child(L, p); }
  c->pid = pid;
  c->daemon = p->daemon;
  c->refs = 2;
  pthread_mutex_lock(&children_mu);
  c->next = children;
  children = c;
  pthread_mutex_unlock(&children_mu);
  p->child = c;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, CHILDREN_KEY);
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, pid);
  return 0;
}

static void forget(lua_State *L, pid_t pid) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, CHILDREN_KEY);
  lua_pushnil(L);
  lua_rawseti(L, -2, pid);
  lua_pop(L, 1);
}

/* join([timeout]) -> true when the process has ended */
static int p_join(lua_State *L) {
  Process *p = check_proc(L);
  if (p->child == NULL) return luaL_error(L, "can only join a started process");
  if (p->creator != getpid()) return luaL_error(L, "can only join a child process");
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  int rc = child_wait(p->child, dl);
  if (rc == -2) return gl_raise_interrupt(L);
  if (rc == 1) forget(L, p->child->pid);
  lua_pushboolean(L, rc == 1);
  return 1;
}

static int p_is_alive(lua_State *L) {
  Process *p = check_proc(L);
  int alive = p->child && p->creator == getpid() && !child_poll(p->child);
  lua_pushboolean(L, alive);
  return 1;
}

static int p_signal(lua_State *L, int sig) {
  Process *p = check_proc(L);
  if (p->child && p->creator == getpid() && !child_poll(p->child)) kill(p->child->pid, sig);
  return 0;
}

static int p_terminate(lua_State *L) { return p_signal(L, SIGTERM); }
static int p_kill(lua_State *L) { return p_signal(L, SIGKILL); }

static int p_exitcode(lua_State *L, Process *p) {
  if (p->child == NULL || p->creator != getpid() || !child_poll(p->child)) lua_pushnil(L);
  else lua_pushinteger(L, mp_exitcode(p->child->status));
  return 1;
}

static int p_index(lua_State *L) {
  Process *p = check_proc(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "pid") == 0 || strcmp(k, "ident") == 0) {
    if (p->child) lua_pushinteger(L, p->child->pid); else lua_pushnil(L);
  } else if (strcmp(k, "exitcode") == 0) p_exitcode(L, p);
  else if (strcmp(k, "name") == 0) lua_pushstring(L, p->name);
  else if (strcmp(k, "daemon") == 0) lua_pushboolean(L, p->daemon);
  else if (strcmp(k, "target") == 0) lua_getiuservalue(L, 1, 1);
  else if (strcmp(k, "args") == 0) lua_getiuservalue(L, 1, 2);
  else return rt_push_method(L, k);
  return 1;
}

static int p_newindex(lua_State *L) {
  Process *p = check_proc(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "name") == 0) snprintf(p->name, sizeof p->name, "%s", luaL_checkstring(L, 3));
  else if (strcmp(k, "daemon") == 0) {
    if (p->child) return luaL_error(L, "cannot set daemon status of active process");
    p->daemon = lua_toboolean(L, 3);
  } else return luaL_error(L, "Process has no writable field '%s'", k);
  return 0;
}

static int p_tostring(lua_State *L) {
  Process *p = check_proc(L);
  if (p->child == NULL)
    lua_pushfstring(L, "<Process name='%s' initial%s>", p->name, p->daemon ? " daemon" : "");
  else if (p->creator == getpid() && child_poll(p->child))
    lua_pushfstring(L, "<Process name='%s' pid=%d stopped exitcode=%d%s>", p->name,
                    (int)p->child->pid, mp_exitcode(p->child->status), p->daemon ? " daemon" : "");
  else
    lua_pushfstring(L, "<Process name='%s' pid=%d started%s>", p->name, (int)p->child->pid,
                    p->daemon ? " daemon" : "");
  return 1;
}

static int p_gc(lua_State *L) {
  Process *p = (Process *)lua_touserdata(L, 1);
  if (p->child && p->creator == getpid()) child_unref(p->child);
  p->child = NULL;
  return 0;
}

/* ---- module functions ---- */

static int mp_current_process(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, mp_current_name());
  lua_setfield(L, -2, "name");
  lua_pushinteger(L, getpid());
  lua_setfield(L, -2, "pid");
  lua_pushinteger(L, getpid());
  lua_setfield(L, -2, "ident");
  lua_pushboolean(L, current_daemon);
  lua_setfield(L, -2, "daemon");
  return 1;
}

static int mp_parent_process(lua_State *L) {
  if (!mp_is_child()) return 0;
  lua_createtable(L, 0, 2);
  lua_pushinteger(L, getppid());
  lua_setfield(L, -2, "pid");
  return 1;
}

/* active_children() -> list of live child Process objects (reaps the rest). */
static int mp_active_children(lua_State *L) {
  mp_reap_orphans(-1);
  lua_newtable(L);
  sweep_children(L, lua_gettop(L));
  return 1;
}

static int mp_cpu_count(lua_State *L) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  lua_pushinteger(L, n > 0 ? n : 1);
  return 1;
}

static const luaL_Reg p_methods[] = {
  {"start", p_start}, {"join", p_join}, {"is_alive", p_is_alive},
  {"terminate", p_terminate}, {"kill", p_kill},
  {NULL, NULL}
};

void mp_open_process(lua_State *L) {
  static const luaL_Reg meta[] = {
    {"__index", p_index}, {"__newindex", p_newindex}, {"__tostring", p_tostring},
    {"__gc", p_gc}, {NULL, NULL}
  };
  rt_new_class(L, PROCESS_MT, p_methods, meta);
  static const luaL_Reg f[] = {
    {"Process", mp_Process}, {"current_process", mp_current_process},
    {"parent_process", mp_parent_process}, {"active_children", mp_active_children},
    {"cpu_count", mp_cpu_count}, {NULL, NULL}
  };
  luaL_setfuncs(L, f, 0);
  register_shutdown();
}

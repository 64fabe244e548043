/*
** los.c — gillua's additions to Lua's `os` table: getpid, getppid, fork,
** waitpid, kill, cpu_count, _exit, getrusage; and exit, replaced so that
** os.exit leaves the program as the end of the script does.
**
** Conventions follow Lua's os library: failures return nil, a message and
** the errno (like os.remove); waitpid reports like os.execute
** ("exit"|"signal", code).
*/
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "modules.h"
#include "mp.h"
#include "vm.h"

static int fail(lua_State *L, const char *what) {
  int e = errno;
  lua_pushnil(L);
  if (what) lua_pushfstring(L, "%s: %s", what, strerror(e));
  else lua_pushstring(L, strerror(e));
  lua_pushinteger(L, e);
  return 3;
}

static int os_getpid(lua_State *L) {
  lua_pushinteger(L, getpid());
  return 1;
}

static int os_getppid(lua_State *L) {
  lua_pushinteger(L, getppid());
  return 1;
}

/* fork() -> 0 in the child, the child's pid in the parent, nil+msg. */
static int os_fork(lua_State *L) {
  pid_t pid = mp_fork(L, 0);
  if (pid < 0) return fail(L, "fork");
  lua_pushinteger(L, pid);
  return 1;
}

static int push_status(lua_State *L, pid_t pid, int status) {
  lua_pushinteger(L, pid);
  if (WIFSIGNALED(status)) {
    lua_pushliteral(L, "signal");
    lua_pushinteger(L, WTERMSIG(status));
  } else {
    lua_pushliteral(L, "exit");
    lua_pushinteger(L, WEXITSTATUS(status));
  }
  return 3;
}

/* Any child (pid <= 0): no pidfd to poll, so sleep in growing steps. */
static pid_t wait_any(pid_t pid, int *status, int *interrupted) {
  pid_t r;
  int step = 200;
  gl_block_begin();
  for (;;) {
    r = mp_reap(pid, status, MP_REAP_SCRIPT);
    if (r != 0) break;
    if (gl_interrupted()) { *interrupted = 1; break; }
    usleep((useconds_t)step);
    if (step < 20000) step *= 2;
  }
  int e = errno;
  gl_block_end();
  errno = e;
  return r;
}

/* waitpid(pid[, nohang]) -> pid, "exit"|"signal", code; 0 when nohang and
** the child is still running; nil, msg, errno on failure. */
static int os_waitpid(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  int nohang = lua_toboolean(L, 2), status = 0;
  pid_t r;
  if (nohang) {
    r = mp_reap(pid, &status, MP_REAP_SCRIPT);
    if (r == 0) { lua_pushinteger(L, 0); return 1; }
  } else if (pid > 0) {
    int rc = mp_wait_pid(pid, &status, NULL, MP_REAP_SCRIPT);
    if (rc == -2) return gl_raise_interrupt(L);
    r = rc == 1 ? pid : -1;
  } else {
    int intr = 0;
    r = wait_any(pid, &status, &intr);
    if (intr) return gl_raise_interrupt(L);
  }
  if (r < 0) return fail(L, "waitpid");
  return push_status(L, r, status);
}

static int os_kill(lua_State *L) {
  pid_t pid = (pid_t)luaL_checkinteger(L, 1);
  int sig = lua_isnoneornil(L, 2) ? SIGTERM : mp_signal_number(L, 2);
  if (sig < 0) return luaL_argerror(L, 2, "unknown signal");
  if (kill(pid, sig) != 0) return fail(L, "kill");
  lua_pushboolean(L, 1);
  return 1;
}

static int os_cpu_count(lua_State *L) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  lua_pushinteger(L, n > 0 ? n : 1);
  return 1;
}

/* _exit(code): leaves at once, without flushing buffers or running any
** exit handler (as Python's os._exit). Shared references are dropped. */
static int os__exit(lua_State *L) {
  int code = lua_isboolean(L, 1) ? (lua_toboolean(L, 1) ? 0 : 1)
                                  : (int)luaL_optinteger(L, 1, 0);
  mp_refs_release_all();
  _exit(code);
  return 0;
}

/* exit([code[, close]]): leaves the program the way the end of the script
** does (Lua's os.exit skipped all of it): non-daemon threads are joined,
** daemon children terminated and the others joined, --stats and --trace
** written; then exit(code). 'close' closes the main universe first, as
** Lua's does, when the main thread calls it and no thread is left. In a
** forked child the child's own way out is taken (its threads and children,
** then _exit). Codes as Lua's: true = EXIT_SUCCESS, false = EXIT_FAILURE. */
static int os_exit(lua_State *L) {
  int status;
  if (lua_isboolean(L, 1)) status = lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
  else status = (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
  int close = lua_toboolean(L, 2);
  if (mp_is_child()) mp_child_finish(status);
  gl_vm_exit(L, status, close);
  return 0;
}

static double tv_s(struct timeval tv) {
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* getrusage(["self"|"children"|"thread"]) -> {utime=, stime=, maxrss= (KiB), ...} */
static int os_getrusage(lua_State *L) {
  static const char *const whos[] = {"self", "children", "thread", NULL};
  static const int codes[] = {RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD};
  int who = codes[luaL_checkoption(L, 1, "self", whos)];
  struct rusage ru;
  if (getrusage(who, &ru) != 0) return fail(L, "getrusage");
  lua_createtable(L, 0, 8);
  lua_pushnumber(L, tv_s(ru.ru_utime)); lua_setfield(L, -2, "utime");
  lua_pushnumber(L, tv_s(ru.ru_stime)); lua_setfield(L, -2, "stime");
  lua_pushinteger(L, ru.ru_maxrss);     lua_setfield(L, -2, "maxrss");
  lua_pushinteger(L, ru.ru_minflt);     lua_setfield(L, -2, "minflt");
  lua_pushinteger(L, ru.ru_majflt);     lua_setfield(L, -2, "majflt");
  lua_pushinteger(L, ru.ru_nvcsw);      lua_setfield(L, -2, "nvcsw");
  lua_pushinteger(L, ru.ru_nivcsw);     lua_setfield(L, -2, "nivcsw");
  return 1;
}

static const luaL_Reg os_funcs[] = {
  {"getpid", os_getpid},
  {"getppid", os_getppid},
  {"fork", os_fork},
  {"waitpid", os_waitpid},
  {"kill", os_kill},
  {"cpu_count", os_cpu_count},
  {"_exit", os__exit},
  {"exit", os_exit},
  {"getrusage", os_getrusage},
  {NULL, NULL}
};

void gl_os_extend(lua_State *L) {
  luaL_setfuncs(L, os_funcs, 0);
}

/*
** mp_fork.c — forking, leaving a forked child, and waiting for a child
** with the GIL released. Every fork of the process modules goes through
** mp_fork so that the arena is mapped first and gl_fork's fork list runs:
** the child's GIL, thread registry and runtime locks are reset and the
** process modules forget what belongs to the parent (children, pools,
** manager connections): see runtime/universe.c. The children of
** Process, Pool and Manager run their body through mp_child_main and
** never return from it; os.fork's child returns 0 into the script.
*/
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mp.h"
#include "vm.h"

static int is_child;                 /* written once, right after fork, in the child */
static char current_name[64] = "MainProcess";   /* owner: the process's forking thread */

/* A child must not repeat its parent's random numbers (Python reseeds
** `random` after fork too). Lua's own randomseed() mixes the time in
** seconds and a state address, the same in every fork of one second, so
** the seed is the pid and the monotonic clock. */
static void reseed(lua_State *L) {
  int top = lua_gettop(L);
  if (lua_getglobal(L, "math") == LUA_TTABLE && lua_getfield(L, -1, "randomseed") == LUA_TFUNCTION) {
    lua_pushinteger(L, (lua_Integer)getpid());
    lua_pushinteger(L, (lua_Integer)gl_now_ns());
    lua_pcall(L, 2, 0, 0);
  }
  lua_settop(L, top);
}

/*
** A tied child (MP_FORK_TIED) gets SIGKILL when its parent dies, even of
** SIGKILL (no exit handler runs then): prctl(PR_SET_PDEATHSIG). The
** parent may have died between fork() and prctl(); then the child was
** already re-parented, which getppid() tells, and it leaves at once.
** Linux sends the signal when the *thread* that forked ends, not the
** process: so only a fork from the process's main thread is tied (a
** Process started by a short-lived thread must not die with the thread);
** children of other threads rely on the parent's exit handlers.
*/
static void tie_to_parent(pid_t parent) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return;
  if (getppid() != parent) mp_child_exit(1);
}

pid_t mp_fork(lua_State *L, int flags) {
  char err[160];
  if (mp_shm_init(err, sizeof err) != 0) luaL_error(L, "fork: %s", err);
  fflush(NULL);                      /* buffered output must not be written twice */
  pid_t parent = getpid();
  int tie = (flags & MP_FORK_TIED) && gettid() == parent;
  pid_t pid = gl_fork();             /* the fork list: runtime/universe.c */
  if (pid == 0 && tie) tie_to_parent(parent);
  if (pid > 0) {
    int saved = errno;
    mp_reap_orphans(-1);             /* starting a child: reap the ended orphans */
    errno = saved;
  }
  if (pid == 0) {
    is_child = 1;
    reseed(L);
  }
  return pid;
}

void mp_child_exit(int code) {
  fflush(NULL);
  mp_refs_release_all();
  _exit(code);
}

/*
** The body of every forked child of the process modules. Anything the
** child does after fork() may raise (unpacking arguments calls __len and
** __index, a stack may not grow, memory may run out); an error that
** escaped would unwind into the parent's code, a pcall there, and the
** child would go on running the parent's program. So the body runs
** protected here and the child always leaves through mp_child_exit.
*/
void mp_child_main(lua_State *L, lua_CFunction body, int nargs) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, gl_traceback_handler);
  lua_pushcfunction(L, body);
  lua_rotate(L, base + 1, 2);         /* msgh, body below the arguments */
  int code = 1;
  if (lua_pcall(L, nargs, 1, base + 1) != LUA_OK)
    fprintf(stderr, "Process %s:\n%s\n", mp_current_name(), lua_tostring(L, -1));
  else if (lua_isinteger(L, -1))
    code = (int)lua_tointeger(L, -1);
  mp_child_exit(code);
}

int mp_is_child(void) { return is_child; }

const char *mp_current_name(void) { return current_name; }

void mp_set_current_name(const char *name) {
  snprintf(current_name, sizeof current_name, "%s", name);
}

/* Alive and not a zombie (a zombie is dead, but kill(pid, 0) succeeds
** until its parent reaps it). */
int mp_pid_alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return 0;
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *rp = strrchr(buf, ')');
  return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

int mp_exitcode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return 0;
}

void mp_describe_status(int status, char *buf, size_t n) {
  if (WIFSIGNALED(status))
    snprintf(buf, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else
    snprintf(buf, n, "exited with code %d", WEXITSTATUS(status));
}

static int pidfd_open_(pid_t pid) {
#ifdef SYS_pidfd_open
  return (int)syscall(SYS_pidfd_open, pid, 0);
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

/*
** Non-blocking first (no GIL release when the child is already gone).
** Then, GIL released: poll the child's pidfd in slices of <= 50 ms (or
** sleep in growing steps when pidfds are unavailable), looking at Ctrl-C
** between slices.
*/
int mp_wait_pid(pid_t pid, int *status, const struct timespec *deadline, int who) {
  pid_t r = mp_reap(pid, status, who);
  if (r == pid) return 1;
  if (r < 0) return -1;
  if (deadline && gl_expired(deadline)) return 0;
  int fd = pidfd_open_(pid);
  int result = 0, step_us = 200;
  gl_block_begin();
  for (;;) {
    int ms = gl_slice_ms(deadline);
    if (ms == 0) { result = 0; break; }
    if (fd >= 0) {
      struct pollfd p = { fd, POLLIN, 0 };
      poll(&p, 1, ms);
    } else {
      if (step_us / 1000 > ms) step_us = ms * 1000;
      usleep((useconds_t)step_us);
      if (step_us < 20000) step_us *= 2;
    }
    r = mp_reap(pid, status, who);
    if (r == pid) { result = 1; break; }
    if (r < 0) { result = -1; break; }
    if (gl_interrupted()) { result = -2; break; }
  }
  int saved = errno;
  gl_block_end();
  if (fd >= 0) close(fd);
  errno = saved;
  return result;
}

static const struct { const char *name; int sig; } signames[] = {
  {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"ILL", SIGILL},
  {"ABRT", SIGABRT}, {"FPE", SIGFPE}, {"KILL", SIGKILL}, {"SEGV", SIGSEGV},
  {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"USR1", SIGUSR1},
  {"USR2", SIGUSR2}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
  {"TSTP", SIGTSTP}, {"BUS", SIGBUS}, {"TRAP", SIGTRAP}, {NULL, 0}
};

int mp_signal_number(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Integer n = luaL_checkinteger(L, idx);
    return (n >= 0 && n < 65) ? (int)n : -1;
  }
  const char *s = luaL_checkstring(L, idx);
  if (strncmp(s, "SIG", 3) == 0) s += 3;
  for (int i = 0; signames[i].name; i++)
    if (strcmp(signames[i].name, s) == 0) return signames[i].sig;
  return -1;
}

/*
** subprocess.c — the `subprocess` module: Popen, run, call, check_call,
** check_output.
**
** Children are started with posix_spawnp (subprocess_spawn.c).
**
** communicate() polls the child's stdin, stdout and stderr together with
** the GIL released, so a child writing much to both pipes never deadlocks
** against us. SIGPIPE is blocked in the writing thread (an exited child
** makes the write fail with EPIPE, as in Python, instead of killing us).
**
** Timeouts: communicate and run kill the child (SIGKILL), reap it and
** raise "subprocess.TimeoutExpired: ..."; wait(timeout) raises the same
** error but leaves the child running (as Python does), so the caller can
** decide.
*/
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "block.h"
#include "lio.h"
#include "modules.h"
#include "mp.h"
#include "options.h"
#include "rtclass.h"
#include "subprocess_io.h"
#include "subprocess_spawn.h"

#define POPEN_MT "subprocess.Popen"

/* A child process. Process-local, owned by its Lua userdata (uservalue 1:
** table with args, stdin, stdout, stderr file handles). */
typedef struct Popen {
  pid_t pid;
  int reaped;            /* returncode is valid */
  int returncode;        /* code, or -signal */
  char cmd[256];         /* the command line, for messages */
} Popen;

/* The options Popen knows; run, call, check_call and check_output know
** these and run's own. */
#define POPEN_OPTIONS "args", "stdin", "stdout", "stderr", "cwd", "env", "shell"
static const char *const popen_options[] = {POPEN_OPTIONS, NULL};
static const char *const run_options[] = {POPEN_OPTIONS, "input", "capture_output", "check",
                                          "timeout", NULL};

/* Whether key (a string) is one of run's own options, not Popen's. */
static int run_only(lua_State *L, int key) {
  if (lua_type(L, key) != LUA_TSTRING) return 0;
  const char *k = lua_tostring(L, key);
  for (int i = 0; popen_options[i]; i++)
    if (strcmp(popen_options[i], k) == 0) return 0;
  return 1;
}

/* Pushes a Lua file handle owning fd (mode "r" or "w"), closed by
** lio_pipe_close (which also tells lio_read it is a pipe). */
static void push_file(lua_State *L, int fd, const char *mode) {
  luaL_Stream *s = (luaL_Stream *)lua_newuserdatauv(L, sizeof(luaL_Stream), 0);
  s->closef = NULL;
  luaL_setmetatable(L, LUA_FILEHANDLE);
  s->f = fdopen(fd, mode);
  if (s->f == NULL) { close(fd); luaL_error(L, "Popen: fdopen: %s", strerror(errno)); }
  s->closef = lio_pipe_close;
}

static Popen *check_popen(lua_State *L) {
  return (Popen *)luaL_checkudata(L, 1, POPEN_MT);
}

/* Popen{args=, stdin=, stdout=, stderr=, cwd=, env=, shell=} */
static int sp_popen(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  rt_check_options(L, 1, "Popen", popen_options);
  Spec sp = {0};
  char cmd[256];
  sp.how[0] = sp_get_how(L, 1, "stdin");
  sp.how[1] = sp_get_how(L, 1, "stdout");
  sp.how[2] = sp_get_how(L, 1, "stderr");
  if (lua_getfield(L, 1, "cwd") != LUA_TNIL) sp.cwd = luaL_checkstring(L, -1);
  lua_pop(L, 1);
  if (sp.cwd) {
    struct stat st;
    if (stat(sp.cwd, &st) != 0) return luaL_error(L, "%s: '%s'", strerror(errno), sp.cwd);
    if (!S_ISDIR(st.st_mode)) return luaL_error(L, "Not a directory: '%s'", sp.cwd);
  }
  char **envp = sp_get_env(L, 1);
  sp.envp = envp;
  sp.argv = sp_get_argv(L, 1, cmd, sizeof cmd);
  Popen *p = (Popen *)lua_newuserdatauv(L, sizeof(Popen), 1);
  memset(p, 0, sizeof *p);
  p->pid = -1;
  snprintf(p->cmd, sizeof p->cmd, "%s", cmd);
  luaL_setmetatable(L, POPEN_MT);
  int ends[3];
  int rc = sp_spawn(&sp, &p->pid, ends);
  char prog[256];
  snprintf(prog, sizeof prog, "%s", sp.argv[0]);
  sp_free_strv(sp.argv);
  sp_free_strv(envp);
  if (rc != 0) return luaL_error(L, "%s: '%s'", strerror(rc), prog);
  lua_createtable(L, 0, 4);
  lua_getfield(L, 1, "args");
  lua_setfield(L, -2, "args");
  static const char *const names[] = {"stdin", "stdout", "stderr"};
  for (int i = 0; i < 3; i++)
    if (ends[i] >= 0) {
      push_file(L, ends[i], i == 0 ? "w" : "r");
      lua_setfield(L, -2, names[i]);
    }
  lua_setiuservalue(L, -2, 1);
  return 1;
}

/* ---- waiting ---- */

static void set_status(Popen *p, int status) {
  p->reaped = 1;
  p->returncode = mp_exitcode(status);
}

static int timeout_error(lua_State *L, Popen *p, double secs) {
  char msg[400];
  snprintf(msg, sizeof msg, "subprocess.TimeoutExpired: command '%s' timed out after %g seconds",
           p->cmd, secs);
  return luaL_error(L, "%s", msg);
}

/* Returns 1 reaped, 0 timeout; raises on Ctrl-C. */
static int wait_child(lua_State *L, Popen *p, const struct timespec *deadline) {
  if (p->reaped) return 1;
  int status;
  int rc = mp_wait_pid(p->pid, &status, deadline, MP_REAP_OWNER);
  if (rc == -2) gl_raise_interrupt(L);
  if (rc == 1) set_status(p, status);
  else if (rc < 0) { p->reaped = 1; p->returncode = 0; }   /* reaped outside gillua: unknown */
  return p->reaped;
}

static int sp_wait(lua_State *L) {
  Popen *p = check_popen(L);
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  if (!wait_child(L, p, dl)) return timeout_error(L, p, lua_tonumber(L, 2));
  lua_pushinteger(L, p->returncode);
  return 1;
}

static int sp_poll(lua_State *L) {
  Popen *p = check_popen(L);
  if (!p->reaped) {
    int status;
    pid_t r = mp_reap(p->pid, &status, MP_REAP_OWNER);
    if (r == p->pid) set_status(p, status);
    else if (r < 0 && errno == ECHILD) { p->reaped = 1; p->returncode = 0; }
  }
  if (!p->reaped) return 0;
  lua_pushinteger(L, p->returncode);
  return 1;
}

static int send_sig(lua_State *L, Popen *p, int sig) {
  if (!p->reaped) {
    int status;
    pid_t r = mp_reap(p->pid, &status, MP_REAP_OWNER);
    if (r == p->pid) set_status(p, status);
    else if (r < 0 && errno == ECHILD) { p->reaped = 1; p->returncode = 0; }   /* pid may be reused */
    else kill(p->pid, sig);
  }
  return 0;
  (void)L;
}

static int sp_kill(lua_State *L) { return send_sig(L, check_popen(L), SIGKILL); }
static int sp_terminate(lua_State *L) { return send_sig(L, check_popen(L), SIGTERM); }
static int sp_send_signal(lua_State *L) {
  Popen *p = check_popen(L);
  int sig = mp_signal_number(L, 2);
  if (sig < 0) return luaL_argerror(L, 2, "unknown signal");
  return send_sig(L, p, sig);
}

/* ---- communicate ---- */

/* The file handle of stream i ("stdin"...) when open, else NULL. Leaves
** nothing on the stack. */
static luaL_Stream *stream(lua_State *L, int ud, const char *name) {
  lua_getiuservalue(L, ud, 1);
  lua_getfield(L, -1, name);
  luaL_Stream *s = (luaL_Stream *)luaL_testudata(L, -1, LUA_FILEHANDLE);
  lua_pop(L, 2);
  return (s && s->closef) ? s : NULL;
}

static void close_stream(luaL_Stream *s) {
  if (s && s->closef) { fclose(s->f); s->closef = NULL; }
}

static void kill_and_reap(lua_State *L, Popen *p) {
  if (p->reaped) return;
  kill(p->pid, SIGKILL);
  wait_child(L, p, NULL);
}

/* communicate([input[, timeout]]) -> out, err */
static int sp_communicate(lua_State *L) {
  Popen *p = check_popen(L);
  size_t inlen = 0;
  const char *in = luaL_optlstring(L, 2, NULL, &inlen);
  struct timespec ts, *dl = gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_ZERO);
  luaL_Stream *s[3] = {stream(L, 1, "stdin"), stream(L, 1, "stdout"), stream(L, 1, "stderr")};
  if (in && inlen > 0 && s[0] == NULL)
    return luaL_error(L, "communicate: input given but stdin is not subprocess.PIPE");
  Comm c;
  memset(&c, 0, sizeof c);
  c.in = in ? in : "";
  c.inlen = in ? inlen : 0;
  for (int i = 0; i < 3; i++) {
    if (s[i]) fflush(s[i]->f);
    c.fd[i] = s[i] ? fileno(s[i]->f) : -1;
  }
  /* stdin: our own descriptor, closed by the loop when all is written */
  if (c.fd[0] >= 0) c.fd[0] = c.inlen ? dup(c.fd[0]) : -1;
  close_stream(s[0]);
  gl_block_begin();
  sp_comm_loop(&c, dl);
  gl_block_end();
  if (c.fd[0] >= 0) close(c.fd[0]);
  if (c.interrupted || c.timedout) {
    free(c.out[0].p);
    free(c.out[1].p);
    if (c.interrupted) return gl_raise_interrupt(L);
    kill_and_reap(L, p);
    return timeout_error(L, p, lua_tonumber(L, 3));
  }
  close_stream(s[1]);
  close_stream(s[2]);
  if (!wait_child(L, p, dl)) {
    free(c.out[0].p);
    free(c.out[1].p);
    kill_and_reap(L, p);
    return timeout_error(L, p, lua_tonumber(L, 3));
  }
  for (int i = 0; i < 2; i++) {
    if (s[i + 1]) lua_pushlstring(L, c.out[i].p ? c.out[i].p : "", c.out[i].n);
    else lua_pushnil(L);
    free(c.out[i].p);
  }
  return 2;
}

static int sp_index(lua_State *L) {
  Popen *p = check_popen(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "pid") == 0) { lua_pushinteger(L, p->pid); return 1; }
  if (strcmp(k, "returncode") == 0) {
    if (p->reaped) lua_pushinteger(L, p->returncode); else lua_pushnil(L);
    return 1;
  }
  lua_getiuservalue(L, 1, 1);
  if (lua_getfield(L, -1, k) != LUA_TNIL) return 1;
  lua_pop(L, 2);
  return rt_push_method(L, k);
}

static int sp_tostring(lua_State *L) {
  Popen *p = check_popen(L);
  if (p->reaped) lua_pushfstring(L, "<Popen: pid %d, returncode %d: %s>", (int)p->pid, p->returncode, p->cmd);
  else lua_pushfstring(L, "<Popen: pid %d, running: %s>", (int)p->pid, p->cmd);
  return 1;
}

/* A child never waited for is reaped if it has finished; otherwise it is
** left to run (as Python does). */
static int sp_gc(lua_State *L) {
  Popen *p = check_popen(L);
  int status;
  if (!p->reaped && p->pid > 0) mp_reap(p->pid, &status, MP_REAP_OWNER);
  return 0;
}

/* ---- run / call / check_output ---- */

/* run{args=, input=, capture_output=, timeout=, check=, ...}. */
static int sp_run(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  rt_check_options(L, 1, "run", run_options);
  int top = lua_gettop(L);
  lua_getfield(L, 1, "input");
  int has_input = !lua_isnil(L, -1);
  lua_getfield(L, 1, "capture_output");
  int capture = lua_toboolean(L, -1);
  lua_getfield(L, 1, "check");
  int check = lua_toboolean(L, -1);
  lua_getfield(L, 1, "timeout");
  lua_pop(L, 4);
  /* a copy of the spec with pipes filled in */
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    if (run_only(L, -2)) { lua_pop(L, 1); continue; }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, -4);
  }
  if (has_input) { lua_pushinteger(L, SP_PIPE); lua_setfield(L, -2, "stdin"); }
  if (capture) {
    lua_pushinteger(L, SP_PIPE); lua_setfield(L, -2, "stdout");
    lua_pushinteger(L, SP_PIPE); lua_setfield(L, -2, "stderr");
  }
  int spec = lua_gettop(L);
  lua_pushcfunction(L, sp_popen);
  lua_pushvalue(L, spec);
  lua_call(L, 1, 1);
  int pop = lua_gettop(L);
  Popen *p = (Popen *)lua_touserdata(L, pop);
  lua_pushcfunction(L, sp_communicate);
  lua_pushvalue(L, pop);
  lua_getfield(L, 1, "input");
  lua_getfield(L, 1, "timeout");
  lua_call(L, 3, 2);
  lua_createtable(L, 0, 4);
  lua_getfield(L, 1, "args"); lua_setfield(L, -2, "args");
  lua_pushinteger(L, p->returncode); lua_setfield(L, -2, "returncode");
  lua_pushvalue(L, -3); lua_setfield(L, -2, "stdout");
  lua_pushvalue(L, -2); lua_setfield(L, -2, "stderr");
  if (check && p->returncode != 0) {
    lua_getfield(L, -1, "stderr");
    const char *err = lua_tostring(L, -1);
    return luaL_error(L, "subprocess.CalledProcessError: command '%s' returned non-zero exit status %d%s%s",
                      p->cmd, p->returncode, err && *err ? "\n" : "", err ? err : "");
  }
  (void)top;
  return 1;
}

static int sp_check_output(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  rt_check_options(L, 1, "check_output", run_options);
  lua_pushinteger(L, SP_PIPE);
  lua_setfield(L, 1, "stdout");
  lua_pushboolean(L, 1);
  lua_setfield(L, 1, "check");
  lua_pushcfunction(L, sp_run);
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "stdout");
  return 1;
}

static int sp_call(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  rt_check_options(L, 1, "call", run_options);
  lua_pushcfunction(L, sp_run);
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "returncode");
  return 1;
}

static int sp_check_call(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  rt_check_options(L, 1, "check_call", run_options);
  lua_pushboolean(L, 1);
  lua_setfield(L, 1, "check");
  return sp_call(L);
}

static const luaL_Reg popen_methods[] = {
  {"communicate", sp_communicate},
  {"wait", sp_wait},
  {"poll", sp_poll},
  {"kill", sp_kill},
  {"terminate", sp_terminate},
  {"send_signal", sp_send_signal},
  {NULL, NULL}
};

static const luaL_Reg funcs[] = {
  {"Popen", sp_popen},
  {"run", sp_run},
  {"call", sp_call},
  {"check_call", sp_check_call},
  {"check_output", sp_check_output},
  {NULL, NULL}
};

int luaopen_subprocess(lua_State *L) {
  static const luaL_Reg meta[] = {
    {"__index", sp_index}, {"__tostring", sp_tostring}, {"__gc", sp_gc}, {NULL, NULL}
  };
  rt_new_class(L, POPEN_MT, popen_methods, meta);
  luaL_newlib(L, funcs);
  lua_pushinteger(L, SP_PIPE);    lua_setfield(L, -2, "PIPE");
  lua_pushinteger(L, SP_STDOUT);  lua_setfield(L, -2, "STDOUT");
  lua_pushinteger(L, SP_DEVNULL); lua_setfield(L, -2, "DEVNULL");
  return 1;
}

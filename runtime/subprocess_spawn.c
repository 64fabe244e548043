/*
** subprocess_spawn.c — starting a subprocess child: the spec read from
** Popen's options table, and posix_spawnp (glibc reports exec failures,
** e.g. a missing program, as the call's return value: no error pipe
** needed, and no fork of a multi-threaded process). Signal dispositions
** and the signal mask are reset to defaults in the child.
*/
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "mp.h"
#include "subprocess_spawn.h"

extern char **environ;

void sp_free_strv(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

/* Reads one of stdin=/stdout=/stderr=: nil, subprocess.PIPE/DEVNULL/STDOUT,
** an fd, or a Lua file. */
int sp_get_how(lua_State *L, int t, const char *field) {
  int how = SP_INHERIT;
  lua_getfield(L, t, field);
  if (lua_isnil(L, -1)) how = SP_INHERIT;
  else if (lua_isinteger(L, -1)) {
    lua_Integer v = lua_tointeger(L, -1);
    if (v < SP_DEVNULL) luaL_error(L, "Popen: bad value %d for %s", (int)v, field);
    if (v == SP_STDOUT && strcmp(field, "stderr") != 0)
      luaL_error(L, "Popen: subprocess.STDOUT is only valid for stderr");
    how = (int)v;
  } else {
    luaL_Stream *s = (luaL_Stream *)luaL_testudata(L, -1, LUA_FILEHANDLE);
    if (s == NULL || s->closef == NULL)
      luaL_error(L, "Popen: %s must be subprocess.PIPE, DEVNULL, STDOUT, an fd or an open file (got %s)",
                 field, luaL_typename(L, -1));
    fflush(s->f);
    how = fileno(s->f);
  }
  lua_pop(L, 1);
  return how;
}

char **sp_get_argv(lua_State *L, int t, char *cmd, size_t cmdlen) {
  lua_getfield(L, t, "args");
  int shell = (lua_getfield(L, t, "shell"), lua_toboolean(L, -1));
  lua_pop(L, 1);
  char **argv;
  size_t n;
  if (lua_type(L, -1) == LUA_TSTRING) {
    argv = calloc(4, sizeof(char *));
    if (shell) {
      argv[0] = strdup("/bin/sh");
      argv[1] = strdup("-c");
      argv[2] = strdup(lua_tostring(L, -1));
    } else argv[0] = strdup(lua_tostring(L, -1));
  } else if (lua_type(L, -1) == LUA_TTABLE) {
    n = (size_t)luaL_len(L, -1);
    if (n == 0) luaL_error(L, "Popen: args is empty");
    argv = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
      lua_geti(L, -1, (lua_Integer)i + 1);
      const char *s = lua_tostring(L, -1);
      if (s == NULL) {
        sp_free_strv(argv);
        luaL_error(L, "Popen: args[%d] must be a string (got %s)", (int)i + 1, luaL_typename(L, -1));
      }
      argv[i] = strdup(s);
      lua_pop(L, 1);
    }
  } else {
    luaL_error(L, "Popen: args must be a table of strings or a string (got %s)", luaL_typename(L, -1));
    return NULL;
  }
  lua_pop(L, 1);
  size_t used = 0;
  cmd[0] = '\0';
  for (char **p = argv; *p && used + 2 < cmdlen; p++) {
    int w = snprintf(cmd + used, cmdlen - used, "%s%s", p == argv ? "" : " ", *p);
    if (w < 0) break;
    used += (size_t)w;
  }
  return argv;
}

char **sp_get_env(lua_State *L, int t) {
  if (lua_getfield(L, t, "env") == LUA_TNIL) { lua_pop(L, 1); return NULL; }
  luaL_checktype(L, -1, LUA_TTABLE);
  size_t n = 0, cap = 16;
  char **envp = calloc(cap, sizeof(char *));
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    const char *k = lua_tostring(L, -2), *v = lua_tostring(L, -1);
    if (lua_type(L, -2) != LUA_TSTRING || v == NULL) {
      sp_free_strv(envp);
      luaL_error(L, "Popen: env must map strings to strings");
    }
    if (n + 2 > cap) { cap *= 2; envp = realloc(envp, cap * sizeof(char *)); }
    size_t len = strlen(k) + strlen(v) + 2;
    envp[n] = malloc(len);
    snprintf(envp[n], len, "%s=%s", k, v);
    envp[++n] = NULL;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return envp;
}

int sp_spawn(Spec *sp, pid_t *pid, int ends[3]) {
  int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  int rc = 0;
  ends[0] = ends[1] = ends[2] = -1;
  for (int i = 0; i < 3; i++)
    if (sp->how[i] == SP_PIPE && pipe2(pipes[i], O_CLOEXEC) != 0) {
      rc = errno;
      goto out;
    }
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&at);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (sp->cwd) posix_spawn_file_actions_addchdir_np(&fa, sp->cwd);
  for (int i = 0; i < 3; i++) {
    int h = sp->how[i];
    if (h == SP_PIPE) posix_spawn_file_actions_adddup2(&fa, pipes[i][i == 0 ? 0 : 1], i);
    else if (h == SP_DEVNULL)
      posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
    else if (h == SP_STDOUT) posix_spawn_file_actions_adddup2(&fa, 1, 2);
    else if (h >= 0) posix_spawn_file_actions_adddup2(&fa, h, i);
  }
  rc = posix_spawnp(pid, sp->argv[0], &fa, &at, sp->argv, sp->envp ? sp->envp : environ);
  if (rc == 0) mp_reap_forget(*pid);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
out:
  for (int i = 0; i < 3; i++) {
    if (pipes[i][0] < 0) continue;
    int mine = i == 0 ? 1 : 0;           /* parent writes stdin, reads the others */
    close(pipes[i][1 - mine]);
    if (rc == 0) ends[i] = pipes[i][mine];
    else close(pipes[i][mine]);
  }
  return rc;
}

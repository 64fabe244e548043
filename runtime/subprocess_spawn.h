/*
** subprocess_spawn.h — what Popen (subprocess.c) asks of the spawning
** code (subprocess_spawn.c): reading the spec from an options table and
** starting the child with posix_spawnp.
*/
#ifndef subprocess_spawn_h
#define subprocess_spawn_h

#include <sys/types.h>

#include <lua.h>

#define SP_PIPE    (-1)
#define SP_STDOUT  (-2)
#define SP_DEVNULL (-3)
#define SP_INHERIT (-100)

/* What to start. argv and envp are malloc'ed (sp_free_strv). */
typedef struct Spec {
  char **argv;
  char **envp;           /* NULL: inherit */
  const char *cwd;
  int how[3];            /* SP_* or an fd (>= 0), or SP_INHERIT */
} Spec;

void sp_free_strv(char **v);
/* stdin=/stdout=/stderr= of the options table t: nil, subprocess.PIPE,
** DEVNULL, STDOUT, an fd, or a Lua file. Raises on anything else. */
int sp_get_how(lua_State *L, int t, const char *field);
/* args= (and shell=) of t as an argv; the command line, for messages,
** in cmd. Raises on bad input. */
char **sp_get_argv(lua_State *L, int t, char *cmd, size_t cmdlen);
/* env= of t as an envp, or NULL to inherit. Raises on bad input. */
char **sp_get_env(lua_State *L, int t);
/* Spawns per spec; on success fills the parent's pipe ends (or -1).
** Returns 0 or an errno. */
int sp_spawn(Spec *sp, pid_t *pid, int ends[3]);

#endif

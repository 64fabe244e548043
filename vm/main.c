/*
** main.c — gillua's command-line interpreter.
**
**   gillua [options] [script [args]]
**
** Behaves as lua 5.4's own interpreter (see cli.c for the options,
** clirun.c for how chunks run and errors are reported, repl.c for the
** interactive loop), plus the GIL options. Exit status: 0 ok, 1 error in
** the program, 2 usage error (bad option, value or GILLUA_* variable:
** detected before anything runs), 130 after Ctrl-C (gl_vm_finish).
*/
#include <stdlib.h>
#include <unistd.h>

#include <lauxlib.h>

#include "cli.h"
#include "universe.h"   /* the one runtime header of vm/: see the Makefile */

typedef struct MainArgs {
  int argc;
  char **argv;
  const CLIOptions *o;
} MainArgs;

/*
** Runs in protected mode (memory errors while building 'arg' and the
** like are reported as errors). Order, as lua's: version line, 'arg',
** LUA_INIT (unless -E), -e/-l/-W in order, the script,
** then the REPL (-i) or, with neither script nor -e nor -v, the REPL when
** stdin is a terminal and stdin as a script otherwise. Returns true on
** success; a failing step has already been reported. (Every universe
** runs the generational collector, as lua.c sets: gl_universe_new.)
*/
static int pmain(lua_State *L) {
  const MainArgs *m = (const MainArgs *)lua_touserdata(L, 1);
  const CLIOptions *o = m->o;
  int script = o->script;
  lua_settop(L, 0);
  luaL_checkversion(L);
  if (o->has_v) cli_version(stdout);
  cli_create_arg_table(L, m->argc, m->argv, script);
  if (!o->cfg.no_env && cli_run_init(L) != LUA_OK) return 0;
  if (cli_run_args(L, m->argv, script) != LUA_OK) return 0;
  if (script < m->argc && cli_run_script(L, m->argv, script) != LUA_OK)
    return 0;
  if (o->has_i)
    cli_repl(L);
  else if (script == m->argc && !o->has_e && !o->has_v) {
    if (isatty(STDIN_FILENO)) {
      cli_version(stdout);
      cli_repl(L);
    }
    else if (cli_run_stdin(L) != LUA_OK)
      return 0;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int usage_error(const char *msg) {
  cli_message(cli_progname, msg);
  cli_usage(stderr);
  return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
  CLIOptions o;
  char err[512];
  if (argv[0] && argv[0][0]) cli_progname = argv[0];
  if (cli_parse(argc, argv, &o, err, sizeof err) != 0)
    return usage_error(err);
  if (o.action == CLI_HELP) { cli_usage(stdout); return EXIT_SUCCESS; }
  if (o.action == CLI_VERSION) { cli_version(stdout); return EXIT_SUCCESS; }
  if (cli_apply_env(&o, getenv("GILLUA_GIL"), getenv("GILLUA_SWITCH"),
                    err, sizeof err) != 0)
    return usage_error(err);
  if (cli_apply_module_io_env(&o, getenv("GILLUA_MODULE_IO"), err, sizeof err) != 0)
    return usage_error(err);
  lua_State *L = gl_vm_start(&o.cfg, rt_open_universe, err, sizeof err);
  if (L == NULL) {
    cli_message(cli_progname, err);
    return EXIT_FAILURE;
  }
  MainArgs m = { argc, argv, &o };
  lua_pushcfunction(L, pmain);
  lua_pushlightuserdata(L, &m);
  int status = lua_pcall(L, 1, 1, 0);
  int ok = (status == LUA_OK && lua_toboolean(L, -1));
  cli_report(L, status, cli_progname);
  lua_settop(L, 0);
  return gl_vm_finish(L, ok ? 0 : 1);
}

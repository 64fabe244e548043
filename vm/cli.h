/*
** cli.h — the command-line interpreter: option parsing (cli.c), running
** chunks and reporting errors the way lua 5.4's own `lua` does
** (clirun.c), and the interactive loop (repl.c). main.c ties them up.
*/
#ifndef cli_h
#define cli_h

#include <stdio.h>

#include <lua.h>

#include "vm.h"

#define CLI_NAME "gillua"     /* the program's name when argv[0] is empty */

/* Prefix of the CLI's messages: argv[0] as given, as lua.c's 'progname'
** (set once by main before anything runs; read-only afterwards). */
extern const char *cli_progname;

#define CLI_EXIT_USAGE 2

typedef enum { CLI_RUN, CLI_HELP, CLI_VERSION } CLIAction;

typedef struct CLIOptions {
  GLConfig cfg;         /* what gl_vm_start needs (defaults filled by cli_parse) */
  CLIAction action;
  int script;           /* argv index of the script; argc when there is none */
  int has_e;            /* some -e was given */
  int has_i;            /* -i: REPL after the script (implies has_v) */
  int has_v;            /* -v (or -i): print the version line first */
  int gil_set;          /* --gil given: GILLUA_GIL is not consulted */
  int switch_set;       /* --switch given: GILLUA_SWITCH is not consulted */
  int module_io_set;    /* --module-io given: GILLUA_MODULE_IO is not consulted */
} CLIOptions;

/* Parses the options before the script, as lua 5.4 does, plus gillua's
** long options. Returns 0, or -1 with a message naming the bad option or
** value in 'err' (a usage error: the caller prints it and the usage).
** Stops at --help / --version (action says which). */
int cli_parse(int argc, char **argv, CLIOptions *o, char *err, size_t errlen);

/* Applies GILLUA_GIL / GILLUA_SWITCH (either may be NULL or empty: unset)
** unless the matching flag was given. Returns 0, or -1 with a message
** naming the variable. */
int cli_apply_env(CLIOptions *o, const char *gil, const char *sw,
                  char *err, size_t errlen);

/* Applies GILLUA_MODULE_IO (NULL or empty: unset) unless --module-io was
** given. Returns 0, or -1 with a message naming the variable. */
int cli_apply_module_io_env(CLIOptions *o, const char *v, char *err, size_t errlen);

void cli_usage(FILE *f);
void cli_version(FILE *f);

/* --- clirun.c: running chunks (all on the main universe L) --- */

/* "NAME: msg" (just "msg" when name is NULL) on stderr. */
void cli_message(const char *name, const char *msg);

/* Calls the function below 'narg' arguments with a message handler that
** appends a traceback; returns the lua_pcall status. */
int cli_docall(lua_State *L, int narg, int nres);

/* When status is an error, prints the message on top (prefixed with
** 'name' unless NULL) and pops it. Returns status. */
int cli_report(lua_State *L, int status, const char *name);

void cli_create_arg_table(lua_State *L, int argc, char **argv, int script);
int cli_run_init(lua_State *L);                       /* LUA_INIT_5_4 / LUA_INIT */
int cli_run_args(lua_State *L, char **argv, int n);   /* -e, -l, -W in order */
int cli_run_script(lua_State *L, char **argv, int script);
int cli_run_stdin(lua_State *L);                      /* no script, stdin not a tty */

/* --- repl.c --- */

/* Interactive loop until end of input (or Ctrl-C at the prompt). */
void cli_repl(lua_State *L);

#endif

/*
** clirun.c — running chunks from the command line and reporting their
** errors, with lua 5.4's behaviour: every error reaching the top level is
** printed as "PROGNAME: message" (argv[0] as given) followed by a traceback (the message
** handler adds it), non-string error objects are shown through their
** __tostring or as "(error object is a T value)".
**
** Ctrl-C: the vm's SIGINT handler makes the main thread raise
** "interrupted" (hook.c, block.c). Such an error carries a position
** ("x.lua:3: interrupted") or has been replaced by whatever the script
** raised afterwards, so once gl_was_interrupted() is true a top-level
** error is reported as plain "PROGNAME: interrupted" plus the traceback;
** gl_vm_finish then turns the exit status into 130.
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "cli.h"

const char *cli_progname = CLI_NAME;

void cli_message(const char *name, const char *msg) {
  if (name) fprintf(stderr, "%s: ", name);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

int cli_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;     /* the function's index */
  lua_pushcfunction(L, gl_traceback_handler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

int cli_report(lua_State *L, int status, const char *name) {
  if (status == LUA_OK) return status;
  int top = lua_gettop(L);             /* the error object */
  const char *msg = lua_tostring(L, -1);
  if (msg == NULL)
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, -1));
  if (name != NULL && gl_was_interrupted()) {
    const char *tb = strstr(msg, "\nstack traceback:");
    fprintf(stderr, "%s: interrupted%s\n", name, tb ? tb : "");
    fflush(stderr);
  }
  else
    cli_message(name, msg);
  lua_settop(L, top - 1);
  return status;
}

/*
** arg[0] is the script, arg[1..] its arguments, arg[-1..] the interpreter
** and the options before it. Without a script everything is positive
** from the interpreter at 0, as lua does.
*/
void cli_create_arg_table(lua_State *L, int argc, char **argv, int script) {
  if (script == argc) script = 0;
  lua_createtable(L, argc - (script + 1), script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = cli_docall(L, 0, 0);
  return cli_report(L, status, cli_progname);
}

static int dostring(lua_State *L, const char *s, const char *chunkname) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), chunkname));
}

/* -l mod or -l g=mod: global g (or mod) = require(mod). */
static int dolibrary(lua_State *L, const char *spec) {
  const char *eq = strchr(spec, '=');
  const char *mod = eq ? eq + 1 : spec;
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  int status = cli_docall(L, 1, 1);
  if (status == LUA_OK) {
    if (eq) lua_pushlstring(L, spec, (size_t)(eq - spec));
    else lua_pushstring(L, spec);
    lua_insert(L, -2);
    lua_setglobal(L, lua_tostring(L, -2));
    lua_pop(L, 1);
  }
  return cli_report(L, status, cli_progname);
}

int cli_run_init(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dochunk(L, luaL_loadfile(L, init + 1));
  return dostring(L, init, name);
}

/* Executes -e, -l and -W among argv[1..n-1] in order. cli_parse has
** validated them: every -e/-l has its argument. Returns LUA_OK or the
** first failing status (already reported). */
int cli_run_args(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    const char *a = argv[i];
    int status = LUA_OK;
    if (a[1] == 'e' || a[1] == 'l') {
      const char *extra = (a[2] != '\0') ? a + 2 : argv[++i];
      status = (a[1] == 'e') ? dostring(L, extra, "=(command line)")
                             : dolibrary(L, extra);
    }
    else if (a[1] == 'W')
      lua_warning(L, "@on", 0);
    if (status != LUA_OK) return status;
  }
  return LUA_OK;
}

/* Pushes arg[1..#arg], the script's varargs. */
static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE)
    luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -n - 1);
  return n;
}

int cli_run_script(lua_State *L, char **argv, int script) {
  const char *fname = argv[script];
  /* "-" is stdin, unless it came right after "--" (then a file named "-") */
  if (strcmp(fname, "-") == 0 && strcmp(argv[script - 1], "--") != 0)
    fname = NULL;
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = cli_docall(L, n, LUA_MULTRET);
  }
  return cli_report(L, status, cli_progname);
}

int cli_run_stdin(lua_State *L) {
  return dochunk(L, luaL_loadfile(L, NULL));
}

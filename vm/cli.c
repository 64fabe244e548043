/*
** cli.c — command-line options.
**
** The rules are lua 5.4's: options come before the script; the first
** argument that does not start with '-' is the script, "-" means stdin
** is the script, "--" ends the options (the next argument, if any, is the
** script). -e and -l take their argument either glued ("-eprint(1)") or
** as the next argument, which must not itself start with '-'. Anything
** after the script belongs to the script. Parsing only validates and
** records: -e/-l/-W are executed later, in order, by cli_run_args, which
** walks the same argv slice again.
**
** gillua adds long options (all in "--name=value" form, so each is one
** argv entry and cli_run_args can skip them): --gil, --switch, --stats,
** --trace, --help, --version; and -h. Every bad option or value is a
** usage error whose message names it.
*/
#include <string.h>

#include "cli.h"

#ifndef GILLUA_VERSION
#define GILLUA_VERSION "0.0.0"
#endif

#define DEFAULT_BYTECODES 100

static int fail(char *err, size_t errlen, const char *fmt, const char *a,
                const char *b) {
  snprintf(err, errlen, fmt, a, b);
  return -1;
}

static int parse_gil(const char *v, int *on) {
  if (strcmp(v, "on") == 0) *on = 1;
  else if (strcmp(v, "off") == 0) *on = 0;
  else return -1;
  return 0;
}

static int parse_module_io(const char *v, int *hold) {
  if (strcmp(v, "release") == 0) *hold = 0;
  else if (strcmp(v, "hold") == 0) *hold = 1;
  else return -1;
  return 0;
}

/* "--name" or "--name=value": 'value' gets NULL or the text after '='.
** True when 'a' is that option. */
static int is_long(const char *a, const char *name, const char **value) {
  size_t n = strlen(name);
  if (strncmp(a + 2, name, n) != 0) return 0;
  if (a[2 + n] == '\0') { *value = NULL; return 1; }
  if (a[2 + n] == '=') { *value = a + 3 + n; return 1; }
  return 0;
}

/* One "--..." option (not "--" itself). Returns 0 (go on), 1 (stop:
** help or version) or -1 (usage error). */
static int long_option(const char *a, CLIOptions *o, char *err, size_t errlen) {
  const char *v;
  char why[160];
  if (is_long(a, "gil", &v)) {
    if (v == NULL)
      return fail(err, errlen, "option '%s' needs a value (--gil=on|off)", a, NULL);
    if (parse_gil(v, &o->cfg.gil_on) != 0)
      return fail(err, errlen, "invalid --gil value '%s' (expected on or off)", v, NULL);
    o->gil_set = 1;
    return 0;
  }
  if (is_long(a, "switch", &v)) {
    if (v == NULL)
      return fail(err, errlen, "option '%s' needs a value "
                  "(--switch=ticks:N|bytecodes:N|interval:MS|priority:MS[:PCT])", a, NULL);
    if (gil_parse_policy(v, &o->cfg.policy, why, sizeof why) != 0)
      return fail(err, errlen, "invalid --switch value '%s': %s", v, why);
    o->switch_set = 1;
    return 0;
  }
  if (is_long(a, "module-io", &v)) {
    if (v == NULL)
      return fail(err, errlen, "option '%s' needs a value (--module-io=release|hold)", a, NULL);
    if (parse_module_io(v, &o->cfg.module_io_hold) != 0)
      return fail(err, errlen, "invalid --module-io value '%s' (expected release or hold)", v, NULL);
    o->module_io_set = 1;
    return 0;
  }
  if (is_long(a, "trace", &v)) {
    if (v == NULL || *v == '\0')
      return fail(err, errlen, "option '--trace' needs a file name (--trace=FILE)", NULL, NULL);
    o->cfg.trace_path = v;
    return 0;
  }
  if (is_long(a, "stats", &v) || is_long(a, "help", &v) || is_long(a, "version", &v)) {
    if (v != NULL) {
      char name[32];
      snprintf(name, sizeof name, "%.*s", (int)(strcspn(a, "=")), a);
      return fail(err, errlen, "option '%s' does not take a value", name, NULL);
    }
    if (a[2] == 's') { o->cfg.stats = 1; return 0; }
    o->action = (a[2] == 'h') ? CLI_HELP : CLI_VERSION;
    return 1;
  }
  return fail(err, errlen, "unrecognized option '%s'", a, NULL);
}

/* A short option "-x...". Advances *i past a separate argument. */
static int short_option(int argc, char **argv, int *i, CLIOptions *o,
                        char *err, size_t errlen) {
  const char *a = argv[*i];
  int glued = (a[2] != '\0');
  switch (a[1]) {
    case 'e': case 'l':
      if (a[1] == 'e') o->has_e = 1;
      if (!glued) {
        if (*i + 1 >= argc || argv[*i + 1][0] == '-')
          return fail(err, errlen, "'%s' needs argument", a, NULL);
        (*i)++;
      }
      return 0;
    case 'h':
      if (glued) break;
      o->action = CLI_HELP;
      return 1;
    case 'i':
      if (glued) break;
      o->has_i = o->has_v = 1;
      return 0;
    case 'v':
      if (glued) break;
      o->has_v = 1;
      return 0;
    case 'E':
      if (glued) break;
      o->cfg.no_env = 1;
      return 0;
    case 'W':
      if (glued) break;
      return 0;   /* executed in order by cli_run_args */
  }
  return fail(err, errlen, "unrecognized option '%s'", a, NULL);
}

int cli_parse(int argc, char **argv, CLIOptions *o, char *err, size_t errlen) {
  int i, r = 0;
  memset(o, 0, sizeof *o);
  o->cfg.gil_on = 1;
  o->cfg.policy.kind = GIL_BYTECODES;
  o->cfg.policy.n = DEFAULT_BYTECODES;
  o->action = CLI_RUN;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || a[1] == '\0') break;        /* script, or "-" (stdin) */
    if (a[1] == '-' && a[2] == '\0') { i++; break; }  /* "--" */
    r = (a[1] == '-') ? long_option(a, o, err, errlen)
                      : short_option(argc, argv, &i, o, err, errlen);
    if (r != 0) break;
  }
  o->script = (i < argc) ? i : argc;
  return r < 0 ? -1 : 0;
}

int cli_apply_env(CLIOptions *o, const char *gil, const char *sw,
                  char *err, size_t errlen) {
  char why[160];
  if (!o->gil_set && gil != NULL && *gil != '\0' &&
      parse_gil(gil, &o->cfg.gil_on) != 0)
    return fail(err, errlen, "invalid GILLUA_GIL value '%s' (expected on or off)",
                gil, NULL);
  if (!o->switch_set && sw != NULL && *sw != '\0' &&
      gil_parse_policy(sw, &o->cfg.policy, why, sizeof why) != 0)
    return fail(err, errlen, "invalid GILLUA_SWITCH value '%s': %s", sw, why);
  return 0;
}

int cli_apply_module_io_env(CLIOptions *o, const char *v, char *err, size_t errlen) {
  if (o->module_io_set || v == NULL || *v == '\0') return 0;
  if (parse_module_io(v, &o->cfg.module_io_hold) != 0)
    return fail(err, errlen, "invalid GILLUA_MODULE_IO value '%s' (expected release or hold)",
                v, NULL);
  return 0;
}

void cli_usage(FILE *f) {
  fprintf(f, "usage: %s [options] [script [args]]\n", cli_progname);
  fputs(
  "Available options are:\n"
  "  -e stat   execute string 'stat'\n"
  "  -i        enter interactive mode after executing 'script'\n"
  "  -l mod    require library 'mod' into global 'mod'\n"
  "  -l g=mod  require library 'mod' into global 'g'\n"
  "  -v        show version information\n"
  "  -E        ignore environment variables\n"
  "  -W        turn warnings on\n"
  "  --        stop handling options\n"
  "  -         stop handling options and execute stdin\n"
  "GIL options:\n"
  "  --gil=on|off            on (default): threads share one universe under the GIL;\n"
  "                          off: every thread runs its own interpreter, no GIL\n"
  "  --switch=bytecodes:N    hand the GIL to the next waiter after N bytecodes'\n"
  "                          time, at least 0.5 ms (default bytecodes:100)\n"
  "  --switch=interval:MS    a waiting thread asks the holder to drop after MS ms\n"
  "  --switch=priority:MS[:PCT]  interval:MS, but a thread back from a blocking\n"
  "                          call is served first, within a budget of PCT% of\n"
  "                          the GIL's time (default 5)\n"
  "  --switch=ticks:N        CPython 2: drop and retake the GIL every N bytecodes\n"
  "  --module-io=release|hold  release (default): C modules' blocking calls\n"
  "                          (recv, accept, poll, sleep...) let go of the GIL\n"
  "                          while they wait; hold: they keep it\n"
  "  --stats                 print GIL statistics to stderr at exit\n"
  "  --trace=FILE            write the GIL timeline to FILE (Chrome trace JSON)\n"
  "  -h, --help              show this help and exit\n"
  "  --version               show version information and exit\n"
  "Environment: GILLUA_GIL, GILLUA_SWITCH, GILLUA_MODULE_IO (as --gil, --switch,\n"
  "--module-io; flags win),\n"
  "LUA_INIT_5_4 or LUA_INIT, LUA_PATH, LUA_CPATH (ignored with -E).\n"
  "Exit status: 0 ok, 1 error in the script, 2 usage error, 130 Ctrl-C.\n",
  f);
  fflush(f);
}

/* gillua's line, then Lua's own (lua.c's print_version), which scripts
** and Lua's test suite look for. */
void cli_version(FILE *f) {
  fputs("gillua " GILLUA_VERSION "\n" LUA_COPYRIGHT "\n", f);
  fflush(f);
}

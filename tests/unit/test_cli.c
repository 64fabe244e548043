/*
** test_cli.c — command-line option parsing (vm/cli.c): lua 5.4's rules
** for where the options end and the script begins, gillua's long
** options, the environment variables, and the usage errors.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static char err[512];

static int parse(int argc, char **argv, CLIOptions *o) {
  err[0] = '\0';
  return cli_parse(argc, argv, o, err, sizeof err);
}

static void test_defaults(void **state) {
  (void)state;
  char *argv[] = { "gillua", NULL };
  CLIOptions o;
  assert_int_equal(parse(ARGC(argv), argv, &o), 0);
  assert_int_equal(o.action, CLI_RUN);
  assert_int_equal(o.script, 1);              /* == argc: no script */
  assert_int_equal(o.cfg.gil_on, 1);
  assert_int_equal(o.cfg.policy.kind, GIL_BYTECODES);
  assert_int_equal(o.cfg.policy.n, 100);
  assert_int_equal(o.cfg.stats, 0);
  assert_null(o.cfg.trace_path);
  assert_int_equal(o.cfg.no_env, 0);
  assert_false(o.has_e || o.has_i || o.has_v);
}

static void test_script_ends_options(void **state) {
  (void)state;
  char *argv[] = { "gillua", "-E", "-e", "x=1", "-lmod", "s.lua", "--gil=bogus", "-e", NULL };
  CLIOptions o;
  assert_int_equal(parse(ARGC(argv), argv, &o), 0);
  assert_int_equal(o.script, 5);
  assert_int_equal(o.cfg.no_env, 1);
  assert_int_equal(o.has_e, 1);
  assert_int_equal(o.cfg.gil_on, 1);          /* after the script: not ours */
}

static void test_dash_and_double_dash(void **state) {
  (void)state;
  CLIOptions o;
  char *a1[] = { "gillua", "-", "x", NULL };
  assert_int_equal(parse(ARGC(a1), a1, &o), 0);
  assert_int_equal(o.script, 1);
  char *a2[] = { "gillua", "--", "-v", NULL };
  assert_int_equal(parse(ARGC(a2), a2, &o), 0);
  assert_int_equal(o.script, 2);
  assert_int_equal(o.has_v, 0);
  char *a3[] = { "gillua", "-v", "--", NULL };
  assert_int_equal(parse(ARGC(a3), a3, &o), 0);
  assert_int_equal(o.script, 3);              /* no script */
}

static void test_i_implies_v(void **state) {
  (void)state;
  char *argv[] = { "gillua", "-i", NULL };
  CLIOptions o;
  assert_int_equal(parse(ARGC(argv), argv, &o), 0);
  assert_int_equal(o.has_i, 1);
  assert_int_equal(o.has_v, 1);
}

static void test_long_options(void **state) {
  (void)state;
  char *argv[] = { "gillua", "--gil=off", "--switch=interval:5", "--stats",
                   "--trace=t.json", "-W", "s.lua", NULL };
  CLIOptions o;
  assert_int_equal(parse(ARGC(argv), argv, &o), 0);
  assert_int_equal(o.cfg.gil_on, 0);
  assert_int_equal(o.gil_set, 1);
  assert_int_equal(o.switch_set, 1);
  assert_int_equal(o.cfg.policy.kind, GIL_INTERVAL);
  assert_int_equal(o.cfg.policy.n, 5000);     /* microseconds */
  assert_int_equal(o.cfg.stats, 1);
  assert_string_equal(o.cfg.trace_path, "t.json");
  assert_int_equal(o.script, 6);
}

static void test_help_and_version(void **state) {
  (void)state;
  CLIOptions o;
  char *a1[] = { "gillua", "--help", "--bogus", NULL };
  assert_int_equal(parse(ARGC(a1), a1, &o), 0);
  assert_int_equal(o.action, CLI_HELP);
  char *a2[] = { "gillua", "-h", NULL };
  assert_int_equal(parse(ARGC(a2), a2, &o), 0);
  assert_int_equal(o.action, CLI_HELP);
  char *a3[] = { "gillua", "-e", "x", "--version", NULL };
  assert_int_equal(parse(ARGC(a3), a3, &o), 0);
  assert_int_equal(o.action, CLI_VERSION);
}

/* Each bad command line fails with a message containing 'want'. */
static void expect_error(char **argv, int argc, const char *want) {
  CLIOptions o;
  assert_int_equal(parse(argc, argv, &o), -1);
  if (strstr(err, want) == NULL) fail_msg("message '%s' lacks '%s'", err, want);
}

static void test_usage_errors(void **state) {
  (void)state;
  char *a1[] = { "gillua", "--foo", NULL };
  expect_error(a1, ARGC(a1), "unrecognized option '--foo'");
  char *a2[] = { "gillua", "-e", NULL };
  expect_error(a2, ARGC(a2), "'-e' needs argument");
  char *a3[] = { "gillua", "-l", "-x", NULL };
  expect_error(a3, ARGC(a3), "'-l' needs argument");
  char *a4[] = { "gillua", "--gil=maybe", NULL };
  expect_error(a4, ARGC(a4), "invalid --gil value 'maybe'");
  char *a5[] = { "gillua", "--switch=bytecodes:0", NULL };
  expect_error(a5, ARGC(a5), "invalid --switch value 'bytecodes:0'");
  char *a6[] = { "gillua", "--switch=bytecodes:x", NULL };
  expect_error(a6, ARGC(a6), "invalid --switch value 'bytecodes:x'");
  char *a7[] = { "gillua", "--switch=interval:-1", NULL };
  expect_error(a7, ARGC(a7), "invalid --switch value 'interval:-1'");
  char *a8[] = { "gillua", "--switch=foo:3", NULL };
  expect_error(a8, ARGC(a8), "invalid --switch value 'foo:3'");
  char *a9[] = { "gillua", "-vx", NULL };
  expect_error(a9, ARGC(a9), "unrecognized option '-vx'");
  char *a10[] = { "gillua", "--stats=1", NULL };
  expect_error(a10, ARGC(a10), "'--stats'");
  char *a11[] = { "gillua", "--trace=", NULL };
  expect_error(a11, ARGC(a11), "'--trace'");
  char *a12[] = { "gillua", "---", NULL };
  expect_error(a12, ARGC(a12), "unrecognized option '---'");
}

static void test_environment(void **state) {
  (void)state;
  CLIOptions o;
  char *argv[] = { "gillua", NULL };
  assert_int_equal(parse(ARGC(argv), argv, &o), 0);
  assert_int_equal(cli_apply_env(&o, "off", "interval:2", err, sizeof err), 0);
  assert_int_equal(o.cfg.gil_on, 0);
  assert_int_equal(o.cfg.policy.kind, GIL_INTERVAL);
  assert_int_equal(o.cfg.policy.n, 2000);
  /* empty means unset */
  assert_int_equal(parse(ARGC(argv), argv, &o), 0);
  assert_int_equal(cli_apply_env(&o, "", "", err, sizeof err), 0);
  assert_int_equal(o.cfg.gil_on, 1);
  /* bad values name the variable */
  assert_int_equal(cli_apply_env(&o, "maybe", NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, "GILLUA_GIL"));
  assert_int_equal(cli_apply_env(&o, NULL, "bytecodes:0", err, sizeof err), -1);
  assert_non_null(strstr(err, "GILLUA_SWITCH"));
  /* flags win: the variables are not even looked at */
  char *a2[] = { "gillua", "--gil=on", "--switch=bytecodes:7", NULL };
  assert_int_equal(parse(ARGC(a2), a2, &o), 0);
  assert_int_equal(cli_apply_env(&o, "bogus", "bogus", err, sizeof err), 0);
  assert_int_equal(o.cfg.gil_on, 1);
  assert_int_equal(o.cfg.policy.n, 7);
}

static void test_module_io(void **state) {
  (void)state;
  CLIOptions o;
  char *def[] = { "gillua", NULL };
  assert_int_equal(parse(ARGC(def), def, &o), 0);
  assert_int_equal(o.cfg.module_io_hold, 0);            /* release by default */
  char *hold[] = { "gillua", "--module-io=hold", NULL };
  assert_int_equal(parse(ARGC(hold), hold, &o), 0);
  assert_int_equal(o.cfg.module_io_hold, 1);
  assert_int_equal(o.module_io_set, 1);
  /* the flag wins over the variable, which is not even looked at */
  assert_int_equal(cli_apply_module_io_env(&o, "bogus", err, sizeof err), 0);
  assert_int_equal(o.cfg.module_io_hold, 1);
  char *bad[] = { "gillua", "--module-io=maybe", NULL };
  assert_int_equal(parse(ARGC(bad), bad, &o), -1);
  assert_non_null(strstr(err, "--module-io"));
  char *bare[] = { "gillua", "--module-io", NULL };
  assert_int_equal(parse(ARGC(bare), bare, &o), -1);
  assert_non_null(strstr(err, "needs a value"));
  /* the variable: hold, release, empty (unset), a bad value naming it */
  assert_int_equal(parse(ARGC(def), def, &o), 0);
  assert_int_equal(cli_apply_module_io_env(&o, "hold", err, sizeof err), 0);
  assert_int_equal(o.cfg.module_io_hold, 1);
  assert_int_equal(cli_apply_module_io_env(&o, "release", err, sizeof err), 0);
  assert_int_equal(o.cfg.module_io_hold, 0);
  assert_int_equal(cli_apply_module_io_env(&o, "", err, sizeof err), 0);
  assert_int_equal(o.cfg.module_io_hold, 0);
  assert_int_equal(cli_apply_module_io_env(&o, "off", err, sizeof err), -1);
  assert_non_null(strstr(err, "GILLUA_MODULE_IO"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_script_ends_options),
    cmocka_unit_test(test_dash_and_double_dash),
    cmocka_unit_test(test_i_implies_v),
    cmocka_unit_test(test_long_options),
    cmocka_unit_test(test_help_and_version),
    cmocka_unit_test(test_usage_errors),
    cmocka_unit_test(test_environment),
    cmocka_unit_test(test_module_io),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

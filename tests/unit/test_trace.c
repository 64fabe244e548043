/*
** test_trace.c — the GIL timeline writer (vm/trace.c).
**
** Each scenario runs in a forked child (the trace is process-wide and is
** written once per process); the parent reads the file the child wrote.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "block.h"
#include "gthread.h"
#include "trace.h"

static char path[64];

static void setup_thread (GLThread *t, unsigned long serial, const char *name) {
  memset(t, 0, sizeof *t);
  t->serial = serial;
  t->is_main = serial == 0;
  t->native_id = 100000 + (lua_Integer)serial;
  snprintf(t->name, sizeof t->name, "%s", name);
}

/* Runs fn in a child process and returns the file the child wrote. */
static char *run_child (void (*fn)(void), const char *env_cap) {
  pid_t pid;
  int status;
  FILE *f;
  long n;
  char *text;
  snprintf(path, sizeof path, "/tmp/gillua_trace_test_%d.json", (int)getpid());
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char err[256];
    if (env_cap) setenv("GILLUA_TRACE_EVENTS", env_cap, 1);
    if (gl_trace_open(path, err, sizeof err) != 0) {
      fprintf(stderr, "%s\n", err);
      _exit(3);
    }
    fn();
    gl_trace_close();
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  f = fopen(path, "r");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  text = malloc((size_t)n + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
  text[n] = '\0';
  fclose(f);
  unlink(path);
  return text;
}

static int count (const char *s, const char *needle) {
  int n = 0;
  for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* Brackets balance outside strings and the text is one object. */
static void assert_json_shape (const char *s) {
  int depth = 0, in_str = 0;
  assert_int_equal(s[0], '{');
  for (const char *p = s; *p; p++) {
    if (in_str) {
      if (*p == '\\') p++;
      else if (*p == '"') in_str = 0;
    }
    else if (*p == '"') in_str = 1;
    else if (*p == '{' || *p == '[') depth++;
    else if (*p == '}' || *p == ']') {
      depth--;
      assert_true(depth >= 0);
    }
  }
  assert_int_equal(in_str, 0);
  assert_int_equal(depth, 0);
}

/* --- scenario 1: one thread, hold / wait / block spans and a request --- */

static GLThread main_t, worker_t;

static void one_thread (void) {
  uint64_t t0 = gl_now_ns() - 1000000;   /* events in the past */
  setup_thread(&main_t, 0, "MainThread");
  gl_self = &main_t;
  GL_TRACE(&main_t, TR_HOLD_BEGIN, t0 + 1000);
  GL_TRACE(&main_t, TR_HOLD_END, t0 + 3000);
  GL_TRACE(&main_t, TR_BLOCK_BEGIN, t0 + 3000);
  GL_TRACE(&main_t, TR_BLOCK_END, t0 + 5000);
  GL_TRACE(&main_t, TR_WAIT_BEGIN, t0 + 5000);
  GL_TRACE(&main_t, TR_SWITCH_REQUEST, t0 + 6000);
  GL_TRACE(&main_t, TR_WAIT_END, t0 + 7000);
  GL_TRACE(&main_t, TR_HOLD_BEGIN, t0 + 7000);   /* still open at exit */
}

static void test_spans (void **state) {
  char *s = run_child(one_thread, NULL);
  (void)state;
  assert_json_shape(s);
  assert_int_equal(count(s, "\"name\":\"holding\""), 2);
  assert_int_equal(count(s, "\"name\":\"waiting\""), 1);
  assert_int_equal(count(s, "\"name\":\"blocked\""), 1);
  assert_int_equal(count(s, "\"name\":\"switch request\""), 1);
  assert_non_null(strstr(s, "\"dur\":2.000"));              /* 2 us spans */
  assert_non_null(strstr(s, "\"args\":{\"open\":true}"));   /* closed at exit */
  assert_non_null(strstr(s, "\"thread_name\""));
  assert_non_null(strstr(s, "\"MainThread\""));
  assert_non_null(strstr(s, "\"dropped\":0"));
  assert_null(strstr(s, "trace_dropped"));
  free(s);
}

/* --- scenario 2: two threads recording at once, one requests a switch --- */

static void *worker (void *arg) {
  (void)arg;
  gl_self = &worker_t;
  for (int i = 0; i < 1000; i++) {
    uint64_t t = gl_now_ns();
    GL_TRACE(&worker_t, TR_WAIT_BEGIN, t);
    GL_TRACE(&main_t, TR_SWITCH_REQUEST, t);   /* the holder is main */
    GL_TRACE(&worker_t, TR_WAIT_END, t + 10);
    GL_TRACE(&worker_t, TR_HOLD_BEGIN, t + 10);
    GL_TRACE(&worker_t, TR_HOLD_END, t + 20);
  }
  gl_trace_thread_exit(&worker_t);
  return NULL;
}

static void two_threads (void) {
  pthread_t th;
  setup_thread(&main_t, 0, "MainThread");
  setup_thread(&worker_t, 1, "Thread-1");
  gl_self = &main_t;
  GL_TRACE(&main_t, TR_HOLD_BEGIN, gl_now_ns());
  if (pthread_create(&th, NULL, worker, NULL) != 0) _exit(4);
  for (int i = 0; i < 1000; i++) {
    uint64_t t = gl_now_ns();
    GL_TRACE(&main_t, TR_HOLD_END, t);
    GL_TRACE(&main_t, TR_HOLD_BEGIN, t + 5);
  }
  pthread_join(th, NULL);
  GL_TRACE(&main_t, TR_HOLD_END, gl_now_ns());
}

static void test_two_lanes (void **state) {
  char *s = run_child(two_threads, NULL);
  (void)state;
  assert_json_shape(s);
  assert_non_null(strstr(s, "\"Thread-1\""));
  assert_int_equal(count(s, "\"tid\":100001,\"ts\""), 3000);  /* worker lane */
  assert_int_equal(count(s, "\"name\":\"switch request\""), 1000);
  assert_int_equal(count(s, "\"holder\":\"MainThread\""), 1000);
  assert_int_equal(count(s, "\"tid\":100000,\"ts\""), 1001);  /* main lane */
  free(s);
}

/* --- scenario 3: a small buffer fills up: events dropped, and said so --- */

static void overflow (void) {
  uint64_t t0 = gl_now_ns() - 1000000;
  setup_thread(&main_t, 0, "MainThread");
  gl_self = &main_t;
  for (int i = 0; i < 100; i++) {
    GL_TRACE(&main_t, TR_HOLD_BEGIN, t0 + (uint64_t)i * 100);
    GL_TRACE(&main_t, TR_HOLD_END, t0 + (uint64_t)i * 100 + 50);
  }
  GL_TRACE(&main_t, TR_HOLD_BEGIN, t0 + 20000);
}

static void test_dropped (void **state) {
  char *s = run_child(overflow, "17");   /* 8 pairs + a begin fit */
  (void)state;
  assert_json_shape(s);
  assert_int_equal(count(s, "\"name\":\"holding\""), 9);
  assert_non_null(strstr(s, "\"truncated\":true"));
  assert_non_null(strstr(s, "\"trace_dropped\""));
  assert_non_null(strstr(s, "\"dropped\":184"));           /* 201 - 17 */
  assert_non_null(strstr(s, "trace buffer full"));
  free(s);
}

static void test_bad_path_and_env (void **state) {
  char err[256];
  (void)state;
  assert_int_equal(gl_trace_open("/nonexistent-dir/x.json", err, sizeof err), -1);
  assert_non_null(strstr(err, "/nonexistent-dir/x.json"));
  setenv("GILLUA_TRACE_EVENTS", "abc", 1);
  assert_int_equal(gl_trace_open("/tmp/x.json", err, sizeof err), -1);
  assert_non_null(strstr(err, "GILLUA_TRACE_EVENTS"));
  unsetenv("GILLUA_TRACE_EVENTS");
  assert_int_equal(gl_trace_enabled, 0);
}

int main (void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_spans),
    cmocka_unit_test(test_two_lanes),
    cmocka_unit_test(test_dropped),
    cmocka_unit_test(test_bad_path_and_env),
  };
  return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}

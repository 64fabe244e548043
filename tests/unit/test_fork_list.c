/*
** test_fork_list.c — gl_at_fork and gl_fork (vm/vm.c): every prepare step
** runs in list order before fork(), then every parent step (with the
** child's pid) or every child step in the same order; a triple is
** registered once; a mutex taken in prepare is free in both processes
** afterwards, also when another thread wanted it at the fork.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm.h"

static char steps[32];          /* what ran, in order: one letter a step */
static int nsteps;
static pid_t parent_saw;

static void note(char c) { if (nsteps < 31) steps[nsteps++] = c; steps[nsteps] = '\0'; }

static void prep_a(void) { note('A'); }
static void parent_a(pid_t pid) { note('a'); parent_saw = pid; }
static void child_a(void) { note('1'); }
static void prep_b(void) { note('B'); }
static void parent_b(pid_t pid) { (void)pid; note('b'); }
static void child_b(void) { note('2'); }

static pthread_mutex_t guarded = PTHREAD_MUTEX_INITIALIZER;
static void prep_mu(void) { pthread_mutex_lock(&guarded); }
static void parent_mu(pid_t pid) { (void)pid; pthread_mutex_unlock(&guarded); }
static void child_mu(void) { pthread_mutex_init(&guarded, NULL); }

static void *hammer(void *ud) {
  atomic_int *stop = (atomic_int *)ud;
  while (!atomic_load(stop)) { pthread_mutex_lock(&guarded); pthread_mutex_unlock(&guarded); }
  return NULL;
}

static void order_and_once(void **state) {
  (void)state;
  gl_at_fork(prep_a, parent_a, child_a);
  gl_at_fork(prep_b, parent_b, child_b);
  gl_at_fork(prep_a, parent_a, child_a);      /* again: ignored */
  gl_at_fork(prep_mu, parent_mu, child_mu);
  nsteps = 0;
  pid_t pid = gl_fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(strcmp(steps, "AB12") == 0 ? 0 : 1);
  assert_string_equal(steps, "ABab");
  assert_int_equal(parent_saw, pid);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* 200 forks while another thread takes and drops the mutex: the child
** can always take it (it would hang if the fork caught the thread inside). */
static void mutex_free_in_child(void **state) {
  (void)state;
  atomic_int stop = 0;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, hammer, &stop), 0);
  for (int i = 0; i < 200; i++) {
    pid_t pid = gl_fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      alarm(5);                                /* a hang fails the test */
      pthread_mutex_lock(&guarded);
      _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    pthread_mutex_lock(&guarded);              /* and the parent's is free */
    pthread_mutex_unlock(&guarded);
  }
  atomic_store(&stop, 1);
  pthread_join(t, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(order_and_once),
    cmocka_unit_test(mutex_free_in_child),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

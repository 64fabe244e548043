/*
** tpool.c — the OS threads that run gillua's threads, kept for reuse.
**
** Starting a thread costs a pthread_create (clone, a 16 MiB stack mapping,
** the kernel's bookkeeping) and its end the unmapping; a program that
** starts many short threads pays both each time. So an OS thread whose
** work is done parks here for up to IDLE_NS, and the next gl_spawn hands
** it the new work (one condition signal) instead of creating a thread. At
** most MAX_IDLE threads park; the others end as before.
**
** What a reused thread must not carry over: the only thread-local state
** in vm/ and runtime/ is gl_self (gthread.c), cleared after each run; the
** signal mask is the one every spawned thread has (SIGINT blocked, so it
** always reaches the main thread). ident and native_id of a new gillua
** thread may equal those of a finished one, as Python allows.
**
** A parked thread first spins for PARK_SPIN_NS (spin.c) and only then
** sleeps on its condition: a program that starts threads
** one after another (start, join, start...) hands the next one over
** within microseconds, and a spinning thread takes it without the futex
** wake-up a sleeping one needs (16-35 us on a 2-core VM). Only one parked
** thread spins at a time (pool.spinner), and gl_spawn hands work to it
** first: when a batch of threads ends, the others go to sleep at once
** rather than take the cores from the threads still running (a prototype
** with two parked threads spinning beside a running one on 2 cores spent
** 66% of its CPU time spinning).
**
** fork(): a child has none of the parent's parked threads; the fork duty
** (gl_at_fork, registered by vm.c) holds pool.mu across fork() and empties
** the list in the child (the parent's prepared things are not the
** child's to close).
**
** Work prepared ahead (gl_tpool_set_prepare; GIL off: the next thread's
** interpreter): the parked thread that becomes the spinner prepares first,
** while on the idle list, so work handed to it meanwhile runs as soon as
** the preparation ends; the work takes the result on the same OS thread.
** 'holding' counts the Workers holding or making one; the exit path
** (gl_tpool_discard_prepared) sets 'closing', tells the parked threads to
** end (fn NULL) and waits for 'holding' to reach 0.
**
** Fields: pool.mu guards the idle list, its length, the spinner, prepare,
** discard, holding, closing and every parked Worker's fn/arg/handed (a
** Worker's cv is used with pool.mu only); 'handed' is atomic besides, and
** set after fn and arg, so a spinning Worker may read it, then them,
** without the lock. A Worker's 'prepared' is its own thread's only.
*/
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "block.h"
#include "gthread.h"
#include "spin.h"
#include "tpool.h"

#define IDLE_NS 1000000000ull      /* a parked thread waits this long for work */
#define PARK_SPIN_NS 100000ull     /* ... spinning for the first 100 us of it */
#define MAX_IDLE 16
#define DISCARD_WAIT_NS 2000000000ull   /* at exit: at most this long for the parked threads */
#define STACK_SIZE (16u << 20)

typedef struct Worker {
  struct Worker *next;             /* idle list */
  pthread_cond_t cv;
  void *(*fn)(void *);             /* the work handed over; NULL: end (at exit) */
  void *arg;
  atomic_int handed;               /* fn and arg are new work */
  void *prepared;                  /* owner thread only: made ahead, not yet used */
} Worker;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t holders_cv;       /* 'holding' went down */
  Worker *idle;
  int nidle;
  Worker *spinner;                 /* the parked Worker that spins now, or NULL */
  void *(*prepare)(void);          /* set once (gl_tpool_set_prepare) */
  void (*discard)(void *);
  int holding;                     /* Workers holding or making a prepared thing */
  int closing;                     /* the exit path began: prepare no more */
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, NULL,
           NULL, NULL, 0, 0 };

static _Thread_local Worker *self_worker;   /* the Worker this OS thread is */

static GLSpin park_spin = GL_SPIN_INIT;

void gl_tpool_fork_prepare(void) { pthread_mutex_lock(&pool.mu); }

void gl_tpool_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&pool.mu); }

void gl_tpool_fork_child(void) {
  pool.idle = NULL;                /* those threads are not in this process */
  pool.nidle = 0;
  pool.spinner = NULL;
  pool.holding = 0;
  pthread_cond_init(&pool.holders_cv, NULL);
  pthread_mutex_unlock(&pool.mu);  /* taken in prepare, by this thread */
}

static void unlink_idle(Worker *w) {
  for (Worker **p = &pool.idle; *p; p = &(*p)->next)
    if (*p == w) { *p = w->next; pool.nidle--; return; }
}

/* pool.mu held: one prepared thing fewer is held. */
static void unhold(void) {
  pool.holding--;
  pthread_cond_broadcast(&pool.holders_cv);
}

/* On w's own thread: disposes of what it prepared and did not use. */
static void drop_prepared(Worker *w) {
  if (w->prepared == NULL) return;
  pool.discard(w->prepared);
  w->prepared = NULL;
  pthread_mutex_lock(&pool.mu);
  unhold();
  pthread_mutex_unlock(&pool.mu);
}

/* Parks w after its work; returns 1 with new work in w->fn, 0 to end.
** The spinner first prepares (when asked to, and has nothing prepared):
** it is on the idle list meanwhile, so work handed over during the
** preparation runs right after it. */
static int park(Worker *w) {
  pthread_mutex_lock(&pool.mu);
  if (pool.nidle >= MAX_IDLE) { pthread_mutex_unlock(&pool.mu); return 0; }
  atomic_store(&w->handed, 0);
  w->next = pool.idle;
  pool.idle = w;
  pool.nidle++;
  int spin = pool.spinner == NULL;  /* one spinner at a time: the cores are for work */
  if (spin) pool.spinner = w;
  int prep = spin && pool.prepare && !pool.closing && w->prepared == NULL;
  if (prep) pool.holding++;
  pthread_mutex_unlock(&pool.mu);
  struct timespec dl = gl_ns_ts(gl_now_ns() + IDLE_NS);
  if (prep && (w->prepared = pool.prepare()) == NULL) {
    pthread_mutex_lock(&pool.mu);
    unhold();
    pthread_mutex_unlock(&pool.mu);
  }
  if (spin && gl_spin_for_flag(&park_spin, &w->handed, PARK_SPIN_NS)) return 1;   /* gl_spawn cleared spinner */
  pthread_mutex_lock(&pool.mu);
  if (pool.spinner == w) pool.spinner = NULL;
  int rc = 0;
  while (!atomic_load(&w->handed) && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&w->cv, &pool.mu, &dl);
  int again = atomic_load(&w->handed);
  if (!again) unlink_idle(w);      /* gl_spawn unlinks the ones it hands work */
  pthread_mutex_unlock(&pool.mu);
  return again;
}

static void *worker_main(void *arg) {
  Worker *w = (Worker *)arg;
  self_worker = w;
  do {
    w->fn(w->arg);
    gl_self = NULL;
  } while (park(w) && w->fn);
  drop_prepared(w);
  pthread_cond_destroy(&w->cv);
  free(w);
  return NULL;
}

void gl_tpool_set_prepare(void *(*prepare)(void), void (*discard)(void *)) {
  pthread_mutex_lock(&pool.mu);
  pool.prepare = prepare;
  pool.discard = discard;
  pthread_mutex_unlock(&pool.mu);
}

void *gl_tpool_take_prepared(void) {
  Worker *w = self_worker;
  if (w == NULL || w->prepared == NULL) return NULL;
  void *p = w->prepared;
  w->prepared = NULL;
  pthread_mutex_lock(&pool.mu);
  unhold();
  pthread_mutex_unlock(&pool.mu);
  return p;
}

/* The parked threads are told to end (fn NULL); each disposes of what it
** prepared. Threads still running keep nothing prepared (they took it). */
void gl_tpool_discard_prepared(void) {
  pthread_mutex_lock(&pool.mu);
  pool.closing = 1;
  while (pool.idle) {
    Worker *w = pool.idle;
    unlink_idle(w);
    if (pool.spinner == w) pool.spinner = NULL;
    w->fn = NULL;
    atomic_store(&w->handed, 1);
    pthread_cond_signal(&w->cv);
  }
  struct timespec dl = gl_ns_ts(gl_now_ns() + DISCARD_WAIT_NS);
  int rc = 0;
  while (pool.holding > 0 && rc != ETIMEDOUT)
    rc = pthread_cond_clockwait(&pool.holders_cv, &pool.mu, CLOCK_MONOTONIC, &dl);
  pthread_mutex_unlock(&pool.mu);
}

int gl_spawn(void *(*fn)(void *), void *arg) {
  pthread_mutex_lock(&pool.mu);
  Worker *w = pool.spinner ? pool.spinner : pool.idle;   /* the spinner answers at once */
  if (w) {
    unlink_idle(w);
    if (pool.spinner == w) pool.spinner = NULL;
    w->fn = fn;
    w->arg = arg;
    atomic_store(&w->handed, 1);
    pthread_cond_signal(&w->cv);   /* no system call when it still spins */
    pthread_mutex_unlock(&pool.mu);
    return 0;
  }
  pthread_mutex_unlock(&pool.mu);
  w = calloc(1, sizeof *w);
  if (w == NULL) return ENOMEM;
  gl_cond_init(&w->cv);
  w->fn = fn;
  w->arg = arg;
  sigset_t block, old;             /* SIGINT must reach the main thread only */
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, STACK_SIZE);
  pthread_t tid;
  int rc = pthread_create(&tid, &attr, worker_main, w);
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    pthread_cond_destroy(&w->cv);
    free(w);
  }
  return rc;
}

int gl_tpool_idle(void) {
  pthread_mutex_lock(&pool.mu);
  int n = pool.nidle;
  pthread_mutex_unlock(&pool.mu);
  return n;
}

/*
** gthread.c — thread records and the registry of live threads.
**
** The registry is a doubly linked list of the threads that were started
** and have not finished, plus the main thread; gt_mu guards the list and
** each record's name, daemon, state and error. A record is freed when its
** reference count drops to zero: the OS thread holds one reference while
** it runs, every Lua handle holds one.
**
** start() and join() spin briefly before they sleep (START_SPIN_NS,
** JOIN_SPIN_NS): a started thread is picked up by a parked OS thread
** that spins too (tpool.c), and a short thread ends within microseconds,
** while a sleep and its cross-core wake-up cost 16-35 us each on a 2-core
** VM (spin.c: when spins stop paying, they stop). Starting and joining a
** thread with an empty target went from four wake-ups to none
** (docs/threading.md, "What a thread costs").
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "block.h"
#include "gil.h"
#include "gthread.h"
#include "hook.h"
#include "spin.h"
#include "trace.h"

#define START_SPIN_NS 50000ull   /* start() spins this long for "started" */
#define JOIN_SPIN_NS 50000ull    /* join() spins this long for "done" */

static GLSpin start_spin = GL_SPIN_INIT, join_spin = GL_SPIN_INIT;

_Thread_local GLThread *gl_self;

static pthread_mutex_t gt_mu = PTHREAD_MUTEX_INITIALIZER;
static GLThread *live_head;   /* gt_mu */
static atomic_int live_count; /* written under gt_mu; read lock-free (gt_alone) */
static GLThread *main_thread; /* set once at start-up */
static atomic_ulong serials;

void gt_lock(void) { pthread_mutex_lock(&gt_mu); }
void gt_unlock(void) { pthread_mutex_unlock(&gt_mu); }
GLThread *gt_main(void) { return main_thread; }

GLThread *gt_new(void) {
  GLThread *t = calloc(1, sizeof *t);
  if (t == NULL) return NULL;
  atomic_init(&t->refs, 1);
  gl_cond_init(&t->gil_cv);
  sem_init(&t->gil_sem, 0, 0);
  pthread_mutex_init(&t->done_mu, NULL);
  gl_cond_init(&t->done_cv);
  t->state = GT_NEW;
  t->serial = atomic_fetch_add(&serials, 1);
  return t;
}

void gt_incref(GLThread *t) { atomic_fetch_add(&t->refs, 1); }

void gt_decref(GLThread *t) {
  if (atomic_fetch_sub(&t->refs, 1) != 1) return;
  pthread_cond_destroy(&t->gil_cv);
  sem_destroy(&t->gil_sem);
  pthread_cond_destroy(&t->done_cv);
  pthread_mutex_destroy(&t->done_mu);
  free(t->error);
  free(t);
}

static lua_Integer thread_ident(void) {
  return (lua_Integer)(uintptr_t)pthread_self();
}

/* Fills in the fields the thread itself knows; called on the thread. */
void gt_bind_self(GLThread *t, lua_State *L, lua_State *universe) {
  gl_self = t;
  t->tid = pthread_self();
  t->ident = thread_ident();
  t->native_id = (lua_Integer)syscall(SYS_gettid);
  t->L = L;
  t->universe = universe;
  atomic_store(&t->running, L);
  if (L) gl_hook_idle(L);
}

void gt_init_main(lua_State *L) {
  GLThread *t = gt_new();
  t->is_main = 1;
  strcpy(t->name, "MainThread");
  t->state = GT_RUNNING;
  gt_bind_self(t, L, L);
  atomic_store(&t->started, 1);
  main_thread = t;
  gt_register(t);
}

void gt_register(GLThread *t) {
  gt_lock();
  t->prev = NULL;
  t->next = live_head;
  if (live_head) live_head->prev = t;
  live_head = t;
  atomic_fetch_add(&live_count, 1);
  gt_unlock();
}

int gt_alone(void) { return atomic_load(&live_count) <= 1; }

static void unlink_live(GLThread *t) {   /* gt_mu held */
  if (t->prev == NULL && live_head != t) return;   /* not on the list */
  atomic_fetch_sub(&live_count, 1);
  if (t->prev) t->prev->next = t->next;
  else if (live_head == t) live_head = t->next;
  if (t->next) t->next->prev = t->prev;
  t->prev = t->next = NULL;
}

void gt_set_done(GLThread *t) {
  gt_lock();
  t->state = GT_DONE;
  unlink_live(t);
  gt_unlock();
  pthread_mutex_lock(&t->done_mu);
  atomic_store(&t->done, 1);
  pthread_cond_broadcast(&t->done_cv);
  pthread_mutex_unlock(&t->done_mu);
}

/* ---- accessors: the locking rules of gthread.h in one place ---- */

GTState gt_state(GLThread *t) {
  gt_lock();
  GTState st = t->state;
  gt_unlock();
  return st;
}

void gt_get_name(GLThread *t, char *buf, size_t size) {
  gt_lock();
  snprintf(buf, size, "%s", t->name);
  gt_unlock();
}

void gt_set_name(GLThread *t, const char *name) {
  gt_lock();
  snprintf(t->name, sizeof t->name, "%s", name);
  gt_unlock();
}

int gt_daemon(GLThread *t) {
  gt_lock();
  int d = t->daemon;
  gt_unlock();
  return d;
}

int gt_set_daemon(GLThread *t, int daemon) {
  gt_lock();
  int started = t->state != GT_NEW;
  if (!started) t->daemon = daemon;
  gt_unlock();
  return started ? -1 : 0;
}

void gt_set_error(GLThread *t, const char *msg, size_t len) {
  char *copy = malloc(len + 1);
  if (copy) { memcpy(copy, msg, len); copy[len] = '\0'; }
  gt_lock();
  free(t->error);
  t->error = copy;
  gt_unlock();
}

/* The message is set once, by the thread itself as it ends, and freed
** with the record (the caller holds a reference): the pointer read under
** the lock stays valid, and pushing it (which may raise a memory error)
** happens without the lock. */
void gt_push_error(lua_State *L, GLThread *t) {
  gt_lock();
  const char *msg = t->error;
  gt_unlock();
  if (msg) lua_pushstring(L, msg);
  else lua_pushnil(L);
}

int gt_claim_start(GLThread *t) {
  gt_lock();
  int fresh = t->state == GT_NEW;
  if (fresh) t->state = GT_RUNNING;
  gt_unlock();
  if (!fresh) return -1;
  gt_incref(t);                            /* the OS thread's reference */
  gt_register(t);
  return 0;
}

void gt_start_failed(GLThread *t) {
  gt_set_done(t);
  gt_decref(t);
}

void gt_mark_started(GLThread *t) {
  pthread_mutex_lock(&t->done_mu);
  atomic_store(&t->started, 1);
  pthread_cond_broadcast(&t->done_cv);
  pthread_mutex_unlock(&t->done_mu);
}

void gt_wait_started(GLThread *t) {
  if (gl_spin_for_flag(&start_spin, &t->started, START_SPIN_NS)) return;
  pthread_mutex_lock(&t->done_mu);
  while (!atomic_load(&t->started)) pthread_cond_wait(&t->done_cv, &t->done_mu);
  pthread_mutex_unlock(&t->done_mu);
}

/* ident and native_id are written before 'started' is set (gt_bind_self,
** then gt_mark_started): seeing it set, they can be read. */
int gt_idents(GLThread *t, lua_Integer *ident, lua_Integer *native_id) {
  int started = atomic_load(&t->started);
  if (started) { *ident = t->ident; *native_id = t->native_id; }
  return started;
}

void gt_unbind_running(GLThread *t) { atomic_store(&t->running, NULL); }

void *gt_lua_obj(GLThread *t, int (*keep)(void *obj), void *(*make)(GLThread *t)) {
  gt_lock();
  void *obj = t->lua_obj;
  if (obj == NULL || !keep(obj)) {
    obj = make(t);
    if (obj) t->lua_obj = obj;
  }
  gt_unlock();
  return obj;
}

void gt_forget_lua_obj(GLThread *t, void *obj) {
  gt_lock();
  if (t->lua_obj == obj) t->lua_obj = NULL;
  gt_unlock();
}

/* The main thread stays on the live list (it still runs the exit path,
** and gt_alone must keep counting it); only joiners and is_alive() see
** it finished. */
void gt_main_finished(void) {
  GLThread *t = main_thread;
  gt_lock();
  t->state = GT_DONE;
  gt_unlock();
  pthread_mutex_lock(&t->done_mu);
  atomic_store(&t->done, 1);
  pthread_cond_broadcast(&t->done_cv);
  pthread_mutex_unlock(&t->done_mu);
}

/* How long join() may spin: JOIN_SPIN_NS, less when the deadline is
** nearer; none for the main thread when Ctrl-C is pending. */
static uint64_t join_spin_ns(const struct timespec *deadline) {
  if (gl_interrupted()) return 0;
  if (deadline == NULL) return JOIN_SPIN_NS;
  uint64_t now = gl_now_ns(), d = gl_ts_ns(deadline);
  if (d <= now) return 0;
  return d - now < JOIN_SPIN_NS ? d - now : JOIN_SPIN_NS;
}

int gt_join(GLThread *t, const struct timespec *deadline) {
  if (atomic_load(&t->done)) return 0;
  gl_block_begin();
  uint64_t spin = join_spin_ns(deadline);
  int rc = 0;
  if (spin == 0 || !gl_spin_for_flag(&join_spin, &t->done, spin)) {
    pthread_mutex_lock(&t->done_mu);
    while (!atomic_load(&t->done) && rc == 0)
      rc = gl_cond_wait(&t->done_cv, &t->done_mu, deadline);
    if (atomic_load(&t->done)) rc = 0;
    pthread_mutex_unlock(&t->done_mu);
  }
  gl_block_end();
  return rc;
}

int gt_snapshot(GLThread **out, int max) {
  int n = 0;
  gt_lock();
  for (GLThread *t = live_head; t; t = t->next) {
    if (n < max) { gt_incref(t); out[n] = t; }
    n++;
  }
  gt_unlock();
  return n;
}

int gt_join_non_daemon(void) {
  for (;;) {
    GLThread *pick = NULL;
    gt_lock();
    for (GLThread *t = live_head; t && !pick; t = t->next)
      if (t != gl_self && !t->is_main && !t->daemon && t->state == GT_RUNNING) {
        pick = t;
        gt_incref(t);
      }
    gt_unlock();
    if (pick == NULL) return 0;
    int rc = gt_join(pick, NULL);
    gt_decref(pick);
    if (rc == EINTR) return EINTR;
  }
}

void gt_fork_prepare(void) { gt_lock(); }

void gt_fork_parent(pid_t pid) { (void)pid; gt_unlock(); }

/* In a fork()ed child only the caller is left: every other live thread
** becomes done (its record stays valid for handles that still refer to
** it) and the caller becomes the main thread. */
void gt_fork_child(void) {
  GLThread *self = gl_self;
  GLThread *t = live_head;        /* gt_mu: the caller took it in prepare */
  live_head = NULL;
  atomic_store(&live_count, 0);
  while (t) {
    GLThread *next = t->next;
    t->prev = t->next = NULL;
    if (t != self) {
      pthread_mutex_init(&t->done_mu, NULL);
      gl_cond_init(&t->done_cv);
      t->state = GT_DONE;
      atomic_store(&t->done, 1);
    }
    t = next;
  }
  self->tid = pthread_self();
  self->native_id = (lua_Integer)syscall(SYS_gettid);
  pthread_mutex_init(&self->done_mu, NULL);
  gl_cond_init(&self->done_cv);
  if (!self->is_main) {   /* the child's only thread is its main thread */
    self->is_main = 1;
    self->daemon = 0;
  }
  main_thread = self;
  self->prev = self->next = NULL;  /* the only live thread (gt_register's work, */
  live_head = self;                /* without taking gt_mu again) */
  atomic_store(&live_count, 1);
  gt_unlock();                     /* released by the thread that took it, so the
                                   ** sanitizers see a consistent lock */
}

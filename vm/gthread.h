/*
** gthread.h — one record per OS thread that runs Lua in gillua.
**
** A GLThread is created by threading.Thread:start() (or for the main
** thread at start-up) and lives until its OS thread has finished AND
** every Lua handle to it (in any interpreter) has been collected: it
** is reference counted.
**
** Ownership of fields (who may read/write, under which lock):
**   immutable after start:  is_main, tid, ident, native_id, serial
**   owner thread only:      L, universe, running (written by the owner;
**                           read by the owner's own signal handler),
**                           held_since, wait_since, blocked_since, rng, trace,
**                           line_events (atomic: its signal handler resets it);
**                           blocked_ns (atomic, read by anyone)
**   gil.mu:                 gil_next, gil_granted, gil_urgent, gil_resume,
**                           ticks_signalled, hook_fires,
**                           gil_cv, drop_request, drop_at
**                           (also written atomically, read lock-free by
**                           the owner), hook_count, held_ns, wait_ns,
**                           acquisitions
**   registry lock (gt_lock): name, daemon, state, error, prev/next, lua_obj
**   done_mu:                started, done (with done_cv for start() and joiners);
**                           both atomic, so start() and a joiner may spin
**                           on them briefly before sleeping (gthread.c)
**
** Code outside gthread.c reads and writes the gt_lock and done_mu fields
** only through the functions below (runtime/tthread*.c is the main user),
** so these rules are kept in one file.
*/
#ifndef gthread_h
#define gthread_h

#include <pthread.h>
#include <stddef.h>
#include <semaphore.h>
#include <sys/types.h>
#include <stdatomic.h>
#include <stdint.h>

#include <lua.h>

typedef enum { GT_NEW, GT_RUNNING, GT_DONE } GTState;

typedef struct GLThread GLThread;

struct GLThread {
  atomic_long refs;
  int is_main;
  unsigned long serial;          /* 0 for main, then 1, 2, ... in start order */
  pthread_t tid;
  lua_Integer ident;             /* pthread_self() as an integer, like Python */
  lua_Integer native_id;         /* gettid() */

  /* owner thread only */
  lua_State *L;                  /* base state this thread runs on */
  lua_State *universe;           /* main state of its universe */
  _Atomic(lua_State *) running;  /* innermost running coroutine (signal handler reads it) */
  uint64_t held_since, wait_since, blocked_since;
  uint32_t rng;                  /* where a bytecodes switch lands (gil.c) */
  _Atomic uint64_t blocked_ns;   /* time in blocking calls (atomic: read by stats) */
  struct GLTrace *trace;

  /* gil.mu */
  GLThread *gil_next;
  atomic_int gil_granted;        /* written under gil.mu; a spinning waiter reads it lock-free */
  int hook_fires;                /* as holder: hook fires since the last request */
  int gil_urgent;                /* priority: queued (or holding) ahead of the rest */
  int gil_resume;                /* priority: displaced by an urgent thread, resumes next */
  pthread_cond_t gil_cv;
  sem_t gil_sem;                 /* ticks: a release wakes the first waiter through it */
  int ticks_signalled;           /* ticks: gil_sem was posted and not yet taken */
  atomic_int drop_request;       /* a waiter asked this holder to drop the GIL */
  atomic_int hook_count;         /* count the signal handler arms the hook with (or GL_HOOK_LINE) */
  _Atomic uint64_t drop_at;      /* interval, priority: drop at this time (0: at once), gil.mu;
                                 ** read lock-free by the owner's hook */
  atomic_int line_events;        /* line-hook fires since the line hook was armed: the owner
                                 ** and its signal handler only */
  uint64_t held_ns, wait_ns;
  unsigned long acquisitions;

  /* gt_lock */
  char name[64];
  int daemon;
  GTState state;
  char *error;                   /* message of an uncaught error */
  GLThread *prev, *next;         /* registry list of started, not yet reaped threads */
  void *lua_obj;                 /* the object standing for it in Lua (gt_lua_obj) */

  /* done_mu */
  pthread_mutex_t done_mu;
  pthread_cond_t done_cv;
  atomic_int started;            /* the OS thread is up (ident known) */
  atomic_int done;
};

/* The calling OS thread's record (NULL on threads gillua did not start). */
extern _Thread_local GLThread *gl_self;

void gt_init_main(lua_State *L);
/* On the thread itself: sets gl_self and the fields only it knows. */
void gt_bind_self(GLThread *t, lua_State *L, lua_State *universe);
/* Fork duties (gl_at_fork): the registry's lock is held across fork();
** in the child the caller is the only live thread and the main one. */
void gt_fork_prepare(void);
void gt_fork_parent(pid_t pid);
void gt_fork_child(void);
GLThread *gt_new(void);                    /* refs = 1, state GT_NEW */
void gt_incref(GLThread *t);
void gt_decref(GLThread *t);

void gt_lock(void);
void gt_unlock(void);
GLThread *gt_main(void);
void gt_register(GLThread *t);             /* add to the list of live threads */
void gt_set_done(GLThread *t);             /* state DONE, wake joiners, leave the list */

/* The end of the main program, before the other threads are joined (as
** Python's _shutdown): threads joining the main thread return and its
** is_alive() is false. */
void gt_main_finished(void);

/* ---- the Thread object's view (gt_lock and done_mu taken inside) ---- */
GTState gt_state(GLThread *t);
void gt_get_name(GLThread *t, char *buf, size_t size);
void gt_set_name(GLThread *t, const char *name);
int gt_daemon(GLThread *t);
/* Sets the daemon flag of a thread not yet started; -1 once started. */
int gt_set_daemon(GLThread *t, int daemon);
/* The message of the error that ended t (a copy is kept), or none. */
void gt_set_error(GLThread *t, const char *msg, size_t len);
void gt_push_error(lua_State *L, GLThread *t);   /* the message or nil */

/* start(): NEW -> RUNNING in one step (so two threads cannot start one
** record), registers t and takes the reference the OS thread drops at
** its end. Returns -1 when t was started before. gt_start_failed undoes
** it when the OS thread could not be created. */
int gt_claim_start(GLThread *t);
void gt_start_failed(GLThread *t);
/* The handshake of start(): the new thread marks itself started once
** gt_bind_self has run (ident known); start() waits for that (a short
** wait that needs no GIL release: the new thread marks before taking the
** GIL). The waiter spins up to START_SPIN_NS first: a parked OS thread
** picks up its work within microseconds. */
void gt_mark_started(GLThread *t);
void gt_wait_started(GLThread *t);
/* ident and native_id once started (returns 1), else 0. */
int gt_idents(GLThread *t, lua_Integer *ident, lua_Integer *native_id);
/* On the thread itself, at its end: no signal may touch its states. */
void gt_unbind_running(GLThread *t);

/* The object that stands for t in Lua (runtime/tthread.c), one at a
** time. Under gt_lock: when t has one and keep(obj) takes a reference
** (it returns 0 for an object whose count already reached 0, which is
** being destroyed), that one is returned; otherwise make(t) builds a new
** one, which is recorded. gt_forget_lua_obj: the object is destroyed
** (a newer one is left alone). */
void *gt_lua_obj(GLThread *t, int (*keep)(void *obj), void *(*make)(GLThread *t));
void gt_forget_lua_obj(GLThread *t, void *obj);

/* Wait until 't' is done; deadline NULL waits forever. Releases the GIL,
** spins up to JOIN_SPIN_NS (a short thread ends meanwhile), then sleeps.
** Returns 0 when done, ETIMEDOUT, or EINTR (interrupted main thread). */
int gt_join(GLThread *t, const struct timespec *deadline);

/* Snapshot of live threads: fills up to 'max' entries (each with a new
** reference the caller must drop) and returns how many there are. */
int gt_snapshot(GLThread **out, int max);
/* True when no thread but the caller's is alive in the process (a hint:
** read without the lock, for skipping work only other threads need). */
int gt_alone(void);

/* Joins every live non-daemon thread other than the caller (exit path). */
int gt_join_non_daemon(void);

#endif

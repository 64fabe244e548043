/*
** tpool.h — the OS threads that run gillua's threads, kept for reuse
** (see tpool.c).
*/
#ifndef tpool_h
#define tpool_h

#include <sys/types.h>

/* Runs fn(arg) on an OS thread: a parked one when there is one, else a
** new detached thread (16 MiB stack, SIGINT blocked). Returns 0 or the
** error number of pthread_create. */
int gl_spawn(void *(*fn)(void *), void *arg);

/* Work a parked OS thread does ahead for its next run (GIL off: the next
** thread's interpreter, runtime/tthread_run.c): the parked thread that
** spins first calls prepare() and keeps what it returns (NULL: nothing);
** the work it runs next takes it with gl_tpool_take_prepared (NULL when
** there is none); what is never taken goes to discard() on the thread
** that prepared it, when its idle time ends or at exit. Set once. */
void gl_tpool_set_prepare(void *(*prepare)(void), void (*discard)(void *));
void *gl_tpool_take_prepared(void);
/* The exit path: the parked threads end, each discarding what it
** prepared; returns when none holds anything (2 s at most). */
void gl_tpool_discard_prepared(void);

/* How many OS threads are parked now, waiting for work. */
int gl_tpool_idle(void);

/* Fork duties (gl_at_fork): the pool's lock is held across fork(); the
** child has no parked threads. */
void gl_tpool_fork_prepare(void);
void gl_tpool_fork_parent(pid_t pid);
void gl_tpool_fork_child(void);

#endif

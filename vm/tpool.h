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

/* How many OS threads are parked now, waiting for work. */
int gl_tpool_idle(void);

/* Fork duties (gl_at_fork): the pool's lock is held across fork(); the
** child has no parked threads. */
void gl_tpool_fork_prepare(void);
void gl_tpool_fork_parent(pid_t pid);
void gl_tpool_fork_child(void);

#endif

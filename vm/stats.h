/*
** stats.h — GIL figures per thread, for --stats and gil.stats().
** Finished threads' figures are kept (retired) so that the totals at
** exit include every thread that ever ran.
*/
#ifndef stats_h
#define stats_h

#include <stdint.h>
#include <stdio.h>

#include "gthread.h"

typedef struct GLThreadFigures {
  char name[64];
  int alive;
  double held_s, wait_s, blocked_s;
  unsigned long acquisitions;
} GLThreadFigures;

/* Thread t is finishing: keep its figures. */
void gl_stats_retire(GLThread *t);

/* All threads' figures, live ones first then retired, in start order.
** Returns a malloc'ed array (caller frees) and its length in *n. */
GLThreadFigures *gl_stats_collect(int *n);

/* Fork duties (gl_at_fork): retired_mu is held across fork(). */
void gl_stats_fork_prepare(void);
void gl_stats_fork_parent(pid_t pid);
void gl_stats_fork_child(void);

/* The --stats report. */
void gl_stats_print(FILE *f);

#endif

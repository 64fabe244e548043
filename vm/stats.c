/*
** stats.c — GIL figures per thread: live threads are read from their
** records, finished ones from the retired list (guarded by retired_mu);
** and the GIL's own figures, read under gil.mu.
*/
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gil_core.h"
#include "stats.h"

#define MAX_RETIRED 4096   /* beyond this, finished threads are summed into one row */
#define MAX_LIVE 4096

typedef struct Retired {
  unsigned long serial;
  GLThreadFigures f;
} Retired;

static pthread_mutex_t retired_mu = PTHREAD_MUTEX_INITIALIZER;
static Retired *retired;          /* retired_mu */
static int nretired, capretired;  /* retired_mu */
static Retired overflow;          /* retired_mu: threads past MAX_RETIRED */
static unsigned long noverflow;   /* retired_mu */

static void figures_of(GLThread *t, GLThreadFigures *f) {
  uint64_t held, wait;
  gt_lock();
  memcpy(f->name, t->name, sizeof f->name);
  f->alive = t->state == GT_RUNNING;
  gt_unlock();
  gil_thread_figures(t, &held, &wait, &f->acquisitions);
  f->held_s = gl_ns_s(held);
  f->wait_s = gl_ns_s(wait);
  f->blocked_s = gl_ns_s(atomic_load(&t->blocked_ns));
}

void gl_stats_retire(GLThread *t) {
  Retired r;
  r.serial = t->serial;
  figures_of(t, &r.f);
  r.f.alive = 0;
  pthread_mutex_lock(&retired_mu);
  if (nretired < MAX_RETIRED) {
    if (nretired == capretired) {
      int cap = capretired ? capretired * 2 : 16;
      Retired *p = realloc(retired, (size_t)cap * sizeof *p);
      if (p) { retired = p; capretired = cap; }
    }
    if (nretired < capretired) retired[nretired++] = r;
  } else {
    noverflow++;
    overflow.f.held_s += r.f.held_s;
    overflow.f.wait_s += r.f.wait_s;
    overflow.f.blocked_s += r.f.blocked_s;
    overflow.f.acquisitions += r.f.acquisitions;
  }
  pthread_mutex_unlock(&retired_mu);
}

/* Fork duties: retire runs without the GIL, so another thread may hold
** retired_mu at the fork; the child keeps the records it copied. */
void gl_stats_fork_prepare(void) { pthread_mutex_lock(&retired_mu); }

void gl_stats_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&retired_mu); }

void gl_stats_fork_child(void) { pthread_mutex_unlock(&retired_mu); }   /* taken in prepare */

static int by_serial(const void *a, const void *b) {
  unsigned long x = ((const Retired *)a)->serial, y = ((const Retired *)b)->serial;
  return (x > y) - (x < y);
}

GLThreadFigures *gl_stats_collect(int *n) {
  GLThread **live = malloc(MAX_LIVE * sizeof *live);
  if (live == NULL) { *n = 0; return NULL; }
  int nlive = gt_snapshot(live, MAX_LIVE);
  if (nlive > MAX_LIVE) nlive = MAX_LIVE;
  pthread_mutex_lock(&retired_mu);
  int total = nlive + nretired + (noverflow > 0);
  Retired *all = malloc((size_t)(total > 0 ? total : 1) * sizeof *all);
  GLThreadFigures *out = malloc((size_t)(total > 0 ? total : 1) * sizeof *out);
  int k = 0;
  if (all && out) {
    for (int i = 0; i < nretired; i++) all[k++] = retired[i];
    if (noverflow) {
      all[k] = overflow;
      all[k].serial = (unsigned long)-1;
      snprintf(all[k].f.name, sizeof all[k].f.name, "(%lu more finished threads)", noverflow);
      k++;
    }
  }
  pthread_mutex_unlock(&retired_mu);
  for (int i = 0; i < nlive; i++) {
    if (all && out) {
      all[k].serial = live[i]->serial;
      figures_of(live[i], &all[k].f);
      k++;
    }
    gt_decref(live[i]);
  }
  free(live);
  if (all == NULL || out == NULL) { free(all); free(out); *n = 0; return NULL; }
  qsort(all, (size_t)k, sizeof *all, by_serial);
  for (int i = 0; i < k; i++) out[i] = all[i].f;
  free(all);
  *n = k;
  return out;
}

void gl_stats_print(FILE *f) {
  GILPolicy p = gil_policy();
  GILStats s = gil_stats();
  int n;
  GLThreadFigures *th = gl_stats_collect(&n);
  fprintf(f, "gillua GIL statistics\n");
  if (gil_enabled()) {
    char name[64];
    gil_format_policy(p, name, sizeof name);
    fprintf(f, "  gil: on, switch=%s\n", name);
  } else
    fprintf(f, "  gil: off (every thread in its own interpreter)\n");
  fprintf(f, "  switches: %lu  forced: %lu  drop requests: %lu\n",
          s.switches, s.forced_switches, s.requests);
  fprintf(f, "  releases: %lu  wasted wake-ups: %lu  urgent grants: %lu (cost the others %.3f s)\n",
          s.releases, s.wasted_wakeups, s.urgent_grants, (double)s.urgent_cost_ns / 1e9);
  fprintf(f, "  %-24s %10s %10s %10s %12s\n", "thread", "held_s", "wait_s", "blocked_s", "acquisitions");
  for (int i = 0; i < n; i++)
    fprintf(f, "  %-24s %10.3f %10.3f %10.3f %12lu\n", th[i].name, th[i].held_s,
            th[i].wait_s, th[i].blocked_s, th[i].acquisitions);
  free(th);
}

/* ---- the GIL record's figures (gil.mu) ---- */

void gil_note_blocked(GLThread *t, uint64_t ns) {
  atomic_fetch_add(&t->blocked_ns, ns);
}

int gil_waiting(void) {
  pthread_mutex_lock(&gil.mu);
  int n = 0;
  for (GLThread *t = gil.head; t; t = t->gil_next) n++;
  pthread_mutex_unlock(&gil.mu);
  return n;
}

GLThread *gil_holder(void) {
  pthread_mutex_lock(&gil.mu);
  GLThread *h = gil.holder;
  pthread_mutex_unlock(&gil.mu);
  return h;
}

GILStats gil_stats(void) {
  pthread_mutex_lock(&gil.mu);
  GILStats s = gil.stats;
  pthread_mutex_unlock(&gil.mu);
  return s;
}

void gil_thread_figures(GLThread *t, uint64_t *held_ns, uint64_t *wait_ns,
                        unsigned long *acquisitions) {
  pthread_mutex_lock(&gil.mu);
  uint64_t held = t->held_ns;
  if (gil.holder == t) held += gl_now_ns() - t->held_since;   /* still holding */
  *held_ns = held;
  *wait_ns = t->wait_ns;
  *acquisitions = t->acquisitions;
  pthread_mutex_unlock(&gil.mu);
}

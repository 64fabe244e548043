/*
** mp_reap.c — reaping children, and who learns an exit status when two
** waiters race for it.
**
** A child can be reaped once. Its owner (Process.join, Popen.wait, a
** Pool, a Manager) waits for its own pid; a script may also call
** os.waitpid, on that pid or on any child (-1). Whoever comes second gets
** ECHILD. When the owner comes second it must still learn the status:
** Python's answer (exit code 0 or None) loses it.
**
** So a reap done for os.waitpid (MP_REAP_SCRIPT) happens under reap_mu
** and leaves (pid, status) in 'taken' before the lock is released. An
** owner that gets ECHILD takes reap_mu and looks its pid up. As the
** script's waitpid and its record are one critical section, an owner
** that saw ECHILD and then holds reap_mu finds the record if a script
** took the child: no window in which the child is gone and the status
** nowhere. Not found means the child was reaped outside gillua (say
** SIGCHLD ignored): the status is unknown.
**
** 'taken' is a ring of TAKEN_MAX entries. An entry nobody asks for (a
** child the script handles itself) is overwritten in time; a pid is
** dropped when a new child gets it (mp_reap_forget), so a reused pid
** never finds an old status. Process handles are also told directly
** (mp_child_reaped), so their exit codes do not depend on the ring.
**
** Orphans: children whose owner was collected without being joined or
** shut down (a Pool, a Manager). A finalizer must not wait, so it asks
** them to stop and leaves their pids here; they are reaped whenever this
** process starts another child or lists its children, and at exit (after
** a grace period, killed). No zombies are left behind.
*/
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "block.h"

#include "mp.h"

#define TAKEN_MAX 64

typedef struct Taken { pid_t pid; int status; } Taken;   /* pid 0: free */

static pthread_mutex_t reap_mu = PTHREAD_MUTEX_INITIALIZER;
static Taken taken[TAKEN_MAX];   /* reap_mu */
static int taken_next;           /* reap_mu: the slot written next */

typedef struct Orphan { pid_t pid; struct Orphan *next; } Orphan;
static Orphan *orphans;          /* reap_mu */

static pid_t try_waitpid(pid_t pid, int *status) {
  pid_t r;
  do r = waitpid(pid, status, WNOHANG); while (r < 0 && errno == EINTR);
  return r;
}

/* Removes pid's record; returns 1 with *status when there was one
** (reap_mu held). */
static int take_record(pid_t pid, int *status) {
  for (int i = 0; i < TAKEN_MAX; i++)
    if (taken[i].pid == pid) {
      *status = taken[i].status;
      taken[i].pid = 0;
      return 1;
    }
  return 0;
}

static pid_t reap_for_script(pid_t pid, int *status) {
  pthread_mutex_lock(&reap_mu);
  pid_t r = try_waitpid(pid, status);
  int e = errno;
  if (r > 0) {
    int old;
    take_record(r, &old);   /* an unclaimed record for an earlier child with this pid */
    taken[taken_next] = (Taken){ r, *status };
    taken_next = (taken_next + 1) % TAKEN_MAX;
  }
  pthread_mutex_unlock(&reap_mu);
  if (r > 0) mp_child_reaped(r, *status);
  errno = e;
  return r;
}

static pid_t reap_for_owner(pid_t pid, int *status) {
  pid_t r = try_waitpid(pid, status);
  if (r >= 0 || errno != ECHILD || pid <= 0) return r;
  pthread_mutex_lock(&reap_mu);
  int found = take_record(pid, status);
  pthread_mutex_unlock(&reap_mu);
  if (found) return pid;
  errno = ECHILD;
  return -1;
}

/* A reaped child is dead: what it still owned in the arena goes back
** (mp_ledger.c; nothing when it had dropped everything itself). */
pid_t mp_reap(pid_t pid, int *status, int who) {
  pid_t r = who == MP_REAP_SCRIPT ? reap_for_script(pid, status)
                                  : reap_for_owner(pid, status);
  if (r > 0) {
    int e = errno;
    mp_ledger_reaped(r);
    errno = e;
  }
  return r;
}

void mp_reap_forget(pid_t pid) {
  int status;
  pthread_mutex_lock(&reap_mu);
  take_record(pid, &status);
  pthread_mutex_unlock(&reap_mu);
}

void mp_reap_fork_prepare(void) { pthread_mutex_lock(&reap_mu); }

/* A new child has this pid: an unclaimed status of an older one is dropped. */
void mp_reap_fork_parent(pid_t pid) {
  if (pid > 0) {
    int status;
    take_record(pid, &status);
  }
  pthread_mutex_unlock(&reap_mu);
}

void mp_reap_fork_child(void) {
  pthread_mutex_unlock(&reap_mu);       /* taken in prepare, by this thread */
  while (orphans) {                     /* the parent's, not ours */
    Orphan *o = orphans;
    orphans = o->next;
    free(o);
  }
  for (int i = 0; i < TAKEN_MAX; i++) taken[i].pid = 0;   /* the parent's children */
  taken_next = 0;
}

void mp_reap_later(pid_t pid) {
  int status;
  if (pid <= 0 || mp_reap(pid, &status, MP_REAP_OWNER) != 0) return;   /* gone already */
  Orphan *o = (Orphan *)malloc(sizeof *o);
  if (o == NULL) return;        /* left a zombie until exit: nothing better to do */
  o->pid = pid;
  pthread_mutex_lock(&reap_mu);
  o->next = orphans;
  orphans = o;
  pthread_mutex_unlock(&reap_mu);
}

/* Takes the orphan list (reap_mu): whoever reaps owns the entries. */
static Orphan *take_orphans(void) {
  pthread_mutex_lock(&reap_mu);
  Orphan *list = orphans;
  orphans = NULL;
  pthread_mutex_unlock(&reap_mu);
  return list;
}

static void put_orphan(Orphan *o) {
  pthread_mutex_lock(&reap_mu);
  o->next = orphans;
  orphans = o;
  pthread_mutex_unlock(&reap_mu);
}

void mp_reap_orphans(double grace) {
  Orphan *list = take_orphans();
  struct timespec ts, *dl = grace >= 0 ? gl_deadline(&ts, grace) : NULL;
  while (list) {
    Orphan *o = list;
    list = o->next;
    int status, gone;
    if (grace < 0) {
      pid_t r = mp_reap(o->pid, &status, MP_REAP_OWNER);
      gone = r != 0;
    } else {
      gone = mp_wait_pid(o->pid, &status, dl, MP_REAP_OWNER) != 0;
      if (!gone) {
        kill(o->pid, SIGKILL);
        mp_wait_pid(o->pid, &status, NULL, MP_REAP_OWNER);
        gone = 1;
      }
    }
    if (gone) free(o);
    else put_orphan(o);
  }
}

/*
** mp_pool_run.c — a Pool's workers and the delivery of their results in
** the creating process (the protocol is described in mp_pool.c).
**
** Dead workers (better than Python): while waiting for results the parent
** peeks at its workers every 50 ms (waitid WNOWAIT, no reaping) and on
** every drain; a worker that died is reaped, its slot's task fails at
** once with "worker process PID died (killed by signal N (...)) while
** running this task", and a new worker takes its place. Results already
** put by the dead worker are drained first, so a finished task is never
** failed. Workers also leave when their parent process is gone.
**
** A failing initializer (the worker sends job POOL_INIT_FAILED with the
** error) breaks the pool: pending tasks fail with the initializer's
** error and traceback, no worker is started again, new tasks are
** refused.
**
** Callbacks run inside the delivery and may terminate the pool: after
** each delivery the pool's fields are read again (they may be NULL now).
*/
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mp_pool.h"

#define POOL_DEATH 1000          /* mp_chan_get poll codes: a worker died, */
#define POOL_STOPPED 1001        /* the pool was terminated meanwhile */

static PoolCore *pools;          /* pools_mu: the live pools' workers */
static pthread_mutex_t pools_mu = PTHREAD_MUTEX_INITIALIZER;

void mp_pools_fork_prepare(void) { pthread_mutex_lock(&pools_mu); }

void mp_pools_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&pools_mu); }

void mp_pools_fork_child(void) {
  pthread_mutex_unlock(&pools_mu);      /* taken in prepare, by this thread */
  pools = NULL;                  /* a child does not own its parent's pools */
}

PoolCore *mp_pool_core_new(lua_State *L, int n) {
  PoolCore *c = (PoolCore *)calloc(1, sizeof(PoolCore));
  if (c) c->pids = (pid_t *)calloc((size_t)n, sizeof(pid_t));
  if (c == NULL || c->pids == NULL) { free(c); luaL_error(L, "out of memory"); }
  c->n = n;
  pthread_mutex_lock(&pools_mu);
  c->next = pools;
  pools = c;
  pthread_mutex_unlock(&pools_mu);
  return c;
}

static void core_unlist(PoolCore *c) {
  pthread_mutex_lock(&pools_mu);
  for (PoolCore **p = &pools; *p; p = &(*p)->next)
    if (*p == c) { *p = c->next; break; }
  pthread_mutex_unlock(&pools_mu);
  free(c->pids);
  free(c);
}

static void set_pid(Pool *p, int slot, pid_t pid) {
  pthread_mutex_lock(&pools_mu);
  p->core->pids[slot] = pid;
  pthread_mutex_unlock(&pools_mu);
}

/* Stops the workers of every pool: SIGTERM, a grace period, SIGKILL. The
** pids are copied out first: no lock is held while waiting (the wait
** re-acquires the GIL). */
void mp_pools_shutdown(int interrupted) {
  (void)interrupted;
  pid_t pids[256];
  int n = 0;
  pthread_mutex_lock(&pools_mu);
  for (PoolCore *c = pools; c; c = c->next)
    for (int i = 0; i < c->n; i++)
      if (c->pids[i] > 0) {
        kill(c->pids[i], SIGTERM);
        if (n < 256) pids[n++] = c->pids[i];
        else mp_reap_later(c->pids[i]);
        c->pids[i] = 0;
      }
  pthread_mutex_unlock(&pools_mu);
  for (int i = 0; i < n; i++) {
    struct timespec ts;
    int st;
    if (mp_wait_pid(pids[i], &st, gl_deadline(&ts, 1.0), MP_REAP_OWNER) == 0) {
      kill(pids[i], SIGKILL);
      mp_wait_pid(pids[i], &st, NULL, MP_REAP_OWNER);
    }
  }
}

void mp_pool_spawn(lua_State *L, int pool_idx, Pool *p, int slot) {
  p->spawned++;
  __atomic_store_n(&p->slots[slot], 0, __ATOMIC_RELEASE);
  pid_t pid = mp_fork(L, MP_FORK_TIED);
  if (pid < 0) luaL_error(L, "Pool: cannot start a worker: %s", strerror(errno));
  if (pid == 0) {
    lua_pushvalue(L, pool_idx);
    lua_pushinteger(L, slot);
    mp_child_main(L, mp_pool_worker_main, 2);
  }
  set_pid(p, slot, pid);
}

void mp_pool_reap_workers(Pool *p, double grace) {
  for (int i = 0; p->core && i < p->n; i++) {
    pid_t pid = p->core->pids[i];
    if (pid <= 0) continue;
    struct timespec ts;
    int st;
    int rc = mp_wait_pid(pid, &st, grace >= 0 ? gl_deadline(&ts, grace) : NULL, MP_REAP_OWNER);
    if (rc == 0) { kill(pid, SIGKILL); mp_wait_pid(pid, &st, NULL, MP_REAP_OWNER); }
    if (p->core) set_pid(p, i, 0);
  }
}

void mp_pool_release(Pool *p) {
  if (p->core) { core_unlist(p->core); p->core = NULL; }
  if (p->tasks) { mp_chan_decref(p->tasks); p->tasks = NULL; }
  if (p->results) { mp_chan_decref(p->results); p->results = NULL; }
  if (p->slots) { mp_shm_decref(p->slots); p->slots = NULL; }
}

void mp_pool_abandon(Pool *p) {
  for (int i = 0; p->core && i < p->n; i++) {
    pid_t pid = p->core->pids[i];
    if (pid <= 0) continue;
    kill(pid, SIGTERM);
    mp_reap_later(pid);
  }
  mp_pool_release(p);
}

/* ---- delivering results ---- */

/* The values 'nvals' on top are job's outcome (ok, or its error): hands
** them to the job's AsyncResult (its chunk offset from the jobs table)
** and pops them. A job no longer pending (failed before) is ignored. */
static void resolve(lua_State *L, int pool_idx, Pool *p, uint64_t job, int ok, int nvals) {
  int first = lua_gettop(L) - nvals + 1;
  lua_getiuservalue(L, pool_idx, 1);
  int jobs = lua_gettop(L);
  if (lua_rawgeti(L, jobs, (lua_Integer)job) == LUA_TNIL) { lua_settop(L, first - 1); return; }
  lua_rawgeti(L, jobs, -(lua_Integer)job);
  lua_Integer off = lua_tointeger(L, -1);
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_rawseti(L, jobs, (lua_Integer)job);
  lua_pushnil(L);
  lua_rawseti(L, jobs, -(lua_Integer)job);
  p->outstanding--;
  lua_rotate(L, first, 2);               /* jobs, result below the values */
  mp_result_deliver(L, first + 1, ok, nvals, off);
  lua_settop(L, first - 1);
}

static void fail_job(lua_State *L, int pool_idx, Pool *p, uint64_t job, const char *msg) {
  lua_pushstring(L, msg);
  resolve(L, pool_idx, p, job, 0, 1);
}

void mp_pool_fail_all(lua_State *L, int pool_idx, Pool *p, const char *msg) {
  lua_getiuservalue(L, pool_idx, 1);
  int jobs = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, jobs)) {
    lua_pop(L, 1);
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0) {
      uint64_t job = (uint64_t)lua_tointeger(L, -1);
      lua_pop(L, 1);
      fail_job(L, pool_idx, p, job, msg);
      lua_pushnil(L);                      /* restart: the table changed */
    }
  }
  lua_settop(L, jobs - 1);
}

/* The initializer failed in a worker (its error on top): the pool is
** broken, every pending task fails with that error. */
static void init_failed(lua_State *L, int pool_idx, Pool *p) {
  const char *err = lua_tostring(L, -1);
  lua_pushfstring(L, "Pool initializer failed: %s", err ? err : "(no message)");
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, pool_idx, 4);
  p->broken = 1;
  mp_pool_fail_all(L, pool_idx, p, lua_tostring(L, -1));
  lua_pop(L, 2);
}

/* One result message: u64 job | u8 ok | transfer(values). */
static void deliver(lua_State *L, int pool_idx, Pool *p, void *data, size_t len) {
  uint64_t job = 0;
  if (len < 9) return;
  memcpy(&job, data, 8);
  int ok = ((unsigned char *)data)[8];
  char err[TR_ERRMAX];
  int n = tr_decode(L, (char *)data + 9, len - 9, err, sizeof err);
  if (n < 0) {
    lua_pushfstring(L, "cannot decode the task's result: %s", err);
    ok = 0;
    n = 1;
  } else if (mp_marked((char *)data + 9, len - 9))
    mp_unmark(L, lua_gettop(L) - n + 1, n);
  if (job == POOL_INIT_FAILED) {
    lua_settop(L, lua_gettop(L) - n + 1);
    init_failed(L, pool_idx, p);
  } else resolve(L, pool_idx, p, job, ok, n);
}

static int stopped(Pool *p) {
  return p->core == NULL || p->state == POOL_TERMINATE || p->state == POOL_JOINED;
}

/* Poll hook of the wait for results (GIL held): has the pool been
** terminated meanwhile, or has any worker exited (a peek, no reaping)? */
static int watch(void *ud) {
  Pool *p = (Pool *)ud;
  if (stopped(p)) return POOL_STOPPED;
  for (int i = 0; i < p->n; i++) {
    pid_t pid = p->core->pids[i];
    if (pid <= 0) continue;
    siginfo_t si;
    si.si_pid = 0;
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
      return POOL_DEATH;
  }
  return 0;
}

static void drain_ready(lua_State *L, int pool_idx, Pool *p) {
  void *data;
  size_t len;
  while (p->results && mp_chan_get(p->results, &data, &len, 0, NULL, NULL, NULL, NULL) == 0) {
    deliver(L, pool_idx, p, data, len);
    free(data);
  }
}

/* A worker that died: fails the task it held. */
static void worker_died(lua_State *L, int pool_idx, Pool *p, int slot, pid_t pid,
                        int status_lost, int st) {
  uint64_t job = __atomic_load_n(&p->slots[slot], __ATOMIC_ACQUIRE);
  if (job == 0) return;
  char how[96], msg[200];
  if (status_lost) snprintf(how, sizeof how, "reaped outside gillua");
  else mp_describe_status(st, how, sizeof how);
  snprintf(msg, sizeof msg, "worker process %d died (%s) while running this task", (int)pid, how);
  fail_job(L, pool_idx, p, job, msg);
}

/* Reaps dead workers, fails their tasks, starts replacements. */
static void check_workers(lua_State *L, int pool_idx, Pool *p) {
  for (int i = 0; !stopped(p) && i < p->n; i++) {
    pid_t pid = p->core->pids[i];
    if (pid <= 0) continue;
    int st = 0;
    pid_t r = mp_reap(pid, &st, MP_REAP_OWNER);
    if (r == 0 || (r < 0 && errno != ECHILD)) continue;   /* still running */
    set_pid(p, i, 0);
    drain_ready(L, pool_idx, p);              /* what it finished is not lost */
    if (stopped(p)) return;                   /* a callback terminated the pool */
    worker_died(L, pool_idx, p, i, pid, r < 0, st);
    if (!stopped(p) && !p->broken && (p->state == POOL_RUN || p->state == POOL_CLOSE))
      mp_pool_spawn(L, pool_idx, p, i);
  }
}

void mp_pool_drain(lua_State *L, int pool_idx, int block, const struct timespec *deadline) {
  Pool *p = (Pool *)lua_touserdata(L, pool_idx);
  MpChan *results = p->results;
  if (results == NULL) return;                /* joined or terminated */
  mp_chan_incref(results);                    /* terminate() may drop the pool's meanwhile */
  void *data;
  size_t len;
  int rc = mp_chan_get(results, &data, &len, block, deadline, NULL, watch, p);
  mp_chan_decref(results);
  if (rc == 0) {
    if (p->results) deliver(L, pool_idx, p, data, len);
    free(data);
    drain_ready(L, pool_idx, p);
  }
  check_workers(L, pool_idx, p);
  if (rc == EINTR) gl_raise_interrupt(L);
}

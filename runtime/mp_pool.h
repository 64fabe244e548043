/*
** mp_pool.h — internals shared by mp_pool.c (the Pool, its workers and
** the delivery of results) and mp_result.c (AsyncResult, imap iterators).
*/
#ifndef mp_pool_h
#define mp_pool_h

#include <stdint.h>
#include <sys/types.h>

#include <lua.h>

#include "mp.h"

#define POOL_MT "multiprocessing.Pool"
#define RESULT_MT "multiprocessing.AsyncResult"

enum { POOL_RUN, POOL_CLOSE, POOL_TERMINATE, POOL_JOINED };
enum { AR_APPLY, AR_MAP, AR_IMAP, AR_IMAP_UNORDERED };
enum { TASK_APPLY, TASK_MAP, TASK_STARMAP };

/* What the exit path needs to stop a pool's workers; lives on a process
** list (mp_pool.c, pools_mu) from Pool() until join/terminate/GC. */
typedef struct PoolCore {
  pid_t *pids;               /* pids_mu... guarded by pools_mu; 0 = no worker */
  int n;
  struct PoolCore *next;
} PoolCore;

/* The Lua-side pool (full userdata, used only by its creating process).
** Uservalues: 1 jobs table (job -> AsyncResult, -job -> first index of a
** map chunk), 2 initializer, 3 initargs, 4 the initializer's error once
** it failed. Fields are touched only by the interpreter owning the
** userdata (under the GIL when it is on); 'core', 'tasks', 'results' and
** 'slots' become NULL when the pool is joined or terminated, which may
** happen while another thread of the universe waits for a result
** (mp_pool_drain keeps its own reference to the channel it waits on). */
typedef struct Pool {
  pid_t creator;
  int n, state, maxtasks;
  int broken;                /* the initializer failed: no new workers, no tasks */
  PoolCore *core;
  MpChan *tasks, *results;
  uint64_t *slots;           /* arena: job each worker holds (0 = none) */
  lua_Integer next_job;
  long outstanding;          /* tasks sent and not yet resolved */
  int spawned;               /* for worker names */
} Pool;

/* AsyncResult (full userdata). Uservalues: 1 the pool, 2 values (apply:
** {n=, ...}; map: the result list; failed: the error message), 3 callback,
** 4 error_callback, 5 imap arrival list. */
typedef struct AResult {
  int kind;
  int ready, ok;
  long remaining;            /* chunks not yet back */
  lua_Integer nitems;        /* map/imap: items in all */
  lua_Integer arrived;       /* imap_unordered: items in the arrival list */
  lua_Integer next;          /* imap iterators: next position to hand out */
} AResult;

/* A result message with this job id is the initializer's failure. */
#define POOL_INIT_FAILED 0

/* mp_pool_run.c: workers and the delivery of results.
** mp_pool_drain delivers results; block: wait for at least one (or the
** deadline). Raises on Ctrl-C. Pool userdata at pool_idx. */
void mp_pool_drain(lua_State *L, int pool_idx, int block, const struct timespec *deadline);
/* The process-wide record of a new pool's workers (raises when out of
** memory). */
PoolCore *mp_pool_core_new(lua_State *L, int n);
/* Forks worker 'slot'; returns in the parent only. */
void mp_pool_spawn(lua_State *L, int pool_idx, Pool *p, int slot);
/* Waits for the workers (grace < 0: as long as they take; else kills
** those still running after grace seconds). */
void mp_pool_reap_workers(Pool *p, double grace);
/* Fails every pending task with msg. */
void mp_pool_fail_all(lua_State *L, int pool_idx, Pool *p, const char *msg);
/* Drops the pool's worker record and shared blocks (joined/terminated). */
void mp_pool_release(Pool *p);
/* Asks the workers of a collected pool to stop; the reaper reaps them. */
void mp_pool_abandon(Pool *p);

/* mp_pool_worker.c: the forked worker's body (mp_child_main), the pool
** at 1 and the slot at 2. */
int mp_pool_worker_main(lua_State *L);

/* mp_result.c */
AResult *mp_result_new(lua_State *L, int pool_idx, int kind, long chunks, lua_Integer nitems);
/* Stores a result (values on the stack top, 'nvals' of them; for map
** chunks a list at the top and its first index 'off'), runs callbacks. */
void mp_result_deliver(lua_State *L, int ar_idx, int ok, int nvals, lua_Integer off);
void mp_open_result(lua_State *L);

#endif

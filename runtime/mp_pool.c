/*
** mp_pool.c — multiprocessing.Pool: forked workers, a task channel and a
** result channel in shared memory (mp_chan.c).
**
** Tasks and results travel by the value transfer: a task is
**   u64 job id | u8 kind | transfer(func, args-or-chunk)
** so a Lua function defined after the pool started works (its bytecode
** travels; its _ENV is the worker's globals). Job id 0 tells a worker to
** leave. A worker takes a task and, atomically with the take (under the
** channel's mutex), records the job id in its slot in shared memory;
** it clears the slot after putting the result
**   u64 job id | u8 ok | transfer(values)   (error: the message+traceback)
**
** Results are delivered in the parent by whichever of its threads calls
** into the pool or an AsyncResult (get, wait, ready, successful, join,
** close, apply_async, map, the imap iterators): it drains the result
** channel with the GIL held and runs callbacks right there, in the
** creating interpreter. (With the GIL off a universe has one thread, so
** no background thread could run them; the same rule everywhere keeps it
** simple.) A callback that raises is reported on stderr and ignored.
**
** Dead workers (better than Python): while waiting for results the parent
** peeks at its workers every 50 ms (waitid WNOWAIT, no reaping) and on
** every drain; a worker that died is reaped, its slot's task fails at
** once with "worker process PID died (killed by signal N (...)) while
** running this task", and a new worker takes its place. Results already
** put by the dead worker are drained first, so a finished task is never
** failed. Workers also leave when their parent process is gone.
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
#include "vm.h"

#define POOL_DEATH 1000          /* mp_chan_get poll code: a worker died */

static PoolCore *pools;
static pthread_mutex_t pools_mu = PTHREAD_MUTEX_INITIALIZER;

void mp_pools_fork_prepare(void) { pthread_mutex_lock(&pools_mu); }

void mp_pools_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&pools_mu); }

void mp_pools_fork_child(void) {
  pthread_mutex_init(&pools_mu, NULL);
  pools = NULL;                  /* a child does not own its parent's pools */
}

static void core_unlist(PoolCore *c) {
  pthread_mutex_lock(&pools_mu);
  for (PoolCore **p = &pools; *p; p = &(*p)->next)
    if (*p == c) { *p = c->next; break; }
  pthread_mutex_unlock(&pools_mu);
  free(c->pids);
  free(c);
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

static Pool *check_pool(lua_State *L, int idx) {
  Pool *p = (Pool *)luaL_checkudata(L, idx, POOL_MT);
  if (p->creator != getpid()) luaL_error(L, "a Pool can only be used by the process that created it");
  return p;
}

/* Forks worker 'slot'. Returns in the parent only. */
static void spawn_worker(lua_State *L, int pool_idx, Pool *p, int slot) {
  p->spawned++;
  __atomic_store_n(&p->slots[slot], 0, __ATOMIC_RELEASE);
  pid_t pid = mp_fork(L);
  if (pid < 0) luaL_error(L, "Pool: cannot start a worker: %s", strerror(errno));
  if (pid == 0) mp_pool_worker_main(L, pool_idx, p, slot);
  pthread_mutex_lock(&pools_mu);
  p->core->pids[slot] = pid;
  pthread_mutex_unlock(&pools_mu);
}

/* ---- delivering results, noticing deaths ---- */

static void fail_job(lua_State *L, int pool_idx, Pool *p, uint64_t job, const char *msg) {
  lua_getiuservalue(L, pool_idx, 1);
  int jobs = lua_gettop(L);
  if (lua_rawgeti(L, jobs, (lua_Integer)job) == LUA_TNIL) { lua_settop(L, jobs - 1); return; }
  int ar = lua_gettop(L);
  lua_pushnil(L);
  lua_rawseti(L, jobs, (lua_Integer)job);
  lua_pushnil(L);
  lua_rawseti(L, jobs, -(lua_Integer)job);
  p->outstanding--;
  lua_pushstring(L, msg);
  mp_result_deliver(L, ar, 0, 1, 0);
  lua_settop(L, jobs - 1);
}

static void deliver(lua_State *L, int pool_idx, Pool *p, void *data, size_t len) {
  uint64_t job = 0;
  if (len < 9) return;
  memcpy(&job, data, 8);
  int ok = ((unsigned char *)data)[8];
  lua_getiuservalue(L, pool_idx, 1);
  int jobs = lua_gettop(L);
  if (lua_rawgeti(L, jobs, (lua_Integer)job) == LUA_TNIL) { lua_settop(L, jobs - 1); return; }
  int ar = lua_gettop(L);
  lua_rawgeti(L, jobs, -(lua_Integer)job);
  lua_Integer off = lua_tointeger(L, -1);
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_rawseti(L, jobs, (lua_Integer)job);
  lua_pushnil(L);
  lua_rawseti(L, jobs, -(lua_Integer)job);
  p->outstanding--;
  char err[TR_ERRMAX];
  int base = lua_gettop(L);
  int n = tr_decode(L, (char *)data + 9, len - 9, err, sizeof err);
  if (n < 0) {
    lua_pushfstring(L, "cannot decode the task's result: %s", err);
    ok = 0;
    n = 1;
  } else if (mp_marked((char *)data + 9, len - 9))
    mp_unmark(L, lua_gettop(L) - n + 1, n);
  (void)base;
  mp_result_deliver(L, ar, ok, n, off);
  lua_settop(L, jobs - 1);
}

/* Peek (no reaping): has any worker exited? */
static int any_dead(void *ud) {
  Pool *p = (Pool *)ud;
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
  while (mp_chan_get(p->results, &data, &len, 0, NULL, NULL, NULL, NULL) == 0) {
    deliver(L, pool_idx, p, data, len);
    free(data);
  }
}

/* Reaps dead workers, fails their tasks, starts replacements. */
static void check_workers(lua_State *L, int pool_idx, Pool *p) {
  for (int i = 0; i < p->n; i++) {
    pid_t pid = p->core->pids[i];
    if (pid <= 0) continue;
    int st = 0;
    pid_t r = mp_reap(pid, &st, MP_REAP_OWNER);
    if (r == 0 || (r < 0 && errno != ECHILD)) continue;   /* still running */
    int status_lost = r < 0;   /* reaped outside gillua: status unknown */
    pthread_mutex_lock(&pools_mu);
    p->core->pids[i] = 0;
    pthread_mutex_unlock(&pools_mu);
    drain_ready(L, pool_idx, p);              /* what it finished is not lost */
    uint64_t job = __atomic_load_n(&p->slots[i], __ATOMIC_ACQUIRE);
    if (job) {
      char how[96], msg[200];
      if (status_lost) snprintf(how, sizeof how, "reaped outside gillua");
      else mp_describe_status(st, how, sizeof how);
      snprintf(msg, sizeof msg, "worker process %d died (%s) while running this task", (int)pid, how);
      fail_job(L, pool_idx, p, job, msg);
    }
    if (p->state == POOL_RUN || p->state == POOL_CLOSE) spawn_worker(L, pool_idx, p, i);
  }
}

void mp_pool_drain(lua_State *L, int pool_idx, int block, const struct timespec *deadline) {
  Pool *p = (Pool *)lua_touserdata(L, pool_idx);
  if (p->results == NULL) return;               /* joined or terminated */
  void *data;
  size_t len;
  int rc = mp_chan_get(p->results, &data, &len, block, deadline, NULL, any_dead, p);
  if (rc == 0) {
    deliver(L, pool_idx, p, data, len);
    free(data);
    drain_ready(L, pool_idx, p);
  }
  check_workers(L, pool_idx, p);
  if (rc == EINTR) gl_raise_interrupt(L);
}

/* ---- Pool methods ---- */

/* Pool([n] | {processes=, initializer=, initargs=, maxtasksperchild=}) */
static int mp_Pool(lua_State *L) {
  lua_Integer n = 0, maxtasks = 0;
  int init = 0, initargs = 0;
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "processes");
    n = luaL_optinteger(L, -1, 0);
    lua_getfield(L, 1, "maxtasksperchild");
    maxtasks = luaL_optinteger(L, -1, 0);
    lua_getfield(L, 1, "initializer");
    if (!lua_isnil(L, -1)) init = lua_gettop(L);
    lua_getfield(L, 1, "initargs");
    if (!lua_isnil(L, -1)) { luaL_checktype(L, -1, LUA_TTABLE); initargs = lua_gettop(L); }
  } else n = luaL_optinteger(L, 1, 0);
  if (n == 0) n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1 || n > 1024) return luaL_error(L, "Pool: processes must be between 1 and 1024 (got %I)", n);
  if (maxtasks < 0) return luaL_error(L, "Pool: maxtasksperchild must be >= 0");
  Pool *p = (Pool *)lua_newuserdatauv(L, sizeof(Pool), 3);
  memset(p, 0, sizeof *p);
  luaL_setmetatable(L, POOL_MT);
  int idx = lua_gettop(L);
  p->creator = getpid();
  p->n = (int)n;
  p->maxtasks = (int)maxtasks;
  p->state = POOL_TERMINATE;               /* until fully set up (for __gc) */
  lua_newtable(L);
  lua_setiuservalue(L, idx, 1);
  if (init) { lua_pushvalue(L, init); lua_setiuservalue(L, idx, 2); }
  if (initargs) { lua_pushvalue(L, initargs); lua_setiuservalue(L, idx, 3); }
  p->tasks = mp_chan_new(L, 0);
  p->results = mp_chan_new(L, 0);
  p->slots = (uint64_t *)mp_shm_alloc_or_raise(L, sizeof(uint64_t) * (size_t)n, "Pool");
  PoolCore *c = (PoolCore *)calloc(1, sizeof(PoolCore));
  if (c) c->pids = (pid_t *)calloc((size_t)n, sizeof(pid_t));
  if (c == NULL || c->pids == NULL) { free(c); return luaL_error(L, "out of memory"); }
  c->n = (int)n;
  pthread_mutex_lock(&pools_mu);
  c->next = pools;
  pools = c;
  pthread_mutex_unlock(&pools_mu);
  p->core = c;
  p->state = POOL_RUN;
  for (int i = 0; i < p->n; i++) spawn_worker(L, idx, p, i);
  lua_settop(L, idx);
  return 1;
}

static void submit(lua_State *L, int pool_idx, Pool *p, int kind, int fidx, int aidx,
                   int ar_idx, lua_Integer off) {
  uint64_t job = (uint64_t)++p->next_job;
  unsigned char hdr[9];
  memcpy(hdr, &job, 8);
  hdr[8] = (unsigned char)kind;
  lua_pushvalue(L, fidx);
  lua_pushvalue(L, aidx);
  mp_mark(L, lua_gettop(L) - 1, 2);          /* arena objects in the function's upvalues and the arguments */
  static const char *const names[] = {"func", "args"};
  TrBuffer b;
  tr_buffer_init(&b);
  char err[TR_ERRMAX];
  if (tr_encode_named_opts(L, lua_gettop(L) - 1, 2, names, TR_ENC_NOOBJ, &b, err, sizeof err) != 0)
    luaL_error(L, "%s", err);
  lua_pop(L, 2);
  int rc = mp_chan_put2(p->tasks, hdr, 9, b.data, b.len, 1, NULL);
  mp_encoded_done(&b);
  if (rc) luaL_error(L, "Pool: cannot queue the task (%s)", rc == ENOMEM ? "shared memory exhausted" : strerror(rc));
  lua_getiuservalue(L, pool_idx, 1);
  lua_pushvalue(L, ar_idx);
  lua_rawseti(L, -2, (lua_Integer)job);
  lua_pushinteger(L, off);
  lua_rawseti(L, -2, -(lua_Integer)job);
  lua_pop(L, 1);
  p->outstanding++;
}

static void check_running(lua_State *L, Pool *p) {
  if (p->state != POOL_RUN) luaL_error(L, "Pool not running");
}

static int check_callable(lua_State *L, int idx, const char *what) {
  if (lua_isnoneornil(L, idx)) return 0;
  if (lua_type(L, idx) != LUA_TFUNCTION && !luaL_getmetafield(L, idx, "__call"))
    luaL_error(L, "%s must be a function (got %s)", what, luaL_typename(L, idx));
  return idx;
}

/* apply_async(f, args[, callback[, error_callback]]) -> AsyncResult */
static int pool_apply_async(lua_State *L) {
  Pool *p = check_pool(L, 1);
  check_running(L, p);
  lua_settop(L, 5);
  check_callable(L, 2, "func");
  if (lua_isnil(L, 2)) return luaL_argerror(L, 2, "function expected");
  if (lua_isnil(L, 3)) { lua_newtable(L); lua_replace(L, 3); }
  luaL_checktype(L, 3, LUA_TTABLE);
  check_callable(L, 4, "callback");
  check_callable(L, 5, "error_callback");
  lua_settop(L, 5);
  mp_pool_drain(L, 1, 0, NULL);
  mp_result_new(L, 1, AR_APPLY, 1, 0);
  int ar = lua_gettop(L);
  lua_pushvalue(L, 4);
  lua_setiuservalue(L, ar, 3);
  lua_pushvalue(L, 5);
  lua_setiuservalue(L, ar, 4);
  submit(L, 1, p, TASK_APPLY, 2, 3, ar, 0);
  return 1;
}

/* map-like submission: splits list (at 3) into chunks. */
static int submit_map(lua_State *L, int kind, int task, int chunk_idx, int cb, int ecb) {
  Pool *p = check_pool(L, 1);
  check_running(L, p);
  check_callable(L, 2, "func");
  luaL_checktype(L, 3, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 3);
  lua_Integer cs = luaL_optinteger(L, chunk_idx, 0);
  if (cs <= 0) {
    if (kind == AR_MAP) { cs = n / (p->n * 4); if (cs * p->n * 4 < n) cs++; }
    else cs = 1;
  }
  if (cs < 1) cs = 1;
  long chunks = (long)((n + cs - 1) / cs);
  mp_pool_drain(L, 1, 0, NULL);
  mp_result_new(L, 1, kind, chunks, n);
  int ar = lua_gettop(L);
  if (cb) { lua_pushvalue(L, cb); lua_setiuservalue(L, ar, 3); }
  if (ecb) { lua_pushvalue(L, ecb); lua_setiuservalue(L, ar, 4); }
  for (lua_Integer s = 1; s <= n; s += cs) {
    lua_Integer e = s + cs - 1 < n ? s + cs - 1 : n;
    lua_createtable(L, (int)(e - s + 1), 0);
    for (lua_Integer i = s; i <= e; i++) {
      lua_geti(L, 3, i);
      lua_rawseti(L, -2, i - s + 1);
    }
    submit(L, 1, p, task, 2, lua_gettop(L), ar, s);
    lua_pop(L, 1);
  }
  return ar;
}

/* map_async(f, list[, chunksize[, callback[, error_callback]]]) */
static int pool_map_async(lua_State *L) {
  lua_settop(L, 6);
  check_callable(L, 5, "callback");
  check_callable(L, 6, "error_callback");
  submit_map(L, AR_MAP, TASK_MAP, 4, lua_isnil(L, 5) ? 0 : 5, lua_isnil(L, 6) ? 0 : 6);
  return 1;
}

static int pool_starmap_async(lua_State *L) {
  lua_settop(L, 6);
  check_callable(L, 5, "callback");
  check_callable(L, 6, "error_callback");
  submit_map(L, AR_MAP, TASK_STARMAP, 4, lua_isnil(L, 5) ? 0 : 5, lua_isnil(L, 6) ? 0 : 6);
  return 1;
}

static int get_result(lua_State *L) {    /* calls ar:get() on the top value */
  lua_getfield(L, -1, "get");
  lua_insert(L, -2);
  lua_call(L, 1, LUA_MULTRET);
  return lua_gettop(L);
}

static int pool_map(lua_State *L) {
  lua_settop(L, 4);
  submit_map(L, AR_MAP, TASK_MAP, 4, 0, 0);
  int top = lua_gettop(L);
  return get_result(L) - top + 1;
}

static int pool_starmap(lua_State *L) {
  lua_settop(L, 4);
  submit_map(L, AR_MAP, TASK_STARMAP, 4, 0, 0);
  int top = lua_gettop(L);
  return get_result(L) - top + 1;
}

/* apply(f, args) -> f's results */
static int pool_apply(lua_State *L) {
  lua_settop(L, 3);
  pool_apply_async(L);
  int top = lua_gettop(L);
  return get_result(L) - top + 1;
}

/* Submits a map of kind 'kind' and returns its iterator and state. */
static int imap_kind(lua_State *L, int kind) {
  lua_settop(L, 4);
  submit_map(L, kind, TASK_MAP, 4, 0, 0);
  lua_getfield(L, -1, "_iter");
  lua_insert(L, -2);
  return 2;
}

/* imap(f, list[, chunksize]) -> iterator over results in order */
static int pool_imap(lua_State *L) { return imap_kind(L, AR_IMAP); }

/* imap_unordered(f, list[, chunksize]) -> iterator, results as they come */
static int pool_imap_unordered(lua_State *L) { return imap_kind(L, AR_IMAP_UNORDERED); }

static int pool_close(lua_State *L) {
  Pool *p = check_pool(L, 1);
  if (p->state == POOL_RUN) p->state = POOL_CLOSE;
  mp_pool_drain(L, 1, 0, NULL);
  return 0;
}

static void reap_workers(Pool *p, double grace) {
  for (int i = 0; i < p->n; i++) {
    pid_t pid = p->core->pids[i];
    if (pid <= 0) continue;
    struct timespec ts;
    int st;
    int rc = mp_wait_pid(pid, &st, grace >= 0 ? gl_deadline(&ts, grace) : NULL, MP_REAP_OWNER);
    if (rc == 0) { kill(pid, SIGKILL); mp_wait_pid(pid, &st, NULL, MP_REAP_OWNER); }
    pthread_mutex_lock(&pools_mu);
    p->core->pids[i] = 0;
    pthread_mutex_unlock(&pools_mu);
  }
}

static void release_core(Pool *p) {
  if (p->core) { core_unlist(p->core); p->core = NULL; }
  if (p->tasks) { mp_chan_decref(p->tasks); p->tasks = NULL; }
  if (p->results) { mp_chan_decref(p->results); p->results = NULL; }
  if (p->slots) { mp_shm_decref(p->slots); p->slots = NULL; }
}

/* join(): after close(): waits for every task, then for the workers. */
static int pool_join(lua_State *L) {
  Pool *p = check_pool(L, 1);
  if (p->state == POOL_RUN) return luaL_error(L, "Pool is still running (call close() or terminate() first)");
  if (p->state == POOL_JOINED) return 0;
  while (p->state == POOL_CLOSE && p->outstanding > 0) mp_pool_drain(L, 1, 1, NULL);
  if (p->state == POOL_CLOSE) {
    uint64_t zero[2] = {0, 0};
    for (int i = 0; i < p->n; i++) mp_chan_put(p->tasks, zero, 9, 1, NULL);
    p->state = POOL_JOINED;
  }
  reap_workers(p, -1);
  p->state = POOL_JOINED;
  release_core(p);
  return 0;
}

static void fail_all(lua_State *L, int pool_idx, Pool *p, const char *msg) {
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

static int pool_terminate(lua_State *L) {
  Pool *p = check_pool(L, 1);
  if (p->state == POOL_JOINED || p->core == NULL) return 0;
  p->state = POOL_TERMINATE;
  for (int i = 0; i < p->n; i++)
    if (p->core->pids[i] > 0) kill(p->core->pids[i], SIGTERM);
  reap_workers(p, 1.0);
  fail_all(L, 1, p, "Pool terminated");
  p->state = POOL_JOINED;
  release_core(p);
  return 0;
}

static int pool_gc(lua_State *L) {
  Pool *p = (Pool *)lua_touserdata(L, 1);
  if (p->creator != getpid() || p->core == NULL) return 0;
  for (int i = 0; i < p->n; i++)
    if (p->core->pids[i] > 0) kill(p->core->pids[i], SIGTERM);
  for (int i = 0; i < p->n; i++)
    if (p->core->pids[i] > 0) {
      int st;
      if (waitpid(p->core->pids[i], &st, 0) > 0) mp_ledger_reaped(p->core->pids[i]);
    }
  release_core(p);
  return 0;
}

static int pool_index(lua_State *L) {
  Pool *p = (Pool *)luaL_checkudata(L, 1, POOL_MT);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "processes") == 0) { lua_pushinteger(L, p->n); return 1; }
  if (strcmp(k, "pids") == 0) {
    lua_createtable(L, p->n, 0);
    for (int i = 0; p->core && i < p->n; i++) {
      lua_pushinteger(L, p->core->pids[i]);
      lua_rawseti(L, -2, i + 1);
    }
    return 1;
  }
  luaL_getmetatable(L, POOL_MT);
  lua_getfield(L, -1, "methods");
  lua_getfield(L, -1, k);
  return 1;
}

static const luaL_Reg pool_methods[] = {
  {"apply", pool_apply}, {"apply_async", pool_apply_async}, {"map", pool_map},
  {"map_async", pool_map_async}, {"starmap", pool_starmap}, {"starmap_async", pool_starmap_async},
  {"imap", pool_imap}, {"imap_unordered", pool_imap_unordered}, {"close", pool_close},
  {"join", pool_join}, {"terminate", pool_terminate}, {NULL, NULL}
};

static int pool_close_mm(lua_State *L) {  /* `local pool <close> = Pool(2)`: terminate, as Python's with */
  return pool_terminate(L);
}

void mp_open_pool(lua_State *L) {
  if (luaL_newmetatable(L, POOL_MT)) {
    lua_newtable(L);
    luaL_setfuncs(L, pool_methods, 0);
    lua_setfield(L, -2, "methods");
    lua_pushcfunction(L, pool_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, pool_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, pool_close_mm);
    lua_setfield(L, -2, "__close");
  }
  lua_pop(L, 1);
  mp_open_result(L);
  lua_pushcfunction(L, mp_Pool);
  lua_setfield(L, -2, "Pool");
}

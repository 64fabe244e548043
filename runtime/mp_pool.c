/*
** mp_pool.c — multiprocessing.Pool: forked workers, a task channel and a
** result channel in shared memory (mp_chan.c). The workers' lives and
** the delivery of results are in mp_pool_run.c, a worker's loop in
** mp_pool_worker.c, AsyncResult in mp_result.c.
**
** Tasks and results travel by the value transfer: a task is
**   u64 job id | u8 kind | transfer(func, args-or-chunk)
** so a Lua function defined after the pool started works (its bytecode
** travels; its _ENV is the worker's globals). Job id 0 tells a worker to
** leave. A worker takes a task and, atomically with the take (under the
** channel's mutex), records the job id in its slot in shared memory;
** it clears the slot after putting the result
**   u64 job id | u8 ok | transfer(values)   (error: the message+traceback)
** (job id 0 in a result: the initializer failed, with its error).
**
** Results are delivered in the parent by whichever of its threads calls
** into the pool or an AsyncResult (get, wait, ready, successful, join,
** close, apply_async, map, the imap iterators): it drains the result
** channel with the GIL held and runs callbacks right there, in the
** creating interpreter. (With the GIL off a universe has one thread, so
** no background thread could run them; the same rule everywhere keeps it
** simple.) A callback that raises is reported on stderr and ignored.
*/
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mp_pool.h"
#include "options.h"
#include "rtclass.h"

static Pool *check_pool(lua_State *L, int idx) {
  Pool *p = (Pool *)luaL_checkudata(L, idx, POOL_MT);
  if (p->creator != getpid()) luaL_error(L, "a Pool can only be used by the process that created it");
  return p;
}

static int check_callable(lua_State *L, int idx, const char *what) {
  if (lua_isnoneornil(L, idx)) return 0;
  if (lua_type(L, idx) == LUA_TFUNCTION) return idx;
  if (luaL_getmetafield(L, idx, "__call") == LUA_TNIL)
    luaL_error(L, "%s must be a function (got %s)", what, luaL_typename(L, idx));
  lua_pop(L, 1);
  return idx;
}

/* ---- construction ---- */

static const char *const pool_options[] = {
  "processes", "initializer", "initargs", "maxtasksperchild", NULL
};

/* Option 'name' of the table at 1: an integer, 0 when absent. */
static lua_Integer opt_count(lua_State *L, const char *name) {
  int t = lua_getfield(L, 1, name);
  if (t != LUA_TNIL && !lua_isinteger(L, -1))
    luaL_error(L, "Pool: %s must be an integer (got %s)", name, luaL_typename(L, -1));
  lua_Integer v = lua_tointeger(L, -1);
  lua_pop(L, 1);
  return v;
}

/* Reads Pool's options table at 1 into n, maxtasks; leaves initializer
** and initargs at 2 and 3 (nil when absent). */
static void pool_options_read(lua_State *L, lua_Integer *n, lua_Integer *maxtasks) {
  rt_check_options(L, 1, "Pool", pool_options);
  *n = opt_count(L, "processes");
  *maxtasks = opt_count(L, "maxtasksperchild");
  lua_getfield(L, 1, "initializer");
  check_callable(L, 2, "Pool: initializer");
  lua_getfield(L, 1, "initargs");
  if (!lua_isnil(L, 3) && !lua_istable(L, 3))
    luaL_error(L, "Pool: initargs must be a table (got %s)", luaL_typename(L, 3));
}

/* Pool([n] | {processes=, initializer=, initargs=, maxtasksperchild=}) */
static int mp_Pool(lua_State *L) {
  lua_Integer n = 0, maxtasks = 0;
  if (lua_istable(L, 1)) {
    lua_settop(L, 1);
    pool_options_read(L, &n, &maxtasks);
  } else {
    n = luaL_optinteger(L, 1, 0);
    lua_settop(L, 1);
    lua_settop(L, 3);                      /* no initializer, no initargs */
  }
  if (n == 0) n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1 || n > 1024) return luaL_error(L, "Pool: processes must be between 1 and 1024 (got %I)", n);
  if (maxtasks < 0 || maxtasks > INT_MAX) return luaL_error(L, "Pool: maxtasksperchild must be >= 0");
  Pool *p = (Pool *)lua_newuserdatauv(L, sizeof(Pool), 4);
  memset(p, 0, sizeof *p);
  luaL_setmetatable(L, POOL_MT);
  int idx = lua_gettop(L);
  p->creator = getpid();
  p->n = (int)n;
  p->maxtasks = (int)maxtasks;
  p->state = POOL_TERMINATE;               /* until fully set up (for __gc) */
  lua_newtable(L);
  lua_setiuservalue(L, idx, 1);
  lua_pushvalue(L, 2);
  lua_setiuservalue(L, idx, 2);
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, idx, 3);
  p->tasks = mp_chan_new(L, 0);
  p->results = mp_chan_new(L, 0);
  p->slots = (uint64_t *)mp_shm_alloc_or_raise(L, sizeof(uint64_t) * (size_t)n, "Pool");
  p->core = mp_pool_core_new(L, p->n);
  p->state = POOL_RUN;
  for (int i = 0; i < p->n; i++) mp_pool_spawn(L, idx, p, i);
  lua_settop(L, idx);
  return 1;
}

/* ---- submitting tasks ---- */

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

/* Drains what is ready, then checks that the pool takes tasks. */
static Pool *running_pool(lua_State *L) {
  Pool *p = check_pool(L, 1);
  mp_pool_drain(L, 1, 0, NULL);
  if (p->broken) {
    lua_getiuservalue(L, 1, 4);
    lua_error(L);
  }
  if (p->state != POOL_RUN) luaL_error(L, "Pool not running");
  return p;
}

/* apply_async(f, args[, callback[, error_callback]]) -> AsyncResult */
static int pool_apply_async(lua_State *L) {
  lua_settop(L, 5);
  Pool *p = running_pool(L);
  if (lua_isnil(L, 2)) return luaL_argerror(L, 2, "function expected");
  check_callable(L, 2, "func");
  if (lua_isnil(L, 3)) { lua_newtable(L); lua_replace(L, 3); }
  luaL_checktype(L, 3, LUA_TTABLE);
  check_callable(L, 4, "callback");
  check_callable(L, 5, "error_callback");
  mp_result_new(L, 1, AR_APPLY, 1, 0);
  int ar = lua_gettop(L);
  lua_pushvalue(L, 4);
  lua_setiuservalue(L, ar, 3);
  lua_pushvalue(L, 5);
  lua_setiuservalue(L, ar, 4);
  submit(L, 1, p, TASK_APPLY, 2, 3, ar, 0);
  return 1;
}

/* map-like submission: the list at 3 split into chunks (chunksize at 4);
** callbacks at 5 and 6 (may be nil). Pushes the AsyncResult. */
static int submit_map(lua_State *L, int kind, int task) {
  lua_settop(L, 6);
  Pool *p = running_pool(L);
  check_callable(L, 2, "func");
  luaL_checktype(L, 3, LUA_TTABLE);
  check_callable(L, 5, "callback");
  check_callable(L, 6, "error_callback");
  lua_Integer n = luaL_len(L, 3);
  lua_Integer cs = luaL_optinteger(L, 4, 0);
  if (cs <= 0) {
    if (kind == AR_MAP) { cs = n / (p->n * 4); if (cs * p->n * 4 < n) cs++; }
    else cs = 1;
  }
  if (cs < 1) cs = 1;
  long chunks = (long)((n + cs - 1) / cs);
  mp_result_new(L, 1, kind, chunks, n);
  int ar = lua_gettop(L);
  lua_pushvalue(L, 5);
  lua_setiuservalue(L, ar, 3);
  lua_pushvalue(L, 6);
  lua_setiuservalue(L, ar, 4);
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
  return 1;
}

/* map_async(f, list[, chunksize[, callback[, error_callback]]]) */
static int pool_map_async(lua_State *L) { return submit_map(L, AR_MAP, TASK_MAP); }
static int pool_starmap_async(lua_State *L) { return submit_map(L, AR_MAP, TASK_STARMAP); }

/* Calls ar:get() on the AsyncResult on top; returns its results. */
static int get_result(lua_State *L) {
  int top = lua_gettop(L);
  lua_getfield(L, -1, "get");
  lua_insert(L, -2);
  lua_call(L, 1, LUA_MULTRET);
  return lua_gettop(L) - top + 1;
}

/* map(f, list[, chunksize]), starmap: no callbacks */
static int pool_map(lua_State *L) {
  lua_settop(L, 4);
  submit_map(L, AR_MAP, TASK_MAP);
  return get_result(L);
}

static int pool_starmap(lua_State *L) {
  lua_settop(L, 4);
  submit_map(L, AR_MAP, TASK_STARMAP);
  return get_result(L);
}

/* apply(f, args) -> f's results */
static int pool_apply(lua_State *L) {
  lua_settop(L, 3);
  pool_apply_async(L);
  return get_result(L);
}

/* Submits a map of kind 'kind' and returns its iterator and state. */
static int imap_kind(lua_State *L, int kind) {
  lua_settop(L, 4);
  submit_map(L, kind, TASK_MAP);
  lua_getfield(L, -1, "_iter");
  lua_insert(L, -2);
  return 2;
}

/* imap(f, list[, chunksize]) -> iterator over results in order */
static int pool_imap(lua_State *L) { return imap_kind(L, AR_IMAP); }

/* imap_unordered(f, list[, chunksize]) -> iterator, results as they come */
static int pool_imap_unordered(lua_State *L) { return imap_kind(L, AR_IMAP_UNORDERED); }

/* ---- ending ---- */

static int pool_close(lua_State *L) {
  Pool *p = check_pool(L, 1);
  if (p->state == POOL_RUN) p->state = POOL_CLOSE;
  mp_pool_drain(L, 1, 0, NULL);
  return 0;
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
  mp_pool_reap_workers(p, -1);
  p->state = POOL_JOINED;
  mp_pool_release(p);
  return 0;
}

/* terminate(): stops the workers now; pending tasks fail with "Pool
** terminated" (also for a thread waiting in AsyncResult:get meanwhile,
** and when called from a callback). */
static int pool_terminate(lua_State *L) {
  Pool *p = check_pool(L, 1);
  if (p->state == POOL_JOINED || p->state == POOL_TERMINATE || p->core == NULL) return 0;
  p->state = POOL_TERMINATE;
  for (int i = 0; i < p->n; i++)
    if (p->core->pids[i] > 0) kill(p->core->pids[i], SIGTERM);
  mp_pool_reap_workers(p, 1.0);
  mp_pool_fail_all(L, 1, p, "Pool terminated");
  p->state = POOL_JOINED;
  mp_pool_release(p);
  return 0;
}

/* A pool collected without join or terminate: its workers are told to
** stop and reaped by the reaper (a finalizer does not wait). */
static int pool_gc(lua_State *L) {
  Pool *p = (Pool *)lua_touserdata(L, 1);
  if (p->creator == getpid() && p->core) mp_pool_abandon(p);
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
  return rt_push_method(L, k);
}

void mp_open_pool(lua_State *L) {
  static const luaL_Reg methods[] = {
    {"apply", pool_apply}, {"apply_async", pool_apply_async}, {"map", pool_map},
    {"map_async", pool_map_async}, {"starmap", pool_starmap}, {"starmap_async", pool_starmap_async},
    {"imap", pool_imap}, {"imap_unordered", pool_imap_unordered}, {"close", pool_close},
    {"join", pool_join}, {"terminate", pool_terminate}, {NULL, NULL}
  };
  static const luaL_Reg meta[] = {
    {"__index", pool_index}, {"__gc", pool_gc},
    {"__close", pool_terminate},          /* `local pool <close> = Pool(2)`, as Python's with */
    {NULL, NULL}
  };
  rt_new_class(L, POOL_MT, methods, meta);
  mp_open_result(L);
  lua_pushcfunction(L, mp_Pool);
  lua_setfield(L, -2, "Pool");
}

/*
** mp_pool_worker.c — the life of a Pool worker process (see mp_pool.c for
** the protocol): run the initializer, then take tasks from the task
** channel (recording the job in the worker's slot atomically with the
** take), run them in protected mode and put the results back, until a
** job id 0 arrives, maxtasksperchild is reached, or the parent is gone.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "mp_pool.h"
#include "vm.h"

#define MAX_ARGS 1000000      /* Lua's own stack limit (LUAI_MAXSTACK) */

static int parent_gone(void *ud) {
  return getppid() != *(pid_t *)ud ? ESRCH : 0;
}

/* Sends a result: ok with the values base+1..top, or the error at top. */
static void send_result(lua_State *L, Pool *p, uint64_t job, int ok, int base) {
  unsigned char hdr[9];
  memcpy(hdr, &job, 8);
  hdr[8] = (unsigned char)ok;
  TrBuffer b;
  tr_buffer_init(&b);
  char err[TR_ERRMAX];
  int n = lua_gettop(L) - base;
  if (ok && mp_mark_p(L, base + 1, n) != 0) {
    lua_replace(L, base + 1);               /* the error replaces the results */
    lua_settop(L, base + 1);
    n = 1;
    hdr[8] = 0;
  }
  if (tr_encode_opts(L, base + 1, n, "result", TR_ENC_NOOBJ, &b, err, sizeof err) != 0) {
    lua_settop(L, base);
    lua_pushfstring(L, "cannot send the task's result back: %s", err);
    hdr[8] = 0;
    tr_encode_opts(L, base + 1, 1, "error", TR_ENC_NOOBJ, &b, err, sizeof err);
  }
  int rc = mp_chan_put2(p->results, hdr, 9, b.data, b.len, 1, NULL);
  mp_encoded_done(&b);
  if (rc) mp_child_exit(1);
}

/* Pushes the items of the list at idx; returns how many. 'what' names
** the list in errors. */
static int push_items(lua_State *L, int idx, const char *what) {
  if (!lua_istable(L, idx))
    return luaL_error(L, "%s must be a table (got %s)", what, luaL_typename(L, idx));
  lua_Integer n = luaL_len(L, idx);
  if (n < 0 || n > MAX_ARGS) return luaL_error(L, "%s has too many items (%I)", what, n);
  luaL_checkstack(L, (int)n + 4, "too many arguments");
  for (lua_Integer i = 1; i <= n; i++) lua_geti(L, idx, i);
  return (int)n;
}

/* One task, protected: func at 1, args (apply) or a chunk of items (map,
** starmap) at 2, the kind at 3. Returns the results (a map: one list). */
static int task_body(lua_State *L) {
  int kind = (int)lua_tointeger(L, 3);
  lua_settop(L, 2);
  if (kind == TASK_APPLY) {
    lua_pushvalue(L, 1);
    lua_call(L, push_items(L, 2, "the task's arguments"), LUA_MULTRET);
    return lua_gettop(L) - 2;
  }
  lua_Integer n = luaL_len(L, 2);
  lua_createtable(L, n > 0 && n < MAX_ARGS ? (int)n : 0, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_pushvalue(L, 1);
    int nargs = 1;
    lua_geti(L, 2, i);
    if (kind == TASK_STARMAP) {
      int t = lua_gettop(L);
      nargs = push_items(L, t, "a starmap item");
      lua_remove(L, t);
    }
    lua_call(L, nargs, 1);
    lua_seti(L, 3, i);
  }
  return 1;
}

static void run_task(lua_State *L, Pool *p, uint64_t job, int kind, int base) {
  lua_pushcfunction(L, gl_traceback_handler);
  int h = lua_gettop(L);
  lua_pushcfunction(L, task_body);
  lua_pushvalue(L, base + 1);
  lua_pushvalue(L, base + 2);
  lua_pushinteger(L, kind);
  if (lua_pcall(L, 3, LUA_MULTRET, h) != LUA_OK) send_result(L, p, job, 0, lua_gettop(L) - 1);
  else send_result(L, p, job, 1, h);
}

/* Runs the initializer (uservalues 2 and 3 of the pool at 1). When it
** raises, the parent gets the error (job POOL_INIT_FAILED) and stops
** using the pool, and the worker leaves. */
static void run_initializer(lua_State *L, Pool *p, const char *name) {
  lua_settop(L, 2);
  lua_pushcfunction(L, gl_traceback_handler);
  if (lua_getiuservalue(L, 1, 2) == LUA_TNIL) { lua_settop(L, 2); return; }
  int n = 0;
  if (lua_getiuservalue(L, 1, 3) == LUA_TTABLE) {
    int t = lua_gettop(L);
    n = push_items(L, t, "Pool: initargs");
    lua_remove(L, t);
  } else lua_pop(L, 1);
  if (lua_pcall(L, n, 0, 3) != LUA_OK) {
    fprintf(stderr, "Process %s:\n%s\n", name, lua_tostring(L, -1));
    send_result(L, p, POOL_INIT_FAILED, 0, lua_gettop(L) - 1);
    mp_child_exit(1);
  }
  lua_settop(L, 2);
}

int mp_pool_worker_main(lua_State *L) {
  Pool *p = (Pool *)lua_touserdata(L, 1);
  int slot = (int)lua_tointeger(L, 2);
  char name[64];
  snprintf(name, sizeof name, "ForkPoolWorker-%d", p->spawned);
  mp_set_current_name(name);
  pid_t parent = p->creator;
  run_initializer(L, p, name);
  int done = 0;
  for (;;) {
    void *data;
    size_t len;
    int rc = mp_chan_get(p->tasks, &data, &len, 1, NULL, &p->slots[slot], parent_gone, &parent);
    if (rc == ESRCH || rc == EINTR) mp_child_exit(1);
    if (rc) continue;
    uint64_t job = 0;
    if (len >= 9) memcpy(&job, data, 8);
    if (job == 0) { free(data); mp_child_exit(0); }
    int kind = ((unsigned char *)data)[8];
    int base = lua_gettop(L);
    char err[TR_ERRMAX];
    int k = tr_decode(L, (char *)data + 9, len - 9, err, sizeof err);
    int marked = k > 0 && mp_marked((char *)data + 9, len - 9);
    free(data);
    if (k == 2 && marked && mp_unmark_p(L, base + 1, k) != 0) {
      lua_replace(L, base + 1);
      lua_settop(L, base + 1);
      send_result(L, p, job, 0, base);
    } else if (k != 2) {
      lua_settop(L, base);
      lua_pushfstring(L, "bad task: %s", k < 0 ? err : "wrong value count");
      send_result(L, p, job, 0, base);
    } else run_task(L, p, job, kind, base);
    lua_settop(L, base);
    __atomic_store_n(&p->slots[slot], 0, __ATOMIC_RELEASE);
    if (p->maxtasks > 0 && ++done >= p->maxtasks) mp_child_exit(0);
  }
}

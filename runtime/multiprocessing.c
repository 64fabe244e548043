/*
** multiprocessing.c — the `multiprocessing` module table, assembled from
** its parts (see docs/processes.md):
**   mp_process.c  Process, current_process, parent_process, active_children, cpu_count
**   mp_pool.c     Pool (+ mp_result.c: AsyncResult, imap iterators)
**   mp_queue.c    Queue, JoinableQueue, SimpleQueue (on mp_chan.c)
**   mp_pipe.c     Pipe
**   mp_shared.c   Value, Array
**   mp_sync.c     Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier
**   mp_manager.c  Manager (+ mp_mgr_server.c)
** Opening the module maps the shared-memory arena, so every process
** forked afterwards shares it.
*/
#include <lauxlib.h>

#include "modules.h"
#include "mp.h"

/* arena_stats() -> {size=, used=, free=, largest_free=, blocks=,
** free_blocks=}: the shared-memory arena's figures, in bytes (a test can
** check that everything a program allocated came back). */
static int mp_arena_stats(lua_State *L) {
  MpShmStats st;
  mp_shm_stats(&st);
  lua_createtable(L, 0, 6);
  const struct { const char *k; uint64_t v; } f[] = {
    {"size", st.size}, {"used", st.used}, {"free", st.free},
    {"largest_free", st.largest_free}, {"blocks", st.blocks}, {"free_blocks", st.free_blocks},
  };
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    lua_pushinteger(L, (lua_Integer)f[i].v);
    lua_setfield(L, -2, f[i].k);
  }
  return 1;
}

int luaopen_multiprocessing(lua_State *L) {
  char err[160];
  if (mp_shm_init(err, sizeof err) != 0) return luaL_error(L, "multiprocessing: %s", err);
  lua_newtable(L);
  mp_open_process(L);
  mp_open_pool(L);
  mp_open_queue(L);
  mp_open_pipe(L);
  mp_open_shared(L);
  mp_open_sync(L);
  mp_open_manager(L);
  lua_pushcfunction(L, mp_arena_stats);
  lua_setfield(L, -2, "arena_stats");
  return 1;
}

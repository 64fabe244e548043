/*
** universe.c — the runtime layer's side of a universe (a Lua state with
** its own globals: the main program's, and each GIL-off thread's) and of
** fork(). The core (vm/) knows neither: main.c hands gl_vm_start
** rt_open_universe, and the runtime's fork duties join the core's on the
** gl_at_fork list here, in one place, in lock order.
*/
#include <pthread.h>

#include <lauxlib.h>

#include "mgr_net.h"
#include "modules.h"
#include "mp.h"
#include "rtobject.h"
#include "universe.h"
#include "vm.h"

/*
** The runtime's part of the fork list, after the core's (threads, GIL,
** statistics). Every prepare step takes one process-wide mutex and holds
** it across fork(); none of these mutexes is held while another is taken,
** so this order is the whole of their lock order (docs/architecture.md).
*/
static void register_fork_duties(void) {
  gl_at_fork(rt_fork_prepare, rt_fork_parent, rt_fork_child);      /* types, objects */
  gl_at_fork(mp_exports_fork_prepare, mp_exports_fork_parent, mp_exports_fork_child);
  gl_at_fork(mp_refs_fork_prepare, mp_refs_fork_parent, mp_refs_fork_child);  /* shm handles */
  gl_at_fork(mp_reap_fork_prepare, mp_reap_fork_parent, mp_reap_fork_child);
  gl_at_fork(mp_children_fork_prepare, mp_children_fork_parent, mp_children_fork_child);
  gl_at_fork(mp_pools_fork_prepare, mp_pools_fork_parent, mp_pools_fork_child);
  gl_at_fork(mp_managers_fork_prepare, mp_managers_fork_parent, mp_managers_fork_child);
  gl_at_fork(mgr_clients_fork_prepare, mgr_clients_fork_parent, mgr_clients_fork_child);
  gl_at_fork(mgr_started_fork_prepare, mgr_started_fork_parent, mgr_started_fork_child);
}

static pthread_once_t fork_duties_once = PTHREAD_ONCE_INIT;

void rt_open_universe(lua_State *L) {
  pthread_once(&fork_duties_once, register_fork_duties);
  gl_open_print(L);
  gl_runtime_open(L);
  gl_io_patch(L);
  gl_debug_patch(L);
  lua_getglobal(L, "os");
  gl_os_extend(L);
  lua_pop(L, 1);
}

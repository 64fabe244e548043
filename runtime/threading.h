/*
** threading.h — the parts of the `threading` module. luaopen_threading
** (threading.c) builds the module table and lets each part add its
** functions to the table on top of the stack.
*/
#ifndef threading_h
#define threading_h

#include <lua.h>

#include "rtobject.h"

void gl_threading_open_thread(lua_State *L); /* tthread.c: Thread, with: */
void gl_threading_open_thread_module(lua_State *L); /* tthread_mod.c: current_thread, ..., Timer, excepthook */
void gl_threading_open_locks(lua_State *L);  /* locks.c: Lock, RLock */
void gl_threading_open_sync(lua_State *L);   /* sync.c: Condition, Semaphore, BoundedSemaphore, Event, Barrier */
void gl_threading_open_local(lua_State *L);  /* tlocal.c: local */

/* Lock and RLock are used by Condition: these let sync.c drive them. */
extern const RtType gl_lock_type, gl_rlock_type;

#endif

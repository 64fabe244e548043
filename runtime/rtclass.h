/*
** rtclass.h — registering a process-local userdata type's metatable
** (Pool, AsyncResult, Process, Manager, Popen): one shape for all of
** them, written once.
*/
#ifndef rtclass_h
#define rtclass_h

#include <lauxlib.h>

/* Creates the metatable 'tname' in this universe (once: a second call
** does nothing) with a "methods" table holding 'methods', and the
** metamethods in 'meta' (may be NULL). When 'meta' has no __index, the
** methods table is the __index. Leaves the stack as it was. */
void rt_new_class(lua_State *L, const char *tname, const luaL_Reg *methods, const luaL_Reg *meta);

/* For an __index metamethod: pushes method k of the object at 1, looked
** up in its metatable's "methods" table (nil when there is none). */
int rt_push_method(lua_State *L, const char *k);

#endif

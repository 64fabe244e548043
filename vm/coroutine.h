/*
** coroutine.h — the coroutine functions that keep track of which
** lua_State a thread is running (for the GIL's arm signal).
*/
#ifndef coroutine_h
#define coroutine_h

#include <lua.h>

/* Replaces coroutine.resume, coroutine.wrap and coroutine.close in L's
** coroutine table by versions that record the running coroutine for the
** signal handler. */
void gl_coroutine_patch(lua_State *L);

#endif

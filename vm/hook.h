/*
** hook.h — the count hook that makes a running thread drop the GIL, the
** signal that arms it on another thread, Ctrl-C, and the coroutine
** functions that keep track of which lua_State a thread is running.
*/
#ifndef hook_h
#define hook_h

#include <lua.h>

#include "gthread.h"

/* Installs the arm-signal and SIGINT handlers (once, at start-up). */
void gl_hooks_install(void);

/* Asks thread t's signal handler to arm the count hook on the lua_State t
** is running now, with t->hook_count. */
void gl_arm_thread(GLThread *t);

/* The count hook: drops the GIL when asked, raises "interrupted". */
void gl_count_hook(lua_State *L, lua_Debug *ar);

/* Ctrl-C state: pending (delivered, not yet raised as an error) and
** seen (delivered at least once during the run). */
int gl_interrupt_pending(void);
void gl_interrupt_consume(void);
int gl_interrupt_seen(void);

/* Replaces coroutine.resume and coroutine.wrap in L's coroutine table by
** versions that record the running coroutine for the signal handler. */
void gl_coroutine_patch(lua_State *L);

#endif

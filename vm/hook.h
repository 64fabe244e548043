/*
** hook.h — the count hook that makes a running thread drop the GIL, the
** signal that arms it on another thread, and Ctrl-C.
*/
#ifndef hook_h
#define hook_h

#include <lua.h>

#include "gthread.h"

/* ThreadSanitizer defers asynchronous signals until the receiving thread
** enters an intercepted call, and a thread spinning in (uninstrumented)
** liblua never does: the arm signal would never arrive. TSan builds
** therefore keep a polling count hook on every state (GL_POLL_COUNT
** instructions); the hook checks drop_request. Other builds poll nothing:
** a state without a pending request has no hook at all. */
#if defined(__SANITIZE_THREAD__)
#define GL_POLL_COUNT 1000
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GL_POLL_COUNT 1000
#endif
#endif
#ifndef GL_POLL_COUNT
#define GL_POLL_COUNT 0
#endif

/* gl_hook_arm's 'count' for the line hook instead: it fires where a new
** line begins and at backward jumps (statement boundaries, roughly), which
** is where interval and priority let a slice end (gil.c). */
#define GL_HOOK_LINE (-1)

/* Installs the GIL's hook on L: a count hook with 'count', or the line
** hook (GL_HOOK_LINE); unless L carries a hook that is not the GIL's (set
** by debug.sethook): such a state polls instead. */
void gl_hook_arm(lua_State *L, int count);

/* Puts L's hook in its resting state: none, or the TSan polling hook
** (again, only when L's hook is the GIL's or none). */
void gl_hook_idle(lua_State *L);

/* The real-time signal a GIL waiter sends the holder's thread. */
int gl_arm_signal(void);

/* Installs the arm-signal and SIGINT handlers (once, at start-up). */
void gl_hooks_install(void);

/* Asks thread t's signal handler to arm the count hook on the lua_State t
** is running now, with t->hook_count. */
void gl_arm_thread(GLThread *t);

/* The count hook: drops the GIL when asked, raises "interrupted". */
void gl_count_hook(lua_State *L, lua_Debug *ar);

/* What the count hook does, for another hook that serves the GIL too:
** raises "interrupted" on a pending Ctrl-C (main thread), hands the GIL
** over when asked. */
void gl_hook_service(lua_State *L);

/* Ctrl-C state: pending (delivered, not yet raised as an error) and
** seen (delivered at least once during the run). */
int gl_interrupt_pending(void);
void gl_interrupt_consume(void);
/* Makes a Ctrl-C pending again (one that was consumed by the main
** thread's error) for the thread running the way out (vm.c). */
void gl_interrupt_repost(void);
int gl_interrupt_seen(void);
void gl_interrupt_forget(void);   /* clears both flags */

#endif

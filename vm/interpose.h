/*
** interpose.h — blocking libc calls made by C modules let go of the GIL.
** The rules are at the top of interpose.c; the exported calls are in
** interpose_calls.c; the Lua side is gil.module_io (runtime/lgil_io.c).
*/
#ifndef interpose_h
#define interpose_h

#include <stddef.h>
#include <sys/types.h>

#include "gthread.h"

/* Process-wide default: 1 release (the default), 0 hold. Set once at
** start-up from --module-io / GILLUA_MODULE_IO, and by gil.module_io. */
void ip_set_release(int on);
int ip_release(void);

/* Parses "release" / "hold" into *on; -1 for anything else. */
int ip_parse_mode(const char *s, int *on);

/* Per shared object (a module's .so, by its real path): hold = 1 keeps
** the GIL in its calls whatever the default, 0 removes the rule. Returns
** 0, or -1 (out of memory, or the path cannot be resolved). *was gets
** the rule in force before (1 hold, 0 none). */
int ip_module_rule(const char *path, int hold, int *was);
/* 1 when calls from the object at 'path' keep the GIL, 0 when not, -1 when
** the path cannot be resolved. */
int ip_module_holds(const char *path);

/* Fork duties (gl_at_fork): the rules' lock is held across fork(). */
void ip_fork_prepare(void);
void ip_fork_parent(pid_t pid);
void ip_fork_child(void);

/* ---- for interpose_calls.c ---- */

/* The calling gillua thread when a call made from 'caller' (a return
** address) is one the interposer handles: the default or the module's
** rule says release, the caller is not gillua's own code, and the thread
** holds the GIL (GIL on) or is the main thread (GIL off: only Ctrl-C is
** watched). NULL means: call the real function as is. */
GLThread *ip_thread(void *caller);

/* The real function 'name' (the next definition after gillua's, through
** dlsym(RTLD_NEXT)), looked up once and kept in *slot. */
void *ip_real(const char *name, void **slot);

/* One try of a wait with a timeout of 'ms' milliseconds (-1: none);
** returns what the real call returned. */
typedef int (*IPTry)(void *ctx, int ms);

/* A wait of at most 'ms' (-1: no limit): try(ctx, 0) first with the GIL
** held; when that finds nothing, tries again in slices of at most 50 ms
** with the GIL released until one returns non-zero, the time is up (0)
** or Ctrl-C arrives (raises "interrupted" in the main thread). errno is
** the last try's. */
int ip_timed_wait(GLThread *t, IPTry try, void *ctx, int ms);

/* Whether t may let go of the GIL now: the GIL is off, or t holds it. */
int ip_may_release(GLThread *t);

/* True when a call on fd should wait without the GIL: fd is in blocking
** mode, t may release, and fd is not ready for 'events' now (or 'big': a
** write that may block part way even when the descriptor is ready). */
int ip_must_wait(GLThread *t, int fd, short events, int big);

/* Releases the GIL and waits until fd is ready for 'events'; returns 0
** with the GIL still released (call ip_leave after the real call), or
** EINTR on Ctrl-C with the GIL taken back (call ip_raise). */
int ip_enter_fd(GLThread *t, int fd, short events);
/* Takes the GIL back, keeping errno. */
void ip_leave(GLThread *t);
/* Raises "interrupted" in the state t runs (GIL held; does not return). */
void ip_raise(GLThread *t);

/* Sleeps 'ns' nanoseconds with the GIL released, in slices; Ctrl-C raises
** "interrupted". */
void ip_sleep_ns(GLThread *t, unsigned long long ns);

#endif

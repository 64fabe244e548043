/*
** vm.h — the life of a gillua process: start-up, universes, shutdown.
*/
#ifndef vm_h
#define vm_h

#include <sys/types.h>

#include <lua.h>

#include "gil.h"

typedef struct GLConfig {
  int gil_on;               /* --gil=on|off */
  GILPolicy policy;         /* --switch=... */
  int stats;                /* --stats: print GIL statistics to stderr at exit */
  const char *trace_path;   /* --trace=FILE or NULL */
  int no_env;               /* -E: ignore LUA_* environment variables */
  int module_io_hold;       /* --module-io=hold: C modules' blocking calls keep the GIL */
} GLConfig;

/* Opens what the layers above the core add to a fresh universe (the
** runtime modules, print, io and os additions: runtime/universe.c). */
typedef void (*GLOpenUniverse)(lua_State *L);

/* Process set-up (signals, GIL, trace, main thread record, the core's
** fork duties) and the main universe, opened by 'open' after the standard
** libraries. Every later universe is opened by 'open' too. The main
** thread holds the GIL on return. Returns NULL with a message in err
** (e.g. trace file cannot be opened). */
lua_State *gl_vm_start(const GLConfig *cfg, GLOpenUniverse open,
                       char *err, size_t errlen);

/* The configuration the process started with. */
const GLConfig *gl_config(void);

/* A fresh universe: standard libraries, gillua's coroutine.resume/wrap
** (so GIL switching works inside coroutines), then gl_vm_start's opener.
** Used for the main universe and for every GIL-off thread. */
lua_State *gl_universe_new(int no_env);

/* End of the program. 'status' is the exit code so far (0 ok, 1 error).
** Unless interrupted: joins non-daemon threads, runs shutdown callbacks
** (processes), then prints --stats, writes --trace. Returns the exit code
** to use (130 when interrupted by Ctrl-C at any point). */
int gl_vm_finish(lua_State *L, int status);

/* The exit status gl_vm_finish was given (0 ok, 1 an uncaught error),
** for shutdown callbacks that end differently after an error (mpi). */
int gl_exit_status(void);

/* The message handler of every pcall that reports an uncaught error (the
** program's chunks, threads, processes, Pool tasks): the error as a string
** followed by a traceback. An object whose __tostring yields a string is
** that string alone, as lua does; another non-string is "(error object
** is a T value)". */
int gl_traceback_handler(lua_State *L);

/* True once Ctrl-C has been delivered to the program (the error
** "interrupted" was raised or is pending). */
int gl_was_interrupted(void);

/* The interrupt was reported and the program goes on (the REPL after an
** interrupted line): it no longer makes the exit status 130. */
void gl_interrupt_handled(void);

/* Callbacks run at exit by gl_vm_finish, latest registered first
** (e.g. multiprocessing terminates daemon children and joins the others).
** 'interrupted' is 1 on the Ctrl-C path: stop children, do not wait long. */
void gl_at_shutdown(void (*fn)(int interrupted));

/* Adds a step to the fork list that gl_fork runs (once per triple;
** registered at start-up, by the core first, then by runtime/universe.c).
** 'prepare' runs before fork() in list order and takes a process-wide
** mutex (so no other thread holds it at the fork), 'parent' releases it
** (pid is the child's, or -1 when fork failed), 'child' starts it afresh
** and drops what belongs to the parent. List order is lock order. */
void gl_at_fork(void (*prepare)(void), void (*parent)(pid_t pid),
                void (*child)(void));

/* fork() for gillua: the caller must hold the GIL (GIL on) and be a
** gillua thread. Runs the fork list around fork(). In the child only the
** caller survives: the GIL, the thread registry and every runtime
** object's locks are reset, other Thread objects report not alive, the
** parent's shutdown callbacks are dropped. Returns as fork(). */
pid_t gl_fork(void);

#endif

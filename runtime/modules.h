/*
** modules.h — the runtime modules every interpreter gets.
*/
#ifndef modules_h
#define modules_h

#include <lua.h>

/* Per interpreter: fills package.preload with the runtime modules (so
** `require "threading"` works) and adds gillua's functions to `os`. */
void gl_runtime_open(lua_State *L);

int luaopen_threading(lua_State *L);
int luaopen_queue(lua_State *L);
int luaopen_time(lua_State *L);
int luaopen_gil(lua_State *L);
int luaopen_multiprocessing(lua_State *L);
int luaopen_subprocess(lua_State *L);
int luaopen_multiprocessing_managers(lua_State *L);   /* mgr_net_manager.c */
int luaopen_mpi(lua_State *L);                        /* mpi_loader.c */

/* Adds module_io and module_io_for to the gil table on top (lgil_io.c). */
void gl_gil_io_open(lua_State *L);

/* Replaces the global print by one that writes each line in one piece
** (lprint.c). */
void gl_open_print(lua_State *L);

/* Adds os.fork, os.getpid... to the table on top of the stack. */
void gl_os_extend(lua_State *L);

/* Makes io's reads, io.popen's close and os.execute release the GIL
** while they wait (lio.c). */
void gl_io_patch(lua_State *L);

/* Replaces debug.sethook and debug.gethook by versions whose hooks share
** the state with the GIL's (ldbhook.c). */
void gl_debug_patch(lua_State *L);

#endif

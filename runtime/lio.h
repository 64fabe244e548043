/*
** lio.h — io reads that let go of the GIL (lio.c, lio_read.c).
*/
#ifndef lio_h
#define lio_h

#include <stdio.h>

#include <lauxlib.h>

/* Whether reading the stream may wait for a writer: a pipe, FIFO or
** socket. Known pipes (closef lio_pipe_close, or an io.popen file) are
** told without a system call. */
int lio_waitable(luaL_Stream *s);
/* lio_waitable's answer when it needs no system call (known pipe closers,
** the standard streams after their first look), else -1. */
int lio_kind_known(luaL_Stream *s);
/* The same for a C stream (stdin, stdout and stderr are looked at once). */
int lio_file_waitable(FILE *f);
/* closef of pipe files made in C (subprocess): fclose, Lua's result. */
int lio_pipe_close(lua_State *L);
/* closef of io.popen files (lio.c). */
int lio_popen_close(lua_State *L);
/* Returns once poll says fd is ready for 'events' (or reports an error,
** which the I/O that follows will report), waiting for that without the
** GIL. Raises "interrupted" on Ctrl-C, and "file closed by another
** thread while <doing>" when the stream s (if not NULL) was closed
** meanwhile. */
void lio_wait_ready(lua_State *L, int fd, short events, luaL_Stream *s, const char *doing);
/* Returns the stream's FILE once the next getc on it cannot block (input
** buffered, or the descriptor readable or at its end), waiting for that
** without the GIL. Raises "interrupted" on Ctrl-C, and an error when
** another thread closed the file meanwhile. */
FILE *lio_await_input(lua_State *L, luaL_Stream *s);
/* Lua's g_read for an open stream that lio_waitable accepts, with the
** formats (checked) at first..first+nformats-1: pushes and
** returns the results as Lua's read does, waiting without the GIL. The
** stream must stay reachable from L's stack while it runs. */
int lio_read(lua_State *L, luaL_Stream *s, int first, int nformats);
/* Lua's g_write for an open stream that lio_waitable accepts, the values
** at first..top-1 and the file on top: writes them, waiting without the
** GIL for room (lio_write.c); returns as Lua's write does. */
int lio_write(lua_State *L, luaL_Stream *s, int first);
/* print's output: writes p[0..len) to f and flushes it, waiting for room
** without the GIL when f is a pipe, FIFO or socket. 1 on success. */
int lio_print_out(lua_State *L, FILE *f, const char *p, size_t len);

#endif

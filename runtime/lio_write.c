/*
** lio_write.c — writing to a pipe, FIFO or socket without holding the
** GIL while the reader is slow.
**
** Lua's write hands its data to stdio, which blocks in write(2) once the
** pipe is full: with the GIL held, a reader thread of the same program
** could then never run to empty it. Here io.write and file:write on such
** a stream feed stdio in pieces that each cause at most one write(2) of
** at most PIPE_BUF bytes, and before a piece that will make stdio write
** they wait, GIL released, until poll says the pipe has room (Linux: a
** free page, so such a write does not block). Nothing else changes: the
** bytes go through the same FILE, in order, so buffering, print() and
** io.write still interleave as in Lua; numbers are written with Lua's
** own formats.
**
** How many bytes a piece may have comes from glibc's FILE (buffer size,
** free space), mirroring _IO_new_file_xsputn: it fills the free space,
** flushes the buffer once, and keeps a remainder smaller than the buffer.
** A stream this cannot vouch for (line buffered, a buffer larger than
** PIPE_BUF, a C library other than glibc) is written by Lua's own
** function, which may block with the GIL as before.
**
** All this is for the other threads: with the GIL off, or while the
** writer is the process's only thread, a write simply blocks (the poll
** before each flush would cost print a system call per line).
*/
#include <limits.h>
#include <poll.h>
#include <stdio.h>

#include <lauxlib.h>

#include "block.h"
#include "gil.h"
#include "gthread.h"
#include "lio.h"

#ifdef __GLIBC__
#define GLIBC_UNBUFFERED 0x0002    /* _IO_UNBUFFERED */
#define GLIBC_LINE_BUF 0x0200      /* _IO_LINE_BUF */

/* The most bytes the next fwrite may take so that it makes at most one
** write(2) of at most PIPE_BUF bytes; 0 when this stream is not one we
** can vouch for. *flushes: whether that fwrite will write(2). */
static size_t piece_size(FILE *f, size_t want, int *flushes) {
  if (f->_flags & GLIBC_LINE_BUF) return 0;
  if (f->_flags & GLIBC_UNBUFFERED) {      /* every fwrite is a write(2) */
    *flushes = 1;
    return want < PIPE_BUF ? want : PIPE_BUF;
  }
  size_t bufsize = f->_IO_buf_base ? (size_t)(f->_IO_buf_end - f->_IO_buf_base) : PIPE_BUF;
  if (bufsize > PIPE_BUF || bufsize < 128) return 0;
  size_t space = f->_IO_write_end > f->_IO_write_ptr ? (size_t)(f->_IO_write_end - f->_IO_write_ptr) : 0;
  if (want <= space) { *flushes = 0; return want; }
  *flushes = 1;                            /* fills the space, flushes, keeps < bufsize */
  size_t most = space + bufsize - 1;
  return want < most ? want : most;
}

/* Whether stdio's buffer holds data not yet written. */
static int pending(FILE *f) { return f->_IO_write_ptr > f->_IO_write_base; }
#else
static size_t piece_size(FILE *f, size_t want, int *flushes) {
  (void)f; (void)want; (void)flushes;
  return 0;
}
static int pending(FILE *f) { (void)f; return 0; }
#endif

/* Waits without the GIL until f's descriptor has room (or an error the
** write will then report); s, if any, is the stream f belongs to. */
static void await_room(lua_State *L, FILE *f, luaL_Stream *s) {
  lio_wait_ready(L, fileno(f), POLLOUT, s, "writing");
}

/* Whether a blocked write would hold up another thread. */
static int others_need_gil(void) { return gil_enabled() && !gt_alone(); }

/* Writes p[0..len) through f (the FILE of s, if s); 1 on success. */
static int put_bytes(lua_State *L, FILE *f, luaL_Stream *s, const char *p, size_t len) {
  if (!others_need_gil()) return fwrite(p, 1, len, f) == len;
  while (len > 0) {
    int flushes = 0;
    size_t n = piece_size(f, len, &flushes);
    if (n == 0) return fwrite(p, 1, len, f) == len;   /* Lua's way, may block */
    if (flushes) await_room(L, f, s);
    if (fwrite(p, 1, n, f) != n) return 0;
    p += n;
    len -= n;
  }
  return 1;
}

/* fflush(f), after waiting for room when the buffer holds data that
** piece_size vouches for (at most PIPE_BUF bytes: one write(2)). */
static int flush_waiting(lua_State *L, FILE *f) {
  int flushes = 0;
  if (others_need_gil() && piece_size(f, 1, &flushes) != 0 && pending(f)) await_room(L, f, NULL);
  return fflush(f) == 0;
}

int lio_print_out(lua_State *L, FILE *f, const char *p, size_t len) {
  if (!lio_file_waitable(f)) {
    size_t n = fwrite(p, 1, len, f);
    return fflush(f) == 0 && n == len;
  }
  int ok = put_bytes(L, f, NULL, p, len);
  return flush_waiting(L, f) && ok;
}

#define NUMBER_MAX 64   /* longer than any number Lua's formats print */

int lio_write(lua_State *L, luaL_Stream *s, int first) {
  int nargs = lua_gettop(L) - first;       /* the file is on top, as Lua's g_write has it */
  int status = 1;
  for (int arg = first; nargs--; arg++) {
    if (lua_type(L, arg) == LUA_TNUMBER) {
      int flushes = 1;
      if (!others_need_gil() ||           /* (FILE fields are only read for the GIL's sake) */
          (piece_size(s->f, NUMBER_MAX, &flushes) == NUMBER_MAX && !flushes)) {
        int len = lua_isinteger(L, arg)   /* no waiting needed, or no write(2) */
                  ? fprintf(s->f, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, arg))
                  : fprintf(s->f, LUA_NUMBER_FMT, (LUAI_UACNUMBER)lua_tonumber(L, arg));
        status = status && len > 0;
        continue;
      }
      char buff[NUMBER_MAX];
      int len = lua_isinteger(L, arg)
                ? snprintf(buff, sizeof buff, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, arg))
                : snprintf(buff, sizeof buff, LUA_NUMBER_FMT, (LUAI_UACNUMBER)lua_tonumber(L, arg));
      int ok = len > 0 && put_bytes(L, s->f, s, buff, (size_t)len);   /* written even after a failure, as Lua's fprintf */
      status = status && ok;
    } else {
      size_t l;
      const char *p = luaL_checklstring(L, arg, &l);
      status = status && put_bytes(L, s->f, s, p, l);
    }
  }
  if (status) return 1;                    /* the file, on top */
  return luaL_fileresult(L, 0, NULL);
}

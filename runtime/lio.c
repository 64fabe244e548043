/*
** lio.c — Lua's blocking io and os calls, made to let go of the GIL.
**
** Lua's io library blocks inside stdio (fgets, fread, fwrite, fopen of a
** FIFO), and os.execute and closing an io.popen file block in waitpid.
** Done with the GIL held, one thread reading a pipe would stop every
** other thread of its universe. So, per interpreter:
**
**   io.read, file:read and the iterators of io.lines / file:lines on a
**     pipe, FIFO or socket read with lio_read.c: stdio's buffer is only
**     refilled once the descriptor is readable, and the waits for that
**     happen without the GIL, so a writer that sends a line in pieces,
**     or read("a") on a child that is still running, holds nobody up.
**     On other files they first wait, without the GIL, until the file
**     has input (stdio's buffer is not empty, or poll says the
**     descriptor is readable or at its end); then Lua's own function
**     reads, with the GIL. The waits see Ctrl-C.
**   io.write and file:write on a pipe, FIFO or socket (lio_write.c), and
**     print (vm/lprint.c), wait for room without the GIL before each
**     piece that makes stdio write, while other threads are alive.
**   io.open and io.lines of a FIFO (which wait for the other end) run
**     fopen without the GIL.
**   io.popen files get a close function (luaL_Stream.closef) that runs
**     pclose with the GIL released; f:close(), io.close(f) and the
**     file's __gc all go through it.
**   os.execute runs system() with the GIL released.
**
** Lua's own functions are kept and called from the wrappers where they
** can be, so results and messages are theirs (and where gillua reads or
** writes itself, tests/scripts/io_pipe_*.lua compare with lua5.4). Two
** things keep the messages identical:
**   - an error raised by the original carries no position (its level 1
**     is our C wrapper), so call_original adds the caller's position,
**     as the original would have had;
**   - argument errors name the function they come from, and an original
**     called from C has no name; so the wrappers check the arguments
**     first (formats, the file, modes), raising from the wrapper, which
**     has the name. One difference remains: Lua stops checking formats
**     after one that fails to read (io.read("l", "x") at end of file
**     returns nil); here every format is checked first.
**
** What still blocks with the GIL held: writes through a line-buffered
** stream or a buffer larger than PIPE_BUF (setvbuf).
*/
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lualib.h>

#include "block.h"
#include "lio.h"
#include "modules.h"

#define IO_INPUT "_IO_input"   /* lua 5.4's registry keys of io.input() */
#define IO_OUTPUT "_IO_output" /* and io.output() */
#define MAX_LINE_FORMATS 250   /* as io.lines: more is "too many arguments" */

/*
** Calls the function below the top 'nargs' values, leaving its results.
** An error string gets the position of our caller: the original's own
** level 1 is this C wrapper, so it could not put one there itself.
*/
static void call_keeping_position(lua_State *L, int nargs) {
  if (lua_pcall(L, nargs, LUA_MULTRET, 0) == LUA_OK) return;
  if (lua_type(L, -1) == LUA_TSTRING) {
    luaL_where(L, 1);
    lua_insert(L, -2);
    lua_concat(L, 2);
  }
  lua_error(L);
}

/* Calls the original function (upvalue 1) with the arguments on the
** stack; returns its results. */
static int call_original(lua_State *L) {
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  call_keeping_position(L, n);
  return lua_gettop(L);
}

/* One poll with no timeout first, so a descriptor already ready costs no
** GIL hand-over; EINTR there (the GIL's arm signal, sent just when a
** waiter wants the GIL) counts as "not ready". */
void lio_wait_ready(lua_State *L, int fd, short events, luaL_Stream *s, const char *doing) {
  for (;;) {
    struct pollfd pf = { .fd = fd, .events = events };
    int now = poll(&pf, 1, 0);
    if (now > 0 || (now < 0 && errno != EINTR)) return;
    gl_block_begin();
    int rc = gl_wait_fd(fd, events);
    gl_block_end();
    if (rc == EINTR) gl_raise_interrupt(L);
    if (s != NULL && s->closef == NULL) luaL_error(L, "file closed by another thread while %s", doing);
  }
}

/* Waits without the GIL until the stream has input; nothing to do for a
** closed stream (the original reports it) or one with buffered input. */
static void wait_input(lua_State *L, luaL_Stream *p) {
  if (p == NULL || p->closef == NULL || p->f == NULL || fileno(p->f) < 0) return;
  lio_await_input(L, p);
}

/* The formats at first..last, checked as Lua's read checks them. */
static void check_formats(lua_State *L, int first, int last) {
  for (int i = first; i <= last; i++) {
    if (lua_type(L, i) == LUA_TNUMBER) {
      luaL_checkinteger(L, i);
      continue;
    }
    const char *f = luaL_checkstring(L, i);
    if (*f == '*') f++;   /* 5.3's "*l" */
    if (strchr("nlLa", *f) == NULL || *f == '\0')
      luaL_argerror(L, i, "invalid format");
  }
}

/*
** Whether gillua reads and writes p, the file at stack index idx, itself
** (lio_read, lio_write): an open pipe, FIFO or socket. What a file is
** does not change, so for a file lio_kind_known cannot tell, lio_waitable
** (a system call) is asked once and the answer kept in a table with weak
** keys: reading a regular file line by line must not cost an fstat per
** line.
*/
static const char kinds_key = 'k';   /* registry: file -> boolean */

static int open_pipe(lua_State *L, int idx, luaL_Stream *p) {
  if (p == NULL || p->closef == NULL || p->f == NULL) return 0;
  int kind = lio_kind_known(p);
  if (kind >= 0) return kind;
  idx = lua_absindex(L, idx);
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &kinds_key) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_pushvalue(L, -1);
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &kinds_key);
  }
  lua_pushvalue(L, idx);
  int known = lua_rawget(L, -2);
  int pipe = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (known == LUA_TNIL) {
    pipe = lio_waitable(p);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, pipe);
    lua_rawset(L, -3);
  }
  lua_pop(L, 1);
  return pipe;
}

/* io.read(...) */
static int io_read(lua_State *L) {
  int n = lua_gettop(L);
  check_formats(L, 1, n);
  lua_getfield(L, LUA_REGISTRYINDEX, IO_INPUT);   /* stays on the stack while read */
  luaL_Stream *p = (luaL_Stream *)lua_touserdata(L, -1);   /* always a file: io.input checks */
  if (open_pipe(L, -1, p)) return lio_read(L, p, 1, n);
  wait_input(L, p);
  lua_settop(L, n);
  return call_original(L);
}

/* file:read(...) */
static int file_read(lua_State *L) {
  luaL_Stream *p = (luaL_Stream *)luaL_checkudata(L, 1, LUA_FILEHANDLE);
  if (p->closef == NULL) return call_original(L);   /* "attempt to use a closed file" */
  int n = lua_gettop(L);
  check_formats(L, 2, n);
  if (open_pipe(L, 1, p)) return lio_read(L, p, 2, n - 1);
  wait_input(L, p);
  return call_original(L);
}

/* Whether Lua's iterator (upvalue 1) closes its file at the end: 1 or 0,
** or -1 when it is not laid out as 5.4's io_readline, whose upvalues are
** (file, number of formats, toclose, formats...) (liolib.c, aux_lines). */
static int iterator_toclose(lua_State *L, int nformats) {
  int iter = lua_upvalueindex(1);
  if (!lua_iscfunction(L, iter) || lua_getupvalue(L, iter, 1) == NULL) return -1;
  int ok = lua_rawequal(L, -1, lua_upvalueindex(2));
  lua_pop(L, 1);
  if (!ok || lua_getupvalue(L, iter, 2) == NULL) return -1;
  ok = lua_isinteger(L, -1) && lua_tointeger(L, -1) == nformats;
  lua_pop(L, 1);
  if (!ok || lua_getupvalue(L, iter, 3) == NULL) return -1;
  int toclose = lua_type(L, -1) == LUA_TBOOLEAN ? lua_toboolean(L, -1) : -1;
  lua_pop(L, 1);
  return toclose;
}

/* One step of Lua's io_readline, reading with lio_read (the formats are
** at 2..1+n): the values read; at the end of the file nothing, the file
** closed first when the iterator came from io.lines(filename). */
static int lines_own_step(lua_State *L, luaL_Stream *p, int n, int toclose) {
  int k = lio_read(L, p, 2, n);
  if (lua_toboolean(L, -k)) return k;
  if (k > 1) return luaL_error(L, "%s", lua_tostring(L, -k + 1));
  if (toclose) {
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_getfield(L, 1, "close");
    lua_insert(L, 1);
    lua_call(L, 1, 0);
  }
  return 0;
}

/*
** The iterator of io.lines / file:lines: upvalues are Lua's iterator, the
** file, the plan and the formats. The formats are checked where Lua's
** iterator checks them (on a call, as arguments 2...); the plan, made on
** the first call that gets past that check, says who reads: Lua's
** iterator, or lio_read (a pipe; then whether to close at the end). It
** cannot change: the file and the formats are fixed.
*/
#define LINES_PLAN 3
#define LINES_FORMATS 4
enum { PLAN_FIFO = -2, PLAN_UNKNOWN = -1, PLAN_LUA, PLAN_OWN, PLAN_OWN_CLOSE };

static int lines_step(lua_State *L) {
  int n = 0;
  lua_settop(L, 1);
  while (lua_type(L, lua_upvalueindex(LINES_FORMATS + n)) != LUA_TNONE) {
    lua_pushvalue(L, lua_upvalueindex(LINES_FORMATS + n));
    n++;
  }
  luaL_Stream *p = (luaL_Stream *)luaL_testudata(L, lua_upvalueindex(2), LUA_FILEHANDLE);
  if (p != NULL && p->closef == NULL) {   /* "file is already closed" */
    lua_settop(L, 1);
    return call_original(L);
  }
  int plan = (int)lua_tointeger(L, lua_upvalueindex(LINES_PLAN));
  if (plan < 0) {                         /* first step: the formats are checked once */
    check_formats(L, 2, 1 + n);
    int toclose = plan == PLAN_FIFO ? 1 : open_pipe(L, lua_upvalueindex(2), p) ? iterator_toclose(L, n) : -1;
    plan = toclose < 0 ? PLAN_LUA : toclose ? PLAN_OWN_CLOSE : PLAN_OWN;
    lua_pushinteger(L, plan);
    lua_replace(L, lua_upvalueindex(LINES_PLAN));
  }
  if (plan != PLAN_LUA) return lines_own_step(L, p, n, plan == PLAN_OWN_CLOSE);
  lua_settop(L, 1);
  wait_input(L, p);
  return call_original(L);
}

/* Replaces the iterator at 'iter' by lines_step over it, with the file
** at 'file', the plan, and the nformats formats from 'formats' on. */
static void wrap_iterator(lua_State *L, int iter, int file, int plan, int formats, int nformats) {
  lua_pushvalue(L, iter);
  lua_pushvalue(L, file);
  lua_pushinteger(L, plan);
  for (int i = 0; i < nformats; i++) lua_pushvalue(L, formats + i);
  lua_pushcclosure(L, lines_step, LINES_FORMATS - 1 + nformats);
  lua_replace(L, iter);
}

/* Raises Lua's "too many arguments" for more formats than io.lines takes. */
static void check_format_count(lua_State *L, int nformats) {
  if (nformats > MAX_LINE_FORMATS)
    luaL_argerror(L, MAX_LINE_FORMATS + 2, "too many arguments");
}

/* Where the file an iterator reads is found. */
enum lines_file { FILE_ARG1, FILE_RESULT4, FILE_DEFAULT };

/*
** Calls the original lines (upvalue 1) and wraps the iterator it returns
** (its first result) in lines_step, with the file it reads and the
** formats (arguments 2...).
*/
static int wrap_lines(lua_State *L, enum lines_file where) {
  int nargs = lua_gettop(L);
  int nformats = nargs > 1 ? nargs - 1 : 0;
  check_format_count(L, nformats);
  luaL_checkstack(L, nargs + 6, "too many arguments");
  lua_pushvalue(L, lua_upvalueindex(1));
  for (int i = 1; i <= nargs; i++) lua_pushvalue(L, i);   /* the args stay below */
  call_keeping_position(L, nargs);
  int iter = nargs + 1, nres = lua_gettop(L) - nargs;   /* iterator [, nil, nil, file] */
  if (where == FILE_ARG1) lua_pushvalue(L, 1);
  else if (where == FILE_RESULT4 && nres >= 4) lua_pushvalue(L, iter + 3);
  else lua_getfield(L, LUA_REGISTRYINDEX, IO_INPUT);
  wrap_iterator(L, iter, lua_gettop(L), PLAN_UNKNOWN, 2, nformats);
  lua_pop(L, 1);                                        /* the file */
  return nres;
}

static int is_fifo(const char *filename) {
  struct stat st;
  return stat(filename, &st) == 0 && S_ISFIFO(st.st_mode);
}

/* Pushes a file handle on the FIFO 'filename' opened with fopen(mode),
** GIL released: its open waits for the other end. Returns 0, or an errno
** (the pushed handle is then a closed file). */
static int open_fifo(lua_State *L, const char *filename, const char *mode) {
  luaL_Stream *p = (luaL_Stream *)lua_newuserdatauv(L, sizeof(luaL_Stream), 0);
  p->closef = NULL;                       /* a closed file until it is open */
  luaL_setmetatable(L, LUA_FILEHANDLE);
  gl_block_begin();
  errno = 0;
  FILE *f = fopen(filename, mode);
  int err = errno;
  gl_block_end();
  if (f == NULL) return err ? err : EIO;
  p->f = f;
  p->closef = lio_pipe_close;             /* fclose, as Lua's io_fclose */
  return 0;
}

/*
** io.lines(fifo, ...): Lua's io.lines(filename) with the open done by
** open_fifo. The iterator is the one Lua's file:lines makes (upvalue 1
** of our file:lines wrapper), in lines_step with the plan "read with
** lio_read, close at the end"; the results are Lua 5.4's four: the
** iterator, nil, nil and the file.
*/
static int fifo_lines(lua_State *L) {
  int nargs = lua_gettop(L);
  check_format_count(L, nargs - 1);
  luaL_checkstack(L, nargs + 6, "too many arguments");
  const char *filename = lua_tostring(L, 1);
  int err = open_fifo(L, filename, "r");
  if (err) return luaL_error(L, "cannot open file '%s' (%s)", filename, strerror(err));
  lua_replace(L, 1);                      /* the file where the name was */
  if (luaL_getmetafield(L, 1, "__index") != LUA_TTABLE || lua_getfield(L, -1, "lines") != LUA_TFUNCTION ||
      lua_getupvalue(L, -1, 1) == NULL || lua_type(L, -1) != LUA_TFUNCTION)
    return luaL_error(L, "io.lines: the file methods were changed");
  int iter = lua_gettop(L) - 2;           /* __index (the iterator's slot), wrapper, original */
  for (int i = 1; i <= nargs; i++) lua_pushvalue(L, i);
  lua_call(L, nargs, 1);                  /* Lua's file:lines: the iterator */
  lua_replace(L, iter);
  lua_settop(L, iter);
  wrap_iterator(L, iter, 1, PLAN_FIFO, 2, nargs - 1);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_pushvalue(L, 1);
  return 4;
}

/* io.lines([filename, ...]) */
static int io_lines(lua_State *L) {
  if (lua_type(L, 1) == LUA_TSTRING && is_fifo(lua_tostring(L, 1))) return fifo_lines(L);
  return wrap_lines(L, lua_isnoneornil(L, 1) ? FILE_DEFAULT : FILE_RESULT4);
}

/* file:lines(...) */
static int file_lines(lua_State *L) {
  luaL_checkudata(L, 1, LUA_FILEHANDLE);
  return wrap_lines(L, FILE_ARG1);
}

/* io.write(...) */
static int io_write(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, IO_OUTPUT);   /* on top, as Lua's write has it */
  luaL_Stream *p = (luaL_Stream *)lua_touserdata(L, -1);   /* always a file: io.output checks */
  if (open_pipe(L, -1, p)) return lio_write(L, p, 1);
  lua_pop(L, 1);
  return call_original(L);
}

/* file:write(...) */
static int file_write(lua_State *L) {
  luaL_Stream *p = (luaL_Stream *)luaL_checkudata(L, 1, LUA_FILEHANDLE);
  if (!open_pipe(L, 1, p)) return call_original(L);
  lua_pushvalue(L, 1);
  return lio_write(L, p, 2);
}

/* The close function of io.popen files: pclose without the GIL. Lua's
** aux_close has already marked the stream closed (closef = NULL), so
** another thread meanwhile gets "attempt to use a closed file". */
int lio_popen_close(lua_State *L) {
  luaL_Stream *p = (luaL_Stream *)luaL_checkudata(L, 1, LUA_FILEHANDLE);
  gl_block_begin();
  errno = 0;
  int stat = pclose(p->f);
  int err = errno;
  gl_block_end();
  errno = err;
  return luaL_execresult(L, stat);
}

int lio_pipe_close(lua_State *L) {
  luaL_Stream *p = (luaL_Stream *)luaL_checkudata(L, 1, LUA_FILEHANDLE);
  int rc = fclose(p->f);
  return luaL_fileresult(L, rc == 0, NULL);
}

/* io.popen(prog [, mode]) */
static int io_popen(lua_State *L) {
  luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  luaL_argcheck(L, (mode[0] == 'r' || mode[0] == 'w') && mode[1] == '\0', 2, "invalid mode");
  int n = call_original(L);
  luaL_Stream *p = (luaL_Stream *)luaL_testudata(L, 1, LUA_FILEHANDLE);
  if (p != NULL && p->closef != NULL) p->closef = lio_popen_close;
  return n;
}

/* Lua's l_checkmode: [rwa]%+?b* */
static int valid_mode(const char *mode) {
  if (*mode == '\0' || strchr("rwa", *mode++) == NULL) return 0;
  if (*mode == '+') mode++;
  return strspn(mode, "b") == strlen(mode);
}

/* io.open(filename [, mode]): a FIFO is opened with the GIL released
** (its open waits for a process or thread to open the other end); any
** other file by Lua's own io.open. */
static int io_open(lua_State *L) {
  const char *filename = luaL_checkstring(L, 1);
  const char *mode = luaL_optstring(L, 2, "r");
  luaL_argcheck(L, valid_mode(mode), 2, "invalid mode");
  if (!is_fifo(filename)) return call_original(L);   /* its messages, its files */
  int err = open_fifo(L, filename, mode);
  if (err == 0) return 1;
  errno = err;
  return luaL_fileresult(L, 0, filename);
}

/* os.execute([command]): as Lua's, with system() outside the GIL. */
static int os_execute(lua_State *L) {
  const char *cmd = luaL_optstring(L, 1, NULL);
  gl_block_begin();
  errno = 0;
  int stat = system(cmd);
  int err = errno;
  gl_block_end();
  errno = err;
  if (cmd != NULL) return luaL_execresult(L, stat);
  lua_pushboolean(L, stat);
  return 1;
}

/* Replaces t[name] (t on top) by 'fn' with the old value as upvalue 1. */
static void wrap(lua_State *L, const char *name, lua_CFunction fn) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, -2, name);
}

void gl_io_patch(lua_State *L) {
  lua_getglobal(L, LUA_IOLIBNAME);
  if (lua_istable(L, -1)) {
    wrap(L, "read", io_read);
    wrap(L, "write", io_write);
    wrap(L, "lines", io_lines);
    wrap(L, "popen", io_popen);
    wrap(L, "open", io_open);
  }
  lua_pop(L, 1);
  if (luaL_getmetatable(L, LUA_FILEHANDLE) == LUA_TTABLE &&
      lua_getfield(L, -1, "__index") == LUA_TTABLE) {
    wrap(L, "read", file_read);
    wrap(L, "write", file_write);
    wrap(L, "lines", file_lines);
  }
  lua_settop(L, lua_gettop(L) - 2);
  lua_getglobal(L, LUA_OSLIBNAME);
  if (lua_istable(L, -1)) {
    lua_pushcfunction(L, os_execute);
    lua_setfield(L, -2, "execute");
  }
  lua_pop(L, 1);
}

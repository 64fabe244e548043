/*
** lio_read.c — reading a pipe, FIFO or socket without holding the GIL
** while the writer is slow.
**
** Waiting for input before Lua's own read (lio.c) is not enough on such
** a stream: read("a") goes on until the writer closes, and a line or a
** count may arrive in pieces, so Lua's read would block in stdio, GIL
** held, after the first piece. Here every format ("n", "l", "L", "a",
** counts) is read as Lua's g_read reads it (same results, same end-of-
** file and error results), but from stdio's buffer only: each time the buffer
** is empty the reader waits, GIL released, until the descriptor is
** readable or at its end, and only then lets getc refill the buffer
** (one read(2) that returns what is there). So the read never blocks
** with the GIL held.
**
** The wait is re-checked with the GIL held (poll with no timeout) before
** the refill: another thread of the universe may have read the input
** meanwhile. Another thread may also close the file while this one
** waits: the stream (kept alive on the caller's stack) is checked after
** every wait and its FILE is never touched once closed. Regular files
** and terminals keep Lua's read (their reads do not wait for a writer,
** or deliver whole lines).
*/
#include <ctype.h>
#include <locale.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>

#include <lauxlib.h>

#include "block.h"
#include "lio.h"

static int fd_waitable(int fd) {
  struct stat st;
  return fd >= 0 && fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
}

/* stdin, stdout, stderr: looked at once per process (-1: not yet); what
** their descriptors are does not change under a Lua program. */
static atomic_int std_kind[3] = { -1, -1, -1 };

int lio_file_waitable(FILE *f) {
  int i = f == stdin ? 0 : f == stdout ? 1 : f == stderr ? 2 : -1;
  if (i < 0) return fd_waitable(fileno(f));
  int k = atomic_load(&std_kind[i]);
  if (k < 0) {
    k = fd_waitable(fileno(f));
    atomic_store(&std_kind[i], k);
  }
  return k;
}

int lio_kind_known(luaL_Stream *s) {
  if (s->closef == lio_pipe_close || s->closef == lio_popen_close) return 1;
  FILE *f = s->f;
  int i = f == stdin ? 0 : f == stdout ? 1 : f == stderr ? 2 : -1;
  return i < 0 ? -1 : lio_file_waitable(f);
}

int lio_waitable(luaL_Stream *s) {
  int k = lio_kind_known(s);
  return k >= 0 ? k : fd_waitable(fileno(s->f));
}

/* Bytes in stdio's buffer (glibc's FILE fields; elsewhere 0: one byte
** per refill, slower but the same result). */
static size_t buffered_count(FILE *f) {
#ifdef __GLIBC__
  return f->_IO_read_ptr < f->_IO_read_end ? (size_t)(f->_IO_read_end - f->_IO_read_ptr) : 0;
#else
  (void)f;
  return 0;
#endif
}

FILE *lio_await_input(lua_State *L, luaL_Stream *s) {
  if (!gl_file_buffered(s->f)) lio_wait_ready(L, fileno(s->f), POLLIN, s, "reading");
  return s->f;
}

/* Reads what is there now, at most max bytes (call lio_await_input first):
** the first getc may refill the buffer, the rest comes from it. 0 at the
** end of the file or on an error. */
static size_t read_some(FILE *f, char *p, size_t max) {
  size_t n = 0;
  flockfile(f);
  int c = getc_unlocked(f);
  if (c != EOF) {
    p[n++] = (char)c;
    size_t avail = buffered_count(f);
    if (avail > max - n) avail = max - n;
    n += fread_unlocked(p + n, 1, avail, f);
  }
  funlockfile(f);
  return n;
}

/* As Lua's read_line: a line without (chop) or with its newline; fails
** only at the end of the file with nothing read. */
static int read_line(lua_State *L, luaL_Stream *s, int chop) {
  luaL_Buffer b;
  int c;
  luaL_buffinit(L, &b);
  do {
    FILE *f = lio_await_input(L, s);
    char *buff = luaL_prepbuffer(&b);
    int i = 0;
    flockfile(f);
    do {
      c = getc_unlocked(f);
      if (c == EOF || c == '\n') break;
      buff[i++] = (char)c;
    } while (i < LUAL_BUFFERSIZE && gl_file_buffered(f));
    funlockfile(f);
    luaL_addsize(&b, i);
  } while (c != EOF && c != '\n');
  if (!chop && c == '\n') luaL_addchar(&b, c);
  luaL_pushresult(&b);
  return c == '\n' || lua_rawlen(L, -1) > 0;
}

/* As Lua's read_all: everything up to the end of the file; never fails. */
static void read_all(lua_State *L, luaL_Stream *s) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (;;) {
    FILE *f = lio_await_input(L, s);
    char *p = luaL_prepbuffer(&b);
    size_t n = read_some(f, p, LUAL_BUFFERSIZE);
    luaL_addsize(&b, n);
    if (n == 0) break;
  }
  luaL_pushresult(&b);
}

/* As Lua's read_chars: up to n bytes; fails when none could be read. */
static int read_chars(lua_State *L, luaL_Stream *s, size_t n) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  char *p = luaL_prepbuffsize(&b, n);
  size_t got = 0;
  while (got < n) {
    FILE *f = lio_await_input(L, s);
    size_t k = read_some(f, p + got, n - got);
    if (k == 0) break;
    got += k;
  }
  luaL_addsize(&b, got);
  luaL_pushresult(&b);
  return got > 0;
}

/* As Lua's test_eof (the format 0). */
static int test_eof(lua_State *L, luaL_Stream *s) {
  FILE *f = lio_await_input(L, s);
  int c = getc(f);
  ungetc(c, f);
  lua_pushliteral(L, "");
  return c != EOF;
}

/*
** As Lua's read_number: the longest prefix that looks like a numeral (at
** most L_MAXLENNUM characters), then lua_stringtonumber. Every character
** comes through lio_await_input, so a numeral in pieces waits without the GIL
** (the FILE is not kept locked across waits, unlike Lua's).
*/
#define L_MAXLENNUM 200

typedef struct RN {
  lua_State *L;
  luaL_Stream *s;
  int c;                       /* the look-ahead character */
  int n;                       /* characters in buff */
  char buff[L_MAXLENNUM + 1];
} RN;

static int rn_getc(RN *rn) { return getc(lio_await_input(rn->L, rn->s)); }

static int nextc(RN *rn) {
  if (rn->n >= L_MAXLENNUM) {  /* too long: invalidate */
    rn->buff[0] = '\0';
    return 0;
  }
  rn->buff[rn->n++] = (char)rn->c;
  rn->c = rn_getc(rn);
  return 1;
}

static int test2(RN *rn, const char *set) {
  return (rn->c == set[0] || rn->c == set[1]) ? nextc(rn) : 0;
}

static int readdigits(RN *rn, int hex) {
  int count = 0;
  while ((hex ? isxdigit(rn->c) : isdigit(rn->c)) && nextc(rn)) count++;
  return count;
}

static int read_number(lua_State *L, luaL_Stream *s) {
  RN rn;
  int count = 0, hex = 0;
  char decp[2];
  rn.L = L;
  rn.s = s;
  rn.n = 0;
  decp[0] = lua_getlocaledecpoint();
  decp[1] = '.';
  do { rn.c = rn_getc(&rn); } while (isspace(rn.c));
  test2(&rn, "-+");
  if (test2(&rn, "00")) {
    if (test2(&rn, "xX")) hex = 1;
    else count = 1;
  }
  count += readdigits(&rn, hex);
  if (test2(&rn, decp)) count += readdigits(&rn, hex);
  if (count > 0 && test2(&rn, hex ? "pP" : "eE")) {
    test2(&rn, "-+");
    readdigits(&rn, 0);
  }
  ungetc(rn.c, s->f);
  rn.buff[rn.n] = '\0';
  if (lua_stringtonumber(L, rn.buff)) return 1;
  lua_pushnil(L);              /* the "result", removed by the caller */
  return 0;
}

int lio_read(lua_State *L, luaL_Stream *s, int first, int nformats) {
  int n, success;
  clearerr(s->f);
  if (nformats == 0) {
    success = read_line(L, s, 1);
    n = first + 1;
  } else {
    luaL_checkstack(L, nformats + LUA_MINSTACK, "too many arguments");
    success = 1;
    for (n = first; nformats-- && success; n++) {
      if (lua_type(L, n) == LUA_TNUMBER) {
        size_t l = (size_t)luaL_checkinteger(L, n);
        success = l == 0 ? test_eof(L, s) : read_chars(L, s, l);
      } else {
        const char *p = luaL_checkstring(L, n);
        if (*p == '*') p++;
        switch (*p) {
          case 'n': success = read_number(L, s); break;
          case 'l': success = read_line(L, s, 1); break;
          case 'L': success = read_line(L, s, 0); break;
          case 'a': read_all(L, s); success = 1; break;
          default: return luaL_argerror(L, n, "invalid format");
        }
      }
    }
  }
  if (ferror(s->f)) return luaL_fileresult(L, 0, NULL);
  if (!success) {
    lua_pop(L, 1);
    luaL_pushfail(L);
  }
  return n - first;
}

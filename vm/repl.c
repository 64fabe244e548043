/*
** repl.c — the interactive loop, as lua 5.4's: prompt "> " (global
** _PROMPT) and ">> " for continuation lines (_PROMPT2); a line is first
** tried as "return <line>;" so expressions print their values; a line
** whose compilation fails with an error ending in "<eof>" is incomplete
** and continued; errors are printed without the program name and the
** loop goes on. No line editing (no readline), but input that does not
** come from a terminal is echoed after the prompt as lua5.4 (built with
** readline) does, so a session fed from a file or pipe reads the same.
**
** While it waits for input the main thread releases the GIL, so other
** threads run while the user types. Ctrl-C while a line runs raises
** "interrupted" in it (reported like any error); Ctrl-C at the prompt
** ends the interpreter, as it does lua's (exit status 130 through
** gl_vm_finish). For that the read must not be restarted after SIGINT:
** the vm's SIGINT handler is kept but SA_RESTART is cleared around the
** read only, and the wait for input is a ppoll that unblocks SIGINT
** atomically, so a ^C can never fall between "check" and "block".
*/
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "cli.h"

#define EOFMARK "<eof>"

static int repl_stop;   /* Ctrl-C at the prompt (main thread only) */

/*
** Waits until stdin has input or Ctrl-C arrives; returns 0 on Ctrl-C.
** SIGINT is blocked by the caller and only unblocked inside ppoll, which
** swaps the mask atomically: a ^C that arrived after the caller checked
** gl_interrupted() is pending, so ppoll returns EINTR at once instead of
** the read sleeping through it (the race a plain check-then-read has).
** Input already in stdio's buffer needs no wait: polling the descriptor
** would block on a line that has been read ahead (say by io.read).
*/
static int wait_for_input(const sigset_t *unblocked) {
  if (gl_file_buffered(stdin)) return 1;
  struct pollfd in = { .fd = fileno(stdin), .events = POLLIN };
  for (;;) {
    if (gl_interrupted()) return 0;
    if (ppoll(&in, 1, NULL, unblocked) >= 0 || errno != EINTR) return 1;
  }
}

/*
** Reads one line (any length) with the GIL released. Returns the line
** (malloc'ed, caller frees) or NULL at end of input or on Ctrl-C (then
** repl_stop is set). Once input is there, SIGINT is unblocked again with
** SA_RESTART cleared, so a ^C in the middle of a partial line still
** interrupts the read.
*/
static char *read_line(const char *prompt) {
  struct sigaction old, brk;
  sigset_t intr, oldmask;
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n = -1;
  fputs(prompt, stdout);
  fflush(stdout);
  sigaction(SIGINT, NULL, &old);
  brk = old;
  brk.sa_flags &= ~SA_RESTART;
  sigaction(SIGINT, &brk, NULL);
  sigemptyset(&intr);
  sigaddset(&intr, SIGINT);
  pthread_sigmask(SIG_BLOCK, &intr, &oldmask);
  gl_block_begin();
  int ready = wait_for_input(&oldmask);
  pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
  if (ready && !gl_interrupted()) {
    errno = 0;
    n = getline(&buf, &cap, stdin);
    while (n < 0 && errno == EINTR && !gl_interrupted()) {  /* another signal */
      clearerr(stdin);
      errno = 0;
      n = getline(&buf, &cap, stdin);
    }
  }
  gl_block_end();
  sigaction(SIGINT, &old, NULL);
  if (n < 0) {
    if (gl_interrupted()) { repl_stop = 1; clearerr(stdin); }
    free(buf);
    return NULL;
  }
  return buf;
}

/* Pushes the prompt: tostring(_PROMPT or _PROMPT2) or the default. */
static const char *push_prompt(lua_State *L, int firstline) {
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushstring(L, firstline ? "> " : ">> ");
    return lua_tostring(L, -1);
  }
  const char *p = luaL_tolstring(L, -1, NULL);
  lua_remove(L, -2);
  return p;
}

/* What readline prints of a line read from a file or pipe (a terminal
** echoes by itself): the line and a newline. */
static void echo_line(const char *line) {
  if (isatty(fileno(stdin))) return;
  fputs(line, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

/* Reads a line and pushes it (without its newline). Returns 0 when there
** is no more input. */
static int pushline(lua_State *L, int firstline) {
  char *b = read_line(push_prompt(L, firstline));
  lua_pop(L, 1);
  if (b == NULL) return 0;
  size_t l = strlen(b);
  if (l > 0 && b[l - 1] == '\n') b[--l] = '\0';
  echo_line(b);
  if (firstline && b[0] == '=')       /* 5.2 compatibility: "=x" is "return x" */
    lua_pushfstring(L, "return %s", b + 1);
  else
    lua_pushlstring(L, b, l);
  free(b);
  return 1;
}

/* The line on top compiled as "return <line>;". Leaves the function and
** returns LUA_OK, or leaves the stack as it was and returns the error. */
static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK) lua_remove(L, -2);   /* the modified line */
  else lua_pop(L, 2);                        /* error and modified line */
  return status;
}

/* A syntax error (on top) at the end of the input: more lines may
** complete it. */
static int incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return 0;
  size_t len;
  const char *msg = lua_tolstring(L, -1, &len);
  size_t ml = sizeof(EOFMARK) - 1;
  return len >= ml && strcmp(msg + len - ml, EOFMARK) == 0;
}

/* Compiles the statement at index 1, reading continuation lines while it
** is incomplete. Leaves the function (or the error) on top: input ending
** inside a statement reports its syntax error (lua 5.4.4 loses it). */
static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *code = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, code, len, "=stdin");
    if (!incomplete(L, status) || !pushline(L, 0))
      return status;
    lua_remove(L, -2);   /* the "<eof>" error */
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* Reads and compiles one chunk; returns -1 when there is no more input. */
static int loadline(lua_State *L) {
  lua_settop(L, 0);
  if (!pushline(L, 1)) return -1;
  int status = addreturn(L);
  if (status != LUA_OK) status = multiline(L);
  lua_remove(L, 1);   /* the line; the function or the error stays */
  return status;
}

/* Prints the values on the stack with the global 'print'. */
static void print_results(lua_State *L) {
  int n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_getglobal(L, "print");
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    cli_message(NULL, lua_pushfstring(L, "error calling 'print' (%s)",
                                      lua_tostring(L, -1)));
}

void cli_repl(lua_State *L) {
  int status;
  repl_stop = 0;
  while ((status = loadline(L)) != -1 && !repl_stop) {
    if (status == LUA_OK) status = cli_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) print_results(L);
    else cli_report(L, status, NULL);
    if (!repl_stop && gl_was_interrupted()) gl_interrupt_handled();   /* the loop goes on */
  }
  lua_settop(L, 0);
  fputs("\n", stdout);
  fflush(stdout);
}

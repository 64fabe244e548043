/*
** blockmod.c — a C module for tests/scripts/interpose_calls.lua: thin
** wrappers around the blocking libc calls gillua interposes for modules
** (vm/interpose.c), so a script can block in each one from a thread and
** check that the others ran meanwhile. Built by the Makefile as
** $(BUILD)/tests/blockmod.so; not installed.
** Every function raises a Lua error naming the call when it fails.
*/
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

extern char **environ;

static int fail(lua_State *L, const char *what) {
  return luaL_error(L, "%s: %s", what, strerror(errno));
}

static int b_pipe(lua_State *L) {
  int fd[2];
  if (pipe(fd) != 0) return fail(L, "pipe");
  lua_pushinteger(L, fd[0]);
  lua_pushinteger(L, fd[1]);
  return 2;
}

static int b_close(lua_State *L) {
  close((int)luaL_checkinteger(L, 1));
  return 0;
}

static int b_read(lua_State *L) {
  char buf[256];
  size_t n = (size_t)luaL_optinteger(L, 2, sizeof buf);
  if (n > sizeof buf) n = sizeof buf;
  ssize_t r = read((int)luaL_checkinteger(L, 1), buf, n);
  if (r < 0) return fail(L, "read");
  lua_pushlstring(L, buf, (size_t)r);
  return 1;
}

static int b_write(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  ssize_t r = write((int)luaL_checkinteger(L, 1), s, len);
  if (r < 0) return fail(L, "write");
  lua_pushinteger(L, r);
  return 1;
}

/* Fills a pipe until a write would block (the descriptor stays blocking). */
static int b_fill(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1), fl = fcntl(fd, F_GETFL);
  char buf[4096];
  memset(buf, 'x', sizeof buf);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  lua_Integer total = 0;
  for (;;) {
    ssize_t r = write(fd, buf, sizeof buf);
    if (r <= 0) break;
    total += r;
  }
  fcntl(fd, F_SETFL, fl);
  lua_pushinteger(L, total);
  return 1;
}

static int b_listen(lua_State *L) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    return fail(L, "listen");
  lua_pushinteger(L, fd);
  lua_pushinteger(L, ntohs(a.sin_port));
  return 2;
}

static int b_accept(lua_State *L) {
  int fd = accept((int)luaL_checkinteger(L, 1), NULL, NULL);
  if (fd < 0) return fail(L, "accept");
  lua_pushinteger(L, fd);
  return 1;
}

static int b_connect(lua_State *L) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                           .sin_port = htons((unsigned short)luaL_checkinteger(L, 1)) };
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return fail(L, "connect");
  lua_pushinteger(L, fd);
  return 1;
}

static int b_recv(lua_State *L) {
  char buf[256];
  ssize_t r = recv((int)luaL_checkinteger(L, 1), buf, sizeof buf, 0);
  if (r < 0) return fail(L, "recv");
  lua_pushlstring(L, buf, (size_t)r);
  return 1;
}

static int b_send(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  ssize_t r = send((int)luaL_checkinteger(L, 1), s, len, 0);
  if (r < 0) return fail(L, "send");
  lua_pushinteger(L, r);
  return 1;
}

static int b_poll(lua_State *L) {
  struct pollfd p = { .fd = (int)luaL_checkinteger(L, 1), .events = POLLIN };
  int r = poll(&p, 1, (int)luaL_checkinteger(L, 2));
  if (r < 0) return fail(L, "poll");
  lua_pushinteger(L, r);
  return 1;
}

static int b_select(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1);
  lua_Integer ms = luaL_checkinteger(L, 2);
  fd_set r;
  FD_ZERO(&r);
  FD_SET(fd, &r);
  struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
  int n = select(fd + 1, &r, NULL, NULL, &tv);
  if (n < 0) return fail(L, "select");
  lua_pushinteger(L, n > 0 && FD_ISSET(fd, &r) ? n : 0);
  return 1;
}

static int b_epoll_wait(lua_State *L) {
  int fd = (int)luaL_checkinteger(L, 1), ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd }, out;
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) return fail(L, "epoll_ctl");
  int n = epoll_wait(ep, &out, 1, (int)luaL_checkinteger(L, 2));
  int e = errno;
  close(ep);
  errno = e;
  if (n < 0) return fail(L, "epoll_wait");
  lua_pushinteger(L, n);
  return 1;
}

static int b_usleep(lua_State *L) {
  usleep((useconds_t)luaL_checkinteger(L, 1));
  return 0;
}

static struct timespec seconds_ts(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
  return ts;
}

static int b_nanosleep(lua_State *L) {
  struct timespec ts = seconds_ts(L);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
  return 0;
}

static int b_clock_nanosleep(lua_State *L) {
  struct timespec ts = seconds_ts(L);
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
  return 0;
}

static int b_sleep(lua_State *L) {
  sleep((unsigned)luaL_checkinteger(L, 1));
  return 0;
}

/* Starts /bin/sh -c CMD; returns its pid. */
static int b_spawn(lua_State *L) {
  char *argv[] = { "sh", "-c", (char *)luaL_checkstring(L, 1), NULL };
  pid_t pid;
  int rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ);
  if (rc != 0) { errno = rc; return fail(L, "posix_spawn"); }
  lua_pushinteger(L, pid);
  return 1;
}

static int b_waitpid(lua_State *L) {
  int status;
  pid_t r = waitpid((pid_t)luaL_checkinteger(L, 1), &status, 0);
  if (r < 0) return fail(L, "waitpid");
  lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return 1;
}

int luaopen_blockmod(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"pipe", b_pipe}, {"close", b_close}, {"read", b_read}, {"write", b_write}, {"fill", b_fill},
    {"listen", b_listen}, {"accept", b_accept}, {"connect", b_connect}, {"recv", b_recv},
    {"send", b_send}, {"poll", b_poll}, {"select", b_select}, {"epoll_wait", b_epoll_wait},
    {"usleep", b_usleep}, {"nanosleep", b_nanosleep}, {"clock_nanosleep", b_clock_nanosleep},
    {"sleep", b_sleep}, {"spawn", b_spawn}, {"waitpid", b_waitpid}, {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  return 1;
}

/*
** interpose_calls.c — the blocking libc calls gillua's executable
** defines for C modules (exported by vm/interpose.list). Each takes its
** caller's address, asks ip_thread whether the call is one to handle
** (interpose.c states the rules) and otherwise calls the real function
** untouched. Three shapes:
**   descriptor calls (read, recv, accept, write, send...): when the
**     descriptor is in blocking mode and not ready, wait for it without
**     the GIL, then make the real call, still without it;
**   waits with a timeout (poll, select, epoll_wait...): a try with no
**     timeout first, then slices without the GIL (ip_timed_wait);
**   sleeps and waitpid: without the GIL, in slices.
** The _chk variants are what code built with _FORTIFY_SOURCE calls.
*/
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "interpose.h"

#define CALLER __builtin_return_address(0)
#define REAL(name) ((__typeof__(&name))ip_real(#name, &real_##name))

static void *real_read, *real_write, *real_readv, *real_writev,
  *real_recvfrom, *real_recvmsg, *real_send, *real_sendto,
  *real_sendmsg, *real_accept, *real_accept4, *real_poll, *real_ppoll,
  *real_select, *real_pselect, *real_epoll_wait, *real_epoll_pwait, *real___read_chk,
  *real___recv_chk, *real___recvfrom_chk, *real___poll_chk;

/* A descriptor call: 'call' is the real call as an expression; 'big' says
** a write may block part way even on a ready descriptor. */
#define FD_CALL(type, caller, fd, events, big, call) do { \
    GLThread *t_ = ip_thread(caller); \
    if (t_ == NULL || !ip_must_wait(t_, fd, events, big)) return call; \
    if (ip_enter_fd(t_, fd, events) == EINTR) ip_raise(t_); \
    type r_ = call; \
    ip_leave(t_); \
    return r_; \
  } while (0)

#define BIG(n) ((n) > PIPE_BUF)

/* ---- descriptor calls ---- */

static ssize_t do_read(void *caller, int fd, void *buf, size_t n) {
  FD_CALL(ssize_t, caller, fd, POLLIN, 0, REAL(read)(fd, buf, n));
}
ssize_t read(int fd, void *buf, size_t n) { return do_read(CALLER, fd, buf, n); }

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  if (n > buflen) return REAL(__read_chk)(fd, buf, n, buflen);   /* aborts */
  return do_read(CALLER, fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n) {
  FD_CALL(ssize_t, CALLER, fd, POLLOUT, BIG(n), REAL(write)(fd, buf, n));
}

ssize_t readv(int fd, const struct iovec *iov, int cnt) {
  FD_CALL(ssize_t, CALLER, fd, POLLIN, 0, REAL(readv)(fd, iov, cnt));
}

ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  FD_CALL(ssize_t, CALLER, fd, POLLOUT, 1, REAL(writev)(fd, iov, cnt));
}

static ssize_t do_recvfrom(void *caller, int fd, void *buf, size_t n, int flags,
                           struct sockaddr *from, socklen_t *len) {
  if (flags & MSG_DONTWAIT) return REAL(recvfrom)(fd, buf, n, flags, from, len);
  FD_CALL(ssize_t, caller, fd, POLLIN, 0, REAL(recvfrom)(fd, buf, n, flags, from, len));
}

ssize_t recv(int fd, void *buf, size_t n, int flags) {
  return do_recvfrom(CALLER, fd, buf, n, flags, NULL, NULL);
}

ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  if (n > buflen) return REAL(__recv_chk)(fd, buf, n, buflen, flags);
  return do_recvfrom(CALLER, fd, buf, n, flags, NULL, NULL);
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
                 socklen_t *len) {
  return do_recvfrom(CALLER, fd, buf, n, flags, from, len);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                       struct sockaddr *from, socklen_t *len) {
  if (n > buflen) return REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, from, len);
  return do_recvfrom(CALLER, fd, buf, n, flags, from, len);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  if (flags & MSG_DONTWAIT) return REAL(recvmsg)(fd, msg, flags);
  FD_CALL(ssize_t, CALLER, fd, POLLIN, 0, REAL(recvmsg)(fd, msg, flags));
}

ssize_t send(int fd, const void *buf, size_t n, int flags) {
  if (flags & MSG_DONTWAIT) return REAL(send)(fd, buf, n, flags);
  FD_CALL(ssize_t, CALLER, fd, POLLOUT, BIG(n), REAL(send)(fd, buf, n, flags));
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags,
               const struct sockaddr *to, socklen_t len) {
  if (flags & MSG_DONTWAIT) return REAL(sendto)(fd, buf, n, flags, to, len);
  FD_CALL(ssize_t, CALLER, fd, POLLOUT, BIG(n), REAL(sendto)(fd, buf, n, flags, to, len));
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  if (flags & MSG_DONTWAIT) return REAL(sendmsg)(fd, msg, flags);
  FD_CALL(ssize_t, CALLER, fd, POLLOUT, 1, REAL(sendmsg)(fd, msg, flags));
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  FD_CALL(int, CALLER, fd, POLLIN, 0, REAL(accept)(fd, addr, len));
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  FD_CALL(int, CALLER, fd, POLLIN, 0, REAL(accept4)(fd, addr, len, flags));
}

/* ---- waits with a timeout ---- */

typedef struct { struct pollfd *fds; nfds_t n; const sigset_t *mask; } PollCtx;

static int try_poll(void *ctx, int ms) {
  PollCtx *c = ctx;
  return REAL(poll)(c->fds, c->n, ms);
}

static int do_poll(void *caller, struct pollfd *fds, nfds_t n, int ms) {
  GLThread *t = ip_thread(caller);
  if (t == NULL || ms == 0) return REAL(poll)(fds, n, ms);
  PollCtx c = { fds, n, NULL };
  return ip_timed_wait(t, try_poll, &c, ms < 0 ? -1 : ms);
}

int poll(struct pollfd *fds, nfds_t n, int ms) { return do_poll(CALLER, fds, n, ms); }

int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen) {
  if (fdslen / sizeof *fds < n) return REAL(__poll_chk)(fds, n, ms, fdslen);
  return do_poll(CALLER, fds, n, ms);
}

/* A timespec timeout in milliseconds, rounded up; -1 for none. */
static int ts_ms(const struct timespec *ts) {
  if (ts == NULL) return -1;
  double ms = (double)ts->tv_sec * 1e3 + (double)ts->tv_nsec / 1e6;
  if (ms <= 0) return 0;
  return ms >= INT_MAX ? INT_MAX : (int)(ms + 0.999999);
}

static struct timespec ms_ts(int ms) {
  struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
  return ts;
}

static int try_ppoll(void *ctx, int ms) {
  PollCtx *c = ctx;
  struct timespec ts = ms_ts(ms);
  return REAL(ppoll)(c->fds, c->n, ms < 0 ? NULL : &ts, c->mask);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo, const sigset_t *mask) {
  GLThread *t = ip_thread(CALLER);
  int ms = ts_ms(tmo);
  if (t == NULL || ms == 0) return REAL(ppoll)(fds, n, tmo, mask);
  PollCtx c = { fds, n, mask };
  return ip_timed_wait(t, try_ppoll, &c, ms);
}

/* select and pselect change their sets: each try starts from a copy. */
typedef struct {
  int nfds;
  fd_set *sets[3], saved[3];
  const sigset_t *mask;
  int with_mask;
} SelectCtx;

static void restore_sets(SelectCtx *c) {
  for (int i = 0; i < 3; i++)
    if (c->sets[i]) *c->sets[i] = c->saved[i];
}

static int try_select(void *ctx, int ms) {
  SelectCtx *c = ctx;
  restore_sets(c);
  if (c->with_mask) {
    struct timespec ts = ms_ts(ms);
    return REAL(pselect)(c->nfds, c->sets[0], c->sets[1], c->sets[2],
                         ms < 0 ? NULL : &ts, c->mask);
  }
  struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
  return REAL(select)(c->nfds, c->sets[0], c->sets[1], c->sets[2], ms < 0 ? NULL : &tv);
}

static int select_wait(GLThread *t, SelectCtx *c, fd_set *r, fd_set *w, fd_set *e, int ms) {
  fd_set *s[3] = { r, w, e };
  for (int i = 0; i < 3; i++) {
    c->sets[i] = s[i];
    if (s[i]) c->saved[i] = *s[i];
  }
  return ip_timed_wait(t, try_select, c, ms);
}

int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv) {
  GLThread *t = ip_thread(CALLER);
  int ms = -1;
  if (tv != NULL) {
    double d = (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
    ms = d <= 0 ? 0 : d >= INT_MAX ? INT_MAX : (int)(d + 0.999);
  }
  if (t == NULL || ms == 0 || nfds < 0 || nfds > FD_SETSIZE)
    return REAL(select)(nfds, r, w, e, tv);
  SelectCtx c = { .nfds = nfds };
  uint64_t start = gl_now_ns();
  int res = select_wait(t, &c, r, w, e, ms);
  if (tv != NULL) {   /* Linux's select leaves the time not slept */
    uint64_t spent_us = (gl_now_ns() - start) / 1000, had = (uint64_t)ms * 1000;
    uint64_t left = spent_us < had ? had - spent_us : 0;
    tv->tv_sec = (time_t)(left / 1000000);
    tv->tv_usec = (suseconds_t)(left % 1000000);
  }
  return res;
}

int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *tmo,
            const sigset_t *mask) {
  GLThread *t = ip_thread(CALLER);
  int ms = ts_ms(tmo);
  if (t == NULL || ms == 0 || nfds < 0 || nfds > FD_SETSIZE)
    return REAL(pselect)(nfds, r, w, e, tmo, mask);
  SelectCtx c = { .nfds = nfds, .mask = mask, .with_mask = 1 };
  return select_wait(t, &c, r, w, e, ms);
}

typedef struct {
  int epfd, max;
  struct epoll_event *events;
  const sigset_t *mask;
} EpollCtx;

static int try_epoll(void *ctx, int ms) {
  EpollCtx *c = ctx;
  return REAL(epoll_pwait)(c->epfd, c->events, c->max, ms, c->mask);
}

int epoll_wait(int epfd, struct epoll_event *events, int max, int ms) {
  GLThread *t = ip_thread(CALLER);
  if (t == NULL || ms == 0) return REAL(epoll_wait)(epfd, events, max, ms);
  EpollCtx c = { epfd, max, events, NULL };
  return ip_timed_wait(t, try_epoll, &c, ms < 0 ? -1 : ms);
}

int epoll_pwait(int epfd, struct epoll_event *events, int max, int ms,
                const sigset_t *mask) {
  GLThread *t = ip_thread(CALLER);
  if (t == NULL || ms == 0) return REAL(epoll_pwait)(epfd, events, max, ms, mask);
  EpollCtx c = { epfd, max, events, mask };
  return ip_timed_wait(t, try_epoll, &c, ms < 0 ? -1 : ms);
}

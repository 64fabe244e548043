/*
** interpose_sleep.c — connect, the sleeps and waitpid for C modules
** (the other exported calls are in interpose_calls.c; the rules at the
** top of interpose.c).
**   connect on a blocking socket is made non-blocking for the call, so
**     the wait for the connection happens in slices without the GIL
**     (Ctrl-C seen); the descriptor's flags are put back before return.
**   nanosleep, clock_nanosleep, usleep and sleep sleep without the GIL in
**     slices (gl_sleep); a sleep is never cut short except by Ctrl-C, so
**     'rem' is always zero.
**   waitpid, wait and wait4 without WNOHANG ask with WNOHANG, then again
**     without the GIL every 1..20 ms until the child has changed state.
*/
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "clock.h"
#include "interpose.h"

#define CALLER __builtin_return_address(0)
#define REAL(name) ((__typeof__(&name))ip_real(#name, &real_##name))
#define MAX_POLL_NS 20000000ull   /* waitpid's longest pause between asks */

static void *real_connect, *real_nanosleep, *real_clock_nanosleep, *real_usleep,
  *real_sleep, *real_waitpid, *real_wait, *real_wait4;

/* ---- connect ---- */

/* The end of a non-blocking connect: waits for the socket to be writable
** (GIL released), then reads its error. Flags restored either way. */
static int finish_connect(GLThread *t, int fd, int flags) {
  if (ip_enter_fd(t, fd, POLLOUT) == EINTR) {
    fcntl(fd, F_SETFL, flags);
    ip_raise(t);
  }
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  fcntl(fd, F_SETFL, flags);
  ip_leave(t);
  if (err != 0) { errno = err; return -1; }
  return 0;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  GLThread *t = ip_thread(CALLER);
  int flags = (t != NULL) ? fcntl(fd, F_GETFL) : -1;
  if (flags < 0 || (flags & O_NONBLOCK) || !ip_may_release(t))
    return REAL(connect)(fd, addr, len);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int r = REAL(connect)(fd, addr, len);
  if (r < 0 && errno == EINPROGRESS) return finish_connect(t, fd, flags);
  int e = errno;
  fcntl(fd, F_SETFL, flags);
  if (r < 0 && e == EAGAIN) {   /* a Unix socket's full backlog: block as asked */
    gl_block_begin();
    r = REAL(connect)(fd, addr, len);
    ip_leave(t);
    return r;
  }
  errno = e;
  return r;
}

/* ---- sleeps ---- */

static int valid_ts(const struct timespec *ts) {
  return ts != NULL && ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}


int nanosleep(const struct timespec *req, struct timespec *rem) {
  GLThread *t = ip_thread(CALLER);
  if (t == NULL || !valid_ts(req)) return REAL(nanosleep)(req, rem);
  ip_sleep_ns(t, gl_ts_ns(req));
  if (rem != NULL) rem->tv_sec = 0, rem->tv_nsec = 0;
  return 0;
}

int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                    struct timespec *rem) {
  GLThread *t = ip_thread(CALLER);
  struct timespec now;
  if (t == NULL || !valid_ts(req) || clock_gettime(clk, &now) != 0)
    return REAL(clock_nanosleep)(clk, flags, req, rem);
  unsigned long long ns = gl_ts_ns(req);
  if (flags & TIMER_ABSTIME) {   /* until a time on clk: sleep the difference */
    unsigned long long at = gl_ts_ns(&now);
    ns = ns > at ? ns - at : 0;
  }
  ip_sleep_ns(t, ns);
  if (rem != NULL && !(flags & TIMER_ABSTIME)) rem->tv_sec = 0, rem->tv_nsec = 0;
  return 0;
}

int usleep(useconds_t us) {
  GLThread *t = ip_thread(CALLER);
  if (t == NULL) return REAL(usleep)(us);
  ip_sleep_ns(t, (unsigned long long)us * 1000ull);
  return 0;
}

unsigned int sleep(unsigned int s) {
  GLThread *t = ip_thread(CALLER);
  if (t == NULL) return REAL(sleep)(s);
  ip_sleep_ns(t, (unsigned long long)s * 1000000000ull);
  return 0;
}

/* ---- waiting for children ---- */

/* wait4 as asked, but in WNOHANG asks, pausing 1..20 ms (doubling)
** between them with the GIL released. */
static pid_t wait_child(GLThread *t, pid_t pid, int *status, int options,
                        struct rusage *ru) {
  pid_t r = REAL(wait4)(pid, status, options | WNOHANG, ru);
  if (r != 0 || !ip_may_release(t)) return r != 0 ? r : REAL(wait4)(pid, status, options, ru);
  unsigned long long pause = 1000000ull;
  while (r == 0) {
    ip_sleep_ns(t, pause);     /* raises "interrupted" on Ctrl-C */
    if (pause < MAX_POLL_NS) pause *= 2;
    r = REAL(wait4)(pid, status, options | WNOHANG, ru);
  }
  return r;
}

pid_t waitpid(pid_t pid, int *status, int options) {
  GLThread *t = ip_thread(CALLER);
  if (t == NULL || (options & WNOHANG)) return REAL(waitpid)(pid, status, options);
  return wait_child(t, pid, status, options, NULL);
}

pid_t wait(int *status) {
  GLThread *t = ip_thread(CALLER);
  if (t == NULL) return REAL(wait)(status);
  return wait_child(t, -1, status, 0, NULL);
}

pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru) {
  GLThread *t = ip_thread(CALLER);
  if (t == NULL || (options & WNOHANG)) return REAL(wait4)(pid, status, options, ru);
  return wait_child(t, pid, status, options, ru);
}

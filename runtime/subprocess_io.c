/*
** subprocess_io.c — communicate()'s I/O loop: polls the child's stdin,
** stdout and stderr together (GIL released by the caller) so a child
** writing much to both pipes never deadlocks against us; writes with
** SIGPIPE blocked in this thread (an exited child makes the write fail
** with EPIPE instead of killing gillua).
*/
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block.h"
#include "mp.h"
#include "subprocess_io.h"

void sp_buf_add(Buf *b, const char *s, size_t n) {
  if (b->n + n > b->cap) {
    size_t c = b->cap ? b->cap * 2 : 8192;
    while (c < b->n + n) c *= 2;
    char *q = realloc(b->p, c);
    if (q == NULL) abort();
    b->p = q;
    b->cap = c;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

/* Write with SIGPIPE blocked in this thread; a pending SIGPIPE caused by
** the write is consumed. */
static ssize_t write_nosigpipe(int fd, const void *p, size_t n) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t w = write(fd, p, n);
  int e = errno;
  if (w < 0 && e == EPIPE) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, NULL, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = e;
  return w;
}

/* The poll loop, GIL released by the caller. */
void sp_comm_loop(Comm *c, const struct timespec *deadline) {
  if (c->fd[0] >= 0) fcntl(c->fd[0], F_SETFL, fcntl(c->fd[0], F_GETFL) | O_NONBLOCK);
  char chunk[65536];
  for (;;) {
    struct pollfd pf[3];
    int map[3], n = 0;
    for (int i = 0; i < 3; i++)
      if (c->fd[i] >= 0) {
        pf[n].fd = c->fd[i];
        pf[n].events = i == 0 ? POLLOUT : POLLIN;
        pf[n].revents = 0;
        map[n++] = i;
      }
    if (n == 0) return;
    int ms = gl_slice_ms(deadline);
    if (ms == 0) { c->timedout = 1; return; }
    int r = poll(pf, (nfds_t)n, ms);
    if (gl_interrupted()) { c->interrupted = 1; return; }
    if (r <= 0) continue;
    for (int k = 0; k < n; k++) {
      int i = map[k];
      if (pf[k].revents == 0) continue;
      if (i == 0) {
        size_t left = c->inlen - c->inpos;
        ssize_t w = left ? write_nosigpipe(c->fd[0], c->in + c->inpos, left > 65536 ? 65536 : left) : 0;
        if (w > 0) c->inpos += (size_t)w;
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || c->inpos == c->inlen) {
          close(c->fd[0]);               /* done (or the child closed its stdin): EOF */
          c->fd[0] = -1;
        }
      } else {
        ssize_t rd = read(c->fd[i], chunk, sizeof chunk);
        if (rd > 0) sp_buf_add(&c->out[i - 1], chunk, (size_t)rd);
        else if (rd == 0 || (errno != EAGAIN && errno != EINTR)) c->fd[i] = -1;
      }
    }
  }
}


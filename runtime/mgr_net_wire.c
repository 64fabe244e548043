/*
** mgr_net_wire.c — frames over a non-blocking socket (NetConn) with the
** GIL released while waiting, and the client's side of the handshake.
** Waits poll in slices (GL_SLICE_NS) so that Ctrl-C reaches a main
** thread blocked on the network.
*/
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "block.h"
#include "mgr_net.h"

#define READ_CHUNK 65536
#define SPIN_ROUNDS 256

void nc_init(NetConn *c, int fd) {
  memset(c, 0, sizeof *c);
  c->fd = fd;
}

void nc_close(NetConn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  free(c->in);
  c->in = NULL;
  c->start = c->end = c->cap = 0;
}

/* Room for 'need' more bytes after c->end (moves what is buffered to the
** front first). */
static int reserve(NetConn *c, size_t need) {
  if (c->start > 0) {
    memmove(c->in, c->in + c->start, c->end - c->start);
    c->end -= c->start;
    c->start = 0;
  }
  if (c->cap - c->end >= need) return 0;
  size_t cap = c->cap ? c->cap : READ_CHUNK;
  while (cap - c->end < need) cap *= 2;
  unsigned char *p = (unsigned char *)realloc(c->in, cap);
  if (p == NULL) return ENOMEM;
  c->in = p;
  c->cap = cap;
  return 0;
}

int nc_push_input(NetConn *c, const unsigned char *p, size_t n) {
  if (n == 0) return 0;
  int rc = reserve(c, n);
  if (rc) return rc;
  memcpy(c->in + c->end, p, n);
  c->end += n;
  return 0;
}

/* Waits until fd is ready for 'events' or the deadline passes; the caller
** has released the GIL. 0, ETIMEDOUT, EINTR. */
static int wait_fd(int fd, short events, const struct timespec *dl) {
  for (;;) {
    if (gl_interrupted()) return EINTR;
    if (gl_expired(dl)) return ETIMEDOUT;
    struct pollfd p = { fd, events, 0 };
    int r = poll(&p, 1, gl_slice_ms(dl));
    if (r > 0) return 0;                 /* ready, or in error: the next call tells */
    if (r < 0 && errno != EINTR) return errno;
  }
}

/* A reply on loopback comes within microseconds, sooner than a sleeping
** thread wakes up: before sleeping in poll, peek for input a little while,
** yielding the CPU every other round so that on a loaded machine the peer
** runs (measured on the loaded 2-core VM: a yield every 2 rounds made a
** manager call 1.5x faster than one every 32). How long: without the spin
** a proxy call took 25-97 us, with 16 rounds 39-80, with 64 or more 10-12;
** the queue benchmark (a producer process and the parent through one
** server) passed 45k items/s in 3 runs of 4 at 256 rounds, 2 of 4 at 64
** (12 runs interleaved, another session loading the machine). So 256: at
** most ~0.2 ms of spinning before poll. True when input (or an error, or
** the end) is there. */
static int spin_for_input(int fd) {
  char b;
  for (int i = 0; i < SPIN_ROUNDS; i++) {
    ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) return 1;
    if (i & 1) sched_yield();
  }
  return 0;
}

/* Reads what is available into the buffer (at least 'atleast' bytes of
** room), waiting until 'dl'. 0, ECONNRESET at end of stream, or an errno. */
static int fill(NetConn *c, size_t atleast, const struct timespec *dl) {
  int rc = reserve(c, atleast > READ_CHUNK ? atleast : READ_CHUNK);
  if (rc) return rc;
  for (;;) {
    ssize_t n = recv(c->fd, c->in + c->end, c->cap - c->end, 0);
    if (n > 0) { c->end += (size_t)n; return 0; }
    if (n == 0) return ECONNRESET;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno;
    gl_block_begin();
    rc = spin_for_input(c->fd) ? 0 : wait_fd(c->fd, POLLIN, dl);
    gl_block_end();
    if (rc) return rc;
  }
}

int nc_read_frame(NetConn *c, size_t max, const struct timespec *first, double rest,
                  const unsigned char **body, size_t *len) {
  struct timespec rest_dl;
  const struct timespec *dl = first;
  int begun = 0;
  for (;;) {
    size_t used;
    int r = mgr_frame_parse(c->in + c->start, c->end - c->start, max, body, len, &used);
    if (r == FRAME_TOOBIG) return EMSGSIZE;
    if (r == FRAME_OK) { c->start += used; return 0; }
    if (!begun && c->end > c->start) {   /* a frame has begun: the rest is bounded */
      begun = 1;
      dl = gl_deadline(&rest_dl, rest);
      if (first && (first->tv_sec < rest_dl.tv_sec ||
                    (first->tv_sec == rest_dl.tv_sec && first->tv_nsec < rest_dl.tv_nsec)))
        dl = first;
    }
    size_t have = c->end - c->start, need = 4;
    if (have >= 4)
      need = 4 + ((size_t)c->in[c->start] << 24 | (size_t)c->in[c->start + 1] << 16 |
                  (size_t)c->in[c->start + 2] << 8 | c->in[c->start + 3]);
    size_t room = need - have;            /* grow with what arrives, not with what is announced */
    if (room > c->cap) room = c->cap ? c->cap : READ_CHUNK;
    int rc = fill(c, room, dl);
    if (rc) return rc;
  }
}

int nc_write_frame(NetConn *c, const void *body, size_t len, const struct timespec *dl) {
  unsigned char hdr[4];
  mgr_frame_header(hdr, len);
  size_t done = 0, total = 4 + len;
  while (done < total) {
    struct iovec iov[2];
    int k = 0;
    if (done < 4) { iov[k].iov_base = hdr + done; iov[k].iov_len = 4 - done; k++; }
    size_t boff = done < 4 ? 0 : done - 4;
    if (len > boff) { iov[k].iov_base = (char *)body + boff; iov[k].iov_len = len - boff; k++; }
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = iov;
    mh.msg_iovlen = (size_t)k;
    ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    if (n >= 0) { done += (size_t)n; continue; }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno;
    gl_block_begin();
    int rc = wait_fd(c->fd, POLLOUT, dl);
    gl_block_end();
    if (rc) return rc;
  }
  return 0;
}

/* ---- the client's side of the handshake ---- */

#define WELCOME "#WELCOME#"
#define FAILURE "#FAILURE#"

static const char *read_hs(NetConn *c, const struct timespec *dl, const unsigned char **m, size_t *n) {
  int rc = nc_read_frame(c, MGR_HS_MAXFRAME, dl, MGR_HS_TIMEOUT, m, n);
  if (rc == 0) return NULL;
  if (rc == ETIMEDOUT) return "the server did not complete the handshake in time";
  if (rc == EINTR) return "interrupted";
  if (rc == EMSGSIZE) return "the server sent a handshake message too long";
  return "connection closed during the handshake";
}

const char *mp_auth_client(NetConn *c, const void *key, size_t keylen, const struct timespec *dl) {
  const unsigned char *m;
  size_t n;
  unsigned char buf[4 + MGR_HS_MAXFRAME];
  size_t blen;
  const char *why = read_hs(c, dl, &m, &n);
  if (why) return why;
  if (mp_auth_answer(key, keylen, m, n, buf, &blen) != 0) return "the server sent no challenge";
  if (nc_write_frame(c, buf, blen, dl) != 0) return "connection closed during the handshake";
  if ((why = read_hs(c, dl, &m, &n)) != NULL) return why;
  if (n != sizeof WELCOME - 1 || memcmp(m, WELCOME, n) != 0) return "authentication failed";
  unsigned char nonce[MGR_NONCE];
  mp_auth_random(nonce, sizeof nonce);
  blen = mp_auth_challenge(nonce, buf);
  if (nc_write_frame(c, buf, blen, dl) != 0) return "connection closed during the handshake";
  if ((why = read_hs(c, dl, &m, &n)) != NULL) return why;
  int ok = mp_auth_check(key, keylen, nonce, m, n);
  const char *verdict = ok ? WELCOME : FAILURE;
  if (nc_write_frame(c, verdict, strlen(verdict), dl) != 0 && ok)
    return "connection closed during the handshake";
  return ok ? NULL : "the server failed to authenticate itself (wrong key on its side?)";
}

/*
** subprocess_io.h — the I/O loop of subprocess communicate().
*/
#ifndef subprocess_io_h
#define subprocess_io_h

#include <stddef.h>
#include <time.h>

typedef struct Buf { char *p; size_t n, cap; } Buf;

/* State of one communicate(): fds are -1 when not piped or finished (the
** loop closes stdin once all input is written). Owned by the caller. */
typedef struct Comm {
  int fd[3];
  const char *in; size_t inlen, inpos;
  Buf out[2];                /* stdout, stderr */
  int interrupted, timedout, error;
} Comm;

void sp_buf_add(Buf *b, const char *s, size_t n);
/* Runs until every fd is done, the deadline passes (timedout) or Ctrl-C
** (interrupted). Call with the GIL released. */
void sp_comm_loop(Comm *c, const struct timespec *deadline);

#endif

/*
** mp_pipe.h — the shared-memory rings of multiprocessing.Pipe: what
** mp_pipe.c (the Connection objects) and mp_pipe_ring.c (the data path)
** share. See mp_pipe_ring.c for the frame format and the waiting rules.
*/
#ifndef mp_pipe_h
#define mp_pipe_h

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RING ((uint64_t)32 * 1024 - 128)   /* bytes of one direction's ring */
#define BIG (RING / 4)                      /* longer messages get their own block */

/* One direction. wmu serializes writers, rmu readers (robust, process-
** shared). A frame's bytes are written only by the wmu holder before
** tail is published, read only by the rmu holder before head is. */
typedef struct Dir {
  pthread_mutex_t wmu, rmu;
  uint64_t head, tail;          /* bytes consumed / produced, ever growing */
  uint32_t rsleep;              /* a reader sleeps in poll() */
  uint32_t space_seq;           /* futex: bumped when space is freed and wwait */
  uint32_t wwait;               /* writers waiting for space */
  unsigned char ring[RING];
} Dir;

typedef struct PipeShm {
  Dir d[2];                     /* d[k]: written by end k, read by end 1-k */
  int open[2];                  /* open handles of each end, all processes (atomic) */
} PipeShm;

void mp_ring_init(PipeShm *p);
/* Drops a reference on p; the last one frees the big messages still
** unread in either ring, then p. */
void mp_ring_release(PipeShm *p);
/* Sends one frame from end 'side' (fd: its control socket). 0, EMSGSIZE,
** ENOMEM, EPIPE or EINTR; raises nothing (the caller frees first). */
int mp_ring_send(PipeShm *p, int side, int fd, const void *data, size_t len);
/* Receives one frame at end 'side' (*out malloc'ed). 0, -1 (EOF: every
** handle of the other end closed and nothing left), EINTR. */
int mp_ring_recv(PipeShm *p, int side, int fd, char **out, size_t *outlen);
/* 1 when a frame waits for end 'side'. */
int mp_ring_ready(PipeShm *p, int side);
/* Waits until a frame (1), EOF (-1), the deadline (ETIMEDOUT), ^C (EINTR). */
int mp_ring_wait(PipeShm *p, int side, int fd, const struct timespec *dl);

#endif

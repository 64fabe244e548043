/*
** trace.h — the GIL timeline (--trace=FILE), written as Chrome trace-event
** JSON at exit. Each thread records into its own bounded buffer (no lock
** on the hot path); the buffers are written when the program ends.
*/
#ifndef trace_h
#define trace_h

#include <stdint.h>

#include "gthread.h"

typedef enum {
  TR_HOLD_BEGIN,      /* thread got the GIL */
  TR_HOLD_END,        /* thread released the GIL */
  TR_WAIT_BEGIN,      /* thread started waiting for the GIL */
  TR_WAIT_END,        /* thread stopped waiting (got it) */
  TR_BLOCK_BEGIN,     /* thread entered a blocking call (GIL released) */
  TR_BLOCK_END,       /* thread left the blocking call */
  TR_SWITCH_REQUEST,  /* a waiter asked the holder to drop (instant) */
  TR_WASTED_WAKEUP    /* a waiter woke and found the GIL taken (instant) */
} TrKind;

extern int gl_trace_enabled;  /* set once at start-up, read-only after */

/* Opens FILE for writing at start-up; returns 0, or -1 with a message. */
int gl_trace_open(const char *path, char *err, size_t errlen);

/* Records an event of thread t (called by t itself, or under gil.mu for
** TR_SWITCH_REQUEST which is recorded in the requester's buffer). */
void gl_trace_event(GLThread *t, TrKind kind, uint64_t ts_ns);

/* Thread t is finishing: its buffer is kept for the final write. */
void gl_trace_thread_exit(GLThread *t);

/* Writes the file (once) at exit. */
void gl_trace_close(void);

#define GL_TRACE(t, kind, ts) \
  do { if (gl_trace_enabled) gl_trace_event((t), (kind), (ts)); } while (0)

#endif

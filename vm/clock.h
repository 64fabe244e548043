/*
** clock.h — time, once for the whole program: the slice every wait is cut
** into, seconds <-> nanoseconds, deadlines on CLOCK_MONOTONIC.
**
** A deadline is a 'struct timespec' on CLOCK_MONOTONIC; NULL means "no
** deadline" (wait forever). No wait lasts longer than one slice without
** looking at Ctrl-C, dead peers and lost wake-ups: that bounds the
** latency of an interrupt.
*/
#ifndef clock_h
#define clock_h

#include <stdint.h>
#include <time.h>

#define GL_NS_PER_S  1000000000ull
#define GL_SLICE_NS  50000000ull                        /* 50 ms */
#define GL_SLICE_MS  ((int)(GL_SLICE_NS / 1000000ull))

static inline uint64_t gl_ts_ns(const struct timespec *ts) {
  return (uint64_t)ts->tv_sec * GL_NS_PER_S + (uint64_t)ts->tv_nsec;
}

static inline struct timespec gl_ns_ts(uint64_t ns) {
  struct timespec ts = { (time_t)(ns / GL_NS_PER_S), (long)(ns % GL_NS_PER_S) };
  return ts;
}

static inline double gl_ns_s(uint64_t ns) { return (double)ns / 1e9; }

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t gl_now_ns(void);

/* Deadline 'seconds' from now into '*ts'. Returns ts, or NULL when
** seconds < 0 or NaN (no deadline). Beyond ~31 years it is clamped. */
struct timespec *gl_deadline(struct timespec *ts, double seconds);

/* True when the deadline (NULL: none) has passed. */
int gl_expired(const struct timespec *deadline);

/* Milliseconds for one poll(): a slice, or less when the deadline comes
** first (rounded up, so the deadline has passed when poll times out);
** 0 when it has passed already. */
int gl_slice_ms(const struct timespec *deadline);

/* One slice from now on CLOCK_REALTIME, the only clock that
** pthread_mutex_timedlock knows. */
void gl_realtime_slice(struct timespec *ts);

#endif

/*
** clock.c — clocks and deadlines. See clock.h.
*/
#include <math.h>

#include "clock.h"

uint64_t gl_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return gl_ts_ns(&ts);
}

struct timespec *gl_deadline(struct timespec *ts, double seconds) {
  if (seconds < 0 || isnan(seconds)) return NULL;
  if (seconds > 1e9) seconds = 1e9;  /* ~31 years: "forever" without overflow */
  *ts = gl_ns_ts(gl_now_ns() + (uint64_t)(seconds * 1e9));
  return ts;
}

int gl_expired(const struct timespec *deadline) {
  return deadline != NULL && gl_now_ns() >= gl_ts_ns(deadline);
}

int gl_slice_ms(const struct timespec *deadline) {
  if (deadline == NULL) return GL_SLICE_MS;
  uint64_t d = gl_ts_ns(deadline), now = gl_now_ns();
  if (now >= d) return 0;
  uint64_t ms = (d - now) / 1000000ull + 1;
  return ms < (uint64_t)GL_SLICE_MS ? (int)ms : GL_SLICE_MS;
}

void gl_realtime_slice(struct timespec *ts) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  *ts = gl_ns_ts(gl_ts_ns(&now) + GL_SLICE_NS);
}

/*
** spin.c — bounded spins, for a wait whose other side is running and
** answers within microseconds (start() waiting for "started", join() for
** a short thread's end, a parked pool thread for its next work, a new
** thread for its creator to let go of the GIL).
**
** Why: sleeping on a condition costs a futex wait and, for the other
** side, a cross-core wake-up: 16-35 us each on the 2-core VM gillua was
** measured on, four of them per start + join of an empty thread. A
** spinner runs a pause instruction and reads the clock every 64 rounds;
** after 'ns' it gives up and the caller sleeps the ordinary way, so a
** spin never adds more than 'ns' of CPU to a wait.
**
** A spin only pays when the other side runs on another core. When both
** share one core (the other core busy with another program) the spinner
** holds the core the answer needs: measured, start + join went from 7 us
** to 40-250 us. So each place that spins keeps count (GLSpin): after
** MAX_MISSES spins that ran out of time (a success takes one back) it
** stops spinning and only tries again every RETRY_EVERY-th wait; a try
** that succeeds makes it spin every time again, and one miss then stops
** it again (a core busy now and then costs one spin, not three). No sched_yield in the loop: with a
** CPU-bound program on the same core it hands the core away for a whole
** scheduler slice (measured: 1-3 ms per start).
**
** The counts are shared by every thread (relaxed atomics): they are a
** hint, and a stale one costs one spin too many or too few.
*/
#include "block.h"
#include "spin.h"

#define MAX_MISSES 3
#define RETRY_EVERY 128u

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Whether this wait spins at all. */
static int should_spin(GLSpin *site) {
  if (atomic_load_explicit(&site->misses, memory_order_relaxed) < MAX_MISSES) return 1;
  return atomic_fetch_add_explicit(&site->skipped, 1, memory_order_relaxed) % RETRY_EVERY == 0;
}

static void record(GLSpin *site, int answered) {
  int m = atomic_load_explicit(&site->misses, memory_order_relaxed);
  if (answered ? m > 0 : m < MAX_MISSES)
    atomic_store_explicit(&site->misses, m + (answered ? -1 : 1), memory_order_relaxed);
}

/* Every 64 rounds a look at the clock; returns 1 when time is up. */
static int out_of_time(int i, uint64_t until) {
  cpu_relax();
  return (i & 63) == 0 && gl_now_ns() > until;
}

int gl_spin_for_flag(GLSpin *site, atomic_int *flag, uint64_t ns) {
  int v = atomic_load(flag);
  if (v || !should_spin(site)) return v;
  uint64_t until = gl_now_ns() + ns;
  for (int i = 1; !(v = atomic_load(flag)); i++)
    if (out_of_time(i, until)) break;
  record(site, v != 0);
  return v;
}

int gl_spin_for_block(GLSpin *site, unsigned long seen, uint64_t ns) {
  if (gl_block_epoch() != seen) return 1;
  if (!should_spin(site)) return 0;
  uint64_t until = gl_now_ns() + ns;
  int moved = 0;
  for (int i = 1; !(moved = gl_block_epoch() != seen); i++)
    if (out_of_time(i, until)) break;
  record(site, moved);
  return moved;
}

/*
** spin.h — bounded, self-tuning spins before a sleep (see spin.c).
*/
#ifndef spin_h
#define spin_h

#include <stdatomic.h>
#include <stdint.h>

/* One per place that spins (a static): how its recent spins went. */
typedef struct GLSpin {
  atomic_int misses;       /* spins in a row that ran out of time */
  atomic_uint skipped;     /* waits that did not spin since the last try */
} GLSpin;
#define GL_SPIN_INIT { 0, 0 }

/* Spins up to 'ns' until *flag is non-zero; returns its value (0: the
** caller sleeps the ordinary way). */
int gl_spin_for_flag(GLSpin *site, atomic_int *flag, uint64_t ns);

/* Spins up to 'ns' until gl_block_epoch() moves past 'seen' (a GIL
** holder let go of the GIL around a blocking call); returns 1 if it did. */
int gl_spin_for_block(GLSpin *site, unsigned long seen, uint64_t ns);

#endif

/*
** mp_arena.h — what mp_arena.c (the allocator) and mp_shm.c (references,
** handles, locks) share about the arena's blocks. Not for other files:
** they use mp.h.
*/
#ifndef mp_arena_h
#define mp_arena_h

#include <pthread.h>
#include <stdint.h>

#define BLOCK_MAGIC  0x424c4b21u          /* live block */
#define FREE_MAGIC   0x46524545u          /* "FREE": free, on a list */

/* Every block starts with this head; the data follows (16-aligned).
** size and prev_size are the allocator's (arena mutex); refs is atomic,
** shared by every process; magic is written under the arena mutex and
** read by anyone (acquire) to validate a pointer. */
typedef struct BlockHead {
  uint64_t size;          /* data bytes, multiple of 16 */
  uint64_t prev_size;     /* data bytes of the block just before, 0 for the first */
  _Atomic int32_t refs;
  uint32_t magic;
  uint64_t gen;           /* set when it goes live, never twice the same
                          ** (a ledger entry names a block by offset AND gen) */
} BlockHead;

extern unsigned char *mp_arena_base;      /* NULL until mapped */
extern uint64_t mp_arena_size;            /* bytes mapped */

void mp_arena_corrupt(const char *what, uint64_t off) __attribute__((noreturn));
/* ThreadSanitizer's view of the arena's cross-process ordering (mp_shm.c). */
void mp_tsan_adopt(void);
/* Tests only (NULL otherwise): called with the arena lock held at each
** step below; a test kills the process there to check the rebuild. */
enum {
  ST_TAKEN, ST_REST_HEAD, ST_SPLIT, ST_CARVE_HEAD, ST_CARVED,   /* alloc */
  ST_BEFORE_LIVE, ST_LIVE,
  ST_FREED, ST_NEXT_UNLISTED, ST_NEXT_MERGED, ST_PREV_UNLISTED,  /* free */
  ST_PREV_MERGED, ST_TOP_LOWERED, ST_COUNT
};
extern void (*mp_arena_step_hook)(int step);
/* The arena mutex (tests make it look abandoned). */
pthread_mutex_t *mp_arena_mutex(void);

#endif

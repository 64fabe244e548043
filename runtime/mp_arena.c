/*
** mp_arena.c — the allocator of the shared-memory arena (see mp.h): a
** boundary-tag heap with segregated free lists, shared by every process
** of the program.
**
** Layout: an ArenaHead at offset 0, then blocks laid end to end from
** FIRST up to 'top'; above top is untouched space (the wilderness). A
** block is a 32-byte BlockHead followed by its data; sizes are multiples
** of 16 (so data stays 16-aligned), at least MIN_DATA. Each head holds
** its own size AND the size of the block just before it (prev_size), so
** both neighbours of a block are found in O(1):
**     next = off + HEAD + size        prev = off - HEAD - prev_size
**
** Invariants (all under head->mu):
**   I1. Walking from FIRST by size lands exactly on top; every head on
**       the way says BLOCK_MAGIC (live) or FREE_MAGIC (free).
**   I2. No two free blocks are neighbours, and the last block before top
**       is live: a freed block merges at once with free neighbours, and
**       into the wilderness when it ends at top. So after everything is
**       freed, top == FIRST and the whole arena is one piece again.
**   I3. Every free block is on exactly one list, bins[bin_of(size)]
**       (bin k holds sizes in [2^(k+5), 2^(k+6))), doubly linked through
**       its data: next, prev and a check word; 'nonempty' has bit k set
**       iff bins[k] != 0. Free blocks up to POISON_MAX bytes are filled
**       with POISON after the link words.
**   I4. 'used' is the sum of HEAD + size over live blocks.
** Allocation takes the first block that fits from the request's own bin
** (bounded search), else the first block of the next non-empty bin, else
** carves from top, else searches its own bin to the end; a block found is
** split when the rest can hold a block.
**
** Processes die. The arena lock is robust: when its holder was killed
** (SIGKILL) in the middle of an operation, the next locker gets
** EOWNERDEAD and rebuilds everything derivable (lists, bitmap, prev_size,
** 'used', merges of neighbours) by walking the heads (rebuild). That walk
** is valid at every instant because each step changes the walk by ONE
** aligned 8-byte store: a split writes the new remainder's head inside
** the old block's data first and then shrinks the old size; a merge only
** grows the surviving block's size; carving writes the new head above
** top before moving top; the wilderness takes a block by lowering top.
** The only loss a dead holder can cause is the block it was allocating
** when it died (marked live, never returned): it stays allocated. Blocks
** a dead process owned are given back by the per-process ledger
** (mp_ledger.c), not here.
**
** Defences: the arena is shared by every process, so one buggy writer
** corrupts it for all. Before a link is followed, the block it names is
** validated (inside the heap, aligned, FREE_MAGIC, check word, poison
** intact): a double free, a refcount below zero or a write into a freed
** block aborts at once with a message naming it (arena_corrupt).
*/
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block.h"
#include "mp.h"
#include "mp_arena.h"

#define ARENA_MAGIC  0x474c4d50u          /* "GLMP" */
#define LINK_KEY     0x5bd1e9955bd1e995ull
#define POISON       0xdb
#define POISON_MAX   1024                 /* free blocks up to this size are poisoned */
#define MIN_DATA     32                   /* room for the three link words */
#define LINK_WORDS   3
#define NBINS        26                   /* 2^5 .. 2^30 */
#define BIN_SEARCH   32                   /* blocks looked at in the request's own bin */

typedef struct ArenaHead {
  uint32_t magic;
  pthread_mutex_t mu;     /* guards everything below */
  uint64_t top;           /* end of the heap (offset) */
  uint64_t last;          /* offset of the last block before top, 0 = none */
  uint64_t used;          /* I4 */
  uint64_t nblocks;       /* live blocks */
  uint32_t nonempty;      /* bit k: bins[k] != 0 */
  uint64_t bins[NBINS];   /* I3 */
  uint64_t secret;        /* random, set once: marks genuine object references */
  uint64_t gen;           /* the last generation given to a block */
} ArenaHead;

#define FIRST  (((uint64_t)sizeof(ArenaHead) + 63) & ~(uint64_t)63)
#define HEAD   ((uint64_t)sizeof(BlockHead))

unsigned char *mp_arena_base;             /* same address in every process of the tree */
uint64_t mp_arena_size = (uint64_t)512 << 20;   /* set once, before the mapping */
static unsigned char poison[POISON_MAX];
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static char arena_err[128];

/* Tests: the steps at which a process may die holding the lock. */
void (*mp_arena_step_hook)(int step);
#define STEP(s) do { if (mp_arena_step_hook) mp_arena_step_hook(s); } while (0)

static ArenaHead *H(void) { return (ArenaHead *)mp_arena_base; }
static BlockHead *at(uint64_t off) { return (BlockHead *)(mp_arena_base + off); }
static uint64_t *links(uint64_t off) { return (uint64_t *)(mp_arena_base + off + HEAD); }

/* GILLUA_ARENA_MB overrides the size (tests fill small arenas). */
static int arena_size_from_env(void) {
  const char *s = getenv("GILLUA_ARENA_MB");
  if (s == NULL || *s == '\0') return 0;
  char *end;
  long long mb = strtoll(s, &end, 10);
  if (*end != '\0' || mb < 1 || mb > 65536) {
    snprintf(arena_err, sizeof arena_err,
             "GILLUA_ARENA_MB='%.20s': expected a whole number of MiB from 1 to 65536", s);
    return -1;
  }
  mp_arena_size = (uint64_t)mb << 20;
  return 0;
}

static void arena_map(void) {
  if (arena_size_from_env() != 0) return;
  void *p = mmap(NULL, mp_arena_size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    snprintf(arena_err, sizeof arena_err, "cannot map shared memory (%llu MiB): %s",
             (unsigned long long)(mp_arena_size >> 20), strerror(errno));
    return;
  }
  memset(poison, POISON, sizeof poison);
  ArenaHead *h = (ArenaHead *)p;
  h->magic = ARENA_MAGIC;
  mp_mutex_init(&h->mu, PTHREAD_MUTEX_NORMAL);
  h->top = FIRST;
  h->secret = (uint64_t)gl_now_ns() * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^
              (uint64_t)(uintptr_t)p;
  mp_arena_base = (unsigned char *)p;
}

int mp_shm_init(char *err, size_t errlen) {
  pthread_once(&arena_once, arena_map);
  if (mp_arena_base) return 0;
  if (err) snprintf(err, errlen, "%s", arena_err);
  return -1;
}

void mp_arena_corrupt(const char *what, uint64_t off) {
  fprintf(stderr, "gillua: shared-memory arena corrupted (pid %d): %s (block at offset %#llx)\n",
          (int)getpid(), what, (unsigned long long)off);
  abort();
}

static int bin_of(uint64_t size) {
  int b = 63 - __builtin_clzll(size) - 5;
  return b < NBINS ? b : NBINS - 1;
}

static uint64_t check_word(uint64_t off) {
  uint64_t *w = links(off);
  return w[0] ^ (w[1] << 17 | w[1] >> 47) ^ LINK_KEY ^ off;
}

/* ---- free lists (mu held) ---- */

/* Validates a block named by a free-list link before it is used. */
static void check_free(ArenaHead *h, uint64_t off) {
  if (off < FIRST || off % 16 || off >= h->top || h->top - off < HEAD + MIN_DATA)
    mp_arena_corrupt("a free-list link points outside the heap", off);
  BlockHead *b = at(off);
  if (b->magic == BLOCK_MAGIC)
    mp_arena_corrupt("a block on a free list is in use (freed twice, or reused while listed)", off);
  if (b->magic != FREE_MAGIC) mp_arena_corrupt("a free-list link points to no block", off);
  if (b->size < MIN_DATA || b->size % 16 || h->top - off - HEAD < b->size)
    mp_arena_corrupt("a free block has a wrong size", off);
  if (links(off)[2] != check_word(off))
    mp_arena_corrupt("a freed block was written to (use after free): its links are damaged", off);
  if (b->size <= POISON_MAX &&
      memcmp(links(off) + LINK_WORDS, poison, b->size - 8 * LINK_WORDS) != 0)
    mp_arena_corrupt("a freed block was written to (use after free)", off);
}

static void set_links(uint64_t off, uint64_t next, uint64_t prev) {
  uint64_t *w = links(off);
  w[0] = next;
  w[1] = prev;
  w[2] = check_word(off);
}

/* Puts the free block at off (head FREE_MAGIC, size set) on its list. */
static void list_insert(ArenaHead *h, uint64_t off) {
  uint64_t size = at(off)->size;
  int k = bin_of(size);
  if (size <= POISON_MAX) memset(links(off) + LINK_WORDS, POISON, size - 8 * LINK_WORDS);
  uint64_t first = h->bins[k];
  set_links(off, first, 0);
  if (first) {
    check_free(h, first);
    set_links(first, links(first)[0], off);
  }
  h->bins[k] = off;
  h->nonempty |= 1u << k;
}

static void list_remove(ArenaHead *h, uint64_t off) {
  check_free(h, off);
  int k = bin_of(at(off)->size);
  uint64_t next = links(off)[0], prev = links(off)[1];
  if (prev) {
    check_free(h, prev);
    set_links(prev, next, links(prev)[1]);
  } else {
    if (h->bins[k] != off) mp_arena_corrupt("a free block is missing from its list", off);
    h->bins[k] = next;
    if (next == 0) h->nonempty &= ~(1u << k);
  }
  if (next) {
    check_free(h, next);
    set_links(next, links(next)[0], prev);
  }
}

/* ---- rebuild after a holder died ---- */

static void rebuild(ArenaHead *h) {
  memset(h->bins, 0, sizeof h->bins);
  h->nonempty = 0;
  h->used = h->nblocks = 0;
  h->last = 0;
  uint64_t off = FIRST, prev_size = 0;
  while (off < h->top) {
    BlockHead *b = at(off);
    if ((b->magic != BLOCK_MAGIC && b->magic != FREE_MAGIC) || b->size < MIN_DATA ||
        b->size % 16 || b->size > h->top - off - HEAD)
      mp_arena_corrupt("the heap cannot be walked after a process died holding its lock", off);
    b->prev_size = prev_size;
    if (b->magic == FREE_MAGIC && h->last && at(h->last)->magic == FREE_MAGIC) {
      at(h->last)->size += HEAD + b->size;            /* merge into the free one before */
      off = h->last + HEAD + at(h->last)->size;
      prev_size = at(h->last)->size;
      continue;
    }
    if (b->magic == BLOCK_MAGIC) { h->used += HEAD + b->size; h->nblocks++; }
    h->last = off;
    prev_size = b->size;
    off += HEAD + b->size;
  }
  if (off != h->top) mp_arena_corrupt("the heap does not end at its top", off);
  if (h->last && at(h->last)->magic == FREE_MAGIC) {  /* I2: give it to the wilderness */
    h->top = h->last;
    h->last = h->top == FIRST ? 0 : h->top - HEAD - at(h->top)->prev_size;
  }
  for (off = FIRST; off < h->top; off += HEAD + at(off)->size)
    if (at(off)->magic == FREE_MAGIC) list_insert(h, off);
}

static ArenaHead *arena_lock(void) {
  if (mp_arena_base == NULL && mp_shm_init(NULL, 0) != 0) return NULL;
  ArenaHead *h = H();
  if (mp_lock(&h->mu)) rebuild(h);
  mp_tsan_adopt();
  return h;
}

/* ---- allocation ---- */

static uint64_t find_fit(ArenaHead *h, uint64_t need) {
  int k = bin_of(need);
  uint64_t off = h->bins[k];
  for (int i = 0; off && i < BIN_SEARCH; i++) {
    check_free(h, off);
    if (at(off)->size >= need) return off;
    off = links(off)[0];
  }
  uint32_t above = k + 1 < NBINS ? h->nonempty & ~((2u << k) - 1) : 0;
  return above ? h->bins[__builtin_ctz(above)] : 0;
}

/* Last resort before failing: the whole of the request's own bin. */
static uint64_t find_fit_all(ArenaHead *h, uint64_t need) {
  for (uint64_t off = h->bins[bin_of(need)]; off; off = links(off)[0]) {
    check_free(h, off);
    if (at(off)->size >= need) return off;
  }
  return 0;
}

/* Sets the prev_size of the block after off (when there is one). */
static void tell_next(ArenaHead *h, uint64_t off) {
  uint64_t next = off + HEAD + at(off)->size;
  if (next < h->top) at(next)->prev_size = at(off)->size;
  else h->last = off;
}

/* Takes the free block at off for 'need' bytes, splitting off the rest. */
static void take_free(ArenaHead *h, uint64_t off, uint64_t need) {
  list_remove(h, off);
  STEP(ST_TAKEN);
  BlockHead *b = at(off);
  if (b->size - need >= HEAD + MIN_DATA) {
    uint64_t rest = off + HEAD + need;
    BlockHead *r = at(rest);
    r->size = b->size - need - HEAD;
    r->prev_size = need;
    r->magic = FREE_MAGIC;
    STEP(ST_REST_HEAD);
    b->size = need;                    /* the one store that makes the split visible */
    STEP(ST_SPLIT);
    tell_next(h, rest);
    list_insert(h, rest);
  }
}

static BlockHead *alloc_block(size_t n, void (*owned)(void *));
static void mp_shm_free_block(void *p);

void *mp_shm_alloc(size_t n) {
  BlockHead *b = alloc_block(n, NULL);
  if (b == NULL) return NULL;
  memset(b + 1, 0, n);
  return b + 1;
}

/* Not zeroed, and in the ledger before anything slow happens: a process
** killed while filling a big block gives it back (mp_ledger.c). */
void *mp_shm_alloc_owned(size_t n, void (*release)(void *)) {
  BlockHead *b = alloc_block(n, release ? release : mp_shm_decref);
  return b ? b + 1 : NULL;
}

/* 'owned' (not NULL): the block enters this process's ledger under the
** lock, just before it goes live (an entry on a block that a rebuild then
** finds free, or that was reused since, is ignored: the reaper checks the
** block is live and of the entry's generation), its first 16 bytes zeroed
** so that 'owned' can read them (lock order: arena, then ledger). */
static BlockHead *alloc_block(size_t n, void (*owned)(void *)) {
  if (n > mp_arena_size) return NULL;
  uint64_t need = n < MIN_DATA ? MIN_DATA : ((uint64_t)n + 15) & ~(uint64_t)15;
  ArenaHead *h = arena_lock();
  if (h == NULL) return NULL;
  uint64_t off = find_fit(h, need);
  if (off == 0 && h->top + HEAD + need > mp_arena_size) off = find_fit_all(h, need);
  if (off) take_free(h, off, need);
  else if (h->top + HEAD + need <= mp_arena_size) {
    off = h->top;
    BlockHead *b = at(off);
    b->size = need;
    b->prev_size = h->last ? at(h->last)->size : 0;
    b->magic = FREE_MAGIC;            /* not live until the end: see rebuild */
    STEP(ST_CARVE_HEAD);
    h->top += HEAD + need;
    STEP(ST_CARVED);
    h->last = off;
  }
  BlockHead *b = off ? at(off) : NULL;
  if (b) {
    h->used += HEAD + b->size;
    h->nblocks++;
    atomic_store(&b->refs, 1);
    b->gen = ++h->gen;
    if (owned) {                       /* the entry first: no death between */
      memset(b + 1, 0, 16);            /* (MIN_DATA >= 16) */
      mp_ledger_add_fresh(b + 1, owned);   /* names the block by gen too */
    }
    STEP(ST_BEFORE_LIVE);
    __atomic_store_n(&b->magic, BLOCK_MAGIC, __ATOMIC_RELEASE);
    STEP(ST_LIVE);
  }
  mp_unlock(&h->mu);
  return b;
}

/* Called once, after the last reference was dropped (mp_shm_unref). The
** magic is checked and changed under mu, so of two frees of one block the
** second always sees FREE_MAGIC (or BLOCK_MAGIC again once reused: then
** the refcount check of the second unref has already caught it). */
void mp_shm_free(void *p) {
  mp_shm_free_block(p);
  mp_ledger_freed(p);                           /* after: see mp_ledger.c */
}

static void mp_shm_free_block(void *p) {
  uint64_t off = mp_shm_off((BlockHead *)p - 1);
  ArenaHead *h = arena_lock();
  BlockHead *b = at(off);
  uint32_t magic = __atomic_load_n(&b->magic, __ATOMIC_RELAXED);
  if (magic == FREE_MAGIC) mp_arena_corrupt("block freed twice", off);
  if (magic != BLOCK_MAGIC) mp_arena_corrupt("freeing something that is not a block of the arena", off);
  if (atomic_load(&b->refs) != 0) mp_arena_corrupt("block freed while still referenced", off);
  h->used -= HEAD + b->size;
  h->nblocks--;
  __atomic_store_n(&b->magic, FREE_MAGIC, __ATOMIC_RELEASE);
  STEP(ST_FREED);
  uint64_t next = off + HEAD + b->size;
  if (next < h->top && at(next)->magic == FREE_MAGIC) {
    list_remove(h, next);
    STEP(ST_NEXT_UNLISTED);
    b->size += HEAD + at(next)->size;
    STEP(ST_NEXT_MERGED);
  }
  if (off > FIRST && at(off - HEAD - b->prev_size)->magic == FREE_MAGIC) {
    uint64_t prev = off - HEAD - b->prev_size;
    list_remove(h, prev);
    STEP(ST_PREV_UNLISTED);
    at(prev)->size += HEAD + b->size;
    STEP(ST_PREV_MERGED);
    off = prev;
    b = at(off);
  }
  if (off + HEAD + b->size == h->top) {        /* I2: back to the wilderness */
    h->top = off;
    STEP(ST_TOP_LOWERED);
    h->last = off == FIRST ? 0 : off - HEAD - b->prev_size;
  } else {
    tell_next(h, off);
    list_insert(h, off);
  }
  mp_unlock(&h->mu);
}

uint64_t mp_shm_gen(const void *p) { return ((const BlockHead *)p - 1)->gen; }

uint64_t mp_shm_secret(void) {
  if (mp_arena_base == NULL && mp_shm_init(NULL, 0) != 0) return 0;
  return H()->secret;
}

void mp_shm_stats(MpShmStats *st) {
  memset(st, 0, sizeof *st);
  ArenaHead *h = arena_lock();
  if (h == NULL) return;
  st->size = mp_arena_size - FIRST;
  st->used = h->used;
  st->blocks = h->nblocks;
  st->largest_free = mp_arena_size - h->top >= HEAD ? mp_arena_size - h->top - HEAD : 0;
  for (int k = 0; k < NBINS; k++)
    for (uint64_t off = h->bins[k]; off; off = links(off)[0]) {
      st->free_blocks++;
      if (at(off)->size > st->largest_free) st->largest_free = at(off)->size;
    }
  st->free = st->size - st->used;
  mp_unlock(&h->mu);
}

size_t mp_shm_used(void) {
  MpShmStats st;
  mp_shm_stats(&st);
  return st.used;
}

/* For tests: lets the arena lock look abandoned by a dead holder. */
pthread_mutex_t *mp_arena_mutex(void) {
  return mp_arena_base ? &H()->mu : NULL;
}

/*
** mp_shm.c — the shared-memory arena of the process modules, robust
** process-shared mutexes and futex waits. See mp.h for the design.
**
** Arena layout: an ArenaHead at offset 0, then blocks. A block is a
** 16-byte BlockHead followed by its data; sizes are rounded up to a size
** class (powers of two from 32 bytes to 1 MiB) or, above that, to whole
** pages. Freed blocks go on their class's free list (LIFO) and are reused
** for the same class; large blocks are reused first-fit. New space comes
** from a bump pointer. All allocator fields are guarded by head->mu (a
** robust, process-shared mutex). A block's refcount is atomic and shared
** by every process (see MpRef in mp.h).
**
** Defences: the arena is shared by every process of the program, so one
** buggy writer corrupts it for all. A live block's head says BLOCK_MAGIC,
** a free one FREE_MAGIC (set under mu). A free block's data starts with
** its free-list link and a check word (link ^ LINK_KEY ^ own offset), and
** small free blocks are filled with POISON. Before a link is followed,
** the block it names is validated (inside the used part of the arena,
** aligned, FREE_MAGIC, right size, check word, poison intact): a double
** free, a refcount going below zero or a write into a freed block aborts
** at once with a message naming it, instead of a wild read much later.
**
** Limits (documented in docs/processes.md): the arena has a fixed size
** (ARENA_SIZE, reserved lazily: only touched pages use memory); a process
** that was forked BEFORE the arena was mapped does not share it.
*/
#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <lauxlib.h>

#include "block.h"
#include "mp.h"

/*
** ThreadSanitizer sees the synchronisation of one process only. When a
** thread here writes an arena block (under a process-shared mutex, or
** holding a reference) and another process frees it, after which another
** thread here gets the same memory back (a new block from the free list,
** or a block another process allocated and sent us by offset), the real
** ordering runs through the other process and TSan reports a false race.
** It is modelled by one per-process token: publishing (mp_unlock, dropping
** a reference) releases it; adopting arena memory (alloc from a free list,
** free, offset -> pointer) acquires it. No code at all in other builds.
*/
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
static char tsan_token;
#define TSAN_PUBLISH()  __tsan_release(&tsan_token)
#define TSAN_ADOPT()    __tsan_acquire(&tsan_token)
#else
#define TSAN_PUBLISH()  ((void)0)
#define TSAN_ADOPT()    ((void)0)
#endif

#define ARENA_SIZE   ((size_t)512 << 20)
#define ARENA_MAGIC  0x474c4d50u          /* "GLMP" */
#define BLOCK_MAGIC  0x424c4b21u          /* live block */
#define FREE_MAGIC   0x46524545u          /* "FREE": on a free list */
#define LINK_KEY     0x5bd1e9955bd1e995ull
#define POISON       0xdb                 /* fills small free blocks */
#define POISON_MAX   1024                 /* blocks up to this size are poisoned */
#define MIN_SHIFT    5                    /* 32 bytes */
#define MAX_SHIFT    20                   /* 1 MiB: larger blocks are "large" */
#define NCLASSES     (MAX_SHIFT - MIN_SHIFT + 1)

typedef struct BlockHead {
  uint64_t size;          /* usable bytes (the class size) */
  _Atomic int32_t refs;   /* shared by all processes */
  uint32_t magic;
} BlockHead;

typedef struct ArenaHead {
  uint32_t magic;
  pthread_mutex_t mu;     /* guards everything below */
  uint64_t top;           /* bump pointer (offset) */
  uint64_t used;          /* bytes handed out (with heads) */
  uint64_t bins[NCLASSES];/* free lists: offset of a BlockHead, next in data */
  uint64_t large;         /* free list of large blocks */
  uint64_t secret;        /* random, set once: marks genuine object references */
} ArenaHead;

static unsigned char *arena;              /* same address in every process of the tree */
static unsigned char poison[POISON_MAX];  /* POISON bytes, set with the mapping */
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static char arena_err[128];

static void arena_map(void) {
  void *p = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    snprintf(arena_err, sizeof arena_err, "cannot map shared memory (%zu MiB): %s",
             ARENA_SIZE >> 20, strerror(errno));
    return;
  }
  memset(poison, POISON, sizeof poison);
  ArenaHead *h = (ArenaHead *)p;
  h->magic = ARENA_MAGIC;
  mp_mutex_init(&h->mu, PTHREAD_MUTEX_NORMAL);
  h->top = (sizeof(ArenaHead) + 63) & ~(uint64_t)63;
  h->secret = (uint64_t)gl_now_ns() * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)p;
  arena = (unsigned char *)p;
}

int mp_shm_init(char *err, size_t errlen) {
  pthread_once(&arena_once, arena_map);
  if (arena) return 0;
  if (err) snprintf(err, errlen, "%s", arena_err);
  return -1;
}

static ArenaHead *head(void) {
  if (arena == NULL && mp_shm_init(NULL, 0) != 0) return NULL;
  return (ArenaHead *)arena;
}

static int size_class(size_t n) {
  int s = MIN_SHIFT;
  while (s <= MAX_SHIFT && ((size_t)1 << s) < n) s++;
  return s <= MAX_SHIFT ? s - MIN_SHIFT : -1;
}

static uint64_t *next_of(uint64_t off) {     /* free-list link inside the data */
  return (uint64_t *)(arena + off + sizeof(BlockHead));
}

static void arena_corrupt(const char *what, uint64_t off) __attribute__((noreturn));
static void arena_corrupt(const char *what, uint64_t off) {
  fprintf(stderr, "gillua: shared-memory arena corrupted (pid %d): %s (block at offset %#llx)\n",
          (int)getpid(), what, (unsigned long long)off);
  abort();
}

/* Puts the block at off (head already FREE_MAGIC) in front of *list. mu held. */
static void push_free(uint64_t *list, uint64_t off, uint64_t size) {
  if (size <= POISON_MAX) memset(arena + off + sizeof(BlockHead), POISON, size);
  uint64_t *w = next_of(off);
  w[0] = *list;
  w[1] = *list ^ LINK_KEY ^ off;
  *list = off;
}

/* Checks that off (taken from a free list) names an intact free block of
** 'size' bytes (0: any large size) before anything follows its link. mu held. */
static void check_free(ArenaHead *h, uint64_t off, uint64_t size) {
  uint64_t first = (sizeof(ArenaHead) + 63) & ~(uint64_t)63;
  if (off < first || off % 16 || off >= h->top || h->top - off < sizeof(BlockHead) + 32)
    arena_corrupt("a free-list link points outside the allocated arena", off);
  BlockHead *b = (BlockHead *)(arena + off);
  if (b->magic == BLOCK_MAGIC)
    arena_corrupt("a block on a free list is in use (freed twice, or reused while listed)", off);
  if (b->magic != FREE_MAGIC) arena_corrupt("a free-list link points to no block", off);
  if (size ? b->size != size : (b->size <= ((uint64_t)1 << MAX_SHIFT) || b->size % 4096))
    arena_corrupt("a free block has the wrong size", off);
  if (h->top - off - sizeof(BlockHead) < b->size)
    arena_corrupt("a free block runs past the allocated arena", off);
  uint64_t *w = next_of(off);
  if (w[1] != (w[0] ^ LINK_KEY ^ off))
    arena_corrupt("a freed block was written to (use after free): its free-list link is damaged", off);
  if (b->size <= POISON_MAX && memcmp(w + 2, poison, b->size - 16) != 0)
    arena_corrupt("a freed block was written to (use after free)", off);
}

void *mp_shm_alloc(size_t n) {
  ArenaHead *h = head();
  if (h == NULL || n > ARENA_SIZE / 2) return NULL;
  int cls = size_class(n);
  uint64_t size = cls >= 0 ? (uint64_t)1 << (cls + MIN_SHIFT)
                           : ((uint64_t)n + 4095) & ~(uint64_t)4095;
  uint64_t off = 0;
  mp_lock(&h->mu);
  TSAN_ADOPT();
  if (cls >= 0 && h->bins[cls]) {
    off = h->bins[cls];
    check_free(h, off, size);
    h->bins[cls] = *next_of(off);
  } else if (cls < 0) {                        /* first fit among large blocks */
    uint64_t prev = 0, cur = h->large;
    while (cur) {
      check_free(h, cur, 0);
      if (((BlockHead *)(arena + cur))->size >= size) break;
      prev = cur;
      cur = *next_of(cur);
    }
    if (cur) {
      uint64_t next = *next_of(cur);
      if (prev) {                              /* relink, with the check word */
        next_of(prev)[0] = next;
        next_of(prev)[1] = next ^ LINK_KEY ^ prev;
      } else h->large = next;
      off = cur;
      size = ((BlockHead *)(arena + off))->size;
    }
  }
  if (off == 0 && h->top + sizeof(BlockHead) + size <= ARENA_SIZE) {
    off = h->top;
    h->top += sizeof(BlockHead) + size;
  }
  if (off) h->used += sizeof(BlockHead) + size;
  mp_unlock(&h->mu);
  if (off == 0) return NULL;
  BlockHead *b = (BlockHead *)(arena + off);
  b->size = size;
  atomic_store(&b->refs, 1);
  __atomic_store_n(&b->magic, BLOCK_MAGIC, __ATOMIC_RELEASE);
  void *data = b + 1;
  memset(data, 0, n < size ? n : size);
  return data;
}

void *mp_shm_alloc_or_raise(lua_State *L, size_t n, const char *what) {
  char err[160];
  if (mp_shm_init(err, sizeof err) != 0) luaL_error(L, "%s: %s", what, err);
  void *p = mp_shm_alloc(n);
  if (p == NULL)
    luaL_error(L, "%s: shared memory exhausted (%zu bytes requested, %zu MiB arena)",
               what, n, ARENA_SIZE >> 20);
  return p;
}

static BlockHead *block_of(void *p) {
  BlockHead *b = (BlockHead *)p - 1;
  uint32_t magic = __atomic_load_n(&b->magic, __ATOMIC_ACQUIRE);
  if (magic != BLOCK_MAGIC)
    arena_corrupt(magic == FREE_MAGIC ? "use of a freed block (a reference was dropped too often)"
                                      : "not a block of the arena", mp_shm_off(b));
  return b;
}

uint64_t mp_shm_secret(void) {
  ArenaHead *h = head();
  return h ? h->secret : 0;
}

/* The live block whose data starts at offset off, or NULL. */
void *mp_shm_block_at(uint64_t off) {
  if (arena == NULL || off < sizeof(ArenaHead) + sizeof(BlockHead) || off >= ARENA_SIZE || off % 16)
    return NULL;
  TSAN_ADOPT();
  BlockHead *b = (BlockHead *)(arena + off) - 1;
  if (__atomic_load_n(&b->magic, __ATOMIC_ACQUIRE) != BLOCK_MAGIC || atomic_load(&b->refs) <= 0)
    return NULL;
  return arena + off;
}

void mp_shm_incref(void *p) {
  BlockHead *b = block_of(p);
  if (atomic_fetch_add(&b->refs, 1) <= 0)
    arena_corrupt("reference taken on a block whose last reference was dropped", mp_shm_off(b));
}

int mp_shm_unref(void *p) {
  BlockHead *b = block_of(p);
  TSAN_PUBLISH();
  int32_t was = atomic_fetch_sub(&b->refs, 1);
  if (was <= 0) arena_corrupt("reference dropped twice (count below zero)", mp_shm_off(b));
  return was == 1;
}

/* Called once, after the last reference was dropped (mp_shm_unref). The
** magic is checked and changed under mu, so of two frees of one block the
** second always sees FREE_MAGIC (or BLOCK_MAGIC again once reused: then
** the refcount check of the second unref has already caught it). */
void mp_shm_free(void *p) {
  BlockHead *b = (BlockHead *)p - 1;
  ArenaHead *h = head();
  uint64_t off = mp_shm_off(b);
  mp_lock(&h->mu);
  TSAN_ADOPT();
  uint32_t magic = __atomic_load_n(&b->magic, __ATOMIC_RELAXED);
  if (magic == FREE_MAGIC) arena_corrupt("block freed twice", off);
  if (magic != BLOCK_MAGIC) arena_corrupt("freeing something that is not a block of the arena", off);
  if (atomic_load(&b->refs) != 0) arena_corrupt("block freed while still referenced", off);
  int cls = b->size <= ((uint64_t)1 << MAX_SHIFT) ? size_class(b->size) : -1;
  h->used -= sizeof(BlockHead) + b->size;
  __atomic_store_n(&b->magic, FREE_MAGIC, __ATOMIC_RELEASE);
  push_free(cls >= 0 ? &h->bins[cls] : &h->large, off, b->size);
  mp_unlock(&h->mu);
}

void mp_shm_decref(void *p) {
  if (mp_shm_unref(p)) mp_shm_free(p);
}

uint64_t mp_shm_off(const void *p) {
  return p ? (uint64_t)((const unsigned char *)p - arena) : 0;
}

void *mp_shm_ptr(uint64_t off) {
  if (arena == NULL || off < sizeof(ArenaHead) || off >= ARENA_SIZE) return NULL;
  TSAN_ADOPT();
  return arena + off;
}

size_t mp_shm_used(void) {
  ArenaHead *h = head();
  if (h == NULL) return 0;
  mp_lock(&h->mu);
  size_t u = h->used;
  mp_unlock(&h->mu);
  return u;
}

/* ---- local handles ---- */

static MpRef *refs_head;
static pthread_mutex_t refs_mu = PTHREAD_MUTEX_INITIALIZER;   /* guards the list */

void mp_ref_init(MpRef *r, const RtType *t, void *shared) {
  rt_init(&r->rt, t);
  r->shared = shared;
  r->release = mp_shm_decref;
  r->forked = NULL;
  r->closing = NULL;
  pthread_mutex_lock(&refs_mu);
  r->prev = NULL;
  r->next = refs_head;
  if (refs_head) refs_head->prev = r;
  refs_head = r;
  pthread_mutex_unlock(&refs_mu);
}

void mp_ref_destroy(MpRef *r) {
  rt_unlink(&r->rt);
  pthread_mutex_lock(&refs_mu);
  if (r->prev) r->prev->next = r->next;
  else if (refs_head == r) refs_head = r->next;
  if (r->next) r->next->prev = r->prev;
  pthread_mutex_unlock(&refs_mu);
  if (r->shared) {
    if (r->closing) r->closing(r);
    r->release(r->shared);
  }
  free(r);
}

/* __eq for handles on arena objects: the same shared object, whichever
** local handle (get_lock() makes a new handle on an existing lock). */
int mp_ref_eq(lua_State *L) {
  RtObject *a = rt_test(L, 1), *b = rt_test(L, 2);
  int eq = a && b && a->type == b->type &&
           (a == b || ((MpRef *)a)->shared == ((MpRef *)b)->shared);
  lua_pushboolean(L, eq);
  return 1;
}

/* See mp.h: references for the child are taken in the parent. */
void mp_refs_fork_prepare(void) {
  pthread_mutex_lock(&refs_mu);
  for (MpRef *r = refs_head; r; r = r->next)
    if (r->shared) {
      mp_shm_incref(r->shared);
      if (r->forked) r->forked(r, 1);
    }
}

void mp_refs_fork_child(void) {
  pthread_mutex_unlock(&refs_mu);   /* the list is ours; taken in prepare, by this thread */
}

void mp_refs_fork_parent(pid_t pid) {
  if (pid < 0)
    for (MpRef *r = refs_head; r; r = r->next)
      if (r->shared) {
        if (r->forked) r->forked(r, -1);
        mp_shm_decref(r->shared);
      }
  pthread_mutex_unlock(&refs_mu);
}

/* Before a child's _exit: its handles go away without a GC. */
void mp_refs_release_all(void) {
  pthread_mutex_lock(&refs_mu);
  for (MpRef *r = refs_head; r; r = r->next)
    if (r->shared) {
      if (r->closing) r->closing(r);
      r->release(r->shared);
      r->shared = NULL;
    }
  pthread_mutex_unlock(&refs_mu);
}

/* ---- robust mutexes and futexes ---- */

void mp_mutex_init(pthread_mutex_t *mu, int type) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_settype(&a, type);
  pthread_mutex_init(mu, &a);
  pthread_mutexattr_destroy(&a);
}

int mp_lock(pthread_mutex_t *mu) {
  int rc = pthread_mutex_lock(mu);
  if (rc == EOWNERDEAD) {
    pthread_mutex_consistent(mu);
    return 1;
  }
  return 0;
}

void mp_unlock(pthread_mutex_t *mu) {
  TSAN_PUBLISH();
  pthread_mutex_unlock(mu);
}

int mp_futex_wait(uint32_t *word, uint32_t val, const struct timespec *deadline) {
  uint64_t slice = GL_SLICE_NS;
  if (deadline) {
    uint64_t d = gl_ts_ns(deadline);
    uint64_t now = gl_now_ns();
    if (now >= d) return ETIMEDOUT;
    if (d - now < slice) slice = d - now;
  }
  struct timespec rel = gl_ns_ts(slice);
  syscall(SYS_futex, word, FUTEX_WAIT, val, &rel, NULL, 0);
  return 0;
}

void mp_futex_wake(uint32_t *word, int n) {
  __atomic_fetch_add(word, 1, __ATOMIC_SEQ_CST);
  syscall(SYS_futex, word, FUTEX_WAKE, n < 0 ? 0x7fffffff : n, NULL, NULL, 0);
}

/*
** mp_shm.c — references to the shared-memory arena's blocks, the local
** handles that hold them, robust process-shared mutexes and futex waits.
** See mp.h for the design; the allocator itself is mp_arena.c, and what
** a killed process held is given back by mp_ledger.c.
**
** A block's refcount is atomic and shared by every process (see MpRef in
** mp.h); the last mp_shm_unref tells its caller to clean up and free.
** Misuse (a count going below zero, a freed block used) aborts at once
** with a message naming it (mp_arena_corrupt): the arena is shared by
** every process, and a wild write there would corrupt all of them.
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
#include "mp_arena.h"

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

#define arena mp_arena_base

void mp_tsan_adopt(void) { TSAN_ADOPT(); }

void *mp_shm_alloc_or_raise(lua_State *L, size_t n, const char *what) {
  char err[160];
  if (mp_shm_init(err, sizeof err) != 0) luaL_error(L, "%s: %s", what, err);
  void *p = mp_shm_alloc(n);
  if (p == NULL) mp_raise_exhausted(L, what, n);
  return p;
}

/* lua_pushfstring knows no %zu: sizes are formatted here. */
int mp_raise_exhausted(lua_State *L, const char *what, size_t n) {
  MpShmStats st;
  mp_shm_stats(&st);
  char msg[200];
  snprintf(msg, sizeof msg, "%s: shared memory exhausted (%zu bytes requested, "
           "%llu of %llu MiB in use, largest free piece %llu bytes)", what, n,
           (unsigned long long)(st.used >> 20), (unsigned long long)(mp_arena_size >> 20),
           (unsigned long long)st.largest_free);
  lua_pushstring(L, msg);
  return lua_error(L);
}

static BlockHead *block_of(void *p) {
  BlockHead *b = (BlockHead *)p - 1;
  uint32_t magic = __atomic_load_n(&b->magic, __ATOMIC_ACQUIRE);
  if (magic != BLOCK_MAGIC)
    mp_arena_corrupt(magic == FREE_MAGIC ? "use of a freed block (a reference was dropped too often)"
                                         : "not a block of the arena", mp_shm_off(b));
  return b;
}

/* The live block whose data starts at offset off, or NULL. */
void *mp_shm_block_at(uint64_t off) {
  if (arena == NULL || off < 2 * sizeof(BlockHead) || off >= mp_arena_size || off % 16)
    return NULL;
  TSAN_ADOPT();
  BlockHead *b = (BlockHead *)(arena + off) - 1;
  if (__atomic_load_n(&b->magic, __ATOMIC_ACQUIRE) != BLOCK_MAGIC || atomic_load(&b->refs) <= 0)
    return NULL;
  return arena + off;
}

void *mp_shm_dying_at(uint64_t off) {
  if (arena == NULL || off < 2 * sizeof(BlockHead) || off >= mp_arena_size || off % 16)
    return NULL;
  BlockHead *b = (BlockHead *)(arena + off) - 1;
  if (__atomic_load_n(&b->magic, __ATOMIC_ACQUIRE) != BLOCK_MAGIC || atomic_load(&b->refs) != 0)
    return NULL;
  return arena + off;
}

void mp_shm_incref(void *p) {
  BlockHead *b = block_of(p);
  if (atomic_fetch_add(&b->refs, 1) <= 0)
    mp_arena_corrupt("reference taken on a block whose last reference was dropped", mp_shm_off(b));
}

int mp_shm_unref(void *p) {
  BlockHead *b = block_of(p);
  /* published after the decrement: with blocks merged on free, this head
  ** becomes another block's data, read by whoever allocates it */
  int32_t was = atomic_fetch_sub(&b->refs, 1);
  TSAN_PUBLISH();
  if (was <= 0) mp_arena_corrupt("reference dropped twice (count below zero)", mp_shm_off(b));
  if (was == 1) mp_ledger_freeing(p);   /* ours to free: see mp_ledger.c */
  return was == 1;
}

void mp_shm_decref(void *p) {
  if (mp_shm_unref(p)) mp_shm_free(p);
}

uint64_t mp_shm_off(const void *p) {
  return p ? (uint64_t)((const unsigned char *)p - arena) : 0;
}

void *mp_shm_ptr(uint64_t off) {
  if (arena == NULL || off < sizeof(BlockHead) || off >= mp_arena_size) return NULL;
  TSAN_ADOPT();
  return arena + off;
}

/* ---- local handles ---- */

static MpRef *refs_head;
static pthread_mutex_t refs_mu = PTHREAD_MUTEX_INITIALIZER;   /* guards the list */

void mp_ref_init(MpRef *r, const RtType *t, void *shared) {
  rt_init(&r->rt, t);
  r->shared = shared;
  if (r->release == NULL) r->release = mp_shm_decref;
  r->forked = NULL;
  r->closing = NULL;
  pthread_mutex_lock(&refs_mu);
  r->prev = NULL;
  r->next = refs_head;
  if (refs_head) refs_head->prev = r;
  refs_head = r;
  pthread_mutex_unlock(&refs_mu);
  if (shared) mp_ledger_add_handle(shared, r->release);
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
    mp_ledger_remove(r->shared);
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
  mp_ledger_prepare();
  for (MpRef *r = refs_head; r; r = r->next)
    if (r->shared) {
      mp_shm_incref(r->shared);
      mp_ledger_prepared_add(r->shared, r->release);
      if (r->forked) r->forked(r, 1);
    }
}

void mp_refs_fork_child(void) {
  mp_ledger_after_fork(0);
  pthread_mutex_unlock(&refs_mu);   /* the list is ours; taken in prepare, by this thread */
}

void mp_refs_fork_parent(pid_t pid) {
  mp_ledger_after_fork(pid);
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
      mp_ledger_remove(r->shared);
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

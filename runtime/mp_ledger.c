/*
** mp_ledger.c — what each forked child owns in the shared-memory arena,
** so that its parent can give it back when the child dies without
** dropping it (SIGKILL, a crash). See mp.h for the contract.
**
** A ledger is an arena block, one per child, filled by the parent before
** the fork (the references it takes for the child's inherited handles)
** and then written only by the child: entries (block offset, release
** function) appended after a reference is taken, cleared (offset set to
** 0, one store) before it is dropped or handed over. Function pointers
** are valid in every process: all of them are forks of one program.
** A block filled or wrapped right after its allocation is recorded by the
** allocator under the arena lock (a FRESH entry, see below), so that no
** death falls between the block going live and its entry.
** When the parent reaps the child (mp_reap), the child is dead, so
** nothing writes the ledger any more: the parent calls the release
** function of every entry left, then frees the ledger.
**
** Every change is a single store ordered so that a death between two
** steps leaks at most one block and never releases one twice: append
** writes the entry and THEN counts it; entries never move (a full ledger
** reuses holes), so removal is one compare-and-swap without a lock, the
** last thing before the caller drops its reference. When the ledger is
** full (LEDGER_CAP live entries) new entries are not recorded: those
** blocks are lost only if the child is killed.
**
** Locks: ledger_mu (appends to this process's own ledger and adopt:
** threads of a GIL-off program share it) and kids_mu (the local table
** pid -> ledger of the children this process forked) are leaf locks.
*/
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "mp_arena.h"

#define LEDGER_CAP   2046
#define LEDGER_MAGIC 0x4c454447u          /* "LEDG" */

typedef struct Entry {
  uint64_t off;                 /* block offset (| FRESH), 0 = hole */
  uint64_t fn;                  /* void (*)(void *) */
  uint64_t gen;                 /* the block's generation (mp_shm_gen): an entry
                                ** left behind on a block freed and reused since
                                ** does not release the new one */
} Entry;

/* An entry made by the allocator itself (mp_shm_alloc_owned, under the
** arena lock, so no death can fall between the block going live and the
** entry). A handle made on the block adopts it (mp_ledger_adopt) instead
** of adding its own. Offsets are 16-aligned: the low bit is free. */
#define FRESH 1u

#define FREEING 8

/* A process that dropped the last reference to a block records it in a
** 'freeing' slot until the block is freed: one that dies in between (a
** type's cleanup may take a while) leaves a block nobody references; the
** reaper frees it (mp_ledger_reaped). Slots are claimed by compare-and-
** swap (threads of a GIL-off child free at once); when all are taken the
** block goes unrecorded. */
typedef struct Ledger {
  uint32_t magic;
  uint32_t spare;
  uint64_t n;                   /* entries in use (holes included) */
  uint64_t freeing[FREEING];    /* block offsets, 0 = free slot */
  uint64_t freeing_gen[FREEING];
  Entry e[LEDGER_CAP];
} Ledger;

typedef struct Kid {
  pid_t pid;
  Ledger *ledger;
} Kid;

static Ledger *mine;            /* NULL in the original process */
static Ledger *pending;         /* the next child's, between prepare and after_fork */
static pthread_mutex_t ledger_mu = PTHREAD_MUTEX_INITIALIZER;   /* appends to *mine */
static uint64_t last_added;     /* index of the latest entry: removal looks there first */
static Kid *kids;               /* guarded by kids_mu */
static size_t nkids, kids_cap;
static pthread_mutex_t kids_mu = PTHREAD_MUTEX_INITIALIZER;

/* Appends to l (ledger_mu held, or l not yet shared: pending). Entries
** never move, so removal needs no lock (see mp_ledger_remove): a new entry
** goes after the last one, or into a hole once the ledger is full. */
static void append(Ledger *l, void *block, void (*release)(void *), uint64_t flags) {
  uint64_t n = l->n;
  while (n > 0 && __atomic_load_n(&l->e[n - 1].off, __ATOMIC_ACQUIRE) == 0) n--;
  uint64_t i = n;
  if (n == LEDGER_CAP)
    for (i = 0; i < LEDGER_CAP && __atomic_load_n(&l->e[i].off, __ATOMIC_ACQUIRE); i++) {}
  if (i == LEDGER_CAP) return;                     /* full: not recorded */
  l->e[i].fn = (uint64_t)(uintptr_t)release;
  l->e[i].gen = mp_shm_gen(block);
  __atomic_store_n(&l->e[i].off, mp_shm_off(block) | flags, __ATOMIC_RELEASE);
  if (i >= n) n = i + 1;
  __atomic_store_n(&l->n, n, __ATOMIC_RELEASE);
  __atomic_store_n(&last_added, i, __ATOMIC_RELAXED);
}

void mp_ledger_add(void *block, void (*release)(void *)) {
  if (mine == NULL || block == NULL) return;
  pthread_mutex_lock(&ledger_mu);
  append(mine, block, release, 0);
  pthread_mutex_unlock(&ledger_mu);
}

void mp_ledger_add_fresh(void *block, void (*release)(void *)) {
  if (mine == NULL) return;
  pthread_mutex_lock(&ledger_mu);
  append(mine, block, release, FRESH);
  pthread_mutex_unlock(&ledger_mu);
}

/* The handle's entry is the allocator's one, given the handle's release
** function (stored first: whichever the reaper sees is right for it). */
static int adopt(void *block, void (*release)(void *)) {
  uint64_t off = mp_shm_off(block) | FRESH;
  for (uint64_t i = mine->n; i-- > 0;) {
    uint64_t v = off;
    if (__atomic_load_n(&mine->e[i].off, __ATOMIC_ACQUIRE) != off) continue;
    __atomic_store_n(&mine->e[i].fn, (uint64_t)(uintptr_t)release, __ATOMIC_RELEASE);
    if (__atomic_compare_exchange_n(&mine->e[i].off, &v, off & ~(uint64_t)FRESH, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return 1;
  }
  return 0;
}

void mp_ledger_add_handle(void *block, void (*release)(void *)) {
  if (mine == NULL || block == NULL) return;
  pthread_mutex_lock(&ledger_mu);
  if (!adopt(block, release)) append(mine, block, release, 0);
  pthread_mutex_unlock(&ledger_mu);
}

/* Without the lock, so that the entry goes with one store right before
** the caller drops the reference (a lock's release in between widened
** the window in which a death leaks the block). The slot is claimed by a
** compare-and-swap: two threads dropping two handles on one block take
** one entry each. */
static int clear_at(uint64_t i, uint64_t off) {
  uint64_t v = __atomic_load_n(&mine->e[i].off, __ATOMIC_ACQUIRE);
  return v && (v & ~(uint64_t)FRESH) == off &&
         __atomic_compare_exchange_n(&mine->e[i].off, &v, 0, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE);
}

/* After the block may have been freed: only an entry of that generation. */
void mp_ledger_remove_gen(void *block, uint64_t gen) {
  if (mine == NULL || block == NULL) return;
  uint64_t off = mp_shm_off(block);
  uint64_t n = __atomic_load_n(&mine->n, __ATOMIC_ACQUIRE);
  for (uint64_t i = n; i-- > 0;)
    if (__atomic_load_n(&mine->e[i].gen, __ATOMIC_ACQUIRE) == gen && clear_at(i, off)) return;
}

void mp_ledger_remove(void *block) {
  if (mine == NULL || block == NULL) return;
  uint64_t off = mp_shm_off(block);
  uint64_t n = __atomic_load_n(&mine->n, __ATOMIC_ACQUIRE);
  uint64_t hint = __atomic_load_n(&last_added, __ATOMIC_RELAXED);
  if (hint < n && clear_at(hint, off)) return;
  for (uint64_t i = n; i-- > 0;)
    if (clear_at(i, off)) return;
}

void mp_ledger_freeing(void *block) {
  if (mine == NULL) return;
  uint64_t off = mp_shm_off(block);
  for (int i = 0; i < FREEING; i++) {
    uint64_t zero = 0;
    if (__atomic_load_n(&mine->freeing[i], __ATOMIC_RELAXED)) continue;
    __atomic_store_n(&mine->freeing_gen[i], mp_shm_gen(block), __ATOMIC_RELEASE);
    if (__atomic_compare_exchange_n(&mine->freeing[i], &zero, off, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
      return;
  }
}

void mp_ledger_freed(void *block) {
  if (mine == NULL) return;
  uint64_t off = mp_shm_off(block);
  for (int i = 0; i < FREEING; i++) {
    uint64_t v = off;
    if (__atomic_compare_exchange_n(&mine->freeing[i], &v, 0, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_RELAXED))
      return;
  }
}

void mp_ledger_prepare(void) {
  pending = (Ledger *)mp_shm_alloc(sizeof(Ledger));   /* NULL: the child goes unrecorded */
  if (pending) pending->magic = LEDGER_MAGIC;
}

void mp_ledger_prepared_add(void *block, void (*release)(void *)) {
  if (pending) append(pending, block, release, 0);
}

static void remember(pid_t pid, Ledger *l) {
  mp_ledger_reaped(pid);     /* an older child with this pid was reaped unseen: it is dead */
  pthread_mutex_lock(&kids_mu);
  if (nkids == kids_cap) {
    size_t cap = kids_cap ? kids_cap * 2 : 16;
    Kid *k = (Kid *)realloc(kids, cap * sizeof(Kid));
    if (k == NULL) {                     /* cannot remember: the child goes unrecorded */
      pthread_mutex_unlock(&kids_mu);    /* (its ledger stays: the child writes it) */
      return;
    }
    kids = k;
    kids_cap = cap;
  }
  kids[nkids++] = (Kid){pid, l};
  pthread_mutex_unlock(&kids_mu);
}

void mp_ledger_after_fork(pid_t pid) {
  Ledger *l = pending;
  pending = NULL;
  if (pid == 0) {                        /* the child: its own ledger, no children yet */
    pthread_mutex_init(&ledger_mu, NULL);
    pthread_mutex_init(&kids_mu, NULL);
    nkids = 0;
    mine = l;
  } else if (l && pid > 0) remember(pid, l);
  else if (l) mp_shm_decref(l);          /* the fork failed: the refs were undone */
}

void mp_ledger_reaped(pid_t pid) {
  Ledger *l = NULL;
  pthread_mutex_lock(&kids_mu);
  for (size_t i = 0; i < nkids; i++)
    if (kids[i].pid == pid) {
      l = kids[i].ledger;
      kids[i] = kids[--nkids];
      break;
    }
  pthread_mutex_unlock(&kids_mu);
  if (l == NULL) return;
  if (l->magic != LEDGER_MAGIC || l->n > LEDGER_CAP)
    mp_arena_corrupt("a child's ledger is damaged", mp_shm_off(l));
  for (int i = 0; i < FREEING; i++) {          /* blocks it was freeing */
    void *block = l->freeing[i] ? mp_shm_dying_at(l->freeing[i]) : NULL;
    if (block && mp_shm_gen(block) == l->freeing_gen[i]) mp_shm_free(block);
  }
  for (uint64_t i = 0; i < l->n; i++) {
    uint64_t off = l->e[i].off & ~(uint64_t)FRESH;
    void *block = off ? mp_shm_block_at(off) : NULL;
    if (block && mp_shm_gen(block) == l->e[i].gen)
      ((void (*)(void *))(uintptr_t)l->e[i].fn)(block);
  }
  mp_shm_decref(l);
}

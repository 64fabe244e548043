/*
** test_mp_shm.c — the shared-memory arena (runtime/mp_arena.c,
** mp_shm.c): blocks are zeroed and aligned, freed space is split and
** merged so that filling, draining and refilling with other sizes for
** many rounds ends with the whole arena usable, blocks are visible to a
** forked child at the same address, offsets map back to pointers and bad
** offsets are refused; the arena rebuilds itself when a process died
** holding its lock; misuse aborts; robust mutexes recover from a holder
** that died; futex waits time out. The arena is 16 MiB here
** (GILLUA_ARENA_MB) so that filling it is quick.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "block.h"
#include "mp.h"
#include "mp_arena.h"

static void test_alloc_zero_aligned(void **state) {
  (void)state;
  assert_int_equal(mp_shm_init(NULL, 0), 0);
  unsigned char *p = mp_shm_alloc(100);
  assert_non_null(p);
  assert_int_equal((uintptr_t)p % 16, 0);
  for (int i = 0; i < 100; i++) assert_int_equal(p[i], 0);
  memset(p, 0xab, 100);
  mp_shm_decref(p);
  unsigned char *q = mp_shm_alloc(100);        /* same class: the freed block, zeroed again */
  assert_ptr_equal(p, q);
  assert_int_equal(q[50], 0);
  mp_shm_decref(q);
}

static void test_refcount_and_used(void **state) {
  (void)state;
  size_t before = mp_shm_used();
  void *p = mp_shm_alloc(5000);
  assert_true(mp_shm_used() > before);
  mp_shm_incref(p);
  assert_int_equal(mp_shm_unref(p), 0);         /* one left */
  assert_int_equal(mp_shm_unref(p), 1);         /* last: caller frees */
  mp_shm_free(p);
  assert_int_equal(mp_shm_used(), before);
}

static void test_large_blocks(void **state) {
  (void)state;
  void *big = mp_shm_alloc((size_t)3 << 20);
  assert_non_null(big);
  memset(big, 1, (size_t)3 << 20);
  mp_shm_decref(big);
  void *again = mp_shm_alloc((size_t)2 << 20);   /* first fit reuses it */
  assert_ptr_equal(big, again);
  mp_shm_decref(again);
  assert_null(mp_shm_alloc((size_t)1 << 40));    /* far too large: NULL, no crash */
}

static void test_offsets(void **state) {
  (void)state;
  void *p = mp_shm_alloc(64);
  uint64_t off = mp_shm_off(p);
  assert_true(off > 0);
  assert_ptr_equal(mp_shm_ptr(off), p);
  assert_null(mp_shm_ptr(0));
  assert_null(mp_shm_ptr((uint64_t)1 << 50));
  mp_shm_decref(p);
}

static void test_shared_with_child(void **state) {
  (void)state;
  int *p = mp_shm_alloc(sizeof(int) * 4);
  pid_t pid = fork();
  if (pid == 0) {
    int *q = mp_shm_alloc(sizeof(int));       /* allocated in the child after the fork */
    *q = 77;
    p[0] = 42;
    p[1] = (int)mp_shm_off(q);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  assert_int_equal(p[0], 42);
  int *q = mp_shm_ptr((uint64_t)p[1]);
  assert_non_null(q);
  assert_int_equal(*q, 77);
  mp_shm_decref(q);
  mp_shm_decref(p);
}

static void test_robust_mutex(void **state) {
  (void)state;
  pthread_mutex_t *mu = mp_shm_alloc(sizeof(pthread_mutex_t));
  mp_mutex_init(mu, PTHREAD_MUTEX_NORMAL);
  pid_t pid = fork();
  if (pid == 0) {
    mp_lock(mu);
    _exit(0);                                  /* dies holding it */
  }
  int st;
  waitpid(pid, &st, 0);
  assert_int_equal(mp_lock(mu), 1);            /* recovered, and told */
  mp_unlock(mu);
  assert_int_equal(mp_lock(mu), 0);
  mp_unlock(mu);
  mp_shm_decref(mu);
}

static void test_futex_timeout(void **state) {
  (void)state;
  uint32_t *w = mp_shm_alloc(sizeof(uint32_t));
  struct timespec ts;
  uint64_t t0 = gl_now_ns();
  const struct timespec *dl = gl_deadline(&ts, 0.02);
  int rc = 0;
  while (rc == 0) rc = mp_futex_wait(w, 0, dl);
  assert_int_equal(rc, ETIMEDOUT);
  assert_true(gl_now_ns() - t0 >= 15000000ull);
  assert_int_equal(mp_futex_wait(w, 1, NULL), 0);   /* value differs: returns at once */
  mp_futex_wake(w, 1);
  assert_int_equal(*w, 1);
  mp_shm_decref(w);
}


/* ---- splitting and merging ---- */

#define MAXBLK 20000

static uint64_t rng_state;
static uint64_t rnd(void) {                 /* xorshift64*: seeded, reproducible */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

/* A size drawn from the round's mix: small, medium or large. */
static size_t draw(int round) {
  switch ((round + (int)(rnd() % 3)) % 4) {
    case 0: return 1 + rnd() % 256;
    case 1: return 200 + rnd() % 8000;
    case 2: return 4096 + rnd() % 200000;
    default: return 100000 + rnd() % 1500000;
  }
}

static void shuffle(void **v, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)(rnd() % (uint64_t)(i + 1));
    void *t = v[i]; v[i] = v[j]; v[j] = t;
  }
}

/* Fills the arena with sizes of this round's mix until it has refused
** 16 in a row. The blocks' ends are written (the poison checks of the
** allocator see any overlap). */
static int fill(void **v, int n, int round) {
  for (int refused = 0; n < MAXBLK && refused < 16;) {
    size_t sz = draw(round);
    unsigned char *p = mp_shm_alloc(sz);
    if (p == NULL) { refused++; continue; }
    refused = 0;
    p[0] = (unsigned char)n;
    p[sz - 1] = 0x5a;
    v[n++] = p;
  }
  return n;
}

static void assert_whole_arena_usable(size_t base_used) {
  MpShmStats st;
  mp_shm_stats(&st);
  assert_int_equal(st.used, base_used);
  assert_int_equal(st.free_blocks, 0);            /* all merged back */
  size_t all = (size_t)(st.size - st.used - sizeof(BlockHead));
  assert_int_equal(st.largest_free, all);
  void *p = mp_shm_alloc(all);                    /* the whole rest in one block */
  assert_non_null(p);
  assert_null(mp_shm_alloc(1));
  mp_shm_decref(p);
}

static void test_fill_drain_refill(void **state) {
  (void)state;
  static void *v[MAXBLK];
  size_t base = mp_shm_used();
  rng_state = 0x9e3779b97f4a7c15ull;
  for (int round = 0; round < 40; round++) {
    int n = fill(v, 0, round);
    assert_true(n > 4);
    shuffle(v, n);
    int keep = n / 3;                             /* drain two thirds, in random order */
    for (int i = keep; i < n; i++) mp_shm_decref(v[i]);
    n = fill(v, keep, round + 1);                 /* refill the holes with other sizes */
    assert_true(n > keep);
    MpShmStats st;
    mp_shm_stats(&st);
    assert_true(st.used > st.size / 2);           /* holes were reused, not lost */
    shuffle(v, n);
    for (int i = 0; i < n; i++) mp_shm_decref(v[i]);
    assert_int_equal(mp_shm_used(), base);
  }
  assert_whole_arena_usable(base);
}

/* The first case: a drained backlog of 1 KB items leaves room
** for an 8 KB Array and a 5 KB item. */
static void test_small_backlog_then_bigger(void **state) {
  (void)state;
  static void *v[MAXBLK];
  size_t base = mp_shm_used();
  int n = 0;
  while (n < MAXBLK && (v[n] = mp_shm_alloc(1024)) != NULL) n++;
  assert_true(n > 1000);
  assert_null(mp_shm_alloc(8000));
  for (int i = 0; i < n; i += 2) mp_shm_decref(v[i]);   /* every other: no two free together */
  for (int i = 1; i < n; i += 2) mp_shm_decref(v[i]);
  void *a = mp_shm_alloc(8000), *b = mp_shm_alloc(5000);
  assert_non_null(a);
  assert_non_null(b);
  mp_shm_decref(a);
  mp_shm_decref(b);
  assert_whole_arena_usable(base);
}

/* The second case: after freeing many 800 KB blocks, a block
** three times larger fits (two of them were neighbours). */
static void test_large_merge(void **state) {
  (void)state;
  void *v[64];
  int n = 0;
  while (n < 64 && (v[n] = mp_shm_alloc(800 << 10)) != NULL) n++;
  assert_true(n >= 8);
  void *keep = v[n - 1];                        /* keeps the freed ones off the top */
  for (int i = 0; i < n - 1; i++) mp_shm_decref(v[i]);
  void *big = mp_shm_alloc((size_t)2400 << 10);
  assert_non_null(big);
  assert_true((unsigned char *)big < (unsigned char *)keep);   /* from the merged holes */
  mp_shm_decref(big);
  mp_shm_decref(keep);
}

/* A full arena whose only fitting hole lies deep in its size list (past
** 40 holes of the same list that are too small) still serves it. */
static void test_deep_in_list(void **state) {
  (void)state;
  static void *fill_v[MAXBLK];
  size_t base = mp_shm_used();
  void *big = mp_shm_alloc(1000), *sp0 = mp_shm_alloc(32);
  void *small[40], *spacer[40];
  for (int i = 0; i < 40; i++) { small[i] = mp_shm_alloc(520); spacer[i] = mp_shm_alloc(32); }
  int n = 0;
  size_t sizes[] = {1 << 20, 65536, 4096, 32};
  for (int k = 0; k < 4; k++)
    while (n < MAXBLK && (fill_v[n] = mp_shm_alloc(sizes[k])) != NULL) n++;
  mp_shm_decref(big);                           /* first in, so last in its list */
  for (int i = 0; i < 40; i++) mp_shm_decref(small[i]);
  void *again = mp_shm_alloc(1000);
  assert_ptr_equal(again, big);
  mp_shm_decref(again);
  for (int i = 0; i < 40; i++) mp_shm_decref(spacer[i]);
  mp_shm_decref(sp0);
  for (int i = 0; i < n; i++) mp_shm_decref(fill_v[i]);
  assert_whole_arena_usable(base);
}

/* Neighbours merge on both sides whatever the order of frees. */
static void test_merge_orders(void **state) {
  (void)state;
  size_t base = mp_shm_used();
  for (int order = 0; order < 6; order++) {
    void *b[4];
    for (int i = 0; i < 4; i++) b[i] = mp_shm_alloc(100 + 300 * (size_t)i);
    static const int perm[6][3] = {{0,1,2},{0,2,1},{1,0,2},{1,2,0},{2,0,1},{2,1,0}};
    for (int i = 0; i < 3; i++) mp_shm_decref(b[perm[order][i]]);
    MpShmStats st;
    mp_shm_stats(&st);
    assert_int_equal(st.free_blocks, 1);          /* the three merged into one */
    void *again = mp_shm_alloc(100 + 400 + 700 + 2 * sizeof(BlockHead));
    assert_ptr_equal(again, b[0]);                /* and fit what they held together */
    mp_shm_decref(again);
    mp_shm_decref(b[3]);
    assert_int_equal(mp_shm_used(), base);
  }
}

/* A process killed with the arena lock held, halfway through a free (the
** block already says FREE, not yet merged nor listed): the next locker
** rebuilds the lists and merges, and nothing is lost. */
static void test_rebuild_after_death(void **state) {
  (void)state;
  size_t base = mp_shm_used();
  void *a = mp_shm_alloc(1000), *b = mp_shm_alloc(3000), *c = mp_shm_alloc(500);
  mp_shm_decref(a);                             /* a is a listed free block */
  pid_t pid = fork();
  if (pid == 0) {
    mp_lock(mp_arena_mutex());
    BlockHead *h = (BlockHead *)b - 1;          /* free() of b, stopped short */
    atomic_store(&h->refs, 0);
    h->magic = FREE_MAGIC;
    raise(SIGKILL);
  }
  int st;
  waitpid(pid, &st, 0);
  assert_true(WIFSIGNALED(st));
  MpShmStats s;
  mp_shm_stats(&s);                             /* takes the lock: EOWNERDEAD, rebuild */
  assert_int_equal(s.free_blocks, 1);           /* a and b merged */
  assert_int_equal(s.used, base + sizeof(BlockHead) + 512);
  void *ab = mp_shm_alloc(4000);
  assert_ptr_equal(ab, a);
  mp_shm_decref(ab);
  mp_shm_decref(c);
  assert_whole_arena_usable(base);
}

/* ---- a process killed at every step of the allocator ---- */

static int kill_at;
static void kill_hook(int step) { if (step == kill_at) raise(SIGKILL); }

enum { OP_ALLOC_SPLIT, OP_ALLOC_TOP, OP_FREE_MIDDLE, OP_FREE_LAST };

/* Layout: a [f1 free] x [f2 free] c, then the top. The child does one
** operation and dies at 'step'; returns 1 when it died there. */
static int die_in(int op, int step, void *x, void *c) {
  pid_t pid = fork();
  if (pid == 0) {
    kill_at = step;
    mp_arena_step_hook = kill_hook;
    switch (op) {
      case OP_ALLOC_SPLIT: mp_shm_alloc(1000); break;     /* from f1, split */
      case OP_ALLOC_TOP: mp_shm_alloc(100000); break;     /* carved from the top */
      case OP_FREE_MIDDLE: mp_shm_decref(x); break;       /* merges both ways */
      default: mp_shm_decref(c); break;                   /* merges, lowers the top */
    }
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

static void test_death_at_every_step(void **state) {
  (void)state;
  size_t base = mp_shm_used();
  int rounds = 0;
  for (int op = OP_ALLOC_SPLIT; op <= OP_FREE_LAST; op++)
    for (int step = 0; step < ST_COUNT; step++) {
      void *a = mp_shm_alloc(64), *f1 = mp_shm_alloc(4000), *x = mp_shm_alloc(1000);
      void *f2 = mp_shm_alloc(3000), *c = mp_shm_alloc(500);
      void *probe = mp_shm_alloc(100000);       /* where a carve lands */
      mp_shm_decref(probe);
      mp_shm_decref(f2);
      mp_shm_decref(f1);                        /* first on its list: taken by the split */
      size_t before = mp_shm_used();
      int died = die_in(op, step, x, c);        /* else the operation has no such step */
      rounds += died;
      size_t now = mp_shm_used();               /* the first lock rebuilds */
      int freeing = op >= OP_FREE_MIDDLE, live = !died || (step >= ST_LIVE && step < ST_FREED);
      if (freeing) {
        assert_int_equal(now, before - sizeof(BlockHead) - (op == OP_FREE_MIDDLE ? 1008 : 512));
      } else if (live) {                        /* made live (then died, or exited): it stays */
        void *leaked = op == OP_ALLOC_SPLIT ? f1 : probe;
        assert_non_null(mp_shm_block_at(mp_shm_off(leaked)));
        mp_shm_decref(leaked);
      } else {
        assert_int_equal(now, before);          /* never handed out */
      }
      mp_shm_decref(a);
      if (op != OP_FREE_MIDDLE) mp_shm_decref(x);
      if (op != OP_FREE_LAST) mp_shm_decref(c);
      assert_whole_arena_usable(base);
    }
  assert_int_equal(rounds, 5 + 4 + 5 + 4);      /* every step of every operation */
}

static int dies_with_sigabrt(void (*f)(void)) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);       /* the message is not for the test log */
    dup2(fd, 2);
    f();
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void double_free(void) {
  void *p = mp_shm_alloc(64), *q = mp_shm_alloc(64);
  (void)q;
  mp_shm_decref(p);
  mp_shm_decref(p);
}

static void write_after_free(void) {
  unsigned char *p = mp_shm_alloc(200), *q = mp_shm_alloc(3000);   /* q: p is not the last */
  (void)q;
  mp_shm_decref(p);
  p[100] = 1;
  mp_shm_alloc(200);
}

static void test_misuse_aborts(void **state) {
  (void)state;
  assert_true(dies_with_sigabrt(double_free));
  assert_true(dies_with_sigabrt(write_after_free));
}

static void test_size_from_env(void **state) {
  (void)state;
  MpShmStats st;
  mp_shm_stats(&st);
  assert_true(st.size > (15u << 20) && st.size <= (16u << 20));
}

int main(void) {
  setenv("GILLUA_ARENA_MB", "16", 1);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_alloc_zero_aligned),
    cmocka_unit_test(test_refcount_and_used),
    cmocka_unit_test(test_large_blocks),
    cmocka_unit_test(test_offsets),
    cmocka_unit_test(test_size_from_env),
    cmocka_unit_test(test_fill_drain_refill),
    cmocka_unit_test(test_small_backlog_then_bigger),
    cmocka_unit_test(test_large_merge),
    cmocka_unit_test(test_merge_orders),
    cmocka_unit_test(test_deep_in_list),
    cmocka_unit_test(test_rebuild_after_death),
    cmocka_unit_test(test_death_at_every_step),
    cmocka_unit_test(test_misuse_aborts),
    cmocka_unit_test(test_shared_with_child),
    cmocka_unit_test(test_robust_mutex),
    cmocka_unit_test(test_futex_timeout),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

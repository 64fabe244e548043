/*
** gil.c — gillua's global interpreter lock.
**
** Notes about the implementation
** ------------------------------
**
** - The GIL is a mutex-protected record (gil.mu) saying which thread
**   holds the right to run Lua (gil.holder) and a FIFO queue of the
**   threads waiting for it. Each waiter sleeps on its own condition
**   variable. There is no "free for all": when the holder releases the
**   GIL and someone is queued, the GIL is handed directly to the head of
**   the queue (gil.holder = head) before the releaser can come back for
**   it. Handing over costs one futex wake; in exchange no thread can
**   starve and a dropper cannot immediately re-grab what it dropped
**   (CPython gets the same guarantee with FORCE_SWITCHING).
**
** - A thread gives up the GIL in two ways:
**     1. voluntarily, around every blocking call (sleep, lock, queue,
**        join, pipe, wait): gl_block_begin/gl_block_end in block.c;
**     2. on request, from Lua's count hook (hook.c), when a waiter has
**        asked it to drop.
**
** - Asking the holder to drop: Lua runs a count hook only when one is set
**   on the running lua_State, and an active count hook makes every
**   instruction trap into luaG_traceexec (measured: ~2.3x slower on a
**   tight loop whatever the count). So the hook is set only while
**   somebody waits. A waiter cannot set it directly: lua_sethook on a
**   state another OS thread is running is a data race. Instead the waiter
**   sets holder->drop_request and sends the holder a signal
**   (pthread_kill); the holder's own signal handler calls lua_sethook on
**   the state that thread is running (Lua documents lua_sethook as safe
**   to call from a signal handler; lua.c does it for Ctrl-C). A lone
**   thread, or one whose peers all block, never has the hook set and
**   runs at stock Lua speed.
**
** - Two switching policies, as --switch says:
**     bytecodes:N  a thread that starts waiting arms the holder's hook
**                  with count N: every N instructions the holder offers
**                  the GIL to the head of the queue. After every
**                  hand-over, if threads are still queued, the new holder
**                  is armed too. So with two CPU-bound threads the hook
**                  stays armed, and its per-instruction cost is part of
**                  the price of this policy.
**     interval:MS  like CPython 3.2+: a waiter sleeps MS on its condition;
**                  if no switch happened meanwhile it asks the holder to
**                  drop by arming a one-shot hook (count 1). The holder
**                  runs unhooked, at full speed, between requests.
**
** - Waking ahead (bytecodes policy). Waking a thread that sleeps on
**   another core takes the OS ~16 us on the 2-core VM this was measured
**   on (1.9 us on the same core): far longer than 100 bytecodes (~0.3 us).
**   A plain hand-over every N bytecodes would leave both cores idle
**   during each wake-up (measured: two threads at bytecodes:100 ran 95x
**   slower than one). So the offer goes in two steps: at the first hook
**   point the holder only wakes the head waiter ("ahead") and keeps
**   running; the waiter, once awake, marks itself ready and spins
**   briefly; at the next hook point that finds it ready, the holder hands
**   over and the waiter runs at once, with no wake-up in between. If the
**   waiter is not ready within WAKE_AHEAD_NS (busy machine, or hook points
**   far apart with a large N) the holder hands over the plain way. The
**   spin is bounded (SPIN_NS) and short in practice (at most N
**   bytecodes), so a waiting thread uses next to no CPU.
**
**   Each switch still costs the OS ~30 us of CPU (futex wait and wake,
**   scheduling), whoever pays it. With turns as short as a wake-up, two
**   CPU-bound threads used 1.14-1.17 cores and ran at 0.35 of one thread.
**   So a turn lasts at least MIN_TURN_NS (100 us) before the holder wakes
**   anyone ahead: measured 1.03-1.06 cores and 0.43 of one thread, which
**   is the count hook's own cost (an armed hook alone gives ~0.5).
**
** - Decisions about the hook are made under gil.mu: a waiter sets
**   drop_request and signals under gil.mu, and the holder decides to keep
**   or clear its hook under gil.mu. So a signal can never be overtaken by
**   a "no one is waiting, disarm" decision taken before it. As a second
**   line of defence a waiter that sees no switch for a whole slice sends
**   the signal again (cheap, and harmless when not needed).
**
** - Coroutines are lua_States: the signal handler arms the state the
**   thread runs *now* (GLThread.running, kept by hook.c's resume/wrap);
**   a resume/yield boundary re-arms the other side when a drop is
**   pending (gil_rearm), so a thread spinning inside coroutine.resume
**   still switches. A state that keeps a hook nobody needs disarms itself
**   the first time the hook fires.
**
** - With --gil=off, acquire and release do nothing but keep figures:
**   every thread runs in its own interpreter and there is nothing to
**   protect.
**
** Invariants (under gil.mu): holder != NULL or the queue is empty after
** every release; a thread is on the queue iff it waits and
** !gil_granted; at most one thread is holder, and only the holder runs
** Lua code in the shared universe (checked in debug builds).
*/
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>

#include "block.h"
#include "gil.h"
#include "hook.h"
#include "trace.h"

#define SLICE_NS 50000000ull   /* waiters re-check (Ctrl-C, lost signal) this often */
#define WAKE_AHEAD_NS 200000ull /* a waiter woken ahead must be ready within this */
#define SPIN_NS 50000ull        /* a woken-ahead waiter spins at most this long */
#ifndef MIN_TURN_NS
#define MIN_TURN_NS 100000ull   /* bytecodes policy: no wake-ahead before a turn is this old */
#endif

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

static struct {
  pthread_mutex_t mu;
  int enabled;
  GILPolicy policy;
  GLThread *holder;            /* thread that may run Lua, or NULL */
  GLThread *last_holder;       /* for counting switches between threads */
  GLThread *head, *tail;       /* FIFO of waiters */
  unsigned long switch_number; /* changes whenever the holder changes */
  GILStats stats;
} gil = { .mu = PTHREAD_MUTEX_INITIALIZER, .enabled = 1,
          .policy = { GIL_BYTECODES, 100 } };

/* gil.policy.kind == GIL_BYTECODES, readable without gil.mu (hook fast path). */
static atomic_int bytecodes_policy = 1;

int gil_parse_policy(const char *s, GILPolicy *out, char *err, size_t errlen) {
  const char *colon = strchr(s, ':');
  char *end;
  if (colon == NULL) {
    snprintf(err, errlen, "expected bytecodes:N or interval:MS");
    return -1;
  }
  size_t klen = (size_t)(colon - s);
  if (klen == 9 && strncmp(s, "bytecodes", 9) == 0) {
    errno = 0;
    long n = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno || n < 1 || n > 1000000000L) {
      snprintf(err, errlen, "N must be an integer from 1 to 1000000000");
      return -1;
    }
    out->kind = GIL_BYTECODES;
    out->n = n;
    return 0;
  }
  if (klen == 8 && strncmp(s, "interval", 8) == 0) {
    errno = 0;
    double ms = strtod(colon + 1, &end);
    if (colon[1] == '\0' || *end != '\0' || errno || !(ms >= 0.001 && ms <= 1e6)) {
      snprintf(err, errlen, "MS must be a number of milliseconds from 0.001 to 1000000");
      return -1;
    }
    out->kind = GIL_INTERVAL;
    out->n = (long)(ms * 1000.0 + 0.5);
    return 0;
  }
  snprintf(err, errlen, "unknown policy '%.*s' (expected bytecodes or interval)",
           (int)klen, s);
  return -1;
}

void gil_setup(int enabled, GILPolicy policy) {
  gil.enabled = enabled;
  gil.policy = policy;
  atomic_store(&bytecodes_policy, policy.kind == GIL_BYTECODES);
}

int gil_enabled(void) { return gil.enabled; }

GILPolicy gil_policy(void) {
  pthread_mutex_lock(&gil.mu);
  GILPolicy p = gil.policy;
  pthread_mutex_unlock(&gil.mu);
  return p;
}

void gil_set_policy(GILPolicy p) {
  pthread_mutex_lock(&gil.mu);
  gil.policy = p;
  atomic_store(&bytecodes_policy, p.kind == GIL_BYTECODES);
  pthread_mutex_unlock(&gil.mu);
}

/* ---- queue (gil.mu held) ---- */

static void enqueue(GLThread *t, int front) {
  atomic_store(&t->gil_granted, 0);
  t->ahead_at = 0;
  t->ahead_seen = 0;
  t->gil_next = NULL;
  if (gil.head == NULL) gil.head = gil.tail = t;
  else if (front) { t->gil_next = gil.head; gil.head = t; }
  else { gil.tail->gil_next = t; gil.tail = t; }
}

static GLThread *dequeue(void) {
  GLThread *t = gil.head;
  if (t) {
    gil.head = t->gil_next;
    if (gil.head == NULL) gil.tail = NULL;
    t->gil_next = NULL;
  }
  return t;
}

static void unqueue(GLThread *t) {   /* take t out wherever it is */
  GLThread **p = &gil.head, *prev = NULL;
  while (*p && *p != t) { prev = *p; p = &(*p)->gil_next; }
  if (*p == NULL) return;
  *p = t->gil_next;
  if (gil.tail == t) gil.tail = prev;
  t->gil_next = NULL;
}

/* ---- switching (gil.mu held) ---- */

/* Ask holder h to drop after 'count' instructions. 'resend' signals even
** if a request is already pending (lost-signal and long-C-call cover). */
static void request_drop(GLThread *h, int count, int resend) {
  int already = atomic_load(&h->drop_request);
  if (already && !resend) return;
  atomic_store(&h->hook_count, count);
  atomic_store(&h->drop_request, 1);
  gil.stats.requests++;
  GLThread *me = gl_self;
  if (me) GL_TRACE(me, TR_SWITCH_REQUEST, gl_now_ns());
  gl_arm_thread(h);
}

/* Arms the hook of a thread that is about to wake up holding the GIL: it
** arms its own hook when it wakes (see arm_self), no signal needed. */
static void set_drop(GLThread *h, int count) {
  atomic_store(&h->hook_count, count);
  atomic_store(&h->drop_request, 1);
}

/* On the thread that just got the GIL: arm the hook on what it runs. */
static void arm_self(GLThread *t) {
  lua_State *L = atomic_load_explicit(&t->running, memory_order_relaxed);
  if (L && atomic_load(&t->drop_request))
    lua_sethook(L, gl_count_hook, LUA_MASKCOUNT, atomic_load(&t->hook_count));
}

static int bytecode_count(void) {
  return gil.policy.kind == GIL_BYTECODES ? (int)gil.policy.n : 1;
}

/* Makes t the holder and wakes it. */
static void grant(GLThread *t) {
  gil.holder = t;
  t->ahead_at = 0;
  atomic_store(&t->gil_granted, 1);
  if (t != gil.last_holder) {
    gil.switch_number++;
    if (gil.last_holder) gil.stats.switches++;
    gil.last_holder = t;
  }
  pthread_cond_signal(&t->gil_cv);
  if (gil.head && gil.policy.kind == GIL_BYTECODES)
    set_drop(t, bytecode_count());
}

/* Bytecodes policy, at a hook point of the holder: should it hand over to
** h now? Yes if h is awake and spinning, or if h was woken ahead long ago
** and never became ready; otherwise wake h ahead (once) and go on. */
static int ready_to_hand_over(GLThread *t, GLThread *h, uint64_t now) {
  if (atomic_load(&h->gil_ready)) return 1;
  if (h->ahead_at == 0) {
    h->ahead_at = now;
    t->offered_to = h;
    t->offered_at = now;
    h->ahead_seen = 0;
    pthread_cond_signal(&h->gil_cv);
    return 0;
  }
  return now - h->ahead_at > WAKE_AHEAD_NS;
}

/* A waiter woken ahead: spin (without gil.mu) for the hand-over. */
static void spin_for_hand_over(GLThread *t) {
  t->ahead_seen = 1;
  atomic_store(&t->gil_ready, 1);
  pthread_mutex_unlock(&gil.mu);
  uint64_t until = gl_now_ns() + SPIN_NS;
  for (int i = 0; !atomic_load(&t->gil_granted); i++) {
    cpu_relax();
    if ((i & 63) == 0 && gl_now_ns() > until) break;
  }
  pthread_mutex_lock(&gil.mu);
  atomic_store(&t->gil_ready, 0);
}

static void begin_holding(GLThread *t, uint64_t now) {
  t->held_since = now;
  t->acquisitions++;
  GL_TRACE(t, TR_HOLD_BEGIN, now);
}

static void end_holding(GLThread *t, uint64_t now) {
  t->held_ns += now - t->held_since;
  GL_TRACE(t, TR_HOLD_END, now);
}

/* Sleeps until t is granted the GIL; t is queued. */
static void wait_granted(GLThread *t) {
  uint64_t since = gl_now_ns();
  t->wait_since = since;
  GL_TRACE(t, TR_WAIT_BEGIN, since);
  unsigned long seen = gil.switch_number;
  uint64_t last_change = since;   /* when the holder last changed, as seen by t */
  while (!atomic_load(&t->gil_granted)) {
    int interval = gil.policy.kind == GIL_INTERVAL;
    uint64_t slice = interval ? (uint64_t)gil.policy.n * 1000ull : SLICE_NS;
    if (slice > SLICE_NS) slice = SLICE_NS;
    uint64_t until = gl_now_ns() + slice;
    struct timespec ts = { (time_t)(until / 1000000000ull), (long)(until % 1000000000ull) };
    int rc = pthread_cond_timedwait(&t->gil_cv, &gil.mu, &ts);
    if (atomic_load(&t->gil_granted)) break;
    if (t->ahead_at && !t->ahead_seen) {   /* woken ahead: the hand-over is near */
      spin_for_hand_over(t);
      continue;
    }
    if (t->is_main && gl_interrupt_pending() && gil.head != t) {
      unqueue(t);            /* Ctrl-C: the main thread goes first */
      enqueue(t, 1);
      if (gil.holder) request_drop(gil.holder, 1, 1);
      continue;
    }
    if (rc != ETIMEDOUT || gil.holder == NULL) continue;
    uint64_t now = gl_now_ns();
    if (gil.switch_number != seen) {   /* a switch happened: wait a full interval again */
      seen = gil.switch_number;
      last_change = now;
      continue;
    }
    if (interval) {
      if (now - last_change + 1000 >= (uint64_t)gil.policy.n * 1000ull)
        request_drop(gil.holder, 1, 1);
    } else
      request_drop(gil.holder, bytecode_count(), 1);
  }
  uint64_t now = gl_now_ns();
  t->wait_ns += now - t->wait_since;
  GL_TRACE(t, TR_WAIT_END, now);
  begin_holding(t, now);
}

/* ---- public ---- */

void gil_acquire(GLThread *t) {
  pthread_mutex_lock(&gil.mu);
  if (!gil.enabled) {
    t->acquisitions++;
    pthread_mutex_unlock(&gil.mu);
    return;
  }
  assert(gil.holder != t);
  if (gil.holder == NULL && gil.head == NULL) {
    gil.holder = t;
    atomic_store(&t->gil_granted, 1);
    if (t != gil.last_holder) {
      gil.switch_number++;
      if (gil.last_holder) gil.stats.switches++;
      gil.last_holder = t;
    }
    begin_holding(t, gl_now_ns());
    pthread_mutex_unlock(&gil.mu);
    return;
  }
  enqueue(t, 0);
  if (gil.holder && gil.policy.kind == GIL_BYTECODES)
    request_drop(gil.holder, bytecode_count(), 0);
  wait_granted(t);
  assert(gil.holder == t);
  arm_self(t);
  pthread_mutex_unlock(&gil.mu);
}

void gil_release(GLThread *t) {
  pthread_mutex_lock(&gil.mu);
  if (!gil.enabled) {
    pthread_mutex_unlock(&gil.mu);
    return;
  }
  assert(gil.holder == t);
  end_holding(t, gl_now_ns());
  atomic_store(&t->drop_request, 0);
  atomic_store(&t->gil_granted, 0);
  t->offered_to = NULL;
  GLThread *next = dequeue();
  if (next) grant(next);
  else gil.holder = NULL;
  pthread_mutex_unlock(&gil.mu);
}

void gil_hook_point(GLThread *t, lua_State *L) {
  if (GL_POLL_COUNT && !atomic_load(&t->drop_request)) return;   /* TSan poll: nothing asked */
  /* Fast path while a woken-ahead waiter is still waking up: nothing to
  ** decide, so do not touch gil.mu (the waiter needs it to get ready).
  ** offered_to is queued and blocked until this thread grants it. */
  GLThread *h = t->offered_to;
  uint64_t now = gl_now_ns();
  if (h && atomic_load(&t->drop_request) && !atomic_load(&h->gil_ready) &&
      now - t->offered_at < WAKE_AHEAD_NS)
    return;
  if (h == NULL && now - t->held_since < MIN_TURN_NS && atomic_load(&t->drop_request) &&
      atomic_load(&bytecodes_policy))
    return;   /* too early in the turn to wake anyone: see "Waking ahead" */
  t->offered_to = NULL;
  pthread_mutex_lock(&gil.mu);
  assert(!gil.enabled || gil.holder == t);   /* only the holder runs Lua */
  if (gil.enabled && gil.holder == t && atomic_load(&t->drop_request)) {
    if (gil.head == NULL)
      atomic_store(&t->drop_request, 0);
    else if (gil.policy.kind == GIL_BYTECODES && !ready_to_hand_over(t, gil.head, gl_now_ns()))
      ;                        /* keep running, hook stays armed */
    else {                     /* forced hand-over to the longest waiter */
      atomic_store(&t->drop_request, 0);
      gil.stats.forced_switches++;
      end_holding(t, gl_now_ns());
      GLThread *next = dequeue();
      enqueue(t, 0);
      grant(next);
      wait_granted(t);
    }
  }
  if (gil.enabled && atomic_load(&t->drop_request))
    lua_sethook(L, gl_count_hook, LUA_MASKCOUNT, atomic_load(&t->hook_count));
  else
    gl_hook_idle(L);
  pthread_mutex_unlock(&gil.mu);
}

void gil_rearm(GLThread *t, lua_State *L) {
  if (atomic_load(&t->drop_request))
    lua_sethook(L, gl_count_hook, LUA_MASKCOUNT, 1);
}

void gil_note_blocked(GLThread *t, uint64_t ns) {
  atomic_fetch_add(&t->blocked_ns, ns);
}

void gil_after_fork_child(GLThread *self) {
  pthread_mutex_init(&gil.mu, NULL);
  gil.head = gil.tail = NULL;
  gil.holder = gil.enabled ? self : NULL;
  gil.last_holder = self;
  gil.stats = (GILStats){ 0, 0, 0 };
  atomic_store(&self->gil_granted, gil.enabled);
  self->gil_next = NULL;
  atomic_store(&self->drop_request, 0);
  gl_cond_init(&self->gil_cv);
}

int gil_waiting(void) {
  pthread_mutex_lock(&gil.mu);
  int n = 0;
  for (GLThread *t = gil.head; t; t = t->gil_next) n++;
  pthread_mutex_unlock(&gil.mu);
  return n;
}

GLThread *gil_holder(void) {
  pthread_mutex_lock(&gil.mu);
  GLThread *h = gil.holder;
  pthread_mutex_unlock(&gil.mu);
  return h;
}

GILStats gil_stats(void) {
  pthread_mutex_lock(&gil.mu);
  GILStats s = gil.stats;
  pthread_mutex_unlock(&gil.mu);
  return s;
}

void gil_thread_figures(GLThread *t, uint64_t *held_ns, uint64_t *wait_ns,
                        unsigned long *acquisitions) {
  pthread_mutex_lock(&gil.mu);
  uint64_t held = t->held_ns;
  if (gil.holder == t) held += gl_now_ns() - t->held_since;   /* still holding */
  *held_ns = held;
  *wait_ns = t->wait_ns;
  *acquisitions = t->acquisitions;
  pthread_mutex_unlock(&gil.mu);
}

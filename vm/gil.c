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
**   instruction trap into luaG_traceexec (measured: a tight loop runs at
**   about half its speed, whatever the count). So the hook is set only while
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
**     bytecodes:N  the head of the queue lets the holder run for a
**                  minimum turn (MIN_TURN_NS), then asks it to drop with
**                  count N and spins briefly; the holder gives the GIL up
**                  within about 2N instructions, at any instruction
**                  boundary (see "where the switch lands" below).
**     interval:MS  like CPython 3.2+: a waiter sleeps MS on its condition;
**                  if no switch happened meanwhile it asks the holder to
**                  drop by arming a one-shot hook (count 1). The holder
**                  runs unhooked, at full speed, between requests.
**
** - Why a minimum turn (bytecodes policy). Measured on the 2-core VM this
**   was built on: waking a thread that sleeps on the other core takes
**   ~16 us (1.9 us on the same core), and every switch costs the OS
**   30-50 us of CPU (signal, futex wait and wake, timers), while 100
**   bytecodes take ~0.3 us. A literal hand-over every 100 bytecodes ran
**   two threads 95x slower than one. Keeping the count hook armed while
**   both threads want the GIL costs ~2x by itself (every instruction then
**   traps into luaG_traceexec). So the holder runs unhooked for at least
**   MIN_TURN_NS (0.5 ms); only then does the head waiter arm it and spin
**   for the hand-over, so the hook is on for a few microseconds per turn
**   and the waiter's spin is short. Measured with two CPU-bound threads:
**   MIN_TURN 0.1 ms: 1.14-1.22 cores; 0.3 ms: 1.08-1.13; 0.5 ms: 1.03-1.08
**   cores, 0.93-0.97 of one thread's throughput (an always-armed hook gave
**   0.42). A spin that sees no hand-over within SPIN_NS (the holder is in
**   a long C call, or N is large) ends; the holder then hands over the
**   plain way (wake-up) at its next hook point.
**
** - Where the switch lands. luaV_execute reloads its "trap" flag only at
**   calls, returns and jumps, so a hook armed by a signal first fires at
**   such a point. The holder lets that first fire pass and hands over at
**   the next one, a random 1..N instructions later: under bytecodes:N a
**   switch can land between any two instructions (the unlocked balance
**   example loses updates), while under interval:MS it lands at calls and
**   jumps.
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

#define SPIN_NS 50000ull        /* a waiter that asked spins at most this long */
#ifndef MIN_TURN_NS
#define MIN_TURN_NS 500000ull   /* bytecodes policy: a turn lasts at least this */
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
  uint64_t turn_start;         /* when the holder got it */
  GILStats stats;
} gil = { .mu = PTHREAD_MUTEX_INITIALIZER, .enabled = 1,
          .policy = { GIL_BYTECODES, 100 } };


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
  pthread_mutex_unlock(&gil.mu);
}

/* ---- queue (gil.mu held) ---- */

static void enqueue(GLThread *t, int front) {
  atomic_store(&t->gil_granted, 0);
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

/* On the thread that just got the GIL: arm the hook on what it runs when
** a request came in while it was waking up. */
static void arm_self(GLThread *t) {
  lua_State *L = atomic_load_explicit(&t->running, memory_order_relaxed);
  if (L && atomic_load(&t->drop_request))
    gl_hook_arm(L, atomic_load(&t->hook_count));
}

static int bytecode_count(void) {
  return gil.policy.kind == GIL_BYTECODES ? (int)gil.policy.n : 1;
}

/* Makes t the holder; a new turn starts (a switch if t is not the last
** holder). */
static void make_holder(GLThread *t) {
  gil.holder = t;
  gil.turn_start = gl_now_ns();
  atomic_store(&t->gil_granted, 1);
  if (t != gil.last_holder) {
    gil.switch_number++;
    if (gil.last_holder) gil.stats.switches++;
    gil.last_holder = t;
  }
}

/* Makes the waiter t the holder and wakes it. */
static void grant(GLThread *t) {
  make_holder(t);
  pthread_cond_signal(&t->gil_cv);
  if (gil.head && gil.head != gl_self)
    pthread_cond_signal(&gil.head->gil_cv);   /* a new head: let it time the new turn */
}

/* xorshift32 on the holder's own state (owner-only field). */
static uint32_t next_random(GLThread *t) {
  uint32_t x = t->rng ? t->rng : (uint32_t)(t->serial * 2654435761u + 0x9e3779b9u);
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return t->rng = x;
}

/* Bytecodes policy: the head waiter, once the holder's turn is due, has
** asked for the GIL; it spins (without gil.mu) for the hand-over, which
** comes within about 2N bytecodes. Returns with gil.mu held again. */
static void spin_for_hand_over(GLThread *t) {
  pthread_mutex_unlock(&gil.mu);
  uint64_t until = gl_now_ns() + SPIN_NS;
  for (int i = 0; !atomic_load(&t->gil_granted); i++) {
    cpu_relax();
    if ((i & 63) == 0 && gl_now_ns() > until) break;
  }
  pthread_mutex_lock(&gil.mu);
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

/* Bytecodes policy, head waiter: if the holder's turn is due, ask it to
** drop (count N) and spin for the hand-over. Returns the time to sleep
** until otherwise. */
static uint64_t bytecodes_turn(GLThread *t, uint64_t now, int *asked) {
  uint64_t due = gil.turn_start + MIN_TURN_NS;
  if (now < due) return due;
  if (!*asked) {
    *asked = 1;
    gil.holder->hook_fires = 0;
    request_drop(gil.holder, bytecode_count(), 1);
  }
  spin_for_hand_over(t);
  if (!atomic_load(&t->gil_granted)) *asked = 0;   /* holder busy in C: ask again later */
  return gl_now_ns() + GL_SLICE_NS;
}

/* Sleeps until t is granted the GIL; t is queued. */
static void wait_granted(GLThread *t) {
  uint64_t since = gl_now_ns();
  t->wait_since = since;
  GL_TRACE(t, TR_WAIT_BEGIN, since);
  unsigned long seen = gil.switch_number;
  uint64_t last_change = since;   /* when the holder last changed, as seen by t */
  int asked = 0;                  /* bytecodes: this turn's request was sent */
  while (!atomic_load(&t->gil_granted)) {
    int interval = gil.policy.kind == GIL_INTERVAL;
    uint64_t now = gl_now_ns(), until;
    if (!interval && gil.holder && gil.head == t) {
      until = bytecodes_turn(t, now, &asked);
      if (atomic_load(&t->gil_granted)) break;
    } else {
      uint64_t slice = interval ? (uint64_t)gil.policy.n * 1000ull : GL_SLICE_NS;
      until = now + (slice < GL_SLICE_NS ? slice : GL_SLICE_NS);
    }
    struct timespec ts = gl_ns_ts(until);
    int rc = pthread_cond_timedwait(&t->gil_cv, &gil.mu, &ts);
    if (atomic_load(&t->gil_granted)) break;
    if (t->is_main && gl_interrupt_pending() && gil.head != t) {
      unqueue(t);            /* Ctrl-C: the main thread goes first */
      enqueue(t, 1);
      if (gil.holder) request_drop(gil.holder, 1, 1);
      continue;
    }
    now = gl_now_ns();
    if (gil.switch_number != seen) {   /* a switch happened: a new turn */
      seen = gil.switch_number;
      last_change = now;
      asked = 0;
      continue;
    }
    if (rc != ETIMEDOUT || gil.holder == NULL) continue;
    if (interval) {
      if (now - last_change + 1000 >= (uint64_t)gil.policy.n * 1000ull)
        request_drop(gil.holder, 1, 1);
    } else if (gil.head != t)
      continue;              /* bytecodes: only the head asks (above) */
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
  if (gil.holder == NULL && gil.head == NULL) {   /* free: take it */
    make_holder(t);
    begin_holding(t, gl_now_ns());
    pthread_mutex_unlock(&gil.mu);
    return;
  }
  enqueue(t, 0);
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
  GLThread *next = dequeue();
  if (next) grant(next);
  else gil.holder = NULL;
  pthread_mutex_unlock(&gil.mu);
}

void gil_hook_point(GLThread *t, lua_State *L) {
  if (GL_POLL_COUNT && !atomic_load(&t->drop_request)) return;   /* TSan poll: nothing asked */
  pthread_mutex_lock(&gil.mu);
  assert(!gil.enabled || gil.holder == t);   /* only the holder runs Lua */
  if (gil.enabled && gil.holder == t && atomic_load(&t->drop_request)) {
    GLThread *h = gil.head;
    if (h == NULL)
      atomic_store(&t->drop_request, 0);
    else if (gil.policy.kind == GIL_BYTECODES && t->hook_fires++ == 0) {
      /* First fire after the request: it came where Lua's VM reloads its
      ** hook flag (a call, a jump). Hand over after a number of
      ** instructions drawn from 1..N, so that the switch can land on any
      ** instruction, as a preemptive switch would (a fixed N would always
      ** land at the same place of a loop). */
      gl_hook_arm(L, 1 + (int)(next_random(t) % (uint32_t)bytecode_count()));
      pthread_mutex_unlock(&gil.mu);
      return;
    }
    else {                     /* hand over to the longest waiter */
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
    gl_hook_arm(L, atomic_load(&t->hook_count));
  else
    gl_hook_idle(L);
  pthread_mutex_unlock(&gil.mu);
}

void gil_rearm(GLThread *t, lua_State *L) {
  if (atomic_load(&t->drop_request))
    gl_hook_arm(L, 1);
}

void gil_note_blocked(GLThread *t, uint64_t ns) {
  atomic_fetch_add(&t->blocked_ns, ns);
}

void gil_fork_prepare(void) { pthread_mutex_lock(&gil.mu); }

void gil_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&gil.mu); }

/* The forking thread holds the GIL (when it is on) and keeps it. */
void gil_fork_child(void) {
  GLThread *self = gl_self;
  gil.head = gil.tail = NULL;     /* gil.mu: the caller took it in prepare */
  gil.holder = gil.enabled ? self : NULL;
  gil.last_holder = self;
  gil.stats = (GILStats){ 0, 0, 0 };
  atomic_store(&self->gil_granted, gil.enabled);
  self->gil_next = NULL;
  atomic_store(&self->drop_request, 0);
  gl_cond_init(&self->gil_cv);
  pthread_mutex_unlock(&gil.mu);
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

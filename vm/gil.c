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
** - Four switching policies, as --switch says (spelling and what N
**   means: gil_policy.c):
**     bytecodes:N  the head of the queue lets the holder run a turn of N
**                  instructions' time, at least MIN_TURN_NS, then asks it
**                  to drop and spins briefly; the holder hands over within
**                  1..min(N, LANDING_MAX) instructions (see "where the
**                  switch lands" below).
**     interval:MS  like CPython 3.2+: a waiter sleeps MS on its condition;
**                  if no new slice began meanwhile the holder drops. The
**                  head waiter sends its request a little ahead of the
**                  slice's end (prearm_ns: the arm signal takes ~25 us to
**                  arrive) with the slice's end as 'drop_at'; the holder
**                  runs the last stretch with the line hook and drops at
**                  its first line boundary from drop_at on, while the
**                  waiter spins. So the hand-over costs a hook and a lock,
**                  not a signal's delivery. The holder runs unhooked, at
**                  full speed, between requests.
**     priority:MS  interval:MS, plus: a thread back from a blocking call
**                  is served first (gil_priority.c explains the design).
**     ticks:N      CPython 2 (gil_ticks.c): no hand-over at all; the
**                  holder drops and retakes the GIL every N instructions
**                  while anybody waits, and whoever is first wins.
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
**   calls, returns and jumps, so a hook armed by a signal starts counting
**   at such a point and first fires min(N, LANDING_MAX) instructions
**   later. The holder lets that first fire pass and hands over at the
**   next one, a random 1..min(N, LANDING_MAX) instructions later
**   (any place of any loop shorter than that): under bytecodes:N a
**   switch can land between any two instructions (the unlocked balance
**   example loses updates). Under interval:MS and priority:MS a slice ends
**   at a line boundary (a new line or a backward jump, from the line hook:
**   the first line event after the hook is armed may come mid-line, as
**   Lua's record of the last line is stale then, so it is let pass), and
**   a drop asked at once (an urgent thread, Ctrl-C, a holder that stayed
**   in C past its slice) at the next call, return or jump.
**
** - Decisions about the hook are made under gil.mu: a waiter sets
**   drop_request and signals under gil.mu, and the holder decides to keep
**   or clear its hook under gil.mu. So a signal can never be overtaken by
**   a "no one is waiting, disarm" decision taken before it. As a second
**   line of defence a waiter that sees no switch for a whole slice sends
**   the signal again (cheap, and harmless when not needed).
**
** - Coroutines are lua_States: the signal handler arms the state the
**   thread runs *now* (GLThread.running, kept by coroutine.c's resume/wrap);
**   a resume/yield boundary re-arms the other side when a drop is
**   pending (gil_rearm), so a thread spinning inside coroutine.resume
**   still switches. A state that keeps a hook nobody needs disarms itself
**   the first time the hook fires.
**
** - With --gil=off, acquire and release do nothing but keep figures:
**   every thread runs in its own interpreter and there is nothing to
**   protect.
**
** Invariants (under gil.mu): except under ticks:N, holder != NULL or
** the queue is empty after every release; a thread is on the queue iff
** it waits and !gil_granted; at most one thread is holder, and only the
** holder runs Lua code in the shared universe (checked in debug builds).
** Under priority:MS the queue holds the urgent waiters first, then at
** most one displaced holder (gil_resume), then the rest in FIFO order.
*/
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <lua.h>

#include "block.h"
#include "gil_core.h"
#include "hook.h"
#include "trace.h"

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() ((void)0)
#endif

GILCore gil = { .mu = PTHREAD_MUTEX_INITIALIZER, .enabled = 1,
                .policy = { GIL_BYTECODES, 100 }, .turn_ns = MIN_TURN_NS };


/* Outside gil.mu: bytecodes:N may calibrate the cost of an instruction
** (a few ms, once). */
static void set_policy(GILPolicy p) {
  uint64_t turn = gil_turn_ns(p, MIN_TURN_NS);
  pthread_mutex_lock(&gil.mu);
  gil.policy = p;
  gil.turn_ns = turn;
  pthread_mutex_unlock(&gil.mu);
}

void gil_setup(int enabled, GILPolicy policy) {
  gil.enabled = enabled;
  set_policy(policy);
}

int gil_enabled(void) { return gil.enabled; }

GILPolicy gil_policy(void) {
  pthread_mutex_lock(&gil.mu);
  GILPolicy p = gil.policy;
  pthread_mutex_unlock(&gil.mu);
  return p;
}

void gil_set_policy(GILPolicy p) { set_policy(p); }

/* ---- queue (gil.mu held) ---- */

/* Q_TAIL: last. Q_FRONT: first (Ctrl-C). Q_URGENT: behind the urgent
** waiters, ahead of the rest. Q_RESUME: the same place, for a holder an
** urgent thread displaced: it resumes its slice next. */
void gil_enqueue(GLThread *t, int where) {
  atomic_store(&t->gil_granted, 0);
  t->gil_urgent = where == Q_URGENT;
  t->gil_resume = where == Q_RESUME;
  GLThread **p = &gil.head;
  if (where == Q_TAIL) p = gil.tail ? &gil.tail->gil_next : &gil.head;
  else if (where != Q_FRONT)
    while (*p && (*p)->gil_urgent) p = &(*p)->gil_next;
  t->gil_next = *p;
  *p = t;
  if (t->gil_next == NULL) gil.tail = t;
}

GLThread *gil_dequeue(void) {
  GLThread *t = gil.head;
  if (t) {
    gil.head = t->gil_next;
    if (gil.head == NULL) gil.tail = NULL;
    t->gil_next = NULL;
  }
  return t;
}

void gil_unqueue(GLThread *t) {   /* take t out wherever it is */
  GLThread **p = &gil.head, *prev = NULL;
  while (*p && *p != t) { prev = *p; p = &(*p)->gil_next; }
  if (*p == NULL) return;
  *p = t->gil_next;
  if (gil.tail == t) gil.tail = prev;
  t->gil_next = NULL;
}

/* ---- switching (gil.mu held) ---- */

/* Ask holder h to drop at its hook point 'count' (GL_HOOK_LINE: the line
** hook) from time 'at' on (0: at once). 'resend' signals even if a request
** is already pending (lost-signal and long-C-call cover). */
static void request_drop(GLThread *h, int count, uint64_t at, int resend) {
  int already = atomic_load(&h->drop_request);
  if (already && !resend) return;
  atomic_store(&h->hook_count, count);
  atomic_store(&h->drop_at, at);
  atomic_store(&h->drop_request, 1);
  gil.stats.requests++;
  GLThread *me = gl_self;
  if (me) GL_TRACE(me, TR_SWITCH_REQUEST, gl_now_ns());
  gl_arm_thread(h);
}

void gil_request_drop(GLThread *h, int count, int resend) { request_drop(h, count, 0, resend); }

/* The holder no longer owes a drop (gil.mu held). */
static void clear_request(GLThread *t) {
  atomic_store(&t->drop_request, 0);
  atomic_store(&t->drop_at, 0);
}

/* On the thread that just got the GIL: arm the hook on what it runs when
** a request came in while it was waking up. */
static void arm_self(GLThread *t) {
  lua_State *L = atomic_load_explicit(&t->running, memory_order_relaxed);
  if (L && atomic_load(&t->drop_request))
    gl_hook_arm(L, atomic_load(&t->hook_count));
}

/* bytecodes: the landing window, 1..min(N, LANDING_MAX) instructions. */
static int landing_window(void) {
  long n = gil.policy.kind == GIL_BYTECODES ? gil.policy.n : 1;
  return (int)(n < LANDING_MAX ? n : LANDING_MAX);
}

/* Makes t the holder; a new turn starts (a switch if t is not the last
** holder), and a new time slice unless t is urgent or resumes one. */
void gil_make_holder(GLThread *t) {
  gil.holder = t;
  gil.turn_start = gl_now_ns();
  atomic_store(&t->gil_granted, 1);
  if (t != gil.last_holder) {
    gil.switch_number++;
    if (gil.last_holder) gil.stats.switches++;
    if (gil.last_holder && gil.dropped_at_hook) gil.stats.forced_switches++;   /* ticks */
    gil.last_holder = t;
  }
  gil.dropped_at_hook = 0;
  if (!t->gil_urgent && !t->gil_resume) gil.slice_number++;
  if (t->gil_resume && gil.displaced_at) {   /* what the urgent turns cost */
    prio_charge(gil.turn_start - gil.displaced_at);
    gil.displaced_at = 0;
  }
  t->gil_resume = 0;
}

/* Makes the waiter t the holder and wakes it. */
void gil_grant(GLThread *t) {
  gil_make_holder(t);
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

/* A waiter that asked for the GIL spins (without gil.mu) for the
** hand-over, which comes within microseconds when the holder runs Lua,
** for at most 'ns'. Returns with gil.mu held again. */
void gil_spin_for_grant(GLThread *t, uint64_t ns) {
  pthread_mutex_unlock(&gil.mu);
  uint64_t until = gl_now_ns() + ns;
  for (int i = 0; !atomic_load(&t->gil_granted); i++) {
    cpu_relax();
    if ((i & 63) == 0 && gl_now_ns() > until) break;
  }
  pthread_mutex_lock(&gil.mu);
}

void gil_begin_holding(GLThread *t, uint64_t now) {
  t->held_since = now;
  t->acquisitions++;
  GL_TRACE(t, TR_HOLD_BEGIN, now);
}

void gil_end_holding(GLThread *t, uint64_t now) {
  t->held_ns += now - t->held_since;
  gil.stats.releases++;
  if (t->gil_urgent) {             /* an urgent turn ends: pay for it, */
    if (gil.displaced_at == 0)     /* unless the displaced holder's resume will */
      prio_charge(now - t->held_since);
    t->gil_urgent = 0;
  }
  GL_TRACE(t, TR_HOLD_END, now);
}

/* Bytecodes policy, head waiter: once the holder's turn is due, ask it to
** drop and spin for the hand-over. Returns the time to sleep until
** otherwise. */
static uint64_t bytecodes_turn(GLThread *t, uint64_t now, int *asked) {
  uint64_t due = gil.turn_start + gil.turn_ns;
  if (now < due) return due;
  if (!*asked) {
    *asked = 1;
    gil.holder->hook_fires = 0;
    gil_request_drop(gil.holder, landing_window(), 1);
  }
  gil_spin_for_grant(t, SPIN_NS);
  if (!atomic_load(&t->gil_granted)) *asked = 0;   /* holder busy in C: ask again later */
  return gl_now_ns() + GL_SLICE_NS;
}

static int is_sliced(GILPolicyKind k) { return k == GIL_INTERVAL || k == GIL_PRIORITY; }

/* Interval and priority: the slice is over (or t is urgent): ask the
** holder to drop at its next hook point and spin for the hand-over. */
static void ask_now(GLThread *t) {
  gil_request_drop(gil.holder, 1, 1);
  if (gil.head == t) gil_spin_for_grant(t, SPIN_NS);
}

/* How long before a slice ends its head waiter sends the request (0: at
** the end, as ask_now). The arm signal takes ~25 us to reach a thread
** running on the other core of the VM this was measured on (p99 60-100
** us), and the waiter itself wakes ~50 us late even with a timer slack of
** 1 us (ask_at sets it; Linux's default is 50 us): asked this much ahead,
** the signal has mostly arrived when the slice ends, and the hand-over
** costs the hook and a lock instead of the signal. The holder meanwhile
** runs with the line hook, at about half speed, which the lead trades
** against the latency (interval:5, 2 CPU-bound threads, medians of
** interleaved runs: hand-over p50 26-28 us asked at the end; 12 us asked
** 120 us ahead, for 1.2% of the two threads' throughput; 5 us asked 250 us
** ahead, for 4.7%). A fortieth of the slice, at most 120 us. */
#define PREARM_MAX_NS 120000ull
#define PREARM_MIN_NS 20000ull
#define PREARM_PART 40
static uint64_t prearm_ns(uint64_t slice) {
  uint64_t lead = slice / PREARM_PART;
  if (lead > PREARM_MAX_NS) lead = PREARM_MAX_NS;
  return lead >= PREARM_MIN_NS ? lead : 0;
}

/* Interval and priority, head waiter, ahead of the slice's end 'due': the
** holder drops at its first line boundary from 'due' on (gil_hook_point);
** t spins through the lead and the hand-over. */
static void ask_at(GLThread *t, uint64_t due) {
  static __thread int slack_set;   /* this thread's timers run with 1 us of slack */
  if (!slack_set) {
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    slack_set = 1;
  }
  uint64_t now = gl_now_ns();
  request_drop(gil.holder, GL_HOOK_LINE, due, 1);
  gil_spin_for_grant(t, (due > now ? due - now : 0) + SPIN_NS);
}

/* Sleeps until t is granted the GIL; t is queued. */
static void wait_granted(GLThread *t) {
  unsigned long seen = gil.slice_number;
  uint64_t last_change = gl_now_ns();   /* when a slice last began, as seen by t */
  int asked = 0;                        /* bytecodes: this turn's request was sent */
  if (t->gil_urgent && gil.holder) ask_now(t);
  if (t->gil_resume) gil_spin_for_grant(t, SPIN_NS);   /* urgent turns are short */
  while (!atomic_load(&t->gil_granted)) {
    GILPolicyKind kind = gil.policy.kind;
    uint64_t now = gl_now_ns(), until;
    if (gil.holder == NULL && gil.head == t) {   /* policy changed from ticks meanwhile */
      gil_unqueue(t);
      gil_make_holder(t);
      break;
    }
    if (kind == GIL_BYTECODES && gil.holder && gil.head == t) {
      until = bytecodes_turn(t, now, &asked);
      if (atomic_load(&t->gil_granted)) break;
    } else if (is_sliced(kind) && gil.holder) {   /* ask 'lead' before the slice's end */
      uint64_t slice = (uint64_t)gil.policy.n * 1000ull;
      uint64_t lead = gil.head == t ? prearm_ns(slice) : 0;
      uint64_t ask = last_change + slice - lead;
      if (lead && now + 1000 >= ask) {
        ask_at(t, last_change + slice);
        if (atomic_load(&t->gil_granted)) break;
        ask = gl_now_ns() + slice;   /* the holder is in a long C call: try again */
      }
      until = ask < now + GL_SLICE_NS ? ask : now + GL_SLICE_NS;
    } else {
      uint64_t slice = is_sliced(kind) ? (uint64_t)gil.policy.n * 1000ull : GL_SLICE_NS;
      until = now + (slice < GL_SLICE_NS ? slice : GL_SLICE_NS);
    }
    struct timespec ts = gl_ns_ts(until);
    int rc = pthread_cond_timedwait(&t->gil_cv, &gil.mu, &ts);
    if (atomic_load(&t->gil_granted)) break;
    if (rc == 0) {
      gil.stats.wasted_wakeups++;
      GL_TRACE(t, TR_WASTED_WAKEUP, gl_now_ns());
    }
    if (t->is_main && gl_interrupt_pending() && gil.head != t) {
      gil_unqueue(t);            /* Ctrl-C: the main thread goes first */
      gil_enqueue(t, Q_FRONT);
      if (gil.holder) gil_request_drop(gil.holder, 1, 1);
      continue;
    }
    now = gl_now_ns();
    if (gil.slice_number != seen) {   /* a new slice (or turn) began */
      seen = gil.slice_number;
      last_change = now;
      asked = 0;
      continue;
    }
    if (rc != ETIMEDOUT || gil.holder == NULL) continue;
    if (is_sliced(kind) && now - last_change + 1000 >= (uint64_t)gil.policy.n * 1000ull)
      ask_now(t);
  }
}

/* t is queued: waits as the policy says, then holds the GIL. */
void gil_wait_turn(GLThread *t) {
  uint64_t since = gl_now_ns();
  t->wait_since = since;
  GL_TRACE(t, TR_WAIT_BEGIN, since);
  if (gil.policy.kind == GIL_TICKS) ticks_wait(t);
  else wait_granted(t);
  uint64_t now = gl_now_ns();
  t->wait_ns += now - t->wait_since;
  GL_TRACE(t, TR_WAIT_END, now);
  gil_begin_holding(t, now);
}

/* ---- public ---- */

static void acquire(GLThread *t, int after_block) {
  pthread_mutex_lock(&gil.mu);
  if (!gil.enabled) {
    t->acquisitions++;
    pthread_mutex_unlock(&gil.mu);
    return;
  }
  assert(gil.holder != t);
  GILPolicyKind kind = gil.policy.kind;
  if (gil.holder == NULL && (gil.head == NULL || kind == GIL_TICKS)) {   /* free: take it */
    t->gil_urgent = t->gil_resume = 0;
    gil_make_holder(t);
    gil_begin_holding(t, gl_now_ns());
    if (kind == GIL_TICKS) ticks_arm_if_contended(t);
    pthread_mutex_unlock(&gil.mu);
    return;
  }
  int urgent = after_block && kind == GIL_PRIORITY && prio_admit(gl_now_ns());
  gil_enqueue(t, urgent ? Q_URGENT : Q_TAIL);
  if (kind == GIL_TICKS && gil.holder) gil_request_drop(gil.holder, (int)gil.policy.n, 0);
  gil_wait_turn(t);
  assert(gil.holder == t);
  arm_self(t);
  pthread_mutex_unlock(&gil.mu);
}

void gil_acquire(GLThread *t) { acquire(t, 0); }
void gil_reacquire(GLThread *t) { acquire(t, 1); }

void gil_release(GLThread *t) {
  pthread_mutex_lock(&gil.mu);
  if (!gil.enabled) {
    pthread_mutex_unlock(&gil.mu);
    return;
  }
  assert(gil.holder == t);
  gil_end_holding(t, gl_now_ns());
  clear_request(t);
  atomic_store(&t->gil_granted, 0);
  if (gil.policy.kind == GIL_TICKS) ticks_release(t);
  else {
    GLThread *next = gil_dequeue();
    if (next) gil_grant(next);
    else gil.holder = NULL;
  }
  pthread_mutex_unlock(&gil.mu);
}

/* The holder hands the GIL to the head of the queue and waits its turn:
** behind the urgent waiters if the head is urgent (it resumes its slice
** next), at the tail otherwise. */
static void hand_over(GLThread *t) {
  clear_request(t);
  gil.stats.forced_switches++;
  gil_end_holding(t, gl_now_ns());
  GLThread *next = gil_dequeue();
  int displaced = next->gil_urgent && !t->gil_urgent;
  if (displaced && gil.displaced_at == 0) gil.displaced_at = gl_now_ns();
  gil_enqueue(t, displaced ? Q_RESUME : Q_TAIL);
  gil_grant(next);
  gil_wait_turn(t);
}

void gil_hook_point(GLThread *t, lua_State *L) {
  if (GL_POLL_COUNT && !atomic_load(&t->drop_request)) return;   /* TSan poll: nothing asked */
  uint64_t at = atomic_load(&t->drop_at);
  if (at && atomic_load(&t->drop_request)) {
    /* Asked ahead of the slice's end (ask_at): keep running, hooked,
    ** until 'at'. The first line event after the hook was armed can come
    ** in the middle of a line (Lua's record of the last line is stale
    ** then), so the drop waits for the next one: a line boundary. */
    int events = atomic_fetch_add(&t->line_events, 1);
    if (events == 0 || gl_now_ns() < at) return;
  }
  pthread_mutex_lock(&gil.mu);
  assert(!gil.enabled || gil.holder == t);   /* only the holder runs Lua */
  if (gil.enabled && gil.holder == t && atomic_load(&t->drop_request)) {
    if (gil.head == NULL)
      clear_request(t);
    else if (gil.policy.kind == GIL_TICKS)
      ticks_hook_point(t);
    else if (gil.policy.kind == GIL_BYTECODES && t->hook_fires++ == 0) {
      /* First fire after the request: it came where Lua's VM reloads its
      ** hook flag (a call, a jump). Hand over after a number of
      ** instructions drawn from the landing window, so that the switch
      ** can land on any instruction, as a preemptive switch would (a
      ** fixed count would always land at the same place of a loop). */
      gl_hook_arm(L, 1 + (int)(next_random(t) % (uint32_t)landing_window()));
      pthread_mutex_unlock(&gil.mu);
      return;
    }
    else hand_over(t);
  }
  if (gil.enabled && atomic_load(&t->drop_request))
    gl_hook_arm(L, atomic_load(&t->hook_count));
  else
    gl_hook_idle(L);
  pthread_mutex_unlock(&gil.mu);
}

void gil_rearm(GLThread *t, lua_State *L) {
  if (atomic_load(&t->drop_request))
    gl_hook_arm(L, atomic_load(&t->hook_count));
}

void gil_fork_prepare(void) { pthread_mutex_lock(&gil.mu); }

void gil_fork_parent(pid_t pid) { (void)pid; pthread_mutex_unlock(&gil.mu); }

/* The forking thread holds the GIL (when it is on) and keeps it. */
void gil_fork_child(void) {
  GLThread *self = gl_self;
  gil.head = gil.tail = NULL;     /* gil.mu: the caller took it in prepare */
  gil.holder = gil.enabled ? self : NULL;
  gil.last_holder = self;
  memset(&gil.stats, 0, sizeof gil.stats);
  atomic_store(&self->gil_granted, gil.enabled);
  self->gil_next = NULL;
  self->gil_urgent = self->gil_resume = 0;
  gil.displaced_at = 0;
  clear_request(self);
  gl_cond_init(&self->gil_cv);
  sem_destroy(&self->gil_sem);
  sem_init(&self->gil_sem, 0, 0);
  self->ticks_signalled = 0;
  pthread_mutex_unlock(&gil.mu);
}

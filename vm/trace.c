/*
** trace.c — the GIL timeline (--trace=FILE) as Chrome trace-event JSON.
**
** Recording. Every thread appends to its own buffer (GLTrace), reached
** through its GLThread's 'trace' field, which only the owner thread
** touches. Appending is a store into the owner's array followed by a
** release store of the count: no lock, no shared cache line, no system
** call on the hot path. A buffer is allocated (malloc) on a thread's first
** event and pushed on a global list with a compare-and-swap, so the list
** never needs a lock either.
**
** A switch request is recorded by the requester under gil.mu: it goes into
** the CALLER's buffer (gl_self), and names the holder it concerns. This
** keeps the rule "only the owner appends to a buffer" true for every event.
**
** Bounded memory. A buffer holds at most 'capacity' events (default
** TRACE_DEFAULT_CAP, or GILLUA_TRACE_EVENTS in the environment). When it
** is full the thread stops recording (the FIRST events are kept: the
** timeline of interest is the start of a run); the number of dropped
** events and the time recording stopped are kept. At write time, an
** interval left open by the drop is closed at that time and flagged
** "truncated", a metadata event "trace_dropped" and an instant event say
** so in the file, and one line on stderr tells the user.
**
** Writing. gl_trace_close (once, at exit, by the main thread) reads every
** buffer up to its count (acquire load: a daemon thread that still runs
** may append, but its new events are simply not read) and converts begin/
** end pairs into "X" complete events named holding / waiting / blocked, one
** lane (tid) per thread, with thread_name / thread_sort_index metadata. A
** begin with no end (e.g. a daemon thread still holding the GIL at exit)
** is closed at the thread's last known time and flagged "open". Buffers are
** never freed: a daemon thread may still append after the write; they stay
** reachable from the global list until the process ends.
**
** fork(): a child inherits the buffers, but only the process that opened
** the trace writes it (the pid is checked), so a child never clobbers the
** parent's file.
*/
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "gil.h"
#include "trace.h"

#define TRACE_DEFAULT_CAP  (1u << 18)   /* 262144 events = 4 MiB per thread */
#define TRACE_MIN_CAP      16u

typedef struct TrEvent {
  uint64_t ts;            /* CLOCK_MONOTONIC ns */
  uint32_t about;         /* serial of the thread the event concerns
                          ** (switch requests: the holder) */
  uint32_t kind;
} TrEvent;

/* One per thread that recorded anything. Ownership: 'ev' slots and
** 'dropped'/'drop_ts' are written by the owner only; 'count' is published
** with release stores and read by the writer with acquire loads; 'name'
** and 'exited' are written once by the owner at thread exit (exited with
** release) and read at close. */
struct GLTrace {
  struct GLTrace *next;          /* global list; immutable once pushed */
  GLThread *owner;
  unsigned long serial;
  long long native_id;
  int is_main;
  uint32_t cap;
  _Atomic uint32_t count;
  _Atomic uint64_t dropped;
  _Atomic uint64_t drop_ts;      /* time of the first dropped event */
  _Atomic uint64_t exit_ts;      /* 0 while the thread runs */
  char name[64];                 /* copied at exit */
  TrEvent ev[];
};

int gl_trace_enabled = 0;

/* The trace's process-wide state. file, path, pid, t0 and cap are set
** once by gl_trace_open at start-up, before any other thread exists, and
** only read after; 'list' is pushed with compare-and-swap; 'closed' is
** exchanged once by gl_trace_close. */
static struct {
  FILE *file;
  char path[1024];
  pid_t pid;                         /* the process that writes the file */
  uint64_t t0;                       /* time zero of the timeline */
  uint32_t cap;                      /* events per thread buffer */
  _Atomic(struct GLTrace *) list;    /* every thread's buffer */
  atomic_int closed;
} trace = { .cap = TRACE_DEFAULT_CAP };


static uint64_t now_ns (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


int gl_trace_open (const char *path, char *err, size_t errlen) {
  const char *env = getenv("GILLUA_TRACE_EVENTS");
  if (env && *env) {
    char *end;
    unsigned long v = strtoul(env, &end, 10);
    if (*end != '\0' || v < TRACE_MIN_CAP || v > (1ul << 26)) {
      snprintf(err, errlen, "bad GILLUA_TRACE_EVENTS '%s' (expected %u..%lu)",
               env, TRACE_MIN_CAP, 1ul << 26);
      return -1;
    }
    trace.cap = (uint32_t)v;
  }
  trace.file = fopen(path, "w");
  if (trace.file == NULL) {
    snprintf(err, errlen, "cannot open trace file '%s': %s", path,
             strerror(errno));
    return -1;
  }
  snprintf(trace.path, sizeof trace.path, "%s", path);
  trace.pid = getpid();
  trace.t0 = now_ns();
  gl_trace_enabled = 1;
  return 0;
}


/* The caller's buffer, created on its first event (NULL if out of memory:
** the event is then lost and counted nowhere, which only happens when
** malloc fails). */
static struct GLTrace *buffer_of (GLThread *t) {
  struct GLTrace *b = t->trace;
  if (b != NULL) return b;
  b = malloc(sizeof *b + (size_t)trace.cap * sizeof(TrEvent));
  if (b == NULL) return NULL;
  b->owner = t;
  b->serial = t->serial;
  b->native_id = (long long)t->native_id;
  b->is_main = t->is_main;
  b->cap = trace.cap;
  atomic_init(&b->count, 0);
  atomic_init(&b->dropped, 0);
  atomic_init(&b->drop_ts, 0);
  atomic_init(&b->exit_ts, 0);
  b->name[0] = '\0';
  b->next = atomic_load_explicit(&trace.list, memory_order_relaxed);
  while (!atomic_compare_exchange_weak_explicit(&trace.list, &b->next, b,
             memory_order_release, memory_order_relaxed))
    ;
  t->trace = b;
  return b;
}


void gl_trace_event (GLThread *t, TrKind kind, uint64_t ts_ns) {
  GLThread *self = gl_self ? gl_self : t;
  struct GLTrace *b;
  uint32_t n;
  if (self == NULL || atomic_load_explicit(&trace.closed, memory_order_relaxed))
    return;
  b = buffer_of(self);
  if (b == NULL) return;
  n = atomic_load_explicit(&b->count, memory_order_relaxed);
  if (n >= b->cap) {   /* full: keep the first events, count the rest */
    if (atomic_load_explicit(&b->dropped, memory_order_relaxed) == 0)
      atomic_store_explicit(&b->drop_ts, ts_ns, memory_order_relaxed);
    atomic_fetch_add_explicit(&b->dropped, 1, memory_order_relaxed);
    return;
  }
  b->ev[n].ts = ts_ns;
  b->ev[n].kind = (uint32_t)kind;
  b->ev[n].about = (uint32_t)(t ? t->serial : self->serial);
  atomic_store_explicit(&b->count, n + 1, memory_order_release);
}


void gl_trace_thread_exit (GLThread *t) {
  struct GLTrace *b;
  if (!gl_trace_enabled || t == NULL || (b = t->trace) == NULL) return;
  /* under gt_lock, as gl_trace_close's copy of the names of threads that
  ** still run: one of the two copies the name, never both at once */
  gt_lock();
  snprintf(b->name, sizeof b->name, "%s", t->name);
  atomic_store_explicit(&b->exit_ts, now_ns(), memory_order_release);
  gt_unlock();
}


/* ---------- writing ---------- */

static void put_json_string (FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

/* Microseconds since the trace was opened, as Chrome's "ts" wants. */
static double us (uint64_t ts) {
  return ts >= trace.t0 ? (double)(ts - trace.t0) / 1000.0
                        : -(double)(trace.t0 - ts) / 1000.0;
}

typedef struct Writer {
  FILE *f;
  int pid;
  int first;          /* no event written yet (comma handling) */
} Writer;

static void begin_event (Writer *w) {
  fputs(w->first ? "\n" : ",\n", w->f);
  w->first = 0;
}

static const char *const span_names[3] = {"holding", "waiting", "blocked"};

static void put_span (Writer *w, long long tid, int which, uint64_t from,
                      uint64_t to, const char *flag) {
  begin_event(w);
  fprintf(w->f, "{\"ph\":\"X\",\"cat\":\"gil\",\"name\":\"%s\",\"pid\":%d,"
          "\"tid\":%lld,\"ts\":%.3f,\"dur\":%.3f", span_names[which], w->pid,
          tid, us(from), (double)(to - from) / 1000.0);
  if (flag) fprintf(w->f, ",\"args\":{\"%s\":true}", flag);
  fputs("}", w->f);
}

static void put_meta (Writer *w, long long tid, const char *name,
                      const char *key, const char *sval, long long ival) {
  begin_event(w);
  fprintf(w->f, "{\"ph\":\"M\",\"name\":\"%s\",\"pid\":%d,\"tid\":%lld,"
          "\"args\":{\"%s\":", name, w->pid, tid, key);
  if (sval) put_json_string(w->f, sval);
  else fprintf(w->f, "%lld", ival);
  fputs("}}", w->f);
}

/* The name of the thread whose serial is 'serial', from the buffers. */
static const char *name_of_serial (uint32_t serial) {
  for (struct GLTrace *b = atomic_load(&trace.list); b; b = b->next)
    if ((uint32_t)b->serial == serial && b->name[0]) return b->name;
  return NULL;
}

/* Writes one thread's lane; returns the number of events it dropped. */
static uint64_t write_lane (Writer *w, struct GLTrace *b, uint64_t end_ts) {
  uint32_t n = atomic_load_explicit(&b->count, memory_order_acquire);
  uint64_t dropped = atomic_load_explicit(&b->dropped, memory_order_relaxed);
  uint64_t drop_ts = atomic_load_explicit(&b->drop_ts, memory_order_relaxed);
  uint64_t exit_ts = atomic_load_explicit(&b->exit_ts, memory_order_acquire);
  uint64_t open[3] = {0, 0, 0};
  int is_open[3] = {0, 0, 0};
  long long tid = b->native_id ? b->native_id : (long long)b->serial + 1;
  uint64_t last = end_ts;
  if (dropped) last = drop_ts;
  else if (exit_ts) last = exit_ts;
  put_meta(w, tid, "thread_name", "name", b->name, 0);
  put_meta(w, tid, "thread_sort_index", "sort_index", NULL, (long long)b->serial);
  for (uint32_t i = 0; i < n; i++) {
    const TrEvent *e = &b->ev[i];
    int which;
    switch ((TrKind)e->kind) {
      case TR_HOLD_BEGIN: case TR_WAIT_BEGIN: case TR_BLOCK_BEGIN:
        which = e->kind == TR_HOLD_BEGIN ? 0 : e->kind == TR_WAIT_BEGIN ? 1 : 2;
        open[which] = e->ts;
        is_open[which] = 1;
        break;
      case TR_HOLD_END: case TR_WAIT_END: case TR_BLOCK_END:
        which = e->kind == TR_HOLD_END ? 0 : e->kind == TR_WAIT_END ? 1 : 2;
        if (is_open[which]) {   /* an end without a begin is ignored */
          put_span(w, tid, which, open[which], e->ts, NULL);
          is_open[which] = 0;
        }
        break;
      case TR_SWITCH_REQUEST: {
        const char *holder = e->about != (uint32_t)b->serial ? name_of_serial(e->about)
                                                   : NULL;
        begin_event(w);
        fprintf(w->f, "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"gil\",\"name\":"
                "\"switch request\",\"pid\":%d,\"tid\":%lld,\"ts\":%.3f",
                w->pid, tid, us(e->ts));
        if (e->about != (uint32_t)b->serial) {   /* the holder is known */
          fputs(",\"args\":{\"holder\":", w->f);
          if (holder) put_json_string(w->f, holder);
          else fprintf(w->f, "\"#%lu\"", (unsigned long)e->about);
          fputs("}", w->f);
        }
        fputs("}", w->f);
        break;
      }
      case TR_WASTED_WAKEUP:
        begin_event(w);
        fprintf(w->f, "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"gil\",\"name\":"
                "\"wasted wake-up\",\"pid\":%d,\"tid\":%lld,\"ts\":%.3f}",
                w->pid, tid, us(e->ts));
        break;
    }
  }
  for (int k = 0; k < 3; k++)
    if (is_open[k])
      put_span(w, tid, k, open[k], last > open[k] ? last : open[k],
               dropped ? "truncated" : "open");
  if (dropped) {
    begin_event(w);
    fprintf(w->f, "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"gil\",\"name\":"
            "\"trace buffer full: later events dropped\",\"pid\":%d,"
            "\"tid\":%lld,\"ts\":%.3f,\"args\":{\"dropped\":%llu}}", w->pid,
            tid, us(drop_ts), (unsigned long long)dropped);
    put_meta(w, tid, "trace_dropped", "dropped", NULL, (long long)dropped);
  }
  return dropped;
}

void gl_trace_close (void) {
  Writer w;
  uint64_t end_ts = now_ns(), dropped = 0;
  unsigned long events = 0;
  GILPolicy p;
  char policy[64];
  if (!gl_trace_enabled || trace.file == NULL || getpid() != trace.pid) return;
  if (atomic_exchange(&trace.closed, 1)) return;   /* once */
  /* names of threads still running (main, daemons) */
  gt_lock();
  for (struct GLTrace *b = atomic_load(&trace.list); b; b = b->next)
    if (atomic_load_explicit(&b->exit_ts, memory_order_acquire) == 0)
      snprintf(b->name, sizeof b->name, "%s", b->owner->name);
  gt_unlock();
  p = gil_policy();
  if (!gil_enabled()) snprintf(policy, sizeof policy, "off");
  else gil_format_policy(p, policy, sizeof policy);
  w.f = trace.file;
  w.pid = (int)trace.pid;
  w.first = 1;
  fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", w.f);
  begin_event(&w);
  fprintf(w.f, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,"
          "\"args\":{\"name\":\"gillua (GIL %s)\"}}", w.pid, policy);
  for (struct GLTrace *b = atomic_load(&trace.list); b; b = b->next) {
    dropped += write_lane(&w, b, end_ts);
    events += atomic_load_explicit(&b->count, memory_order_acquire);
  }
  if (dropped) {
    begin_event(&w);
    fprintf(w.f, "{\"ph\":\"M\",\"name\":\"trace_dropped\",\"pid\":%d,"
            "\"args\":{\"dropped\":%llu,\"capacity_per_thread\":%u,\"note\":"
            "\"per-thread trace buffers filled up; the first events of each "
            "thread are kept, later ones were dropped\"}}", w.pid,
            (unsigned long long)dropped, trace.cap);
  }
  fprintf(w.f, "\n],\"otherData\":{\"producer\":\"gillua\",\"version\":\"%s\","
          "\"policy\":\"%s\",\"events\":%lu,\"dropped\":%llu,"
          "\"capacity_per_thread\":%u,\"duration_us\":%.3f}}\n",
#ifdef GILLUA_VERSION
          GILLUA_VERSION,
#else
          "?",
#endif
          policy, events, (unsigned long long)dropped, trace.cap, us(end_ts));
  if (fclose(trace.file) != 0)
    fprintf(stderr, "gillua: trace: cannot write '%s': %s\n", trace.path,
            strerror(errno));
  trace.file = NULL;
  if (dropped)
    fprintf(stderr, "gillua: trace: %llu events dropped (buffers hold %u "
            "events per thread; set GILLUA_TRACE_EVENTS to keep more); '%s' "
            "has the first events of each thread\n",
            (unsigned long long)dropped, trace.cap, trace.path);
}

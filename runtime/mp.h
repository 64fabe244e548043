/*
** mp.h — internals shared by the process modules (os extensions,
** multiprocessing, subprocess). Not a Lua-facing header.
**
** Shared memory: one arena (mp_shm.c), mapped MAP_SHARED|MAP_ANONYMOUS at
** a fixed size the first time any process feature is used (require
** "multiprocessing", os.fork). Every process forked afterwards inherits
** the mapping at the same address, so an object allocated in the arena by
** ANY of them — also after the fork, e.g. a Value created after a Pool
** started — is visible to all of them. Objects are referred to by their
** offset in the arena (stable everywhere).
**
** Waiting across processes uses raw futexes on 32-bit sequence words in
** the arena (never process-shared condition variables: glibc's condvar
** keeps per-waiter state that a waiter killed by SIGKILL leaves behind, and
** a later signal can then block forever). Data is guarded by robust,
** process-shared mutexes: a holder that dies releases them (EOWNERDEAD).
*/
#ifndef mp_h
#define mp_h

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <lua.h>

#include "rtobject.h"

/* ---- arena (mp_shm.c) ---- */

/* Maps the arena once per process tree; safe to call often. Returns 0, or
** -1 when the mapping failed (message in err). */
int mp_shm_init(char *err, size_t errlen);
/* Zero-filled block of n bytes, 16-aligned, with a shared refcount of 1.
** NULL when the arena is full. */
void *mp_shm_alloc(size_t n);
/* The same, not zeroed (but its first 16 bytes), and recorded in this
** process's ledger with 'release' (NULL: mp_shm_decref; it may read those
** 16 bytes) before the arena lock is released: for blocks filled before they
** are linked into a shared structure (the caller removes the entry when it
** hands the block over) and for blocks a handle is made on at once
** (mp_ref_init takes the entry over): a process killed at any point gives
** the block back. */
void *mp_shm_alloc_owned(size_t n, void (*release)(void *));
void mp_shm_incref(void *p);
/* Frees the block when the count reaches 0. */
void mp_shm_decref(void *p);
/* Drops a reference; returns 1 when it was the last (the caller then
** cleans up the block's contents and calls mp_shm_free). Misuse that would
** corrupt the arena shared by all processes (a reference dropped too
** often, a double free, a write into a freed block) aborts the process at
** once with a message naming it ("shared-memory arena corrupted"). */
int mp_shm_unref(void *p);
void mp_shm_free(void *p);
/* Allocation that raises a Lua error naming 'what' when the arena is full. */
void *mp_shm_alloc_or_raise(lua_State *L, size_t n, const char *what);
uint64_t mp_shm_off(const void *p);
void *mp_shm_ptr(uint64_t off);      /* NULL for 0 or out-of-range offsets */
size_t mp_shm_used(void);            /* bytes in use, heads included */
/* The allocator's figures (multiprocessing.arena_stats). */
typedef struct MpShmStats {
  uint64_t size;          /* bytes the heap can use */
  uint64_t used;          /* live blocks, heads included */
  uint64_t free;          /* size - used */
  uint64_t largest_free;  /* largest block that can be allocated now */
  uint64_t blocks;        /* live blocks */
  uint64_t free_blocks;   /* free pieces below the top (fragmentation) */
} MpShmStats;
void mp_shm_stats(MpShmStats *st);
/* Raises "<what>: shared memory exhausted (n bytes requested, ...)". */
int mp_raise_exhausted(lua_State *L, const char *what, size_t n);
uint64_t mp_shm_secret(void);        /* random per arena */
uint64_t mp_shm_gen(const void *p);  /* a live block's generation: unique per allocation */
void *mp_shm_block_at(uint64_t off); /* a live block's data at off, or NULL */
void *mp_shm_dying_at(uint64_t off); /* the same for a live block with no reference left */

/* The ledger (mp_ledger.c): what a forked child owns in the arena, so that
** its parent gives it back when the child was killed (SIGKILL) and never
** dropped it. Every reference a child holds through a handle, and every
** block it is filling before it links it into a shared structure (a
** Queue item, a big Pipe message), is an entry (block, release function).
** Entries are added AFTER the reference is taken and removed BEFORE it is
** dropped or handed over, each by one store: a death between the two
** leaks a block, never frees one twice. No-ops in the original process. */
void mp_ledger_add(void *block, void (*release)(void *));
void mp_ledger_remove(void *block);
/* The same once the block may be gone: the entry of that generation. */
void mp_ledger_remove_gen(void *block, uint64_t gen);
/* The allocator's entry for a block of mp_shm_alloc_owned (under the arena
** lock), and a handle's: it takes over the allocator's entry for the
** block when there is one (mp_ref_init), else adds its own. */
void mp_ledger_add_fresh(void *block, void (*release)(void *));
/* Between the last reference's drop and the block's free (mp_shm.c,
** mp_arena.c): a process dying in between leaves it to its reaper. */
void mp_ledger_freeing(void *block);
void mp_ledger_freed(void *block);
void mp_ledger_add_handle(void *block, void (*release)(void *));
/* Around fork (called by mp_refs_fork_prepare/parent/child): the parent fills
** the child's ledger with the references it takes for the child. */
void mp_ledger_prepare(void);
void mp_ledger_prepared_add(void *block, void (*release)(void *));
void mp_ledger_after_fork(pid_t pid);
/* The parent reaped pid: gives back what the child still owned. */
void mp_ledger_reaped(pid_t pid);

/* Local handles to arena objects. Every process-local RtObject of the
** process modules that owns a shared reference starts with an MpRef; they
** are kept on a per-process list so that a forked child (which inherits
** copies of them) takes its own shared reference for each (mp_fork), and
** drops them all before _exit (mp_child_exit). */
typedef struct MpRef {
  RtObject rt;
  void *shared;                 /* arena block, one shared reference */
  void (*release)(void *);      /* drops it (default mp_shm_decref) */
  /* optional: before a fork, in the parent, for each handle the child
  ** will inherit (delta +1; -1 undoes it when the fork failed), and
  ** before the reference is dropped */
  void (*forked)(struct MpRef *r, int delta);
  void (*closing)(struct MpRef *r);
  struct MpRef *prev, *next;    /* per-process list, guarded in mp_shm.c */
} MpRef;

/* Takes over one shared ref. r->release, when already set (r comes from
** calloc), is kept: set it BEFORE mp_ref_init, the ledger records it. */
void mp_ref_init(MpRef *r, const RtType *t, void *shared);
/* __eq metamethod: same arena object (set by each type's luaopen part). */
int mp_ref_eq(lua_State *L);
/* For destroy(): unlinks, drops the shared ref, frees the local object. */
void mp_ref_destroy(MpRef *r);

/* Fork duties (gl_at_fork): the PARENT takes a shared reference for every
** handle the child inherits before forking (so the parent cannot drop the
** last reference while the child still starts up), holding the handle
** list's lock across the fork; the parent step releases it (and undoes
** the references when pid < 0); the child step re-initialises the lock.
** Before a child's _exit: drop them all (its Lua state is never closed). */
void mp_refs_fork_prepare(void);
void mp_refs_fork_parent(pid_t pid);
void mp_refs_fork_child(void);
void mp_refs_release_all(void);

/* ---- robust process-shared mutexes and futex waits (mp_shm.c) ---- */

void mp_mutex_init(pthread_mutex_t *mu, int type);  /* PTHREAD_MUTEX_* type */
/* Locks mu (never blocks for long: data locks only). Returns 1 when the
** previous owner died holding it (the mutex is made consistent), else 0. */
int mp_lock(pthread_mutex_t *mu);
void mp_unlock(pthread_mutex_t *mu);

/* Waits while *word == val, at most until 'deadline' (CLOCK_MONOTONIC, NULL
** = forever) and at most one slice (50 ms) so callers can look at Ctrl-C
** and at dead peers. Returns 0 (woken, or spurious), ETIMEDOUT when the
** deadline has passed. Call with no lock held and the GIL released. */
int mp_futex_wait(uint32_t *word, uint32_t val, const struct timespec *deadline);
/* Bumps *word and wakes up to n waiters (n < 0: all). */
void mp_futex_wake(uint32_t *word, int n);


/* ---- processes (mp_fork.c) ---- */

/* Maps the arena, then gl_fork(), whose fork list makes the child forget
** its parent's children, pools and manager connections and take shared
** references for its copies of arena handles (runtime/universe.c); the
** child reseeds math.random. Returns as fork(). */
pid_t mp_fork(lua_State *L, int flags);
/* mp_fork flags: the child is killed when its parent dies (see mp_fork.c). */
enum { MP_FORK_TIED = 1 };
/* Leaves a forked child: flushes stdio, drops shared references, _exit. */
void mp_child_exit(int code) __attribute__((noreturn));
/* The end of a forked child's program (its target returned, or os.exit):
** joins its non-daemon threads, stops and joins its own children, then
** mp_child_exit. */
void mp_child_finish(int code) __attribute__((noreturn));
/* Runs body with the nargs values on top of the stack, protected, and
** leaves the child with body's integer result as exit code (1 when it
** returns none), or with 1 after printing "Process NAME:" and the error
** with its traceback on stderr. Never returns. */
void mp_child_main(lua_State *L, lua_CFunction body, int nargs) __attribute__((noreturn));
/* True in a process made by mp_fork (not the original program). */
int mp_is_child(void);

/* Reaping (mp_reap.c): waitpid(pid, WNOHANG) as 'who'. An owner (the
** object that started the child) that finds its child reaped by a
** script's os.waitpid gets the status that call took; os.waitpid
** (MP_REAP_SCRIPT) leaves one for the owner. */
enum { MP_REAP_OWNER, MP_REAP_SCRIPT };
pid_t mp_reap(pid_t pid, int *status, int who);
/* A new child has this pid: an unclaimed status of an older one is dropped. */
void mp_reap_forget(pid_t pid);
/* Fork duties: reap_mu held across fork(); the parent drops an old
** status of the new child's pid; the child forgets its parent's (and
** its orphans). */
void mp_reap_fork_prepare(void);
void mp_reap_fork_parent(pid_t pid);
void mp_reap_fork_child(void);
/* pid's owner is gone without waiting for it (a finalizer asked it to
** stop): it is reaped by mp_reap_orphans, at the latest at exit. */
void mp_reap_later(pid_t pid);
/* Reaps the orphans that have ended; grace < 0: no waiting; else waits
** up to grace seconds for the others, then kills and reaps them. */
void mp_reap_orphans(double grace);

/* Waits for pid, releasing the GIL, until it exits or the deadline passes.
** Returns 1 with *status filled (the child is reaped), 0 on timeout, -1
** with errno set (ECHILD...), or -2 when interrupted by Ctrl-C. Reaps as
** 'who' (mp_reap). */
int mp_wait_pid(pid_t pid, int *status, const struct timespec *deadline, int who);
/* Alive and not a zombie (works for processes that are not our children). */
int mp_pid_alive(pid_t pid);
/* Python's exit code convention: code, or -signal. */
int mp_exitcode(int status);
/* "killed by signal 9 (Killed)" / "exited with code 3" */
void mp_describe_status(int status, char *buf, size_t n);

/* Child registry for shutdown and active_children (mp_process.c). Fork
** duties: its lock is held across fork(); a child forgets the list. */
void mp_children_fork_prepare(void);
void mp_children_fork_parent(pid_t pid);
void mp_children_fork_child(void);
/* os.waitpid reaped pid with status (called by mp_reap): a Process
** tracking it learns its exit code (instead of finding it gone). */
void mp_child_reaped(pid_t pid, int status);
/* The same for the Pool list (mp_pool.c), the Manager list
** (mp_manager.c) and the exportable types (mp_mark.c). */
void mp_pools_fork_prepare(void);
void mp_pools_fork_parent(pid_t pid);
void mp_pools_fork_child(void);
void mp_managers_fork_prepare(void);
void mp_managers_fork_parent(pid_t pid);
void mp_managers_fork_child(void);
void mp_exports_fork_prepare(void);
void mp_exports_fork_parent(pid_t pid);
void mp_exports_fork_child(void);
const char *mp_current_name(void);
void mp_set_current_name(const char *name);

/* Signal name/number: "TERM", "SIGTERM", 15 -> 15; -1 if unknown. */
int mp_signal_number(lua_State *L, int idx);

/* ---- byte channels in the arena (mp_chan.c) ----
** A message queue of byte strings. Used by multiprocessing.Queue and by
** the Pool (tasks and results) and the Manager (requests). */
typedef struct MpChan MpChan;

MpChan *mp_chan_new(lua_State *L, long maxsize);   /* raises when the arena is full */
/* Appends a message. Blocks while full (maxsize > 0). Returns 0, ETIMEDOUT
** (full until the deadline), EINTR (Ctrl-C), ENOMEM (arena full) or
** ESHUTDOWN. The
** GIL is released only when the call has to wait. */
int mp_chan_put(MpChan *c, const void *data, size_t len, int block,
                const struct timespec *deadline);
/* The same, the message being hdr[0..hlen) followed by data[0..len). */
int mp_chan_put2(MpChan *c, const void *hdr, size_t hlen, const void *data,
                 size_t len, int block, const struct timespec *deadline);
/* The same, and *sent (not NULL) is set to 1 under the channel's lock
** right before the message is linked: the message carries a reference
** that this process's ledger must no longer release from then on (a
** Manager reply box's, see mp_manager.c). */
int mp_chan_put_handing(MpChan *c, const void *hdr, size_t hlen, const void *data,
                        size_t len, int block, const struct timespec *deadline,
                        uint32_t *sent);
/* Takes the oldest message: *data is malloc'ed (caller frees). 'tag' when
** not NULL receives the message's first 8 bytes atomically with the take
** (the Pool records which task a worker holds). Returns 0, ETIMEDOUT,
** EAGAIN (empty and not blocking), EINTR or ESHUTDOWN (shut down and
** empty). 'poll' (may be NULL) is called
** between slices of a long wait, GIL held; a non-zero return aborts the
** wait with that code. */
int mp_chan_get(MpChan *c, void **data, size_t *len, int block,
                const struct timespec *deadline, uint64_t *tag,
                int (*poll)(void *), void *poll_ud);
/* Python 3.13's Queue.shutdown across processes: puts fail with
** ESHUTDOWN from now on, gets once the channel is empty; 'immediate'
** drops the messages first (counting them done). Every waiter wakes. */
void mp_chan_shutdown(MpChan *c, int immediate);
int mp_chan_is_shutdown(MpChan *c);
long mp_chan_size(MpChan *c);
long mp_chan_maxsize(MpChan *c);
/* Tests only (NULL otherwise): called with the channel's lock held at
** each step of linking or unlinking a message; a test kills the process
** there to check the repair done by the next locker. */
enum { MP_CHAN_LINKING, MP_CHAN_LINKED, MP_CHAN_TAILED, MP_CHAN_COUNTED,
       MP_CHAN_UNLINKED, MP_CHAN_UNTAILED, MP_CHAN_STEPS };
extern void (*mp_chan_step_hook)(int step);
/* JoinableQueue bookkeeping. */
void mp_chan_unfinished_add(MpChan *c, long d);
int mp_chan_task_done(MpChan *c);               /* -1: called too often */
int mp_chan_join(MpChan *c, const struct timespec *deadline);
void mp_chan_incref(MpChan *c);
void mp_chan_decref(MpChan *c);

/* Raises queue.Empty / queue.Full (the queue module's error objects). */
int mp_raise_queue_error(lua_State *L, const char *which);

/* ---- the value transfer across processes (mp_xfer.c) ----
** Arena objects (Value, Array, the multiprocessing locks, queues, Manager
** proxies) inside a message are first replaced by marker tables naming
** their arena offset (mp_mark, which takes a reference for the message),
** and turned back into handles by the receiver (mp_unmark, which hands
** that reference to the new handle). Each module registers its types. */
typedef struct MpExport {
  const RtType *type;
  size_t size;                          /* local object size (MpRef first) */
  void (*release)(void *);
} MpExport;
void mp_exportable(const MpExport *e);
/* Rewrites the n values at first.. in place; returns how many objects. */
int mp_mark(lua_State *L, int first, int n);
/* Whether encoded bytes contain markers (a cheap scan), and rewriting the
** markers in the n decoded values at first.. into handles. */
int mp_marked(const void *data, size_t len);
void mp_unmark(lua_State *L, int first, int n);
/* The same in protected mode: 0, or -1 with the error message pushed. */
int mp_mark_p(lua_State *L, int first, int n);
int mp_unmark_p(lua_State *L, int first, int n);
#include "transfer.h"
/* Encodes n values from 'first' (raises on values that cannot travel). */
void mp_encode(lua_State *L, int first, int n, const char *what, TrBuffer *b);
/* After the bytes were copied out (into shared memory, a pipe...). */
void mp_encoded_done(TrBuffer *b);
/* Decodes and pushes; raises on corrupt input. Returns the count. */
int mp_decode(lua_State *L, const void *data, size_t len);

/* Module parts: each adds its functions to the table on top of the stack. */
void mp_open_process(lua_State *L);
void mp_open_pool(lua_State *L);
void mp_open_queue(lua_State *L);
void mp_open_pipe(lua_State *L);
void mp_open_shared(lua_State *L);
void mp_open_sync(lua_State *L);
void mp_open_manager(lua_State *L);

/* mp_sync.c: a new Lock/RLock block (one shared reference, for Value's
** lock), and a handle on any sync block (takes a new reference). */
void *mp_sync_new_lock(lua_State *L, int recursive);
void mp_sync_push(lua_State *L, void *block);
/* The sync block behind a Lock/RLock handle at idx, or NULL. */
void *mp_sync_test_lock(lua_State *L, int idx);

/* Shutdown callback work (mp_process.c drives it). */
void mp_pools_shutdown(int interrupted);
void mp_managers_shutdown(int interrupted);

#endif

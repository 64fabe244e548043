/*
** mp_manager.h — internals of multiprocessing.Manager: the shared block,
** the wire format and the server loop (mp_mgr_server.c).
**
** Request (a message on the manager's request channel):
**   u64 reply box offset | u32 object id | u8 op | transfer(args...)
** Reply: the server allocates an arena block, fills it with
**   transfer(results...)  (or, ok = 0, transfer(error message))
** and publishes it in the client's reply box, then wakes it.
**
** A reply box has two shared references: the client's and the request's
** (the server's). The server keeps its own until it has published the
** reply AND woken the client (the wake-up writes the futex word in the
** box, after 'done' is set: a client that sees 'done' early reads the
** reply and drops its reference meanwhile, so with a single reference that
** write would land in a freed block and corrupt the arena's free list).
** The box owns the reply bytes: mp_mgr_box_release frees both with the
** last reference, so a client that gave up (Ctrl-C) leaks nothing.
*/
#ifndef mp_manager_h
#define mp_manager_h

#include <stdint.h>
#include <sys/types.h>

#include "mp.h"

enum {
  MOP_CREATE = 1, MOP_GET, MOP_SET, MOP_DEL, MOP_LEN, MOP_COPY, MOP_APPEND,
  MOP_INSERT, MOP_POP, MOP_REMOVE, MOP_EXTEND, MOP_INDEX, MOP_CLEAR, MOP_KEYS,
  MOP_VALUES, MOP_ITEMS, MOP_GETDEF, MOP_SETDEF, MOP_UPDATE, MOP_CONTAINS,
  MOP_COUNT, MOP_SHUTDOWN,
  MOP_DROP,                  /* no reply (reply box offset 0): forget object 'id' */
  MOP_NOBJECTS               /* how many objects the server holds */
};

enum { MK_DICT = 1, MK_LIST, MK_NAMESPACE };

/* In the arena; fields written once before the server starts, except
** the atomic ones. A Manager collected without shutdown() sets
** 'abandoned'; the server is then told to leave (a MOP_SHUTDOWN without
** reply box, sent once: 'bye_sent') as soon as no shared object is left
** ('objects' counts the MgrObj records, in every process), so proxies
** still in use keep their server, as Python's keep their manager. */
typedef struct MgrShared {
  MpChan *req;               /* request channel (one reference) */
  pid_t server;              /* the server process */
  pid_t creator;
  int stopped;               /* atomic */
  int32_t objects;           /* atomic */
  int32_t abandoned;         /* atomic */
  int32_t bye_sent;          /* atomic */
} MgrShared;

/* One per shared object, in the arena; fields written once, before the
** first proxy exists. Its shared references are the object's: every
** proxy handle, in any process, holds one, and so does every message in
** flight that carries a proxy (mp_mark.c), so the object outlives the
** trip. The last reference sends MOP_DROP and the server forgets the
** object (Python's managers count references through their proxies
** too). Holds one reference to its MgrShared. */
typedef struct MgrObj {
  MgrShared *m;
  uint32_t id;
  int32_t kind;
} MgrObj;

typedef struct MgrReply {    /* one per request, in the arena */
  /* first 16 bytes: read by the client's ledger (mp_manager.c, box_lost) */
  uint32_t server_ref;       /* the server's reference was taken */
  uint32_t sent;             /* the request carrying it is queued (set under
                             ** the request channel's lock) */
  uint32_t client_ref;       /* the client still holds its reference (taken
                             ** back by one exchange, see drop_box) */
  uint32_t seq;              /* futex word: bumped when done */
  int32_t done;              /* 0 pending, 1 done (atomic) */
  int32_t ok;
  uint64_t msg;              /* offset of the reply bytes (an arena block) */
  uint64_t len;
} MgrReply;

/* Drops one reference to a reply box; the last frees the reply too. */
void mp_mgr_box_release(MgrReply *box);

/* mp_mgr_client.c: sends op (on object id) with the n values at first..
** and pushes the results; returns their count. Raises the server's
** error, or when the server is gone; 'dl' limits the wait (NULL: none). */
int mp_mgr_request(lua_State *L, MgrShared *m, uint32_t id, int op, int first, int n,
                   const struct timespec *dl);
/* A new reply box with its two references under one ledger entry (NULL
** when the arena is full); dropping the client's reference (and the
** entry); dropping both when the request never left. */
MgrReply *mp_mgr_new_box(void);
void mp_mgr_drop_box(MgrReply *box);
void mp_mgr_drop_box_unsent(MgrReply *box);

/* mp_manager.c: drops one reference to a MgrShared (the last frees it). */
void mp_mgr_release(void *m);
/* Tells the server of an abandoned manager to leave, once. */
void mp_mgr_say_bye(MgrShared *m);

/* mp_mgr_proxy.c: pushes the first proxy on the new object id, and
** registers the proxy types (module table on top). */
void mp_mgr_push_proxy(lua_State *L, MgrShared *m, uint32_t id, int kind);
void mp_mgr_open_proxies(lua_State *L);

/* The server's body in the forked child (mp_child_main), the MgrShared
** as a light userdata at 1; never returns. */
int mp_mgr_serve(lua_State *L);

#endif

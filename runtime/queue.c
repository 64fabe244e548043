/*
** queue.c — the `queue` module: Queue, LifoQueue, PriorityQueue and
** SimpleQueue over the blocking queue of queue_core.c, and the error
** objects queue.Empty / queue.Full.
**
** Items. With the GIL on there is one Lua universe: an item is the Lua
** value itself, kept alive by a reference in the registry table
** "gillua.queue.items" (luaL_ref) while it is queued; get returns the
** same value (no copy). With the GIL off, queues are shared by
** interpreters that share no Lua values: put encodes the item with the
** value transfer, get decodes it in the getter's interpreter (a copy).
** References and encodings are made before the queue's mutex is taken
** and undone after it is released: Lua code (a __gc finalizer during an
** allocation, a count hook switching the GIL) never runs under it.
**
** PriorityQueue order. The key of an item is the item itself when it is
** a number or a string, or its [1] field when it is a table (so
** {priority, data} behaves like Python's (priority, data) tuples); any
** other item is refused at put. Keys compare as Lua's `<` would (numbers
** with numbers, strings with strings; mixing them is an error, as in
** Lua); equal keys come out in insertion order (FIFO), where Python would
** compare the data. The key is extracted at put time, in both GIL modes,
** so no Lua code runs while the heap is reordered.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "block.h"
#include "errobj.h"
#include "gil.h"
#include "modules.h"
#include "queue.h"
#include "queue_core.h"
#include "rtobject.h"
#include "syncwait.h"
#include "transfer.h"

#define ITEMS "gillua.queue.items"

typedef struct LQueue {
  RtObject base;
  GLQueue q;
} LQueue;

static void queue_destroy(RtObject *o, lua_State *L);
static void queue_after_fork(RtObject *o);

static const RtType fifo_type = {"queue.Queue", "queue", queue_destroy, queue_after_fork};
static const RtType lifo_type = {"queue.LifoQueue", "queue", queue_destroy, queue_after_fork};
static const RtType prio_type = {"queue.PriorityQueue", "queue", queue_destroy, queue_after_fork};
static const RtType simple_type = {"queue.SimpleQueue", "queue", queue_destroy, queue_after_fork};

void gl_queue_push_error(lua_State *L, const char *which) {
  gl_errobj_push(L, strcmp(which, "Full") == 0 ? "queue.Full" : "queue.Empty");
}

/* ---- items ---------------------------------------------------------- */

static void pushitems(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, ITEMS);
}

static void key_free(QKey *k) {
  free(k->s);
  k->s = NULL;
}

/* Frees what an item holds. L may be NULL (last reference dropped by a C
** holder): a GIL-on reference then stays in the registry table until the
** interpreter closes; there is no safe way to touch Lua without a state. */
static void item_drop(QItem *it, void *ud) {
  lua_State *L = (lua_State *)ud;
  if (it->is_ref) {
    if (L) {
      pushitems(L);
      luaL_unref(L, -1, it->ref);
      lua_pop(L, 1);
    }
  } else
    tr_buffer_free(&it->buf);
  key_free(&it->key);
}

static void queue_destroy(RtObject *o, lua_State *L) {
  LQueue *lq = (LQueue *)o;
  rt_unlink(o);
  gq_destroy(&lq->q, item_drop, L);
  free(lq);
}

static void queue_after_fork(RtObject *o) {
  gq_after_fork(&((LQueue *)o)->q);
}

/* The priority key of the item at idx (see the top of the file). */
static void getkey(lua_State *L, int idx, QKey *k) {
  memset(k, 0, sizeof *k);
  int kidx = idx, pushed = 0;
  if (lua_type(L, idx) == LUA_TTABLE) {
    lua_rawgeti(L, idx, 1);
    kidx = lua_gettop(L);
    pushed = 1;
  }
  switch (lua_type(L, kidx)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L, kidx)) {
        k->type = QK_INT;
        k->i = lua_tointeger(L, kidx);
      } else {
        k->type = QK_FLT;
        k->f = lua_tonumber(L, kidx);
        if (isnan(k->f)) luaL_error(L, "PriorityQueue: priority is NaN");
      }
      break;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, kidx, &len);
      k->s = (char *)malloc(len ? len : 1);
      if (k->s == NULL) luaL_error(L, "not enough memory");
      memcpy(k->s, s, len);
      k->len = len;
      k->type = QK_STR;
      break;
    }
    default:
      if (pushed)
        luaL_error(L, "PriorityQueue: item[1] must be a number or a string (got %s)",
                   luaL_typename(L, kidx));
      luaL_error(L, "PriorityQueue: item must be a number, a string or a table "
                    "{priority, ...} (got %s)", luaL_typename(L, kidx));
  }
  if (pushed) lua_pop(L, 1);
}

/* Fills 'it' for the value at idx: key (PriorityQueue), then the payload.
** Raises on a value that cannot be queued (nothing is held then). */
static void item_make(lua_State *L, LQueue *lq, int idx, QItem *it) {
  memset(it, 0, sizeof *it);
  if (lq->q.core.kind == QC_PRIO) getkey(L, idx, &it->key);
  if (gil_enabled()) {
    it->is_ref = 1;
    pushitems(L);
    lua_pushvalue(L, idx);
    it->ref = luaL_ref(L, -2);   /* may raise (memory): key leaks, rare */
    lua_pop(L, 1);
  } else {
    char err[256];
    tr_buffer_init(&it->buf);
    if (tr_encode(L, idx, 1, "item", &it->buf, err, sizeof err) != 0) {
      key_free(&it->key);
      luaL_error(L, "%s", err);
    }
  }
}

/* Pushes the item's value and frees the item. */
static void item_push(lua_State *L, QItem *it) {
  if (it->is_ref) {
    pushitems(L);
    lua_rawgeti(L, -1, it->ref);
    luaL_unref(L, -2, it->ref);
    lua_remove(L, -2);
    key_free(&it->key);
    return;
  }
  char err[256];
  int n = tr_decode(L, it->buf.data, it->buf.len, err, sizeof err);
  tr_buffer_free(&it->buf);
  key_free(&it->key);
  if (n < 0) luaL_error(L, "queue: corrupted item: %s", err);
  if (n != 1) {
    lua_pop(L, n);
    luaL_error(L, "queue: corrupted item (%d values)", n);
  }
}

/* ---- methods -------------------------------------------------------- */

static LQueue *checkqueue(lua_State *L, int simple_ok) {
  RtObject *o = rt_test(L, 1);
  if (o == NULL || !(o->type == &fifo_type || o->type == &lifo_type ||
                     o->type == &prio_type || (simple_ok && o->type == &simple_type))) {
    const char *got = o ? o->type->name : luaL_typename(L, 1);
    luaL_argerror(L, 1, lua_pushfstring(L, "queue.Queue expected, got %s", got));
  }
  return (LQueue *)o;
}

static int doput(lua_State *L, LQueue *lq, int block, const struct timespec *dl) {
  QItem it;
  item_make(L, lq, 2, &it);
  int rc = gq_put(&lq->q, &it, block, dl);
  if (rc == 0) return 0;
  item_drop(&it, L);
  switch (rc) {
    case EINTR: return gl_raise_interrupt(L);
    case EINVAL:
      return luaL_error(L, "PriorityQueue: cannot compare a %s priority with the "
                           "%s priorities already queued",
                        qkey_is_number(&it.key) ? "number" : "string",
                        qkey_is_number(&it.key) ? "string" : "number");
    case ENOMEM: return luaL_error(L, "not enough memory");
    case ESHUTDOWN: return gl_errobj_raise(L, "queue.ShutDown");
    default: return gl_errobj_raise(L, "queue.Full");   /* EAGAIN, ETIMEDOUT */
  }
}

static int doget(lua_State *L, LQueue *lq, int block, const struct timespec *dl) {
  QItem it;
  int rc = gq_get(&lq->q, &it, block, dl);
  sync_check_interrupt(L, rc);
  if (rc == ESHUTDOWN) return gl_errobj_raise(L, "queue.ShutDown");
  if (rc != 0) return gl_errobj_raise(L, "queue.Empty");
  item_push(L, &it);
  return 1;
}

/* put(item[, block[, timeout]]): block defaults to true; timeout nil waits
** forever; raises queue.Full when no slot came free. */
static int q_put(lua_State *L) {
  LQueue *lq = checkqueue(L, 1);
  luaL_checkany(L, 2);
  int block = sync_optbool(L, 3, 1);
  struct timespec ts, *dl = gl_opt_timeout(L, 4, &ts, GL_TIMEOUT_STRICT);
  if (lq->base.type == &simple_type) block = 1, dl = NULL;  /* unbounded */
  return doput(L, lq, block, block ? dl : NULL);
}

static int q_put_nowait(lua_State *L) {
  LQueue *lq = checkqueue(L, 1);
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  return doput(L, lq, 0, NULL);
}

/* get([block[, timeout]]) -> item; raises queue.Empty. */
static int q_get(lua_State *L) {
  LQueue *lq = checkqueue(L, 1);
  int block = sync_optbool(L, 2, 1);
  struct timespec ts, *dl = gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_STRICT);
  return doget(L, lq, block, block ? dl : NULL);
}

static int q_get_nowait(lua_State *L) {
  return doget(L, checkqueue(L, 1), 0, NULL);
}

static int q_qsize(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)gq_qsize(&checkqueue(L, 1)->q));
  return 1;
}

static int q_empty(lua_State *L) {
  lua_pushboolean(L, gq_qsize(&checkqueue(L, 1)->q) == 0);
  return 1;
}

static int q_full(lua_State *L) {
  lua_pushboolean(L, gq_full(&checkqueue(L, 0)->q));
  return 1;
}

static int q_task_done(lua_State *L) {
  if (gq_task_done(&checkqueue(L, 0)->q) != 0)
    return luaL_error(L, "task_done() called too many times");
  return 0;
}

/* join([timeout]) -> true when all items are done; false on timeout
** (the timeout is a gillua extension; Python's join waits forever). */
static int q_join(lua_State *L) {
  LQueue *lq = checkqueue(L, 0);
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_STRICT);
  int rc = gq_join(&lq->q, dl);
  sync_check_interrupt(L, rc);
  lua_pushboolean(L, rc == 0);
  return 1;
}

/* shutdown([immediate]): Python 3.13. put raises queue.ShutDown from now
** on, get once the queue is empty (at once with immediate, which removes
** the items and counts them done); blocked callers wake up to see it. */
static int q_shutdown(lua_State *L) {
  LQueue *lq = checkqueue(L, 0);
  int immediate = lua_toboolean(L, 2);
  gq_shutdown(&lq->q, immediate, item_drop, L);
  return 0;
}

static long checkmaxsize(lua_State *L, int idx) {
  int isint;
  lua_Integer n = lua_tointegerx(L, idx, &isint);
  if (!isint)
    luaL_error(L, "maxsize must be an integer (got %s)", luaL_typename(L, idx));
  if (n > 0x7fffffffL) n = 0x7fffffffL;
  return n > 0 ? (long)n : 0;      /* <= 0: unbounded, as Python */
}

/* __index: the attributes maxsize, unfinished_tasks and is_shutdown, then the methods
** (upvalue 1). */
static int q_index(lua_State *L) {
  LQueue *lq = checkqueue(L, 1);
  const char *k = lua_tostring(L, 2);
  if (k && strcmp(k, "maxsize") == 0) {
    long m = gq_maxsize(&lq->q);
    lua_pushinteger(L, m > 0 ? m : 0);
    return 1;
  }
  if (k && strcmp(k, "unfinished_tasks") == 0) {
    lua_pushinteger(L, gq_unfinished(&lq->q));
    return 1;
  }
  if (k && strcmp(k, "is_shutdown") == 0) {
    lua_pushboolean(L, gq_is_shutdown(&lq->q));
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  return 1;
}

/* __newindex: q.maxsize = n (Python's attribute; a larger bound lets
** blocked putters in). Nothing else can be set. */
static int q_newindex(lua_State *L) {
  LQueue *lq = checkqueue(L, 1);
  const char *k = lua_tostring(L, 2);
  if (k && strcmp(k, "maxsize") == 0 && lq->base.type != &simple_type) {
    gq_set_maxsize(&lq->q, checkmaxsize(L, 3));
    return 0;
  }
  return luaL_error(L, "cannot set field '%s' of %s", k ? k : luaL_typename(L, 2),
                    lq->base.type->name);
}

static const luaL_Reg queue_methods[] = {
  {"put", q_put},
  {"get", q_get},
  {"put_nowait", q_put_nowait},
  {"get_nowait", q_get_nowait},
  {"qsize", q_qsize},
  {"empty", q_empty},
  {"full", q_full},
  {"task_done", q_task_done},
  {"join", q_join},
  {"shutdown", q_shutdown},
  {NULL, NULL}
};

static const luaL_Reg simple_methods[] = {
  {"put", q_put},
  {"get", q_get},
  {"put_nowait", q_put_nowait},
  {"get_nowait", q_get_nowait},
  {"qsize", q_qsize},
  {"empty", q_empty},
  {NULL, NULL}
};

static int newqueue(lua_State *L, const RtType *t, QcKind kind, long maxsize) {
  LQueue *lq = (LQueue *)calloc(1, sizeof *lq);
  if (lq == NULL) return luaL_error(L, "not enough memory");
  gq_init(&lq->q, kind, maxsize);
  rt_init(&lq->base, t);
  rt_push_owned(L, &lq->base);
  return 1;
}

static long optmaxsize(lua_State *L) {
  if (lua_isnoneornil(L, 1)) return 0;
  luaL_checkinteger(L, 1);
  return checkmaxsize(L, 1);
}

static int l_Queue(lua_State *L) { return newqueue(L, &fifo_type, QC_FIFO, optmaxsize(L)); }
static int l_LifoQueue(lua_State *L) { return newqueue(L, &lifo_type, QC_LIFO, optmaxsize(L)); }
static int l_PriorityQueue(lua_State *L) { return newqueue(L, &prio_type, QC_PRIO, optmaxsize(L)); }
static int l_SimpleQueue(lua_State *L) { return newqueue(L, &simple_type, QC_FIFO, 0); }

static void newtype(lua_State *L, const RtType *t, const luaL_Reg *methods) {
  rt_newtype(L, t, methods);
  lua_getfield(L, -1, "__index");
  lua_pushcclosure(L, q_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, q_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pop(L, 1);
}

int luaopen_queue(lua_State *L) {
  newtype(L, &fifo_type, queue_methods);
  newtype(L, &lifo_type, queue_methods);
  newtype(L, &prio_type, queue_methods);
  newtype(L, &simple_type, simple_methods);
  static const luaL_Reg ctors[] = {
    {"Queue", l_Queue},
    {"LifoQueue", l_LifoQueue},
    {"PriorityQueue", l_PriorityQueue},
    {"SimpleQueue", l_SimpleQueue},
    {NULL, NULL}
  };
  luaL_newlib(L, ctors);
  gl_errobj_push(L, "queue.Empty");
  lua_setfield(L, -2, "Empty");
  gl_errobj_push(L, "queue.Full");
  lua_setfield(L, -2, "Full");
  gl_errobj_push(L, "queue.ShutDown");
  lua_setfield(L, -2, "ShutDown");
  return 1;
}

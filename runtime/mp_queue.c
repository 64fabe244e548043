/*
** mp_queue.c — multiprocessing.Queue, JoinableQueue and SimpleQueue: Lua
** handles (MpRef) on a shared channel (mp_chan.c). Items travel by the
** value transfer, so every process (and every GIL-off thread) gets its
** own copy. See mp_chan.c for why nothing put is lost or duplicated.
**
** The local handle's 'closed' flag is owned by the interpreter(s) using
** this handle and only read/written with the GIL held (GIL on) or by the
** handle's single interpreter (GIL off); it is advisory like Python's.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "block.h"
#include "mp.h"

typedef struct MpQueue {
  MpRef ref;                 /* ref.shared is the MpChan */
  atomic_int closed;
} MpQueue;

static void q_destroy(RtObject *o, lua_State *L) {
  (void)L;
  mp_ref_destroy((MpRef *)o);
}

static const RtType queue_type = {"multiprocessing.Queue", "multiprocessing", q_destroy, NULL};
static const RtType jqueue_type = {"multiprocessing.JoinableQueue", "multiprocessing", q_destroy, NULL};
static const RtType squeue_type = {"multiprocessing.SimpleQueue", "multiprocessing", q_destroy, NULL};

static void chan_release(void *p) { mp_chan_decref((MpChan *)p); }

static const MpExport exports[] = {
  {&queue_type, sizeof(MpQueue), chan_release},
  {&jqueue_type, sizeof(MpQueue), chan_release},
  {&squeue_type, sizeof(MpQueue), chan_release},
};

static MpQueue *check_q(lua_State *L) {
  RtObject *o = rt_test(L, 1);
  if (o == NULL || (o->type != &queue_type && o->type != &jqueue_type && o->type != &squeue_type))
    luaL_argerror(L, 1, lua_pushfstring(L, "multiprocessing.Queue expected, got %s",
                                        o ? o->type->name : luaL_typename(L, 1)));
  return (MpQueue *)o;
}

static MpChan *chan(MpQueue *q) { return (MpChan *)q->ref.shared; }

static int new_queue(lua_State *L, const RtType *t) {
  lua_Integer maxsize = t == &squeue_type ? 0 : luaL_optinteger(L, 1, 0);
  MpChan *c = mp_chan_new(L, (long)maxsize);
  MpQueue *q = (MpQueue *)calloc(1, sizeof(MpQueue));
  if (q == NULL) { mp_chan_decref(c); return luaL_error(L, "out of memory"); }
  q->ref.release = chan_release;
  mp_ref_init(&q->ref, t, c);
  rt_push_owned(L, &q->ref.rt);
  return 1;
}

static int mp_Queue(lua_State *L) { return new_queue(L, &queue_type); }
static int mp_JoinableQueue(lua_State *L) { return new_queue(L, &jqueue_type); }
static int mp_SimpleQueue(lua_State *L) { return new_queue(L, &squeue_type); }

static int do_put(lua_State *L, MpQueue *q, int block, const struct timespec *dl) {
  if (atomic_load(&q->closed)) return luaL_error(L, "Queue is closed");
  TrBuffer b;
  mp_mark(L, 2, 1);
  mp_encode(L, 2, 1, "item", &b);
  size_t len = b.len;
  int rc = mp_chan_put(chan(q), b.data, len, block, dl);
  mp_encoded_done(&b);           /* clears b */
  if (rc == EAGAIN || rc == ETIMEDOUT) return mp_raise_queue_error(L, "Full");
  if (rc == ESHUTDOWN) return mp_raise_queue_error(L, "ShutDown");
  if (rc == EINTR) return gl_raise_interrupt(L);
  if (rc == ENOMEM)
    return mp_raise_exhausted(L, "Queue.put", len);
  return 0;
}

/* put(item[, block[, timeout]]) */
static int q_put(lua_State *L) {
  MpQueue *q = check_q(L);
  luaL_checkany(L, 2);
  int block = lua_isnoneornil(L, 3) || lua_toboolean(L, 3);
  struct timespec ts, *dl = block ? gl_opt_timeout(L, 4, &ts, GL_TIMEOUT_ZERO) : NULL;
  return do_put(L, q, block, dl);
}

static int q_put_nowait(lua_State *L) {
  MpQueue *q = check_q(L);
  luaL_checkany(L, 2);
  return do_put(L, q, 0, NULL);
}

static int do_get(lua_State *L, MpQueue *q, int block, const struct timespec *dl) {
  if (atomic_load(&q->closed)) return luaL_error(L, "Queue is closed");
  void *data;
  size_t len;
  int rc = mp_chan_get(chan(q), &data, &len, block, dl, NULL, NULL, NULL);
  if (rc == EAGAIN || rc == ETIMEDOUT) return mp_raise_queue_error(L, "Empty");
  if (rc == ESHUTDOWN) return mp_raise_queue_error(L, "ShutDown");
  if (rc == EINTR) return gl_raise_interrupt(L);
  /* decode in protected mode so 'data' is freed on a decoding error */
  lua_settop(L, 1);
  char err[TR_ERRMAX];
  int n = tr_decode(L, data, len, err, sizeof err);
  if (n < 0) {
    free(data);
    return luaL_error(L, "Queue.get: corrupt item: %s", err);
  }
  int marked = mp_marked(data, len);
  free(data);                   /* before mp_unmark, which may raise */
  if (marked) mp_unmark(L, 2, n);
  return n;
}

/* get([block[, timeout]]) */
static int q_get(lua_State *L) {
  MpQueue *q = check_q(L);
  int block = lua_isnoneornil(L, 2) || lua_toboolean(L, 2);
  struct timespec ts, *dl = block ? gl_opt_timeout(L, 3, &ts, GL_TIMEOUT_ZERO) : NULL;
  return do_get(L, q, block, dl);
}

static int q_get_nowait(lua_State *L) { return do_get(L, check_q(L), 0, NULL); }

static int q_qsize(lua_State *L) {
  lua_pushinteger(L, mp_chan_size(chan(check_q(L))));
  return 1;
}

static int q_empty(lua_State *L) {
  lua_pushboolean(L, mp_chan_size(chan(check_q(L))) == 0);
  return 1;
}

static int q_full(lua_State *L) {
  MpChan *c = chan(check_q(L));
  long m = mp_chan_maxsize(c);
  lua_pushboolean(L, m > 0 && mp_chan_size(c) >= m);
  return 1;
}

static int q_close(lua_State *L) {
  atomic_store(&check_q(L)->closed, 1);
  return 0;
}

static int q_noop(lua_State *L) { check_q(L); return 0; }

/* shutdown([immediate]): as queue.Queue's (Python 3.13), for every
** process: puts raise queue.ShutDown, gets once the queue is empty. */
static int q_shutdown(lua_State *L) {
  mp_chan_shutdown(chan(check_q(L)), lua_toboolean(L, 2));
  return 0;
}

static int q_is_shutdown(lua_State *L) {
  lua_pushboolean(L, mp_chan_is_shutdown(chan(check_q(L))));
  return 1;
}

static int q_task_done(lua_State *L) {
  MpQueue *q = check_q(L);
  if (mp_chan_task_done(chan(q)) < 0) return luaL_error(L, "task_done() called too many times");
  return 0;
}

static int q_join(lua_State *L) {
  MpQueue *q = check_q(L);
  struct timespec ts, *dl = gl_opt_timeout(L, 2, &ts, GL_TIMEOUT_ZERO);
  int rc = mp_chan_join(chan(q), dl);
  if (rc == EINTR) return gl_raise_interrupt(L);
  lua_pushboolean(L, rc == 0);
  return 1;
}

static const luaL_Reg q_methods[] = {
  {"put", q_put}, {"put_nowait", q_put_nowait}, {"get", q_get}, {"get_nowait", q_get_nowait},
  {"qsize", q_qsize}, {"empty", q_empty}, {"full", q_full}, {"close", q_close},
  {"join_thread", q_noop}, {"cancel_join_thread", q_noop},
  {"shutdown", q_shutdown}, {"is_shutdown", q_is_shutdown},
  {NULL, NULL}
};

static const luaL_Reg jq_methods[] = {
  {"put", q_put}, {"put_nowait", q_put_nowait}, {"get", q_get}, {"get_nowait", q_get_nowait},
  {"qsize", q_qsize}, {"empty", q_empty}, {"full", q_full}, {"close", q_close},
  {"join_thread", q_noop}, {"cancel_join_thread", q_noop},
  {"task_done", q_task_done}, {"join", q_join},
  {"shutdown", q_shutdown}, {"is_shutdown", q_is_shutdown},
  {NULL, NULL}
};

static const luaL_Reg sq_methods[] = {
  {"put", q_put}, {"get", q_get}, {"empty", q_empty}, {"close", q_close},
  {NULL, NULL}
};

void mp_open_queue(lua_State *L) {
  for (int i = 0; i < 3; i++) mp_exportable(&exports[i]);
  const RtType *ts[] = {&queue_type, &jqueue_type, &squeue_type};
  const luaL_Reg *ms[] = {q_methods, jq_methods, sq_methods};
  for (int i = 0; i < 3; i++) {
    rt_newtype(L, ts[i], ms[i]);
    lua_pushcfunction(L, mp_ref_eq);
    lua_setfield(L, -2, "__eq");
    lua_pop(L, 1);
  }
  lua_pushcfunction(L, mp_Queue);
  lua_setfield(L, -2, "Queue");
  lua_pushcfunction(L, mp_JoinableQueue);
  lua_setfield(L, -2, "JoinableQueue");
  lua_pushcfunction(L, mp_SimpleQueue);
  lua_setfield(L, -2, "SimpleQueue");
}

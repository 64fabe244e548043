/*
** lmpi.c — require "mpi" (see lmpi.h): initialisation and the end of the
** job, the communicators, point-to-point messages and requests.
**
**   mpi.COMM_WORLD, mpi.COMM_SELF, mpi.ANY_SOURCE, mpi.ANY_TAG,
**   mpi.SUM/PROD/MAX/MIN, mpi.Query_thread(), mpi.Get_processor_name(),
**   mpi.Wtime(), mpi.THREAD_SINGLE/FUNNELED/SERIALIZED/MULTIPLE
**   comm:Get_rank() comm:Get_size() comm:send(v, dest [, tag])
**   comm:recv([source [, tag]]) -> v, source, tag
**   comm:isend(v, dest [, tag]) / comm:irecv([source [, tag]]) -> request
**   req:wait() -> v (irecv) / true (isend); req:test() -> done [, v]
**   comm:barrier() bcast scatter gather allgather reduce allreduce (lmpi_coll.c)
**   comm:Abort([code])
**
** The end: at a normal exit MPI_Finalize; after an uncaught error (or
** Ctrl-C) the rank says so on stderr and calls MPI_Abort, which ends
** every rank of the job (a rank that merely exited would leave the others
** blocked in their receives, or in MPI_Finalize's synchronisation).
*/
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "block.h"
#include "lmpi.h"
#include "vm.h"

#define REQ_MT "mpi.Request"

static pthread_mutex_t lmpi_mu = PTHREAD_MUTEX_INITIALIZER;
static int provided;          /* thread level MPI gave: written once, at init */
static int world_rank;

void lmpi_lock(void) { pthread_mutex_lock(&lmpi_mu); }
void lmpi_unlock(void) { pthread_mutex_unlock(&lmpi_mu); }

int lmpi_check(lua_State *L, int rc, const char *what) {
  if (rc == MPI_SUCCESS) return 0;
  char msg[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(rc, msg, &n);
  return luaL_error(L, "mpi: %s: %s", what, msg);
}

/* Tests req until done: tight at first, then yielding the CPU, then
** napping 50 us between tests (a rank that waits long costs little). */
static int wait_loop(MPI_Request *req, MPI_Status *st, int *rc) {
  for (long i = 0;; i++) {
    int done = 0;
    lmpi_lock();
    *rc = MPI_Test(req, &done, st);
    lmpi_unlock();
    if (done || *rc != MPI_SUCCESS) return 0;
    if (gl_interrupted()) return EINTR;
    if (i > 20000) { struct timespec ts = {0, 50000}; nanosleep(&ts, NULL); }
    else if (i > 200) sched_yield();
  }
}

void lmpi_wait(lua_State *L, MPI_Request *req, MPI_Status *st, const char *what) {
  int rc = MPI_SUCCESS, done = 0;
  lmpi_lock();
  rc = MPI_Test(req, &done, st);          /* already done: no GIL traffic */
  lmpi_unlock();
  if (!done && rc == MPI_SUCCESS) {
    gl_block_begin();
    int e = wait_loop(req, st, &rc);
    gl_block_end();
    if (e == EINTR) gl_raise_interrupt(L);
  }
  lmpi_check(L, rc, what);
}

LComm *lmpi_checkcomm(lua_State *L, int idx) { return (LComm *)luaL_checkudata(L, idx, COMM_MT); }

void lmpi_encode(lua_State *L, int idx, TrBuffer *b) {
  char err[TR_ERRMAX];
  tr_buffer_init(b);
  if (tr_encode_opts(L, idx, 1, "value", TR_ENC_NOOBJ, b, err, sizeof err) != 0)
    luaL_error(L, "mpi: %s", err);
}

void lmpi_decode(lua_State *L, const void *data, size_t len) {
  char err[TR_ERRMAX];
  int n = tr_decode(L, data, len, err, sizeof err);
  if (n < 0) luaL_error(L, "mpi: corrupted message: %s", err);
  if (n != 1) { lua_pop(L, n); luaL_error(L, "mpi: corrupted message (%d values)", n); }
}

int lmpi_count(lua_State *L, size_t len) {
  if (len > (size_t)INT32_MAX) return luaL_error(L, "mpi: message of %zu bytes is over 2 GiB", len);
  return (int)len;
}

static int opt_int(lua_State *L, int idx, int def) {
  return lua_isnoneornil(L, idx) ? def : (int)luaL_checkinteger(L, idx);
}

/* ---- point to point ---- */

static int c_send(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  luaL_checkany(L, 2);
  int dest = (int)luaL_checkinteger(L, 3), tag = opt_int(L, 4, 0);
  TrBuffer b;
  lmpi_encode(L, 2, &b);
  MPI_Request req;
  lmpi_lock();
  int rc = MPI_Isend(b.data, (int)b.len, MPI_BYTE, dest, tag, c->comm, &req);
  lmpi_unlock();
  if (rc != MPI_SUCCESS) { tr_buffer_free(&b); return lmpi_check(L, rc, "send"); }
  lmpi_wait(L, &req, MPI_STATUS_IGNORE, "send");   /* on Ctrl-C the job ends: b with it */
  tr_buffer_free(&b);
  return 0;
}

/* Waits for a message from source/tag, receives it, pushes v, source, tag. */
static int recv_from(lua_State *L, MPI_Comm comm, int source, int tag) {
  MPI_Message msg;
  MPI_Status st;
  int flag = 0, rc;
  lmpi_lock();
  rc = MPI_Improbe(source, tag, comm, &flag, &msg, &st);
  lmpi_unlock();
  if (!flag && rc == MPI_SUCCESS) {
    int e = 0;
    gl_block_begin();
    for (long i = 0; !flag && rc == MPI_SUCCESS; i++) {
      if (gl_interrupted()) { e = EINTR; break; }
      if (i > 20000) { struct timespec ts = {0, 50000}; nanosleep(&ts, NULL); }
      else if (i > 200) sched_yield();
      lmpi_lock();
      rc = MPI_Improbe(source, tag, comm, &flag, &msg, &st);
      lmpi_unlock();
    }
    gl_block_end();
    if (e) gl_raise_interrupt(L);
  }
  lmpi_check(L, rc, "recv");
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  void *buf = lua_newuserdatauv(L, count ? (size_t)count : 1, 0);   /* collected with the stack */
  MPI_Request req;
  lmpi_lock();
  rc = MPI_Imrecv(buf, count, MPI_BYTE, &msg, &req);
  lmpi_unlock();
  lmpi_check(L, rc, "recv");
  lmpi_wait(L, &req, MPI_STATUS_IGNORE, "recv");
  lmpi_decode(L, buf, (size_t)count);
  lua_remove(L, -2);
  lua_pushinteger(L, st.MPI_SOURCE);
  lua_pushinteger(L, st.MPI_TAG);
  return 3;
}

static int c_recv(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  return recv_from(L, c->comm, opt_int(L, 2, MPI_ANY_SOURCE), opt_int(L, 3, MPI_ANY_TAG));
}

/* ---- requests ---- */

typedef struct LReq {
  int is_send, done;
  MPI_Request req;           /* isend */
  TrBuffer buf;              /* isend: the bytes MPI is sending */
  MPI_Comm comm;             /* irecv: received when waited for or tested */
  int source, tag;
} LReq;

static LReq *new_req(lua_State *L) {
  LReq *r = (LReq *)lua_newuserdatauv(L, sizeof(LReq), 1);
  memset(r, 0, sizeof *r);
  tr_buffer_init(&r->buf);
  luaL_setmetatable(L, REQ_MT);
  return r;
}

static int c_isend(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  luaL_checkany(L, 2);
  int dest = (int)luaL_checkinteger(L, 3), tag = opt_int(L, 4, 0);
  LReq *r = new_req(L);
  r->is_send = 1;
  lmpi_encode(L, 2, &r->buf);
  lmpi_lock();
  int rc = MPI_Isend(r->buf.data, (int)r->buf.len, MPI_BYTE, dest, tag, c->comm, &r->req);
  lmpi_unlock();
  if (rc != MPI_SUCCESS) { r->done = 1; tr_buffer_free(&r->buf); lmpi_check(L, rc, "isend"); }
  return 1;
}

static int c_irecv(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  int source = opt_int(L, 2, MPI_ANY_SOURCE), tag = opt_int(L, 3, MPI_ANY_TAG);
  LReq *r = new_req(L);
  r->comm = c->comm;
  r->source = source;
  r->tag = tag;
  return 1;
}

static int r_wait(lua_State *L) {
  LReq *r = (LReq *)luaL_checkudata(L, 1, REQ_MT);
  if (r->done) {                          /* the value, kept by a successful test */
    lua_getiuservalue(L, 1, 1);
    return 1;
  }
  if (r->is_send) {
    lmpi_wait(L, &r->req, MPI_STATUS_IGNORE, "wait");
    r->done = 1;
    tr_buffer_free(&r->buf);
    lua_pushboolean(L, 1);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, 1);
    return 1;
  }
  recv_from(L, r->comm, r->source, r->tag);
  lua_pop(L, 2);
  r->done = 1;
  lua_pushvalue(L, -1);
  lua_setiuservalue(L, 1, 1);
  return 1;
}

static int r_test(lua_State *L) {
  LReq *r = (LReq *)luaL_checkudata(L, 1, REQ_MT);
  if (!r->done) {
    int flag = 0, rc;
    lmpi_lock();
    if (r->is_send) rc = MPI_Test(&r->req, &flag, MPI_STATUS_IGNORE);
    else rc = MPI_Iprobe(r->source, r->tag, r->comm, &flag, MPI_STATUS_IGNORE);
    lmpi_unlock();
    lmpi_check(L, rc, "test");
    if (!flag) { lua_pushboolean(L, 0); return 1; }
    lua_settop(L, 1);
    r_wait(L);                            /* the message is there: receive it */
  }
  lua_pushboolean(L, 1);
  lua_getiuservalue(L, 1, 1);
  return 2;
}

static int r_gc(lua_State *L) {
  LReq *r = (LReq *)lua_touserdata(L, 1);
  if (r->is_send && !r->done) {           /* MPI still reads the bytes: let it finish */
    lmpi_lock();
    MPI_Wait(&r->req, MPI_STATUS_IGNORE);
    lmpi_unlock();
  }
  r->done = 1;
  tr_buffer_free(&r->buf);
  return 0;
}

/* ---- communicators and the module ---- */

static int c_rank(lua_State *L) {
  int r;
  lmpi_lock();
  MPI_Comm_rank(lmpi_checkcomm(L, 1)->comm, &r);
  lmpi_unlock();
  lua_pushinteger(L, r);
  return 1;
}

static int c_size(lua_State *L) {
  int n;
  lmpi_lock();
  MPI_Comm_size(lmpi_checkcomm(L, 1)->comm, &n);
  lmpi_unlock();
  lua_pushinteger(L, n);
  return 1;
}

static int c_abort(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  fflush(NULL);
  MPI_Abort(c->comm, opt_int(L, 2, 1));
  return 0;
}

static int c_tostring(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  lua_pushstring(L, c->comm == MPI_COMM_WORLD ? "mpi.COMM_WORLD" : "mpi.COMM_SELF");
  return 1;
}

static void at_exit(int interrupted) {
  int st = gl_exit_status();
  if (interrupted || st != 0) {
    fprintf(stderr, "mpi: rank %d %s; aborting the job\n", world_rank,
            interrupted ? "was interrupted" : "ended with an error");
    fflush(NULL);
    MPI_Abort(MPI_COMM_WORLD, interrupted ? 130 : st);
  }
  MPI_Finalize();
}

static int m_query_thread(lua_State *L) { lua_pushinteger(L, provided); return 1; }
static int m_wtime(lua_State *L) { lua_pushnumber(L, MPI_Wtime()); return 1; }

static int m_processor_name(lua_State *L) {
  char name[MPI_MAX_PROCESSOR_NAME];
  int n = 0;
  MPI_Get_processor_name(name, &n);
  lua_pushlstring(L, name, (size_t)n);
  return 1;
}

static void push_comm(lua_State *L, MPI_Comm comm) {
  LComm *c = (LComm *)lua_newuserdatauv(L, sizeof(LComm), 0);
  c->comm = comm;
  luaL_setmetatable(L, COMM_MT);
}

static void open_types(lua_State *L) {
  static const luaL_Reg comm_methods[] = {
    {"Get_rank", c_rank}, {"Get_size", c_size}, {"send", c_send}, {"recv", c_recv},
    {"isend", c_isend}, {"irecv", c_irecv}, {"barrier", lmpi_barrier}, {"Barrier", lmpi_barrier},
    {"bcast", lmpi_bcast}, {"scatter", lmpi_scatter}, {"gather", lmpi_gather},
    {"allgather", lmpi_allgather}, {"reduce", lmpi_reduce}, {"allreduce", lmpi_allreduce},
    {"Abort", c_abort}, {NULL, NULL}
  };
  static const luaL_Reg req_methods[] = { {"wait", r_wait}, {"test", r_test}, {NULL, NULL} };
  luaL_newmetatable(L, COMM_MT);
  luaL_newlib(L, comm_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, c_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  luaL_newmetatable(L, REQ_MT);
  luaL_newlib(L, req_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, r_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
}

/* The entry point mpi_loader.c looks up. */
int gillua_open_mpi(lua_State *L);
int gillua_open_mpi(lua_State *L) {
  int inited = 0;
  MPI_Initialized(&inited);
  if (!inited) {
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
      return luaL_error(L, "mpi: MPI_Init_thread failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    gl_at_shutdown(at_exit);
  }
  open_types(L);
  static const luaL_Reg funcs[] = {
    {"Query_thread", m_query_thread}, {"Wtime", m_wtime},
    {"Get_processor_name", m_processor_name}, {NULL, NULL}
  };
  luaL_newlib(L, funcs);
  push_comm(L, MPI_COMM_WORLD);
  lua_setfield(L, -2, "COMM_WORLD");
  push_comm(L, MPI_COMM_SELF);
  lua_setfield(L, -2, "COMM_SELF");
  static const struct { const char *name; int v; } ints[] = {
    {"ANY_SOURCE", MPI_ANY_SOURCE}, {"ANY_TAG", MPI_ANY_TAG},
    {"THREAD_SINGLE", MPI_THREAD_SINGLE}, {"THREAD_FUNNELED", MPI_THREAD_FUNNELED},
    {"THREAD_SERIALIZED", MPI_THREAD_SERIALIZED}, {"THREAD_MULTIPLE", MPI_THREAD_MULTIPLE},
  };
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    lua_pushinteger(L, ints[i].v);
    lua_setfield(L, -2, ints[i].name);
  }
  static const char *const ops[] = {"SUM", "PROD", "MAX", "MIN"};
  for (int i = 0; i < 4; i++) {
    lua_pushstring(L, ops[i]);
    lua_setfield(L, -2, ops[i]);
  }
  return 1;
}

/*
** lmpi_coll.c — collective operations of gillua's MPI module, on any
** value the transfer carries (mpi4py's lower-case methods). Each value is
** encoded once, the sizes go first (an MPI integer per rank), then the
** bytes in one MPI_I*v call; every wait releases the GIL (lmpi_wait).
** Lists are Lua lists: rank r's item is at index r + 1.
**
** reduce/allreduce fold with mpi.SUM, PROD, MAX or MIN over numbers and
** tables of numbers (nested; the ranks' tables must have the same keys),
** in rank order, on the root (reduce) or on every rank (allreduce), after
** gathering the values: exact for integers, and the same result on every
** rank.
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "lmpi.h"

static int rank_of(MPI_Comm c) { int r; lmpi_lock(); MPI_Comm_rank(c, &r); lmpi_unlock(); return r; }
static int size_of(MPI_Comm c) { int n; lmpi_lock(); MPI_Comm_size(c, &n); lmpi_unlock(); return n; }

static int check_root(lua_State *L, int idx, int size) {
  int root = lua_isnoneornil(L, idx) ? 0 : (int)luaL_checkinteger(L, idx);
  if (root < 0 || root >= size) return luaL_error(L, "mpi: root %d is not a rank (0..%d)", root, size - 1);
  return root;
}

/* Starts a non-blocking call (under the MPI mutex) and waits for it. */
#define RUN(L, what, call) do { MPI_Request rq_; lmpi_lock(); int rc_ = (call); lmpi_unlock(); \
    lmpi_check(L, rc_, what); lmpi_wait(L, &rq_, MPI_STATUS_IGNORE, what); } while (0)
#define REQ (&rq_)

int lmpi_barrier(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  RUN(L, "barrier", MPI_Ibarrier(c->comm, REQ));
  return 0;
}

int lmpi_bcast(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  int root = check_root(L, 3, size_of(c->comm)), me = rank_of(c->comm);
  TrBuffer b;
  tr_buffer_init(&b);
  if (me == root) lmpi_encode(L, 2, &b);
  uint64_t n = b.len;
  RUN(L, "bcast", MPI_Ibcast(&n, 1, MPI_UINT64_T, root, c->comm, REQ));
  int count = lmpi_count(L, (size_t)n);
  void *buf = me == root ? (void *)b.data : lua_newuserdatauv(L, count ? (size_t)count : 1, 0);
  RUN(L, "bcast", MPI_Ibcast(buf, count, MPI_BYTE, root, c->comm, REQ));
  tr_buffer_free(&b);
  if (me == root) { lua_pushvalue(L, 2); return 1; }
  lmpi_decode(L, buf, (size_t)count);
  return 1;
}

/* Pushes a list of the 'size' values packed in buf by sizes/displs. */
static void decode_list(lua_State *L, const unsigned char *buf, const int *sizes, const int *displs,
                        int size) {
  lua_createtable(L, size, 0);
  for (int i = 0; i < size; i++) {
    lmpi_decode(L, buf + displs[i], (size_t)sizes[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

/* Sizes and displacements: one userdata of 2 * size ints, pushed. */
static int *new_counts(lua_State *L, int size) {
  return (int *)lua_newuserdatauv(L, 2 * (size_t)size * sizeof(int), 0);
}

static int total_of(lua_State *L, int *sizes, int *displs, int size) {
  size_t t = 0;
  for (int i = 0; i < size; i++) { displs[i] = (int)t; t += (size_t)sizes[i]; }
  return lmpi_count(L, t);
}

/* gather (all = 0) or allgather (all = 1) of the value at 2; pushes the
** list where it is due (nil elsewhere). */
static int gather(lua_State *L, int all) {
  LComm *c = lmpi_checkcomm(L, 1);
  luaL_checkany(L, 2);
  int size = size_of(c->comm), me = rank_of(c->comm);
  int root = all ? 0 : check_root(L, 3, size);
  TrBuffer b;
  lmpi_encode(L, 2, &b);
  int len = (int)b.len;
  if (b.len > (size_t)INT32_MAX) { tr_buffer_free(&b); lmpi_count(L, b.len); }
  int *sizes = new_counts(L, size), *displs = sizes + size;
  if (all) RUN(L, "allgather", MPI_Iallgather(&len, 1, MPI_INT, sizes, 1, MPI_INT, c->comm, REQ));
  else RUN(L, "gather", MPI_Igather(&len, 1, MPI_INT, sizes, 1, MPI_INT, root, c->comm, REQ));
  int due = all || me == root;
  int total = due ? total_of(L, sizes, displs, size) : 0;
  unsigned char *buf = due ? (unsigned char *)lua_newuserdatauv(L, total ? (size_t)total : 1, 0) : NULL;
  if (all)
    RUN(L, "allgather", MPI_Iallgatherv(b.data, len, MPI_BYTE, buf, sizes, displs, MPI_BYTE, c->comm, REQ));
  else
    RUN(L, "gather", MPI_Igatherv(b.data, len, MPI_BYTE, buf, sizes, displs, MPI_BYTE, root, c->comm, REQ));
  tr_buffer_free(&b);
  if (!due) { lua_pushnil(L); return 1; }
  decode_list(L, buf, sizes, displs, size);
  return 1;
}

int lmpi_gather(lua_State *L) { return gather(L, 0); }
int lmpi_allgather(lua_State *L) { lua_settop(L, 2); return gather(L, 1); }

int lmpi_scatter(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  int size = size_of(c->comm), me = rank_of(c->comm);
  int root = check_root(L, 3, size);
  int *sizes = new_counts(L, size), *displs = sizes + size;
  TrBuffer b;
  tr_buffer_init(&b);
  if (me == root) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (luaL_len(L, 2) != size)
      return luaL_error(L, "mpi: scatter: the root's list has %d items for %d ranks", (int)luaL_len(L, 2), size);
    for (int i = 0; i < size; i++) {
      size_t before = b.len;
      lua_geti(L, 2, i + 1);
      char err[TR_ERRMAX];
      if (tr_encode_opts(L, lua_gettop(L), 1, "item", TR_ENC_NOOBJ, &b, err, sizeof err) != 0) {
        tr_buffer_free(&b);
        return luaL_error(L, "mpi: scatter: %s", err);
      }
      lua_pop(L, 1);
      sizes[i] = (int)(b.len - before);
    }
    if (b.len > (size_t)INT32_MAX) { tr_buffer_free(&b); lmpi_count(L, b.len); }
    total_of(L, sizes, displs, size);
  }
  int len = 0;
  RUN(L, "scatter", MPI_Iscatter(sizes, 1, MPI_INT, &len, 1, MPI_INT, root, c->comm, REQ));
  void *mine = lua_newuserdatauv(L, len ? (size_t)len : 1, 0);
  RUN(L, "scatter", MPI_Iscatterv(b.data, sizes, displs, MPI_BYTE, mine, len, MPI_BYTE, root, c->comm, REQ));
  tr_buffer_free(&b);
  lmpi_decode(L, mine, (size_t)len);
  return 1;
}

/* ---- reductions ---- */

enum { OP_SUM, OP_PROD, OP_MAX, OP_MIN };

static int check_op(lua_State *L, int idx) {
  static const char *const names[] = {"SUM", "PROD", "MAX", "MIN", NULL};
  if (lua_isnoneornil(L, idx)) return OP_SUM;
  return luaL_checkoption(L, idx, NULL, names);
}

/* Pushes op(a, b) for the values at a and b (numbers or tables of them). */
static void combine(lua_State *L, int a, int b, int op, int depth) {
  a = lua_absindex(L, a), b = lua_absindex(L, b);
  luaL_checkstack(L, 8, "reduce");
  if (lua_type(L, a) == LUA_TNUMBER && lua_type(L, b) == LUA_TNUMBER) {
    if (op == OP_SUM || op == OP_PROD) {
      lua_pushvalue(L, a);
      lua_pushvalue(L, b);
      lua_arith(L, op == OP_SUM ? LUA_OPADD : LUA_OPMUL);
    } else {
      int less = lua_compare(L, a, b, LUA_OPLT);
      lua_pushvalue(L, (op == OP_MAX) == less ? b : a);
    }
    return;
  }
  if (!lua_istable(L, a) || !lua_istable(L, b) || depth > 100)
    luaL_error(L, "mpi: reduce: numbers or tables of numbers expected, got %s and %s",
               luaL_typename(L, a), luaL_typename(L, b));
  lua_newtable(L);
  int r = lua_gettop(L);
  lua_Integer na = 0, nb = 0;
  lua_pushnil(L);
  while (lua_next(L, a)) {
    na++;
    lua_pushvalue(L, -2);
    if (lua_rawget(L, b) == LUA_TNIL)
      luaL_error(L, "mpi: reduce: the ranks' tables differ (key %s is missing on one)", luaL_tolstring(L, -3, NULL));
    combine(L, -2, -1, op, depth + 1);    /* key, va, vb, result */
    lua_pushvalue(L, -4);
    lua_insert(L, -2);
    lua_rawset(L, r);
    lua_pop(L, 2);
  }
  lua_pushnil(L);
  while (lua_next(L, b)) { nb++; lua_pop(L, 1); }
  if (na != nb) luaL_error(L, "mpi: reduce: the ranks' tables differ (not the same keys)");
}

/* Folds the list at idx (size values) with op; pushes the result. */
static void fold(lua_State *L, int idx, int size, int op) {
  lua_rawgeti(L, idx, 1);
  for (int i = 2; i <= size; i++) {
    lua_rawgeti(L, idx, i);
    combine(L, -2, -1, op, 0);
    lua_replace(L, -3);
    lua_pop(L, 1);
  }
}

int lmpi_reduce(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  luaL_checkany(L, 2);
  int op = check_op(L, 3), size = size_of(c->comm);
  check_root(L, 4, size);
  lua_settop(L, 4);
  lua_remove(L, 3);                       /* comm, value, root: gather's arguments */
  gather(L, 0);
  if (lua_isnil(L, -1)) return 1;
  fold(L, lua_gettop(L), size, op);
  return 1;
}

int lmpi_allreduce(lua_State *L) {
  LComm *c = lmpi_checkcomm(L, 1);
  luaL_checkany(L, 2);
  int op = check_op(L, 3), size = size_of(c->comm);
  lua_settop(L, 2);
  gather(L, 1);
  fold(L, lua_gettop(L), size, op);
  return 1;
}

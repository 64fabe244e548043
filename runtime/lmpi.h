/*
** lmpi.h — gillua's MPI module (built into mpi.so when Open MPI is
** installed; runtime/mpi_loader.c loads it): mpi4py's lower-case object
** API over Open MPI, values by gillua's value transfer.
**
** Threads: MPI is initialised asking MPI_THREAD_MULTIPLE (mpi4py's
** default), because a thread blocked in an MPI call releases the GIL and
** another thread may then call MPI. Whatever level MPI provides, every MPI
** call is made under one process-wide mutex (lmpi_mu: a leaf lock, never
** held while waiting for the GIL): needed below MULTIPLE, cheap above it.
** A blocking operation is a non-blocking one plus MPI_Test in a loop that
** releases the GIL for the whole wait and takes the mutex only for each
** test, so other threads run Lua and make MPI calls meanwhile.
*/
#ifndef lmpi_h
#define lmpi_h

#include <mpi.h>
#include <lua.h>

#include "transfer.h"

#define COMM_MT "mpi.Comm"

typedef struct LComm { MPI_Comm comm; } LComm;

void lmpi_lock(void);
void lmpi_unlock(void);
/* Raises a Lua error for an MPI error code ("mpi: what: MPI's message"). */
int lmpi_check(lua_State *L, int rc, const char *what);
/* Waits for req (GIL released); raises on error or Ctrl-C. */
void lmpi_wait(lua_State *L, MPI_Request *req, MPI_Status *st, const char *what);

LComm *lmpi_checkcomm(lua_State *L, int idx);
/* Encodes the value at idx into b (raises: "mpi: cannot transfer ..."). */
void lmpi_encode(lua_State *L, int idx, TrBuffer *b);
/* Pushes the one value in data[0..len) (raises when corrupted). */
void lmpi_decode(lua_State *L, const void *data, size_t len);
int lmpi_count(lua_State *L, size_t len);   /* len as an MPI count, or raises */

/* Collectives (lmpi_coll.c), as Comm methods. */
int lmpi_barrier(lua_State *L);
int lmpi_bcast(lua_State *L);
int lmpi_scatter(lua_State *L);
int lmpi_gather(lua_State *L);
int lmpi_allgather(lua_State *L);
int lmpi_reduce(lua_State *L);
int lmpi_allreduce(lua_State *L);

#endif

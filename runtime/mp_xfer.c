/*
** mp_xfer.c — how the process modules use the value transfer
** (runtime/transfer.h) for everything that crosses a process boundary:
** Queue items, Pipe messages, Pool tasks and results, Manager values.
**
** The encoded bytes are copied out (into shared memory or a socket) and
** the TrBuffer is dropped at once. Runtime objects inside a value keep
** the references the encoder took for them until the receiver has
** decoded (see docs/processes.md, "objects inside messages").
*/
#include <stdlib.h>

#include <lauxlib.h>

#include "mp.h"

void mp_encode(lua_State *L, int first, int n, const char *what, TrBuffer *b) {
  tr_buffer_init(b);
  tr_check_encode(L, first, n, what, b);
}

void mp_encoded_done(TrBuffer *b) {
  tr_buffer_free(b);
}

int mp_decode(lua_State *L, const void *data, size_t len) {
  return tr_push_decoded(L, data, len);
}

int mp_raise_queue_error(lua_State *L, const char *which) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "queue");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, which);
  return lua_error(L);
}

/*
** mp_xfer.c — how the process modules use the value transfer
** (runtime/transfer.h) for everything that crosses a process boundary:
** Queue items, Pipe messages, Pool tasks and results, Manager values.
**
** The encoded bytes are copied out (into shared memory or a socket) and
** the TrBuffer is freed at once. Objects of the shared arena (Value,
** Array, the process-shared locks, queues, Manager proxies) were rewritten
** into markers before (mp_mark.c). Any other runtime object (a
** threading.Lock, a queue.Queue) lives in one process only and travels by
** address, which no other process can use, and nothing would keep it alive
** while the bytes wait in shared memory: so it is refused at encode time
** (TR_ENC_NOOBJ), with the path to it, as Python refuses to pickle a
** threading lock. Within one process, queue.Queue carries such objects.
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "mp.h"

void mp_encode(lua_State *L, int first, int n, const char *what, TrBuffer *b) {
  char err[TR_ERRMAX];
  tr_buffer_init(b);
  if (tr_encode_opts(L, first, n, what, TR_ENC_NOOBJ, b, err, sizeof err) != 0)
    luaL_error(L, "%s", err);
}

void mp_encoded_done(TrBuffer *b) {
  tr_buffer_free(b);       /* holds no object references: TR_ENC_NOOBJ */
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

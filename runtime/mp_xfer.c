/*
** mp_xfer.c — how the process modules use the value transfer
** (runtime/transfer.h) for everything that crosses a process boundary:
** Queue items, Pipe messages, Pool tasks and results, Manager values.
**
** The encoded bytes are copied out (into shared memory or a socket) and
** the TrBuffer's memory is freed at once. Runtime objects inside a value
** are encoded by address (transfer.c), which only the encoding process
** can decode (arena objects are rewritten before, see mp_mark.c); their
** references are deliberately KEPT (not dropped with
** the buffer): the bytes may sit in a queue for any time and a decode by
** a GIL-off thread of this process must never see a freed object. The
** cost is that such an object is never freed (docs/processes.md,
** "runtime objects inside messages"). Another process decoding them gets
** the transfer's clear error ("... was not encoded by this process").
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "mp.h"

void mp_encode(lua_State *L, int first, int n, const char *what, TrBuffer *b) {
  tr_buffer_init(b);
  tr_check_encode(L, first, n, what, b);
}

void mp_encoded_done(TrBuffer *b) {
  free(b->objs);           /* the references themselves are kept: see above */
  free(b->data);
  memset(b, 0, sizeof *b);
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

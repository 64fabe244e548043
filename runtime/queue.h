/*
** queue.h — what other modules (multiprocessing) reuse of `queue`.
*/
#ifndef queue_h
#define queue_h

#include <lua.h>

/* Pushes this interpreter's queue.Empty (which = "Empty") or queue.Full
** (which = "Full") error object: the same object as the module's fields,
** so `e == queue.Empty` holds for errors raised by either module. */
void gl_queue_push_error(lua_State *L, const char *which);

#endif

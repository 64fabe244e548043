/*
** tthread.h — threading.Thread, shared by its parts: the object and its
** attributes (tthread.c), starting and running a thread (tthread_run.c),
** the module functions, Timer and excepthook (tthread_mod.c).
**
** A Thread is a runtime object (rtobject.h): a ThreadObj holding one
** reference to the GLThread record (vm/gthread.h). There is one ThreadObj
** per record at a time (gt_lua_obj), so with the GIL off a Thread handle
** can be given to another interpreter (args, queues, shared values) and
** join, is_alive, name, ident, daemon and error work there too. Each
** interpreter's handle has its own table of Lua-side fields (its user
** value): target, args, an overriding run, and whatever the script stores
** on it; fields do not travel with a handle, except to the thread's own
** interpreter at start (tthread_run.c).
*/
#ifndef tthread_h
#define tthread_h

#include <lua.h>

#include "gthread.h"
#include "rtobject.h"

#define THREAD_MT "threading.Thread"

typedef struct ThreadObj {
  RtObject base;
  GLThread *t;                /* immutable; one reference held */
} ThreadObj;

extern const RtType gl_thread_type;

/* Pushes this interpreter's handle for t. */
void tt_push(lua_State *L, GLThread *t);
/* The record behind the Thread handle at idx, else raises. */
GLThread *tt_check(lua_State *L, int idx);
/* Pushes the fields table of the handle at idx (created when missing). */
void tt_push_fields(lua_State *L, int idx);
/* A new, unstarted Thread handle (daemon as the creating thread, no
** name yet) with an empty fields table, on top. */
GLThread *tt_new(lua_State *L);
/* Registers the Thread type (its metatable) in L without the rest of
** the threading module: what a GIL-off thread's universe needs for its
** own handle (tthread_run.c); require "threading" opens the rest. */
void tt_open_type(lua_State *L);
/* Names t "Thread-N" (the next N) unless it has a name. */
void tt_name_if_unnamed(GLThread *t);

/* tthread_run.c: Thread:start(). */
int tt_start(lua_State *L);
/* tthread_mod.c: the default threading.excepthook (prints the report). */
int tt_default_excepthook(lua_State *L);

#endif

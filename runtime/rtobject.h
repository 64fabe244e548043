/*
** rtobject.h — runtime objects: C objects shared by every interpreter.
**
** Locks, events, queues, shared values... are C structs with a reference
** count, independent of any lua_State. A Lua script sees them through a
** "handle": a full userdata holding one reference. With the GIL off each
** interpreter has its own handle to the same object; the object dies when
** the last handle is collected and no C holder (a transfer buffer, a
** running thread) keeps a reference.
**
** Within one interpreter an object always has the same handle (a weak
** cache in the registry), so `a == b` and table keys behave as users
** expect. Handles of one type also compare equal by object (__eq).
**
** Invariants:
**   - refs > 0 while any handle or C holder exists; destroy runs once.
**   - destroy(o, L) gets the interpreter whose handle went last, or NULL
**     when a C holder dropped the last reference.
*/
#ifndef rtobject_h
#define rtobject_h

#include <stdatomic.h>
#include <sys/types.h>

#include <lua.h>
#include <lauxlib.h>

typedef struct RtObject RtObject;

typedef struct RtType {
  const char *name;      /* "threading.Lock": metatable name, used in messages */
  const char *module;    /* module whose luaopen registers the metatable */
  void (*destroy)(RtObject *o, lua_State *L);
  /* In a fork()ed child, before any Lua runs: re-initialise the object's
  ** mutexes and condition variables (a thread that held them is gone in the
  ** child). May be NULL. */
  void (*after_fork)(RtObject *o);
} RtType;

/* RtObjects are always process-local (malloc'ed); an object that lives in
** shared memory across processes is reached through a local RtObject that
** points to it. All live objects are on one list (for after_fork). */
struct RtObject {
  const RtType *type;
  atomic_long refs;
  RtObject *all_prev, *all_next;   /* guarded by the list's mutex in rtobject.c */
};

void rt_init(RtObject *o, const RtType *type);   /* refs = 1: the creator's */
/* destroy() implementations call this first: takes o off the live list. */
void rt_unlink(RtObject *o);
/* Fork duties (gl_at_fork): the type table's and the object list's
** mutexes are held across fork(); in the child they start afresh and
** after_fork runs on every live object. */
void rt_fork_prepare(void);
void rt_fork_parent(pid_t pid);
void rt_fork_child(void);
void rt_incref(RtObject *o);
void rt_decref(RtObject *o, lua_State *L);

/* Pushes this interpreter's handle for o (creating it, with a new
** reference, when there is none yet). Loads o's module if its metatable
** is not registered here yet. */
void rt_push(lua_State *L, RtObject *o);

/* Like rt_push, but hands over the caller's reference to the new handle
** (or drops it when a handle already existed). */
void rt_push_owned(lua_State *L, RtObject *o);

/* The object behind the handle at idx when it is of type t, else raises
** "bad argument #idx (threading.Lock expected, got X)". */
RtObject *rt_check(lua_State *L, int idx, const RtType *t);

/* The object behind the handle at idx (any runtime type), or NULL. */
RtObject *rt_test(lua_State *L, int idx);

/* Creates the metatable for t (named t->name) with __gc, __eq, __tostring,
** __name, and __index = a table of 'methods'. Leaves the metatable on the
** stack so the caller may add or replace fields (__index, __newindex...). */
void rt_newtype(lua_State *L, const RtType *t, const luaL_Reg *methods);

/* Pushes a new empty table whose keys or values are weak ('mode' is "k",
** "v" or "kv"). */
void rt_newweak(lua_State *L, const char *mode);

/* Pushes registry[key], creating it on first use: a weak table with 'mode',
** or a plain table when mode is NULL. */
void rt_registry_table(lua_State *L, const char *key, const char *mode);

/* Process-wide list of types, so a decoder can find a type by name.
** rt_newtype registers its type; registering twice is harmless. */
void rt_register_type(const RtType *t);
const RtType *rt_find_type(const char *name);

#endif

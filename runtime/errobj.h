/*
** errobj.h — named error objects such as queue.Empty: one object per
** interpreter and name, so `e == queue.Empty` holds for the error a
** pcall catches; tostring(e) is the name.
*/
#ifndef errobj_h
#define errobj_h

#include <lua.h>

/* Pushes this interpreter's error object called 'name' (created on first
** use; it is a table {name = name} whose tostring is the name). */
void gl_errobj_push(lua_State *L, const char *name);

/* Raises it (does not return). */
int gl_errobj_raise(lua_State *L, const char *name);

#endif

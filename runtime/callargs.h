/*
** callargs.h — the argument list of a Thread or Process: the `args`
** table of Thread{...} and Process{...}, unpacked as
** table.unpack(args, 1, args.n or #args).
**
** One checker for both, called at start() (so a bad args.n is an error
** in the caller, before any thread or child exists) and again where the
** target is called (the table may have changed in between).
*/
#ifndef callargs_h
#define callargs_h

#include <lua.h>

/* The number of arguments in the args table at idx (nil: 0). args.n,
** when present, must be an integer >= 0 that fits on a Lua stack;
** otherwise #args (which may call __len). Raises "WHO: args.n ..." on a
** bad value. Leaves the stack as it was. */
lua_Integer gl_args_count(lua_State *L, int idx, const char *who);

/* Checks as gl_args_count, then pushes args[1..n] (lua_geti: __index is
** honoured) and returns n. */
int gl_args_push(lua_State *L, int idx, const char *who);

#endif

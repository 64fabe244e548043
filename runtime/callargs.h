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

/* start(): checks args.n of the args table at idx (a plain field, read
** raw; nil or not a table: nothing to check), which must be an integer
** from 0 to 999000; raises "WHO: args.n must be ..." otherwise. #args is not looked at (a __len
** runs where the arguments are unpacked). Leaves the stack as it was. */
void gl_args_check(lua_State *L, int idx, const char *who);

/* Where the target is called: pushes args[1..n] (n = args.n, checked as
** above, or #args, which may call __len; lua_geti honours __index) and
** returns n. */
int gl_args_push(lua_State *L, int idx, const char *who);

#endif

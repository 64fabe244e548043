/*
** options.h — checking the options table of a constructor
** (Process{...}, Pool{...}, Popen{...}, Thread{...}): every key must be
** one the constructor knows, so a misspelled option is an error instead
** of being silently ignored.
*/
#ifndef options_h
#define options_h

#include <lua.h>

/* Raises when the table at idx has a key that is not in 'known' (a
** NULL-terminated list): "unknown option 'targt' to Process (did you mean
** 'target'?)", or "(known options: a, b, c)" when no name is close. A key
** that is not a string is an error too. Does nothing when idx is not a
** table. 'what' names the constructor. */
void rt_check_options(lua_State *L, int idx, const char *what, const char *const known[]);

#endif

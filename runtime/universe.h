/*
** universe.h — what the runtime adds to every universe, and its fork
** duties. The one entry point the program (vm/main.c) hands the core.
*/
#ifndef universe_h
#define universe_h

#include <lua.h>

/* Opens the runtime in a fresh universe (called by the core's
** gl_universe_new after the standard libraries): print, the modules in
** package.preload, io's and debug's replacements, os additions. The first
** call also registers the runtime's fork duties with gl_at_fork. */
void rt_open_universe(lua_State *L);

#endif

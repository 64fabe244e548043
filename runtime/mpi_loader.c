/*
** mpi_loader.c — `require "mpi"`: loads the MPI module, a shared object
** built beside gillua only when Open MPI is installed (runtime/lmpi*.c,
** make builds $(BUILD)/mpi.so; make install puts it in PREFIX/lib/gillua). So
** the interpreter itself never links Open MPI: nothing else pays for it.
** The module calls back into gillua (the GIL, the value transfer): the
** executable exports those functions (runtime/lmpi.list).
**
** Looked for: $GILLUA_MPI_MODULE, then mpi.so next to the executable, then
** ../lib/gillua/mpi.so from it. Opened RTLD_GLOBAL: Open MPI loads its own
** plugins, which need libmpi's symbols.
*/
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

#include "modules.h"

static void *open_module(char *tried, size_t n) {
  const char *env = getenv("GILLUA_MPI_MODULE");
  char exe[PATH_MAX], path[PATH_MAX + 32];
  tried[0] = '\0';
  if (env && *env) {
    snprintf(tried, n, "%s", env);
    return dlopen(env, RTLD_NOW | RTLD_GLOBAL);
  }
  ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (k <= 0) return NULL;
  exe[k] = '\0';
  char *slash = strrchr(exe, '/');
  if (slash) *slash = '\0';
  static const char *const rel[] = { "/mpi.so", "/../lib/gillua/mpi.so" };
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s%s", exe, rel[i]);
    if (access(path, F_OK) != 0) continue;
    snprintf(tried, n, "%s", path);
    return dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  }
  return NULL;
}

int luaopen_mpi(lua_State *L) {
  char tried[PATH_MAX + 32];
  void *h = open_module(tried, sizeof tried);
  if (h == NULL) {
    if (tried[0])
      return luaL_error(L, "require 'mpi': cannot load %s: %s", tried, dlerror());
    return luaL_error(L, "require 'mpi': gillua was built without Open MPI. Install it and rebuild: "
                         "`make deps-mpi && make` (Debian packages libopenmpi-dev, openmpi-bin), "
                         "then start the program with `mpirun -np N gillua script.lua`");
  }
  lua_CFunction open = (lua_CFunction)(void (*)(void))dlsym(h, "gillua_open_mpi");
  if (open == NULL) return luaL_error(L, "require 'mpi': %s is not gillua's MPI module", tried);
  return open(L);
}

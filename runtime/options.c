/*
** options.c — rejecting unknown keys in a constructor's options table
** (see options.h). A near miss is told by its edit distance: the closest
** known name within 2 edits (a third of the name for short ones) is
** suggested.
*/
#include <string.h>

#include <lauxlib.h>

#include "options.h"

#define MAX_NAME 32      /* longer keys cannot be a near miss of an option */

/* Levenshtein distance of a and b (both shorter than MAX_NAME), one row. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[MAX_NAME + 1];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

/* The known name closest to key, or NULL when none is close enough. */
static const char *closest(const char *key, const char *const known[]) {
  size_t lk = strlen(key);
  if (lk >= MAX_NAME) return NULL;
  const char *best = NULL;
  size_t bestd = (size_t)-1;
  for (int i = 0; known[i]; i++) {
    if (strlen(known[i]) >= MAX_NAME) continue;
    size_t d = edit_distance(key, known[i]);
    size_t limit = lk < 6 ? 1 + (lk >= 3) : 2;
    if (d <= limit && d < bestd) { best = known[i]; bestd = d; }
  }
  return best;
}

static int unknown_option(lua_State *L, const char *key, const char *what,
                          const char *const known[]) {
  if (known[0] == NULL) return luaL_error(L, "unknown option '%s' to %s (it takes none)", key, what);
  const char *near = closest(key, known);
  if (near)
    return luaL_error(L, "unknown option '%s' to %s (did you mean '%s'?)", key, what, near);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 0; known[i]; i++) {
    if (i > 0) luaL_addstring(&b, ", ");
    luaL_addstring(&b, known[i]);
  }
  luaL_pushresult(&b);
  return luaL_error(L, "unknown option '%s' to %s (known options: %s)", key, what,
                    lua_tostring(L, -1));
}

void rt_check_options(lua_State *L, int idx, const char *what, const char *const known[]) {
  if (lua_type(L, idx) != LUA_TTABLE) return;
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s: options must be named (got a %s key)", what, luaL_typename(L, -1));
    const char *key = lua_tostring(L, -1);
    int i = 0;
    while (known[i] && strcmp(known[i], key) != 0) i++;
    if (known[i] == NULL) unknown_option(L, key, what, known);
  }
}

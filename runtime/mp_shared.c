/*
** mp_shared.c — multiprocessing.Value and Array: typed numbers in the
** shared arena, visible to every process forked after the arena was
** mapped (also to a Pool's workers for Values created after the Pool
** started) and to GIL-off threads.
**
** Typecodes as Python's (ctypes): b B h H i I l L q Q (integers of 8..64
** bits), f d (float, double), c (one byte, seen as a 1-character string),
** ? (boolean). Each element read or write is a single atomic load or
** store, so it is never torn; `v.value = v.value + 1` is still two
** operations and races without the lock, as in Python. Storing a value
** that does not fit the typecode raises (Python wraps silently).
**
** Value(typecode, init[, lock]) and Array(typecode, size_or_table[, lock]):
** lock true/absent = a new process-shared RLock (get_lock()), false = none,
** or a multiprocessing Lock/RLock to use. The block holds a shared
** reference to its lock block; freeing the block drops it.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "mp.h"
#include "rtclass.h"

typedef struct SArray {
  char tc;
  int elsize;
  int is_array;
  lua_Integer n;
  void *lock;                /* sync block, one shared reference, or NULL */
  _Alignas(16) unsigned char data[];
} SArray;

static void arr_release(void *p) {
  SArray *a = (SArray *)p;
  if (!mp_shm_unref(a)) return;
  if (a->lock) mp_shm_decref(a->lock);
  mp_shm_free(a);
}

static void sh_destroy(RtObject *o, lua_State *L) {
  (void)L;
  mp_ref_destroy((MpRef *)o);
}

static const RtType value_type = {"multiprocessing.Value", "multiprocessing", sh_destroy, NULL};
static const RtType array_type = {"multiprocessing.Array", "multiprocessing", sh_destroy, NULL};

static int elsize_of(char tc) {
  switch (tc) {
    case 'b': case 'B': case 'c': case '?': return 1;
    case 'h': case 'H': return 2;
    case 'i': case 'I': case 'f': return 4;
    case 'l': case 'L': case 'q': case 'Q': case 'd': return 8;
    default: return 0;
  }
}

static char check_tc(lua_State *L, int idx) {
  size_t len;
  const char *s = luaL_checklstring(L, idx, &len);
  if (len != 1 || elsize_of(s[0]) == 0)
    luaL_argerror(L, idx, lua_pushfstring(L, "bad typecode '%s' (expected one of b B h H i I l L q Q f d c ?)", s));
  return s[0];
}

/* Pushes element i (0-based). */
static void push_elem(lua_State *L, SArray *a, lua_Integer i) {
  void *p = a->data + (size_t)i * (size_t)a->elsize;
  switch (a->tc) {
    case 'b': lua_pushinteger(L, __atomic_load_n((int8_t *)p, __ATOMIC_SEQ_CST)); break;
    case 'B': lua_pushinteger(L, __atomic_load_n((uint8_t *)p, __ATOMIC_SEQ_CST)); break;
    case 'h': lua_pushinteger(L, __atomic_load_n((int16_t *)p, __ATOMIC_SEQ_CST)); break;
    case 'H': lua_pushinteger(L, __atomic_load_n((uint16_t *)p, __ATOMIC_SEQ_CST)); break;
    case 'i': lua_pushinteger(L, __atomic_load_n((int32_t *)p, __ATOMIC_SEQ_CST)); break;
    case 'I': lua_pushinteger(L, __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST)); break;
    case 'l': case 'q': lua_pushinteger(L, __atomic_load_n((int64_t *)p, __ATOMIC_SEQ_CST)); break;
    case 'L': case 'Q': lua_pushinteger(L, (lua_Integer)__atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST)); break;
    case 'f': {
      uint32_t bits = __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST);
      float f;
      memcpy(&f, &bits, 4);
      lua_pushnumber(L, f);
      break;
    }
    case 'd': {
      uint64_t bits = __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
      double d;
      memcpy(&d, &bits, 8);
      lua_pushnumber(L, d);
      break;
    }
    case 'c': {
      char c = (char)__atomic_load_n((uint8_t *)p, __ATOMIC_SEQ_CST);
      lua_pushlstring(L, &c, 1);
      break;
    }
    case '?': lua_pushboolean(L, __atomic_load_n((uint8_t *)p, __ATOMIC_SEQ_CST) != 0); break;
  }
}

static lua_Integer int_in(lua_State *L, int idx, char tc, lua_Integer lo, lua_Integer hi) {
  int ok;
  lua_Integer v = lua_tointegerx(L, idx, &ok);
  if (!ok) {
    if (lua_type(L, idx) == LUA_TNUMBER)
      luaL_error(L, "typecode '%c' needs an integer (got %s)", tc, lua_tostring(L, idx));
    luaL_error(L, "typecode '%c' needs an integer (got %s)", tc, luaL_typename(L, idx));
  }
  if (v < lo || v > hi) luaL_error(L, "value %I out of range for typecode '%c'", v, tc);
  return v;
}

/* Stores the Lua value at idx into element i (0-based). */
static void set_elem(lua_State *L, SArray *a, lua_Integer i, int idx) {
  void *p = a->data + (size_t)i * (size_t)a->elsize;
  char tc = a->tc;
  switch (tc) {
    case 'b': __atomic_store_n((int8_t *)p, (int8_t)int_in(L, idx, tc, INT8_MIN, INT8_MAX), __ATOMIC_SEQ_CST); break;
    case 'B': __atomic_store_n((uint8_t *)p, (uint8_t)int_in(L, idx, tc, 0, UINT8_MAX), __ATOMIC_SEQ_CST); break;
    case 'h': __atomic_store_n((int16_t *)p, (int16_t)int_in(L, idx, tc, INT16_MIN, INT16_MAX), __ATOMIC_SEQ_CST); break;
    case 'H': __atomic_store_n((uint16_t *)p, (uint16_t)int_in(L, idx, tc, 0, UINT16_MAX), __ATOMIC_SEQ_CST); break;
    case 'i': __atomic_store_n((int32_t *)p, (int32_t)int_in(L, idx, tc, INT32_MIN, INT32_MAX), __ATOMIC_SEQ_CST); break;
    case 'I': __atomic_store_n((uint32_t *)p, (uint32_t)int_in(L, idx, tc, 0, UINT32_MAX), __ATOMIC_SEQ_CST); break;
    case 'l': case 'q': __atomic_store_n((int64_t *)p, (int64_t)int_in(L, idx, tc, LUA_MININTEGER, LUA_MAXINTEGER), __ATOMIC_SEQ_CST); break;
    case 'L': case 'Q': __atomic_store_n((uint64_t *)p, (uint64_t)int_in(L, idx, tc, 0, LUA_MAXINTEGER), __ATOMIC_SEQ_CST); break;
    case 'f': {
      float f = (float)luaL_checknumber(L, idx);
      uint32_t bits;
      memcpy(&bits, &f, 4);
      __atomic_store_n((uint32_t *)p, bits, __ATOMIC_SEQ_CST);
      break;
    }
    case 'd': {
      double d = (double)luaL_checknumber(L, idx);
      uint64_t bits;
      memcpy(&bits, &d, 8);
      __atomic_store_n((uint64_t *)p, bits, __ATOMIC_SEQ_CST);
      break;
    }
    case 'c': {
      size_t len;
      const char *s = lua_tolstring(L, idx, &len);
      if (s == NULL || len != 1 || lua_type(L, idx) != LUA_TSTRING)
        luaL_error(L, "typecode 'c' needs a 1-character string");
      __atomic_store_n((uint8_t *)p, (uint8_t)s[0], __ATOMIC_SEQ_CST);
      break;
    }
    case '?': __atomic_store_n((uint8_t *)p, (uint8_t)lua_toboolean(L, idx), __ATOMIC_SEQ_CST); break;
  }
}

/* Reads the lock argument at idx; returns a sync block with a new shared
** reference, or NULL for lock=false. */
static void *get_lock_arg(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx) || (lua_isboolean(L, idx) && lua_toboolean(L, idx)))
    return mp_sync_new_lock(L, 1);
  if (lua_isboolean(L, idx)) return NULL;
  void *l = mp_sync_test_lock(L, idx);
  if (l == NULL)
    luaL_argerror(L, idx, "lock must be a boolean or a multiprocessing Lock/RLock");
  mp_shm_incref(l);
  return l;
}

static SArray *new_array(lua_State *L, char tc, lua_Integer n, int is_array, int lockidx) {
  if (n < 0 || n > (lua_Integer)(1 << 28)) luaL_error(L, "bad array size %I", n);
  int el = elsize_of(tc);
  void *lock = get_lock_arg(L, lockidx);
  size_t bytes = sizeof(SArray) + (size_t)n * (size_t)el;
  SArray *a = (SArray *)mp_shm_alloc_owned(bytes, NULL);   /* its handle takes the entry over */
  if (a) memset(a, 0, bytes);
  if (a == NULL) {
    if (lock) mp_shm_decref(lock);
    mp_raise_exhausted(L, is_array ? "Array" : "Value", sizeof(SArray) + (size_t)n * (size_t)el);
  }
  a->tc = tc;
  a->elsize = el;
  a->n = n;
  a->is_array = is_array;
  a->lock = lock;
  return a;
}

static void push_handle(lua_State *L, SArray *a) {
  MpRef *r = (MpRef *)calloc(1, sizeof(MpRef));
  if (r == NULL) { mp_ledger_remove(a); arr_release(a); luaL_error(L, "out of memory"); }
  r->release = arr_release;
  mp_ref_init(r, a->is_array ? &array_type : &value_type, a);
  rt_push_owned(L, &r->rt);
}

/* Value(typecode, init[, lock]) */
static int mp_Value(lua_State *L) {
  char tc = check_tc(L, 1);
  SArray *a = new_array(L, tc, 1, 0, 3);
  push_handle(L, a);
  if (!lua_isnoneornil(L, 2)) set_elem(L, a, 0, 2);
  return 1;
}

/* Array(typecode, size_or_table[, lock]) */
static int mp_Array(lua_State *L) {
  char tc = check_tc(L, 1);
  lua_Integer n;
  if (lua_istable(L, 2)) n = luaL_len(L, 2);
  else if (lua_type(L, 2) == LUA_TSTRING && tc == 'c') n = (lua_Integer)lua_rawlen(L, 2);
  else n = luaL_checkinteger(L, 2);
  SArray *a = new_array(L, tc, n, 1, 3);
  push_handle(L, a);
  if (lua_istable(L, 2))
    for (lua_Integer i = 0; i < n; i++) {
      lua_geti(L, 2, i + 1);
      set_elem(L, a, i, -1);
      lua_pop(L, 1);
    }
  else if (lua_type(L, 2) == LUA_TSTRING)
    memcpy(a->data, lua_tostring(L, 2), (size_t)n);
  return 1;
}

static SArray *check_value(lua_State *L) {
  return (SArray *)((MpRef *)rt_check(L, 1, &value_type))->shared;
}

static SArray *check_array(lua_State *L) {
  return (SArray *)((MpRef *)rt_check(L, 1, &array_type))->shared;
}

static SArray *check_any(lua_State *L) {
  RtObject *o = rt_test(L, 1);
  if (o == NULL || (o->type != &value_type && o->type != &array_type))
    luaL_argerror(L, 1, "multiprocessing.Value or Array expected");
  return (SArray *)((MpRef *)o)->shared;
}

static int sh_get_lock(lua_State *L) {
  SArray *a = check_any(L);
  if (a->lock == NULL) return luaL_error(L, "this object was created with lock=false");
  mp_sync_push(L, a->lock);
  return 1;
}

static int v_index(lua_State *L) {
  SArray *a = check_value(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "value") == 0) { push_elem(L, a, 0); return 1; }
  if (strcmp(k, "typecode") == 0) { lua_pushlstring(L, &a->tc, 1); return 1; }
  return rt_push_method(L, k);
}

static int v_newindex(lua_State *L) {
  SArray *a = check_value(L);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "value") != 0) return luaL_error(L, "Value has no field '%s' (use .value)", k);
  set_elem(L, a, 0, 3);
  return 0;
}

static lua_Integer check_index(lua_State *L, SArray *a, int idx) {
  int ok;
  lua_Integer i = lua_tointegerx(L, idx, &ok);
  if (!ok) luaL_error(L, "Array index must be an integer (got %s)", luaL_typename(L, idx));
  if (i < 1 || i > a->n) luaL_error(L, "Array index %I out of range (1..%I)", i, a->n);
  return i - 1;
}

static int a_index(lua_State *L) {
  SArray *a = check_array(L);
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "value") == 0 && a->tc == 'c') {   /* the bytes up to the first NUL */
      size_t n = strnlen((const char *)a->data, (size_t)a->n);
      lua_pushlstring(L, (const char *)a->data, n);
      return 1;
    }
    if (strcmp(k, "typecode") == 0) { lua_pushlstring(L, &a->tc, 1); return 1; }
    return rt_push_method(L, k);
  }
  if (lua_type(L, 2) == LUA_TNUMBER) {
    lua_Integer i = lua_tointeger(L, 2);
    if (!lua_isinteger(L, 2) || i < 1 || i > a->n) return 0;  /* nil: ipairs stops */
    push_elem(L, a, i - 1);
    return 1;
  }
  return 0;
}

/* a.value = s on a 'c' Array, as Python's: the bytes of s, followed by
** a NUL when s is shorter than the array (the rest is left as it was);
** longer than the array is an error. */
static int set_chars(lua_State *L, SArray *a) {
  size_t len;
  const char *s = luaL_checklstring(L, 3, &len);
  if (len > (size_t)a->n)
    return luaL_error(L, "Array value too long (%d bytes for %I)", (int)len, a->n);
  memcpy(a->data, s, len);
  if (len < (size_t)a->n) ((char *)a->data)[len] = '\0';
  return 0;
}

static int a_newindex(lua_State *L) {
  SArray *a = check_array(L);
  if (lua_type(L, 2) == LUA_TSTRING) {
    const char *k = lua_tostring(L, 2);
    if (strcmp(k, "value") == 0 && a->tc == 'c') return set_chars(L, a);
    return luaL_error(L, "Array has no writable field '%s'%s", k,
                      strcmp(k, "value") == 0 ? " (only a 'c' Array has .value)" : "");
  }
  set_elem(L, a, check_index(L, a, 2), 3);
  return 0;
}

static int a_len(lua_State *L) {
  lua_pushinteger(L, check_array(L)->n);
  return 1;
}

static int a_tolist(lua_State *L) {
  SArray *a = check_array(L);
  lua_createtable(L, (int)a->n, 0);
  for (lua_Integer i = 0; i < a->n; i++) {
    push_elem(L, a, i);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int v_tostring(lua_State *L) {
  SArray *a = check_value(L);
  push_elem(L, a, 0);
  lua_pushfstring(L, "<Value '%c' %s>", a->tc, luaL_tolstring(L, -1, NULL));
  return 1;
}

static const luaL_Reg value_methods[] = {{"get_lock", sh_get_lock}, {NULL, NULL}};
static const luaL_Reg array_methods[] = {{"get_lock", sh_get_lock}, {"tolist", a_tolist}, {NULL, NULL}};

static void finish_type(lua_State *L, lua_CFunction idx, lua_CFunction nidx) {
  lua_getfield(L, -1, "__index");
  lua_setfield(L, -2, "methods");
  lua_pushcfunction(L, idx);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, nidx);
  lua_setfield(L, -2, "__newindex");
}

static const MpExport exports[] = {
  {&value_type, sizeof(MpRef), arr_release},
  {&array_type, sizeof(MpRef), arr_release},
};

void mp_open_shared(lua_State *L) {
  mp_exportable(&exports[0]);
  mp_exportable(&exports[1]);
  rt_newtype(L, &value_type, value_methods);
  finish_type(L, v_index, v_newindex);
  lua_pushcfunction(L, mp_ref_eq);
  lua_setfield(L, -2, "__eq");
  lua_pushcfunction(L, v_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
  rt_newtype(L, &array_type, array_methods);
  finish_type(L, a_index, a_newindex);
  lua_pushcfunction(L, mp_ref_eq);
  lua_setfield(L, -2, "__eq");
  lua_pushcfunction(L, a_len);
  lua_setfield(L, -2, "__len");
  lua_pop(L, 1);
  lua_pushcfunction(L, mp_Value);
  lua_setfield(L, -2, "Value");
  lua_pushcfunction(L, mp_Array);
  lua_setfield(L, -2, "Array");
}

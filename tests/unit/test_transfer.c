/*
** test_transfer.c — the value transfer (runtime/transfer*.c).
**
** Values are built by Lua code in a source interpreter, encoded, decoded
** into a second, independent interpreter (as with the GIL off), and
** checked there by Lua code that raises on any mismatch. Runtime objects
** come from a small test type ("testobj") registered in package.preload,
** so these tests do not depend on the threading or queue modules.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#include "rtobject.h"
#include "transfer.h"
#include "transfer_int.h"

/*
** {==================================================================
** A runtime type for the tests: testobj.new(v) -> handle with :get().
** ===================================================================
*/

typedef struct TObj {
  RtObject base;
  int value;
} TObj;

static atomic_int tobj_destroyed;

static void tobj_destroy(RtObject *o, lua_State *L) {
  (void)L;
  rt_unlink(o);
  free(o);
  atomic_fetch_add(&tobj_destroyed, 1);
}

static const RtType tobj_type = {"testobj.Obj", "testobj", tobj_destroy, NULL};

static int tobj_new(lua_State *L) {
  TObj *o = (TObj *)calloc(1, sizeof *o);
  rt_init(&o->base, &tobj_type);
  o->value = (int)luaL_checkinteger(L, 1);
  rt_push_owned(L, &o->base);
  return 1;
}

static int tobj_get(lua_State *L) {
  TObj *o = (TObj *)rt_check(L, 1, &tobj_type);
  lua_pushinteger(L, o->value);
  return 1;
}

static int luaopen_testobj(lua_State *L) {
  static const luaL_Reg methods[] = {{"get", tobj_get}, {NULL, NULL}};
  rt_newtype(L, &tobj_type, methods);
  lua_pop(L, 1);
  lua_newtable(L);
  lua_pushcfunction(L, tobj_new);
  lua_setfield(L, -2, "new");
  return 1;
}

/* A C function that belongs to no module. */
static int foreign_cfunc(lua_State *L) { (void)L; return 0; }

/* }================================================================== */


static lua_State *newL(void) {
  lua_State *L = luaL_newstate();
  assert_non_null(L);
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_testobj);
  lua_setfield(L, -2, "testobj");
  lua_pop(L, 1);
  lua_pushcfunction(L, foreign_cfunc);
  lua_setglobal(L, "foreign");          /* globals other than _G's C functions... */
  lua_pushnil(L);
  lua_setglobal(L, "foreign");          /* ...are not named: keep it unnamed */
  return L;
}

/* Runs code (chunk name "test_src") leaving nret results. */
static void run(lua_State *L, const char *code, int nret) {
  if (luaL_loadbuffer(L, code, strlen(code), "=test_src") != LUA_OK ||
      lua_pcall(L, 0, nret, 0) != LUA_OK)
    fail_msg("lua error: %s", lua_tostring(L, -1));
}

/* Runs code with the top n values as '...', popping them; the code
** raises on failure. */
static void check(lua_State *L, int n, const char *code) {
  if (luaL_loadbuffer(L, code, strlen(code), "=check") != LUA_OK)
    fail_msg("bad check code: %s", lua_tostring(L, -1));
  lua_insert(L, -n - 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK)
    fail_msg("check failed: %s", lua_tostring(L, -1));
}

/* Encodes the top n values of src (popping them) and decodes them in dst. */
static void xfer(lua_State *src, int n, lua_State *dst) {
  TrBuffer b;
  char err[TR_ERRMAX];
  int top = lua_gettop(src);
  tr_buffer_init(&b);
  if (tr_encode(src, top - n + 1, n, "value", &b, err, sizeof err) != 0)
    fail_msg("encode: %s", err);
  assert_int_equal(lua_gettop(src), top);
  lua_pop(src, n);
  int dtop = lua_gettop(dst);
  int got = tr_decode(dst, b.data, b.len, err, sizeof err);
  if (got < 0) fail_msg("decode: %s", err);
  assert_int_equal(got, n);
  assert_int_equal(lua_gettop(dst), dtop + n);
  tr_buffer_free(&b);
}

/* Runs code in a fresh source, transfers its nret results to a fresh
** destination and runs the check there. */
static void roundtrip(const char *make, int nret, const char *checkcode) {
  lua_State *src = newL(), *dst = newL();
  run(src, make, nret);
  xfer(src, nret, dst);
  check(dst, nret, checkcode);
  lua_close(src);
  lua_close(dst);
}

/* Expects encoding the results of 'make' to fail with exactly 'msg'. */
static void refused(const char *make, int nret, const char *what,
                    const char *msg) {
  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  run(L, make, nret);
  int top = lua_gettop(L);
  tr_buffer_init(&b);
  assert_int_equal(tr_encode(L, top - nret + 1, nret, what, &b, err, sizeof err), -1);
  assert_string_equal(err, msg);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.nobjs, 0);
  assert_int_equal(lua_gettop(L), top);
  tr_buffer_free(&b);
  lua_close(L);
}

/* A value using every kind of tag, for the corruption tests. */
static const char *rich =
  "local obj = require('testobj').new(7)\n"
  "local shared = {1, 2}\n"
  "local n = 0\n"
  "local function inc() n = n + 1 return n end\n"
  "local function get() return n end\n"
  "local t = {1, 2.5, 'str', true, false, shared, shared, ['k'] = {x = shared},\n"
  "  long = string.rep('ab\\0', 20), fmt = string.format, mod = string,\n"
  "  g = _G, obj = obj, obj2 = obj, inc = inc, get = get, [-3] = -7,\n"
  "  [1.5] = 0.25, big = math.maxinteger, small = math.mininteger}\n"
  "t.self = t\n"
  "setmetatable(t, {__index = shared})\n"
  "return t, 42, 'x', nil\n";

static void encode_rich(lua_State *L, TrBuffer *b) {
  char err[TR_ERRMAX];
  run(L, rich, 4);
  tr_buffer_init(b);
  if (tr_encode(L, -4, 4, "value", b, err, sizeof err) != 0) fail_msg("%s", err);
  lua_pop(L, 4);
}


/* ---------------------------------------------------------------- */

static void test_scalars(void **state) {
  (void)state;
  roundtrip("return nil, true, false, 0, -1, math.maxinteger, math.mininteger,"
            " 1.5, -0.0, 1/0, -1/0, 0/0, 3.0, 2^53, 1e308, 5e-324", 16,
            "local a = table.pack(...)\n"
            "assert(a.n == 16)\n"
            "assert(a[1] == nil and a[2] == true and a[3] == false)\n"
            "assert(math.type(a[4]) == 'integer' and a[4] == 0)\n"
            "assert(a[5] == -1 and a[6] == math.maxinteger and a[7] == math.mininteger)\n"
            "assert(math.type(a[8]) == 'float' and a[8] == 1.5)\n"
            "assert(a[9] == 0 and 1/a[9] == -1/0, 'negative zero')\n"
            "assert(a[10] == 1/0 and a[11] == -1/0 and a[12] ~= a[12])\n"
            "assert(math.type(a[13]) == 'float' and a[13] == 3)\n"
            "assert(math.type(a[14]) == 'float' and a[14] == 2^53)\n"
            "assert(a[15] == 1e308 and a[16] == 5e-324)\n");
}

static void test_strings(void **state) {
  (void)state;
  roundtrip("local all = {} for i = 0, 255 do all[#all+1] = string.char(i) end\n"
            "all = table.concat(all)\n"
            "return '', 'a\\0b', all, string.rep(all, 100), 'short'", 5,
            "local e, nul, all, big, s = ...\n"
            "assert(e == '' and nul == 'a\\0b' and #nul == 3)\n"
            "assert(#all == 256) for i = 0, 255 do assert(all:byte(i+1) == i) end\n"
            "assert(big == string.rep(all, 100) and s == 'short')\n");
}

/* A long string met twice is written once. */
static void test_long_string_shared(void **state) {
  (void)state;
  lua_State *L = newL();
  TrBuffer one, two;
  char err[TR_ERRMAX];
  run(L, "local s = string.rep('x', 10000) return {s}, {s, s, s}", 2);
  tr_buffer_init(&one);
  tr_buffer_init(&two);
  assert_int_equal(tr_encode(L, -2, 1, "v", &one, err, sizeof err), 0);
  assert_int_equal(tr_encode(L, -1, 1, "v", &two, err, sizeof err), 0);
  assert_true(two.len < one.len + 20);
  lua_pop(L, 2);
  assert_true(tr_decode(L, two.data, two.len, err, sizeof err) == 1);
  check(L, 1, "local t = ... assert(#t == 3 and t[3] == string.rep('x', 10000))");
  tr_buffer_free(&one);
  tr_buffer_free(&two);
  lua_close(L);
}

static void test_nested_tables(void **state) {
  (void)state;
  roundtrip("local t = {1, 2, 3, nil, 5, a = {b = {c = {d = 'deep'}}},\n"
            "  [true] = 'yes', [1.5] = 'float', ['a b'] = 1, [-1] = 'neg'}\n"
            "t[{}] = 'table key'\n"
            "local holes = {} holes[1] = 1 holes[1000000] = 2 holes[2^40] = 3\n"
            "return t, holes, {}", 3,
            "local t, holes, empty = ...\n"
            "assert(t[1] == 1 and t[2] == 2 and t[3] == 3 and t[4] == nil and t[5] == 5)\n"
            "assert(t.a.b.c.d == 'deep' and t[true] == 'yes' and t[1.5] == 'float')\n"
            "assert(t['a b'] == 1 and t[-1] == 'neg')\n"
            "local n = 0 for k, v in pairs(t) do\n"
            "  if type(k) == 'table' then assert(v == 'table key') n = n + 1 end end\n"
            "assert(n == 1)\n"
            "assert(holes[1] == 1 and holes[1000000] == 2 and holes[2^40] == 3)\n"
            "assert(math.type(next(holes, nil)) == 'integer')\n"
            "assert(next(empty) == nil)\n");
}

static void test_shared_and_cycles(void **state) {
  (void)state;
  roundtrip("local s = {name = 's'}\n"
            "local t = {a = s, b = s, list = {s, s}}\n"
            "t.self = t\n"
            "local x, y = {}, {} x.y = y y.x = x\n"
            "t[s] = s\n"
            "return t, s, x", 3,
            "local t, s, x = ...\n"
            "assert(t.a == s and t.b == s and t.list[1] == s and t.list[2] == s)\n"
            "assert(t.self == t and x.y.x == x and t[s] == s)\n"
            "s.name = 'changed' assert(t.a.name == 'changed')\n");
}

static void test_metatables(void **state) {
  (void)state;
  roundtrip("local Account = {} Account.__index = Account\n"
            "function Account.new(b) return setmetatable({balance = b}, Account) end\n"
            "function Account:deposit(v) self.balance = self.balance + v end\n"
            "Account.__tostring = function(a) return 'Account(' .. a.balance .. ')' end\n"
            "return Account.new(10), Account.new(20)", 2,
            "local a, b = ...\n"
            "assert(getmetatable(a) == getmetatable(b), 'shared metatable')\n"
            "a:deposit(5) assert(a.balance == 15)\n"
            "assert(tostring(b) == 'Account(20)')\n");
}

static void test_function_upvalues(void **state) {
  (void)state;
  roundtrip("local n = 10\n"
            "local function inc() n = n + 1 return n end\n"
            "local function get() return n end\n"
            "local cfg = {step = 2}\n"
            "local function step(x) return x + cfg.step end\n"
            "local function fact(k) if k <= 1 then return 1 end return k * fact(k - 1) end\n"
            "return inc, get, step, fact, cfg", 5,
            "local inc, get, step, fact, cfg = ...\n"
            "assert(inc() == 11 and inc() == 12)\n"
            "assert(get() == 12, 'inc and get share the variable n')\n"
            "assert(step(1) == 3) cfg.step = 5 assert(step(1) == 6, 'cfg shared')\n"
            "assert(fact(5) == 120, 'recursive local function')\n");
}

/* _ENV is the receiver's global table, never a copy of the sender's. */
/* A variable first written inside a table that a later function of the
** same variable sits in: the join happens before the value is set. */
static void test_upvalue_cycle(void **state) {
  (void)state;
  roundtrip("local shared = {}\n"
            "local function a() return shared end\n"
            "local function b() return shared end\n"
            "local function set(v) shared = v end\n"
            "shared.a, shared.b, shared.set = a, b, set\n"
            "return a", 1,
            "local a = ...\n"
            "local t = a()\n"
            "assert(type(t) == 'table' and t.a == a and t.b() == t)\n"
            "t.set(5) assert(a() == 5 and t.b() == 5, 'one variable')\n");
}

/* A function with its own environment keeps it (copied); the sandbox's
** fallback to _G becomes the receiver's _G. */
static void test_custom_env(void **state) {
  (void)state;
  roundtrip("local env = setmetatable({Y = 'sandbox'}, {__index = _G})\n"
            "return load('return Y, print', '=c', 't', env)", 1,
            "local f = ...\n"
            "local y, p = f()\n"
            "assert(y == 'sandbox' and rawequal(p, print))\n");
}

static void test_env_rebinding(void **state) {
  (void)state;
  lua_State *src = newL(), *dst = newL();
  run(src, "X = 'sender'\n"
           "local G = _G\n"
           "return function() return X, G == _G end, _G", 2);
  xfer(src, 2, dst);
  run(dst, "X = 'receiver'", 0);
  check(dst, 2, "local f, g = ...\n"
                "local x, same = f()\n"
                "assert(x == 'receiver', x) assert(same)\n"
                "assert(g == _G)\n");
  lua_close(src);
  lua_close(dst);
}

/* Debug info travels: tracebacks name the function and its source. */
static void test_traceback_names(void **state) {
  (void)state;
  roundtrip("local function inner_boom() error('boom') end\n"
            "return function() inner_boom() end", 1,
            "local f = ...\n"
            "local ok, tb = xpcall(f, debug.traceback)\n"
            "assert(not ok)\n"
            "assert(tb:find('test_src:1: boom', 1, true), tb)\n"
            "assert(tb:find('inner_boom', 1, true), tb)\n");
}

static void test_cfunctions_by_name(void **state) {
  (void)state;
  roundtrip("local fmt = string.format\n"
            "return string.format, print, math.floor, string, io.stdout,\n"
            "  function(...) return fmt('%d-%d', ...) end, table, _G.pairs", 8,
            "local f, p, fl, s, out, g, t, pairs_ = ...\n"
            "assert(rawequal(f, string.format) and rawequal(p, print))\n"
            "assert(rawequal(fl, math.floor) and rawequal(s, string))\n"
            "assert(rawequal(out, io.stdout) and rawequal(t, table))\n"
            "assert(rawequal(pairs_, pairs))\n"
            "assert(g(1, 2) == '1-2')\n");
}

/* A runtime module not loaded in the receiver yet is loaded from
** package.preload; objects are shared, with their reference counts. */
static void test_runtime_objects(void **state) {
  (void)state;
  lua_State *src = newL(), *dst = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  int before = atomic_load(&tobj_destroyed);
  run(src, "local m = require 'testobj'\n"
           "local o = m.new(41)\n"
           "return {o, o, make = m.new, mod = m}", 1);
  tr_buffer_init(&b);
  assert_int_equal(tr_encode(src, -1, 1, "v", &b, err, sizeof err), 0);
  assert_int_equal(b.nobjs, 1);                       /* written once */
  lua_close(src);                                     /* the buffer keeps it alive */
  assert_int_equal(atomic_load(&tobj_destroyed), before);
  assert_int_equal(tr_decode(dst, b.data, b.len, err, sizeof err), 1);
  tr_buffer_free(&b);
  check(dst, 1, "local t = ...\n"
                "assert(package.loaded.testobj, 'loaded on arrival')\n"
                "assert(rawequal(t[1], t[2]) and t[1]:get() == 41)\n"
                "assert(rawequal(t.make, package.loaded.testobj.new))\n"
                "assert(rawequal(t.mod, package.loaded.testobj))\n"
                "assert(t.make(5):get() == 5)\n");
  assert_int_equal(atomic_load(&tobj_destroyed), before);
  lua_close(dst);
  assert_int_equal(atomic_load(&tobj_destroyed), before + 2);
}

/* For bytes that leave the process, runtime objects can be refused. */
static void test_encode_noobj(void **state) {
  (void)state;
  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  run(L, "return {1, lock = require('testobj').new(1)}", 1);
  tr_buffer_init(&b);
  assert_int_equal(tr_encode_opts(L, -1, 1, "item", TR_ENC_NOOBJ, &b, err, sizeof err), -1);
  assert_string_equal(err, "cannot transfer testobj.Obj at item.lock "
                           "(runtime objects do not cross processes)");
  assert_int_equal(b.nobjs, 0);
  assert_null(b.data);
  lua_close(L);
}

/* A failed encode drops the references it took. */
static void test_refusal_releases_objects(void **state) {
  (void)state;
  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  int before = atomic_load(&tobj_destroyed);
  run(L, "return {require('testobj').new(1), coroutine.create(print)}", 1);
  tr_buffer_init(&b);
  assert_int_equal(tr_encode(L, -1, 1, "v", &b, err, sizeof err), -1);
  assert_string_equal(err, "cannot transfer coroutine at v[2]");
  assert_int_equal(b.nobjs, 0);
  lua_close(L);
  assert_int_equal(atomic_load(&tobj_destroyed), before + 1);
  tr_buffer_free(&b);
}

/* The by-name table follows modules loaded after it was built, and a
** module field the program replaced no longer travels by name. */
static void test_names_refresh(void **state) {
  (void)state;
  lua_State *src = newL(), *dst = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  run(src, "return {1}", 1);
  tr_buffer_init(&b);
  assert_int_equal(tr_encode(src, -1, 1, "v", &b, err, sizeof err), 0);  /* builds it */
  tr_buffer_free(&b);
  lua_pop(src, 1);
  run(src, "local m = require 'testobj' return {mod = m, new = m.new}", 1);
  xfer(src, 1, dst);
  check(dst, 1, "local t = ...\n"
                "assert(rawequal(t.mod, package.loaded.testobj), 'module by name')\n"
                "assert(rawequal(t.new, package.loaded.testobj.new))\n");
  run(src, "local f = string.format string.format = function() end return f", 1);
  assert_int_equal(tr_encode(src, -1, 1, "f", &b, err, sizeof err), -1);
  assert_string_equal(err, "cannot transfer C function at f");
  lua_close(src);
  lua_close(dst);
}

static void test_refusals(void **state) {
  (void)state;
  refused("return 1, {x = 1, co = coroutine.create(print)}", 2, "args",
          "cannot transfer coroutine at args[2].co");
  refused("return {[1] = {['a b'] = io.stdout, u = coroutine.running()}}", 1, "item",
          "cannot transfer coroutine at item[1].u");
  refused("local co = coroutine.create(print)\n"
          "return function() return co end", 1, "target",
          "cannot transfer coroutine at upvalue 'co' of target");
  refused("local t = {x = coroutine.create(print)}\n"
          "return function() return t end", 1, "target",
          "cannot transfer coroutine at (upvalue 't' of target).x");
  refused("return setmetatable({}, {__index = {co = coroutine.create(print)}})", 1, "v",
          "cannot transfer coroutine at (metatable of v).__index.co");
  refused("return {[coroutine.create(print)] = 1}", 1, "v",
          "cannot transfer coroutine at a key of v");
  refused("return {['not an id'] = coroutine.create(print), x = 1}", 1, "v",
          "cannot transfer coroutine at v[\"not an id\"]");
  refused("return {[2.5] = coroutine.create(print)}", 1, "v",
          "cannot transfer coroutine at v[2.5]");
  refused("return {['end'] = coroutine.create(print)}", 1, "v",
          "cannot transfer coroutine at v[\"end\"]");

  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  tr_buffer_init(&b);
  lua_newuserdatauv(L, 8, 0);
  assert_int_equal(tr_encode(L, -1, 1, "args", &b, err, sizeof err), -1);
  assert_string_equal(err, "cannot transfer userdata at args");
  lua_pushcfunction(L, foreign_cfunc);
  assert_int_equal(tr_encode(L, -1, 1, "args", &b, err, sizeof err), -1);
  assert_string_equal(err, "cannot transfer C function at args");
  lua_pushlightuserdata(L, &b);
  assert_int_equal(tr_encode(L, -1, 1, NULL, &b, err, sizeof err), -1);
  assert_string_equal(err, "cannot transfer light userdata at value");
  /* a C closure sharing string.format's function pointer is not string.format */
  lua_pushinteger(L, 1);
  lua_getglobal(L, "string");
  lua_getfield(L, -1, "format");
  lua_CFunction fmt = lua_tocfunction(L, -1);
  lua_pop(L, 2);
  lua_pushcclosure(L, fmt, 1);
  assert_int_equal(tr_encode(L, -1, 1, "f", &b, err, sizeof err), -1);
  assert_string_equal(err, "cannot transfer C function at f");
  lua_settop(L, 0);
  /* Thread targets: names per value */
  run(L, "local co = coroutine.create(print)\n"
         "return function() return co end, {1, {co = co}}", 2);
  static const char *const names[] = {"target", "args"};
  assert_int_equal(tr_encode_named(L, 1, 2, names, &b, err, sizeof err), -1);
  assert_string_equal(err, "cannot transfer coroutine at upvalue 'co' of target");
  lua_remove(L, 1);
  lua_pushnil(L);
  lua_insert(L, 1);
  assert_int_equal(tr_encode_named(L, 1, 2, names, &b, err, sizeof err), -1);
  assert_string_equal(err, "cannot transfer coroutine at args[2].co");
  assert_int_equal(b.len, 0);
  assert_int_equal(lua_gettop(L), 2);
  tr_buffer_free(&b);
  lua_close(L);
}

/* tr_check_encode / tr_push_decoded raise Lua errors. */
static int call_check_encode(lua_State *L) {
  TrBuffer b;
  tr_buffer_init(&b);
  tr_check_encode(L, 1, 1, "item", &b);
  tr_buffer_free(&b);
  return 0;
}

static int call_push_decoded(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  return tr_push_decoded(L, s, len);
}

static void test_raising_api(void **state) {
  (void)state;
  lua_State *L = newL();
  lua_pushcfunction(L, call_check_encode);
  lua_setglobal(L, "enc");
  lua_pushcfunction(L, call_push_decoded);
  lua_setglobal(L, "dec");
  run(L, "local ok, e = pcall(enc, {co = coroutine.create(print)})\n"
         "assert(not ok and e == 'cannot transfer coroutine at item.co', e)\n"
         "ok, e = pcall(dec, 'GLTX\\1\\0')\n"
         "assert(not ok and e:find('bad magic'), e)\n", 0);
  lua_close(L);
}

/* Encoding appends; a failure restores the buffer as it was. */
static void test_append_and_rollback(void **state) {
  (void)state;
  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  tr_buffer_init(&b);
  tr_put(L, &b, "prefix", 6);
  run(L, "return {1, 2, 3}, coroutine.create(print)", 2);
  assert_int_equal(tr_encode(L, -1, 1, "v", &b, err, sizeof err), -1);
  assert_int_equal(b.len, 6);
  assert_int_equal(tr_encode(L, -2, 1, "v", &b, err, sizeof err), 0);
  assert_memory_equal(b.data, "prefix", 6);
  lua_settop(L, 0);
  assert_int_equal(tr_decode(L, b.data + 6, b.len - 6, err, sizeof err), 1);
  check(L, 1, "local t = ... assert(#t == 3 and t[3] == 3)");
  tr_buffer_free(&b);
  lua_close(L);
}

static void test_depth_limit(void **state) {
  (void)state;
  char code[200];
  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  tr_buffer_init(&b);
  snprintf(code, sizeof code,
           "local t = {} for i = 2, %d do t = {t} end return t", TR_MAXDEPTH);
  run(L, code, 1);
  assert_int_equal(tr_encode(L, -1, 1, "v", &b, err, sizeof err), 0);
  lua_pop(L, 1);
  assert_int_equal(tr_decode(L, b.data, b.len, err, sizeof err), 1);
  lua_pop(L, 1);
  tr_buffer_free(&b);
  snprintf(code, sizeof code,
           "local t = {} for i = 2, %d do t = {t} end return t", TR_MAXDEPTH + 1);
  run(L, code, 1);
  assert_int_equal(tr_encode(L, -1, 1, "v", &b, err, sizeof err), -1);
  assert_non_null(strstr(err, "cannot transfer table nested more than 200 levels deep at v[1][1]"));
  lua_pop(L, 1);
  /* functions count too: a chain of closures */
  run(L, "local f = function() return 0 end\n"
         "for i = 1, 300 do local g = f f = function() return g() end end\n"
         "return f", 1);
  assert_int_equal(tr_encode(L, -1, 1, "target", &b, err, sizeof err), -1);
  assert_non_null(strstr(err, "nested more than 200 levels deep at upvalue 'g' of upvalue 'g' of"));
  lua_pop(L, 1);
  /* the decoder has its own limit: hand-made bytes, 201 nested tables */
  tr_buffer_free(&b);
  tr_put(L, &b, "GLTR\1\1", 6);
  for (int i = 0; i <= TR_MAXDEPTH; i++) {
    tr_putbyte(L, &b, TR_TABLE);
    tr_putu32(L, &b, 1);
    tr_putu32(L, &b, 0);
  }
  tr_putbyte(L, &b, TR_NIL);
  assert_int_equal(tr_decode(L, b.data, b.len, err, sizeof err), -1);
  assert_non_null(strstr(err, "nested more than 200 levels deep"));
  assert_int_equal(lua_gettop(L), 0);
  tr_buffer_free(&b);
  lua_close(L);
}

/* Every proper prefix of a valid encoding is refused, nothing pushed. */
static void test_truncated(void **state) {
  (void)state;
  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  encode_rich(L, &b);
  for (size_t len = 0; len < b.len; len++) {
    unsigned char *copy = (unsigned char *)malloc(len ? len : 1);
    memcpy(copy, b.data, len);          /* exact-size copy: ASan sees over-reads */
    int n = tr_decode(L, copy, len, err, sizeof err);
    if (n != -1) fail_msg("prefix of %zu bytes accepted", len);
    assert_int_equal(lua_gettop(L), 0);
    assert_true(strncmp(err, "transfer: ", 10) == 0);
    free(copy);
  }
  assert_int_equal(tr_decode(L, b.data, b.len, err, sizeof err), 4);
  check(L, 4, "local t, n, x, z = ...\n"
              "assert(t.self == t and t[6] == t[7] and t.k.x == t[6])\n"
              "assert(t.inc() == 1 and t.get() == 1 and t.obj:get() == 7)\n"
              "assert(rawequal(t.obj, t.obj2) and t.g == _G and t.mod == string)\n"
              "assert(getmetatable(t).__index == t[6] and n == 42 and x == 'x' and z == nil)\n");
  tr_buffer_free(&b);
  lua_close(L);
}

/* Random corruption: decoding either fails cleanly or yields values. */
static void test_byte_flips(void **state) {
  (void)state;
  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  encode_rich(L, &b);
  unsigned char *copy = (unsigned char *)malloc(b.len);
  uint64_t rng = 0x243F6A8885A308D3u;
  int failed = 0, passed = 0;
  for (int round = 0; round < 2000; round++) {
    memcpy(copy, b.data, b.len);
    int flips = 1 + round % 4;
    for (int i = 0; i < flips; i++) {
      rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
      size_t at = (size_t)(rng % b.len);
      copy[at] ^= (unsigned char)(1u << ((rng >> 32) % 8));
    }
    int n = tr_decode(L, copy, b.len, err, sizeof err);
    if (n < 0) {
      failed++;
      assert_int_equal(lua_gettop(L), 0);
    } else {
      passed++;
      lua_settop(L, 0);
    }
    if (round % 500 == 0) lua_gc(L, LUA_GCCOLLECT);
  }
  assert_true(failed > 0);
  assert_int_equal(failed + passed, 2000);
  free(copy);
  tr_buffer_free(&b);
  lua_close(L);
}

static void expect_decode_error(lua_State *L, const void *p, size_t len,
                                const char *part) {
  char err[TR_ERRMAX];
  assert_int_equal(tr_decode(L, p, len, err, sizeof err), -1);
  if (strstr(err, part) == NULL) fail_msg("'%s' does not contain '%s'", err, part);
  assert_int_equal(lua_gettop(L), 0);
}

#define EXPECT(L, lit, part) expect_decode_error(L, lit, sizeof(lit) - 1, part)

static void test_bad_headers_and_tags(void **state) {
  (void)state;
  lua_State *L = newL();
  expect_decode_error(L, NULL, 0, "bad magic");
  EXPECT(L, "GLTX\1\1\0", "bad magic");
  EXPECT(L, "GLTR\2\1\0", "unsupported format version 2");
  EXPECT(L, "GLTR\0\1\0", "unsupported format version 0");
  EXPECT(L, "GLTR\1\1\x7f", "unknown tag 127");
  EXPECT(L, "GLTR\1\1\0\0", "unexpected bytes after the last value");
  EXPECT(L, "GLTR\1\5\0", "value count exceeds the data");
  EXPECT(L, "GLTR\1\1\x08\x01", "reference to an unknown value");
  EXPECT(L, "GLTR\1\1\x0a\1\1", "upvalue link outside a function");
  EXPECT(L, "GLTR\1\1\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
                      "varint overflows 64 bits");
  EXPECT(L, "GLTR\1\1\x05\x05" "ab", "truncated data");
  /* a table announcing more entries than bytes left */
  EXPECT(L, "GLTR\1\1\x07\xff\xff\xff\x7f\0\0\0\0",
                      "table size exceeds the data");
  /* names: only standard and runtime modules */
  EXPECT(L, "GLTR\1\1\x0c\x03" "foo", "'foo' is not a standard library");
  EXPECT(L, "GLTR\1\1\x0b\x06string\x04nope",
                      "'string.nope' does not exist in this interpreter");
  /* a nil key and a NaN key */
  EXPECT(L, "GLTR\1\1\x07\0\0\0\0\1\0\0\0\0\1\0", "nil key in a table");
  EXPECT(L, "GLTR\1\1\x07\0\0\0\0\1\0\0\0\x04\0\0\0\0\0\0\xf8\x7f\1\0",
                      "NaN key in a table");
  EXPECT(L, "GLTR\1\1\x07\0\0\0\0\0\0\0\0\x03\0", "metatable is not a table");
  lua_close(L);
}

/* A runtime object's address is only taken from this process's encoder. */
static void test_forged_object(void **state) {
  (void)state;
  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  run(L, "return require('testobj').new(3)", 1);
  tr_buffer_init(&b);
  assert_int_equal(tr_encode(L, -1, 1, "v", &b, err, sizeof err), 0);
  lua_pop(L, 1);
  assert_int_equal(b.data[6], TR_RTOBJ);
  b.data[7 + 8] ^= 1;                             /* check word */
  expect_decode_error(L, b.data, b.len, "was not encoded by this process");
  b.data[7 + 8] ^= 1;
  b.data[7] ^= 0x40;                              /* address */
  expect_decode_error(L, b.data, b.len, "was not encoded by this process");
  b.data[7] ^= 0x40;
  assert_int_equal(tr_decode(L, b.data, b.len, err, sizeof err), 1);
  check(L, 1, "local o = ... assert(o:get() == 3)");
  tr_buffer_free(&b);
  lua_close(L);
}

/* Bytecode is checked before lua_load; TR_DEC_NOFUNC refuses it. */
/* What mp_mark.c must not walk: the values the transfer writes by name. */
static void test_travels_by_name(void **state) {
  (void)state;
  lua_State *L = newL();
  run(L, "return _G, string, string.format, require('testobj'), {}, function() end, print", 7);
  int top = lua_gettop(L);
  assert_true(tr_travels_by_name(L, top - 6));    /* _G */
  assert_true(tr_travels_by_name(L, top - 5));    /* a module */
  assert_true(tr_travels_by_name(L, top - 4));    /* a module's function */
  assert_true(tr_travels_by_name(L, top - 3));    /* a preloaded module */
  assert_false(tr_travels_by_name(L, top - 2));   /* a fresh table */
  assert_false(tr_travels_by_name(L, top - 1));   /* a Lua function */
  assert_true(tr_travels_by_name(L, -1));         /* a base library function */
  assert_int_equal(lua_gettop(L), top);           /* the stack is left as it was */
  lua_close(L);
}

/* TR_DEC_NONAMED refuses what travels by name: a library function, a
** module, one inside a table; plain data still decodes. */
static void test_no_named(void **state) {
  (void)state;
  lua_State *L = newL();
  static const char *const chunks[] = {
    "return os.execute", "return string", "return {f = {io.open}}", "return setmetatable({}, {__index = os})",
  };
  char err[TR_ERRMAX];
  for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
    run(L, chunks[i], 1);
    TrBuffer b;
    tr_buffer_init(&b);
    assert_int_equal(tr_encode(L, -1, 1, "v", &b, err, sizeof err), 0);
    lua_pop(L, 1);
    assert_int_equal(tr_decode_opts(L, b.data, b.len, TR_DEC_NONAMED, err, sizeof err), -1);
    assert_non_null(strstr(err, "sent by name"));
    assert_int_equal(lua_gettop(L), 0);
    assert_int_equal(tr_decode_opts(L, b.data, b.len, 0, err, sizeof err), 1);   /* allowed without */
    lua_settop(L, 0);
    tr_buffer_free(&b);
  }
  run(L, "return {1, 'two', {three = 3.0}}", 1);
  TrBuffer b;
  tr_buffer_init(&b);
  assert_int_equal(tr_encode(L, -1, 1, "v", &b, err, sizeof err), 0);
  lua_settop(L, 0);
  assert_int_equal(tr_decode_opts(L, b.data, b.len, TR_DEC_NOFUNC | TR_DEC_NONAMED, err, sizeof err), 1);
  tr_buffer_free(&b);
  lua_close(L);
}

static void test_function_chunks(void **state) {
  (void)state;
  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  run(L, "local a, b = 1, 2 return function() return a + b end", 1);
  tr_buffer_init(&b);
  assert_int_equal(tr_encode(L, -1, 1, "f", &b, err, sizeof err), 0);
  lua_pop(L, 1);
  assert_int_equal(tr_decode_opts(L, b.data, b.len, TR_DEC_NOFUNC, err, sizeof err), -1);
  assert_non_null(strstr(err, "Lua functions are not accepted"));
  /* layout: "GLTR" 1 1 | LFUNC nup=2 u32-len | dump: header(31) nup ... */
  assert_int_equal(b.data[6], TR_LFUNC);
  assert_int_equal(b.data[7], 2);
  size_t clen = b.data[8] | b.data[9] << 8 | (size_t)b.data[10] << 16;
  const unsigned char *chunk = b.data + 12;
  assert_null(tr_check_chunk(chunk, clen, 2));
  assert_string_equal(tr_check_chunk(chunk, clen, 3), "closure upvalue count mismatch");
  for (size_t len = 0; len < clen; len++) {
    unsigned char *copy = (unsigned char *)malloc(len ? len : 1);
    memcpy(copy, chunk, len);
    assert_non_null(tr_check_chunk(copy, len, 2));
    free(copy);
  }
  b.data[12 + 31] = 3;                  /* the closure's own upvalue count */
  expect_decode_error(L, b.data, b.len, "closure upvalue count mismatch");
  b.data[12 + 31] = 2;
  b.data[12 + 4] ^= 1;                  /* Lua version byte */
  expect_decode_error(L, b.data, b.len, "chunk of this build");
  b.data[12 + 4] ^= 1;
  b.data[7] = 1;                        /* transfer's count disagrees */
  expect_decode_error(L, b.data, b.len, "closure upvalue count mismatch");
  b.data[7] = 2;
  assert_int_equal(tr_decode(L, b.data, b.len, err, sizeof err), 1);
  check(L, 1, "local f = ... assert(f() == 3)");
  tr_buffer_free(&b);
  lua_close(L);
}

typedef struct ThreadArg {
  TrBuffer *b;
  int ok;
  char err[TR_ERRMAX];
} ThreadArg;

static void *decode_in_thread(void *p) {
  ThreadArg *a = (ThreadArg *)p;
  lua_State *L = newL();
  int n = tr_decode(L, a->b->data, a->b->len, a->err, sizeof a->err);
  if (n == 1) {
    lua_setglobal(L, "v");
    a->ok = luaL_dostring(L, "assert(v.obj:get() == 9 and v.f(2) == 20 and v.s == string.rep('q', 100))") == LUA_OK;
    if (!a->ok) snprintf(a->err, sizeof a->err, "%s", lua_tostring(L, -1));
  }
  lua_close(L);
  tr_buffer_free(a->b);
  return NULL;
}

/* As a GIL-off Thread start does: encode here, decode and free there. */
static void test_other_thread(void **state) {
  (void)state;
  lua_State *L = newL();
  TrBuffer b;
  char err[TR_ERRMAX];
  int before = atomic_load(&tobj_destroyed);
  run(L, "local k = 10 return {obj = require('testobj').new(9),\n"
         "  f = function(x) return x * k end, s = string.rep('q', 100)}", 1);
  tr_buffer_init(&b);
  assert_int_equal(tr_encode(L, -1, 1, "args", &b, err, sizeof err), 0);
  lua_close(L);
  ThreadArg a = {&b, 0, ""};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, decode_in_thread, &a), 0);
  pthread_join(t, NULL);
  if (!a.ok) fail_msg("%s", a.err);
  assert_int_equal(atomic_load(&tobj_destroyed), before + 1);
}

static void test_large(void **state) {
  (void)state;
  roundtrip("local t, u = {}, {}\n"
            "for i = 1, 100000 do t[i] = i end for i = 1, 20000 do u['k' .. i] = 'v' .. i end\n"
            "return t, u", 2,
            "local t, u = ...\n"
            "assert(#t == 100000) for i = 1, 100000 do assert(t[i] == i) end\n"
            "local n = 0 for k, v in pairs(u) do n = n + 1 assert('v' .. k:sub(2) == v) end\n"
            "assert(n == 20000)\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_scalars),
    cmocka_unit_test(test_strings),
    cmocka_unit_test(test_long_string_shared),
    cmocka_unit_test(test_nested_tables),
    cmocka_unit_test(test_shared_and_cycles),
    cmocka_unit_test(test_metatables),
    cmocka_unit_test(test_function_upvalues),
    cmocka_unit_test(test_env_rebinding),
    cmocka_unit_test(test_upvalue_cycle),
    cmocka_unit_test(test_custom_env),
    cmocka_unit_test(test_traceback_names),
    cmocka_unit_test(test_cfunctions_by_name),
    cmocka_unit_test(test_runtime_objects),
    cmocka_unit_test(test_refusal_releases_objects),
    cmocka_unit_test(test_encode_noobj),
    cmocka_unit_test(test_names_refresh),
    cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_raising_api),
    cmocka_unit_test(test_append_and_rollback),
    cmocka_unit_test(test_depth_limit),
    cmocka_unit_test(test_truncated),
    cmocka_unit_test(test_byte_flips),
    cmocka_unit_test(test_bad_headers_and_tags),
    cmocka_unit_test(test_forged_object),
    cmocka_unit_test(test_travels_by_name),
    cmocka_unit_test(test_no_named),
    cmocka_unit_test(test_function_chunks),
    cmocka_unit_test(test_other_thread),
    cmocka_unit_test(test_large),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
** transfer.h — the value transfer: copies Lua values from one interpreter
** to another (GIL-off threads, queues between them, processes, pipes).
** The byte format is documented in docs/transfer-format.md.
**
** A buffer owns one reference to every runtime object it encodes (taken
** at encode time, dropped by tr_buffer_free), so objects stay alive while
** they travel. Decoding takes new references for the handles it creates.
*/
#ifndef transfer_h
#define transfer_h

#include <stddef.h>

#include <lua.h>

struct RtObject;

/* Owned by whoever holds the buffer (one thread at a time). Move it by
** struct copy; never keep 'data' alone: 'objs' are the references that
** keep the runtime objects named in 'data' alive. */
typedef struct TrBuffer {
  unsigned char *data;
  size_t len, cap;
  struct RtObject **objs;   /* one reference each, dropped by tr_buffer_free */
  size_t nobjs, objcap;
} TrBuffer;

/* A comfortable size for the 'err' buffers below. */
#define TR_ERRMAX 256

/* Nesting limit (tables, functions, metatables) for encode and decode. */
#define TR_MAXDEPTH 200

void tr_buffer_init(TrBuffer *b);
/* Drops the references the encoded runtime objects hold, frees memory. */
void tr_buffer_free(TrBuffer *b);

/* Encodes the n values at stack positions first..first+n-1 of L into b
** (appending). 'what' names the values in error messages, e.g. "args"
** gives paths like "args[2].co"; NULL means "value". On failure returns
** -1 with a message in err such as
**   "cannot transfer coroutine at args[2].co"
**   "cannot transfer coroutine at upvalue 'co' of target"
** and leaves b as it was before the call (an empty b is left with no
** memory at all, so a caller that raises need not free it). The
** stack is left as it was. A single value (n == 1) is named 'what'
** itself ("item.co"); several are named what[1], what[2]... */
int tr_encode(lua_State *L, int first, int n, const char *what, TrBuffer *b,
              char *err, size_t errlen);

/* tr_encode with options. TR_ENC_NOOBJ refuses runtime objects, for
** bytes that leave the process ("cannot transfer threading.Lock at item
** (runtime objects do not cross processes)"): an object travels as its
** address, which only this process can use (see the docs). */
#define TR_ENC_NOOBJ 1u
int tr_encode_opts(lua_State *L, int first, int n, const char *what,
                   unsigned flags, TrBuffer *b, char *err, size_t errlen);

/* Like tr_encode, but the paths name each value by 'names[i]' (for
** Thread targets: {"target", "args"}). */
int tr_encode_named(lua_State *L, int first, int n, const char *const *names,
                    TrBuffer *b, char *err, size_t errlen);
int tr_encode_named_opts(lua_State *L, int first, int n, const char *const *names,
                         unsigned flags, TrBuffer *b, char *err, size_t errlen);

/* Decodes the values in data[0..len) and pushes them on L. Returns the
** number of values pushed, or -1 with a message in err (nothing pushed)
** when the bytes are truncated, corrupted or of an unknown version. Never
** reads outside data[0..len). */
int tr_decode(lua_State *L, const void *data, size_t len, char *err,
              size_t errlen);

/* tr_decode with options. TR_DEC_NOFUNC refuses Lua function chunks: use
** it for bytes that may come from outside gillua (see the "Trust" section
** of docs/transfer-format.md: bytecode is validated structurally, not
** verified, so a crafted chunk could crash the interpreter when called). */
#define TR_DEC_NOFUNC 1u
/* TR_DEC_NONAMED refuses values that travel by name (modules, their
** functions and tables: os.execute arrives as this interpreter's own
** os.execute, a function as callable as any chunk): for bytes from a
** peer that must not hand us code to call. */
#define TR_DEC_NONAMED 2u
int tr_decode_opts(lua_State *L, const void *data, size_t len,
                   unsigned flags, char *err, size_t errlen);

/* Whether module 'name' (len bytes) is loaded here or require finds it in
** a file: a decoder that accepts Lua functions accepts it by name too. */
int tr_module_findable(lua_State *L, const char *name, size_t len);

/* Whether the value at idx travels by name (the globals table, a
** standard or gillua module, or a field of one): such a value is never
** copied, so code that rewrites messages (mp_mark.c) must not walk it. */
int tr_travels_by_name(lua_State *L, int idx);

/* Lua-facing convenience: encodes/decodes and raises a Lua error on
** failure. tr_push_decoded returns the number of values pushed. */
void tr_check_encode(lua_State *L, int first, int n, const char *what,
                     TrBuffer *b);
int tr_push_decoded(lua_State *L, const void *data, size_t len);

#endif

/*
** transfer_int.h — internals shared by the value transfer's files:
**   transfer.c        buffers, the by-name table, runtime-object tags
**   transfer_enc.c    encoder          transfer_dec.c   decoder
**   transfer_chunk.c  structural check of Lua bytecode before lua_load
**   transfer_path.c   paths in the encoder's error messages
** The byte format itself is specified in docs/transfer-format.md; the tag
** numbers below are part of it and never change within a version.
*/
#ifndef transfer_int_h
#define transfer_int_h

#include <stdint.h>

#include "transfer.h"

#define TR_MAGIC       "GLTR"
#define TR_VERSION     1
#define TR_HEADERMIN   6      /* magic(4) version(1) count(>=1) */
#define TR_SHARE_MIN   32     /* strings at least this long get a ref id */
#define TR_MAXUPVAL    255    /* Lua's own limit (MAXUPVAL) */

enum {
  TR_NIL = 0,     /*                                                  */
  TR_FALSE,       /*                                                  */
  TR_TRUE,        /*                                                  */
  TR_INT,         /* zigzag varint                                    */
  TR_FLOAT,       /* 8 bytes, IEEE-754 binary64 bits, little-endian   */
  TR_STR,         /* varint len, bytes                                */
  TR_LSTR,        /* varint len, bytes; gets the next ref id          */
  TR_TABLE,       /* u32 narr, u32 nhash, narr values (keys 1..narr),
                  ** nhash key/value pairs, metatable value (TR_NIL:
                  ** none); gets the next ref id before its contents   */
  TR_REF,         /* varint ref id (1-based)                          */
  TR_LFUNC,       /* varint nup, u32 len, lua_dump bytes, nup upvalue
                  ** slots (a value or TR_UPJOIN); gets the next ref
                  ** id right after its bytecode is loaded            */
  TR_UPJOIN,      /* varint ref id of a function, varint upvalue index:
                  ** this upvalue is the same variable as that one;
                  ** valid only in an upvalue slot                    */
  TR_NAMED,       /* varint len, module name, varint len, field name:
                  ** package.loaded[module][field] of the receiver    */
  TR_MODULE,      /* varint len, module name: the receiver's
                  ** package.loaded[module] ("_G": its globals)       */
  TR_RTOBJ,       /* u64 pointer, u64 check, varint len, type name;
                  ** gets the next ref id                             */
  TR_NTAGS
};

/* Appends; raise a Lua error "not enough memory" when realloc fails. */
void tr_put(lua_State *L, TrBuffer *b, const void *p, size_t n);
void tr_putbyte(lua_State *L, TrBuffer *b, int c);
void tr_putvarint(lua_State *L, TrBuffer *b, uint64_t v);
void tr_putu32(lua_State *L, TrBuffer *b, uint32_t v);
void tr_putu64(lua_State *L, TrBuffer *b, uint64_t v);
void tr_patchu32(TrBuffer *b, size_t at, uint32_t v);
/* Records that b holds a reference to o (the caller took it). */
void tr_addobj(lua_State *L, TrBuffer *b, struct RtObject *o);

/* The check word stored beside a runtime object's address: a keyed hash
** of the address and the process id. The key is random per process, so
** bytes forged, corrupted or made by another process do not pass. */
uint64_t tr_objcheck(uint64_t addr);

/* The by-name table (see transfer.c). tr_names_push pushes this
** interpreter's table value -> name (building it when absent or when
** 'rebuild'); names are "mod" for a module table and "mod\0field" for a
** field of one. tr_names_stale tells whether a module was loaded since
** the table was built. */
void tr_names_push(lua_State *L, int rebuild);
int tr_names_stale(lua_State *L, int names);
/* Whether 'name' is a module that may travel by name: a standard library
** or a runtime module (a key of package.preload). */
int tr_module_allowed(lua_State *L, const char *name, size_t len);
/* Pushes the value a name denotes in this interpreter, loading a runtime
** module from package.preload when needed (if 'load'); pushes nil when it
** does not exist. 'field' NULL means the module itself. */
void tr_push_named(lua_State *L, const char *mod, size_t modlen,
                   const char *field, size_t fieldlen, int load);

/* Paths for error messages (transfer_path.c). */
typedef enum {
  P_ROOT,     /* a named value: name */
  P_INDEX,    /* up[i] */
  P_KEY,      /* up[key], key at stack index 'key' */
  P_UPVAL,    /* upvalue 'name' (number i) of up */
  P_META,     /* metatable of up */
  P_KEYOF     /* a key of up */
} PathKind;

typedef struct Path {
  const struct Path *up;
  PathKind kind;
  const char *name;
  lua_Integer i;
  int key;
} Path;

/* Writes the path into out[0..outlen), zero-terminated, cut if long. */
void tr_path_render(lua_State *L, const Path *p, char *out, size_t outlen);

/* Structural check of a lua_dump image (transfer_chunk.c): the header is
** this build's, every count fits in the image, nesting is bounded, the
** closure and its prototype agree on 'nup' upvalues. Returns NULL when
** the image is well formed, else a static message. */
const char *tr_check_chunk(const unsigned char *p, size_t len, int nup);

#endif

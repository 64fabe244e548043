/*
** transfer_path.c — paths for the encoder's error messages: where a value
** that cannot travel sits, e.g.
**   args[2].co     upvalue 'co' of target     (upvalue 't' of target).x
** A Path lives in the C frame of the encoder function that writes the
** value it names; the chain is rendered only when an error is raised.
** Prefix forms (upvalue/metatable/key of) are parenthesised when more
** steps follow them. Output is cut at the buffer's size.
*/
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "transfer_int.h"

typedef struct Out {
  char *s;
  size_t n, cap;      /* cap > 0: room for the terminating zero */
} Out;

static void out_add(Out *o, const char *s, size_t len) {
  size_t room = o->cap - 1 - o->n;
  if (len > room) len = room;
  memcpy(o->s + o->n, s, len);
  o->n += len;
  o->s[o->n] = '\0';
}

static void out_str(Out *o, const char *s) { out_add(o, s, strlen(s)); }

static int is_prefix_form(PathKind k) {
  return k == P_UPVAL || k == P_META || k == P_KEYOF;
}

static int is_identifier(const char *s, size_t len) {
  static const char *const reserved[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for",
    "function", "goto", "if", "in", "local", "nil", "not", "or", "repeat",
    "return", "then", "true", "until", "while", NULL
  };
  if (len == 0 || len > 40 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9')))
      return 0;
  }
  for (int i = 0; reserved[i]; i++)
    if (strcmp(s, reserved[i]) == 0) return 0;
  return 1;
}

static void render_key(lua_State *L, int k, Out *o) {
  char tmp[64];
  switch (lua_type(L, k)) {
    case LUA_TNUMBER:
      if (lua_isinteger(L, k))
        snprintf(tmp, sizeof tmp, "[%lld]", (long long)lua_tointeger(L, k));
      else
        snprintf(tmp, sizeof tmp, "[%.14g]", (double)lua_tonumber(L, k));
      out_str(o, tmp);
      break;
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, k, &len);
      if (is_identifier(s, len)) {
        out_str(o, ".");
        out_add(o, s, len);
        break;
      }
      out_str(o, "[\"");
      for (size_t i = 0; i < len && i < 24; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') snprintf(tmp, sizeof tmp, "\\%c", c);
        else if (c < 32 || c >= 127) snprintf(tmp, sizeof tmp, "\\%d", c);
        else snprintf(tmp, sizeof tmp, "%c", c);
        out_str(o, tmp);
      }
      out_str(o, len > 24 ? "...\"]" : "\"]");
      break;
    }
    case LUA_TBOOLEAN:
      out_str(o, lua_toboolean(L, k) ? "[true]" : "[false]");
      break;
    default:
      snprintf(tmp, sizeof tmp, "[<%s>]", luaL_typename(L, k));
      out_str(o, tmp);
      break;
  }
}

static void render(lua_State *L, const Path *p, Out *o) {
  char tmp[64];
  switch (p->kind) {
    case P_ROOT:
      out_str(o, p->name);
      return;
    case P_UPVAL:
      if (p->name[0] == '\0' || p->name[0] == '(')   /* "(no name)": stripped */
        snprintf(tmp, sizeof tmp, "upvalue #%d of ", (int)p->i);
      else
        snprintf(tmp, sizeof tmp, "upvalue '%.40s' of ", p->name);
      out_str(o, tmp);
      render(L, p->up, o);
      return;
    case P_META:
      out_str(o, "metatable of ");
      render(L, p->up, o);
      return;
    case P_KEYOF:
      out_str(o, "a key of ");
      render(L, p->up, o);
      return;
    case P_INDEX: case P_KEY:
      if (is_prefix_form(p->up->kind)) out_str(o, "(");
      render(L, p->up, o);
      if (is_prefix_form(p->up->kind)) out_str(o, ")");
      if (p->kind == P_KEY) render_key(L, p->key, o);
      else {
        snprintf(tmp, sizeof tmp, "[%lld]", (long long)p->i);
        out_str(o, tmp);
      }
      return;
  }
}

void tr_path_render(lua_State *L, const Path *p, char *out, size_t outlen) {
  Out o = {out, 0, outlen};
  if (outlen == 0) return;
  out[0] = '\0';
  render(L, p, &o);
}

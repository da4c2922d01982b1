/* json_lua.c — converting between Lua values and cJSON, and the script-facing `json`.
 *
 * Lua has one table type for objects and arrays; we decide by shape (keys exactly 1..n)
 * and let scripts force an array with json.array(t), which sets a shared marker
 * metatable, so an empty list can still encode as []. Conversion to cJSON walks Lua
 * tables without raising: it is used on hook results from C, where a longjmp would leak
 * the half-built tree.
 * SPDX-License-Identifier: MIT
 */
#include "json_lua.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_lua.h"
#include "json.h"
#include "util.h"
#include "sandbox.h"

static bool has_array_mark(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return false;
  luaL_getmetatable(L, JSON_ARRAY_MT);
  bool mark = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return mark;
}

/* Returns n > 0 when the table at idx is a sequence 1..n, 0 when empty, -1 otherwise. */
static lua_Integer sequence_length(lua_State *L, int idx) {
  lua_Integer count = 0, max = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
      lua_pop(L, 1);
      return -1;
    }
    lua_Integer k = lua_tointeger(L, -1);
    if (k > max) max = k;
    count++;
  }
  return count == max ? count : -1;
}

static cJSON *convert(lua_State *L, int idx, int depth, char *err, size_t errlen);

static int cmp_key(const void *a, const void *b) {
  return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Lua's table order depends on a per-state hash seed: sort keys so output is the same
 * bytes on every run and every worker. */
static bool sort_members(cJSON *obj) {
  size_t n = 0;
  for (cJSON *c = obj->child; c; c = c->next) n++;
  if (n < 2) return true;
  cJSON **v = malloc(n * sizeof *v);
  if (!v) return false;
  n = 0;
  for (cJSON *c = obj->child; c; c = c->next) v[n++] = c;
  qsort(v, n, sizeof *v, cmp_key);
  for (size_t i = 0; i < n; i++) {
    v[i]->prev = i ? v[i - 1] : v[n - 1]; /* cJSON: the head's prev is the tail */
    v[i]->next = i + 1 < n ? v[i + 1] : NULL;
  }
  obj->child = v[0];
  free(v);
  return true;
}

static cJSON *convert_table(lua_State *L, int idx, int depth, char *err, size_t errlen) {
  lua_Integer n = sequence_length(L, idx);
  bool array = n > 0 || (n == 0 && has_array_mark(L, idx));
  cJSON *out = array ? cJSON_CreateArray() : cJSON_CreateObject();
  if (!out) goto oom;
  if (array) {
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      cJSON *item = convert(L, lua_gettop(L), depth + 1, err, errlen);
      lua_pop(L, 1);
      if (!item) goto fail;
      if (!cJSON_AddItemToArray(out, item)) {
        cJSON_Delete(item);
        goto oom;
      }
    }
    return out;
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    char numkey[32];
    const char *key;
    if (lua_type(L, -2) == LUA_TSTRING) {
      key = lua_tostring(L, -2);
    } else if (lua_isinteger(L, -2)) {
      snprintf(numkey, sizeof numkey, "%lld", (long long)lua_tointeger(L, -2));
      key = numkey;
    } else {
      snprintf(err, errlen, "cannot encode a table key of type %s", luaL_typename(L, -2));
      lua_pop(L, 2);
      goto fail;
    }
    cJSON *item = convert(L, lua_gettop(L), depth + 1, err, errlen);
    lua_pop(L, 1);
    if (!item) {
      lua_pop(L, 1);
      goto fail;
    }
    if (!cJSON_AddItemToObject(out, key, item)) {
      cJSON_Delete(item);
      lua_pop(L, 1);
      goto oom;
    }
  }
  if (!sort_members(out)) goto oom;
  return out;
oom:
  snprintf(err, errlen, "not enough memory");
fail:
  cJSON_Delete(out);
  return NULL;
}

static cJSON *convert(lua_State *L, int idx, int depth, char *err, size_t errlen) {
  if (depth > JSON_MAX_DEPTH || !lua_checkstack(L, 8)) {
    snprintf(err, errlen, "value nested deeper than %d levels (a cycle?)", JSON_MAX_DEPTH);
    return NULL;
  }
  cJSON *out = NULL;
  switch (lua_type(L, idx)) {
  case LUA_TNIL: out = cJSON_CreateNull(); break;
  case LUA_TBOOLEAN: out = cJSON_CreateBool(lua_toboolean(L, idx)); break;
  case LUA_TNUMBER: {
    double d = lua_isinteger(L, idx) ? (double)lua_tointeger(L, idx) : lua_tonumber(L, idx);
    out = isfinite(d) ? cJSON_CreateNumber(d) : cJSON_CreateNull();
    break;
  }
  case LUA_TSTRING: out = cJSON_CreateString(lua_tostring(L, idx)); break;
  case LUA_TTABLE:
    if (sbx_push_target(L, idx)) {
      out = convert(L, lua_gettop(L), depth, err, errlen);
      lua_pop(L, 1);
      return out;
    }
    return convert_table(L, idx, depth, err, errlen);
  case LUA_TUSERDATA: {
    const cJSON *n = evl_peek(L, idx);
    if (n) {
      out = cJSON_Duplicate(n, 1);
      break;
    }
  }
    /* fall through */
  default:
    snprintf(err, errlen, "cannot encode a %s value as JSON", luaL_typename(L, idx));
    return NULL;
  }
  if (!out) snprintf(err, errlen, "not enough memory");
  return out;
}

/* {===================== direct encoding ===================== */

/* Writing JSON text straight from Lua values (and event proxies straight from their
 * cJSON nodes) avoids building and freeing a cJSON tree per alert_context call. */

static void put_string(struct buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  buf_reserve(b, n + 2);
  buf_putc(b, '"');
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    buf_append(b, s + run, i - run);
    run = i + 1;
    switch (c) {
    case '"': buf_puts(b, "\\\""); break;
    case '\\': buf_puts(b, "\\\\"); break;
    case '\n': buf_puts(b, "\\n"); break;
    case '\r': buf_puts(b, "\\r"); break;
    case '\t': buf_puts(b, "\\t"); break;
    default: {
      char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
      buf_puts(b, u);
    }
    }
  }
  buf_append(b, s + run, n - run);
  buf_putc(b, '"');
}

static void put_number(struct buf *b, double d) {
  if (!isfinite(d)) buf_puts(b, "null");
  else if (d == floor(d) && fabs(d) < 1e15) buf_printf(b, "%.0f", d);
  else buf_printf(b, "%.17g", d);
}

static void put_node(struct buf *b, const cJSON *n) {
  switch (n->type & 0xFF) {
  case cJSON_False: buf_puts(b, "false"); break;
  case cJSON_True: buf_puts(b, "true"); break;
  case cJSON_Number: put_number(b, n->valuedouble); break;
  case cJSON_String: put_string(b, n->valuestring, strlen(n->valuestring)); break;
  case cJSON_Raw: buf_puts(b, n->valuestring); break;
  case cJSON_Array:
  case cJSON_Object: {
    bool obj = cJSON_IsObject(n);
    buf_putc(b, obj ? '{' : '[');
    for (const cJSON *c = n->child; c; c = c->next) {
      if (c != n->child) buf_putc(b, ',');
      if (obj) {
        put_string(b, c->string, strlen(c->string));
        buf_putc(b, ':');
      }
      put_node(b, c);
    }
    buf_putc(b, obj ? '}' : ']');
    break;
  }
  default: buf_puts(b, "null"); break;
  }
}

struct okey {
  char *s;
  size_t n;
  lua_Integer i;
  bool is_int;
};

static int cmp_okey(const void *a, const void *b) {
  const struct okey *x = a, *y = b;
  size_t n = x->n < y->n ? x->n : y->n;
  int c = memcmp(x->s, y->s, n);
  return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int encode(lua_State *L, int idx, struct buf *b, int depth, char *err, size_t errlen);

static int encode_object(lua_State *L, int idx, struct buf *b, int depth, char *err, size_t errlen) {
  struct okey *keys = NULL;
  size_t nkeys = 0, cap = 0;
  int rc = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    struct okey k = {0};
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *s = lua_tolstring(L, -1, &k.n);
      k.s = xstrndup(s, k.n);
    } else if (lua_isinteger(L, -1)) {
      k.is_int = true;
      k.i = lua_tointeger(L, -1);
      k.s = xasprintf("%lld", (long long)k.i);
      k.n = strlen(k.s);
    } else {
      snprintf(err, errlen, "cannot encode a table key of type %s", luaL_typename(L, -1));
      lua_pop(L, 1);
      rc = -1;
      break;
    }
    if (nkeys == cap) keys = xrealloc(keys, (cap = cap ? cap * 2 : 8) * sizeof *keys);
    keys[nkeys++] = k;
  }
  if (rc == 0) {
    if (nkeys > 1) qsort(keys, nkeys, sizeof *keys, cmp_okey);
    buf_putc(b, '{');
    for (size_t i = 0; i < nkeys && rc == 0; i++) {
      if (i) buf_putc(b, ',');
      put_string(b, keys[i].s, keys[i].n);
      buf_putc(b, ':');
      if (keys[i].is_int) lua_rawgeti(L, idx, keys[i].i);
      else {
        lua_pushlstring(L, keys[i].s, keys[i].n);
        lua_rawget(L, idx);
      }
      rc = encode(L, lua_gettop(L), b, depth + 1, err, errlen);
      lua_pop(L, 1);
    }
    buf_putc(b, '}');
  }
  for (size_t i = 0; i < nkeys; i++) free(keys[i].s);
  free(keys);
  return rc;
}

static int encode(lua_State *L, int idx, struct buf *b, int depth, char *err, size_t errlen) {
  if (depth > JSON_MAX_DEPTH || !lua_checkstack(L, 8)) {
    snprintf(err, errlen, "value nested deeper than %d levels (a cycle?)", JSON_MAX_DEPTH);
    return -1;
  }
  switch (lua_type(L, idx)) {
  case LUA_TNIL: buf_puts(b, "null"); return 0;
  case LUA_TBOOLEAN: buf_puts(b, lua_toboolean(L, idx) ? "true" : "false"); return 0;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) buf_printf(b, "%lld", (long long)lua_tointeger(L, idx));
    else put_number(b, lua_tonumber(L, idx));
    return 0;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    put_string(b, s, n);
    return 0;
  }
  case LUA_TTABLE: {
    if (sbx_push_target(L, idx)) {
      int rc = encode(L, lua_gettop(L), b, depth, err, errlen);
      lua_pop(L, 1);
      return rc;
    }
    lua_Integer n = sequence_length(L, idx);
    if (n > 0 || (n == 0 && has_array_mark(L, idx))) {
      buf_putc(b, '[');
      for (lua_Integer i = 1; i <= n; i++) {
        if (i > 1) buf_putc(b, ',');
        lua_rawgeti(L, idx, i);
        int rc = encode(L, lua_gettop(L), b, depth + 1, err, errlen);
        lua_pop(L, 1);
        if (rc) return rc;
      }
      buf_putc(b, ']');
      return 0;
    }
    return encode_object(L, idx, b, depth, err, errlen);
  }
  case LUA_TUSERDATA: {
    const cJSON *node = evl_peek(L, idx);
    if (node) {
      put_node(b, node);
      return 0;
    }
  }
    /* fall through */
  default:
    snprintf(err, errlen, "cannot encode a %s value as JSON", luaL_typename(L, idx));
    return -1;
  }
}

int json_lua_encode_buf(lua_State *L, int idx, struct buf *out, char *err, size_t errlen) {
  return encode(L, lua_absindex(L, idx), out, 0, err, errlen);
}

/* }============================================================ */

cJSON *json_lua_to_cjson(lua_State *L, int idx, char *err, size_t errlen) {
  idx = lua_absindex(L, idx);
  return convert(L, idx, 0, err, errlen);
}

void json_lua_push_number(lua_State *L, double d) {
  if (d == floor(d) && fabs(d) <= 9007199254740992.0)
    lua_pushinteger(L, (lua_Integer)d);
  else
    lua_pushnumber(L, d);
}

void json_lua_push(lua_State *L, const cJSON *n) {
  luaL_checkstack(L, 4, "JSON nested too deeply");
  switch (n->type & 0xFF) {
  case cJSON_False: lua_pushboolean(L, 0); break;
  case cJSON_True: lua_pushboolean(L, 1); break;
  case cJSON_Number: json_lua_push_number(L, n->valuedouble); break;
  case cJSON_String:
  case cJSON_Raw: lua_pushstring(L, n->valuestring); break;
  case cJSON_Array: {
    lua_createtable(L, cJSON_GetArraySize(n), 0);
    lua_Integer i = 1;
    for (const cJSON *c = n->child; c; c = c->next, i++) {
      json_lua_push(L, c);
      lua_rawseti(L, -2, i);
    }
    luaL_setmetatable(L, JSON_ARRAY_MT);
    break;
  }
  case cJSON_Object:
    lua_newtable(L);
    for (const cJSON *c = n->child; c; c = c->next) {
      json_lua_push(L, c);
      lua_setfield(L, -2, c->string);
    }
    break;
  default: lua_pushnil(L); break;
  }
}

/* json.encode(v) -> string. Raises on values JSON cannot hold. [-1, +1, e] */
static int json_lua_encode(lua_State *L) {
  char err[256];
  struct buf b;
  luaL_checkany(L, 1);
  buf_init(&b);
  int rc = json_lua_encode_buf(L, 1, &b, err, sizeof err);
  if (rc == 0) lua_pushlstring(L, b.data, b.len);
  buf_free(&b); /* before anything can raise */
  if (rc != 0) return luaL_error(L, "json.encode: %s", err);
  return 1;
}

/* json.decode(s) -> value, or nil, "malformed JSON at byte N". [-1, +1|2, m] */
static int json_lua_decode(lua_State *L) {
  size_t len, errpos = 0;
  const char *s = luaL_checklstring(L, 1, &len);
  cJSON *root = json_parse(s, len, &errpos);
  if (!root) {
    lua_pushnil(L);
    lua_pushfstring(L, "malformed JSON at byte %d", (int)errpos + 1);
    return 2;
  }
  json_lua_push(L, root);
  cJSON_Delete(root);
  return 1;
}

/* json.array([t]) -> t marked as a JSON array. [-0|1, +1, e] */
static int json_lua_array(lua_State *L) {
  if (lua_isnoneornil(L, 1)) lua_newtable(L);
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_setmetatable(L, JSON_ARRAY_MT);
  return 1;
}

int luaopen_lp0_json(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"encode", json_lua_encode}, {"decode", json_lua_decode}, {"array", json_lua_array},
      {NULL, NULL}};
  if (luaL_newmetatable(L, JSON_ARRAY_MT)) {
    lua_pushliteral(L, "json.array");
    lua_setfield(L, -2, "__name");
    lua_pushboolean(L, 0); /* scripts share this table: keep it out of their reach */
    lua_setfield(L, -2, "__metatable");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  return 1;
}

/* event_lua.c — the read-only event proxy (see event_lua.h).
 *
 * Field lookup is exact first and then case-insensitive, as Panther's event API does,
 * because real rules read `sourceIpAddress` from records that spell `sourceIPAddress`.
 * JSON null reads as nil; pairs() skips null members so iteration agrees with indexing.
 * SPDX-License-Identifier: MIT
 */
#include "event_lua.h"

#include <lauxlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "json_lua.h"
#include "vm.h"

struct evl_proxy {
  const cJSON *node; /* borrowed from the event being evaluated */
  unsigned gen;      /* vm->event_gen when pushed */
  /* Arrays are linked lists in cJSON: remember the last position read, so that
   * `for i = 1, #a do a[i] end` and ipairs are linear, not quadratic. */
  const cJSON *cur;
  lua_Integer cur_i;
};

static void *unconst(const void *p) { return (void *)(uintptr_t)p; }

void evl_begin(lua_State *L) { vm_from(L)->event_gen++; }
void evl_end(lua_State *L) { vm_from(L)->event_gen++; }

static void push_node(lua_State *L, const cJSON *n) {
  switch (n->type & 0xFF) {
  case cJSON_False: lua_pushboolean(L, 0); break;
  case cJSON_True: lua_pushboolean(L, 1); break;
  case cJSON_Number: json_lua_push_number(L, n->valuedouble); break;
  case cJSON_String:
  case cJSON_Raw: lua_pushstring(L, n->valuestring); break;
  case cJSON_Array:
  case cJSON_Object: evl_push(L, n); break;
  default: lua_pushnil(L); break;
  }
}

void evl_push(lua_State *L, const cJSON *node) {
  if (!cJSON_IsObject(node) && !cJSON_IsArray(node)) {
    push_node(L, node);
    return;
  }
  struct evl_proxy *p = lua_newuserdatauv(L, sizeof *p, 0);
  p->node = node;
  p->cur = NULL;
  p->cur_i = 0;
  p->gen = vm_from(L)->event_gen;
  luaL_setmetatable(L, EVL_MT);
}

const cJSON *evl_test(lua_State *L, int idx) {
  struct evl_proxy *p = luaL_testudata(L, idx, EVL_MT);
  if (!p) return NULL;
  if (p->gen != vm_from(L)->event_gen)
    luaL_error(L, "event used after its evaluation ended (keep values, not the event)");
  return p->node;
}

const cJSON *evl_peek(lua_State *L, int idx) {
  struct evl_proxy *p = luaL_testudata(L, idx, EVL_MT);
  return p && p->gen == vm_from(L)->event_gen ? p->node : NULL;
}

static const cJSON *check(lua_State *L) {
  const cJSON *n = evl_test(L, 1);
  if (!n) luaL_typeerror(L, 1, "event");
  return n;
}

static const cJSON *object_get(const cJSON *obj, const char *key) {
  for (const cJSON *c = obj->child; c; c = c->next)
    if (c->string && strcmp(c->string, key) == 0) return c;
  for (const cJSON *c = obj->child; c; c = c->next)
    if (c->string && strcasecmp(c->string, key) == 0) return c;
  return NULL;
}

static const cJSON *array_get(const cJSON *arr, lua_Integer i) {
  if (i < 1) return NULL;
  const cJSON *c = arr->child;
  while (c && --i > 0) c = c->next;
  return c;
}

static const cJSON *array_at(struct evl_proxy *p, lua_Integer i) {
  const cJSON *c;
  if (p->cur && i >= p->cur_i) {
    c = p->cur;
    for (lua_Integer k = p->cur_i; c && k < i; k++) c = c->next;
  } else {
    c = array_get(p->node, i);
  }
  if (c) p->cur = c, p->cur_i = i;
  return c;
}

/* __index: [-0, +1, e] */
static int evl_index(lua_State *L) {
  const cJSON *n = check(L), *v = NULL;
  if (cJSON_IsObject(n) && lua_type(L, 2) == LUA_TSTRING)
    v = object_get(n, lua_tostring(L, 2));
  else if (cJSON_IsArray(n) && lua_isinteger(L, 2) && lua_tointeger(L, 2) >= 1)
    v = array_at(lua_touserdata(L, 1), lua_tointeger(L, 2));
  if (v)
    push_node(L, v);
  else
    lua_pushnil(L);
  return 1;
}

static int evl_newindex(lua_State *L) {
  check(L);
  const char *key = luaL_tolstring(L, 2, NULL);
  luaL_where(L, 1); /* the script line that tried to write */
  lua_pushfstring(L, "%sevent is read-only (cannot set field '%s')", lua_tostring(L, -1), key);
  return lua_error(L);
}

static int evl_len(lua_State *L) {
  const cJSON *n = check(L);
  lua_pushinteger(L, cJSON_IsArray(n) ? cJSON_GetArraySize(n) : 0);
  return 1;
}

static void push_key(lua_State *L, const cJSON *parent, const cJSON *c, lua_Integer i) {
  if (cJSON_IsArray(parent))
    lua_pushinteger(L, i);
  else
    lua_pushstring(L, c->string);
}

int evl_next(lua_State *L, int idx, int kidx) {
  const cJSON *n = evl_test(L, idx), *c;
  lua_Integer i = 1;
  if (lua_isnil(L, kidx)) {
    c = n->child;
  } else if (cJSON_IsArray(n)) {
    i = luaL_checkinteger(L, kidx);
    c = array_get(n, i);
    c = c ? c->next : NULL;
    i++;
  } else {
    const char *k = luaL_checkstring(L, kidx);
    c = n->child;
    while (c && strcmp(c->string, k) != 0) c = c->next;
    if (!c) return luaL_error(L, "invalid key to 'next'");
    c = c->next;
  }
  /* Arrays keep positional keys across nulls; objects just skip them. */
  while (c && cJSON_IsNull(c)) c = c->next, i++;
  if (!c) return 0;
  push_key(L, n, c, i);
  push_node(L, c);
  return 2;
}

/* The pairs iterator keeps its position in upvalues: O(1) per step. */
static int evl_iter(lua_State *L) {
  const cJSON *n = check(L);
  const cJSON *c = lua_touserdata(L, lua_upvalueindex(1));
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
  while (c && cJSON_IsNull(c)) c = c->next, i++;
  if (!c) return 0;
  lua_pushlightuserdata(L, unconst(c->next));
  lua_replace(L, lua_upvalueindex(1));
  lua_pushinteger(L, i + 1);
  lua_replace(L, lua_upvalueindex(2));
  push_key(L, n, c, i);
  push_node(L, c);
  return 2;
}

static int evl_pairs(lua_State *L) {
  const cJSON *n = check(L);
  lua_pushlightuserdata(L, unconst(n->child));
  lua_pushinteger(L, 1);
  lua_pushcclosure(L, evl_iter, 2);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

static int evl_eq(lua_State *L) {
  const cJSON *a = evl_test(L, 1), *b = evl_test(L, 2);
  lua_pushboolean(L, a && a == b);
  return 1;
}

static int evl_tostring(lua_State *L) {
  const cJSON *n = check(L);
  char *s = cJSON_PrintUnformatted(n);
  if (!s) return luaL_error(L, "not enough memory");
  lua_pushstring(L, s);
  cJSON_free(s);
  return 1;
}

void evl_open(lua_State *L) {
  static const luaL_Reg meta[] = {
      {"__index", evl_index}, {"__newindex", evl_newindex}, {"__len", evl_len},
      {"__pairs", evl_pairs}, {"__eq", evl_eq},             {"__tostring", evl_tostring},
      {NULL, NULL}};
  luaL_newmetatable(L, EVL_MT);
  luaL_setfuncs(L, meta, 0);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}

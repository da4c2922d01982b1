/* lookup_lua.c — lookup(name, key) for detections and stories.
 *
 * The set pointer sits in one small userdata per state (a "box"), kept in the registry
 * and bound as the function's upvalue: a call reads it with no table access, and a reload
 * swaps the pointer in the box without touching any function the scripts already hold.
 * No raw pointer is reachable from scripts (the box is an upvalue, and the sandbox has no
 * debug library). Rows are copied into fresh tables on each call, so nothing a script can
 * change is shared between calls, scripts or threads.
 * SPDX-License-Identifier: MIT
 */
#include "lookup_lua.h"

#include <lauxlib.h>
#include <string.h>

struct lkp_box {
  const struct lkp_set *set; /* borrowed, see lookup_lua.h */
};

static const char BOX_KEY = 'L';

void lkp_lua_push_row(lua_State *L, const struct lkp_table *t, size_t row) {
  lua_createtable(L, 0, (int)t->ncols);
  for (size_t c = 0; c < t->ncols; c++) {
    /* pushlstring, not pushstring: the latter first probes Lua's pointer-keyed string
     * cache, a strcmp against an unrelated string for every one of a million rows. */
    const char *f = lkp_field(t, row, c);
    lua_pushlstring(L, f, strlen(f));
    lua_setfield(L, -2, t->cols[c]); /* the same pointers each time: that cache hits */
  }
}

/* lookup(name, key [, column]) -> row | value | nil. [-(2|3), +1, e] */
static int lkp_lua_lookup(lua_State *L) {
  const struct lkp_box *box = lua_touserdata(L, lua_upvalueindex(1));
  const char *name = luaL_checkstring(L, 1);
  const struct lkp_table *t = lkp_set_get(box->set, name);
  if (!t) return luaL_error(L, "lookup: no table named '%s'", name);
  long col = -1;
  if (!lua_isnoneornil(L, 3)) {
    const char *cname = luaL_checkstring(L, 3);
    col = lkp_column(t, cname);
    if (col < 0) return luaL_error(L, "lookup: table '%s' has no column '%s'", name, cname);
  }
  size_t len;
  const char *key;
  switch (lua_type(L, 2)) {
  case LUA_TNIL:
  case LUA_TNONE:
    lua_pushnil(L);
    return 1;
  case LUA_TSTRING:
  case LUA_TNUMBER:
    key = lua_tolstring(L, 2, &len); /* converts a number in place: slot 2 is ours */
    break;
  default:
    return luaL_typeerror(L, 2, "string");
  }
  size_t row;
  if (!lkp_find(t, key, len, &row)) {
    lua_pushnil(L);
    return 1;
  }
  if (col >= 0) {
    const char *f = lkp_field(t, row, (size_t)col);
    lua_pushlstring(L, f, strlen(f));
  } else {
    lkp_lua_push_row(L, t, row);
  }
  return 1;
}

int lkp_lua_register(lua_State *L, const struct lkp_set *s) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &BOX_KEY) != LUA_TUSERDATA) {
    lua_pop(L, 1);
    lua_newuserdatauv(L, sizeof(struct lkp_box), 0);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &BOX_KEY);
  }
  struct lkp_box *box = lua_touserdata(L, -1);
  box->set = s;
  lua_pushcclosure(L, lkp_lua_lookup, 1); /* stack: lookup */
  return 1;
}

const struct lkp_set *lkp_lua_swap(lua_State *L, const struct lkp_set *s) {
  const struct lkp_set *old = NULL;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &BOX_KEY) == LUA_TUSERDATA) {
    struct lkp_box *box = lua_touserdata(L, -1);
    old = box->set;
    box->set = s;
  }
  lua_pop(L, 1);
  return old;
}

/* json_lua.h — Lua <-> cJSON conversion and the `json` module for scripts.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_JSON_LUA_H
#define LP0_JSON_LUA_H

#include <cjson/cJSON.h>
#include <lua.h>
#include <stddef.h>

#define JSON_ARRAY_MT "lp0.json.array"
#define JSON_MAX_DEPTH 100

/* Converts the Lua value at idx to a new cJSON tree (caller frees with cJSON_Delete).
 * Event proxies and read-only tables are unwrapped; an empty table is an object unless
 * marked with json.array. On failure returns NULL and writes a reason to err.
 * Never raises. [-0, +0, -] */
cJSON *json_lua_to_cjson(lua_State *L, int idx, char *err, size_t errlen);
/* Appends the JSON text of the Lua value at idx to out: object keys sorted, event proxies
 * written from their nodes. Returns 0, or -1 with a reason in err. Never raises (short
 * of memory errors from lua_checkstack). [-0, +0, -] */
struct buf;
int json_lua_encode_buf(lua_State *L, int idx, struct buf *out, char *err, size_t errlen);
/* Pushes a JSON number: an integer when it is integral and |v| <= 2^53, else a float.
 * [-0, +1, -] */
void json_lua_push_number(lua_State *L, double v);
/* Pushes node as plain Lua tables (arrays marked with json.array). [-0, +1, m] */
void json_lua_push(lua_State *L, const cJSON *node);
/* Opens the `json` module: encode, decode, array. [-0, +1, m] */
int luaopen_lp0_json(lua_State *L);

#endif

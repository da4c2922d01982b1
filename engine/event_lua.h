/* event_lua.h — events as lazy, read-only Lua proxies over the parsed cJSON tree.
 *
 * An event reaches Lua as a small userdata that reads fields from cJSON on demand: a
 * detection that looks at three fields converts three values, not the whole record.
 * Proxies are valid for one evaluation only (a generation counter in struct vm): a proxy
 * kept in a global raises a clear error instead of reading freed memory.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_EVENT_LUA_H
#define LP0_EVENT_LUA_H

#include <cjson/cJSON.h>
#include <lua.h>

#define EVL_MT "lp0.event"

/* Creates the proxy metatable in L's registry. [-0, +0, m] */
void evl_open(lua_State *L);
/* Starts or ends the validity of proxies: call before pushing a new event and after its
 * evaluation. Every proxy pushed before is invalid afterwards. */
void evl_begin(lua_State *L);
void evl_end(lua_State *L);
/* Pushes a proxy for node (an object or array; scalars are pushed as Lua values).
 * node is borrowed: it must outlive the current generation. [-0, +1, m] */
void evl_push(lua_State *L, const cJSON *node);
/* The node behind the proxy at idx, or NULL when idx is not a proxy. Raises when the
 * proxy belongs to an ended evaluation. [-0, +0, v] */
const cJSON *evl_test(lua_State *L, int idx);
/* Like evl_test but never raises: NULL for a non-proxy or a stale proxy. [-0, +0, -] */
const cJSON *evl_peek(lua_State *L, int idx);
/* next() for a proxy: pushes key and value and returns 2, or returns 0 at the end.
 * The key to continue from is at kidx. [-0, +(0|2), e] */
int evl_next(lua_State *L, int idx, int kidx);

#endif

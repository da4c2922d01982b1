/* lookup_lua.h — the script-facing lookup(name, key [, column]) over a struct lkp_set.
 *
 * lookup(name, key) -> row | nil
 *   name    a table name (string); an unknown name raises "lookup: no table named 'x'"
 *   key     a string (numbers are converted: integers as digits); nil returns nil, so
 *           lookup("t", e.maybe_missing) needs no guard; any other type raises
 *   row     a new table { column = "value", ... } of the matching row (exact key, or the
 *           most specific CIDR containing the address), or nil when nothing matches
 * lookup(name, key, column) -> value | nil
 *   the one field of the matching row (a string), without building the row table: the
 *   cheap form for "which environment is this account in"; an unknown column raises
 *   "lookup: table 'x' has no column 'y'"
 * Every call builds a fresh row table: scripts may change it, nothing is shared or cached.
 *
 * Ownership: the state only borrows the set. The caller keeps it alive (a reference,
 * lkp_set_ref) for as long as the state may run lookup(), and releases it after swapping
 * another set in or closing the state. The set itself is read-only, so states on
 * different threads may borrow the same one.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_LOOKUP_LUA_H
#define LP0_LOOKUP_LUA_H

#include <lua.h>

#include "lookup.h"

/* Makes L's lookup() read s (borrowed, may be NULL: every name is then unknown) and
 * pushes the lookup function; put it where scripts see it (the sandbox base). Calling it
 * again pushes a function reading the same slot, now set to s. Returns 1.
 * [-0, +1, m] */
int lkp_lua_register(lua_State *L, const struct lkp_set *s);

/* Points L's lookup() at s (SIGHUP reload; on the thread that runs L, between calls).
 * Returns the set it read before, which the caller may now release; NULL when
 * lkp_lua_register was never called on L (nothing is changed then). [-0, +0, -] */
const struct lkp_set *lkp_lua_swap(lua_State *L, const struct lkp_set *s);

/* Pushes row of t as a new table { column = value }. [-0, +1, m] */
void lkp_lua_push_row(lua_State *L, const struct lkp_table *t, size_t row);

#endif

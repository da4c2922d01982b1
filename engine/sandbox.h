/* sandbox.h — the environment user Lua runs in (detections, stories, lib modules).
 *
 * Every file gets its own globals table whose reads fall back to a frozen base: the
 * allowed builtins, the read-only stdlib and the C modules (json, time, log). Nothing
 * a script can reach lets it touch the filesystem, the process, another script's
 * globals or the engine's tables.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_SANDBOX_H
#define LP0_SANDBOX_H

#include <lua.h>
#include <stddef.h>

#include "vm.h"

/* Builds the base environment in vm and loads the embedded stdlib. lib_dirs are the
 * folders `require` searches after the stdlib (borrowed; copied). Returns 0, or -1 with
 * a message in *errmsg (free with free()). */
int sbx_open(struct vm *vm, char *const *lib_dirs, size_t nlib_dirs, char **errmsg);

/* Pushes the base environment itself, for an embedder adding its own globals (the story
 * API) before any script is loaded. [-0, +1, -] */
void sbx_push_base(lua_State *L);

/* Pushes a new globals table for one file: reads fall back to the base. [-0, +1, m] */
void sbx_new_env(lua_State *L);

/* Loads text (never bytecode) as a chunk whose _ENV is the table at env_idx, and pushes
 * the function. Returns 0, or -1 with the syntax error pushed instead. [-0, +1, m] */
int sbx_load(lua_State *L, const char *chunkname, const char *text, size_t len, int env_idx);

/* Pushes a read-only view of the table at idx (nested tables are wrapped on access).
 * [-0, +1, m] */
void sbx_push_readonly(lua_State *L, int idx);
/* If the value at idx is a read-only view, pushes the table behind it and returns 1;
 * otherwise pushes nothing and returns 0. [-0, +(0|1), -] */
int sbx_push_target(lua_State *L, int idx);

/* Lua source of the helpers spec files get (assert_eq). */
extern const char sbx_spec_prelude[];

/* C modules (stdlib_lua.c). */
int luaopen_lp0_time(lua_State *L);
int luaopen_lp0_log(lua_State *L);

#endif

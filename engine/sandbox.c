/* sandbox.c — building the environment untrusted Lua runs in.
 *
 * Stock Lua 5.4 has no read-only tables (Redis patches its Lua for that), so shared
 * tables reach scripts as empty proxies whose metatable (hidden with __metatable = false)
 * forwards reads and refuses writes. The base functions that could escape or bypass the
 * proxies (load of bytecode, dofile, rawset, rawget, collectgarbage, debug, io, package,
 * string.dump) are not there; pcall and xpcall are replaced by versions that re-raise a
 * budget or memory kill, so a script cannot catch its way out of the limits.
 * SPDX-License-Identifier: MIT
 */
#include "sandbox.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_lua.h"
#include "json_lua.h"
#include "stdlib_embed.h"
#include "util.h"

/* Registry keys (addresses are unique). */
static const char BASE_KEY = 'b';    /* the base environment table */
static const char LOADED_KEY = 'l';  /* require cache: name -> module */
static const char LIBDIRS_KEY = 'd'; /* array of lib folders */
static const char ROCACHE_KEY = 'r'; /* weak: table -> its read-only proxy */
static const char LOADING = 'x';     /* sentinel for a module being loaded (cycles) */

/* {===================== read-only views ===================== */

/* A read-only view is an empty table whose metatable sends reads to a *shadow*: a copy of
 * the target in which nested tables are replaced by their own views. __index being a
 * table (not a function) keeps reads on the VM's fast path, which matters because
 * detections read stdlib and config tables on every event. The shadow is built once, when
 * the view is made; tables changed afterwards through another reference are not seen
 * (modules and configuration are fixed once loaded). */

static int ro_target(lua_State *L, int idx) {
  if (!lua_getmetatable(L, idx)) return 0;
  if (lua_getfield(L, -1, "__target") != LUA_TTABLE) {
    lua_pop(L, 2);
    return 0;
  }
  lua_remove(L, -2);
  return 1;
}

int sbx_push_target(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return 0;
  return ro_target(L, idx);
}

static int ro_newindex(lua_State *L) {
  const char *key = luaL_tolstring(L, 2, NULL);
  luaL_where(L, 1);
  lua_pushfstring(L, "%sattempt to modify a read-only table (field '%s')", lua_tostring(L, -1), key);
  return lua_error(L);
}

static int ro_len(lua_State *L) {
  ro_target(L, 1);
  lua_pushinteger(L, luaL_len(L, -1));
  return 1;
}

static int ro_next(lua_State *L) {
  if (!ro_target(L, 1)) return luaL_error(L, "bad read-only view");
  lua_pushvalue(L, 2);
  return lua_next(L, -2) ? 2 : 0;
}

static int ro_pairs(lua_State *L) {
  lua_pushcfunction(L, ro_next);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

void sbx_push_readonly(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  if (ro_target(L, idx)) { /* already a view */
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    return;
  }
  luaL_checkstack(L, 8, "tables nested too deeply");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &ROCACHE_KEY);
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) == LUA_TTABLE) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  int cache = lua_gettop(L);
  lua_newtable(L); /* the view */
  int view = lua_gettop(L);
  lua_newtable(L); /* the shadow */
  int shadow = lua_gettop(L);
  if (lua_getmetatable(L, idx)) lua_setmetatable(L, shadow); /* e.g. json.array marks */
  lua_createtable(L, 0, 7);
  static const luaL_Reg meta[] = {{"__newindex", ro_newindex}, {"__len", ro_len},
                                  {"__pairs", ro_pairs},       {NULL, NULL}};
  luaL_setfuncs(L, meta, 0);
  lua_pushvalue(L, shadow);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, shadow);
  lua_setfield(L, -2, "__target");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, view);
  lua_pushvalue(L, idx); /* cache[target] = view, before recursing: cycles end here */
  lua_pushvalue(L, view);
  lua_rawset(L, cache);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      sbx_push_readonly(L, -1);
      lua_replace(L, -2);
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, shadow);
  }
  lua_settop(L, view);
  lua_remove(L, cache);
}

/* }============================================================ */

/* {===================== replaced builtins ===================== */

static int finish_pcall(lua_State *L, int status, lua_KContext extra) {
  if (status != LUA_OK && status != LUA_YIELD) {
    if (vm_from(L)->killed) return lua_error(L); /* budget/memory kills are not catchable */
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - (int)extra;
}

static int sbx_lua_pcall(lua_State *L) {
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, finish_pcall);
  return finish_pcall(L, status, 0);
}

static int sbx_lua_xpcall(lua_State *L) {
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2); /* msgh, true, f, args */
  int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, finish_pcall);
  return finish_pcall(L, status, 2);
}

/* setmetatable without __gc: finalizers run whenever the collector decides, outside any
 * hook call and its budget, so a finalizer could hang the engine. */
static int sbx_lua_setmetatable(lua_State *L) {
  if (lua_type(L, 2) == LUA_TTABLE && lua_getfield(L, 2, "__gc") != LUA_TNIL)
    return luaL_error(L, "setmetatable: __gc metamethods are not allowed in detections and stories");
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 2, 1);
  return 1;
}

static int sbx_lua_type(lua_State *L) {
  luaL_checkany(L, 1);
  if (lua_type(L, 1) == LUA_TUSERDATA && luaL_testudata(L, 1, EVL_MT))
    lua_pushliteral(L, "table");
  else
    lua_pushstring(L, luaL_typename(L, 1));
  return 1;
}

static int sbx_lua_next(lua_State *L) {
  lua_settop(L, 2);
  if (lua_type(L, 1) == LUA_TUSERDATA && evl_test(L, 1)) {
    int n = evl_next(L, 1, 2);
    if (n == 0) lua_pushnil(L);
    return n ? n : 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  if (ro_target(L, 1)) {
    lua_replace(L, 1);
    lua_pushvalue(L, 2);
    if (!lua_next(L, 1)) {
      lua_pushnil(L);
      return 1;
    }
    return 2;
  }
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}

/* load(text [, chunkname [, mode [, env]]]): text only; env defaults to a fresh sandbox. */
static int sbx_lua_load(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  const char *name = luaL_optstring(L, 2, "=(load)");
  const char *mode = luaL_optstring(L, 3, "t");
  if (strchr(mode, 'b')) return luaL_error(L, "load: binary chunks are not allowed");
  if (lua_isnoneornil(L, 4)) sbx_new_env(L);
  else lua_pushvalue(L, 4);
  if (sbx_load(L, name, text, len, lua_gettop(L)) != 0) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  return 1;
}

/* }============================================================ */

/* {===================== require ===================== */

static bool valid_module_name(const char *s) {
  if (!*s || *s == '.') return false;
  for (; *s; s++) {
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_' || *s == '.'))
      return false;
    if (s[0] == '.' && s[1] == '.') return false;
  }
  return s[-1] != '.';
}

static const struct stdlib_file *find_stdlib(const char *name) {
  for (const struct stdlib_file *f = stdlib_files; f->name; f++)
    if (strcmp(f->name, name) == 0) return f;
  return NULL;
}

/* Runs a module chunk (function on top) in a fresh env; leaves its frozen result. */
static void run_module(lua_State *L, const char *name) {
  if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
    /* forget the "being loaded" mark, so that the next require reports this error
     * again rather than a cycle, then raise it (budget kills included) */
    lua_rawgetp(L, LUA_REGISTRYINDEX, &LOADED_KEY);
    lua_pushnil(L);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
    lua_error(L);
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  if (lua_type(L, -1) == LUA_TTABLE) {
    sbx_push_readonly(L, -1);
    lua_replace(L, -2);
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, &LOADED_KEY);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

static int load_module_text(lua_State *L, const char *name, const char *chunkname,
                            const char *text, size_t len) {
  sbx_new_env(L);
  if (sbx_load(L, chunkname, text, len, lua_gettop(L)) != 0) return lua_error(L);
  lua_remove(L, -2);
  run_module(L, name);
  return 1;
}

static int require_from_libdirs(lua_State *L, const char *name) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &LIBDIRS_KEY);
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    char *path = xasprintf("%s/%s.lua", lua_tostring(L, -1), name);
    lua_pop(L, 1);
    for (char *p = path + strlen(path) - strlen(name) - 4; *p && strcmp(p, ".lua"); p++)
      if (*p == '.') *p = '/';
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
      free(path);
      continue;
    }
    lua_pushfstring(L, "@%s", path); /* stack: libdirs, chunkname */
    free(path);
    sbx_new_env(L);                  /* stack: libdirs, chunkname, env */
    int rc = sbx_load(L, lua_tostring(L, -2), text, len, -1);
    free(text); /* before anything can raise */
    if (rc != 0) return lua_error(L);
    lua_insert(L, -4); /* stack: fn, libdirs, chunkname, env */
    lua_pop(L, 3);
    run_module(L, name);
    return 1;
  }
  lua_pop(L, 1);
  return 0;
}

static int sbx_lua_require(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (!valid_module_name(name)) return luaL_error(L, "require: bad module name '%s'", name);
  if (strncmp(name, "lp0.", 4) == 0) name += 4;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &LOADED_KEY);
  int t = lua_getfield(L, -1, name);
  if (t == LUA_TLIGHTUSERDATA) return luaL_error(L, "require: module '%s' requires itself", name);
  if (t != LUA_TNIL) return 1;
  lua_pop(L, 1);
  lua_pushlightuserdata(L, (void *)(uintptr_t)&LOADING);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
  const struct stdlib_file *f = find_stdlib(name);
  int found;
  if (f) {
    lua_pushfstring(L, "@stdlib/%s.lua", name);
    found = load_module_text(L, name, lua_tostring(L, -1), f->data, f->len);
  } else {
    found = require_from_libdirs(L, name);
  }
  if (!found) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &LOADED_KEY);
    lua_pushnil(L);
    lua_setfield(L, -2, name);
    return luaL_error(L, "require: module '%s' not found (require resolves the stdlib and "
                         "lib/<name>.lua beside the detections)", name);
  }
  return 1;
}

/* }============================================================ */

void sbx_push_base(lua_State *L) { lua_rawgetp(L, LUA_REGISTRYINDEX, &BASE_KEY); }

void sbx_new_env(lua_State *L) {
  lua_createtable(L, 0, 16);
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "_G");
  lua_createtable(L, 0, 2);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &BASE_KEY);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
}

int sbx_load(lua_State *L, const char *chunkname, const char *text, size_t len, int env_idx) {
  env_idx = lua_absindex(L, env_idx);
  if (luaL_loadbufferx(L, text, len, chunkname, "t") != LUA_OK) return -1;
  lua_pushvalue(L, env_idx);
  if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  return 0;
}

const char sbx_spec_prelude[] =
    "local function same(a, b, seen)\n"
    "  if a == b then return true end\n"
    "  if type(a) ~= 'table' or type(b) ~= 'table' then return false end\n"
    "  for k, v in pairs(a) do if not same(v, b[k]) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "function assert_eq(got, want, msg)\n"
    "  if not same(got, want) then\n"
    "    error((msg and msg .. ': ' or '') .. 'expected ' .. (type(want) == 'table' and "
    "json.encode(want) or tostring(want)) .. ', got ' .. (type(got) == 'table' and "
    "json.encode(got) or tostring(got)), 2)\n"
    "  end\n"
    "end\n";

static void copy_builtin(lua_State *L, int base, const char *name) {
  lua_getglobal(L, name);
  lua_setfield(L, base, name);
}

static void set_library(lua_State *L, int base, const char *name, lua_CFunction open) {
  luaL_requiref(L, name, open, 0);
  sbx_push_readonly(L, -1);
  lua_setfield(L, base, name);
  lua_pop(L, 1);
}

/* Everything that builds the base runs in protected mode: Lua raises on OOM. */
static int sbx_lua_open(lua_State *L) {
  static const char *const builtins[] = {
      "assert", "error",    "getmetatable", "ipairs",   "pairs",  "rawequal",
      "rawlen", "select",   "tonumber",     "tostring", "_VERSION", NULL};
  luaL_requiref(L, "_G", luaopen_base, 1);
  lua_pop(L, 1);
  lua_newtable(L);
  int base = lua_gettop(L);
  lua_pushvalue(L, base);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &BASE_KEY);
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &LOADED_KEY);
  lua_newtable(L); /* weak-keyed cache of read-only views */
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &ROCACHE_KEY);
  evl_open(L);

  for (int i = 0; builtins[i]; i++) copy_builtin(L, base, builtins[i]);
  static const luaL_Reg replaced[] = {
      {"pcall", sbx_lua_pcall}, {"xpcall", sbx_lua_xpcall}, {"type", sbx_lua_type},
      {"next", sbx_lua_next},   {"load", sbx_lua_load},     {"require", sbx_lua_require},
      {NULL, NULL}};
  lua_pushvalue(L, base);
  luaL_setfuncs(L, replaced, 0);
  lua_pop(L, 1);
  lua_getglobal(L, "setmetatable");
  lua_pushcclosure(L, sbx_lua_setmetatable, 1);
  lua_setfield(L, base, "setmetatable");

  luaL_requiref(L, "string", luaopen_string, 0);
  lua_pushnil(L);
  lua_setfield(L, -2, "dump"); /* bytecode out is as dangerous as bytecode in */
  lua_pop(L, 1);
  set_library(L, base, "string", luaopen_string);
  set_library(L, base, "table", luaopen_table);
  set_library(L, base, "math", luaopen_math);
  set_library(L, base, "utf8", luaopen_utf8);
  set_library(L, base, "coroutine", luaopen_coroutine);
  lua_pushliteral(L, "");  /* no script may patch string methods for the others */
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);

  luaL_requiref(L, "os", luaopen_os, 0); /* only the clock functions survive */
  lua_createtable(L, 0, 3);
  for (const char *const *f = (const char *const[]){"time", "clock", "date", NULL}; *f; f++) {
    lua_getfield(L, -2, *f);
    lua_setfield(L, -2, *f);
  }
  sbx_push_readonly(L, -1);
  lua_setfield(L, base, "os");
  lua_pop(L, 2);

  static const struct { const char *name; lua_CFunction open; } cmods[] = {
      {"json", luaopen_lp0_json}, {"time", luaopen_lp0_time}, {"log", luaopen_lp0_log}};
  lua_rawgetp(L, LUA_REGISTRYINDEX, &LOADED_KEY);
  for (size_t i = 0; i < sizeof cmods / sizeof *cmods; i++) {
    char full[32];
    snprintf(full, sizeof full, "lp0.%s", cmods[i].name);
    luaL_requiref(L, full, cmods[i].open, 0);
    sbx_push_readonly(L, -1);
    lua_pushvalue(L, -1);
    lua_setfield(L, base, cmods[i].name);
    lua_setfield(L, -3, cmods[i].name);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_getfield(L, base, "log"); /* print() is log.info() */
  lua_getfield(L, -1, "info");
  lua_setfield(L, base, "print");
  lua_pop(L, 1);

  /* The stdlib: each module becomes a global; prelude's entries become globals. */
  for (const struct stdlib_file *f = stdlib_files; f->name; f++) {
    lua_pushcfunction(L, sbx_lua_require);
    lua_pushstring(L, f->name);
    lua_call(L, 1, 1);
    if (strcmp(f->name, "prelude") == 0) {
      if (!sbx_push_target(L, -1)) return luaL_error(L, "stdlib/prelude.lua must return a table");
      lua_pushnil(L);
      while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_settable(L, base);
      }
      lua_pop(L, 2);
    } else {
      lua_setfield(L, base, f->name);
    }
  }
  return 0;
}

int sbx_open(struct vm *vm, char *const *lib_dirs, size_t nlib_dirs, char **errmsg) {
  lua_State *L = vm->L;
  lua_createtable(L, (int)nlib_dirs, 0);
  for (size_t i = 0; i < nlib_dirs; i++) {
    lua_pushstring(L, lib_dirs[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  lua_rawsetp(L, LUA_REGISTRYINDEX, &LIBDIRS_KEY);
  lua_pushcfunction(L, sbx_lua_open);
  if (vm_pcall(vm, 0, 0, VM_LOAD_BUDGET) != LUA_OK) {
    *errmsg = xasprintf("cannot start the Lua sandbox: %s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
  }
  return 0;
}

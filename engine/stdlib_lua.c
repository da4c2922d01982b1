/* stdlib_lua.c — the small C modules of the script stdlib: `time` and `log`.
 * Both are pure functions of their arguments except time.now() and log's output.
 * SPDX-License-Identifier: MIT
 */
#include <lauxlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "sandbox.h"
#include "vm.h"

/* time.parse(s | number) -> epoch seconds, or nil, err. [-1, +1|2, -] */
static int time_lua_parse(lua_State *L) {
  double t;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lua_pushnumber(L, clk_from_number(lua_tonumber(L, 1)));
    return 1;
  }
  size_t n;
  const char *s = lua_tolstring(L, 1, &n);
  if (s && clk_parse(s, n, &t) == 0) {
    lua_pushnumber(L, t);
    return 1;
  }
  lua_pushnil(L);
  lua_pushfstring(L, "not a timestamp: %s", s ? s : luaL_typename(L, 1));
  return 2;
}

/* time.format(epoch) -> "YYYY-MM-DDTHH:MM:SS[.mmm]Z". [-1, +1, e] */
static int time_lua_format(lua_State *L) {
  char out[48];
  lua_pushstring(L, clk_format(luaL_checknumber(L, 1), out, sizeof out));
  return 1;
}

static int time_lua_now(lua_State *L) {
  lua_pushnumber(L, clk_now());
  return 1;
}

int luaopen_lp0_time(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"parse", time_lua_parse}, {"format", time_lua_format}, {"now", time_lua_now},
      {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}

/* log.<level>(...): arguments joined with spaces, prefixed with the script's file:line. */
static int log_lua_emit(lua_State *L, enum log_level level) {
  if (vm_from(L)->quiet_log) return 0;
  luaL_Buffer b;
  int n = lua_gettop(L);
  luaL_where(L, 1);
  luaL_buffinit(L, &b);
  luaL_addvalue(&b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, ' ');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  log_msg(level, "%s", lua_tostring(L, -1));
  return 0;
}

static int log_lua_info(lua_State *L) { return log_lua_emit(L, LOG_INFO); }
static int log_lua_warn(lua_State *L) { return log_lua_emit(L, LOG_WARN); }
static int log_lua_error(lua_State *L) { return log_lua_emit(L, LOG_ERROR); }
static int log_lua_debug(lua_State *L) { return log_lua_emit(L, LOG_DEBUG); }

int luaopen_lp0_log(lua_State *L) {
  static const luaL_Reg funcs[] = {{"info", log_lua_info},   {"warn", log_lua_warn},
                                   {"error", log_lua_error}, {"debug", log_lua_debug},
                                   {NULL, NULL}};
  luaL_newlib(L, funcs);
  return 1;
}

/* Unit tests of vm.c, sandbox.c and event_lua.c through the C API: budget and memory
 * kills that pcall cannot swallow, the state staying usable afterwards, read-only views
 * and event proxies. */
#include <lauxlib.h>
#include <stdlib.h>

#include "check.h"
#include "event_lua.h"
#include "sandbox.h"
#include "vm.h"

/* Runs code in a fresh sandboxed env; returns the Lua status, result string in out. */
static int run(struct vm *vm, const char *code, char *out, size_t outlen) {
  lua_State *L = vm->L;
  int top = lua_gettop(L);
  sbx_new_env(L);
  if (sbx_load(L, "=test", code, strlen(code), -1) != 0) {
    snprintf(out, outlen, "%s", lua_tostring(L, -1));
    lua_settop(L, top);
    return -1;
  }
  int rc = vm_pcall(vm, 0, 1, 100000);
  snprintf(out, outlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "nil");
  lua_settop(L, top);
  return rc;
}

int main(void) {
  char out[512], *err = NULL;
  struct vm *vm = vm_new(8u << 20);
  ASSERT_TRUE(vm != NULL);
  ASSERT_EQ_INT(sbx_open(vm, NULL, 0, &err), 0);
  free(err);

  ASSERT_EQ_INT(run(vm, "return tostring(1 + 1)", out, sizeof out), LUA_OK);
  ASSERT_EQ_STR(out, "2");
  /* a loop inside pcall is still killed, and so is one that retries in a loop */
  ASSERT_TRUE(run(vm, "for i = 1, 10 do pcall(function() while true do end end) end return 'x'", out, sizeof out) != LUA_OK);
  ASSERT_TRUE(strstr(out, "instruction budget exceeded") != NULL);
  ASSERT_EQ_INT(vm->killed, VM_KILL_BUDGET);
  ASSERT_TRUE(run(vm, "local ok = xpcall(function() while true do end end, function(m) return m end) return tostring(ok)", out, sizeof out) != LUA_OK);
  /* the state is usable after a kill */
  ASSERT_EQ_INT(run(vm, "return 'alive'", out, sizeof out), LUA_OK);
  ASSERT_EQ_STR(out, "alive");
  /* memory cap: refused, caught by nobody, and the memory is given back */
  ASSERT_TRUE(run(vm, "local ok, e = pcall(string.rep, 'x', 1e8) return tostring(ok)", out, sizeof out) != LUA_OK);
  ASSERT_TRUE(strstr(out, "memory") != NULL);
  ASSERT_TRUE(vm->mem_used < (8u << 20));
  ASSERT_EQ_INT(run(vm, "local t = {} for i = 1, 1000 do t[i] = i end return tostring(#t)", out, sizeof out), LUA_OK);
  ASSERT_EQ_STR(out, "1000");
  /* builtins that could escape are gone; shared tables are read-only */
  ASSERT_EQ_INT(run(vm, "return tostring(io == nil and debug == nil and package == nil and rawset == nil and dofile == nil and string.dump == nil and os.execute == nil)", out, sizeof out), LUA_OK);
  ASSERT_EQ_STR(out, "true");
  ASSERT_TRUE(run(vm, "string.upper = nil", out, sizeof out) != LUA_OK);
  ASSERT_TRUE(strstr(out, "read-only") != NULL);
  ASSERT_TRUE(run(vm, "json.x = 1", out, sizeof out) != LUA_OK);
  ASSERT_TRUE(run(vm, "return load('\\27Lua', 'x', 'b')", out, sizeof out) != LUA_OK);
  ASSERT_EQ_INT(run(vm, "x_global = 1 return 'ok'", out, sizeof out), LUA_OK);
  ASSERT_EQ_INT(run(vm, "return tostring(x_global)", out, sizeof out), LUA_OK);
  ASSERT_EQ_STR(out, "nil"); /* each env is its own */

  /* event proxies: lazy, case-insensitive, read-only, invalid after the evaluation */
  lua_State *L = vm->L;
  cJSON *ev = cJSON_Parse("{\"sourceIPAddress\":\"1.2.3.4\",\"n\":null,\"a\":[10,20,null,40],\"o\":{\"k\":true}}");
  sbx_new_env(L);
  const char *code =
      "function f(e)\n"
      "  assert(e.sourceIpAddress == '1.2.3.4')\n"
      "  assert(e.n == nil and type(e.o) == 'table' and e.o.k == true)\n"
      "  assert(#e.a == 4 and e.a[2] == 20 and e.a[3] == nil and e.a[4] == 40)\n"
      "  local keys = 0 for k in pairs(e) do keys = keys + 1 end\n"
      "  assert(keys == 3, 'pairs skips nulls: ' .. keys)\n"
      "  assert(next(e.o) == 'k')\n"
      "  kept = e\n"
      "  local ok, msg = pcall(function() e.o.k = false end)\n"
      "  assert(not ok and msg:find('read%-only'))\n"
      "  return json.encode(e.o)\n"
      "end\n"
      "function g() return kept.o end\n";
  ASSERT_EQ_INT(sbx_load(L, "=proxy", code, strlen(code), -1), 0);
  ASSERT_EQ_INT(vm_pcall(vm, 0, 0, 0), LUA_OK);
  lua_getfield(L, -1, "f");
  evl_begin(L);
  evl_push(L, ev);
  int rc = vm_pcall(vm, 1, 1, 0);
  ASSERT_EQ_INT(rc, LUA_OK);
  ASSERT_EQ_STR(lua_tostring(L, -1), "{\"k\":true}");
  lua_pop(L, 1);
  evl_end(L);
  lua_getfield(L, -1, "g");
  ASSERT_TRUE(vm_pcall(vm, 0, 1, 0) != LUA_OK); /* the kept event is stale */
  ASSERT_TRUE(strstr(lua_tostring(L, -1), "after its evaluation") != NULL);
  lua_settop(L, 0);
  cJSON_Delete(ev);
  vm_free(vm);
  CHECK_DONE();
}

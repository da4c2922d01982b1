/* Unit tests of lookup_lua.c: lookup(name, key) from Lua over a loaded set — rows as
 * tables, nil on a miss or a nil key, errors for unknown tables and bad keys, fresh rows
 * per call, and swapping the set (reload) under a function scripts already hold. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lookup.h"
#include "lookup_lua.h"

static char dir[64];

static void put(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
    perror(path);
    exit(2);
  }
}

static struct lkp_set *load(const struct lkp_spec *specs, size_t n) {
  struct lkp_set *s = NULL;
  char *err = NULL;
  if (lkp_set_load(specs, n, dir, &s, &err) != 0) {
    fprintf(stderr, "load: %s\n", err);
    free(err);
    exit(2);
  }
  return s;
}

/* Runs code; returns its first result as a string (tostring), or "error: <message>"
 * without the chunk's position, which must be there (the error points at the caller).
 * The result is copied into a static buffer. */
static const char *run(lua_State *L, const char *code) {
  static char out[512];
  if (luaL_loadstring(L, code) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1), *at = strstr(msg, "\"]:1: ");
    snprintf(out, sizeof out, "error: %s", at ? at + 6 : msg);
  } else {
    snprintf(out, sizeof out, "%s", luaL_tolstring(L, -1, NULL));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return out;
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/lp0-lookup-lua-XXXXXX");
  if (!mkdtemp(dir)) return 2;
  put("accounts.csv", "account_id,name,env\n111122223333,payments,prod\n34894817398,blog,prod\n");
  put("bad_ips.txt", "# test IOCs\n203.0.113.0/24\n203.0.113.66\n2001:db8:bad::/48\n");
  struct lkp_spec specs[] = {{.name = "accounts", .path = "accounts.csv"},
                             {.name = "bad_ips", .path = "bad_ips.txt"}};
  struct lkp_set *set = load(specs, 2);

  lua_State *L = luaL_newstate();
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  lua_pop(L, 1);
  int top = lua_gettop(L);
  ASSERT_EQ_INT(lkp_lua_register(L, set), 1);
  ASSERT_EQ_INT(lua_gettop(L), top + 1); /* [-0, +1] */
  ASSERT_TRUE(lua_type(L, -1) == LUA_TFUNCTION);
  lua_setglobal(L, "lookup");

  /* Rows come back as column -> string tables. */
  ASSERT_EQ_STR(run(L, "local r = lookup('accounts', '111122223333') return r.name .. '/' .. r.env .. '/' .. r.account_id"),
                "payments/prod/111122223333");
  ASSERT_EQ_STR(run(L, "local n = 0 for k, v in pairs(lookup('accounts', '111122223333')) do "
                       "assert(type(v) == 'string') n = n + 1 end return n"),
                "3");
  ASSERT_EQ_STR(run(L, "return lookup('accounts', '999')"), "nil");
  /* An integer key is compared as its digits (an account id read as a number). */
  ASSERT_EQ_STR(run(L, "return lookup('accounts', 34894817398).name"), "blog");
  ASSERT_EQ_STR(run(L, "return lookup('accounts', nil)"), "nil");
  ASSERT_EQ_STR(run(L, "return lookup('accounts')"), "nil");
  /* CIDR: the most specific prefix, IPv6 and v4-mapped too. */
  ASSERT_EQ_STR(run(L, "return lookup('bad_ips', '203.0.113.66').value"), "203.0.113.66");
  ASSERT_EQ_STR(run(L, "return lookup('bad_ips', '203.0.113.67').value"), "203.0.113.0/24");
  ASSERT_EQ_STR(run(L, "return lookup('bad_ips', '::ffff:203.0.113.1').value"), "203.0.113.0/24");
  ASSERT_EQ_STR(run(L, "return lookup('bad_ips', '2001:db8:bad:1::9').value"), "2001:db8:bad::/48");
  ASSERT_EQ_STR(run(L, "return lookup('bad_ips', '198.51.100.1')"), "nil");
  ASSERT_EQ_STR(run(L, "return lookup('bad_ips', 'not an address')"), "nil");
  /* One column without the row table; an unknown column raises even on a miss. */
  ASSERT_EQ_STR(run(L, "return lookup('accounts', '34894817398', 'name')"), "blog");
  ASSERT_EQ_STR(run(L, "return lookup('accounts', '999', 'name')"), "nil");
  ASSERT_EQ_STR(run(L, "return lookup('bad_ips', '203.0.113.9', 'value')"), "203.0.113.0/24");
  ASSERT_EQ_STR(run(L, "return lookup('accounts', '999', 'owner')"),
                "error: lookup: table 'accounts' has no column 'owner'");
  ASSERT_EQ_STR(run(L, "return lookup('accounts', '34894817398', {})"),
                "error: bad argument #3 to 'lookup' (string expected, got table)");
  /* Misuse raises, with the names a detection author needs. */
  ASSERT_EQ_STR(run(L, "return lookup('nope', 'x')"), "error: lookup: no table named 'nope'");
  ASSERT_EQ_STR(run(L, "return lookup('accounts', {})"),
                "error: bad argument #2 to 'lookup' (string expected, got table)");
  ASSERT_EQ_STR(run(L, "return lookup(nil, 'x')"),
                "error: bad argument #1 to 'lookup' (string expected, got nil)");
  /* Each call returns a fresh table: changing one changes nothing for the next caller. */
  ASSERT_EQ_STR(run(L, "local r = lookup('accounts', '111122223333') r.env = 'dev' r.extra = 1 "
                       "local s = lookup('accounts', '111122223333') return s.env .. tostring(s.extra) .. tostring(r ~= s)"),
                "prodniltrue");

  /* Reload: a new set swapped in under the function scripts already hold. */
  put("accounts2.csv", "account_id,name\n555566667777,new\n");
  struct lkp_spec specs2[] = {{.name = "accounts", .path = "accounts2.csv"}};
  struct lkp_set *set2 = load(specs2, 1);
  top = lua_gettop(L);
  const struct lkp_set *old = lkp_lua_swap(L, set2);
  ASSERT_EQ_INT(lua_gettop(L), top);
  ASSERT_TRUE(old == set);
  lkp_set_unref(set); /* the state no longer reads it */
  ASSERT_EQ_STR(run(L, "return lookup('accounts', '555566667777').name"), "new");
  ASSERT_EQ_STR(run(L, "return lookup('accounts', '111122223333')"), "nil");
  ASSERT_EQ_STR(run(L, "return lookup('bad_ips', '203.0.113.66')"), "error: lookup: no table named 'bad_ips'");
  /* A NULL set: every name is unknown. */
  ASSERT_TRUE(lkp_lua_swap(L, NULL) == set2);
  ASSERT_EQ_STR(run(L, "return lookup('accounts', '555566667777')"), "error: lookup: no table named 'accounts'");
  lua_close(L);

  /* Swap on a state that never registered changes nothing. */
  L = luaL_newstate();
  ASSERT_TRUE(lkp_lua_swap(L, set2) == NULL);
  lua_close(L);
  lkp_set_unref(set2);

  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 2;
  CHECK_DONE();
}

/* Unit tests of wildcard.c: the wildcard language, malformed patterns, linear time on
 * star-heavy patterns, and agreement with the stdlib's strings.glob on random cases. */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "wildcard.h"
#include "sandbox.h"
#include "vm.h"

static bool m(const char *pat, const char *s) { return wildcard_match(pat, s, strlen(s)); }

static void test_language(void) {
  ASSERT_TRUE(m("AWS.*", "AWS.EC2.SecurityGroupModified"));
  ASSERT_TRUE(m("AWS.*", "AWS."));
  ASSERT_TRUE(!m("AWS.*", "AWS"));
  ASSERT_TRUE(!m("AWS.*", "Threat.AWS.IAM"));
  ASSERT_TRUE(m("*.IAM.*", "Threat.AWS.IAM.BreakGlassUserActivity"));
  ASSERT_TRUE(m("*", ""));
  ASSERT_TRUE(m("", ""));
  ASSERT_TRUE(!m("", "x"));
  ASSERT_TRUE(m("arn:aws:sts::*:assumed-role/ci-*/*", "arn:aws:sts::111122223333:assumed-role/ci-deploy/gh-123"));
  ASSERT_TRUE(!m("arn:aws:sts::*:assumed-role/ci-*/*", "arn:aws:sts::111122223333:assumed-role/admin/x"));
  ASSERT_TRUE(m("a?c", "abc"));
  ASSERT_TRUE(m("a?c", "a\xC3\xA9" "c")); /* ? is one UTF-8 character, not one byte */
  ASSERT_TRUE(!m("a??c", "a\xC3\xA9" "c"));
  ASSERT_TRUE(!m("a?c", "ac"));
  ASSERT_TRUE(m("[abc]x", "bx"));
  ASSERT_TRUE(!m("[abc]x", "dx"));
  ASSERT_TRUE(m("[!abc]x", "dx"));
  ASSERT_TRUE(m("[^abc]x", "dx"));
  ASSERT_TRUE(!m("[!abc]x", "ax"));
  ASSERT_TRUE(m("us-[a-z]*-[0-9]", "us-east-1"));
  ASSERT_TRUE(!m("us-[a-z]*-[0-9]", "us-east-x"));
  ASSERT_TRUE(m("[]]", "]"));        /* ']' first in a set is a member */
  ASSERT_TRUE(m("[!]]", "a"));
  ASSERT_TRUE(m("[\\]x]", "x"));
  ASSERT_TRUE(m("[z-a]", "") == false); /* an empty set matches nothing */
  ASSERT_TRUE(!m("[z-a]", "m"));
  ASSERT_TRUE(m("[!z-a]", "m"));
  ASSERT_TRUE(m("[ab", "[ab"));      /* unclosed: literal */
  ASSERT_TRUE(!m("[ab", "a"));
  ASSERT_TRUE(m("\\*", "*"));
  ASSERT_TRUE(!m("\\*", "x"));
  ASSERT_TRUE(m("a\\", "a\\"));      /* a trailing backslash is itself */
  ASSERT_TRUE(m("**a**", "xxaxx"));
  ASSERT_TRUE(m("*a*b", "aaaab"));
  ASSERT_TRUE(!m("*a*b", "aaaa"));
  ASSERT_TRUE(wildcard_match("ab*", "abcdef", 2)); /* length-delimited subject */
  ASSERT_TRUE(!wildcard_match("abc", "abcdef", 2));

  ASSERT_TRUE(!wildcard_has_magic("AWS.EC2.Thing"));
  ASSERT_TRUE(wildcard_has_magic("AWS.*"));
  ASSERT_TRUE(wildcard_has_magic("a?"));
  ASSERT_TRUE(wildcard_has_magic("[ab]"));
  ASSERT_TRUE(!wildcard_has_magic("[ab"));
  ASSERT_TRUE(!wildcard_has_magic("\\*"));
  ASSERT_TRUE(wildcard_check("AWS.*") == NULL);
  ASSERT_TRUE(wildcard_check("[]]") == NULL);
  ASSERT_TRUE(wildcard_check("a[b") != NULL && strstr(wildcard_check("a[b"), "not closed"));
  ASSERT_TRUE(wildcard_check("a\\") != NULL && strstr(wildcard_check("a\\"), "trailing"));
}

static void test_linear(void) {
  /* "*a*a*a*...b" against a long run of "a": exponential with naive backtracking. */
  char subject[20001], pat[64];
  memset(subject, 'a', 20000);
  subject[20000] = '\0';
  strcpy(pat, "*a*a*a*a*a*a*a*a*a*a*b");
  clock_t t0 = clock();
  ASSERT_TRUE(!m(pat, subject));
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  ASSERT_TRUE(secs < 1.0);
}

/* Random patterns and subjects over a small alphabet, C against strings.glob. */
static void test_same_as_lua(void) {
  char *err = NULL;
  struct vm *vm = vm_new(16u << 20);
  ASSERT_TRUE(vm && sbx_open(vm, NULL, 0, &err) == 0);
  free(err);
  lua_State *L = vm->L;
  static const char pat_alpha[] = "ab*?[]!-\\.", sub_alpha[] = "ab.-]![\\\xC3\xA9";
  unsigned long long x = 0x9E3779B97F4A7C15ULL;
  int differ = 0, matched = 0;
  for (int i = 0; i < 20000; i++) {
    char pat[12], sub[12];
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t pn = x % 8, sn = (x >> 8) % 9;
    for (size_t k = 0; k < pn; k++) pat[k] = pat_alpha[(x >> (16 + 3 * k)) % (sizeof pat_alpha - 1)];
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    for (size_t k = 0; k < sn; k++) sub[k] = sub_alpha[(x >> (3 * k)) % (sizeof sub_alpha - 1)];
    pat[pn] = sub[sn] = '\0';
    int top = lua_gettop(L);
    sbx_new_env(L);
    lua_getfield(L, -1, "strings");
    lua_getfield(L, -1, "glob");
    lua_pushstring(L, pat);
    lua_pushstring(L, sub);
    bool lua_says = false;
    if (vm_pcall(vm, 2, 1, 0) == LUA_OK) lua_says = lua_toboolean(L, -1);
    else differ += 1000000; /* strings.glob never raises on strings */
    lua_settop(L, top);
    bool c_says = m(pat, sub);
    matched += c_says;
    if (c_says != lua_says && differ < 5) fprintf(stderr, "  pattern [%s] subject [%s]: C %d, Lua %d\n", pat, sub, c_says, lua_says);
    differ += c_says != lua_says;
  }
  ASSERT_EQ_INT(differ, 0);
  ASSERT_TRUE(matched > 500); /* the random cases do exercise matches */
  vm_free(vm);
}

int main(void) {
  test_language();
  test_linear();
  test_same_as_lua();
  CHECK_DONE();
}

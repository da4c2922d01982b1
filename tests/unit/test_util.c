/* Unit tests of util.c: the hash map (with backward-shift deletion) and buffers. */
#include <stdlib.h>

#include "check.h"
#include "util.h"

int main(void) {
  struct hmap m;
  char key[32];
  hmap_init(&m);
  ASSERT_TRUE(hmap_get(&m, "x", 1) == NULL);
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof key, "key-%d", i);
    *hmap_put(&m, key, strlen(key)) = (void *)(size_t)(i + 1);
  }
  ASSERT_EQ_INT(m.len, 5000);
  /* delete every third key, then every other lookup must still work */
  for (int i = 0; i < 5000; i += 3) {
    snprintf(key, sizeof key, "key-%d", i);
    ASSERT_EQ_INT((size_t)hmap_del(&m, key, strlen(key)), i + 1);
  }
  int bad = 0;
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof key, "key-%d", i);
    size_t v = (size_t)hmap_get(&m, key, strlen(key));
    if (i % 3 == 0 ? v != 0 : v != (size_t)i + 1) bad++;
  }
  ASSERT_EQ_INT(bad, 0);
  ASSERT_EQ_INT(m.len, 5000 - 1667);
  ASSERT_TRUE(hmap_del(&m, "absent", 6) == NULL);
  /* keys are byte strings: embedded NULs count */
  *hmap_put(&m, "a\0b", 3) = (void *)7;
  ASSERT_TRUE(hmap_get(&m, "a", 1) == NULL);
  ASSERT_EQ_INT((size_t)hmap_get(&m, "a\0b", 3), 7);
  hmap_free(&m);

  struct buf b;
  buf_init(&b);
  buf_printf(&b, "%d-%s", 42, "x");
  buf_put_xml(&b, "<a&'\">");
  ASSERT_EQ_STR(b.data, "42-x&lt;a&amp;&apos;&quot;&gt;");
  char *s = buf_take(&b);
  ASSERT_TRUE(b.data == NULL && b.len == 0);
  free(s);
  ASSERT_TRUE(str_ends_with("rule.lua", ".lua") && !str_ends_with("a", ".lua"));
  CHECK_DONE();
}

/* Unit tests of json.c: paths, prefilter keys, equality, strict parsing. */
#include <stdlib.h>

#include "check.h"
#include "json.h"

int main(void) {
  size_t pos = 0;
  cJSON *e = json_parse("{\"a\":{\"b\":{\"c\":5}},\"s\":\"x\",\"t\":true,\"n\":null}", 50, &pos);
  ASSERT_TRUE(e != NULL);
  struct json_path p;
  ASSERT_EQ_INT(json_path_init(&p, "a.b.c"), 0);
  ASSERT_EQ_INT(p.nseg, 3);
  const cJSON *v = json_path_get(e, &p);
  ASSERT_TRUE(v && v->valuedouble == 5);
  json_path_free(&p);
  ASSERT_EQ_INT(json_path_init(&p, "a..b"), -1);
  ASSERT_EQ_INT(json_path_init(&p, ""), -1);
  ASSERT_EQ_INT(json_path_init(&p, "a.x.c"), 0);
  ASSERT_TRUE(json_path_get(e, &p) == NULL);
  json_path_free(&p);

  struct buf k;
  buf_init(&k);
  ASSERT_TRUE(json_scalar_key(cJSON_GetObjectItem(e, "s"), &k));
  ASSERT_EQ_STR(k.data, "sx");
  k.len = 0;
  ASSERT_TRUE(json_scalar_key(cJSON_GetObjectItem(e, "t"), &k));
  ASSERT_EQ_STR(k.data, "t");
  k.len = 0;
  ASSERT_TRUE(!json_scalar_key(cJSON_GetObjectItem(e, "n"), &k));
  ASSERT_TRUE(!json_scalar_key(cJSON_GetObjectItem(e, "a"), &k));
  buf_free(&k);
  cJSON_Delete(e);

  cJSON *x = cJSON_Parse("{\"a\":[1,2,{\"b\":null}],\"e\":{}}");
  cJSON *y = cJSON_Parse("{\"e\":[],\"a\":[1,2.0,{\"b\":null}]}");
  cJSON *z = cJSON_Parse("{\"e\":[],\"a\":[1,2,{\"b\":false}]}");
  ASSERT_TRUE(json_equal(x, y));  /* order-free objects, {} == [] when empty, 2 == 2.0 */
  ASSERT_TRUE(!json_equal(x, z)); /* null != false */
  cJSON_Delete(x), cJSON_Delete(y), cJSON_Delete(z);

  ASSERT_TRUE(json_parse("{\"a\":1} trailing", 16, &pos) == NULL);
  ASSERT_EQ_INT(pos, 8);
  ASSERT_TRUE(json_parse("{\"a\":", 5, &pos) == NULL);
  e = json_parse("{\"a\":1}  \r\n", 11, &pos);
  ASSERT_TRUE(e != NULL);
  cJSON_Delete(e);
  char *s = json_print(cJSON_GetObjectItem(NULL, "x"));
  ASSERT_EQ_STR(s, "null");
  free(s);
  CHECK_DONE();
}

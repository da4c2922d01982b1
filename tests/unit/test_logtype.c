/* Unit tests of logtype.c: classification by shape, event time, envelopes. */
#include <stdlib.h>

#include "check.h"
#include "logtype.h"

static const char *classify(const char *json) {
  cJSON *e = cJSON_Parse(json);
  const char *lt = lt_classify(e);
  cJSON_Delete(e);
  return lt ? lt : "none";
}

static double when(const char *json, const char *lt) {
  cJSON *e = cJSON_Parse(json);
  double t = lt_event_time(e, lt);
  cJSON_Delete(e);
  return t;
}

static int count;
static void counter(const cJSON *r, void *ud) {
  (void)r, (void)ud;
  count++;
}

int main(void) {
  ASSERT_EQ_STR(classify("{\"eventVersion\":\"1.08\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\"}"), LT_CLOUDTRAIL);
  ASSERT_EQ_STR(classify("{\"eventTime\":\"x\",\"eventSource\":\"s3\",\"eventName\":\"X\"}"), LT_CLOUDTRAIL);
  ASSERT_EQ_STR(classify("{\"eventSource\":\"s3\",\"eventName\":\"X\"}"), "none");
  ASSERT_EQ_STR(classify("{\"eventType\":\"user.session.start\",\"actor\":{},\"published\":\"2021-01-08 21:28:34.875\"}"), LT_OKTA);
  ASSERT_EQ_STR(classify("{\"action\":\"repo.create\",\"actor\":\"a\",\"created_at\":1621305118553}"), LT_GITHUB);
  ASSERT_EQ_STR(classify("{\"action\":\"git.push\",\"actor\":\"a\"}"), LT_GITHUB);
  ASSERT_EQ_STR(classify("{\"action\":\"login\",\"actor\":\"a\"}"), "none");
  ASSERT_EQ_STR(classify("{\"p_log_type\":\"Okta.SystemLog\",\"eventtype\":\"x\"}"), LT_OKTA);
  ASSERT_EQ_STR(classify("[1,2]"), "none");

  ASSERT_EQ_DBL(when("{\"eventTime\":\"2024-10-31T08:04:00Z\"}", LT_CLOUDTRAIL), 1730361840);
  ASSERT_EQ_DBL(when("{\"@timestamp\":\"2024-10-31T08:04:00Z\"}", LT_CLOUDTRAIL), 1730361840); /* OTRF */
  ASSERT_EQ_DBL(when("{\"published\":\"2021-01-08 21:28:34.875\"}", LT_OKTA), 1610141314.875);
  ASSERT_EQ_DBL(when("{\"@timestamp\":1621305118553}", LT_GITHUB), 1621305118.553);
  ASSERT_EQ_DBL(when("{\"created_at\":1621305118553}", LT_GITHUB), 1621305118.553);
  ASSERT_EQ_DBL(when("{\"time\":\"2024-10-31T08:04:00Z\"}", "Custom.Log"), 1730361840);
  ASSERT_EQ_DBL(when("{\"eventTime\":\"not a time\"}", LT_CLOUDTRAIL), -1);
  ASSERT_EQ_DBL(when("{}", NULL), -1);

  const char *docs[] = {"[{\"a\":1},{\"a\":2},3]", "{\"Records\":[{\"a\":1},{\"a\":2}]}",
                        "{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":{\"a\":1}}",
                        "{\"eventName\":\"X\",\"Records\":[1]}", "{\"a\":1}"};
  int want[] = {3, 2, 1, 1, 1};
  for (int i = 0; i < 5; i++) {
    cJSON *d = cJSON_Parse(docs[i]);
    count = 0;
    lt_each_record(d, counter, NULL);
    ASSERT_EQ_INT(count, want[i]);
    cJSON_Delete(d);
  }
  CHECK_DONE();
}

/* Unit tests of ingest.c: every body format with real shapes, compression and the
 * inflate cap, NDJSON errors with positions, every auth scheme with the vectors of
 * shared/reference/protocols.md, the Okta challenge. Events from ../shared/data are read
 * at test time when present. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "ingest.h"
#include "util.h"

/* gzip (wbits 31) or zlib (15) of data; if zeros > 0, that many zero bytes instead. */
static char *deflate_buf(const char *data, size_t len, size_t zeros, int wbits, size_t *out_len) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (deflateInit2(&zs, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
  struct buf out;
  buf_init(&out);
  static char zbuf[1 << 16];
  size_t left = zeros ? zeros : len;
  int flush = Z_NO_FLUSH;
  do {
    if (zs.avail_in == 0 && left) {
      size_t n = zeros ? (left > sizeof zbuf ? sizeof zbuf : left) : left;
      zs.next_in = (Bytef *)(zeros ? zbuf : (char *)(uintptr_t)data + (len - left));
      zs.avail_in = (uInt)n;
      left -= n;
    }
    flush = left ? Z_NO_FLUSH : Z_FINISH;
    buf_reserve(&out, 65536);
    zs.next_out = (Bytef *)out.data + out.len;
    zs.avail_out = 65536;
    int rc = deflate(&zs, flush);
    out.len += 65536 - zs.avail_out;
    if (rc == Z_STREAM_END) break;
  } while (1);
  deflateEnd(&zs);
  *out_len = out.len;
  return buf_take(&out);
}

static char *b64(const char *p, size_t n) {
  static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  struct buf b;
  buf_init(&b);
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned char)p[i] << 16;
    if (i + 1 < n) v |= (unsigned char)p[i + 1] << 8;
    if (i + 2 < n) v |= (unsigned char)p[i + 2];
    buf_putc(&b, t[v >> 18 & 63]);
    buf_putc(&b, t[v >> 12 & 63]);
    buf_putc(&b, i + 1 < n ? t[v >> 6 & 63] : '=');
    buf_putc(&b, i + 2 < n ? t[v & 63] : '=');
  }
  return buf_take(&b);
}

static const char *str_field(const struct ingest_record *r, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int decode(const char *body, const char *ct, struct ingest_result *r) {
  return ingest_decode(body, strlen(body), ct, NULL, NULL, r);
}

static void test_plain_shapes(void) {
  struct ingest_result r;
  const char *obj = "  {\"eventName\":\"ConsoleLogin\",\"eventVersion\":\"1.08\"}\n";
  ASSERT_EQ_INT(decode(obj, "application/json", &r), 0);
  ASSERT_EQ_INT(r.format, INGEST_FMT_OBJECT);
  ASSERT_EQ_INT(r.nrecs, 1);
  ASSERT_EQ_INT(r.nerrors, 0);
  ASSERT_EQ_STR(str_field(&r.recs[0], "eventName"), "ConsoleLogin");
  ASSERT_TRUE(r.recs[0].text == obj + 2);
  ASSERT_EQ_INT(r.recs[0].len, strlen(obj) - 3);
  /* the caller may take a record */
  cJSON *taken = r.recs[0].json;
  r.recs[0].json = NULL;
  ingest_result_free(&r);
  cJSON_Delete(taken);

  ASSERT_EQ_INT(decode("[{\"a\":1},\n{\"a\":2}, 3]", NULL, &r), 0);
  ASSERT_EQ_INT(r.format, INGEST_FMT_ARRAY);
  ASSERT_EQ_INT(r.nrecs, 2);
  ASSERT_EQ_INT(r.nerrors, 1);
  ASSERT_TRUE(r.recs[1].text == NULL);
  ASSERT_EQ_STR(r.errs[0].msg, "item[2] is a number");
  ingest_result_free(&r);

  /* records whose keys resemble envelopes stay records */
  const char *gh = "{\"actor\":\"cat\",\"action\":\"hook.create\",\"data\":{\"hook_id\":1,"
                   "\"events\":[\"fork\",\"push\"]},\"org\":\"my-org\"}\n"
                   "{\"Type\":\"Other\",\"MessageId\":\"1\",\"Event\":\"x\",\"detail\":{}}\n";
  ASSERT_EQ_INT(decode(gh, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 2);
  ASSERT_EQ_INT(r.nerrors, 0);
  ASSERT_EQ_STR(str_field(&r.recs[0], "action"), "hook.create");
  ASSERT_TRUE(r.recs[1].text != NULL);
  ingest_result_free(&r);

  ASSERT_EQ_INT(decode("42", NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_EQ_INT(r.nerrors, 1);
  ingest_result_free(&r);

  ASSERT_EQ_INT(decode(" \r\n\n ", NULL, &r), INGEST_E_EMPTY);
  ASSERT_EQ_INT(ingest_http_status(INGEST_E_EMPTY), 400);
  ingest_result_free(&r);
  ASSERT_EQ_INT(ingest_decode(NULL, 0, NULL, NULL, NULL, &r), INGEST_E_EMPTY);
  ingest_result_free(&r);

  /* a pretty-printed malformed document: one error, where it is */
  const char *pretty = "{\n  \"a\": 1,\n  \"b\": \n}\n";
  ASSERT_EQ_INT(decode(pretty, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_EQ_INT(r.nerrors, 1);
  ASSERT_EQ_INT(r.errs[0].line, 4);
  ASSERT_EQ_INT(r.errs[0].pos, 20);
  ingest_result_free(&r);

  /* nesting beyond cJSON's limit is a malformed document, not a crash */
  struct buf deep;
  buf_init(&deep);
  for (int i = 0; i < 1200; i++) buf_putc(&deep, '[');
  for (int i = 0; i < 1200; i++) buf_putc(&deep, ']');
  ASSERT_EQ_INT(ingest_decode(deep.data, deep.len, NULL, NULL, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_EQ_INT(r.nerrors, 1);
  ingest_result_free(&r);
  buf_free(&deep);
}

static void test_ndjson(void) {
  struct ingest_result r;
  /* line 2 and line 5 are malformed; line 3 is blank; CRLF and a last line without \n */
  const char *body = "{\"a\":1}\n{\"a\":\n\n{\"a\":3}\r\nnot json\n{\"a\":5}";
  for (int forced = 0; forced < 2; forced++) {
    ASSERT_EQ_INT(decode(body, forced ? "application/x-ndjson; charset=utf-8" : NULL, &r), 0);
    ASSERT_EQ_INT(r.format, INGEST_FMT_NDJSON);
    ASSERT_EQ_INT(r.nrecs, 3);
    ASSERT_EQ_INT(r.nerrors, 2);
    ASSERT_EQ_INT(r.recs[0].line, 1);
    ASSERT_EQ_INT(r.recs[1].line, 4);
    ASSERT_EQ_INT(r.recs[2].line, 6);
    ASSERT_EQ_INT(r.recs[1].len, 7); /* CR trimmed */
    ASSERT_TRUE(memcmp(r.recs[1].text, "{\"a\":3}", 7) == 0);
    ASSERT_EQ_INT(r.errs[0].line, 2);
    ASSERT_EQ_INT(r.errs[0].pos, 12); /* last byte of line 2: the value is cut short */
    ASSERT_EQ_INT(r.errs[1].line, 5);
    ASSERT_EQ_INT(r.errs[1].pos, 24); /* 'n' of "not json" */
    ASSERT_TRUE(strstr(r.errs[1].msg, "line 5") != NULL);
    ingest_result_free(&r);
  }
  /* a malformed first line does not hide the good lines after it */
  ASSERT_EQ_INT(decode("{\"a\":}\n{\"a\":2}\n", NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 1);
  ASSERT_EQ_INT(r.nerrors, 1);
  ASSERT_EQ_INT(r.errs[0].line, 1);
  ASSERT_EQ_INT(r.errs[0].pos, 5);
  ingest_result_free(&r);
  /* errors are all counted, the first INGEST_MAX_ERRORS_KEPT kept */
  struct buf b;
  buf_init(&b);
  for (int i = 0; i < 40; i++) buf_puts(&b, i % 2 ? "{\"ok\":true}\n" : "{bad}\n");
  ASSERT_EQ_INT(ingest_decode(b.data, b.len, NULL, NULL, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 20);
  ASSERT_EQ_INT(r.nerrors, 20);
  ASSERT_EQ_INT(r.nerrs_kept, INGEST_MAX_ERRORS_KEPT);
  ingest_result_free(&r);
  /* the record cap */
  struct ingest_limits lim = {0, 20};
  ASSERT_EQ_INT(ingest_decode(b.data, b.len, NULL, NULL, &lim, &r), 0);
  ingest_result_free(&r);
  lim.max_records = 19;
  ASSERT_EQ_INT(ingest_decode(b.data, b.len, NULL, NULL, &lim, &r), INGEST_E_TOO_MANY);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_EQ_INT(ingest_http_status(INGEST_E_TOO_MANY), 413);
  ingest_result_free(&r);
  buf_free(&b);
}

static void test_cloudtrail(void) {
  struct ingest_result r;
  const char *ct =
      "{\"Records\":[{\"eventVersion\":\"1.08\",\"eventSource\":\"iam.amazonaws.com\","
      "\"eventName\":\"CreateUser\",\"awsRegion\":\"us-east-1\"},"
      "{\"eventVersion\":\"1.08\",\"eventSource\":\"signin.amazonaws.com\",\"eventName\":"
      "\"ConsoleLogin\"}]}";
  ASSERT_EQ_INT(decode(ct, NULL, &r), 0);
  ASSERT_EQ_INT(r.format, INGEST_FMT_CLOUDTRAIL);
  ASSERT_EQ_INT(r.nrecs, 2);
  ASSERT_EQ_STR(str_field(&r.recs[1], "eventName"), "ConsoleLogin");
  ASSERT_TRUE(r.recs[0].text == NULL);
  ingest_result_free(&r);

  /* an S3 event notification shares the Records key: skipped, not taken for CloudTrail */
  const char *s3 = "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\","
                   "\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},"
                   "\"object\":{\"key\":\"AWSLogs/1/CloudTrail/x.json.gz\"}}}]}";
  ASSERT_EQ_INT(decode(s3, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_EQ_INT(r.skipped, 1);
  ASSERT_EQ_INT(r.nerrors, 0);
  ingest_result_free(&r);
  ASSERT_EQ_INT(decode("{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\",\"Bucket\":\"b\"}",
                       NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_EQ_INT(r.skipped, 1);
  ingest_result_free(&r);

  const char *eb =
      "{\"version\":\"0\",\"id\":\"6a7e8feb-b491-4cf7-a9f1-bf3703467718\",\"detail-type\":"
      "\"AWS API Call via CloudTrail\",\"source\":\"aws.iam\",\"account\":\"111122223333\","
      "\"time\":\"2024-01-01T00:00:00Z\",\"region\":\"us-east-1\",\"resources\":[],\"detail\":"
      "{\"eventVersion\":\"1.08\",\"eventSource\":\"iam.amazonaws.com\",\"eventName\":"
      "\"AttachUserPolicy\"}}";
  ASSERT_EQ_INT(decode(eb, NULL, &r), 0);
  ASSERT_EQ_INT(r.format, INGEST_FMT_EVENTBRIDGE);
  ASSERT_EQ_INT(r.nrecs, 1);
  ASSERT_EQ_STR(str_field(&r.recs[0], "eventName"), "AttachUserPolicy");
  ASSERT_TRUE(cJSON_GetObjectItemCaseSensitive(r.recs[0].json, "detail-type") == NULL);
  ingest_result_free(&r);

  /* EventBridge envelopes as NDJSON and as an array */
  struct buf b;
  buf_init(&b);
  buf_printf(&b, "%s\n%s\n", eb, eb);
  ASSERT_EQ_INT(ingest_decode(b.data, b.len, NULL, NULL, NULL, &r), 0);
  ASSERT_EQ_INT(r.format, INGEST_FMT_NDJSON);
  ASSERT_EQ_INT(r.nrecs, 2);
  ASSERT_TRUE(r.recs[1].text == NULL); /* extracted, not verbatim */
  ingest_result_free(&r);
  b.len = 0;
  buf_printf(&b, "[%s,%s]", eb, ct);
  ASSERT_EQ_INT(ingest_decode(b.data, b.len, NULL, NULL, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 3);
  ingest_result_free(&r);
  buf_free(&b);

  const char *lookup = "{\"Events\":[{\"EventId\":\"1\",\"EventName\":\"StopLogging\","
                       "\"CloudTrailEvent\":\"{\\\"eventName\\\":\\\"StopLogging\\\"}\"}]}";
  ASSERT_EQ_INT(decode(lookup, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 1);
  ASSERT_EQ_STR(str_field(&r.recs[0], "eventName"), "StopLogging");
  ingest_result_free(&r);
}

static const char *cwl_doc =
    "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"111122223333\",\"logGroup\":\"aws-cloudtrail\","
    "\"logStream\":\"111122223333_CloudTrail_us-east-1\",\"subscriptionFilters\":[\"f\"],"
    "\"logEvents\":[{\"id\":\"1\",\"timestamp\":1700000000000,\"message\":"
    "\"{\\\"eventVersion\\\":\\\"1.08\\\",\\\"eventName\\\":\\\"DeleteTrail\\\"}\"},"
    "{\"id\":\"2\",\"timestamp\":1700000000001,\"message\":\"not json\"},"
    "{\"id\":\"3\",\"timestamp\":1700000000002,\"message\":"
    "\"{\\\"eventName\\\":\\\"StopLogging\\\"}\"}]}";

static void test_cwlogs(void) {
  struct ingest_result r;
  size_t gzlen;
  char *gz = deflate_buf(cwl_doc, strlen(cwl_doc), 0, 31, &gzlen);
  char *data = b64(gz, gzlen);
  struct buf b;
  buf_init(&b);
  buf_printf(&b, "{\"awslogs\":{\"data\":\"%s\"}}", data);
  ASSERT_EQ_INT(ingest_decode(b.data, b.len, "application/json", NULL, NULL, &r), 0);
  ASSERT_EQ_INT(r.format, INGEST_FMT_CWLOGS);
  ASSERT_EQ_INT(r.nrecs, 2);
  ASSERT_EQ_INT(r.nerrors, 1);
  ASSERT_EQ_STR(str_field(&r.recs[0], "eventName"), "DeleteTrail");
  ASSERT_EQ_STR(str_field(&r.recs[1], "eventName"), "StopLogging");
  ASSERT_TRUE(strstr(r.errs[0].msg, "logEvents[1]") != NULL);
  ingest_result_free(&r);

  /* Firehose HTTP endpoint delivery: two records of base64 gzip */
  b.len = 0;
  buf_printf(&b, "{\"requestId\":\"ed4acda5\",\"timestamp\":1700000000000,\"records\":"
                 "[{\"data\":\"%s\"},{\"data\":\"%s\"}]}", data, data);
  ASSERT_EQ_INT(ingest_decode(b.data, b.len, NULL, NULL, NULL, &r), 0);
  ASSERT_EQ_INT(r.format, INGEST_FMT_CWLOGS);
  ASSERT_EQ_INT(r.nrecs, 4);
  ingest_result_free(&r);
  free(gz), free(data);

  /* CONTROL_MESSAGE: skipped */
  const char *ctl = "{\"messageType\":\"CONTROL_MESSAGE\",\"owner\":\"CloudwatchLogs\","
                    "\"logGroup\":\"\",\"logStream\":\"\",\"subscriptionFilters\":[],"
                    "\"logEvents\":[{\"id\":\"\",\"timestamp\":1,\"message\":"
                    "\"CWL CONTROL MESSAGE: Checking health of destination Firehose.\"}]}";
  gz = deflate_buf(ctl, strlen(ctl), 0, 31, &gzlen);
  data = b64(gz, gzlen);
  b.len = 0;
  buf_printf(&b, "{\"awslogs\":{\"data\":\"%s\"}}", data);
  ASSERT_EQ_INT(ingest_decode(b.data, b.len, NULL, NULL, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_EQ_INT(r.nerrors, 0);
  ASSERT_EQ_INT(r.skipped, 1);
  ingest_result_free(&r);
  free(gz), free(data);

  /* bad base64, bad gzip inside */
  ASSERT_EQ_INT(decode("{\"awslogs\":{\"data\":\"!!!\"}}", NULL, &r), 0);
  ASSERT_EQ_INT(r.nerrors, 1);
  ingest_result_free(&r);
  ASSERT_EQ_INT(decode("{\"awslogs\":{\"data\":\"H4sIAAAAAAAAA\"}}", NULL, &r), 0);
  ASSERT_EQ_INT(r.nerrors, 1);
  ingest_result_free(&r);

  /* a bomb inside the base64 payload hits the cap too */
  gz = deflate_buf(NULL, 0, 4u << 20, 31, &gzlen);
  data = b64(gz, gzlen);
  b.len = 0;
  buf_printf(&b, "{\"awslogs\":{\"data\":\"%s\"}}", data);
  struct ingest_limits lim = {1u << 20, 0};
  ASSERT_EQ_INT(ingest_decode(b.data, b.len, NULL, NULL, &lim, &r), INGEST_E_INFLATED);
  ingest_result_free(&r);
  free(gz), free(data);
  buf_free(&b);
}

static void test_okta_sns(void) {
  struct ingest_result r;
  const char *hook =
      "{\"eventType\":\"com.okta.event_hook\",\"eventTypeVersion\":\"1.0\",\"cloudEventsVersion\":"
      "\"0.1\",\"source\":\"https://example.okta.com/api/v1/eventHooks/whoql0HfiLGPWc8Jx0g3\","
      "\"eventId\":\"b5a188b9-5ece-4636-b041-482ffda96311\",\"eventTime\":\"2024-01-01T00:00:00.000Z\","
      "\"contentType\":\"application/json\",\"data\":{\"events\":[{\"uuid\":\"1\",\"eventType\":"
      "\"user.session.start\",\"published\":\"2024-01-01T00:00:00.000Z\"},{\"uuid\":\"2\","
      "\"eventType\":\"user.account.privilege.grant\"}]}}";
  ASSERT_EQ_INT(decode(hook, NULL, &r), 0);
  ASSERT_EQ_INT(r.format, INGEST_FMT_OKTA_HOOK);
  ASSERT_EQ_INT(r.nrecs, 2);
  ASSERT_EQ_STR(str_field(&r.recs[1], "eventType"), "user.account.privilege.grant");
  ingest_result_free(&r);

  /* SNS Notification whose Message is a CloudTrail Records document (JSON in a string) */
  const char *sns =
      "{\"Type\":\"Notification\",\"MessageId\":\"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\","
      "\"TopicArn\":\"arn:aws:sns:us-west-2:123456789012:MyTopic\",\"Subject\":\"x\","
      "\"Message\":\"{\\\"Records\\\":[{\\\"eventVersion\\\":\\\"1.08\\\",\\\"eventName\\\":"
      "\\\"PutBucketPolicy\\\"}]}\",\"Timestamp\":\"2012-05-02T00:54:06.655Z\","
      "\"SignatureVersion\":\"1\",\"Signature\":\"EXAMPLE\",\"SigningCertURL\":"
      "\"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem\","
      "\"UnsubscribeURL\":\"https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe\"}";
  ASSERT_EQ_INT(decode(sns, "text/plain; charset=UTF-8", &r), 0);
  ASSERT_EQ_INT(r.kind, INGEST_KIND_EVENTS);
  ASSERT_EQ_INT(r.format, INGEST_FMT_SNS);
  ASSERT_EQ_INT(r.nrecs, 1);
  ASSERT_EQ_STR(str_field(&r.recs[0], "eventName"), "PutBucketPolicy");
  ingest_result_free(&r);

  const char *conf =
      "{\"Type\":\"SubscriptionConfirmation\",\"MessageId\":\"165545c9-2a5c-472c-8df2-7ff2be2b3b1b\","
      "\"Token\":\"2336412f37\",\"TopicArn\":\"arn:aws:sns:us-west-2:123456789012:MyTopic\","
      "\"Message\":\"You have chosen to subscribe to the topic.\",\"SubscribeURL\":"
      "\"https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37\","
      "\"Timestamp\":\"2012-04-26T20:45:04.751Z\",\"SignatureVersion\":\"1\",\"Signature\":\"x\","
      "\"SigningCertURL\":\"https://sns.us-west-2.amazonaws.com/x.pem\"}";
  ASSERT_EQ_INT(decode(conf, NULL, &r), 0);
  ASSERT_EQ_INT(r.kind, INGEST_KIND_SNS_CONFIRM);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_TRUE(r.subscribe_url && strncmp(r.subscribe_url, "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription", 63) == 0);
  ASSERT_EQ_STR(r.topic_arn, "arn:aws:sns:us-west-2:123456789012:MyTopic");
  ingest_result_free(&r);

  ASSERT_EQ_INT(decode("{\"Type\":\"Notification\",\"MessageId\":\"1\",\"Message\":\"plain text\"}",
                       NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_EQ_INT(r.nerrors, 1);
  ASSERT_TRUE(strstr(r.errs[0].msg, "SNS Message is not JSON") != NULL);
  ingest_result_free(&r);

  /* SNS carrying an S3 notification: skipped; UnsubscribeConfirmation: skipped */
  ASSERT_EQ_INT(decode("{\"Type\":\"Notification\",\"TopicArn\":\"arn:t\",\"Message\":"
                       "\"{\\\"Records\\\":[{\\\"eventSource\\\":\\\"aws:s3\\\"}]}\"}",
                       NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_EQ_INT(r.nerrors, 0);
  ASSERT_EQ_INT(r.skipped, 1);
  ingest_result_free(&r);
  ASSERT_EQ_INT(decode("{\"Type\":\"UnsubscribeConfirmation\",\"TopicArn\":\"arn:t\"}", NULL, &r), 0);
  ASSERT_EQ_INT(r.kind, INGEST_KIND_EVENTS);
  ASSERT_EQ_INT(r.skipped, 1);
  ingest_result_free(&r);

  /* SNS wrapping an EventBridge envelope wrapping a record */
  ASSERT_EQ_INT(decode("{\"Type\":\"Notification\",\"MessageId\":\"1\",\"Message\":"
                       "\"{\\\"detail-type\\\":\\\"AWS Console Sign In via CloudTrail\\\","
                       "\\\"detail\\\":{\\\"eventName\\\":\\\"ConsoleLogin\\\"}}\"}", NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 1);
  ASSERT_EQ_STR(str_field(&r.recs[0], "eventName"), "ConsoleLogin");
  ingest_result_free(&r);

  /* envelopes nested too deep */
  char *msg = xstrdup("{\"a\":1}");
  for (int i = 0; i < INGEST_MAX_ENVELOPES + 2; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "Type", "Notification");
    cJSON_AddStringToObject(o, "MessageId", "1");
    cJSON_AddStringToObject(o, "Message", msg);
    free(msg);
    char *p = cJSON_PrintUnformatted(o);
    msg = xstrdup(p);
    cJSON_free(p);
    cJSON_Delete(o);
  }
  ASSERT_EQ_INT(decode(msg, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 0);
  ASSERT_EQ_INT(r.nerrors, 1);
  ingest_result_free(&r);
  free(msg);
}

static void test_compression(void) {
  struct ingest_result r;
  const char *nd = "{\"a\":1}\n{\"a\":2}\n";
  size_t n;
  char *gz = deflate_buf(nd, strlen(nd), 0, 31, &n);
  ASSERT_EQ_INT(ingest_decode(gz, n, NULL, "gzip", NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 2);
  ASSERT_EQ_INT(r.inflated_len, strlen(nd));
  ASSERT_TRUE(r.recs[0].text && memcmp(r.recs[0].text, "{\"a\":1}", 7) == 0);
  ingest_result_free(&r);
  ASSERT_EQ_INT(ingest_decode(gz, n, NULL, " X-GZIP ", NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 2);
  ingest_result_free(&r);
  /* gzip recognised by its magic bytes without Content-Encoding */
  ASSERT_EQ_INT(ingest_decode(gz, n, NULL, NULL, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 2);
  ingest_result_free(&r);
  /* two concatenated members */
  struct buf two;
  buf_init(&two);
  buf_append(&two, gz, n);
  buf_append(&two, gz, n);
  ASSERT_EQ_INT(ingest_decode(two.data, two.len, NULL, "gzip", NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 4);
  ingest_result_free(&r);
  buf_append(&two, "junk", 4);
  ASSERT_EQ_INT(ingest_decode(two.data, two.len, NULL, "gzip", NULL, &r), INGEST_E_CORRUPT);
  ingest_result_free(&r);
  buf_free(&two);
  /* truncated and corrupt */
  ASSERT_EQ_INT(ingest_decode(gz, n - 6, NULL, "gzip", NULL, &r), INGEST_E_CORRUPT);
  ingest_result_free(&r);
  ASSERT_EQ_INT(ingest_decode("not gzip at all", 15, NULL, "gzip", NULL, &r), INGEST_E_CORRUPT);
  ASSERT_EQ_INT(ingest_http_status(INGEST_E_CORRUPT), 400);
  ingest_result_free(&r);
  free(gz);
  /* deflate (zlib) */
  char *zl = deflate_buf(nd, strlen(nd), 0, 15, &n);
  ASSERT_EQ_INT(ingest_decode(zl, n, NULL, "deflate", NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, 2);
  ingest_result_free(&r);
  free(zl);
  /* unsupported */
  ASSERT_EQ_INT(ingest_decode(nd, strlen(nd), NULL, "br", NULL, &r), INGEST_E_ENCODING);
  ASSERT_EQ_INT(ingest_http_status(INGEST_E_ENCODING), 415);
  ingest_result_free(&r);
  ASSERT_EQ_INT(ingest_decode(nd, strlen(nd), NULL, "identity", NULL, &r), 0);
  ingest_result_free(&r);

  /* zip bombs: refused at the cap, given and default */
  char *bomb = deflate_buf(NULL, 0, (size_t)2 << 20, 31, &n);
  struct ingest_limits lim = {1u << 20, 0};
  ASSERT_EQ_INT(ingest_decode(bomb, n, NULL, "gzip", &lim, &r), INGEST_E_INFLATED);
  ASSERT_EQ_INT(ingest_http_status(INGEST_E_INFLATED), 413);
  ingest_result_free(&r);
  lim.max_inflated = 2u << 20; /* exactly at the cap: accepted (and empty: all zeros) */
  ASSERT_EQ_INT(ingest_decode(bomb, n, NULL, "gzip", &lim, &r), 0);
  ingest_result_free(&r);
  free(bomb);
  bomb = deflate_buf(NULL, 0, INGEST_MAX_INFLATED + 1, 31, &n);
  ASSERT_TRUE(n < 200000);
  ASSERT_EQ_INT(ingest_decode(bomb, n, NULL, "gzip", NULL, &r), INGEST_E_INFLATED);
  ingest_result_free(&r);
  free(bomb);
}

/* Every line of a shared data file is one record, plain and gzipped. */
static void test_data_file(const char *path) {
  size_t len = 0;
  char *body = read_file(path, &len);
  if (!body) {
    printf("skip: %s not present\n", path);
    return;
  }
  size_t lines = 0;
  for (size_t i = 0; i < len; i++)
    if (body[i] == '\n') lines++;
  if (len && body[len - 1] != '\n') lines++;
  struct ingest_result r;
  ASSERT_EQ_INT(ingest_decode(body, len, "application/x-ndjson", NULL, NULL, &r), 0);
  ASSERT_EQ_INT(r.nrecs, lines);
  ASSERT_EQ_INT(r.nerrors, 0);
  ingest_result_free(&r);
  size_t n;
  char *gz = deflate_buf(body, len, 0, 31, &n);
  ASSERT_EQ_INT(ingest_decode(gz, n, NULL, "gzip", NULL, &r), 0);
  ASSERT_EQ_INT(r.format, INGEST_FMT_NDJSON);
  ASSERT_EQ_INT(r.nrecs, lines);
  ASSERT_EQ_INT(r.nerrors, 0);
  ingest_result_free(&r);
  free(gz);
  free(body);
}

static void test_auth(void) {
  /* GitHub, protocols.md 5.1 */
  const char *gkey = "It's a Secret to Everybody", *gbody = "Hello, World!";
  const char *gsig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  char hex[65];
  ASSERT_EQ_INT(ingest_hmac_sha256_hex(gkey, strlen(gkey), gbody, strlen(gbody), hex), 0);
  ASSERT_EQ_STR(hex, gsig + 7);
  ASSERT_EQ_INT(ingest_auth_github(gsig, gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_github("sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
                                   gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_github(gsig, "wrong", 5, gbody, strlen(gbody)), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_github(gsig, gkey, strlen(gkey), "Hello, World?", 13), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_github(gsig + 7, gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_github("sha256=7571", gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_github("sha1=0123", gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_github(NULL, gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_MISSING);
  ASSERT_EQ_INT(ingest_auth_github("", gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_MISSING);
  ASSERT_EQ_INT(ingest_auth_github(gsig, "", 0, gbody, strlen(gbody)), INGEST_AUTH_WRONG);
  /* bare hex in a configurable header (Panther-style HMAC) */
  ASSERT_EQ_INT(ingest_auth_hmac_hex(gsig + 7, NULL, gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_hmac_hex(gsig + 7, "", gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_hmac_hex(gsig, NULL, gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_hmac_hex("zz", NULL, gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_hmac_hex(NULL, NULL, gkey, strlen(gkey), gbody, strlen(gbody)), INGEST_AUTH_MISSING);

  /* Slack, protocols.md 5.5 */
  const char *skey = "8f742231b10e8888abcd99yyyzzz85a5", *sts = "1531420618";
  const char *sbody =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
      "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
      "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770088"
      "5554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
  const char *ssig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
  size_t kl = strlen(skey), bl = strlen(sbody);
  int64_t t0 = 1531420618;
  ASSERT_EQ_INT(ingest_auth_slack(ssig, sts, skey, kl, sbody, bl, t0 + 10, 0), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_slack(ssig, sts, skey, kl, sbody, bl, t0 + 300, 0), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_slack(ssig, sts, skey, kl, sbody, bl, t0 - 300, 0), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_slack(ssig, sts, skey, kl, sbody, bl, t0 + 301, 0), INGEST_AUTH_STALE);
  ASSERT_EQ_INT(ingest_auth_slack(ssig, sts, skey, kl, sbody, bl, t0 - 301, 0), INGEST_AUTH_STALE);
  ASSERT_EQ_INT(ingest_auth_slack(ssig, sts, skey, kl, sbody, bl, t0 + 1000, 3600), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_slack(ssig, "1531420619", skey, kl, sbody, bl, t0, 0), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_slack(ssig, "15314x0618", skey, kl, sbody, bl, t0, 0), INGEST_AUTH_STALE);
  ASSERT_EQ_INT(ingest_auth_slack(ssig, sts, "bad", 3, sbody, bl, t0, 0), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_slack(ssig, sts, skey, kl, sbody, bl - 1, t0, 0), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_slack(ssig + 3, sts, skey, kl, sbody, bl, t0, 0), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_slack(NULL, sts, skey, kl, sbody, bl, t0, 0), INGEST_AUTH_MISSING);
  ASSERT_EQ_INT(ingest_auth_slack(ssig, NULL, skey, kl, sbody, bl, t0, 0), INGEST_AUTH_MISSING);

  /* Bearer and static header secrets */
  ASSERT_EQ_INT(ingest_auth_bearer("Bearer s3cret-token", "s3cret-token"), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_bearer("bearer   s3cret-token", "s3cret-token"), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_bearer("Bearer s3cret-toke", "s3cret-token"), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_bearer("Bearer s3cret-tokenX", "s3cret-token"), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_bearer("Basic czNjcmV0", "s3cret-token"), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_bearer("Bearers3cret-token", "s3cret-token"), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_bearer("Bearer ", "s3cret-token"), INGEST_AUTH_MISSING);
  ASSERT_EQ_INT(ingest_auth_bearer(NULL, "s3cret-token"), INGEST_AUTH_MISSING);
  ASSERT_EQ_INT(ingest_auth_bearer("Bearer x", ""), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_static("okta-secret-value", "okta-secret-value"), INGEST_AUTH_OK);
  ASSERT_EQ_INT(ingest_auth_static("okta-secret-valuf", "okta-secret-value"), INGEST_AUTH_WRONG);
  ASSERT_EQ_INT(ingest_auth_static("", "okta-secret-value"), INGEST_AUTH_MISSING);
  ASSERT_EQ_INT(ingest_auth_static(NULL, "okta-secret-value"), INGEST_AUTH_MISSING);

  ASSERT_EQ_INT(ingest_auth_status(INGEST_AUTH_OK), 200);
  ASSERT_EQ_INT(ingest_auth_status(INGEST_AUTH_MISSING), 401);
  ASSERT_EQ_INT(ingest_auth_status(INGEST_AUTH_WRONG), 403);
  ASSERT_EQ_INT(ingest_auth_status(INGEST_AUTH_STALE), 403);
  ASSERT_TRUE(strcmp(ingest_auth_reason(INGEST_AUTH_STALE), ingest_auth_reason(INGEST_AUTH_WRONG)) != 0);
  for (int a = INGEST_AUTH_OK; a <= INGEST_AUTH_STALE; a++)
    ASSERT_TRUE(strstr(ingest_auth_reason((enum ingest_auth)a), "secret") == NULL);
}

static void test_okta_challenge(void) {
  char *s = ingest_okta_verification("VK7JwLV4fTk8RkbI6bJZwgHf1JwrWwCdnYdR5Lj6");
  ASSERT_EQ_STR(s, "{\"verification\":\"VK7JwLV4fTk8RkbI6bJZwgHf1JwrWwCdnYdR5Lj6\"}");
  free(s);
  s = ingest_okta_verification("a\"b\\c\n\x01");
  ASSERT_EQ_STR(s, "{\"verification\":\"a\\\"b\\\\c\\u000a\\u0001\"}");
  cJSON *v = cJSON_Parse(s);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "verification")),
                "a\"b\\c\n\x01");
  cJSON_Delete(v);
  free(s);
  ASSERT_TRUE(ingest_okta_verification(NULL) == NULL);
}

int main(void) {
  test_plain_shapes();
  test_ndjson();
  test_cloudtrail();
  test_cwlogs();
  test_okta_sns();
  test_compression();
  static const char *const files[] = {
      "cloudtrail/panther_rule_tests.ndjson", "cloudtrail/stratus_red_team_detonations.ndjson",
      "cloudtrail/otrf_ec2_proxy_s3_exfiltration.ndjson", "okta/panther_rule_tests.ndjson",
      "okta/panther_test_scenarios.ndjson", "github/panther_rule_tests.ndjson"};
  /* the data folder: $LP0_SHARED_DATA, else ../shared/data beside the repository */
  const char *env = getenv("LP0_SHARED_DATA");
  char *dir = env ? xstrdup(env) : NULL;
  if (!dir) {
    const char *src = __FILE__, *cut = strstr(src, "tests/unit/test_ingest.c");
    dir = cut ? xasprintf("%.*s../shared/data", (int)(cut - src), src) : xstrdup("../shared/data");
  }
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char *p = xasprintf("%s/%s", dir, files[i]);
    test_data_file(p);
    free(p);
  }
  free(dir);
  test_auth();
  test_okta_challenge();
  CHECK_DONE();
}

/* logtype.c — classification by shape and event time per log type.
 *
 * Both run on every event, so each reads the record's top-level keys in one pass
 * (cJSON objects are lists: a lookup per field would scan the keys once per field).
 * SPDX-License-Identifier: MIT
 */
#include "logtype.h"

#include <string.h>

#include "clock.h"

/* The top-level fields that classification, time and envelopes look at. */
enum {
  F_P_LOG_TYPE, F_EVENT_SOURCE, F_EVENT_NAME, F_EVENT_VERSION, F_EVENT_TIME, F_AWS_REGION,
  F_EVENT_TYPE, F_ACTOR, F_PUBLISHED, F_ACTION, F_CREATED_AT, F_AT_TIMESTAMP, F_TIME,
  F_TIMESTAMP, F_RECORDS, F_DETAIL, F_DETAIL_TYPE, F_COUNT
};
static const char *const field_names[F_COUNT] = {
    "p_log_type", "eventSource", "eventName", "eventVersion", "eventTime", "awsRegion",
    "eventType", "actor", "published", "action", "created_at", "@timestamp", "time",
    "timestamp", "Records", "detail", "detail-type"};

static void scan(const cJSON *o, const cJSON *f[F_COUNT]) {
  memset(f, 0, F_COUNT * sizeof *f);
  for (const cJSON *c = o->child; c; c = c->next) {
    const char *k = c->string;
    if (!k) continue;
    for (int i = 0; i < F_COUNT; i++) {
      if (k[0] == field_names[i][0] && !f[i] && strcmp(k, field_names[i]) == 0) {
        f[i] = c;
        break;
      }
    }
  }
}

static const char *classify(const cJSON *f[F_COUNT]) {
  const cJSON *p = f[F_P_LOG_TYPE];
  if (cJSON_IsString(p)) { /* Panther-enriched records say what they are */
    if (strcmp(p->valuestring, LT_CLOUDTRAIL) == 0) return LT_CLOUDTRAIL;
    if (strcmp(p->valuestring, LT_OKTA) == 0) return LT_OKTA;
    if (strcmp(p->valuestring, LT_GITHUB) == 0) return LT_GITHUB;
  }
  if (cJSON_IsString(f[F_EVENT_SOURCE]) && cJSON_IsString(f[F_EVENT_NAME]) &&
      (f[F_EVENT_VERSION] || f[F_EVENT_TIME] || f[F_AWS_REGION]))
    return LT_CLOUDTRAIL;
  if (cJSON_IsString(f[F_EVENT_TYPE]) && cJSON_IsObject(f[F_ACTOR]) && f[F_PUBLISHED])
    return LT_OKTA;
  const cJSON *action = f[F_ACTION];
  if (cJSON_IsString(action) && f[F_ACTOR] &&
      (f[F_CREATED_AT] || f[F_AT_TIMESTAMP] || strchr(action->valuestring, '.')))
    return LT_GITHUB;
  return NULL;
}

static double time_of(const cJSON *v) {
  double t;
  if (cJSON_IsNumber(v)) return clk_from_number(v->valuedouble);
  if (cJSON_IsString(v) && clk_parse(v->valuestring, strlen(v->valuestring), &t) == 0) return t;
  return -1;
}

static double event_time(const cJSON *f[F_COUNT], const char *log_type) {
  static const int common[] = {F_TIME, F_TIMESTAMP, F_AT_TIMESTAMP};
  double t = -1;
  if (log_type && strcmp(log_type, LT_CLOUDTRAIL) == 0) t = time_of(f[F_EVENT_TIME]);
  else if (log_type && strcmp(log_type, LT_OKTA) == 0) t = time_of(f[F_PUBLISHED]);
  else if (log_type && strcmp(log_type, LT_GITHUB) == 0) {
    t = time_of(f[F_AT_TIMESTAMP]);
    if (t < 0) t = time_of(f[F_CREATED_AT]);
  }
  for (size_t i = 0; t < 0 && i < sizeof common / sizeof *common; i++) t = time_of(f[common[i]]);
  return t;
}

const char *lt_classify(const cJSON *e) {
  const cJSON *f[F_COUNT];
  if (!cJSON_IsObject(e)) return NULL;
  scan(e, f);
  return classify(f);
}

double lt_event_time(const cJSON *e, const char *log_type) {
  const cJSON *f[F_COUNT];
  if (!cJSON_IsObject(e)) return -1;
  scan(e, f);
  return event_time(f, log_type);
}

const char *lt_inspect(const cJSON *e, const char *log_type, double *time) {
  const cJSON *f[F_COUNT];
  *time = -1;
  if (!cJSON_IsObject(e)) return NULL;
  scan(e, f);
  if (!log_type) log_type = classify(f);
  *time = event_time(f, log_type);
  return log_type;
}

void lt_each_record(const cJSON *doc, void (*fn)(const cJSON *record, void *ud), void *ud) {
  const cJSON *f[F_COUNT];
  if (cJSON_IsArray(doc)) {
    for (const cJSON *c = doc->child; c; c = c->next) fn(c, ud);
    return;
  }
  if (!cJSON_IsObject(doc)) {
    fn(doc, ud);
    return;
  }
  scan(doc, f);
  if (cJSON_IsArray(f[F_RECORDS]) && !f[F_EVENT_NAME]) {
    for (const cJSON *c = f[F_RECORDS]->child; c; c = c->next) fn(c, ud);
  } else if (cJSON_IsObject(f[F_DETAIL]) && f[F_DETAIL_TYPE]) {
    fn(f[F_DETAIL], ud);
  } else {
    fn(doc, ud);
  }
}

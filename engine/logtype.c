/* logtype.c — classification by shape and event time per log type.
 * SPDX-License-Identifier: MIT
 */
#include "logtype.h"

#include <string.h>

#include "clock.h"

static const cJSON *field(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

const char *lt_classify(const cJSON *e) {
  if (!cJSON_IsObject(e)) return NULL;
  /* Panther-enriched records say what they are. */
  const cJSON *p = field(e, "p_log_type");
  if (cJSON_IsString(p)) {
    if (strcmp(p->valuestring, LT_CLOUDTRAIL) == 0) return LT_CLOUDTRAIL;
    if (strcmp(p->valuestring, LT_OKTA) == 0) return LT_OKTA;
    if (strcmp(p->valuestring, LT_GITHUB) == 0) return LT_GITHUB;
  }
  if (cJSON_IsString(field(e, "eventSource")) && cJSON_IsString(field(e, "eventName")) &&
      (field(e, "eventVersion") || field(e, "eventTime") || field(e, "awsRegion")))
    return LT_CLOUDTRAIL;
  if (cJSON_IsString(field(e, "eventType")) && cJSON_IsObject(field(e, "actor")) &&
      field(e, "published"))
    return LT_OKTA;
  const cJSON *action = field(e, "action");
  if (cJSON_IsString(action) && field(e, "actor") &&
      (field(e, "created_at") || field(e, "@timestamp") || strchr(action->valuestring, '.')))
    return LT_GITHUB;
  return NULL;
}

static double time_of(const cJSON *v) {
  double t;
  if (cJSON_IsNumber(v)) return clk_from_number(v->valuedouble);
  if (cJSON_IsString(v) && clk_parse(v->valuestring, strlen(v->valuestring), &t) == 0) return t;
  return -1;
}

double lt_event_time(const cJSON *e, const char *log_type) {
  static const char *const common[] = {"time", "timestamp", "@timestamp", NULL};
  const char *primary = NULL;
  if (!cJSON_IsObject(e)) return -1;
  if (log_type) {
    if (strcmp(log_type, LT_CLOUDTRAIL) == 0) primary = "eventTime";
    else if (strcmp(log_type, LT_OKTA) == 0) primary = "published";
    else if (strcmp(log_type, LT_GITHUB) == 0) primary = "@timestamp";
  }
  if (primary) {
    double t = time_of(field(e, primary));
    if (t >= 0) return t;
    if (strcmp(primary, "@timestamp") == 0 && (t = time_of(field(e, "created_at"))) >= 0)
      return t;
  }
  for (int i = 0; common[i]; i++) {
    double t = time_of(field(e, common[i]));
    if (t >= 0) return t;
  }
  return -1;
}

void lt_each_record(const cJSON *doc, void (*fn)(const cJSON *record, void *ud), void *ud) {
  const cJSON *inner;
  if (cJSON_IsArray(doc)) {
    for (const cJSON *c = doc->child; c; c = c->next) fn(c, ud);
  } else if (cJSON_IsObject(doc) && cJSON_IsArray(inner = field(doc, "Records")) &&
             !field(doc, "eventName")) {
    for (const cJSON *c = inner->child; c; c = c->next) fn(c, ud);
  } else if (cJSON_IsObject(doc) && cJSON_IsObject(inner = field(doc, "detail")) &&
             field(doc, "detail-type")) {
    fn(inner, ud);
  } else {
    fn(doc, ud);
  }
}

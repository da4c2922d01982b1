/* logtype.h — knowing events by their shape: the bundled log types, their time fields,
 * and the envelopes records arrive in (CloudTrail's {"Records": [...]}, JSON arrays).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_LOGTYPE_H
#define LP0_LOGTYPE_H

#include <cjson/cJSON.h>

#define LT_CLOUDTRAIL "AWS.CloudTrail"
#define LT_OKTA "Okta.SystemLog"
#define LT_GITHUB "GitHub.Audit"

/* The log type of an event: its p_log_type when that names a bundled type, else what its shape says, or NULL when it is none of the bundled ones.
 * CloudTrail: eventVersion/eventSource/eventName; Okta: eventType+actor+published;
 * GitHub audit: action+actor+(created_at or @timestamp). */
const char *lt_classify(const cJSON *event);

/* The event's time in epoch seconds from its log type's time field (falling back to
 * common names: time, timestamp, @timestamp), or -1 when it has none or it cannot be
 * parsed. */
double lt_event_time(const cJSON *event, const char *log_type);

/* Both of the above in one pass: returns log_type when given (else the classified type, or
 * NULL) and stores the event time (or -1) in *time. */
const char *lt_inspect(const cJSON *event, const char *log_type, double *time);

/* Calls fn for each record of a parsed document: the items of a top-level array, the
 * Records of a CloudTrail delivery file, the detail of an EventBridge envelope, or the
 * document itself. Items that are not objects are passed as they are (fn decides). */
void lt_each_record(const cJSON *doc, void (*fn)(const cJSON *record, void *ud), void *ud);

#endif

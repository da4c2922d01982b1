/* alert.c — turning a closed dedup window into the alert record.
 *
 * Key order is fixed (cJSON keeps insertion order), so the same input always gives the
 * same bytes: replay output can be diffed and checked into tests.
 * SPDX-License-Identifier: MIT
 */
#include "alert.h"

#include <string.h>

#include "clock.h"

static void add_string(cJSON *o, const char *k, const char *v) {
  if (v) cJSON_AddStringToObject(o, k, v);
}

static void add_time(cJSON *o, const char *k, double t) {
  char buf[48];
  cJSON_AddStringToObject(o, k, clk_format(t, buf, sizeof buf));
}

/* Adds parsed JSON text, or the text itself as a string if it does not parse. */
static void add_json(cJSON *o, const char *k, const char *text) {
  if (!text) return;
  cJSON *v = cJSON_Parse(text);
  if (!v || !cJSON_AddItemToObject(o, k, v)) {
    cJSON_Delete(v);
    cJSON_AddStringToObject(o, k, text);
  }
}

static void add_copy(cJSON *o, const char *k, const cJSON *v) {
  if (!v) return;
  cJSON *c = cJSON_Duplicate(v, 1);
  if (c && !cJSON_AddItemToObject(o, k, c)) cJSON_Delete(c);
}

cJSON *alert_build(const struct dedup_window *w, const struct det *d) {
  const struct det_match *m = w->first;
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  add_string(o, "detection", d->id);
  add_string(o, "title", m->title);
  add_string(o, "severity", det_sev_name(m->severity));
  add_string(o, "dedup", m->dedup);
  add_string(o, "log_type", m->log_type);
  add_time(o, "first_seen", w->first_seen);
  add_time(o, "last_seen", w->last_seen);
  cJSON_AddNumberToObject(o, "count", (double)w->count);
  if (w->use_unique) cJSON_AddNumberToObject(o, "distinct", (double)w->distinct);
  add_json(o, "context", m->context);
  add_string(o, "description", m->description);
  add_string(o, "runbook", m->runbook);
  add_string(o, "reference", m->reference);
  add_copy(o, "tags", d->tags);
  add_copy(o, "reports", d->reports);
  add_json(o, "destinations", m->destinations);
  add_json(o, "event", m->event);
  return o;
}

/* correlate.c — sequences, beacons and entity risk on event time (see correlate.h).
 *
 * Groups live in one hash map keyed "<detection index>\x1f<group>" ("R\x1f<entity>" for
 * the risk of an entity, shared by every risk aggregator). A group holds items (one per
 * match it saw: time, sequence number, the detection, the event text) in time order:
 * per step for a sequence, one list for a beacon or an entity.
 *
 * Sequence: when a match of the last step arrives, the steps are matched backwards,
 * greedily taking the latest `min` items of each step that come before the items chosen
 * for the next step (time, then sequence number). Taking the latest is what keeps the
 * span shortest, so if any choice fits inside within_minutes this one does. A completed
 * sequence consumes its items.
 * Beacon: the intervals between a group's consecutive events inside the window; the
 * group beacons when there are at least min_events events and the coefficient of
 * variation of the intervals (standard deviation / mean) is at most max_jitter. One
 * alert per group per window.
 * Risk: each contribution carries a score and the MITRE tactics of its detection's
 * `reports`; an aggregator fires when the sum of scores (or the number of distinct
 * tactics) inside its window reaches its limit, then not again for that entity until
 * the window has passed.
 * SPDX-License-Identifier: MIT
 */
#include "correlate.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"

#define COR_MAX_ITEMS 4096   /* events kept per beacon or entity */
#define COR_STEP_SLACK 8     /* a step keeps min + this many items */
#define COR_EVENTS_SHOWN 10  /* events per step in an alert's context */
#define COR_SWEEP_EVERY 60.0 /* seconds of event time between expiry sweeps */

struct cor_item {
  double t;
  unsigned long long seq;
  int det;     /* the detection that matched */
  double score;
  char *event; /* JSON text, or NULL (beacons keep times only) */
};

struct cor_fired {
  int det;
  double until;
};

struct cor_group {
  int det;       /* the pattern's detection; -1: an entity's risk */
  char *group;   /* the group value or entity */
  char *key;     /* map key */
  double last;   /* event time of the latest item (expiry, eviction) */
  struct vec *steps; /* sequence: nsteps lists of struct cor_item * */
  size_t nsteps;
  struct vec items;  /* beacon, risk: struct cor_item * in time order */
  struct cor_fired *fired; /* no new alert of det before until */
  size_t nfired;
  bool dirty;
};

struct cor_count {
  size_t groups;
  unsigned long long evictions;
};

struct cor {
  struct hmap groups; /* key -> struct cor_group * */
  bool track_dirty;   /* the caller saves (cor_save): keep the dirty list */
  struct vec dirty;   /* struct cor_group * changed since the last save */
  struct vec dropped; /* "det id\x1fgroup" of groups dropped since the last save */
  struct cor_count *counts; /* by detection index (risk: not counted per detection) */
  size_t ncounts;
  double swept;
};

/* {===================== groups ===================== */

static void item_free(struct cor_item *it) {
  if (!it) return;
  free(it->event);
  free(it);
}

static void items_clear(struct vec *v) {
  for (size_t i = 0; i < v->len; i++) item_free(v->items[i]);
  v->len = 0;
}

static void group_free(struct cor_group *g) {
  for (size_t i = 0; i < g->nsteps; i++) {
    items_clear(&g->steps[i]);
    vec_free(&g->steps[i]);
  }
  free(g->steps);
  items_clear(&g->items);
  vec_free(&g->items);
  free(g->fired);
  free(g->group), free(g->key);
  free(g);
}

struct cor *cor_new(bool track_dirty) {
  struct cor *c = xcalloc(1, sizeof *c);
  c->track_dirty = track_dirty;
  hmap_init(&c->groups);
  c->swept = -1;
  return c;
}

void cor_free(struct cor *c) {
  if (!c) return;
  for (size_t i = 0; i < c->groups.cap; i++)
    if (c->groups.slots[i].key) group_free(c->groups.slots[i].value);
  hmap_free(&c->groups);
  for (size_t i = 0; i < c->dropped.len; i++) free(c->dropped.items[i]);
  vec_free(&c->dropped);
  vec_free(&c->dirty);
  free(c->counts);
  free(c);
}

static struct cor_count *count_of(struct cor *c, int det) {
  if (det < 0) return NULL;
  if ((size_t)det >= c->ncounts) {
    size_t n = (size_t)det + 16;
    c->counts = xrealloc(c->counts, n * sizeof *c->counts);
    memset(c->counts + c->ncounts, 0, (n - c->ncounts) * sizeof *c->counts);
    c->ncounts = n;
  }
  return &c->counts[det];
}

static const char *det_id(const struct det_set *set, int det) {
  return det < 0 ? "" : ((const struct det *)set->dets.items[det])->id;
}

static void mark_dirty(struct cor *c, struct cor_group *g) {
  if (g->dirty || !c->track_dirty) return;
  g->dirty = true;
  vec_push(&c->dirty, g);
}

static void drop_group(struct cor *c, const struct det_set *set, struct cor_group *g) {
  if (g->dirty)
    for (size_t i = 0; i < c->dirty.len; i++)
      if (c->dirty.items[i] == g) {
        c->dirty.items[i] = c->dirty.items[--c->dirty.len];
        break;
      }
  hmap_del(&c->groups, g->key, strlen(g->key));
  struct cor_count *n = count_of(c, g->det);
  if (n && n->groups) n->groups--;
  vec_push(&c->dropped, xasprintf("%s\x1f%s", det_id(set, g->det), g->group));
  group_free(g);
}

static int by_last(const void *x, const void *y) {
  const struct cor_group *a = *(const struct cor_group *const *)x;
  const struct cor_group *b = *(const struct cor_group *const *)y;
  return (a->last > b->last) - (a->last < b->last);
}

/* Det is at max_groups: evicts its least recently updated tenth (at least one), so that
 * under a flood of new groups the scan is paid once per many evictions. */
static void evict(struct cor *c, const struct det_set *set, int det, size_t max) {
  struct vec mine = {0};
  for (size_t i = 0; i < c->groups.cap; i++) {
    struct cor_group *g = c->groups.slots[i].key ? c->groups.slots[i].value : NULL;
    if (g && g->det == det) vec_push(&mine, g);
  }
  if (mine.len > 1) qsort(mine.items, mine.len, sizeof *mine.items, by_last);
  size_t n = max / 10 ? max / 10 : 1;
  for (size_t i = 0; i < n && i < mine.len; i++) {
    drop_group(c, set, mine.items[i]);
    count_of(c, det)->evictions++;
  }
  vec_free(&mine);
}

static struct cor_group *get_group(struct cor *c, const struct det_set *set, int det,
                                   const char *group, double t) {
  char *key = det < 0 ? xasprintf("R\x1f%s", group) : xasprintf("%d\x1f%s", det, group);
  struct cor_group *g = hmap_get(&c->groups, key, strlen(key));
  if (g) {
    free(key);
    return g;
  }
  const struct det *d = det < 0 ? NULL : set->dets.items[det];
  struct cor_count *n = count_of(c, det);
  if (d && n->groups >= d->corr->max_groups) evict(c, set, det, d->corr->max_groups);
  g = xcalloc(1, sizeof *g);
  g->det = det;
  g->group = xstrdup(group);
  g->key = key;
  g->last = t;
  if (d && d->corr->kind == DET_CORR_SEQUENCE) {
    g->nsteps = d->corr->nsteps;
    g->steps = xcalloc(g->nsteps, sizeof *g->steps);
  }
  *hmap_put(&c->groups, key, strlen(key)) = g;
  if (n) n->groups++;
  return g;
}

static bool item_before(const struct cor_item *a, double t, unsigned long long seq) {
  return a->t < t || (a->t == t && a->seq < seq);
}

/* Inserts it in time order (events arrive nearly sorted: search from the end). */
static void insert_item(struct vec *v, struct cor_item *it) {
  vec_push(v, it);
  size_t i = v->len - 1;
  while (i > 0 && !item_before(v->items[i - 1], it->t, it->seq)) {
    v->items[i] = v->items[i - 1];
    i--;
  }
  v->items[i] = it;
}

/* Drops items older than t - window, and the oldest beyond cap. */
static void prune(struct vec *v, double horizon, size_t cap) {
  size_t drop = 0;
  while (drop < v->len && ((struct cor_item *)v->items[drop])->t < horizon) drop++;
  if (v->len - drop > cap) drop = v->len - cap;
  if (drop == 0) return; /* also: an empty list has no items array to move */
  for (size_t i = 0; i < drop; i++) item_free(v->items[i]);
  memmove(v->items, v->items + drop, (v->len - drop) * sizeof *v->items);
  v->len -= drop;
}

static double fired_until(const struct cor_group *g, int det) {
  for (size_t i = 0; i < g->nfired; i++)
    if (g->fired[i].det == det) return g->fired[i].until;
  return -INFINITY;
}

static void set_fired(struct cor_group *g, int det, double until) {
  for (size_t i = 0; i < g->nfired; i++)
    if (g->fired[i].det == det) {
      g->fired[i].until = until;
      return;
    }
  g->fired = xrealloc(g->fired, (g->nfired + 1) * sizeof *g->fired);
  g->fired[g->nfired].det = det;
  g->fired[g->nfired++].until = until;
}

static struct cor_item *new_item(const struct det_match *m, bool with_event, double score) {
  struct cor_item *it = xcalloc(1, sizeof *it);
  it->t = m->time;
  it->seq = m->seq;
  it->det = m->det;
  it->score = score;
  it->event = with_event && m->event ? xstrdup(m->event) : NULL;
  return it;
}

/* }============================================================ */

/* {===================== alerts ===================== */

/* The alert of pattern d for group: a match of d, on the triggering match's time. */
static struct det_match *pattern_alert(const struct det *d, const char *group,
                                       const struct det_match *trigger, cJSON *context) {
  struct det_match *a = xcalloc(1, sizeof *a);
  a->det = d->index;
  a->severity = d->severity;
  a->title = xasprintf("%s: %s", d->display_name ? d->display_name : d->id, group);
  a->dedup = xstrdup(group);
  a->context = cJSON_PrintUnformatted(context);
  cJSON_Delete(context);
  if (!a->context) a->context = xstrdup("{}");
  if (d->description) a->description = xstrdup(d->description);
  if (d->runbook) a->runbook = xstrdup(d->runbook);
  if (d->reference) a->reference = xstrdup(d->reference);
  if (d->destinations) a->destinations = json_print(d->destinations);
  a->time = trigger->time;
  a->seq = trigger->seq;
  a->event = trigger->event ? xstrdup(trigger->event) : xstrdup("{}");
  a->log_type = trigger->log_type;
  return a;
}

static void add_time(cJSON *o, const char *name, double t) {
  char buf[40];
  cJSON_AddStringToObject(o, name, clk_format(t, buf, sizeof buf));
}

/* The event text as a JSON value (null when absent or unreadable). */
static cJSON *event_json(const char *text) {
  cJSON *e = text ? json_parse(text, strlen(text), NULL) : NULL;
  return e ? e : cJSON_CreateNull();
}

/* }============================================================ */

/* {===================== the patterns ===================== */

static void sequence_observe(struct cor *c, const struct det_set *set, const struct det *d,
                             const char *group, const struct det_match *m, struct vec *alerts) {
  const struct det_corr *p = d->corr;
  struct cor_group *g = get_group(c, set, d->index, group, m->time);
  if (m->time > g->last) g->last = m->time;
  double horizon = g->last - p->window;
  bool last_step = false;
  for (size_t k = 0; k < p->nsteps; k++) {
    if (p->steps[k].index != m->det) continue;
    insert_item(&g->steps[k], new_item(m, true, 0));
    if (k + 1 == p->nsteps) last_step = true;
  }
  for (size_t k = 0; k < p->nsteps; k++)
    prune(&g->steps[k], horizon, (size_t)p->steps[k].min + COR_STEP_SLACK);
  mark_dirty(c, g);
  if (!last_step) return;
  /* Backwards, the latest `min` items of each step before the next step's choice:
   * step k's chosen items are [lo[k], hi[k]) of its list. */
  size_t *lo = xcalloc(2 * p->nsteps, sizeof *lo), *hi = lo + p->nsteps;
  double bt = INFINITY;
  unsigned long long bseq = ~0ULL;
  bool ok = true;
  for (size_t k = p->nsteps; ok && k-- > 0;) {
    struct vec *v = &g->steps[k];
    size_t end = v->len; /* the last step: up to the current match */
    if (k + 1 < p->nsteps)
      while (end > 0 && !item_before(v->items[end - 1], bt, bseq)) end--;
    if (end < (size_t)p->steps[k].min) {
      ok = false;
      break;
    }
    hi[k] = end;
    lo[k] = end - (size_t)p->steps[k].min;
    const struct cor_item *first = v->items[lo[k]];
    bt = first->t, bseq = first->seq;
  }
  if (ok && m->time - bt <= p->window) {
    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddStringToObject(ctx, "group", group);
    cJSON_AddNumberToObject(ctx, "within_minutes", p->window / 60.0);
    cJSON *steps = cJSON_AddArrayToObject(ctx, "steps");
    for (size_t k = 0; k < p->nsteps; k++) {
      struct vec *v = &g->steps[k];
      cJSON *s = cJSON_CreateObject();
      cJSON_AddStringToObject(s, "detection", p->steps[k].detection);
      cJSON_AddNumberToObject(s, "count", (double)(hi[k] - lo[k]));
      add_time(s, "first_seen", ((struct cor_item *)v->items[lo[k]])->t);
      add_time(s, "last_seen", ((struct cor_item *)v->items[hi[k] - 1])->t);
      cJSON *evs = cJSON_AddArrayToObject(s, "events");
      for (size_t i = hi[k] - lo[k] > COR_EVENTS_SHOWN ? hi[k] - COR_EVENTS_SHOWN : lo[k]; i < hi[k]; i++)
        cJSON_AddItemToArray(evs, event_json(((struct cor_item *)v->items[i])->event));
      cJSON_AddItemToArray(steps, s);
    }
    vec_push(alerts, pattern_alert(d, group, m, ctx));
    for (size_t k = 0; k < p->nsteps; k++) items_clear(&g->steps[k]); /* consumed */
  }
  free(lo);
}

static void beacon_observe(struct cor *c, const struct det_set *set, const struct det *d,
                           const char *group, const struct det_match *m, struct vec *alerts) {
  const struct det_corr *p = d->corr;
  struct cor_group *g = get_group(c, set, d->index, group, m->time);
  if (m->time > g->last) g->last = m->time;
  insert_item(&g->items, new_item(m, false, 0));
  prune(&g->items, g->last - p->window, COR_MAX_ITEMS);
  mark_dirty(c, g);
  size_t n = g->items.len;
  if (n < (size_t)p->min_events || m->time < fired_until(g, d->index)) return;
  double sum = 0, sq = 0;
  for (size_t i = 1; i < n; i++) {
    double dt = ((struct cor_item *)g->items.items[i])->t - ((struct cor_item *)g->items.items[i - 1])->t;
    sum += dt;
    sq += dt * dt;
  }
  double k = (double)(n - 1), mean = sum / k;
  double var = sq / k - mean * mean, sd = var > 0 ? sqrt(var) : 0;
  if (!(mean > 0) || sd / mean > p->max_jitter) return;
  cJSON *ctx = cJSON_CreateObject();
  cJSON_AddStringToObject(ctx, "group", group);
  cJSON_AddNumberToObject(ctx, "events", (double)n);
  cJSON_AddNumberToObject(ctx, "mean_interval_seconds", round(mean * 1000) / 1000);
  cJSON_AddNumberToObject(ctx, "jitter", round(sd / mean * 10000) / 10000);
  cJSON_AddNumberToObject(ctx, "max_jitter", p->max_jitter);
  add_time(ctx, "first_seen", ((struct cor_item *)g->items.items[0])->t);
  add_time(ctx, "last_seen", ((struct cor_item *)g->items.items[n - 1])->t);
  vec_push(alerts, pattern_alert(d, group, m, ctx));
  set_fired(g, d->index, m->time + p->window);
}

/* The MITRE tactics ("TA0001") of a detection's reports, added to set (a JSON array). */
static void add_tactics(const struct det *d, cJSON *set) {
  const cJSON *list = d->reports ? cJSON_GetObjectItemCaseSensitive(d->reports, "MITRE ATT&CK") : NULL;
  const cJSON *r;
  cJSON_ArrayForEach(r, list) {
    if (!cJSON_IsString(r)) continue;
    char tactic[16];
    size_t n = strcspn(r->valuestring, ":");
    if (n == 0 || n >= sizeof tactic) continue;
    memcpy(tactic, r->valuestring, n);
    tactic[n] = '\0';
    bool seen = false;
    const cJSON *s;
    cJSON_ArrayForEach(s, set) seen = seen || strcmp(s->valuestring, tactic) == 0;
    if (!seen) cJSON_AddItemToArray(set, cJSON_CreateString(tactic));
  }
}

static void risk_observe(struct cor *c, const struct det_set *set, const struct det_match *m,
                         struct vec *alerts) {
  const struct det *src = set->dets.items[m->det];
  struct cor_group *g = get_group(c, set, -1, m->entity, m->time);
  if (m->time > g->last) g->last = m->time;
  insert_item(&g->items, new_item(m, true, src->risk->score));
  prune(&g->items, g->last - (set->risk_window > 0 ? set->risk_window : 86400.0), COR_MAX_ITEMS);
  mark_dirty(c, g);
  for (size_t i = 0; i < set->nrisk_aggs; i++) {
    const struct det *a = set->dets.items[set->risk_aggs[i]];
    if (!a->enabled || m->time < fired_until(g, a->index)) continue;
    double from = m->time - a->corr->window, score = 0;
    cJSON *tactics = cJSON_CreateArray();
    size_t first = g->items.len;
    for (size_t k = 0; k < g->items.len; k++) {
      const struct cor_item *it = g->items.items[k];
      if (it->t < from) continue;
      if (first == g->items.len) first = k;
      score += it->score;
      add_tactics(set->dets.items[it->det], tactics);
    }
    bool fire = a->corr->kind == DET_CORR_RISK_SUM
                    ? score >= a->corr->limit
                    : cJSON_GetArraySize(tactics) >= a->corr->min_tactics;
    if (!fire) {
      cJSON_Delete(tactics);
      continue;
    }
    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddStringToObject(ctx, "entity", m->entity);
    cJSON_AddNumberToObject(ctx, "score", score);
    if (a->corr->kind == DET_CORR_RISK_SUM) cJSON_AddNumberToObject(ctx, "limit", a->corr->limit);
    else cJSON_AddNumberToObject(ctx, "min_tactics", a->corr->min_tactics);
    cJSON_AddNumberToObject(ctx, "window_hours", a->corr->window / 3600.0);
    cJSON_AddItemToObject(ctx, "tactics", tactics);
    cJSON *contrib = cJSON_AddArrayToObject(ctx, "contributions");
    for (size_t k = first; k < g->items.len; k++) {
      const struct cor_item *it = g->items.items[k];
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "detection", det_id(set, it->det));
      cJSON_AddNumberToObject(o, "score", it->score);
      add_time(o, "time", it->t);
      cJSON_AddItemToObject(o, "event", event_json(it->event));
      cJSON_AddItemToArray(contrib, o);
    }
    vec_push(alerts, pattern_alert(a, m->entity, m, ctx));
    set_fired(g, a->index, m->time + a->corr->window);
  }
}

void cor_observe(struct cor *c, const struct det_set *set, const struct det_match *m,
                 struct vec *alerts) {
  for (size_t i = 0; i < m->nkeys; i++) {
    const struct det *d = set->dets.items[m->keys[i].det];
    if (!d->corr || !d->enabled) continue;
    if (d->corr->kind == DET_CORR_SEQUENCE) sequence_observe(c, set, d, m->keys[i].key, m, alerts);
    else if (d->corr->kind == DET_CORR_BEACON) beacon_observe(c, set, d, m->keys[i].key, m, alerts);
  }
  if (m->entity && ((const struct det *)set->dets.items[m->det])->risk) risk_observe(c, set, m, alerts);
}

void cor_advance(struct cor *c, const struct det_set *set, double t) {
  if (c->swept >= 0 && t - c->swept < COR_SWEEP_EVERY) return;
  c->swept = t;
  double widest = set->risk_window > 86400.0 ? set->risk_window : 86400.0;
  struct vec expired = {0};
  for (size_t i = 0; i < c->groups.cap; i++) {
    struct cor_group *g = c->groups.slots[i].key ? c->groups.slots[i].value : NULL;
    if (!g) continue;
    double window = g->det < 0 ? widest : ((const struct det *)set->dets.items[g->det])->corr->window;
    double until = g->last + window;
    for (size_t k = 0; k < g->nfired; k++) until = g->fired[k].until > until ? g->fired[k].until : until;
    if (until < t) vec_push(&expired, g);
  }
  for (size_t i = 0; i < expired.len; i++) drop_group(c, set, expired.items[i]);
  vec_free(&expired);
}

size_t cor_groups(const struct cor *c) { return c->groups.len; }

void cor_stats(const struct cor *c, int det, size_t *groups, unsigned long long *evictions) {
  bool in = det >= 0 && (size_t)det < c->ncounts;
  *groups = in ? c->counts[det].groups : 0;
  *evictions = in ? c->counts[det].evictions : 0;
}

/* }============================================================ */

/* {===================== persistence ===================== */

static cJSON *items_json(const struct vec *v, const struct det_set *set) {
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; i < v->len; i++) {
    const struct cor_item *it = v->items[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t", it->t);
    cJSON_AddNumberToObject(o, "seq", (double)it->seq);
    cJSON_AddStringToObject(o, "det_id", det_id(set, it->det)); /* ids: indexes change */
    if (it->score) cJSON_AddNumberToObject(o, "score", it->score);
    if (it->event) cJSON_AddStringToObject(o, "event", it->event);
    cJSON_AddItemToArray(a, o);
  }
  return a;
}

static char *group_json(const struct cor_group *g, const struct det_set *set) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "last", g->last);
  if (g->nsteps) {
    cJSON *steps = cJSON_AddArrayToObject(o, "steps");
    for (size_t k = 0; k < g->nsteps; k++) cJSON_AddItemToArray(steps, items_json(&g->steps[k], set));
  } else {
    cJSON_AddItemToObject(o, "items", items_json(&g->items, set));
  }
  cJSON *fired = cJSON_AddObjectToObject(o, "fired");
  for (size_t i = 0; i < g->nfired; i++)
    cJSON_AddNumberToObject(fired, det_id(set, g->fired[i].det), g->fired[i].until);
  char *text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  return text;
}

int cor_save(struct cor *c, const struct det_set *set, bool all, cor_save_cb cb, void *ud) {
  int rc = 0;
  for (size_t i = 0; i < c->dropped.len; i++) {
    char *k = c->dropped.items[i], *sep = strchr(k, '\x1f');
    *sep = '\0';
    if (!rc) rc = cb(k, sep + 1, NULL, ud);
    free(k);
  }
  c->dropped.len = 0;
  if (all) { /* a reload: every group, dirty or not */
    for (size_t i = 0; !rc && i < c->groups.cap; i++) {
      struct cor_group *g = c->groups.slots[i].key ? c->groups.slots[i].value : NULL;
      if (!g) continue;
      char *state = group_json(g, set);
      rc = cb(det_id(set, g->det), g->group, state, ud);
      cJSON_free(state);
    }
  } else {
    size_t keep = 0; /* groups whose write failed stay dirty */
    for (size_t i = 0; i < c->dirty.len; i++) {
      struct cor_group *g = c->dirty.items[i];
      char *state = rc ? NULL : group_json(g, set);
      if (!rc) rc = cb(det_id(set, g->det), g->group, state, ud);
      cJSON_free(state);
      if (rc) c->dirty.items[keep++] = g;
      else g->dirty = false;
    }
    c->dirty.len = keep;
  }
  return rc;
}

/* Reads saved items; their detections are found by id. */
static int items_from(const cJSON *a, const struct det_set *set, struct vec *out) {
  const cJSON *o;
  cJSON_ArrayForEach(o, a) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "t");
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(o, "det_id");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
    const cJSON *score = cJSON_GetObjectItemCaseSensitive(o, "score");
    if (!cJSON_IsNumber(t) || !cJSON_IsNumber(seq) || !cJSON_IsString(det)) return -1;
    const struct det *d = hmap_get(&set->ids, det->valuestring, strlen(det->valuestring));
    if (!d) continue; /* its detection is gone: the item goes too */
    struct cor_item *it = xcalloc(1, sizeof *it);
    it->t = t->valuedouble;
    it->seq = (unsigned long long)seq->valuedouble;
    it->det = d->index;
    it->score = cJSON_IsNumber(score) ? score->valuedouble : 0;
    it->event = cJSON_IsString(ev) ? xstrdup(ev->valuestring) : NULL;
    vec_push(out, it);
  }
  return 0;
}

int cor_restore(struct cor *c, const struct det_set *set, const char *id, const char *group,
                const char *state) {
  const struct det *d = *id ? hmap_get(&set->ids, id, strlen(id)) : NULL;
  if (*id && (!d || !d->corr || (d->corr->kind != DET_CORR_SEQUENCE && d->corr->kind != DET_CORR_BEACON)))
    return -1;
  cJSON *o = json_parse(state, strlen(state), NULL);
  const cJSON *last = cJSON_GetObjectItemCaseSensitive(o, "last");
  const cJSON *steps = cJSON_GetObjectItemCaseSensitive(o, "steps");
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(o, "items");
  if (!cJSON_IsNumber(last) || (d && d->corr->kind == DET_CORR_SEQUENCE
                                    ? cJSON_GetArraySize(steps) != (int)d->corr->nsteps
                                    : !cJSON_IsArray(items))) {
    cJSON_Delete(o);
    return -1;
  }
  struct cor_group *g = get_group(c, set, d ? d->index : -1, group, last->valuedouble);
  g->last = last->valuedouble;
  int rc = 0;
  if (d && d->corr->kind == DET_CORR_SEQUENCE) {
    for (size_t k = 0; !rc && k < g->nsteps; k++)
      rc = items_from(cJSON_GetArrayItem(steps, (int)k), set, &g->steps[k]);
  } else {
    rc = items_from(items, set, &g->items);
  }
  const cJSON *f;
  cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(o, "fired")) {
    const struct det *a = hmap_get(&set->ids, f->string, strlen(f->string));
    if (a && cJSON_IsNumber(f)) set_fired(g, a->index, f->valuedouble);
  }
  g->dirty = false;
  cJSON_Delete(o);
  return rc;
}

/* }============================================================ */

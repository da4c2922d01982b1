/* detect.c — loading detections, the prefilter index, and evaluation.
 *
 * The cost per event must not grow with detections that cannot match, so each `match`
 * prefilter is indexed on one of its fields: for every log type we keep, per field path,
 * a hash from scalar value to the detections waiting for it. An event costs one path
 * walk and one hash probe per distinct indexed path, plus the detections without a
 * prefilter. Only the detections that survive run Lua, and the event proxy is created
 * only then.
 * SPDX-License-Identifier: MIT
 */
#include "detect.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "clock.h"
#include "event_lua.h"
#include "json_lua.h"
#include "lookup.h"
#include "lookup_lua.h"
#include "sandbox.h"

#define DEDUP_MAX 1000

static const char *const sev_names[SEV_COUNT] = {"INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"};

int det_sev_parse(const char *s) {
  for (int i = 0; i < SEV_COUNT; i++)
    if (strcasecmp(s, sev_names[i]) == 0) return i;
  return -1;
}

const char *det_sev_name(int sev) { return sev >= 0 && sev < SEV_COUNT ? sev_names[sev] : "?"; }

/* {===================== index ===================== */

#define ilist det_ilist

static void ilist_push(struct ilist *l, int x) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 4;
    l->v = xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n++] = x;
}

struct det_lt_path {
  struct json_path path;
  struct hmap map; /* scalar key -> struct ilist * */
};

struct det_lt_index {
  char *name;
  struct ilist always; /* detections without an indexable prefilter */
  struct det_lt_path *paths;
  size_t npaths;
};

static struct det_lt_index *lt_get(struct det_set *s, const char *name) {
  void **slot = hmap_put(&s->logtypes, name, strlen(name));
  if (!*slot) {
    struct det_lt_index *lt = xcalloc(1, sizeof *lt);
    lt->name = xstrdup(name);
    *slot = lt;
  }
  return *slot;
}

static struct det_lt_path *lt_path(struct det_lt_index *lt, const char *path) {
  for (size_t i = 0; i < lt->npaths; i++)
    if (strcmp(lt->paths[i].path.text, path) == 0) return &lt->paths[i];
  lt->paths = xrealloc(lt->paths, (lt->npaths + 1) * sizeof *lt->paths);
  struct det_lt_path *p = &lt->paths[lt->npaths++];
  json_path_init(&p->path, path); /* validated at load */
  hmap_init(&p->map);
  return p;
}

static void lt_free(struct det_lt_index *lt) {
  for (size_t i = 0; i < lt->npaths; i++) {
    struct hmap *m = &lt->paths[i].map;
    for (size_t j = 0; j < m->cap; j++) {
      struct ilist *l = m->slots[j].key ? m->slots[j].value : NULL;
      if (l) free(l->v), free(l);
    }
    hmap_free(m);
    json_path_free(&lt->paths[i].path);
  }
  free(lt->paths);
  free(lt->always.v);
  free(lt->name);
  free(lt);
}

/* The field a detection is indexed on: the path most detections share, so the index has
 * few paths to walk per event; ties go to the first in name order. */
static const struct det_cond *pick_cond(const struct det_filter *f, struct hmap *path_counts) {
  const struct det_cond *best = NULL;
  size_t best_n = 0;
  for (size_t i = 0; f && i < f->nconds; i++) {
    const struct det_cond *c = &f->conds[i];
    size_t n = (size_t)(uintptr_t)hmap_get(path_counts, c->path.text, strlen(c->path.text));
    if (!best || n > best_n || (n == best_n && strcmp(c->path.text, best->path.text) < 0))
      best = c, best_n = n;
  }
  return best;
}

void det_set_index(struct det_set *s) {
  struct hmap counts;
  hmap_init(&counts);
  for (size_t i = 0; i < s->dets.len; i++) {
    struct det *d = s->dets.items[i];
    for (size_t f = 0; f < d->nfilters; f++) {
      for (size_t j = 0; j < d->filters[f].nconds; j++) {
        const char *path = d->filters[f].conds[j].path.text;
        void **slot = hmap_put(&counts, path, strlen(path));
        *slot = (void *)((uintptr_t)*slot + 1);
      }
    }
  }
  for (size_t i = 0; i < s->dets.len; i++) {
    struct det *d = s->dets.items[i];
    if (!d->enabled) continue;
    for (size_t t = 0; t < d->nlog_types; t++) {
      const struct det_cond *c = pick_cond(det_filter_for(d, d->log_types[t]), &counts);
      struct det_lt_index *lt = lt_get(s, d->log_types[t]);
      if (!c) {
        ilist_push(&lt->always, d->index);
        continue;
      }
      struct det_lt_path *p = lt_path(lt, c->path.text);
      for (size_t k = 0; k < c->values.cap; k++) {
        const struct hmap_entry *e = &c->values.slots[k];
        if (!e->key) continue;
        void **slot = hmap_put(&p->map, e->key, e->klen);
        if (!*slot) *slot = xcalloc(1, sizeof(struct ilist));
        ilist_push(*slot, d->index);
      }
    }
  }
  hmap_free(&counts);
}

const char *det_set_logtype(const struct det_set *s, const char *name) {
  struct det_lt_index *lt = hmap_get(&s->logtypes, name, strlen(name));
  return lt ? lt->name : NULL;
}

const struct det_filter *det_filter_for(const struct det *d, const char *log_type) {
  const struct det_filter *generic = NULL;
  for (size_t i = 0; i < d->nfilters; i++) {
    if (!d->filters[i].log_type) generic = &d->filters[i];
    else if (log_type && strcmp(d->filters[i].log_type, log_type) == 0) return &d->filters[i];
  }
  return generic;
}

bool det_prefilter(const struct det *d, const cJSON *event, const char *log_type) {
  const struct det_filter *f = det_filter_for(d, log_type);
  if (!f) return true;
  struct buf key;
  buf_init(&key);
  bool ok = true;
  for (size_t i = 0; ok && i < f->nconds; i++) {
    key.len = 0;
    const cJSON *v = json_path_get(event, &f->conds[i].path);
    ok = json_scalar_key(v, &key) && hmap_get(&f->conds[i].values, key.data, key.len);
  }
  buf_free(&key);
  return ok;
}

/* }============================================================ */

/* {===================== loading ===================== */

static void diag(struct det_set *s, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void diag(struct det_set *s, const char *file, int line, const char *fmt, ...) {
  struct det_diag *d = xcalloc(1, sizeof *d);
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  d->file = xstrdup(file);
  d->line = line;
  d->msg = xstrdup(msg);
  vec_push(&s->diags, d);
}

/* The line where a global is assigned or a function defined, for messages about it. */
static int find_line(const char *text, const char *name) {
  size_t n = strlen(name);
  int line = 1;
  for (const char *p = text; *p; line++) {
    const char *q = p;
    while (*q == ' ' || *q == '\t') q++;
    if (strncmp(q, "function ", 9) == 0) {
      q += 9;
      while (*q == ' ') q++;
    }
    if (strncmp(q, name, n) == 0 && (q[n] == ' ' || q[n] == '=' || q[n] == '(' || q[n] == '\t'))
      return line;
    p = strchr(p, '\n');
    if (!p) break;
    p++;
  }
  return 0;
}

static void det_free(struct det *d) {
  if (!d) return;
  free(d->id);
  free(d->file);
  for (size_t i = 0; i < d->nlog_types; i++) free(d->log_types[i]);
  free(d->log_types);
  free(d->display_name), free(d->description), free(d->runbook), free(d->reference);
  cJSON_Delete(d->tags), cJSON_Delete(d->reports), cJSON_Delete(d->destinations);
  for (size_t f = 0; f < d->nfilters; f++) {
    for (size_t i = 0; i < d->filters[f].nconds; i++) {
      json_path_free(&d->filters[f].conds[i].path);
      hmap_free(&d->filters[f].conds[i].values);
    }
    free(d->filters[f].conds);
    free(d->filters[f].log_type);
  }
  free(d->filters);
  if (d->corr) {
    for (size_t i = 0; i < d->corr->nsteps; i++) free(d->corr->steps[i].detection);
    free(d->corr->steps);
    json_path_free(&d->corr->group.path);
    free(d->corr);
  }
  if (d->risk) {
    json_path_free(&d->risk->entity.path);
    free(d->risk);
  }
  free(d->feeds);
  free(d);
}

/* Metadata readers: the env is at index 1 of the protected call below. */
struct loader {
  struct det_set *s;
  struct det *d;
  const char *file, *text;
  int problems;
};

static void problem(struct loader *ld, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct loader *ld, const char *field, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag(ld->s, ld->file, field ? find_line(ld->text, field) : 0, "%s", msg);
  ld->problems++;
}

static char *get_string(lua_State *L, struct loader *ld, const char *name, bool required) {
  int t = lua_getfield(L, 1, name);
  char *out = NULL;
  if (t == LUA_TSTRING)
    out = xstrdup(lua_tostring(L, -1));
  else if (t != LUA_TNIL)
    problem(ld, name, "'%s' must be a string, not a %s", name, lua_typename(L, t));
  else if (required)
    problem(ld, NULL, "missing required '%s'", name);
  lua_pop(L, 1);
  return out;
}

static bool get_bool(lua_State *L, struct loader *ld, const char *name, bool dflt) {
  int t = lua_getfield(L, 1, name);
  bool out = dflt;
  if (t == LUA_TBOOLEAN) out = lua_toboolean(L, -1);
  else if (t != LUA_TNIL) problem(ld, name, "'%s' must be true or false", name);
  lua_pop(L, 1);
  return out;
}

static int get_positive(lua_State *L, struct loader *ld, const char *name, int dflt) {
  int t = lua_getfield(L, 1, name), out = dflt;
  if (t != LUA_TNIL) {
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 1000000000)
      problem(ld, name, "'%s' must be a positive integer", name);
    else
      out = (int)lua_tointeger(L, -1);
  }
  lua_pop(L, 1);
  return out;
}

/* Reads a table global into JSON; strings_only demands an array of strings. */
static cJSON *get_json(lua_State *L, struct loader *ld, const char *name, bool strings_only) {
  int t = lua_getfield(L, 1, name);
  cJSON *out = NULL;
  if (t == LUA_TTABLE) {
    char err[256];
    out = json_lua_to_cjson(L, -1, err, sizeof err);
    if (!out) {
      problem(ld, name, "'%s': %s", name, err);
    } else if (strings_only) {
      bool ok = cJSON_IsArray(out) || (cJSON_IsObject(out) && !out->child);
      for (cJSON *c = out->child; ok && c; c = c->next) ok = cJSON_IsString(c);
      if (!ok) {
        problem(ld, name, "'%s' must be an array of strings", name);
        cJSON_Delete(out);
        out = NULL;
      } else if (cJSON_IsObject(out)) {
        cJSON_Delete(out); /* {} written for an empty list */
        out = cJSON_CreateArray();
      }
    }
  } else if (t != LUA_TNIL) {
    problem(ld, name, "'%s' must be a table, not a %s", name, lua_typename(L, t));
  }
  lua_pop(L, 1);
  return out;
}

static bool add_match_value(lua_State *L, struct det_cond *c, int idx) {
  struct buf key;
  buf_init(&key);
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    buf_putc(&key, 's');
    buf_puts(&key, lua_tostring(L, idx));
    break;
  case LUA_TNUMBER:
    buf_printf(&key, "n%.17g",
               lua_isinteger(L, idx) ? (double)lua_tointeger(L, idx) : lua_tonumber(L, idx));
    break;
  case LUA_TBOOLEAN: buf_putc(&key, lua_toboolean(L, idx) ? 't' : 'f'); break;
  default: buf_free(&key); return false;
  }
  *hmap_put(&c->values, key.data, key.len) = (void *)1;
  buf_free(&key);
  return true;
}

static struct det_filter *filter_get(struct det *d, const char *log_type) {
  for (size_t i = 0; i < d->nfilters; i++) {
    const char *lt = d->filters[i].log_type;
    if ((!lt && !log_type) || (lt && log_type && strcmp(lt, log_type) == 0)) return &d->filters[i];
  }
  d->filters = xrealloc(d->filters, (d->nfilters + 1) * sizeof *d->filters);
  struct det_filter *f = &d->filters[d->nfilters++];
  memset(f, 0, sizeof *f);
  f->log_type = log_type ? xstrdup(log_type) : NULL;
  return f;
}

static bool is_log_type(const struct det *d, const char *name) {
  for (size_t i = 0; i < d->nlog_types; i++)
    if (strcmp(d->log_types[i], name) == 0) return true;
  return false;
}

/* Reads path = value(s) pairs of the table on top into the filter of log_type. */
static void read_conds(lua_State *L, struct loader *ld, const char *log_type, bool nested) {
  struct det *d = ld->d;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    const char *path = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
    if (!nested && path && is_log_type(d, path) && lua_istable(L, -1) && luaL_len(L, -1) == 0) {
      read_conds(L, ld, path, true); /* match = { ["AWS.CloudTrail"] = { ... } } */
      lua_pop(L, 1);
      continue;
    }
    struct det_cond c;
    if (!path || json_path_init(&c.path, path) != 0) {
      problem(ld, "match", "malformed 'match': keys must be field paths like \"a.b\"");
      lua_pop(L, 1);
      continue;
    }
    hmap_init(&c.values);
    bool ok = true;
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_Integer n = luaL_len(L, -1);
      ok = n > 0;
      for (lua_Integer i = 1; ok && i <= n; i++) {
        lua_rawgeti(L, -1, i);
        ok = add_match_value(L, &c, lua_gettop(L));
        lua_pop(L, 1);
      }
    } else {
      ok = add_match_value(L, &c, lua_gettop(L));
    }
    if (!ok) {
      problem(ld, "match",
              "malformed 'match' for '%s': use a string, number or boolean, or a non-empty "
              "array of them",
              path);
      json_path_free(&c.path);
      hmap_free(&c.values);
    } else {
      struct det_filter *f = filter_get(d, log_type);
      f->conds = xrealloc(f->conds, (f->nconds + 1) * sizeof *f->conds);
      f->conds[f->nconds++] = c;
    }
    lua_pop(L, 1);
  }
}

static void read_match(lua_State *L, struct loader *ld) {
  int t = lua_getfield(L, 1, "match");
  if (t == LUA_TTABLE) read_conds(L, ld, NULL, false);
  else if (t != LUA_TNIL) problem(ld, "match", "'match' must be a table of field path = value(s)");
  lua_pop(L, 1);
}

/* {===================== stateful patterns ===================== */

#define DET_MAX_GROUPS 10000 /* default bound of the groups one pattern keeps */

/* Reads field of the table at t as a key: a field path or a function (kept by ref). */
static bool read_keyspec(lua_State *L, struct loader *ld, int t, const char *field,
                         const char *what, struct det_keyspec *k) {
  k->fn_ref = LUA_NOREF;
  int ty = lua_getfield(L, t, field);
  if (ty == LUA_TFUNCTION) {
    k->fn_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return true;
  }
  bool ok = ty == LUA_TSTRING && json_path_init(&k->path, lua_tostring(L, -1)) == 0;
  lua_pop(L, 1);
  if (!ok)
    problem(ld, what, "'%s' must be a field path like \"actor.alternateId\" or a function of "
                      "the event", what);
  return ok;
}

/* A positive number field of the table at t (dflt when absent, < 0: required). */
static double num_field(lua_State *L, struct loader *ld, int t, const char *field, double dflt,
                        const char *what, bool integer) {
  int ty = lua_getfield(L, t, field);
  double v = dflt;
  if (ty == LUA_TNIL) {
    if (dflt < 0) problem(ld, what, "'%s' needs %s", what, field);
  } else if (ty != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0) ||
             (integer && !lua_isinteger(L, -1))) {
    problem(ld, what, "'%s.%s' must be a positive %s", what, field, integer ? "integer" : "number");
  } else {
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

static struct det_corr *new_corr(enum det_corr_kind kind) {
  struct det_corr *c = xcalloc(1, sizeof *c);
  c->kind = kind;
  c->group.fn_ref = LUA_NOREF;
  c->max_groups = DET_MAX_GROUPS;
  return c;
}

/* sequence = { { detection = "A", min = 4 }, { detection = "B" } }, within_minutes,
 * group_by; beacon = {...}; risk = {...}; risk_threshold / risk_tactics = {...}. */
static void read_stateful(lua_State *L, struct loader *ld) {
  struct det *d = ld->d;
  int defs = 0;
  if (lua_getfield(L, 1, "sequence") != LUA_TNIL) {
    defs++;
    d->corr = new_corr(DET_CORR_SEQUENCE);
    lua_Integer n = lua_istable(L, -1) ? luaL_len(L, -1) : 0;
    if (n < 2) problem(ld, "sequence", "'sequence' must list at least two steps");
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      int step = lua_gettop(L);
      struct det_step st = {NULL, -1, 1};
      if (!lua_istable(L, step) || lua_getfield(L, step, "detection") != LUA_TSTRING) {
        problem(ld, "sequence", "sequence step %lld needs detection = \"<id>\"", (long long)i);
      } else {
        st.detection = xstrdup(lua_tostring(L, -1));
        st.min = (int)num_field(L, ld, step, "min", 1, "sequence", true);
      }
      lua_settop(L, step - 1);
      if (!st.detection) continue;
      d->corr->steps = xrealloc(d->corr->steps, (d->corr->nsteps + 1) * sizeof *d->corr->steps);
      d->corr->steps[d->corr->nsteps++] = st;
    }
    d->corr->window = 60.0 * num_field(L, ld, 1, "within_minutes", -1, "within_minutes", false);
    read_keyspec(L, ld, 1, "group_by", "group_by", &d->corr->group);
  }
  lua_pop(L, 1);
  if (lua_getfield(L, 1, "beacon") != LUA_TNIL) {
    defs++;
    int t = lua_gettop(L);
    d->corr = d->corr ? d->corr : new_corr(DET_CORR_BEACON);
    if (!lua_istable(L, t)) {
      problem(ld, "beacon", "'beacon' must be a table");
    } else {
      read_keyspec(L, ld, t, "group_by", "beacon", &d->corr->group);
      d->corr->min_events = (int)num_field(L, ld, t, "min_events", 10, "beacon", true);
      d->corr->max_jitter = num_field(L, ld, t, "max_jitter", 0.1, "beacon", false);
      d->corr->window = 60.0 * num_field(L, ld, t, "window_minutes", 60, "beacon", false);
      if (d->corr->min_events < 3) problem(ld, "beacon", "'beacon.min_events' must be at least 3");
    }
  }
  lua_pop(L, 1);
  static const char *const aggs[] = {"risk_threshold", "risk_tactics"};
  for (int a = 0; a < 2; a++) {
    if (lua_getfield(L, 1, aggs[a]) != LUA_TNIL) {
      defs++;
      int t = lua_gettop(L);
      d->corr = d->corr ? d->corr : new_corr(a ? DET_CORR_RISK_TACTICS : DET_CORR_RISK_SUM);
      if (!lua_istable(L, t)) {
        problem(ld, aggs[a], "'%s' must be a table", aggs[a]);
      } else {
        d->corr->window = 3600.0 * num_field(L, ld, t, "window_hours", 24, aggs[a], false);
        if (a) d->corr->min_tactics = (int)num_field(L, ld, t, "min", 3, aggs[a], true);
        else d->corr->limit = num_field(L, ld, t, "limit", 100, aggs[a], false);
      }
    }
    lua_pop(L, 1);
  }
  if (defs > 1) problem(ld, NULL, "a detection has one of sequence, beacon, risk_threshold or risk_tactics");
  if (d->corr) {
    lua_getfield(L, 1, "max_groups");
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0) d->corr->max_groups = (size_t)lua_tointeger(L, -1);
    lua_pop(L, 1);
  }
  if (lua_getfield(L, 1, "risk") != LUA_TNIL) {
    int t = lua_gettop(L);
    d->risk = xcalloc(1, sizeof *d->risk);
    d->risk->entity.fn_ref = LUA_NOREF;
    if (!lua_istable(L, t)) {
      problem(ld, "risk", "'risk' must be a table { entity = ..., score = N }");
    } else {
      read_keyspec(L, ld, t, "entity", "risk", &d->risk->entity);
      d->risk->score = num_field(L, ld, t, "score", -1, "risk", false);
    }
  }
  lua_pop(L, 1);
}

/* }============================================================ */

static const char *const hook_names[] = {"rule",      "title",   "severity",  "alert_context",
                                         "dedup",     "unique",  "description", "runbook",
                                         "reference", "destinations", NULL};

/* Reads and checks the metadata of a loaded file. Runs in protected mode (stack: env). */
static int read_metadata(lua_State *L) {
  struct loader *ld = lua_touserdata(L, 2);
  struct det *d = ld->d;
  lua_settop(L, 1);
  d->id = get_string(L, ld, "id", true);
  char *sev = get_string(L, ld, "default_severity", true);
  if (sev && (d->severity = det_sev_parse(sev)) < 0)
    problem(ld, "default_severity", "unknown default_severity '%s' (use INFO, LOW, MEDIUM, HIGH or CRITICAL)", sev);
  free(sev);
  read_stateful(L, ld);
  /* A correlation over other detections' matches sees no event itself: no rule, no
   * log_types. */
  bool correlation = d->corr && d->corr->kind != DET_CORR_BEACON;
  bool has_lts = lua_getfield(L, 1, "log_types") != LUA_TNIL;
  lua_pop(L, 1);
  cJSON *lts = get_json(L, ld, "log_types", true);
  if (!has_lts && !correlation) problem(ld, NULL, "missing required 'log_types'");
  else if (lts && !lts->child) problem(ld, "log_types", "'log_types' must not be empty");
  for (cJSON *c = lts ? lts->child : NULL; c; c = c->next) {
    d->log_types = xrealloc(d->log_types, (d->nlog_types + 1) * sizeof *d->log_types);
    d->log_types[d->nlog_types++] = xstrdup(c->valuestring);
  }
  cJSON_Delete(lts);
  d->enabled = get_bool(L, ld, "enabled", true);
  bool explicit_alert = lua_getfield(L, 1, "create_alert") != LUA_TNIL;
  lua_pop(L, 1);
  d->create_alert = get_bool(L, ld, "create_alert", true);
  d->dedup_minutes = get_positive(L, ld, "dedup_minutes", 60);
  d->threshold = get_positive(L, ld, "threshold", 1);
  d->display_name = get_string(L, ld, "display_name", false);
  d->description = get_string(L, ld, "default_description", false);
  d->runbook = get_string(L, ld, "default_runbook", false);
  d->reference = get_string(L, ld, "default_reference", false);
  d->tags = get_json(L, ld, "tags", true);
  d->destinations = get_json(L, ld, "default_destinations", true);
  d->reports = get_json(L, ld, "reports", false);
  read_match(L, ld);
  /* Risk and beacon matches feed their state instead of alerting one by one (unless the
   * file says create_alert = true); correlation alerts go through dedup like any alert. */
  d->alerts = d->create_alert && (correlation || ((!d->risk || explicit_alert) &&
                                                  !(d->corr && d->corr->kind == DET_CORR_BEACON)));
  for (int i = 0; hook_names[i]; i++) {
    int t = lua_getfield(L, 1, hook_names[i]);
    if (t == LUA_TNIL && i == 0 && !correlation) problem(ld, NULL, "missing required function 'rule'");
    else if (t != LUA_TNIL && i == 0 && correlation)
      problem(ld, "rule", "a sequence or risk aggregation has no 'rule': it sees the matches of other detections");
    else if (t != LUA_TNIL && t != LUA_TFUNCTION)
      problem(ld, hook_names[i], "'%s' must be a function, not a %s", hook_names[i], lua_typename(L, t));
    lua_pop(L, 1);
  }
  int t = lua_getfield(L, 1, "tests");
  if (t != LUA_TNIL && t != LUA_TTABLE) problem(ld, "tests", "'tests' must be an array of tests");
  lua_pop(L, 1);
  return 0;
}

static void load_file(struct det_set *s, const char *path, bool spec) {
  struct vm *vm = s->vm;
  lua_State *L = vm->L;
  size_t len;
  char *text = read_file(path, &len);
  if (!text) {
    diag(s, path, 0, "cannot read: %s", strerror(errno));
    return;
  }
  char *chunk = xasprintf("@%s", path);
  sbx_new_env(L);
  int env = lua_gettop(L);
  if (spec) {
    if (sbx_load(L, "=spec-prelude", sbx_spec_prelude, strlen(sbx_spec_prelude), env) != 0 ||
        vm_pcall(vm, 0, 0, VM_LOAD_BUDGET) != LUA_OK) {
      diag(s, path, 0, "spec prelude: %s", lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  if (sbx_load(L, chunk, text, len, env) != 0 || vm_pcall(vm, 0, 0, VM_LOAD_BUDGET) != LUA_OK) {
    /* Lua's message starts with "path:line:" already. */
    diag(s, path, -1, "%s", lua_tostring(L, -1));
    lua_settop(L, env - 1);
    free(chunk), free(text);
    return;
  }
  free(chunk);
  if (!spec && lua_getfield(L, env, "run") == LUA_TFUNCTION &&
      lua_getfield(L, env, "rule") == LUA_TNIL) { /* a story beside the detections */
    vec_push(&s->story_files, xstrdup(path));
    lua_settop(L, env - 1);
    free(text);
    return;
  }
  lua_settop(L, env);
  if (spec) {
    struct det_spec *sp = xcalloc(1, sizeof *sp);
    sp->file = xstrdup(path);
    lua_settop(L, env);
    sp->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    vec_push(&s->specs, sp);
    free(text);
    return;
  }
  struct det *d = xcalloc(1, sizeof *d);
  struct loader ld = {s, d, path, text, 0};
  d->file = xstrdup(path);
  lua_pushcfunction(L, read_metadata);
  lua_pushvalue(L, env);
  lua_pushlightuserdata(L, &ld);
  if (vm_pcall(vm, 2, 0, VM_LOAD_BUDGET) != LUA_OK) {
    problem(&ld, NULL, "%s", lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  free(text);
  if (d->id && !ld.problems) {
    struct det *first = hmap_get(&s->ids, d->id, strlen(d->id));
    if (first) {
      diag(s, path, 0, "duplicate id '%s' (first defined in %s)", d->id, first->file);
      ld.problems++;
    }
  }
  if (ld.problems) {
    det_free(d);
    lua_settop(L, env - 1);
    return;
  }
  lua_settop(L, env);
  d->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  d->index = (int)s->dets.len;
  vec_push(&s->dets, d);
  *hmap_put(&s->ids, d->id, strlen(d->id)) = d;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects *.lua paths under path (a file or a folder) in sorted order. */
static void collect(struct det_set *s, const char *path, struct vec *out, bool top) {
  struct stat st;
  if (stat(path, &st) != 0) {
    diag(s, path, 0, "cannot open: %s", strerror(errno));
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (top || str_ends_with(path, ".lua")) vec_push(out, xstrdup(path));
    return;
  }
  DIR *dir = opendir(path);
  if (!dir) {
    diag(s, path, 0, "cannot open folder: %s", strerror(errno));
    return;
  }
  struct vec names = {0};
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] == '.' || strcmp(e->d_name, "lib") == 0) continue;
    vec_push(&names, xstrdup(e->d_name));
  }
  closedir(dir);
  if (names.len > 1) qsort(names.items, names.len, sizeof *names.items, cmp_str);
  for (size_t i = 0; i < names.len; i++) {
    char *child = xasprintf("%s/%s", path, (char *)names.items[i]);
    struct stat cst;
    if (stat(child, &cst) == 0 && (S_ISDIR(cst.st_mode) || str_ends_with(child, ".lua")))
      collect(s, child, out, false);
    free(child);
    free(names.items[i]);
  }
  vec_free(&names);
}

static void link_patterns(struct det_set *s);

void det_set_use_lookups(struct det_set *s, struct lkp_set *lookups) {
  lua_State *L = s->vm->L;
  lkp_set_ref(lookups);
  lkp_set_unref(s->lookups);
  s->lookups = lookups;
  sbx_push_base(L);
  lkp_lua_register(L, lookups);
  lua_setfield(L, -2, "lookup");
  lua_pop(L, 1);
}

size_t det_set_load(struct det_set *s) {
  struct vec files = {0};
  if (!s->lookups) {
    struct lkp_set *found = NULL;
    char *err = NULL;
    if (lkp_set_discover(s->roots, s->nroots, NULL, 0, &found, &err) != 0) {
      diag(s, err, -1, "%s", err);
      free(err);
      found = lkp_set_new();
    }
    det_set_use_lookups(s, found);
    lkp_set_unref(found); /* the set holds its own reference */
  }
  for (size_t i = 0; i < s->nroots; i++) collect(s, s->roots[i], &files, true);
  for (size_t i = 0; i < files.len; i++) {
    char *f = files.items[i];
    load_file(s, f, str_ends_with(f, "_spec.lua"));
    free(f);
  }
  vec_free(&files);
  link_patterns(s);
  return s->diags.len;
}

/* The folder holding path ("." when it has no slash), as a new string. */
static char *parent_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return xstrdup(strcmp(path, ".") == 0 ? ".." : ".");
  if (slash == path) return xstrdup("/");
  if (strcmp(slash + 1, ".") == 0 || strcmp(slash + 1, "..") == 0) return xasprintf("%s/..", path);
  return xstrndup(path, (size_t)(slash - path));
}

struct det_set *det_set_new(char *const *roots, size_t nroots, size_t mem_limit, char **errmsg) {
  struct det_set *s = xcalloc(1, sizeof *s);
  struct vec libdirs = {0};
  hmap_init(&s->ids);
  hmap_init(&s->logtypes);
  s->roots = xcalloc(nroots + 1, sizeof *s->roots);
  for (size_t i = 0; i < nroots; i++) {
    struct stat st;
    const char *r = roots[i];
    size_t n = strlen(r);
    while (n > 1 && r[n - 1] == '/') n--;
    s->roots[s->nroots++] = xstrndup(r, n);
    /* lib/ beside the detections and up to three folders up, so that
     * `-d detections/aws_cloudtrail/threats` finds detections/lib too. */
    char *dir = stat(s->roots[i], &st) == 0 && S_ISDIR(st.st_mode) ? xstrdup(s->roots[i])
                                                                   : parent_dir(s->roots[i]);
    for (int up = 0; up < 4; up++) {
      vec_push(&libdirs, xasprintf("%s/lib", dir));
      char *next = parent_dir(dir);
      free(dir);
      dir = next;
    }
    free(dir);
  }
  s->vm = vm_new(mem_limit);
  int rc = -1;
  if (!s->vm) *errmsg = xstrdup("cannot create a Lua state");
  else rc = sbx_open(s->vm, (char *const *)libdirs.items, libdirs.len, errmsg);
  for (size_t i = 0; i < libdirs.len; i++) free(libdirs.items[i]);
  vec_free(&libdirs);
  if (rc != 0) {
    det_set_free(s);
    return NULL;
  }
  s->vm->owner = s;
  return s;
}

void det_set_free(struct det_set *s) {
  if (!s) return;
  for (size_t i = 0; i < s->dets.len; i++) det_free(s->dets.items[i]);
  vec_free(&s->dets);
  for (size_t i = 0; i < s->specs.len; i++) {
    struct det_spec *sp = s->specs.items[i];
    free(sp->file), free(sp);
  }
  vec_free(&s->specs);
  for (size_t i = 0; i < s->story_files.len; i++) free(s->story_files.items[i]);
  vec_free(&s->story_files);
  for (size_t i = 0; i < s->diags.len; i++) {
    struct det_diag *d = s->diags.items[i];
    free(d->file), free(d->msg), free(d);
  }
  vec_free(&s->diags);
  hmap_free(&s->ids);
  for (size_t i = 0; i < s->logtypes.cap; i++)
    if (s->logtypes.slots[i].key) lt_free(s->logtypes.slots[i].value);
  hmap_free(&s->logtypes);
  for (size_t i = 0; i < s->nroots; i++) free(s->roots[i]);
  free(s->roots);
  vm_free(s->vm);
  lkp_set_unref(s->lookups); /* after the state that reads it */
  free(s->risk_aggs);
  free(s->_cand.v);
  buf_free(&s->_key);
  free(s);
}

/* }============================================================ */

/* {===================== evaluation ===================== */

void det_match_clear(struct det_match *m) {
  for (size_t i = 0; i < m->nkeys; i++) free(m->keys[i].key);
  free(m->keys);
  free(m->entity);
  free(m->title), free(m->dedup), free(m->unique), free(m->context);
  free(m->description), free(m->runbook), free(m->reference), free(m->destinations);
  free(m->event);
  memset(m, 0, sizeof *m);
}

void det_match_free(struct det_match *m) {
  if (!m) return;
  det_match_clear(m);
  free(m);
}

static void hook_error(struct vec *errs, const char *hook, const char *msg) {
  if (errs) vec_push(errs, xasprintf("%s: %s", hook, msg));
}

/* Calls hook `name` of the detection (env at env_idx) with the event at ev_idx.
 * Returns 1 with the result pushed, 0 when the hook is absent, -1 on error (message
 * recorded). */
static int call_hook(struct det_set *s, struct det *d, int env_idx, int ev_idx, const char *name,
                     struct vec *errs) {
  lua_State *L = s->vm->L;
  if (lua_getfield(L, env_idx, name) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushvalue(L, ev_idx);
  if (vm_pcall(s->vm, 1, 1, 0) != LUA_OK) {
    d->errors++;
    if (s->vm->killed) d->killed++;
    hook_error(errs, name, lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
  }
  return 1;
}

/* A string-valued hook: its result, or NULL (absent, nil, error or wrong type). */
static char *string_hook(struct det_set *s, struct det *d, int env_idx, int ev_idx,
                         const char *name, struct vec *errs) {
  lua_State *L = s->vm->L;
  if (call_hook(s, d, env_idx, ev_idx, name, errs) != 1) return NULL;
  char *out = NULL;
  int t = lua_type(L, -1);
  if (t == LUA_TSTRING || t == LUA_TNUMBER)
    out = xstrdup(lua_tostring(L, -1));
  else if (t != LUA_TNIL)
    hook_error(errs, name, t == LUA_TTABLE ? "must return a string, not a table"
                                           : "must return a string");
  lua_pop(L, 1);
  return out;
}

static char *json_hook(struct det_set *s, struct det *d, int env_idx, int ev_idx,
                       const char *name, struct vec *errs) {
  lua_State *L = s->vm->L;
  if (call_hook(s, d, env_idx, ev_idx, name, errs) != 1) return NULL;
  char *out = NULL;
  if (lua_istable(L, -1)) {
    char err[256];
    struct buf b;
    buf_init(&b);
    if (json_lua_encode_buf(L, -1, &b, err, sizeof err) == 0) {
      out = buf_take(&b);
      if (strcmp(out, "[]") == 0 && strcmp(name, "alert_context") == 0) {
        free(out);
        out = xstrdup("{}"); /* an empty context is an object */
      }
    } else {
      hook_error(errs, name, err);
    }
    buf_free(&b);
  } else if (!lua_isnil(L, -1)) {
    hook_error(errs, name, "must return a table");
  }
  lua_pop(L, 1);
  return out;
}

/* Runs the other hooks of a matching detection and fills m. */
static void fill_match(struct det_set *s, struct det *d, int env, int ev, struct det_match *m,
                       struct vec *errs) {
  m->det = d->index;
  m->title = string_hook(s, d, env, ev, "title", errs);
  if (!m->title) m->title = xstrdup(d->display_name ? d->display_name : d->id);
  m->severity = d->severity;
  char *sev = string_hook(s, d, env, ev, "severity", errs);
  if (sev && strcasecmp(sev, "DEFAULT") != 0) {
    int v = det_sev_parse(sev);
    if (v < 0) {
      char msg[128];
      snprintf(msg, sizeof msg, "unknown severity '%.60s'", sev);
      hook_error(errs, "severity", msg);
    } else {
      m->severity = v;
    }
  }
  free(sev);
  m->dedup = string_hook(s, d, env, ev, "dedup", errs);
  if (!m->dedup || !*m->dedup) {
    free(m->dedup);
    m->dedup = xstrdup(m->title);
  }
  if (strlen(m->dedup) > DEDUP_MAX) {
    size_t n = DEDUP_MAX;
    while (n > 0 && ((unsigned char)m->dedup[n] & 0xC0) == 0x80) n--; /* whole characters */
    m->dedup[n] = '\0';
  }
  m->unique = string_hook(s, d, env, ev, "unique", errs);
  m->context = json_hook(s, d, env, ev, "alert_context", errs);
  if (!m->context) m->context = xstrdup("{}");
  m->description = string_hook(s, d, env, ev, "description", errs);
  if (!m->description && d->description) m->description = xstrdup(d->description);
  m->runbook = string_hook(s, d, env, ev, "runbook", errs);
  if (!m->runbook && d->runbook) m->runbook = xstrdup(d->runbook);
  m->reference = string_hook(s, d, env, ev, "reference", errs);
  if (!m->reference && d->reference) m->reference = xstrdup(d->reference);
  m->destinations = json_hook(s, d, env, ev, "destinations", errs);
  if (m->destinations && strcmp(m->destinations, "{}") == 0) {
    free(m->destinations);
    m->destinations = xstrdup("[]");
  }
  if (!m->destinations && d->destinations) m->destinations = json_print(d->destinations);
}

/* Runs rule (and on a match the other hooks) with the event proxy at ev.
 * Returns 1 match, 0 no match, -1 rule error. */
static int run_detection(struct det_set *s, struct det *d, int ev, struct det_match *m,
                         struct vec *errs) {
  lua_State *L = s->vm->L;
  unsigned long long t0 = s->timing ? clk_mono_ns() : 0; /* two clock reads per call cost ~2% */
  lua_rawgeti(L, LUA_REGISTRYINDEX, d->env_ref);
  int env = lua_gettop(L);
  d->evaluated++;
  int rc = call_hook(s, d, env, ev, "rule", errs);
  if (rc == 1) {
    rc = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (rc) {
      d->matched++;
      fill_match(s, d, env, ev, m, errs);
    }
  }
  lua_settop(L, env - 1);
  if (s->timing) d->ns += clk_mono_ns() - t0;
  return rc;
}

/* {===================== keys of stateful patterns ===================== */

/* The key of ks for the event (cJSON event, proxy at ev): a string, or NULL when the
 * field is absent or not a scalar, or the function returned nothing usable. */
static char *key_of(struct det_set *s, struct det *owner, const struct det_keyspec *ks,
                    const cJSON *event, int ev, const char *what, struct vec *errs) {
  lua_State *L = s->vm->L;
  if (ks->fn_ref == LUA_NOREF) {
    const cJSON *v = json_path_get(event, &ks->path);
    if (cJSON_IsString(v)) return xstrdup(v->valuestring);
    if (cJSON_IsBool(v)) return xstrdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNumber(v)) {
      double x = v->valuedouble;
      return x == (double)(long long)x && x < 9e15 && x > -9e15 ? xasprintf("%lld", (long long)x)
                                                                : xasprintf("%.17g", x);
    }
    return NULL;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, ks->fn_ref);
  lua_pushvalue(L, ev);
  if (vm_pcall(s->vm, 1, 1, 0) != LUA_OK) {
    owner->errors++;
    if (s->vm->killed) owner->killed++;
    hook_error(errs, what, lua_tostring(L, -1));
    lua_pop(L, 1);
    return NULL;
  }
  char *out = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER
                  ? xstrdup(lua_tostring(L, -1))
                  : NULL;
  lua_pop(L, 1);
  return out;
}

static void add_key(struct det_match *m, int det, char *key) {
  if (!key || !*key) {
    free(key);
    return;
  }
  m->keys = xrealloc(m->keys, (m->nkeys + 1) * sizeof *m->keys);
  m->keys[m->nkeys].det = det;
  m->keys[m->nkeys++].key = key;
}

/* A match of d: the group of every sequence it feeds, its beacon group, its risk entity. */
static void compute_keys(struct det_set *s, struct det *d, const cJSON *event, int ev,
                         struct det_match *m, struct vec *errs) {
  for (size_t i = 0; i < d->nfeeds; i++) {
    struct det *c = s->dets.items[d->feeds[i]];
    add_key(m, c->index, key_of(s, c, &c->corr->group, event, ev, "group_by", errs));
  }
  if (d->corr && d->corr->kind == DET_CORR_BEACON)
    add_key(m, d->index, key_of(s, d, &d->corr->group, event, ev, "beacon.group_by", errs));
  if (d->risk) m->entity = key_of(s, d, &d->risk->entity, event, ev, "risk.entity", errs);
}

/* After loading: resolve sequence steps to detections and note which detections feed
 * which sequences. */
static void link_patterns(struct det_set *s) {
  for (size_t i = 0; i < s->dets.len; i++) {
    struct det *c = s->dets.items[i];
    if (c->risk || c->corr) s->stateful = true;
    if (c->corr && (c->corr->kind == DET_CORR_RISK_SUM || c->corr->kind == DET_CORR_RISK_TACTICS)) {
      s->risk_aggs = xrealloc(s->risk_aggs, (s->nrisk_aggs + 1) * sizeof *s->risk_aggs);
      s->risk_aggs[s->nrisk_aggs++] = c->index;
      if (c->corr->window > s->risk_window) s->risk_window = c->corr->window;
    }
    if (!c->corr || c->corr->kind != DET_CORR_SEQUENCE) continue;
    for (size_t k = 0; k < c->corr->nsteps; k++) {
      struct det_step *st = &c->corr->steps[k];
      struct det *x = hmap_get(&s->ids, st->detection, strlen(st->detection));
      if (!x) {
        size_t n;
        char *text = read_file(c->file, &n);
        diag(s, c->file, text ? find_line(text, "sequence") : 0,
             "sequence step %zu: no detection '%s' is loaded", k + 1, st->detection);
        free(text);
        continue;
      }
      st->index = x->index;
      bool known = false;
      for (size_t j = 0; j < x->nfeeds && !known; j++) known = x->feeds[j] == c->index;
      if (!known) {
        x->feeds = xrealloc(x->feeds, (x->nfeeds + 1) * sizeof *x->feeds);
        x->feeds[x->nfeeds++] = c->index;
      }
    }
  }
}

/* }============================================================ */

int det_eval_one(struct det_set *s, struct det *d, const cJSON *event, const char *log_type,
                 struct det_match *m, struct vec *errs) {
  lua_State *L = s->vm->L;
  if (!det_prefilter(d, event, log_type)) return 0;
  evl_begin(L);
  evl_push(L, event);
  int rc = run_detection(s, d, lua_gettop(L), m, errs);
  if (rc == 1) compute_keys(s, d, event, lua_gettop(L), m, errs);
  lua_pop(L, 1);
  evl_end(L);
  return rc;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Fills cand with the sorted, distinct detections whose indexed field matches. */
static void candidates(const struct det_lt_index *lt, const cJSON *event, struct ilist *cand,
                       struct buf *key) {
  cand->n = 0;
  for (size_t i = 0; i < lt->always.n; i++) ilist_push(cand, lt->always.v[i]);
  for (size_t i = 0; i < lt->npaths; i++) {
    key->len = 0;
    const cJSON *v = json_path_get(event, &lt->paths[i].path);
    if (!json_scalar_key(v, key)) continue;
    const struct ilist *hit = hmap_get(&lt->paths[i].map, key->data, key->len);
    for (size_t j = 0; hit && j < hit->n; j++) ilist_push(cand, hit->v[j]);
  }
  if (cand->n > 1 && lt->npaths + (lt->always.n > 0) > 1) {
    qsort(cand->v, cand->n, sizeof *cand->v, cmp_int);
    size_t w = 1;
    for (size_t r = 1; r < cand->n; r++)
      if (cand->v[r] != cand->v[w - 1]) cand->v[w++] = cand->v[r];
    cand->n = w;
  }
}

size_t det_eval(struct det_set *s, const cJSON *event, const char *log_type, struct vec *out,
                struct vec *errs) {
  const struct det_lt_index *lt = hmap_get(&s->logtypes, log_type, strlen(log_type));
  if (!lt) return 0;
  struct ilist *cand = &s->_cand;
  candidates(lt, event, cand, &s->_key);
  if (!cand->n) return 0;
  lua_State *L = s->vm->L;
  size_t matches = 0;
  int ev = 0;
  for (size_t i = 0; i < cand->n; i++) {
    struct det *d = s->dets.items[cand->v[i]];
    const struct det_filter *f = det_filter_for(d, lt->name);
    if (f && f->nconds > 1 && !det_prefilter(d, event, lt->name)) continue;
    if (!ev) {
      evl_begin(L);
      evl_push(L, event);
      ev = lua_gettop(L);
    }
    struct det_match *m = xcalloc(1, sizeof *m);
    struct vec hookerrs = {0};
    int rc = run_detection(s, d, ev, m, &hookerrs);
    if (rc == 1 && (d->nfeeds || d->risk || d->corr)) compute_keys(s, d, event, ev, m, &hookerrs);
    for (size_t j = 0; j < hookerrs.len; j++) {
      if (errs) vec_push(errs, xasprintf("%s (%s): %s", d->id, d->file, (char *)hookerrs.items[j]));
      free(hookerrs.items[j]);
    }
    vec_free(&hookerrs);
    if (rc == 1) {
      m->log_type = lt->name;
      vec_push(out, m);
      matches++;
    } else {
      det_match_free(m);
    }
  }
  if (ev) {
    lua_pop(L, 1);
    evl_end(L);
  }
  return matches;
}

/* }============================================================ */

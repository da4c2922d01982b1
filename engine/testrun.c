/* testrun.c — running detection tests through the production evaluation path.
 *
 * A test event goes through det_eval_one (prefilter, rule, every hook) and multi-event
 * tests through the dedup module, exactly as replay and the daemon do, so a passing test
 * means the detection behaves the same in production. Tests come from a detection's
 * `tests` global (Lua tables) and from a sidecar <name>.tests.json (events kept
 * byte-exact); both are normalised into struct tcase first.
 * SPDX-License-Identifier: MIT
 */
#include "testrun.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "correlate.h"
#include "dedup.h"
#include "detect.h"
#include "json.h"
#include "json_lua.h"
#include "logtype.h"
#include "sandbox.h"
#include "story_test.h"
#include "util.h"

struct tcase {
  char *name;
  int expect;         /* -1 unset */
  cJSON *event;       /* single-event test */
  cJSON *events;      /* multi-event test: array */
  char *log_type;
  char *title, *severity, *dedup;
  cJSON *context;
  int expect_alerts; /* -1 unset */
  cJSON *expect_titles;
  int mocks_ref;     /* Lua table name -> value, or LUA_NOREF */
  char *error;       /* the test itself is malformed */
};

struct result {
  char *suite, *name, *failure; /* failure NULL = passed */
};

struct runner {
  const struct test_opts *o;
  struct det_set *set;
  struct vec results; /* struct result * */
  size_t passed, failed;
};

static void tcase_free(lua_State *L, struct tcase *t) {
  free(t->name), free(t->log_type), free(t->title), free(t->severity), free(t->dedup);
  free(t->error);
  cJSON_Delete(t->event), cJSON_Delete(t->events), cJSON_Delete(t->context);
  cJSON_Delete(t->expect_titles);
  if (t->mocks_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, t->mocks_ref);
  memset(t, 0, sizeof *t);
}

static void record(struct runner *r, const char *suite, const char *name, char *failure) {
  struct result *res = xcalloc(1, sizeof *res);
  res->suite = xstrdup(suite);
  res->name = xstrdup(name);
  res->failure = failure;
  vec_push(&r->results, res);
  if (failure) {
    r->failed++;
    printf("FAIL %s: %s\n", suite, name);
    for (char *line = failure; line && *line;) {
      char *nl = strchr(line, '\n');
      printf("    %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
      line = nl ? nl + 1 : NULL;
    }
  } else {
    r->passed++;
    if (r->o->verbose) printf("PASS %s: %s\n", suite, name);
  }
}

/* {===================== reading tests ===================== */

/* An event given as a JSON string is parsed; an object is copied. */
static cJSON *event_value(const cJSON *v, char **err) {
  if (cJSON_IsString(v)) {
    size_t pos = 0;
    cJSON *e = json_parse(v->valuestring, strlen(v->valuestring), &pos);
    if (!e) *err = xasprintf("event: malformed JSON at byte %zu", pos + 1);
    return e;
  }
  if (cJSON_IsObject(v)) return cJSON_Duplicate(v, 1);
  *err = xstrdup("event must be an object or a JSON string");
  return NULL;
}

static char *opt_string(const cJSON *t, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, k);
  return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

/* Fills t from a test in JSON form (sidecars, and Lua tests once converted). */
static void tcase_from_json(lua_State *L, struct tcase *t, const cJSON *j, int index) {
  memset(t, 0, sizeof *t);
  t->expect = -1;
  t->expect_alerts = -1;
  t->mocks_ref = LUA_NOREF;
  if (!cJSON_IsObject(j)) {
    t->name = xasprintf("test #%d", index);
    t->error = xstrdup("a test must be an object");
    return;
  }
  t->name = opt_string(j, "name");
  if (!t->name) {
    t->name = xasprintf("test #%d", index);
    t->error = xstrdup("missing 'name'");
  }
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "expect");
  if (cJSON_IsBool(v)) t->expect = cJSON_IsTrue(v);
  if ((v = cJSON_GetObjectItemCaseSensitive(j, "event")) && !t->error)
    t->event = event_value(v, &t->error);
  if ((v = cJSON_GetObjectItemCaseSensitive(j, "events")) && !t->error) {
    t->events = cJSON_CreateArray();
    if (!cJSON_IsArray(v)) t->error = xstrdup("'events' must be an array");
    for (const cJSON *e = cJSON_IsArray(v) ? v->child : NULL; e && !t->error; e = e->next) {
      cJSON *ev = event_value(e, &t->error);
      if (ev) cJSON_AddItemToArray(t->events, ev);
    }
  }
  t->log_type = opt_string(j, "log_type");
  t->title = opt_string(j, "title");
  t->severity = opt_string(j, "severity");
  t->dedup = opt_string(j, "dedup");
  if ((v = cJSON_GetObjectItemCaseSensitive(j, "context"))) t->context = cJSON_Duplicate(v, 1);
  if ((v = cJSON_GetObjectItemCaseSensitive(j, "expect_alerts")) && cJSON_IsNumber(v))
    t->expect_alerts = v->valueint;
  if ((v = cJSON_GetObjectItemCaseSensitive(j, "expect_titles")))
    t->expect_titles = cJSON_Duplicate(v, 1);
  if ((v = cJSON_GetObjectItemCaseSensitive(j, "mocks"))) {
    /* {name = value} or Panther's [{"objectName": n, "returnValue": v}] */
    lua_newtable(L);
    if (cJSON_IsArray(v)) {
      for (const cJSON *m = v->child; m; m = m->next) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "objectName");
        const cJSON *rv = cJSON_GetObjectItemCaseSensitive(m, "returnValue");
        if (!cJSON_IsString(n)) continue;
        if (rv) json_lua_push(L, rv);
        else lua_pushnil(L);
        lua_setfield(L, -2, n->valuestring);
      }
    } else if (cJSON_IsObject(v)) {
      for (const cJSON *m = v->child; m; m = m->next) {
        json_lua_push(L, m);
        lua_setfield(L, -2, m->string);
      }
    }
    t->mocks_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  if (!t->error && !t->event && !t->events) t->error = xstrdup("needs 'event' or 'events'");
  if (!t->error && t->event && t->expect < 0) t->error = xstrdup("needs 'expect' (true or false)");
  if (!t->error && t->events && t->expect_alerts < 0 && !t->expect_titles)
    t->error = xstrdup("a multi-event test needs 'expect_alerts' or 'expect_titles'");
}

/* Converts a Lua test table (on top) to JSON, keeping its mocks as a Lua table
 * (functions allowed). */
static void tcase_from_lua(lua_State *L, struct tcase *t, int index) {
  char err[256];
  int tbl = lua_gettop(L);
  int mocks = LUA_NOREF;
  if (lua_istable(L, tbl)) {
    /* Mocks may hold functions, which JSON cannot: lift them out first. */
    lua_newtable(L);
    lua_pushnil(L);
    while (lua_next(L, tbl)) {
      if (lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), "mocks") == 0) {
        lua_pushvalue(L, -1);
        mocks = luaL_ref(L, LUA_REGISTRYINDEX);
        lua_pop(L, 1);
        continue;
      }
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, tbl + 1);
    }
    lua_replace(L, tbl);
  }
  cJSON *j = json_lua_to_cjson(L, tbl, err, sizeof err);
  lua_pop(L, 1);
  tcase_from_json(L, t, j, index);
  if (!j && !t->error) {
    free(t->error);
    t->error = xasprintf("cannot read test: %s", err);
  }
  cJSON_Delete(j);
  if (mocks != LUA_NOREF) {
    if (t->mocks_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, t->mocks_ref);
    t->mocks_ref = mocks;
  }
}

static char *sidecar_path(const char *file) {
  size_t n = strlen(file);
  if (n > 4 && strcmp(file + n - 4, ".lua") == 0) n -= 4;
  return xasprintf("%.*s.tests.json", (int)n, file);
}

/* Collects the tests of d: the `tests` global, then the sidecar. */
static void collect_tests(struct runner *r, struct det *d, struct tcase **out, size_t *n,
                          char **error) {
  lua_State *L = r->set->vm->L;
  *out = NULL, *n = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, d->env_ref);
  if (lua_getfield(L, -1, "tests") == LUA_TTABLE) {
    lua_Integer len = luaL_len(L, -1);
    *out = xcalloc((size_t)len + 1, sizeof **out);
    for (lua_Integer i = 1; i <= len; i++) {
      lua_rawgeti(L, -1, i);
      tcase_from_lua(L, &(*out)[(*n)++], (int)i);
    }
  }
  lua_pop(L, 2);
  char *path = sidecar_path(d->file);
  size_t len;
  char *text = read_file(path, &len);
  if (text) {
    size_t pos = 0;
    cJSON *doc = json_parse(text, len, &pos);
    const cJSON *arr = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "tests") : doc;
    if (!doc) {
      *error = xasprintf("%s: malformed JSON at byte %zu", path, pos + 1);
    } else if (!cJSON_IsArray(arr)) {
      *error = xasprintf("%s: expected an array of tests or an object with a 'tests' array", path);
    } else {
      int count = cJSON_GetArraySize(arr), i = 0;
      *out = xrealloc(*out, (*n + (size_t)count + 1) * sizeof **out);
      for (const cJSON *c = arr->child; c; c = c->next)
        tcase_from_json(L, &(*out)[(*n)++], c, ++i);
    }
    cJSON_Delete(doc);
    free(text);
  }
  free(path);
}

/* }============================================================ */

/* {===================== mocks ===================== */

static int mock_return(lua_State *L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  return 1;
}

/* lookup(name, key [, column]) over a mocked table of tables:
 * mocks = { lookup = { production_accounts = { ["111122223333"] = { name = "prod" } } } }
 * A row given as `true` is an empty row. Exact keys only. */
static int mock_lookup(lua_State *L) {
  lua_settop(L, 3); /* name, key, column (maybe nil) */
  const char *name = luaL_checkstring(L, 1);
  if (lua_isnil(L, 2)) return 0;
  const char *key = luaL_tolstring(L, 2, NULL);
  if (lua_getfield(L, lua_upvalueindex(1), name) != LUA_TTABLE) return 0;
  if (lua_getfield(L, -1, key) == LUA_TNIL) return 1;
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
  }
  if (lua_isstring(L, 3)) lua_getfield(L, -1, lua_tostring(L, 3));
  return 1;
}

/* Applies the mocks in env (at env_idx); pushes a table of the previous raw values. */
static void mocks_apply(lua_State *L, int env_idx, int mocks_ref) {
  lua_newtable(L);
  int saved = lua_gettop(L);
  if (mocks_ref == LUA_NOREF) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, mocks_ref);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    if (lua_type(L, -2) != LUA_TSTRING) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushvalue(L, -2);
    lua_rawget(L, env_idx); /* old raw value */
    lua_pushvalue(L, -3);
    lua_insert(L, -2);
    lua_rawset(L, saved);
    if (lua_type(L, -1) == LUA_TTABLE && strcmp(lua_tostring(L, -2), "lookup") == 0) {
      lua_pushcclosure(L, mock_lookup, 1); /* mocked lookup tables */
    } else if (lua_type(L, -1) != LUA_TFUNCTION) {
      lua_pushvalue(L, -2);
      int cur = lua_gettable(L, env_idx); /* through the base: stdlib functions too */
      lua_pop(L, 1);
      if (cur == LUA_TFUNCTION || cur == LUA_TNIL) lua_pushcclosure(L, mock_return, 1);
    }
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, env_idx);
  }
  lua_pop(L, 1);
}

/* Restores the values saved by mocks_apply (table on top; popped). */
static void mocks_restore(lua_State *L, int env_idx, int mocks_ref) {
  int saved = lua_gettop(L);
  if (mocks_ref != LUA_NOREF) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, mocks_ref);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING) continue;
      lua_pushvalue(L, -1);
      lua_pushvalue(L, -1);
      lua_rawget(L, saved);
      lua_rawset(L, env_idx);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, saved - 1);
}

/* }============================================================ */

/* {===================== running ===================== */

static void add_errors(struct buf *f, struct vec *errs) {
  for (size_t i = 0; i < errs->len; i++) {
    buf_printf(f, "%serror in %s", f->len ? "\n" : "", (char *)errs->items[i]);
    free(errs->items[i]);
  }
  errs->len = 0;
}

static void expect_str(struct buf *f, const char *what, const char *want, const char *got) {
  if (want && (!got || strcmp(want, got) != 0))
    buf_printf(f, "%s%s: expected \"%s\", got \"%s\"", f->len ? "\n" : "", what, want,
               got ? got : "(none)");
}

static void compare_context(struct buf *f, const cJSON *want, const char *got_text) {
  if (!want) return;
  cJSON *got = cJSON_Parse(got_text);
  if (!cJSON_IsObject(want)) {
    buf_printf(f, "%scontext: the expectation must be an object", f->len ? "\n" : "");
  } else {
    for (const cJSON *w = want->child; w; w = w->next) {
      const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, w->string);
      bool same = g ? json_equal(w, g) : cJSON_IsNull(w);
      if (!same) {
        char *ws = json_print(w), *gs = g ? json_print(g) : xstrdup("(absent)");
        buf_printf(f, "%scontext.%s: expected %s, got %s", f->len ? "\n" : "", w->string, ws, gs);
        free(ws), free(gs);
      }
    }
  }
  cJSON_Delete(got);
}

static void run_single(struct runner *r, struct det *d, struct tcase *t, struct buf *f) {
  struct det_match m;
  struct vec errs = {0};
  memset(&m, 0, sizeof m);
  const char *lt = t->log_type ? t->log_type : d->log_types[0];
  int rc = det_eval_one(r->set, d, t->event, lt, &m, &errs);
  if (rc < 0) {
    add_errors(f, &errs);
  } else if (rc != t->expect) {
    buf_printf(f, "%sexpected rule to return %s, got %s%s", f->len ? "\n" : "",
               t->expect ? "true" : "false", rc ? "true" : "false",
               !rc && !det_prefilter(d, t->event, lt) ? " (the 'match' prefilter rejected the event)" : "");
  } else if (rc == 1) {
    add_errors(f, &errs);
    expect_str(f, "title", t->title, m.title);
    expect_str(f, "dedup", t->dedup, m.dedup);
    if (t->severity) {
      int want = det_sev_parse(t->severity);
      if (want != m.severity)
        buf_printf(f, "%sseverity: expected %s, got %s", f->len ? "\n" : "", t->severity,
                   det_sev_name(m.severity));
    }
    compare_context(f, t->context, m.context);
  }
  for (size_t i = 0; i < errs.len; i++) free(errs.items[i]);
  vec_free(&errs);
  det_match_clear(&m);
}

struct alerts_seen {
  struct vec titles;
};

static void collect_alert(const struct dedup_window *w, void *ud) {
  struct alerts_seen *a = ud;
  vec_push(&a->titles, xstrdup(w->first->title));
}

/* A stateful detection's test: every event goes through the whole set (the signals a
 * sequence or a risk aggregate needs are other detections), then through the patterns,
 * as batch_merge does; only the alerts of the detection under test count. */
static void run_stateful(struct runner *r, struct det *d, struct tcase *t, struct buf *f,
                         struct dedup *dd) {
  struct cor *cor = cor_new(false);
  struct vec alerts = {0};
  unsigned long long seq = 0;
  for (const cJSON *ev = t->events->child; ev; ev = ev->next, seq++) {
    double when;
    const char *lt = lt_inspect(ev, t->log_type ? t->log_type
                                               : d->nlog_types ? d->log_types[0] : NULL, &when);
    if (!lt) continue;
    lt = det_set_logtype(r->set, lt);
    if (!lt) continue; /* no detection reads this log type */
    struct vec ms = {0}, errs = {0};
    det_eval(r->set, ev, lt, &ms, &errs);
    if (errs.len) buf_printf(f, "%sevent %llu:", f->len ? "\n" : "", seq + 1);
    add_errors(f, &errs);
    vec_free(&errs);
    for (size_t i = 0; i < ms.len; i++) {
      struct det_match *m = ms.items[i];
      m->time = when >= 0 ? when : (dd->have_watermark ? dd->watermark : 0);
      m->seq = (seq << 12) | i;
      cor_observe(cor, r->set, m, &alerts);
      for (size_t k = 0; k < alerts.len; k++) {
        struct det_match *a = alerts.items[k];
        if (a->det == d->index) dedup_observe(dd, d, a);
        else det_match_free(a);
      }
      alerts.len = 0;
      if (m->det == d->index && d->alerts) dedup_observe(dd, d, m);
      else det_match_free(m);
    }
    vec_free(&ms);
    if (when >= 0) cor_advance(cor, r->set, when);
  }
  vec_free(&alerts);
  cor_free(cor);
}

static void run_multi(struct runner *r, struct det *d, struct tcase *t, struct buf *f) {
  struct alerts_seen seen = {{0}};
  struct dedup dd;
  dedup_init(&dd, collect_alert, &seen);
  const char *lt = t->log_type ? t->log_type : d->nlog_types ? d->log_types[0] : NULL;
  unsigned long long seq = 0;
  bool stateful = d->corr || d->risk || d->nfeeds;
  for (const cJSON *ev = stateful ? NULL : t->events->child; ev; ev = ev->next, seq++) {
    struct det_match *m = xcalloc(1, sizeof *m);
    struct vec errs = {0};
    int rc = det_eval_one(r->set, d, ev, lt, m, &errs);
    if (rc < 0) buf_printf(f, "%sevent %llu:", f->len ? "\n" : "", seq + 1);
    add_errors(f, &errs);
    vec_free(&errs);
    if (rc == 1 && d->alerts) {
      m->time = lt_event_time(ev, lt);
      m->seq = seq;
      dedup_observe(&dd, d, m);
    } else {
      det_match_free(m);
    }
  }
  if (stateful) run_stateful(r, d, t, f, &dd);
  dedup_flush(&dd);
  dedup_free(&dd);
  if (t->expect_alerts >= 0 && (size_t)t->expect_alerts != seen.titles.len)
    buf_printf(f, "%sexpected %d alerts, got %zu", f->len ? "\n" : "", t->expect_alerts,
               seen.titles.len);
  if (t->expect_titles) {
    size_t i = 0;
    for (const cJSON *w = t->expect_titles->child; w; w = w->next, i++) {
      const char *got = i < seen.titles.len ? seen.titles.items[i] : NULL;
      if (!cJSON_IsString(w) || !got || strcmp(w->valuestring, got) != 0)
        buf_printf(f, "%salert %zu title: expected \"%s\", got \"%s\"", f->len ? "\n" : "", i + 1,
                   cJSON_IsString(w) ? w->valuestring : "?", got ? got : "(no alert)");
    }
    if (i != seen.titles.len)
      buf_printf(f, "%sexpected %zu alert titles, got %zu alerts", f->len ? "\n" : "", i,
                 seen.titles.len);
  }
  for (size_t i = 0; i < seen.titles.len; i++) free(seen.titles.items[i]);
  vec_free(&seen.titles);
}

static bool selected(const struct runner *r, const char *a, const char *b, const char *c) {
  const char *p = r->o->filter;
  return !p || (a && strstr(a, p)) || (b && strstr(b, p)) || (c && strstr(c, p));
}

static void run_detection_tests(struct runner *r, struct det *d) {
  lua_State *L = r->set->vm->L;
  struct tcase *tests;
  size_t n;
  char *error = NULL;
  collect_tests(r, d, &tests, &n, &error);
  if (error) record(r, d->id, "(tests file)", error);
  if (n == 0 && !error && selected(r, d->id, d->file, NULL)) {
    if (r->o->require_tests)
      record(r, d->id, "(has tests)", xasprintf("%s: no tests (--require-tests)", d->file));
    else
      fprintf(stderr, "lp0: warning: %s (%s) has no tests\n", d->id, d->file);
  }
  for (size_t i = 0; i < n; i++) {
    struct tcase *t = &tests[i];
    if (!selected(r, d->id, d->file, t->name)) {
      tcase_free(L, t);
      continue;
    }
    struct buf f;
    buf_init(&f);
    if (t->error) {
      buf_printf(&f, "%s: malformed test: %s", d->file, t->error);
    } else {
      lua_rawgeti(L, LUA_REGISTRYINDEX, d->env_ref);
      int env = lua_gettop(L);
      mocks_apply(L, env, t->mocks_ref);
      if (t->events) run_multi(r, d, t, &f);
      else run_single(r, d, t, &f);
      mocks_restore(L, env, t->mocks_ref);
      lua_pop(L, 1);
    }
    record(r, d->id, t->name, f.len ? buf_take(&f) : NULL);
    buf_free(&f);
    tcase_free(L, t);
  }
  free(tests);
}

static void run_spec(struct runner *r, struct det_spec *sp) {
  lua_State *L = r->set->vm->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, sp->env_ref);
  int env = lua_gettop(L);
  if (lua_getfield(L, env, "tests") != LUA_TTABLE) {
    record(r, sp->file, "(spec)", xasprintf("%s: a spec file must define 'tests'", sp->file));
    lua_settop(L, env - 1);
    return;
  }
  lua_Integer n = luaL_len(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, env + 1, i);
    lua_getfield(L, -1, "name");
    char *name = lua_isstring(L, -1) ? xstrdup(lua_tostring(L, -1)) : xasprintf("test #%lld", (long long)i);
    lua_pop(L, 1);
    if (!selected(r, sp->file, NULL, name)) {
      lua_pop(L, 1);
      free(name);
      continue;
    }
    char *failure = NULL;
    if (lua_getfield(L, -1, "run") != LUA_TFUNCTION) {
      lua_pop(L, 1);
      failure = xstrdup("'run' must be a function");
    } else if (vm_pcall(r->set->vm, 0, 0, 0) != LUA_OK) {
      failure = xstrdup(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    record(r, sp->file, name, failure);
    free(name);
  }
  lua_settop(L, env - 1);
}

/* }============================================================ */

static int write_junit(struct runner *r, const char *path) {
  struct buf b;
  buf_init(&b);
  buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\">\n",
             r->passed + r->failed, r->failed);
  for (size_t i = 0; i < r->results.len;) {
    const struct result *first = r->results.items[i];
    size_t j = i, fails = 0;
    while (j < r->results.len && strcmp(((struct result *)r->results.items[j])->suite, first->suite) == 0)
      fails += ((struct result *)r->results.items[j++])->failure != NULL;
    buf_puts(&b, "  <testsuite name=\"");
    buf_put_xml(&b, first->suite);
    buf_printf(&b, "\" tests=\"%zu\" failures=\"%zu\">\n", j - i, fails);
    for (; i < j; i++) {
      const struct result *res = r->results.items[i];
      buf_puts(&b, "    <testcase classname=\"");
      buf_put_xml(&b, res->suite);
      buf_puts(&b, "\" name=\"");
      buf_put_xml(&b, res->name);
      if (res->failure) {
        buf_puts(&b, "\">\n      <failure message=\"");
        buf_put_xml(&b, res->failure);
        buf_puts(&b, "\"/>\n    </testcase>\n");
      } else {
        buf_puts(&b, "\"/>\n");
      }
    }
    buf_puts(&b, "  </testsuite>\n");
  }
  buf_puts(&b, "</testsuites>\n");
  FILE *f = fopen(path, "w");
  int rc = f && fwrite(b.data, 1, b.len, f) == b.len ? 0 : -1;
  if (f && fclose(f) != 0) rc = -1;
  buf_free(&b);
  return rc;
}

static void story_result(const char *file, const char *story, const char *test,
                         const char *failure, void *ud) {
  struct runner *r = ud;
  char *name = xasprintf("%s: %s", story, test);
  record(r, file, name, failure ? xstrdup(failure) : NULL);
  free(name);
}

int test_run(const struct test_opts *o) {
  struct runner r;
  char *err = NULL;
  memset(&r, 0, sizeof r);
  r.o = o;
  r.set = det_set_new(o->paths, o->npaths, 0, &err);
  if (!r.set) {
    fprintf(stderr, "lp0: %s\n", err);
    free(err);
    return 2;
  }
  r.set->vm->quiet_log = !o->verbose;
  det_set_load(r.set);
  det_set_index(r.set); /* stateful tests evaluate the whole set, as the daemon does */
  for (size_t i = 0; i < r.set->diags.len; i++) {
    struct det_diag *dg = r.set->diags.items[i];
    char *msg = dg->line < 0 ? xstrdup(dg->msg)
                : dg->line ? xasprintf("%s:%d: %s", dg->file, dg->line, dg->msg)
                           : xasprintf("%s: %s", dg->file, dg->msg);
    record(&r, dg->file, "(load)", msg);
  }
  for (size_t i = 0; i < r.set->dets.len; i++) run_detection_tests(&r, r.set->dets.items[i]);
  for (size_t i = 0; i < r.set->specs.len; i++) run_spec(&r, r.set->specs.items[i]);
  if (r.set->story_files.len &&
      sty_run_tests((char *const *)r.set->story_files.items, r.set->story_files.len, o->filter,
                    o->verbose, o->require_tests, story_result, &r) != 0)
    record(&r, "(stories)", "(setup)", xstrdup("the story engine could not start"));
  int code = r.failed ? 1 : 0;
  if (o->junit && write_junit(&r, o->junit) != 0) {
    fprintf(stderr, "lp0: %s: cannot write JUnit report\n", o->junit);
    code = 2;
  }
  for (size_t i = 0; i < r.results.len; i++) {
    struct result *res = r.results.items[i];
    free(res->suite), free(res->name), free(res->failure), free(res);
  }
  vec_free(&r.results);
  printf("%zu passed, %zu failed\n", r.passed, r.failed);
  det_set_free(r.set);
  return code;
}

/* story_test.c — HTTP mocks for stories, and the story tests of `lp0 test`.
 *
 * A mock transport answers http.request from a list of mocks matched by method and URL
 * glob, in order; each answer is delivered from a timer (after `delay` seconds, 0 by
 * default) so a story sees the same yields and ordering as with the real client. Every
 * call is recorded, matched or not, for `lp0 story run` to print and tests to assert.
 * A call no mock matches gets the transport error "no mock for METHOD URL".
 *
 * Story tests (a story's `tests`) give an alert, mocks, settings and secrets, and expect
 * calls (count per method and URL glob), a result (a subset of what run() returned) or an
 * error. Each runs once, without a store, on a private loop.
 * SPDX-License-Identifier: MIT
 */
#include "story_test.h"

#include <cjson/cJSON.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "json_lua.h"
#include "log.h"
#include "util.h"
#include "wildcard.h"

struct mock {
  char *method; /* NULL: any */
  char *url;    /* glob with * */
  int status;
  char *body;
  struct vec headers; /* "name" then "value", alternating (owned) */
  double delay;
  char *error;
  int times; /* 0: unlimited */
  int used;
};

struct pending {
  struct sty_mocks *m;
  uv_timer_t timer;
  const struct mock *mock; /* NULL: unmatched */
  char *error;
  sty_http_done_cb done;
  void *arg;
  long long id;
  double t0;
};


static void mock_free(struct mock *k) {
  free(k->method), free(k->url), free(k->body), free(k->error);
  for (size_t i = 0; i < k->headers.len; i++) free(k->headers.items[i]);
  vec_free(&k->headers);
  free(k);
}

void sty_mocks_init(struct sty_mocks *m, uv_loop_t *loop) {
  memset(m, 0, sizeof *m);
  m->loop = loop;
}

void sty_mocks_reset(struct sty_mocks *m) {
  for (size_t i = 0; i < m->mocks.len; i++) mock_free(m->mocks.items[i]);
  m->mocks.len = 0;
  for (size_t i = 0; i < m->calls.len; i++) {
    struct sty_call *c = m->calls.items[i];
    free(c->method), free(c->url), free(c->body), free(c->error), free(c);
  }
  m->calls.len = 0;
}

void sty_mocks_free(struct sty_mocks *m) {
  sty_mocks_reset(m);
  vec_free(&m->mocks);
  vec_free(&m->calls);
}

/* {===================== reading mocks ===================== */

static char *str_field(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

/* One mock from its JSON form (Lua tables are converted to JSON first). */
static int mock_from_json(struct sty_mocks *m, const cJSON *o, size_t i, char *err, size_t errlen) {
  if (!cJSON_IsObject(o)) {
    snprintf(err, errlen, "mock %zu: expected a table", i + 1);
    return -1;
  }
  struct mock *k = xcalloc(1, sizeof *k);
  k->method = str_field(o, "method");
  k->url = str_field(o, "url");
  k->error = str_field(o, "error");
  k->body = str_field(o, "body");
  const cJSON *v;
  if (!k->url) {
    mock_free(k);
    snprintf(err, errlen, "mock %zu: url (a glob, * matches anything) is required", i + 1);
    return -1;
  }
  if (k->method)
    for (char *p = k->method; *p; p++) *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
  v = cJSON_GetObjectItemCaseSensitive(o, "status");
  k->status = cJSON_IsNumber(v) ? (int)v->valuedouble : 200;
  v = cJSON_GetObjectItemCaseSensitive(o, "delay");
  k->delay = cJSON_IsNumber(v) ? v->valuedouble : 0;
  v = cJSON_GetObjectItemCaseSensitive(o, "times");
  k->times = cJSON_IsNumber(v) ? (int)v->valuedouble : 0;
  v = cJSON_GetObjectItemCaseSensitive(o, "json");
  if (v && !k->body) {
    k->body = json_print(v);
    vec_push(&k->headers, xstrdup("content-type"));
    vec_push(&k->headers, xstrdup("application/json"));
  }
  const cJSON *h;
  cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(o, "headers")) {
    if (!cJSON_IsString(h)) continue;
    char *name = xstrdup(h->string);
    for (char *p = name; *p; p++) *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    vec_push(&k->headers, name);
    vec_push(&k->headers, xstrdup(h->valuestring));
  }
  vec_push(&m->mocks, k);
  return 0;
}

int sty_mocks_from_json(struct sty_mocks *m, const cJSON *list, char *err, size_t errlen) {
  if (!list) return 0;
  if (!cJSON_IsArray(list)) {
    snprintf(err, errlen, "mocks: expected a list of mocks");
    return -1;
  }
  size_t i = 0;
  const cJSON *o;
  cJSON_ArrayForEach(o, list) {
    if (mock_from_json(m, o, i++, err, errlen) != 0) return -1;
  }
  return 0;
}

/* }============================================================ */

/* {===================== the transport ===================== */

static void pending_closed(uv_handle_t *h) { free(h->data); }

static void deliver(struct pending *p, const char *cancel_error) {
  struct sty_mocks *m = p->m;
  struct sty_call *c = m->calls.items[p->id - 1];
  struct sty_http_resp r = {0};
  struct sty_header hs[16];
  const struct mock *k = p->mock;
  r.attempts = 1;
  r.ms = (double)uv_now(m->loop) - p->t0;
  if (cancel_error) {
    r.error = cancel_error;
  } else if (!k) {
    r.error = p->error;
  } else if (k->error) {
    r.error = k->error;
  } else {
    size_t n = 0;
    for (size_t i = 0; i + 1 < k->headers.len && n < 16; i += 2, n++)
      hs[n].name = k->headers.items[i], hs[n].value = k->headers.items[i + 1];
    r.status = k->status;
    r.headers = hs;
    r.nheaders = n;
    r.body = k->body ? k->body : "";
    r.body_len = strlen(r.body);
  }
  c->status = r.status;
  if (r.error && !c->error) c->error = xstrdup(r.error);
  c->done = true;
  m->inflight--;
  p->done(&r, p->arg);
  free(p->error);
  p->error = NULL;
  p->timer.data = p;
  uv_close((uv_handle_t *)&p->timer, pending_closed);
}

static void on_timer(uv_timer_t *t) { deliver(t->data, NULL); }

static int mock_request(void *self, const struct sty_http_req *q, sty_http_done_cb done,
                        void *arg, long long *id, char *err, size_t errlen) {
  struct sty_mocks *m = self;
  if (strncmp(q->url, "http://", 7) != 0 && strncmp(q->url, "https://", 8) != 0) {
    snprintf(err, errlen, "bad url: only http:// and https:// are allowed");
    return -1;
  }
  struct sty_call *c = xcalloc(1, sizeof *c);
  c->method = xstrdup(q->method);
  c->url = xstrdup(q->url);
  c->body = q->body ? xstrndup(q->body, q->body_len) : NULL;
  vec_push(&m->calls, c);
  struct pending *p = xcalloc(1, sizeof *p);
  p->m = m;
  p->done = done;
  p->arg = arg;
  p->id = (long long)m->calls.len;
  p->t0 = (double)uv_now(m->loop);
  for (size_t i = 0; i < m->mocks.len && !p->mock; i++) {
    struct mock *k = m->mocks.items[i];
    if (k->times && k->used >= k->times) continue;
    if (k->method && strcmp(k->method, q->method) != 0) continue;
    if (!wildcard_match(k->url, q->url, strlen(q->url))) continue;
    k->used++;
    p->mock = k;
  }
  if (!p->mock) {
    p->error = xasprintf("no mock for %s %s", q->method, q->url);
    c->unmatched = true;
  }
  if (uv_timer_init(m->loop, &p->timer) != 0) {
    free(p->error), free(p);
    snprintf(err, errlen, "cannot start a timer");
    return -1;
  }
  p->timer.data = p;
  double delay = p->mock ? p->mock->delay : 0;
  if (uv_timer_start(&p->timer, on_timer, (uint64_t)(delay * 1000.0), 0) != 0) {
    uv_close((uv_handle_t *)&p->timer, pending_closed);
    snprintf(err, errlen, "cannot start a timer");
    return -1;
  }
  c->pending = p;
  m->inflight++;
  *id = p->id;
  return 0;
}

static void mock_cancel(void *self, long long id) {
  struct sty_mocks *m = self;
  if (id < 1 || (size_t)id > m->calls.len) return;
  struct sty_call *c = m->calls.items[id - 1];
  if (c->done) return;
  uv_timer_stop(&((struct pending *)c->pending)->timer);
  deliver(c->pending, "cancelled");
}

void sty_mocks_transport(struct sty_mocks *m, struct sty_transport *out) {
  out->request = mock_request;
  out->cancel = mock_cancel;
  out->self = m;
}

/* Plugs: each operation is recorded as a call with method = the operation in capitals
 * and url = "plug://host:port" (body: the seconds of a pulse), and answered after the
 * delay of the first mock that matches it (an `error` there fails it), else at once with
 * success: a plug that is always there. */
struct plug_pending {
  uv_timer_t timer;
  struct sty_mocks *m;
  struct sty_call *call;
  const struct mock *mock;
  struct sty_plug_req req;
  char host[256];
  sty_plug_done_cb done;
  void *arg;
  bool detached;
};

static void plug_closed(uv_handle_t *h) { free(h->data); }

static void plug_deliver(uv_timer_t *t) {
  struct plug_pending *p = t->data;
  struct sty_plug_resp r = {0};
  r.code = "ok";
  if (p->mock && p->mock->error) {
    r.error = p->mock->error;
    r.code = strstr(p->mock->error, "cooldown") ? "cooldown" : "error";
  } else if (strcmp(p->req.op, "info") == 0) {
    r.alias = "mock plug";
    r.model = "HS100(MOCK)";
  } else if (strcmp(p->req.op, "pulse") == 0) {
    r.seconds = p->req.seconds;
    r.deadline = (double)uv_now(p->m->loop) / 1000.0 + p->req.seconds;
    r.rule_id = "mock-rule";
  }
  p->call->done = true;
  p->call->status = r.error ? 0 : 200;
  if (r.error) p->call->error = xstrdup(r.error);
  p->m->inflight--;
  if (!p->detached) p->done(&r, p->arg);
  uv_close((uv_handle_t *)&p->timer, plug_closed);
}

static int plug_request(void *self, const struct sty_plug_req *q, sty_plug_done_cb done,
                        void *arg, void **op, char *err, size_t errlen) {
  struct sty_mocks *m = self;
  struct plug_pending *p = xcalloc(1, sizeof *p);
  char method[16];
  size_t i;
  for (i = 0; q->op[i] && i + 1 < sizeof method; i++)
    method[i] = (char)(q->op[i] >= 'a' && q->op[i] <= 'z' ? q->op[i] - 32 : q->op[i]);
  method[i] = '\0';
  struct sty_call *c = xcalloc(1, sizeof *c);
  c->method = xstrdup(method);
  c->url = xasprintf("plug://%s:%d", q->host, q->port);
  c->body = q->seconds ? xasprintf("%d", q->seconds) : NULL;
  vec_push(&m->calls, c);
  p->m = m;
  p->call = c;
  p->req = *q;
  snprintf(p->host, sizeof p->host, "%s", q->host);
  p->req.host = p->host;
  p->done = done;
  p->arg = arg;
  for (size_t k = 0; k < m->mocks.len && !p->mock; k++) {
    struct mock *mk = m->mocks.items[k];
    if ((!mk->times || mk->used < mk->times) && (!mk->method || strcmp(mk->method, method) == 0) &&
        wildcard_match(mk->url, c->url, strlen(c->url))) {
      mk->used++;
      p->mock = mk;
    }
  }
  if (uv_timer_init(m->loop, &p->timer) != 0) {
    free(p);
    snprintf(err, errlen, "cannot start a timer");
    return -1;
  }
  p->timer.data = p;
  uv_timer_start(&p->timer, plug_deliver, p->mock ? (uint64_t)(p->mock->delay * 1000.0) : 0, 0);
  m->inflight++;
  *op = p;
  return 0;
}

static void plug_detach(void *self, void *op) {
  (void)self;
  ((struct plug_pending *)op)->detached = true;
}

void sty_mocks_plugs(struct sty_mocks *m, struct sty_plugs *out) {
  out->request = plug_request;
  out->detach = plug_detach;
  out->self = m;
}

/* }============================================================ */

/* {===================== story tests ===================== */

struct outcome {
  bool finished, ok;
  char *error, *result;
};

static void on_done(bool ok, const char *error, const char *result, void *ud) {
  struct outcome *o = ud;
  o->finished = true;
  o->ok = ok;
  o->error = error ? xstrdup(error) : NULL;
  o->result = result ? xstrdup(result) : NULL;
}

/* True when every key of want has an equal value in got (recursively for objects). */
static bool subset(const cJSON *want, const cJSON *got) {
  if (cJSON_IsObject(want)) {
    if (!cJSON_IsObject(got)) return false;
    const cJSON *w;
    cJSON_ArrayForEach(w, want) {
      if (!subset(w, cJSON_GetObjectItemCaseSensitive(got, w->string))) return false;
    }
    return true;
  }
  return got && json_equal(want, got);
}

static cJSON *lua_field_json(lua_State *L, int t, const char *k, char *err, size_t errlen) {
  lua_getfield(L, t, k);
  cJSON *j = lua_isnil(L, -1) ? NULL : json_lua_to_cjson(L, -1, err, errlen);
  lua_pop(L, 1);
  return j;
}

static void check_calls(struct buf *f, const struct sty_mocks *m, const cJSON *expect) {
  const cJSON *x;
  size_t i = 0;
  cJSON_ArrayForEach(x, expect) {
    i++;
    const char *method = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "method"));
    const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, "url"));
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(x, "count");
    if (!url) {
      buf_printf(f, "expect_calls[%zu]: url is required; ", i);
      continue;
    }
    int want = cJSON_IsNumber(count) ? (int)count->valuedouble : 1, got = 0;
    for (size_t k = 0; k < m->calls.len; k++) {
      const struct sty_call *c = m->calls.items[k];
      if ((!method || strcasecmp(method, c->method) == 0) && wildcard_match(url, c->url, strlen(c->url))) got++;
    }
    if (got != want)
      buf_printf(f, "expected %d call%s to %s %s, got %d; ", want, want == 1 ? "" : "s",
                 method ? method : "*", url, got);
  }
}

static void run_one(struct sty_engine *e, struct sty_mocks *m, size_t story, int tidx,
                    sty_test_report_cb report, void *ud) {
  lua_State *L = sty_lua(e);
  int t = lua_gettop(L);
  char err[256] = "";
  struct buf f;
  buf_init(&f);
  lua_getfield(L, t, "name");
  char *name = lua_type(L, -1) == LUA_TSTRING ? xstrdup(lua_tostring(L, -1)) : xasprintf("test %d", tidx);
  lua_pop(L, 1);
  sty_mocks_reset(m);
  cJSON *alert = lua_field_json(L, t, "alert", err, sizeof err);
  cJSON *mocks = err[0] ? NULL : lua_field_json(L, t, "mocks", err, sizeof err);
  cJSON *settings = err[0] ? NULL : lua_field_json(L, t, "settings", err, sizeof err);
  cJSON *secrets = err[0] ? NULL : lua_field_json(L, t, "secrets", err, sizeof err);
  cJSON *calls = err[0] ? NULL : lua_field_json(L, t, "expect_calls", err, sizeof err);
  cJSON *expect = err[0] ? NULL : lua_field_json(L, t, "expect", err, sizeof err);
  lua_getfield(L, t, "expect_error");
  char *expect_error = lua_type(L, -1) == LUA_TSTRING ? xstrdup(lua_tostring(L, -1)) : NULL;
  lua_pop(L, 1);
  if (!err[0] && !cJSON_IsObject(alert)) snprintf(err, sizeof err, "alert (a table) is required");
  if (!err[0]) sty_mocks_from_json(m, mocks, err, sizeof err);
  if (err[0]) {
    buf_printf(&f, "%s", err);
  } else {
    struct vec pairs = {0};
    const cJSON *s;
    cJSON_ArrayForEach(s, secrets) {
      if (cJSON_IsString(s)) vec_push(&pairs, xasprintf("%s=%s", s->string, s->valuestring));
    }
    sty_set_secrets(e, (const char *const *)pairs.items, pairs.len);
    for (size_t i = 0; i < pairs.len; i++) free(pairs.items[i]);
    vec_free(&pairs);
    char *sj = settings ? json_print(settings) : NULL;
    sty_set_settings(e, sj);
    free(sj);
    char *aj = json_print(alert);
    struct outcome o = {0};
    if (sty_run_once(e, story, aj, on_done, &o) != 0) buf_printf(&f, "the run could not start");
    free(aj);
    while (!o.finished && uv_run(m->loop, UV_RUN_ONCE)) {
    }
    if (!o.finished && !f.len) buf_printf(&f, "the run never finished");
    if (o.finished) {
      if (expect_error) {
        if (o.ok) buf_printf(&f, "expected an error containing \"%s\", the run succeeded; ", expect_error);
        else if (!strstr(o.error ? o.error : "", expect_error))
          buf_printf(&f, "expected an error containing \"%s\", got: %s; ", expect_error, o.error);
      } else if (!o.ok) {
        buf_printf(&f, "run failed: %s; ", o.error);
      }
      for (size_t k = 0; k < m->calls.len && !expect_error; k++) {
        const struct sty_call *c = m->calls.items[k];
        if (c->unmatched) buf_printf(&f, "unmocked call %s %s; ", c->method, c->url);
      }
      check_calls(&f, m, calls);
      if (expect) {
        cJSON *got = o.result ? json_parse(o.result, strlen(o.result), NULL) : NULL;
        if (!subset(expect, got)) {
          char *w = json_print(expect);
          buf_printf(&f, "expected the result to contain %s, got %s; ", w,
                     o.result ? o.result : "nothing");
          free(w);
        }
        cJSON_Delete(got);
      }
    }
    free(o.error), free(o.result);
    sty_set_settings(e, NULL);
    sty_set_secrets(e, NULL, 0);
  }
  while (m->inflight && uv_run(m->loop, UV_RUN_ONCE)) {
  }
  if (f.len > 2 && f.data[f.len - 2] == ';') f.data[f.len -= 2] = '\0';
  report(sty_file(e, story), sty_name(e, story), name, f.len ? f.data : NULL, ud);
  buf_free(&f);
  free(name), free(expect_error);
  cJSON_Delete(alert), cJSON_Delete(mocks), cJSON_Delete(settings), cJSON_Delete(secrets);
  cJSON_Delete(calls), cJSON_Delete(expect);
  lua_settop(L, t);
}

static void engine_closed(void *ud) { *(bool *)ud = true; }

int sty_run_tests(char *const *paths, size_t npaths, const char *filter, bool verbose,
                  bool require_tests, sty_test_report_cb report, void *ud) {
  uv_loop_t loop;
  struct sty_mocks m;
  struct sty_transport tr;
  struct sty_plugs plugs;
  struct vec diags = {0};
  char *errmsg = NULL;
  if (uv_loop_init(&loop) != 0) return -1;
  sty_mocks_init(&m, &loop);
  sty_mocks_transport(&m, &tr);
  sty_mocks_plugs(&m, &plugs);
  struct sty_options o = {0};
  o.loop = &loop;
  o.http = &tr;
  o.plugs = &plugs;
  o.quiet = !verbose;
  o.timeout = 60;
  struct sty_engine *e = sty_new(&o, paths, npaths, &diags, &errmsg);
  if (!e) {
    report("(stories)", "(stories)", "(load)", errmsg, ud);
    free(errmsg);
    uv_loop_close(&loop);
    return -1;
  }
  for (size_t i = 0; i < diags.len; i++) {
    report(diags.items[i], "(stories)", "(load)", diags.items[i], ud);
    free(diags.items[i]);
  }
  vec_free(&diags);
  for (size_t i = 0; i < sty_count(e); i++) {
    lua_State *L = sty_lua(e);
    sty_push_tests(e, i);
    if (lua_istable(L, -1)) {
      int tests = lua_gettop(L);
      lua_Integer n = (lua_Integer)lua_rawlen(L, tests);
      for (lua_Integer k = 1; k <= n; k++) {
        lua_rawgeti(L, tests, k);
        lua_getfield(L, -1, "name");
        const char *tn = lua_tostring(L, -1);
        bool sel = !filter || strstr(sty_name(e, i), filter) || strstr(sty_file(e, i), filter) ||
                   (tn && strstr(tn, filter));
        lua_pop(L, 1);
        if (sel && lua_istable(L, -1)) run_one(e, &m, i, (int)k, report, ud);
        else if (sel) report(sty_file(e, i), sty_name(e, i), "(tests)", "each test must be a table", ud);
        lua_settop(L, tests);
      }
    } else if (!lua_isnil(L, -1)) {
      report(sty_file(e, i), sty_name(e, i), "(tests)", "'tests' must be a list of tests", ud);
    } else if (require_tests) {
      report(sty_file(e, i), sty_name(e, i), "(has tests)", "no tests (--require-tests)", ud);
    }
    lua_pop(L, 1);
  }
  bool closed = false;
  sty_close(e, engine_closed, &closed);
  while (uv_run(&loop, UV_RUN_DEFAULT)) {
  }
  sty_mocks_free(&m);
  if (uv_loop_close(&loop) != 0) log_warn("story tests: loop closed with handles open");
  return 0;
}

/* }============================================================ */

/* story.c — the story engine (see story.h).
 *
 * The functions stories call (http, plug, parallel, sleep, step, secret, log) are in
 * story_api.c; this file loads stories, selects them for alerts and runs them.
 *
 * Runs and fibers. A run is one attempt at story.run(alert); it starts as one fiber (a
 * Lua thread) and parallel() adds child fibers. A fiber is resumed only from a loop
 * callback: the ready queue (drained by an idle handle), an HTTP completion or a timer.
 * While it runs, e->cur names it, which is how the yielding C functions (http, sleep,
 * parallel) find their fiber. A fiber blocked in I/O holds one `pending` count on its run;
 * a run is freed when it is finished and nothing is pending, so a late HTTP answer for a
 * run that timed out finds it still allocated and is dropped.
 *
 * Budgets: the run's instruction allowance is carried from resume to resume (vm.c counts
 * it while the fiber runs), and a wall-clock timer fails the attempt when it expires.
 *
 * Durability (with a store): the run row exists before the run starts (sty_trigger);
 * state, attempts and timings are written at start and end, and each step's result as
 * soon as the step returns, each in its own commit. A failed attempt is retried after
 * retry_delay * 2^(attempt-1) with jitter, up to max_attempts, then the run is dead.
 * SPDX-License-Identifier: MIT
 */
#include "story_int.h"

#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "detect.h"
#include "json.h"
#include "json_lua.h"
#include "log.h"
#include "lookup.h"
#include "lookup_lua.h"
#include "sandbox.h"
#include "store.h"
#include "vm.h"
#include "wildcard.h"

struct sty_engine *sty_engine_of(lua_State *L) { return vm_from(L)->owner; }

/* {===================== small helpers ===================== */

/* Copies s with every secret value handed out so far replaced by [redacted]. */
char *sty_redact(const struct sty_engine *e, const char *s) {
  char *out = xstrdup(s ? s : "");
  for (size_t i = 0; i < e->redact.len; i++) {
    const char *v = e->redact.items[i];
    size_t vl = strlen(v);
    if (vl < 4) continue; /* too short to scrub without mangling ordinary text */
    for (char *p; (p = strstr(out, v)) != NULL;) {
      char *n = xasprintf("%.*s[redacted]%s", (int)(p - out), out, p + vl);
      free(out);
      out = n;
    }
  }
  return out;
}

void sty_emit_trace(struct sty_engine *e, struct sty_trace *t) {
  if (e->o.trace) e->o.trace(t, e->o.ud);
}

void sty_trace_base(struct sty_run *r, struct sty_trace *t, enum sty_trace_kind kind) {
  memset(t, 0, sizeof *t);
  t->kind = kind;
  t->story = ((struct sty_story *)r->e->stories.items[r->story])->name;
  t->run = r->id;
  t->attempt = r->attempt;
}


static void handle_closed(uv_handle_t *h) {
  struct sty_engine *e = h->data;
  free(h);
  if (--e->handles == 0 && e->closing) {
    void (*cb)(void *) = e->closed;
    void *ud = e->closed_ud;
    free(e);
    if (cb) cb(ud);
  }
}

uv_timer_t *sty_new_timer(struct sty_engine *e, void *data) {
  uv_timer_t *t = xcalloc(1, sizeof *t);
  if (uv_timer_init(e->o.loop, t) != 0) {
    free(t);
    return NULL;
  }
  t->data = data;
  e->handles++;
  return t;
}

void sty_close_timer(struct sty_engine *e, uv_timer_t *t) {
  if (!t) return;
  uv_timer_stop(t);
  t->data = e;
  uv_close((uv_handle_t *)t, handle_closed);
}

/* }============================================================ */

/* {===================== persistence ===================== */

static void store_commit_or_log(struct sty_engine *e, const char *what) {
  struct store *st = e->o.store;
  if (store_in_transaction(st) && store_commit(st) != 0)
    log_error("stories: %s: %s", what, store_errmsg(st));
}

/* Writes the run's row: state, attempts, error, steps and times. */
void sty_save_run(struct sty_run *r, const char *state, const char *error, double next_at) {
  struct sty_engine *e = r->e;
  if (!e->o.store || !r->id) return;
  char *steps = cJSON_PrintUnformatted(r->steps);
  char *err = error ? sty_redact(e, error) : NULL;
  struct store_run row = {0};
  row.id = r->id;
  row.state = xstrdup(state);
  row.attempts = r->attempt;
  row.last_error = err;
  row.steps = steps;
  row.started_at = r->started;
  row.finished_at = next_at > 0 || strcmp(state, "running") == 0 ? 0 : clk_now();
  row.next_at = next_at;
  bool own = !store_in_transaction(e->o.store) && store_begin(e->o.store) == 0;
  if (store_run_update(e->o.store, &row) != 0)
    log_error("stories: run %lld: %s", r->id, store_errmsg(e->o.store));
  if (own || store_in_transaction(e->o.store)) store_commit_or_log(e, "commit");
  free(err);
  free(row.state);
  cJSON_free(steps);
}

/* }============================================================ */

/* {===================== runs ===================== */

static void fiber_resume(struct sty_fiber *f, int nargs);
static void run_finish(struct sty_run *r, bool ok, const char *error, const char *result);
static void on_idle(uv_idle_t *h);
static void start_queued(struct sty_engine *e);

static void run_free(struct sty_run *r) {
  struct sty_engine *e = r->e;
  lua_State *L = e->vm->L;
  for (size_t i = 0; i < r->fibers.len; i++) {
    struct sty_fiber *f = r->fibers.items[i];
    luaL_unref(L, LUA_REGISTRYINDEX, f->ref);
    if (f->results_ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, f->results_ref);
    free(f->child_error);
    free(f);
  }
  vec_free(&r->fibers);
  vec_free(&r->calls);
  vec_free(&r->plug_ops);
  for (size_t i = 0; i < e->runs.len; i++)
    if (e->runs.items[i] == r) {
      e->runs.items[i] = e->runs.items[--e->runs.len];
      break;
    }
  cJSON_Delete(r->steps);
  free(r->alert_json);
  free(r);
}

/* A fiber's I/O came back: one less thing the run waits for. Returns false when the run
 * is over (the result is dropped), after freeing it if that was the last wait. */
bool sty_io_back(struct sty_fiber *f) {
  struct sty_run *r = f->run;
  r->pending--;
  if (!r->finished) return true;
  if (r->pending == 0 && !r->closing) run_free(r);
  return false;
}

struct sty_fiber *sty_fiber_new(struct sty_run *r, struct sty_fiber *parent) {
  lua_State *L = r->e->vm->L;
  struct sty_fiber *f = xcalloc(1, sizeof *f);
  f->run = r;
  f->parent = parent;
  f->results_ref = LUA_NOREF;
  f->co = lua_newthread(L);
  f->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  vec_push(&r->fibers, f);
  return f;
}

void sty_make_ready(struct sty_fiber *f, int nargs) {
  struct sty_engine *e = f->run->e;
  f->nargs_ready = nargs;
  f->queued = true;
  f->next_ready = NULL;
  if (e->ready_tail) e->ready_tail->next_ready = f;
  else e->ready_head = f;
  e->ready_tail = f;
  if (!e->idle_on && uv_idle_start(e->idle, on_idle) == 0) e->idle_on = true;
}

/* A fiber returned (or failed): hand its first result to its parent, or end the run. */
static void fiber_done(struct sty_fiber *f, int nres, const char *error) {
  struct sty_run *r = f->run;
  lua_State *L = r->e->vm->L;
  f->done = true;
  if (!f->parent) {
    char *result = NULL;
    if (!error && nres > 0) {
      struct buf b;
      char err[200];
      buf_init(&b);
      if (json_lua_encode_buf(f->co, -nres, &b, err, sizeof err) == 0) result = buf_take(&b);
      buf_free(&b);
    }
    run_finish(r, error == NULL, error, result);
    free(result);
    return;
  }
  struct sty_fiber *p = f->parent;
  if (error) {
    if (!p->child_error) p->child_error = xstrdup(error);
  } else {
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->results_ref);
    if (nres > 0) lua_xmove(f->co, L, 1);
    else lua_pushnil(L);
    lua_rawseti(L, -2, f->slot);
    lua_pop(L, 1);
  }
  if (--p->children == 0) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->results_ref);
    int n = (int)lua_rawlen(L, -1);
    lua_pop(L, 1);
    sty_make_ready(p, n); /* values pushed by the parallel continuation */
  }
}

static void fiber_resume(struct sty_fiber *f, int nargs) {
  struct sty_run *r = f->run;
  struct sty_engine *e = r->e;
  struct vm *vm = e->vm;
  struct sty_fiber *saved = e->cur;
  int nres = 0;
  e->cur = f;
  vm->killed = VM_KILL_NONE;
  vm->budget_left = r->budget_left;
  vm->depth++;
  int st = lua_resume(f->co, vm->L, nargs, &nres);
  vm->depth--;
  r->budget_left = vm->budget_left;
  e->cur = saved;
  if (st == LUA_YIELD) {
    lua_pop(f->co, nres);
    return;
  }
  if (st == LUA_OK) {
    fiber_done(f, nres, NULL);
    return;
  }
  const char *msg = lua_tostring(f->co, -1);
  if (vm->killed == VM_KILL_MEMORY) msg = "memory cap reached";
  luaL_traceback(vm->L, f->co, msg ? msg : "(error object is not a string)", 0);
  char *err = xstrdup(lua_tostring(vm->L, -1));
  lua_pop(vm->L, 1);
  if (vm->killed) {
    if (vm->killed == VM_KILL_MEMORY) vm_recover(vm);
    vm->killed = VM_KILL_NONE;
  }
  fiber_done(f, 0, err);
  free(err);
}

static void on_idle(uv_idle_t *h) {
  struct sty_engine *e = h->data;
  while (e->ready_head) {
    struct sty_fiber *f = e->ready_head;
    e->ready_head = f->next_ready;
    if (!e->ready_head) e->ready_tail = NULL;
    f->queued = false;
    if (f->run->finished) continue;
    if (f->children == 0 && f->results_ref != LUA_NOREF) {
      /* back from parallel(): push the children's results in order */
      lua_State *L = e->vm->L;
      lua_rawgeti(L, LUA_REGISTRYINDEX, f->results_ref);
      lua_checkstack(f->co, f->nargs_ready + 2);
      for (int i = 1; i <= f->nargs_ready; i++) {
        lua_rawgeti(L, -1, i);
        lua_xmove(L, f->co, 1);
      }
      lua_pop(L, 1);
      luaL_unref(L, LUA_REGISTRYINDEX, f->results_ref);
      f->results_ref = LUA_NOREF;
    }
    fiber_resume(f, f->nargs_ready);
  }
  start_queued(e);
  if (!e->ready_head && !e->queued.len) {
    uv_idle_stop(e->idle);
    e->idle_on = false;
  }
}

static void on_deadline(uv_timer_t *t) {
  struct sty_run *r = t->data;
  char msg[96];
  snprintf(msg, sizeof msg, "wall-clock budget exceeded (%.0f s)", r->e->o.timeout);
  run_finish(r, false, msg, NULL);
}

static void run_finish(struct sty_run *r, bool ok, const char *error, const char *result) {
  struct sty_engine *e = r->e;
  struct sty_story *s = e->stories.items[r->story];
  if (r->finished) return;
  r->finished = true;
  sty_close_timer(e, r->deadline);
  r->deadline = NULL;
  for (size_t i = 0; i < r->fibers.len; i++) { /* stop sleeps; HTTP answers are dropped */
    struct sty_fiber *f = r->fibers.items[i];
    if (f->sleep) {
      sty_close_timer(e, f->sleep);
      f->sleep = NULL;
      r->pending--;
    }
  }
  char *err = error ? sty_redact(e, error) : NULL;
  struct sty_trace t;
  sty_trace_base(r, &t, STY_T_END);
  t.ok = ok;
  t.msg = err;
  t.result = result;
  t.ms = (clk_now() - r->started) * 1000.0;
  sty_emit_trace(e, &t);
  if (ok) {
    sty_save_run(r, "succeeded", NULL, 0);
    if (!e->o.quiet) log_info("story %s: run %lld succeeded (attempt %d)", s->name, r->id, r->attempt);
  } else if (r->id && r->attempt < e->o.max_attempts) {
    double delay = e->o.retry_delay * pow(2.0, r->attempt - 1);
    delay *= 0.75 + 0.5 * ((double)rand() / RAND_MAX); /* jitter: runs failing together spread */
    sty_save_run(r, "waiting", err, clk_now() + delay);
    if (!e->o.quiet)
      log_warn("story %s: run %lld attempt %d failed, retry in %.0f s: %s", s->name, r->id,
             r->attempt, delay, err);
  } else {
    sty_save_run(r, r->id ? "dead" : "failed", err, 0);
    if (!e->o.quiet)
      log_error("story %s: run %lld failed%s: %s", s->name, r->id,
              r->id ? " for good (lp0 runs retry to try again)" : "", err);
  }
  if (r->done) r->done(ok, err, result, r->done_ud);
  free(err);
  if (r->pending == 0) run_free(r);
}

/* Starts an attempt of story i. steps_json: stored step results (resume), or NULL. */
static int run_start(struct sty_engine *e, size_t i, long long id, long long alert_id,
                     int attempt, const char *alert_json, const char *steps_json, sty_done_cb done, void *ud) {
  lua_State *L = e->vm->L;
  struct sty_story *s = e->stories.items[i];
  cJSON *alert = json_parse(alert_json, strlen(alert_json), NULL);
  if (!alert) return -1;
  struct sty_run *r = xcalloc(1, sizeof *r);
  r->e = e;
  r->story = i;
  r->id = id;
  r->attempt = attempt;
  r->alert_json = xstrdup(alert_json);
  r->steps = steps_json ? json_parse(steps_json, strlen(steps_json), NULL) : NULL;
  if (!cJSON_IsObject(r->steps)) {
    cJSON_Delete(r->steps);
    r->steps = cJSON_CreateObject();
  }
  r->budget_left = e->o.budget;
  r->started = clk_now();
  r->done = done;
  r->done_ud = ud;
  vec_push(&e->runs, r);
  r->deadline = sty_new_timer(e, r);
  if (r->deadline) uv_timer_start(r->deadline, on_deadline, (uint64_t)(e->o.timeout * 1000), 0);
  sty_save_run(r, "running", NULL, 0);
  struct sty_trace t;
  sty_trace_base(r, &t, STY_T_START);
  sty_emit_trace(e, &t);
  struct sty_fiber *f = sty_fiber_new(r, NULL);
  lua_rawgeti(L, LUA_REGISTRYINDEX, s->run_ref);
  lua_xmove(L, f->co, 1);
  json_lua_push(f->co, alert);
  if (alert_id > 0) {
    lua_pushinteger(f->co, alert_id);
    lua_setfield(f->co, -2, "id");
  }
  cJSON_Delete(alert);
  sty_make_ready(f, 1);
  return 0;
}

struct due_ctx {
  struct sty_engine *e;
  int started;
};

static bool is_running(const struct sty_engine *e, long long id) {
  for (size_t i = 0; i < e->runs.len; i++)
    if (((struct sty_run *)e->runs.items[i])->id == id) return true;
  return false;
}

/* A recorded run to start: find its story and alert, then begin the next attempt. */
static int start_recorded(const struct store_run *row, void *ud) {
  struct due_ctx *c = ud;
  struct sty_engine *e = c->e;
  if (is_running(e, row->id)) return 0;
  if (e->runs.len >= (size_t)e->o.max_running) return 1;
  int i = sty_find(e, row->story);
  char *alert = NULL;
  int rc = i < 0 ? -1 : store_get_alert_json(e->o.store, row->alert_id, &alert);
  if (rc != 0) {
    struct store_run upd = *row;
    char state[] = "failed", gone[] = "no such story in the running set",
         noalert[] = "its alert is not in the store";
    upd.state = state;
    upd.last_error = i < 0 ? gone : noalert;
    upd.finished_at = clk_now();
    upd.next_at = 0;
    bool own = !store_in_transaction(e->o.store) && store_begin(e->o.store) == 0;
    if (store_run_update(e->o.store, &upd) != 0) log_error("stories: %s", store_errmsg(e->o.store));
    if (own) store_commit_or_log(e, "commit");
    log_error("story %s: run %lld failed: %s", row->story, row->id, upd.last_error);
    return 0;
  }
  if (run_start(e, (size_t)i, row->id, row->alert_id, row->attempts + 1, alert, row->steps,
                NULL, NULL) == 0)
    c->started++;
  free(alert);
  return 0;
}

static void start_queued(struct sty_engine *e) {
  if (!e->queued.len || !e->o.store || e->closing) {
    e->queued.len = 0;
    return;
  }
  for (size_t k = 0; k < e->queued.len; k++) {
    long long id = (long long)(intptr_t)e->queued.items[k];
    struct store_run row;
    if (store_run_get(e->o.store, id, &row) != 0) continue;
    struct due_ctx c = {e, 0};
    if (strcmp(row.state, "pending") == 0) start_recorded(&row, &c);
    store_run_clear(&row);
  }
  e->queued.len = 0;
}

/* }============================================================ */


/* {===================== loading ===================== */

static void diag(struct vec *diags, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diag(struct vec *diags, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (diags) vec_push(diags, xstrdup(msg));
  else log_error("%s", msg);
}

static void collect(const char *path, struct vec *out, bool top, struct vec *diags) {
  struct stat st;
  if (stat(path, &st) != 0) {
    if (top && errno != ENOENT) diag(diags, "%s: cannot open: %s", path, strerror(errno));
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (!str_ends_with(path, "_spec.lua") && (top || str_ends_with(path, ".lua")))
      vec_push(out, xstrdup(path));
    return;
  }
  DIR *dir = opendir(path);
  if (!dir) {
    diag(diags, "%s: cannot open folder: %s", path, strerror(errno));
    return;
  }
  struct vec names = {0};
  struct dirent *de;
  while ((de = readdir(dir)) != NULL)
    if (de->d_name[0] != '.' && strcmp(de->d_name, "lib") != 0) vec_push(&names, xstrdup(de->d_name));
  closedir(dir);
  if (names.len > 1) qsort(names.items, names.len, sizeof *names.items, sty_cmp_cstr);
  for (size_t i = 0; i < names.len; i++) {
    char *child = xasprintf("%s/%s", path, (char *)names.items[i]);
    collect(child, out, false, diags);
    free(child);
    free(names.items[i]);
  }
  vec_free(&names);
}

static char **string_list(lua_State *L, int idx, size_t *n, bool *bad) {
  *n = 0;
  if (lua_isstring(L, idx)) {
    char **v = xcalloc(1, sizeof *v);
    v[0] = xstrdup(lua_tostring(L, idx));
    *n = 1;
    return v;
  }
  if (!lua_istable(L, idx)) {
    if (!lua_isnil(L, idx)) *bad = true;
    return NULL;
  }
  size_t len = lua_rawlen(L, idx);
  char **v = xcalloc(len + 1, sizeof *v);
  for (size_t i = 1; i <= len; i++) {
    lua_rawgeti(L, idx, (lua_Integer)i);
    if (lua_type(L, -1) == LUA_TSTRING) v[(*n)++] = xstrdup(lua_tostring(L, -1));
    else *bad = true;
    lua_pop(L, 1);
  }
  return v;
}

static void story_free(lua_State *L, struct sty_story *s) {
  if (L) {
    luaL_unref(L, LUA_REGISTRYINDEX, s->env_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, s->run_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, s->on_ref);
  }
  for (size_t i = 0; i < s->ndets; i++) free(s->dets[i]);
  for (size_t i = 0; i < s->ntags; i++) free(s->tags[i]);
  free(s->dets), free(s->tags), free(s->name), free(s->file);
  free(s);
}

static char *stem(const char *path) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  size_t n = strlen(b);
  if (n > 4 && strcmp(b + n - 4, ".lua") == 0) n -= 4;
  return xstrndup(b, n);
}

/* Reads `on` (table at idx) into s. Returns an error message or NULL. */
static const char *read_trigger(lua_State *L, int idx, struct sty_story *s) {
  bool bad = false;
  lua_getfield(L, idx, "detections");
  s->dets = string_list(L, -1, &s->ndets, &bad);
  lua_pop(L, 1);
  if (bad) return "on.detections must be a list of detection ids or globs";
  lua_getfield(L, idx, "tags");
  s->tags = string_list(L, -1, &s->ntags, &bad);
  lua_pop(L, 1);
  if (bad) return "on.tags must be a list of strings";
  lua_getfield(L, idx, "severity_at_least");
  if (!lua_isnil(L, -1)) {
    s->min_sev = lua_type(L, -1) == LUA_TSTRING ? det_sev_parse(lua_tostring(L, -1)) : -1;
    if (s->min_sev < 0) {
      lua_pop(L, 1);
      return "on.severity_at_least must be INFO, LOW, MEDIUM, HIGH or CRITICAL";
    }
  }
  lua_pop(L, 1);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    lua_pop(L, 1);
    if (strcmp(k, "detections") && strcmp(k, "tags") && strcmp(k, "severity_at_least")) {
      lua_pop(L, 1);
      return "on: unknown key (detections, tags, severity_at_least, or a function)";
    }
  }
  return NULL;
}

static void load_story(struct sty_engine *e, const char *path, struct vec *diags) {
  lua_State *L = e->vm->L;
  size_t len;
  char *text = read_file(path, &len);
  if (!text) {
    diag(diags, "%s: cannot read: %s", path, strerror(errno));
    return;
  }
  char *chunk = xasprintf("@%s", path);
  int top = lua_gettop(L);
  sbx_new_env(L);
  int env = lua_gettop(L);
  int rc = sbx_load(L, chunk, text, len, env);
  free(chunk), free(text);
  if (rc != 0 || vm_pcall(e->vm, 0, 0, VM_LOAD_BUDGET) != LUA_OK) {
    diag(diags, "%s", lua_tostring(L, -1));
    lua_settop(L, top);
    return;
  }
  struct sty_story *s = xcalloc(1, sizeof *s);
  s->file = xstrdup(path);
  s->min_sev = -1;
  s->env_ref = s->run_ref = s->on_ref = LUA_NOREF;
  const char *problem = NULL;
  lua_getfield(L, env, "name");
  if (lua_type(L, -1) == LUA_TSTRING) s->name = xstrdup(lua_tostring(L, -1));
  else if (lua_isnil(L, -1)) s->name = stem(path);
  else problem = "'name' must be a string";
  lua_pop(L, 1);
  lua_getfield(L, env, "run");
  if (!problem && !lua_isfunction(L, -1)) problem = "a story needs a function run(alert)";
  s->run_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_getfield(L, env, "on");
  if (lua_isfunction(L, -1)) {
    s->has_on = true;
    s->on_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else if (lua_istable(L, -1)) {
    s->has_on = true;
    if (!problem) problem = read_trigger(L, lua_gettop(L), s);
    lua_pop(L, 1);
  } else if (!lua_isnil(L, -1)) {
    if (!problem) problem = "'on' must be a table or a function";
    lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
  }
  if (!problem && sty_find(e, s->name) >= 0) {
    diag(diags, "%s: duplicate story name '%s' (first in %s)", path, s->name,
         sty_file(e, (size_t)sty_find(e, s->name)));
    story_free(L, s);
    lua_settop(L, top);
    return;
  }
  if (problem) {
    diag(diags, "%s: %s", path, problem);
    story_free(L, s);
    lua_settop(L, top);
    return;
  }
  lua_pushvalue(L, env);
  s->env_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, top);
  vec_push(&e->stories, s);
}

static void set_settings(struct sty_engine *e, const char *json) {
  lua_State *L = e->vm->L;
  cJSON *j = json ? json_parse(json, strlen(json), NULL) : NULL;
  if (j) json_lua_push(L, j);
  else lua_newtable(L);
  cJSON_Delete(j);
  sbx_push_readonly(L, -1);
  sbx_push_base(L);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "settings");
  lua_pop(L, 3);
}

struct sty_engine *sty_new(const struct sty_options *o, char *const *paths, size_t npaths,
                           struct vec *diags, char **errmsg) {
  struct sty_engine *e = xcalloc(1, sizeof *e);
  e->o = *o;
  if (e->o.budget <= 0) e->o.budget = STY_DEFAULT_BUDGET;
  if (e->o.timeout <= 0) e->o.timeout = STY_DEFAULT_TIMEOUT;
  if (e->o.max_attempts <= 0) e->o.max_attempts = STY_DEFAULT_ATTEMPTS;
  if (e->o.retry_delay <= 0) e->o.retry_delay = STY_DEFAULT_RETRY_DELAY;
  if (e->o.max_running <= 0) e->o.max_running = STY_DEFAULT_MAX_RUNNING;
  e->vm = vm_new(STY_MEMORY);
  struct vec libdirs = {0};
  for (size_t i = 0; i < npaths; i++) { /* lib/ beside the stories: <dir>/lib, or the file's */
    struct stat st;
    if (stat(paths[i], &st) == 0 && !S_ISDIR(st.st_mode)) {
      const char *slash = strrchr(paths[i], '/');
      vec_push(&libdirs, slash ? xasprintf("%.*s/lib", (int)(slash - paths[i]), paths[i])
                               : xstrdup("lib"));
    } else {
      vec_push(&libdirs, xasprintf("%s/lib", paths[i]));
    }
  }
  int rc = e->vm ? sbx_open(e->vm, (char *const *)libdirs.items, libdirs.len, errmsg) : -1;
  for (size_t i = 0; i < libdirs.len; i++) free(libdirs.items[i]);
  vec_free(&libdirs);
  if (!e->vm) *errmsg = xstrdup("cannot create a Lua state");
  if (rc != 0) {
    vm_free(e->vm);
    free(e);
    return NULL;
  }
  e->vm->owner = e;
  e->vm->quiet_log = o->quiet;
  lua_pushcfunction(e->vm->L, sty_open_api);
  if (vm_pcall(e->vm, 0, 0, VM_LOAD_BUDGET) != LUA_OK) {
    *errmsg = xasprintf("cannot set up the story API: %s", lua_tostring(e->vm->L, -1));
    vm_free(e->vm);
    free(e);
    return NULL;
  }
  set_settings(e, o->settings_json);
  e->lookups = lkp_set_ref(o->lookups);
  sbx_push_base(e->vm->L);
  lkp_lua_register(e->vm->L, e->lookups);
  lua_setfield(e->vm->L, -2, "lookup");
  lua_pop(e->vm->L, 1);
  e->idle = xcalloc(1, sizeof *e->idle);
  if (uv_idle_init(o->loop, e->idle) != 0) {
    *errmsg = xstrdup("cannot set up the story loop handle");
    free(e->idle);
    vm_free(e->vm);
    free(e);
    return NULL;
  }
  e->idle->data = e;
  e->handles = 1;
  struct vec files = {0};
  for (size_t i = 0; i < npaths; i++) collect(paths[i], &files, true, diags);
  for (size_t i = 0; i < files.len; i++) {
    load_story(e, files.items[i], diags);
    free(files.items[i]);
  }
  vec_free(&files);
  return e;
}

void sty_close(struct sty_engine *e, void (*closed)(void *ud), void *ud) {
  e->closing = true;
  e->closed = closed;
  e->closed_ud = ud;
  while (e->runs.len) { /* abandoned: recorded runs stay `running`, resumed at next start */
    struct sty_run *r = e->runs.items[0];
    r->finished = r->closing = true;
    sty_close_timer(e, r->deadline);
    for (size_t i = 0; i < r->fibers.len; i++) {
      struct sty_fiber *f = r->fibers.items[i];
      if (f->sleep) sty_close_timer(e, f->sleep);
    }
    for (size_t i = 0; i < r->plug_ops.len; i++) { /* pulses still end at their deadline */
      struct plug_call *pc = r->plug_ops.items[i];
      e->o.plugs->detach(e->o.plugs->self, pc->handle);
      free(pc->op), free(pc->target), free(pc);
    }
    r->plug_ops.len = 0;
    while (r->calls.len) { /* the callback runs now and takes the call off the list */
      struct http_call *c = r->calls.items[r->calls.len - 1];
      size_t before = r->calls.len;
      e->o.http->cancel(e->o.http->self, c->id);
      if (r->calls.len == before) r->calls.len--; /* a transport that did not call back */
    }
    run_free(r);
  }
  e->ready_head = e->ready_tail = NULL;
  lua_State *L = e->vm->L;
  for (size_t i = 0; i < e->stories.len; i++) story_free(L, e->stories.items[i]);
  vec_free(&e->stories);
  vec_free(&e->runs);
  vec_free(&e->queued);
  for (size_t i = 0; i < e->secrets.len; i++) free(e->secrets.items[i]);
  vec_free(&e->secrets);
  for (size_t i = 0; i < e->redact.len; i++) free(e->redact.items[i]);
  vec_free(&e->redact);
  vm_free(e->vm);
  e->vm = NULL;
  lkp_set_unref(e->lookups);
  uv_idle_stop(e->idle);
  uv_close((uv_handle_t *)e->idle, handle_closed); /* e is freed with the last handle */
}

/* }============================================================ */

/* {===================== queries and triggers ===================== */

size_t sty_count(const struct sty_engine *e) { return e->stories.len; }
const char *sty_name(const struct sty_engine *e, size_t i) {
  return ((struct sty_story *)e->stories.items[i])->name;
}
const char *sty_file(const struct sty_engine *e, size_t i) {
  return ((struct sty_story *)e->stories.items[i])->file;
}
int sty_find(const struct sty_engine *e, const char *name) {
  for (size_t i = 0; i < e->stories.len; i++)
    if (strcmp(sty_name(e, i), name) == 0) return (int)i;
  return -1;
}
lua_State *sty_lua(struct sty_engine *e) { return e->vm->L; }
size_t sty_running(const struct sty_engine *e) { return e->runs.len; }

void sty_push_tests(struct sty_engine *e, size_t i) {
  lua_State *L = e->vm->L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, ((struct sty_story *)e->stories.items[i])->env_ref);
  lua_getfield(L, -1, "tests");
  lua_remove(L, -2);
}

static bool trigger_matches(struct sty_engine *e, struct sty_story *s, const cJSON *alert) {
  if (!s->has_on) return false;
  if (s->on_ref != LUA_NOREF) {
    lua_State *L = e->vm->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->on_ref);
    json_lua_push(L, alert);
    if (vm_pcall(e->vm, 1, 1, STY_TRIGGER_BUDGET) != LUA_OK) {
      log_error("story %s: trigger: %s", s->name, lua_tostring(L, -1));
      lua_pop(L, 1);
      return false;
    }
    bool yes = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return yes;
  }
  const cJSON *det = cJSON_GetObjectItemCaseSensitive(alert, "detection");
  const cJSON *sev = cJSON_GetObjectItemCaseSensitive(alert, "severity");
  const cJSON *tags = cJSON_GetObjectItemCaseSensitive(alert, "tags");
  if (s->ndets) {
    bool any = false;
    for (size_t i = 0; i < s->ndets && !any; i++)
      any = cJSON_IsString(det) && wildcard_match(s->dets[i], det->valuestring, strlen(det->valuestring));
    if (!any) return false;
  }
  if (s->min_sev >= 0 && !(cJSON_IsString(sev) && det_sev_parse(sev->valuestring) >= s->min_sev))
    return false;
  if (s->ntags) {
    bool any = false;
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
      for (size_t i = 0; i < s->ntags && !any; i++)
        any = cJSON_IsString(t) && strcmp(t->valuestring, s->tags[i]) == 0;
    }
    if (!any) return false;
  }
  return true;
}

size_t sty_select(struct sty_engine *e, const char *alert_json, int *out, size_t max) {
  if (!e->stories.len) return 0; /* no story: no need to read the alert */
  cJSON *alert = json_parse(alert_json, strlen(alert_json), NULL);
  size_t n = 0;
  if (!alert) return 0;
  const cJSON *dest = cJSON_GetObjectItemCaseSensitive(alert, "destinations");
  if (cJSON_IsArray(dest) && cJSON_GetArraySize(dest) == 0) {
    cJSON_Delete(alert);
    return 0; /* the detection said: do not deliver */
  }
  for (size_t i = 0; i < e->stories.len && n < max; i++) {
    struct sty_story *s = e->stories.items[i];
    bool named = false;
    const cJSON *d;
    cJSON_ArrayForEach(d, dest) named = named || (cJSON_IsString(d) && strcmp(d->valuestring, s->name) == 0);
    if (named || trigger_matches(e, s, alert)) out[n++] = (int)i;
  }
  cJSON_Delete(alert);
  return n;
}

int sty_trigger(struct sty_engine *e, const char *alert_json, long long alert_id) {
  int idx[64];
  size_t n = sty_select(e, alert_json, idx, sizeof idx / sizeof idx[0]);
  int made = 0;
  for (size_t i = 0; i < n; i++) {
    long long id = 0;
    if (store_run_insert(e->o.store, sty_name(e, (size_t)idx[i]), alert_id, &id) != 0) {
      log_error("stories: recording a run of %s: %s", sty_name(e, (size_t)idx[i]),
                store_errmsg(e->o.store));
      return -1;
    }
    vec_push(&e->queued, (void *)(intptr_t)id);
    made++;
  }
  if (made && !e->idle_on && uv_idle_start(e->idle, on_idle) == 0) e->idle_on = true;
  return made;
}

int sty_recover(struct sty_engine *e) {
  int n = 0;
  if (!e->o.store) return 0;
  bool own = !store_in_transaction(e->o.store) && store_begin(e->o.store) == 0;
  int rc = store_run_reset_running(e->o.store, &n);
  if (own) store_commit_or_log(e, "commit");
  if (rc != 0) return -1;
  if (n) log_info("stories: %d interrupted runs will resume", n);
  return n;
}

void sty_poll(struct sty_engine *e) {
  if (!e->o.store || e->closing || e->runs.len >= (size_t)e->o.max_running) return;
  struct due_ctx c = {e, 0};
  if (store_run_due(e->o.store, clk_now(), e->o.max_running, start_recorded, &c) < 0)
    log_error("stories: %s", store_errmsg(e->o.store));
}

int sty_run_once(struct sty_engine *e, size_t i, const char *alert_json, sty_done_cb done,
                 void *ud) {
  if (i >= e->stories.len) return -1;
  return run_start(e, i, 0, 0, 1, alert_json, NULL, done, ud);
}

void sty_set_settings(struct sty_engine *e, const char *settings_json) {
  set_settings(e, settings_json ? settings_json : e->o.settings_json);
}

void sty_set_secrets(struct sty_engine *e, const char *const *pairs, size_t n) {
  for (size_t i = 0; i < e->secrets.len; i++) free(e->secrets.items[i]);
  e->secrets.len = 0;
  for (size_t i = 0; i < n; i++) vec_push(&e->secrets, xstrdup(pairs[i]));
}

/* }============================================================ */

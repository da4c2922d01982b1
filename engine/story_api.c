/* story_api.c — the functions stories call: http.*, plug.*, parallel, sleep, step,
 * secret, log. Each I/O call starts its operation, records it on the run and yields the
 * fiber; the completion callback pushes the results and queues the fiber to resume
 * (story.c). Errors raise in the story; transport failures return nil, err.
 * SPDX-License-Identifier: MIT
 */
#include "story_int.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "json.h"
#include "json_lua.h"
#include "log.h"
#include "sandbox.h"
#include "vm.h"

/* {===================== the story API ===================== */

static struct sty_fiber *current(lua_State *L) {
  struct sty_engine *e = sty_engine_of(L);
  if (!e->cur || e->cur->co != L)
    luaL_error(L, "this function can only be called from a story run (not at load time, "
                  "not from a trigger)");
  return e->cur;
}

/* ---- http ---- */


static void push_response(lua_State *co, const struct sty_http_resp *resp);

static void http_done(const struct sty_http_resp *resp, void *arg) {
  struct http_call *c = arg;
  struct sty_fiber *f = c->f;
  struct sty_run *r = f->run;
  struct sty_engine *e = r->e;
  for (size_t i = 0; i < r->calls.len; i++)
    if (r->calls.items[i] == c) {
      r->calls.items[i] = r->calls.items[--r->calls.len];
      break;
    }
  if (!r->finished) {
    struct sty_trace t;
    sty_trace_base(r, &t, STY_T_HTTP);
    t.method = c->method;
    t.url = c->url;
    t.status = resp->status;
    t.msg = resp->error;
    t.attempts = resp->attempts;
    t.ms = resp->ms;
    sty_emit_trace(e, &t);
  }
  free(c->method);
  free(c->url);
  free(c);
  if (!sty_io_back(f)) return;
  lua_checkstack(f->co, 4);
  if (resp->error) {
    lua_pushnil(f->co);
    lua_pushstring(f->co, resp->error);
    sty_make_ready(f, 2);
  } else {
    push_response(f->co, resp);
    sty_make_ready(f, 1);
  }
}

static int resp_json(lua_State *L) {
  size_t len;
  const char *body = lua_tolstring(L, lua_upvalueindex(1), &len);
  size_t pos = 0;
  cJSON *j = json_parse(body, len, &pos);
  if (!j) {
    lua_pushnil(L);
    lua_pushfstring(L, "response is not JSON (byte %d)", (int)pos + 1);
    return 2;
  }
  json_lua_push(L, j);
  cJSON_Delete(j);
  return 1;
}

static void push_response(lua_State *co, const struct sty_http_resp *resp) {
  lua_createtable(co, 0, 4);
  lua_pushinteger(co, resp->status);
  lua_setfield(co, -2, "status");
  lua_createtable(co, 0, (int)resp->nheaders);
  for (size_t i = 0; i < resp->nheaders; i++) {
    lua_pushstring(co, resp->headers[i].value);
    lua_setfield(co, -2, resp->headers[i].name);
  }
  lua_setfield(co, -2, "headers");
  lua_pushlstring(co, resp->body ? resp->body : "", resp->body ? resp->body_len : 0);
  lua_pushvalue(co, -1);
  lua_setfield(co, -3, "body");
  lua_pushcclosure(co, resp_json, 1);
  lua_setfield(co, -2, "json");
}

int sty_cmp_cstr(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Pushes url + "?" + the query table's pairs, sorted by key (requests are
 * reproducible). Everything lives on the Lua stack, so an error leaks nothing. */
static void push_url(lua_State *L, const char *url, int qidx) {
  luaL_Buffer b;
  size_t n = 0;
  const char **keys = NULL;
  if (lua_istable(L, qidx)) {
    lua_pushnil(L);
    while (lua_next(L, qidx)) {
      if (lua_type(L, -2) == LUA_TSTRING) n++;
      lua_pop(L, 1);
    }
    keys = lua_newuserdatauv(L, (n ? n : 1) * sizeof *keys, 0); /* scratch, collected */
    n = 0;
    lua_pushnil(L);
    while (lua_next(L, qidx)) {
      if (lua_type(L, -2) == LUA_TSTRING) keys[n++] = lua_tostring(L, -2); /* anchored in qidx */
      lua_pop(L, 1);
    }
    if (n > 1) qsort(keys, n, sizeof *keys, sty_cmp_cstr);
  } else {
    lua_pushnil(L); /* keep the stack shape */
  }
  luaL_buffinit(L, &b);
  luaL_addstring(&b, url);
  for (size_t i = 0; i < n; i++) {
    luaL_addchar(&b, i == 0 && !strchr(url, '?') ? '?' : '&');
    for (int part = 0; part < 2; part++) {
      const char *v = keys[i];
      if (part == 1) {
        luaL_addchar(&b, '=');
        lua_getfield(L, qidx, keys[i]);
        v = luaL_tolstring(L, -1, NULL);
        lua_remove(L, -2);
        lua_insert(L, -2); /* under the buffer's box, if any */
      }
      for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '_' || *c == '.' || *c == '~') {
          luaL_addchar(&b, (char)*c);
        } else {
          char hex[4];
          snprintf(hex, sizeof hex, "%%%02X", *c);
          luaL_addstring(&b, hex);
        }
      }
    }
  }
  luaL_pushresult(&b);
}

static const char *opt_str(lua_State *L, int t, const char *k, const char *def) {
  lua_getfield(L, t, k);
  const char *v = lua_isnil(L, -1) ? def : luaL_checkstring(L, -1);
  lua_pop(L, 1); /* strings from a table the caller holds stay valid */
  return v;
}

/* http.request{...}: see docs/stories.md. Everything is read and built on the Lua stack
 * first (errors raise without leaking); C memory is only taken once nothing can fail. */
static int http_request(lua_State *L) {
  struct sty_fiber *f = current(L);
  struct sty_engine *e = f->run->e;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  struct sty_http_req req = {0};
  char method[16];
  const char *m = opt_str(L, 1, "method", "GET");
  size_t i;
  for (i = 0; m[i] && i + 1 < sizeof method; i++) method[i] = (char)toupper((unsigned char)m[i]);
  method[i] = '\0';
  req.method = method;
  const char *url0 = opt_str(L, 1, "url", NULL);
  if (!url0) return luaL_error(L, "http.request: url is required");
  lua_getfield(L, 1, "timeout");
  req.timeout = luaL_optnumber(L, -1, 10.0);
  lua_getfield(L, 1, "retries"); /* the transport retries POST only where it is safe */
  req.retries = (int)luaL_optinteger(L, -1, 2);
  lua_getfield(L, 1, "auth"); /* {user = , password | token = }, or {user, password} */
  if (lua_istable(L, -1)) {
    int a = lua_gettop(L);
    req.user = opt_str(L, a, "user", NULL);
    req.password = opt_str(L, a, "password", opt_str(L, a, "token", NULL));
    if (!req.user && lua_rawgeti(L, a, 1) == LUA_TSTRING) req.user = lua_tostring(L, -1);
    if (!req.password && lua_rawgeti(L, a, 2) == LUA_TSTRING) req.password = lua_tostring(L, -1);
    if (!req.password) req.password = "";
    if (!req.user) return luaL_error(L, "http.request: auth needs a user");
  }
  lua_getfield(L, 1, "query");
  push_url(L, url0, lua_gettop(L));
  const char *url = lua_tostring(L, -1);
  int lines = (lua_newtable(L), lua_gettop(L)); /* header lines, "Name: value" */
  bool has_ct = false;
  lua_getfield(L, 1, "headers");
  if (lua_istable(L, -1)) {
    int h = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, h)) {
      if (lua_type(L, -2) == LUA_TSTRING) {
        const char *k = lua_tostring(L, -2);
        if (strcasecmp(k, "content-type") == 0) has_ct = true;
        const char *v = luaL_tolstring(L, -1, NULL);
        lua_pushfstring(L, "%s: %s", k, v);
        lua_rawseti(L, lines, (lua_Integer)lua_rawlen(L, lines) + 1);
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  lua_getfield(L, 1, "json");
  if (!lua_isnil(L, -1)) {
    struct buf body;
    char err[200];
    buf_init(&body);
    int rc = json_lua_encode_buf(L, lua_gettop(L), &body, err, sizeof err); /* never raises */
    lua_pushlstring(L, body.data ? body.data : "", rc == 0 ? body.len : 0);
    buf_free(&body);
    if (rc != 0) return luaL_error(L, "http.request: json: %s", err);
    req.body = lua_tolstring(L, -1, &req.body_len);
    if (!has_ct) {
      lua_pushliteral(L, "Content-Type: application/json");
      lua_rawseti(L, lines, (lua_Integer)lua_rawlen(L, lines) + 1);
    }
  } else {
    lua_getfield(L, 1, "body");
    if (!lua_isnil(L, -1)) req.body = luaL_checklstring(L, -1, &req.body_len);
  }
  size_t nh = (size_t)lua_rawlen(L, lines);
  const char **hv = lua_newuserdatauv(L, (nh ? nh : 1) * sizeof *hv, 0);
  for (size_t k = 0; k < nh; k++) {
    lua_rawgeti(L, lines, (lua_Integer)k + 1);
    hv[k] = lua_tostring(L, -1); /* anchored in lines */
    lua_pop(L, 1);
  }
  req.url = url;
  req.headers = hv;
  req.nheaders = nh;
  /* Nothing below raises: the call record is C memory the callback frees. */
  struct http_call *c = xcalloc(1, sizeof *c);
  c->f = f;
  c->method = xstrdup(method);
  c->url = xstrdup(url);
  char err[256] = "";
  int rc = e->o.http ? e->o.http->request(e->o.http->self, &req, http_done, c, &c->id, err,
                                          sizeof err)
                     : (snprintf(err, sizeof err, "no HTTP transport"), -1);
  if (rc != 0) {
    free(c->method), free(c->url), free(c);
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  f->run->pending++;
  vec_push(&f->run->calls, c);
  return lua_yield(L, 0);
}

/* http.get(url, opts) and friends: opts plus method and url, then http.request. */
static int http_method(lua_State *L, const char *method) {
  const char *url = luaL_checkstring(L, 1);
  lua_createtable(L, 0, 8);
  int t = lua_gettop(L);
  if (lua_istable(L, 2)) {
    lua_pushnil(L);
    while (lua_next(L, 2)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_settable(L, t);
    }
  }
  lua_pushstring(L, method);
  lua_setfield(L, t, "method");
  lua_pushstring(L, url);
  lua_setfield(L, t, "url");
  lua_replace(L, 1);
  lua_settop(L, 1);
  return http_request(L);
}
static int http_get(lua_State *L) { return http_method(L, "GET"); }
static int http_post(lua_State *L) { return http_method(L, "POST"); }
static int http_put(lua_State *L) { return http_method(L, "PUT"); }
static int http_delete(lua_State *L) { return http_method(L, "DELETE"); }

/* ---- plug ---- */


static void plug_done(const struct sty_plug_resp *resp, void *arg) {
  struct plug_call *c = arg;
  struct sty_fiber *f = c->f;
  struct sty_run *r = f->run;
  for (size_t i = 0; i < r->plug_ops.len; i++)
    if (r->plug_ops.items[i] == c) {
      r->plug_ops.items[i] = r->plug_ops.items[--r->plug_ops.len];
      break;
    }
  if (!r->finished) {
    struct sty_trace t;
    sty_trace_base(r, &t, STY_T_PLUG);
    t.method = c->op;
    t.url = c->target;
    t.status = resp->seconds;
    t.msg = resp->error;
    sty_emit_trace(r->e, &t);
  }
  free(c->op), free(c->target), free(c);
  if (!sty_io_back(f)) return;
  lua_State *co = f->co;
  lua_checkstack(co, 4);
  if (resp->error) {
    lua_pushnil(co);
    lua_pushstring(co, resp->error);
    lua_pushstring(co, resp->code ? resp->code : "error");
    sty_make_ready(f, 3);
    return;
  }
  lua_createtable(co, 0, 6);
  if (resp->alias) {
    lua_pushstring(co, resp->alias);
    lua_setfield(co, -2, "alias");
    lua_pushstring(co, resp->model ? resp->model : "");
    lua_setfield(co, -2, "model");
    lua_pushinteger(co, resp->relay_state);
    lua_setfield(co, -2, "relay_state");
    lua_pushinteger(co, resp->on_time);
    lua_setfield(co, -2, "on_time");
  }
  if (resp->seconds) {
    lua_pushinteger(co, resp->seconds);
    lua_setfield(co, -2, "seconds");
    lua_pushnumber(co, resp->deadline);
    lua_setfield(co, -2, "deadline");
    lua_pushboolean(co, resp->extended);
    lua_setfield(co, -2, "extended");
    lua_pushboolean(co, resp->capped);
    lua_setfield(co, -2, "capped");
    lua_pushstring(co, resp->rule_id ? resp->rule_id : "");
    lua_setfield(co, -2, "rule_id");
  }
  lua_pushboolean(co, 1);
  lua_setfield(co, -2, "ok");
  sty_make_ready(f, 1);
}

/* plug.<op>(host[, seconds]): host is "name", "name:port" or "[v6]:port". */
static int plug_call(lua_State *L, const char *op) {
  struct sty_fiber *f = current(L);
  struct sty_engine *e = f->run->e;
  const char *target = luaL_checkstring(L, 1);
  struct sty_plug_req req = {op, NULL, 9999, 0};
  char host[256];
  const char *colon = strrchr(target, ':');
  if (target[0] == '[') {
    const char *end = strchr(target, ']');
    if (!end || (size_t)(end - target - 1) >= sizeof host) return luaL_error(L, "plug: bad host '%s'", target);
    snprintf(host, sizeof host, "%.*s", (int)(end - target - 1), target + 1);
    if (end[1] == ':') req.port = atoi(end + 2);
  } else if (colon && colon == strchr(target, ':')) { /* one colon: name:port */
    snprintf(host, sizeof host, "%.*s", (int)(colon - target), target);
    req.port = atoi(colon + 1);
  } else {
    snprintf(host, sizeof host, "%s", target);
  }
  if (req.port < 1 || req.port > 65535) return luaL_error(L, "plug: bad port in '%s'", target);
  req.host = host;
  if (strcmp(op, "pulse") == 0) {
    lua_Integer sec = luaL_checkinteger(L, 2);
    if (sec < 1 || sec > 3600) return luaL_error(L, "plug.pulse: seconds must be 1 to 3600");
    req.seconds = (int)sec;
  }
  if (!e->o.plugs) return luaL_error(L, "plug.%s: no plugs are configured here", op);
  struct plug_call *c = xcalloc(1, sizeof *c);
  c->f = f;
  c->op = xstrdup(op);
  c->target = xasprintf("%s:%d", host, req.port);
  char err[256] = "";
  if (e->o.plugs->request(e->o.plugs->self, &req, plug_done, c, &c->handle, err, sizeof err) != 0) {
    free(c->op), free(c->target), free(c);
    lua_pushnil(L);
    lua_pushstring(L, err);
    lua_pushliteral(L, "error");
    return 3;
  }
  f->run->pending++;
  vec_push(&f->run->plug_ops, c);
  return lua_yield(L, 0);
}
static int plug_info_(lua_State *L) { return plug_call(L, "info"); }
static int plug_on_(lua_State *L) { return plug_call(L, "on"); }
static int plug_off_(lua_State *L) { return plug_call(L, "off"); }
static int plug_pulse_(lua_State *L) { return plug_call(L, "pulse"); }

/* ---- sleep ---- */

static void sleep_done(uv_timer_t *t) {
  struct sty_fiber *f = t->data;
  sty_close_timer(f->run->e, f->sleep);
  f->sleep = NULL;
  if (!sty_io_back(f)) return;
  sty_make_ready(f, 0);
}

static int api_sleep(lua_State *L) {
  struct sty_fiber *f = current(L);
  double s = luaL_checknumber(L, 1);
  if (!(s >= 0) || s > 86400) return luaL_error(L, "sleep: seconds must be from 0 to 86400");
  f->sleep = sty_new_timer(f->run->e, f);
  if (!f->sleep || uv_timer_start(f->sleep, sleep_done, (uint64_t)(s * 1000), 0) != 0)
    return luaL_error(L, "sleep: cannot start a timer");
  f->run->pending++;
  return lua_yield(L, 0);
}

/* ---- parallel ---- */

static int parallel_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status, (void)ctx;
  struct sty_fiber *f = sty_engine_of(L)->cur;
  if (f && f->child_error) {
    lua_pushfstring(L, "parallel: %s", f->child_error);
    free(f->child_error);
    f->child_error = NULL;
    return lua_error(L);
  }
  return lua_gettop(L) - (int)ctx;
}

static int api_parallel(lua_State *L) {
  struct sty_fiber *f = current(L);
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) luaL_checktype(L, i, LUA_TFUNCTION);
  if (n == 0) return 0;
  lua_State *main = f->run->e->vm->L;
  lua_createtable(main, n, 0);
  f->results_ref = luaL_ref(main, LUA_REGISTRYINDEX);
  f->children = n;
  for (int i = 1; i <= n; i++) {
    struct sty_fiber *c = sty_fiber_new(f->run, f);
    c->slot = i;
    lua_pushvalue(L, i);
    lua_xmove(L, c->co, 1);
    sty_make_ready(c, 0);
  }
  lua_settop(L, 0);
  return lua_yieldk(L, 0, 0, parallel_k);
}

/* ---- step ---- */

static void save_step(struct sty_run *r) {
  if (r->e->o.store && r->id) sty_save_run(r, "running", NULL, 0);
}

static int step_k(lua_State *L, int status, lua_KContext ctx) {
  (void)status, (void)ctx;
  struct sty_fiber *f = sty_engine_of(L)->cur;
  const char *name = lua_tostring(L, 1);
  lua_settop(L, 3); /* name, fn, result */
  char err[200];
  cJSON *v = lua_isnil(L, 3) ? cJSON_CreateNull() : json_lua_to_cjson(L, 3, err, sizeof err);
  if (!v) return luaL_error(L, "step '%s': its result cannot be stored: %s", name, err);
  cJSON_DeleteItemFromObjectCaseSensitive(f->run->steps, name);
  cJSON_AddItemToObject(f->run->steps, name, v);
  save_step(f->run);
  struct sty_trace t;
  sty_trace_base(f->run, &t, STY_T_STEP);
  t.name = name;
  sty_emit_trace(f->run->e, &t);
  return 1;
}

static int api_step(lua_State *L) {
  struct sty_fiber *f = current(L);
  size_t len;
  const char *name = luaL_checklstring(L, 1, &len);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  if (len == 0 || len > STY_MAX_STEP_NAME)
    return luaL_error(L, "step: the name must have 1 to %d bytes", STY_MAX_STEP_NAME);
  const cJSON *stored = cJSON_GetObjectItemCaseSensitive(f->run->steps, name);
  if (stored) {
    struct sty_trace t;
    sty_trace_base(f->run, &t, STY_T_STEP);
    t.name = name;
    t.cached = true;
    sty_emit_trace(f->run->e, &t);
    if (cJSON_IsNull(stored)) lua_pushnil(L);
    else json_lua_push(L, stored);
    return 1;
  }
  lua_settop(L, 2);
  lua_pushvalue(L, 2);
  lua_callk(L, 0, 1, 0, step_k);
  return step_k(L, LUA_OK, 0);
}

/* ---- secret, log ---- */

static const char *lookup_secret_file(struct sty_engine *e, const char *name, char *buf,
                                      size_t buflen) {
  if (!e->o.secrets_file) return NULL;
  FILE *fp = fopen(e->o.secrets_file, "r");
  struct stat st;
  if (!fp) return NULL;
  if (fstat(fileno(fp), &st) != 0 || (st.st_mode & 077)) { /* like ssh with a private key */
    log_error("secrets_file %s is readable by group or others: chmod 600 it; not used",
              e->o.secrets_file);
    fclose(fp);
    return NULL;
  }
  const char *found = NULL;
  size_t nl = strlen(name);
  while (!found && fgets(buf, (int)buflen, fp)) {
    buf[strcspn(buf, "\r\n")] = '\0';
    if (strncmp(buf, name, nl) == 0 && buf[nl] == '=') found = buf + nl + 1;
  }
  fclose(fp);
  return found;
}

static int api_secret(lua_State *L) {
  struct sty_engine *e = sty_engine_of(L);
  const char *name = luaL_checkstring(L, 1);
  const char *v = NULL;
  char line[4096];
  size_t nl = strlen(name);
  for (size_t i = 0; i < e->secrets.len && !v; i++) {
    const char *p = e->secrets.items[i];
    if (strncmp(p, name, nl) == 0 && p[nl] == '=') v = p + nl + 1;
  }
  if (!v) v = getenv(name);
  if (!v) v = lookup_secret_file(e, name, line, sizeof line);
  if (!v || !*v) return luaL_error(L, "secret '%s' is not set (environment or secrets_file)", name);
  bool known = false;
  for (size_t i = 0; i < e->redact.len && !known; i++) known = strcmp(e->redact.items[i], v) == 0;
  if (!known) vec_push(&e->redact, xstrdup(v));
  lua_pushstring(L, v);
  return 1;
}

static int api_log(lua_State *L, int level) {
  struct sty_engine *e = sty_engine_of(L);
  luaL_Buffer b;
  int n = lua_gettop(L);
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, ' ');
    luaL_tolstring(L, i, NULL);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  char *msg = sty_redact(e, lua_tostring(L, -1));
  struct sty_fiber *f = e->cur;
  const char *story = f ? ((struct sty_story *)e->stories.items[f->run->story])->name : "story";
  if (f) {
    struct sty_trace t;
    sty_trace_base(f->run, &t, STY_T_LOG);
    t.level = level;
    t.msg = msg;
    sty_emit_trace(e, &t);
  }
  if (!e->o.quiet) log_msg((enum log_level)level, "story %s: %s", story, msg);
  free(msg);
  return 0;
}
static int log_info_(lua_State *L) { return api_log(L, LOG_INFO); }
static int log_warn_(lua_State *L) { return api_log(L, LOG_WARN); }
static int log_error_(lua_State *L) { return api_log(L, LOG_ERROR); }
static int log_debug_(lua_State *L) { return api_log(L, LOG_DEBUG); }

/* Adds the story API to the base environment, and takes coroutine away: a story's own
 * coroutine would swallow the engine's yields (use parallel instead). */
int sty_open_api(lua_State *L) {
  sbx_push_base(L);
  int base = lua_gettop(L);
  static const luaL_Reg http[] = {{"request", http_request}, {"get", http_get},
                                  {"post", http_post},       {"put", http_put},
                                  {"delete", http_delete},   {NULL, NULL}};
  luaL_newlib(L, http);
  sbx_push_readonly(L, -1);
  lua_setfield(L, base, "http");
  lua_pop(L, 1);
  static const luaL_Reg plug[] = {{"info", plug_info_}, {"on", plug_on_}, {"off", plug_off_},
                                  {"pulse", plug_pulse_}, {NULL, NULL}};
  luaL_newlib(L, plug);
  sbx_push_readonly(L, -1);
  lua_setfield(L, base, "plug");
  lua_pop(L, 1);
  static const luaL_Reg log[] = {{"info", log_info_}, {"warn", log_warn_}, {"error", log_error_},
                                 {"debug", log_debug_}, {NULL, NULL}};
  luaL_newlib(L, log);
  sbx_push_readonly(L, -1);
  lua_setfield(L, base, "log");
  lua_pop(L, 1);
  lua_pushcfunction(L, log_info_);
  lua_setfield(L, base, "print");
  static const luaL_Reg funcs[] = {{"sleep", api_sleep}, {"parallel", api_parallel},
                                   {"step", api_step},   {"secret", api_secret},
                                   {NULL, NULL}};
  lua_pushvalue(L, base);
  luaL_setfuncs(L, funcs, 0);
  lua_pop(L, 1);
  lua_pushnil(L);
  lua_setfield(L, base, "coroutine");
  lua_settop(L, base - 1);
  return 0;
}

/* }============================================================ */

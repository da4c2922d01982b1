/* suppress.c — loading a suppressions file into C structs, matching detections' matches
 * against it, and the report `lp0 check` prints.
 *
 * Loading runs the file in its own throwaway Lua state, as config.c does for the
 * configuration: base (without dofile, loadfile, load, require or print), string, table
 * and math, a memory cap and an instruction cap, text chunks only. Everything from the
 * Lua side, the chunk included, runs inside one protected call, so a memory error while
 * reading the result unwinds to us instead of panicking; the C structs being filled are
 * reachable from the context all along and zeroed before use, so one sup_free cleans
 * up after an error at any point.
 *
 * Matching walks the entries in file order; the first that applies wins and is the one
 * counted. An entry applies when it has not expired, one of its detection patterns
 * matches the id, and every condition holds. There is no index: suppressions are a
 * short list consulted only for matches, never for every event.
 * SPDX-License-Identifier: MIT
 */
#include "suppress.h"

#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "wildcard.h"
#include "util.h"

#define SUP_MEM_LIMIT (32u << 20)
#define SUP_HOOK_STEP 1000
#define SUP_MAX_HOOKS 20000 /* 20M instructions: data files do not loop */
#define SUP_NAME_MAX 128

/* {===================== loading ===================== */

struct ctx {
  const char *name; /* the file, for messages */
  const char *text;
  size_t len;
  size_t mem;
  long hooks;
  size_t cur;      /* 1-based entry being read, 0 outside entries */
  const char *cur_name;
  struct sup_set *set;
  char *err;       /* the first validation error (owned) */
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...) {
  if (c->err) return -1;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->cur && c->cur_name)
    c->err = xasprintf("%s: entry %zu (%s): %s", c->name, c->cur, c->cur_name, msg);
  else if (c->cur)
    c->err = xasprintf("%s: entry %zu: %s", c->name, c->cur, msg);
  else
    c->err = xasprintf("%s: %s", c->name, msg);
  return -1;
}

static void *sup_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct ctx *c = ud;
  if (!ptr) osize = 0; /* osize then encodes a type */
  if (nsize == 0) {
    free(ptr);
    c->mem -= osize;
    return NULL;
  }
  if (nsize > osize && c->mem + (nsize - osize) > SUP_MEM_LIMIT) return NULL;
  void *p = realloc(ptr, nsize);
  if (!p) return NULL;
  c->mem = c->mem - osize + nsize;
  return p;
}

static void sup_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  struct ctx *c = *(struct ctx **)lua_getextraspace(L);
  if (++c->hooks > SUP_MAX_HOOKS) luaL_error(L, "suppressions file runs too long (endless loop?)");
}

static const char *const entry_fields[] = {"name", "detection", "where", "expires", "reason",
                                           "author", NULL};

/* True when the table at idx is a non-empty sequence 1..n and nothing else. */
static bool is_list(lua_State *L, int idx, lua_Integer *n) {
  lua_Integer len = (lua_Integer)lua_rawlen(L, idx), count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    count++;
  }
  *n = len;
  return len > 0 && count == len;
}

/* Reads a decimal number as JSON writes one ("12", "-3.5", "1e9"): no spaces, no hex,
 * no inf/nan, so "0x10" or " 5" never equal a number. */
static bool decimal(const char *s, double *out) {
  const char *p = s + (*s == '-');
  if (*p < '0' || *p > '9') return false;
  char *end;
  errno = 0;
  *out = strtod(s, &end);
  return *end == '\0' && errno == 0 && isfinite(*out);
}

/* Pushes t[k] without metamethods and returns its type. [-0, +1, m] */
static int rawfield(lua_State *L, int idx, const char *k) {
  lua_pushstring(L, k);
  return lua_rawget(L, idx < 0 ? idx - 1 : idx);
}

/* Reads "YYYY-MM-DD" (through the end of that day, UTC) or an RFC 3339 time. */
static int parse_expires(const char *s, double *out) {
  size_t n = strlen(s);
  double day, t;
  char back[48];
  if (n < 10 || s[4] != '-' || s[7] != '-') return -1; /* not an epoch number */
  if (clk_parse(s, 10, &day) != 0 || clk_parse(s, n, &t) != 0) return -1;
  clk_format(day, back, sizeof back);
  if (strncmp(back, s, 10) != 0) return -1; /* 2026-02-30 */
  *out = n == 10 ? day + 86400 : t;
  return 0;
}

static int parse_scalar(struct ctx *c, lua_State *L, int idx, struct sup_value *v,
                        const char *what) {
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    if (strlen(s) != n) return fail(c, "%s: a value contains a NUL byte", what);
    v->op = SUP_EQ, v->type = SUP_STRING, v->s = xstrdup(s);
    v->num_ok = decimal(s, &v->num);
    return 0;
  }
  case LUA_TNUMBER:
    v->op = SUP_EQ, v->type = SUP_NUMBER, v->num = lua_tonumber(L, idx), v->num_ok = true;
    return 0;
  case LUA_TBOOLEAN:
    v->op = SUP_EQ, v->type = SUP_BOOL, v->b = lua_toboolean(L, idx);
    return 0;
  default:
    return fail(c, "%s: expected a string, number, boolean, {glob=...}, {prefix=...} or "
                   "{cidr=...}, got %s", what, luaL_typename(L, idx));
  }
}

/* { glob = "..." } | { prefix = "..." } | { cidr = "..." } at idx. */
static int parse_operator(struct ctx *c, lua_State *L, int idx, struct sup_value *v,
                          const char *what) {
  static const char *const ops[] = {"glob", "prefix", "cidr"};
  static const enum sup_op codes[] = {SUP_GLOB, SUP_PREFIX, SUP_CIDR};
  int found = -1, keys = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    keys++;
    for (int i = 0; i < 3; i++)
      if (lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), ops[i]) == 0) found = i;
  }
  if (found < 0 || keys != 1)
    return fail(c, "%s: a table must be a list of values or one of {glob=...}, {prefix=...}, "
                   "{cidr=...}", what);
  rawfield(L, idx, ops[found]);
  if (lua_type(L, -1) != LUA_TSTRING)
    return fail(c, "%s: %s: expected a string, got %s", what, ops[found], luaL_typename(L, -1));
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  v->op = codes[found];
  v->s = xstrdup(s);
  lua_pop(L, 1);
  if (strlen(v->s) != n) return fail(c, "%s: a value contains a NUL byte", what);
  if (v->op == SUP_CIDR && !lkp_parse_prefix(v->s, n, &v->net, &v->plen, NULL))
    return fail(c, "%s: \"%s\" is not an IP address or CIDR", what, v->s);
  return 0;
}

static int parse_one(struct ctx *c, lua_State *L, int idx, struct sup_value *v, const char *what) {
  if (lua_type(L, idx) == LUA_TTABLE) return parse_operator(c, L, idx, v, what);
  return parse_scalar(c, L, idx, v, what);
}

/* The value of where[path] at the top of the stack into cond. */
static int parse_values(struct ctx *c, lua_State *L, struct sup_cond *cond) {
  char what[300];
  snprintf(what, sizeof what, "where[\"%s\"]", cond->path.text);
  int idx = lua_gettop(L);
  lua_Integer n;
  if (lua_type(L, idx) != LUA_TTABLE || !is_list(L, idx, &n)) {
    if (lua_type(L, idx) == LUA_TTABLE && lua_rawlen(L, idx) == 0) {
      lua_pushnil(L);
      if (!lua_next(L, idx)) return fail(c, "%s: empty list (it would never match)", what);
      lua_pop(L, 2);
    }
    cond->values = xcalloc(1, sizeof *cond->values);
    cond->nvalues = 1;
    return parse_one(c, L, idx, &cond->values[0], what);
  }
  cond->values = xcalloc((size_t)n, sizeof *cond->values);
  cond->nvalues = (size_t)n;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, i);
    if (lua_type(L, -1) == LUA_TTABLE && lua_rawlen(L, -1) > 0)
      return fail(c, "%s: lists do not nest", what);
    if (parse_one(c, L, lua_gettop(L), &cond->values[i - 1], what) != 0) return -1;
    lua_pop(L, 1);
  }
  return 0;
}

static int cmp_cond(const void *a, const void *b) {
  return strcmp(((const struct sup_cond *)a)->path.text, ((const struct sup_cond *)b)->path.text);
}

/* where = { [path] = value(s), ... } at the top of the stack. */
static int parse_where(struct ctx *c, lua_State *L, struct sup_entry *e) {
  int idx = lua_gettop(L);
  if (lua_type(L, idx) != LUA_TTABLE)
    return fail(c, "where: expected a table of field = value(s), got %s", luaL_typename(L, idx));
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      return fail(c, "where: keys must be field paths (strings), got %s", luaL_typename(L, -1));
    n++;
  }
  e->conds = xcalloc(n ? n : 1, sizeof *e->conds);
  lua_pushnil(L);
  while (lua_next(L, idx)) { /* stack: where, key, value */
    const char *path = lua_tostring(L, -2);
    struct sup_cond *cond = &e->conds[e->nconds];
    if (json_path_init(&cond->path, path) != 0)
      return fail(c, "where: \"%s\" is not a field path (a.b.c)", path);
    e->nconds++;
    if (parse_values(c, L, cond) != 0) return -1;
    lua_settop(L, idx + 1);
  }
  qsort(e->conds, e->nconds, sizeof *e->conds, cmp_cond);
  return 0;
}

static int parse_detection(struct ctx *c, lua_State *L, struct sup_entry *e) {
  int idx = lua_gettop(L);
  lua_Integer n;
  if (lua_type(L, idx) == LUA_TSTRING) {
    e->detections = xcalloc(1, sizeof *e->detections);
    e->detections[0] = xstrdup(lua_tostring(L, idx));
    e->ndetections = 1;
  } else if (lua_type(L, idx) == LUA_TTABLE && is_list(L, idx, &n)) {
    e->detections = xcalloc((size_t)n, sizeof *e->detections);
    for (lua_Integer i = 1; i <= n; i++) {
      if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
        return fail(c, "detection: expected a list of strings, item %lld is %s", (long long)i,
                    luaL_typename(L, -1));
      e->detections[e->ndetections++] = xstrdup(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  } else if (lua_isnil(L, idx)) {
    return fail(c, "detection is required (an id, a glob such as \"AWS.*\", or a list)");
  } else {
    return fail(c, "detection: expected a string or a non-empty list of strings, got %s",
                luaL_typename(L, idx));
  }
  for (size_t i = 0; i < e->ndetections; i++)
    if (!*e->detections[i]) return fail(c, "detection: empty pattern");
  return 0;
}

/* Reads the optional string field at the top of the stack into *out. */
static int opt_string(struct ctx *c, lua_State *L, const char *field, char **out) {
  int t = lua_type(L, -1);
  if (t == LUA_TNIL) return 0;
  if (t != LUA_TSTRING)
    return fail(c, "%s: expected a string, got %s", field, luaL_typename(L, -1));
  *out = xstrdup(lua_tostring(L, -1));
  return 0;
}

static bool valid_entry_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > SUP_NAME_MAX) return false;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\') return false;
  return true;
}

/* The entry table at idx into e (index i, 0-based). */
static int parse_entry(struct ctx *c, lua_State *L, int idx, struct sup_entry *e, size_t i) {
  if (lua_type(L, idx) != LUA_TTABLE)
    return fail(c, "expected a table, got %s", luaL_typename(L, idx));
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    bool known = false;
    for (int f = 0; k && entry_fields[f]; f++) known = known || strcmp(k, entry_fields[f]) == 0;
    if (!known)
      return fail(c, "unknown field %s%s%s (fields: name, detection, where, expires, reason, "
                     "author)", k ? "\"" : "", k ? k : luaL_typename(L, -1), k ? "\"" : "");
  }
  rawfield(L, idx, "name");
  if (opt_string(c, L, "name", &e->name) != 0) return -1;
  lua_pop(L, 1);
  if (e->name && !valid_entry_name(e->name))
    return fail(c, "name: 1 to %d printable characters without '\"' or '\\'", SUP_NAME_MAX);
  e->named = e->name != NULL;
  if (!e->name) e->name = xasprintf("#%zu", i + 1);
  c->cur_name = e->name;
  rawfield(L, idx, "detection");
  if (parse_detection(c, L, e) != 0) return -1;
  lua_pop(L, 1);
  if (rawfield(L, idx, "where") != LUA_TNIL && parse_where(c, L, e) != 0) return -1;
  lua_pop(L, 1);
  rawfield(L, idx, "expires");
  if (opt_string(c, L, "expires", &e->expires_text) != 0) return -1;
  lua_pop(L, 1);
  if (e->expires_text) {
    if (parse_expires(e->expires_text, &e->expires) != 0)
      return fail(c, "expires: \"%s\" is not a date (2026-12-31) or an RFC 3339 time "
                     "(2026-12-31T18:00:00Z)", e->expires_text);
    e->has_expires = true;
  }
  rawfield(L, idx, "reason");
  if (opt_string(c, L, "reason", &e->reason) != 0) return -1;
  rawfield(L, idx, "author");
  if (opt_string(c, L, "author", &e->author) != 0) return -1;
  lua_pop(L, 2);
  return 0;
}

static int check_names(struct ctx *c) {
  struct hmap seen;
  hmap_init(&seen);
  int r = 0;
  for (size_t i = 0; i < c->set->n && r == 0; i++) {
    const char *name = c->set->entries[i].name;
    void **slot = hmap_put(&seen, name, strlen(name));
    if (*slot) {
      c->cur = i + 1, c->cur_name = name;
      r = fail(c, "name \"%s\" is also entry %zu's (names label metrics: make them unique)",
               name, (size_t)(uintptr_t)*slot);
    }
    *slot = (void *)(uintptr_t)(i + 1);
  }
  hmap_free(&seen);
  return r;
}

/* Runs the chunk and reads its result into c->set; validation errors go to c->err.
 * [-0, +0, e]: called through lua_pcall with the context as a light userdata. */
static int load_main(lua_State *L) {
  struct ctx *c = lua_touserdata(L, 1);
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_settop(L, 1);
  static const char *const removed[] = {"dofile", "loadfile", "load", "require", "print",
                                        "collectgarbage", NULL};
  for (int i = 0; removed[i]; i++) {
    lua_pushnil(L);
    lua_setglobal(L, removed[i]);
  }
  lua_pushfstring(L, "@%s", c->name);
  if (luaL_loadbufferx(L, c->text, c->len, lua_tostring(L, -1), "t") != LUA_OK) return lua_error(L);
  /* The hook stays armed while we read the result: reads are raw, but the budget also
   * bounds anything the data could still make Lua run. */
  lua_sethook(L, sup_hook, LUA_MASKCOUNT, SUP_HOOK_STEP);
  lua_call(L, 0, 1);
  int list = lua_gettop(L);
  lua_Integer n = 0;
  bool ok = lua_type(L, list) == LUA_TTABLE;
  if (ok && !is_list(L, list, &n)) { /* an empty table is an empty list */
    lua_pushnil(L);
    ok = !lua_next(L, list);
    lua_settop(L, list);
    n = 0;
  }
  if (!ok) {
    fail(c, "the file must return a list of entries: return { { detection = ..., where = "
            "..., expires = ..., reason = ..., author = ... }, ... }");
    return 0;
  }
  c->set->entries = xcalloc(n ? (size_t)n : 1, sizeof *c->set->entries);
  c->set->n = (size_t)n;
  for (lua_Integer i = 1; i <= n; i++) {
    c->cur = (size_t)i, c->cur_name = NULL;
    lua_rawgeti(L, list, i);
    if (parse_entry(c, L, lua_gettop(L), &c->set->entries[i - 1], (size_t)(i - 1)) != 0) return 0;
    lua_settop(L, list);
  }
  c->cur = 0, c->cur_name = NULL;
  check_names(c);
  return 0;
}

int sup_load_string(const char *name, const char *text, size_t len, struct sup_set **out,
                    char **errmsg) {
  struct ctx c = {.name = name, .text = text, .len = len};
  *out = NULL;
  c.set = xcalloc(1, sizeof *c.set);
  c.set->file = xstrdup(name);
  lua_State *L = lua_newstate(sup_alloc, &c);
  if (!L) {
    *errmsg = xasprintf("%s: cannot create a Lua state", name);
    sup_free(c.set);
    return -1;
  }
  *(struct ctx **)lua_getextraspace(L) = &c;
  lua_pushcfunction(L, load_main);
  lua_pushlightuserdata(L, &c);
  int st = lua_pcall(L, 1, 0, 0);
  if (st != LUA_OK && !c.err) {
    if (st == LUA_ERRMEM) c.err = xasprintf("%s: the file uses too much memory", name);
    else c.err = xstrdup(lua_isstring(L, -1) ? lua_tostring(L, -1) : "error without a message");
  }
  lua_close(L);
  if (c.err) {
    *errmsg = c.err;
    sup_free(c.set);
    return -1;
  }
  *out = c.set;
  return 0;
}

int sup_load(const char *path, struct sup_set **out, char **errmsg) {
  size_t n;
  char *text = read_file(path, &n);
  if (!text) {
    *out = NULL;
    *errmsg = xasprintf("%s: cannot read: %s", path, strerror(errno));
    return -1;
  }
  int r = sup_load_string(path, text, n, out, errmsg);
  free(text);
  return r;
}

void sup_free(struct sup_set *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) {
    struct sup_entry *e = &s->entries[i];
    for (size_t j = 0; j < e->ndetections; j++) free(e->detections[j]);
    free(e->detections);
    for (size_t j = 0; j < e->nconds; j++) {
      struct sup_cond *cd = &e->conds[j];
      json_path_free(&cd->path);
      for (size_t k = 0; k < cd->nvalues; k++) free(cd->values[k].s);
      free(cd->values);
    }
    free(e->conds);
    free(e->name);
    free(e->expires_text);
    free(e->reason);
    free(e->author);
  }
  free(s->entries);
  free(s->file);
  free(s);
}

/* }============================================================ */

/* {===================== matching ===================== */

static bool value_match(const struct sup_value *v, const cJSON *n) {
  const char *s = cJSON_IsString(n) ? n->valuestring : NULL;
  double d;
  switch (v->op) {
  case SUP_EQ:
    switch (v->type) {
    case SUP_STRING:
      if (s) return strcmp(s, v->s) == 0;
      return cJSON_IsNumber(n) && v->num_ok && n->valuedouble == v->num;
    case SUP_NUMBER:
      if (cJSON_IsNumber(n)) return n->valuedouble == v->num;
      return s && decimal(s, &d) && d == v->num; /* "123456789012" == 123456789012 */
    case SUP_BOOL:
      return cJSON_IsBool(n) && (cJSON_IsTrue(n) != 0) == v->b;
    }
    return false;
  case SUP_GLOB:
    return s && wildcard_match(v->s, s, strlen(s));
  case SUP_PREFIX:
    return s && strncmp(s, v->s, strlen(v->s)) == 0;
  case SUP_CIDR: {
    struct lkp_addr a;
    return s && lkp_parse_addr(s, strlen(s), &a) && lkp_prefix_contains(&v->net, v->plen, &a);
  }
  }
  return false;
}

static bool any_value(const struct sup_cond *c, const cJSON *n) {
  for (size_t i = 0; i < c->nvalues; i++)
    if (value_match(&c->values[i], n)) return true;
  return false;
}

static bool cond_holds(const struct sup_cond *c, const cJSON *event) {
  const cJSON *n = json_path_get(event, &c->path);
  if (!n) return false;
  if (!cJSON_IsArray(n)) return any_value(c, n);
  for (const cJSON *el = n->child; el; el = el->next)
    if (any_value(c, el)) return true;
  return false;
}

static bool detection_match(const struct sup_entry *e, const char *id) {
  size_t n = strlen(id);
  for (size_t i = 0; i < e->ndetections; i++)
    if (wildcard_match(e->detections[i], id, n)) return true;
  return false;
}

static bool entry_applies(const struct sup_entry *e, const char *det_id, const cJSON *event,
                          double now) {
  if (e->has_expires && now >= e->expires) return false;
  if (!detection_match(e, det_id)) return false;
  for (size_t i = 0; i < e->nconds; i++)
    if (!cond_holds(&e->conds[i], event)) return false;
  return true;
}

int sup_match(const struct sup_set *s, const char *det_id, const cJSON *event, double now) {
  for (size_t i = 0; s && i < s->n; i++)
    if (entry_applies(&s->entries[i], det_id, event, now)) return (int)i;
  return -1;
}

int sup_apply(struct sup_set *s, const char *det_id, const cJSON *event, double now) {
  int i = sup_match(s, det_id, event, now);
  if (i >= 0) atomic_fetch_add_explicit(&s->entries[i].hits, 1, memory_order_relaxed);
  return i;
}

uint64_t sup_hits(const struct sup_set *s, size_t i) {
  return atomic_load_explicit(&s->entries[i].hits, memory_order_relaxed);
}

/* }============================================================ */

/* {===================== check ===================== */

struct report {
  sup_report_cb cb;
  void *ud;
  size_t errors;
};

static void report(struct report *r, enum sup_level level, size_t entry, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(struct report *r, enum sup_level level, size_t entry, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (level == SUP_ERROR) r->errors++;
  r->cb(r->ud, level, entry, msg);
}

static void check_globs(struct report *r, const struct sup_entry *e, size_t i) {
  for (size_t j = 0; j < e->ndetections; j++) {
    const char *why = wildcard_check(e->detections[j]);
    if (why) report(r, SUP_ERROR, i, "entry %zu (%s): detection \"%s\": %s", i + 1, e->name,
                    e->detections[j], why);
  }
  for (size_t j = 0; j < e->nconds; j++)
    for (size_t k = 0; k < e->conds[j].nvalues; k++) {
      const struct sup_value *v = &e->conds[j].values[k];
      const char *why = v->op == SUP_GLOB ? wildcard_check(v->s) : NULL;
      if (why) report(r, SUP_ERROR, i, "entry %zu (%s): where[\"%s\"] glob \"%s\": %s", i + 1,
                      e->name, e->conds[j].path.text, v->s, why);
    }
}

static void check_known_ids(struct report *r, const struct sup_entry *e, size_t i,
                            const char *const *ids, size_t nids) {
  for (size_t j = 0; j < e->ndetections; j++) {
    bool any = false;
    for (size_t k = 0; k < nids && !any; k++)
      any = wildcard_match(e->detections[j], ids[k], strlen(ids[k]));
    if (!any)
      report(r, SUP_WARNING, i, "entry %zu (%s): detection \"%s\" matches no loaded detection",
             i + 1, e->name, e->detections[j]);
  }
}

size_t sup_check(const struct sup_set *s, double now, const char *const *ids, size_t nids,
                 sup_report_cb cb, void *ud) {
  struct report r = {.cb = cb, .ud = ud};
  for (size_t i = 0; i < s->n; i++) {
    const struct sup_entry *e = &s->entries[i];
    if (e->has_expires && now >= e->expires)
      report(&r, SUP_WARNING, i, "entry %zu (%s): expired on %s: it is ignored (delete it or "
             "extend expires)", i + 1, e->name, e->expires_text);
    if (!e->reason || !*e->reason)
      report(&r, SUP_WARNING, i, "entry %zu (%s): no reason: say why these matches are safe",
             i + 1, e->name);
    if (!e->author || !*e->author)
      report(&r, SUP_WARNING, i, "entry %zu (%s): no author: say who decided", i + 1, e->name);
    if (!e->named)
      report(&r, SUP_WARNING, i, "entry %zu: no name: its metric label \"%s\" changes when "
             "entries move", i + 1, e->name);
    check_globs(&r, e, i);
    if (ids) check_known_ids(&r, e, i, ids, nids);
  }
  return r.errors;
}

/* }============================================================ */

/* config.c — loading the daemon's Lua configuration file into struct cfg.
 *
 * The file runs in its own small Lua state: base (without dofile, loadfile, load and
 * print), string, table and math, under a memory cap and an instruction budget, so a
 * config file can compute values but cannot read files, start processes or loop for
 * ever. Its chunk gets a fresh environment whose __newindex records the line of each
 * global assignment; after the run every global it set must be a known option.
 *
 * Everything about an option (where it lives, its type, default and help) is one row of
 * `options` below. Parsing walks the Lua tables and looks keys up there, defaults are
 * applied from it before parsing, and cfg_doc_markdown prints it for the documentation.
 *
 * Secrets: a key that looks like a literal secret (secret, token, password, key...) is
 * refused; secret_env and secret_file are resolved here and the bytes are kept only in
 * cfg_auth.secret, wiped by cfg_free. Messages name variables and files, never values of
 * auth fields.
 * SPDX-License-Identifier: MIT
 */
#include "config.h"
#include "json_lua.h"
#include "logtype.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CFG_MEM_LIMIT (64u << 20)
#define CFG_HOOK_STEP 100000
#define CFG_MAX_STEPS 1000 /* x CFG_HOOK_STEP instructions */

enum kind { K_STRING, K_STRINGS, K_INT, K_SIZE, K_BOOL, K_ENUM, K_NUMBER, K_TABLE, K_SOURCES, K_JSON };
enum scope { S_TOP, S_ALERTS, S_SOURCE, S_AUTH };

struct option {
  struct cfg_option_doc doc;
  enum scope scope;
  const char *key;
  enum kind kind;
  size_t offset;
  const char *value; /* machine default, NULL for none */
  const char *const *names; /* K_ENUM: names by enum value */
};

static const char *const format_names[] = {"auto", "json", "text", NULL};
static const char *const level_names[] = {"debug", "info", "warn", "error", NULL}; /* log.h */
static const char *const source_type_names[] = {"webhook", "tail", NULL};
static const char *const auth_type_names[] = {"none", "bearer", "hmac", "github", "slack", NULL};

#define TOP(f) S_TOP, #f, 0, offsetof(struct cfg, f)
#define SRC(f) S_SOURCE, #f, 0, offsetof(struct cfg_source, f)
#define AUTH(f) S_AUTH, #f, 0, offsetof(struct cfg_auth, f)

static const struct option options[] = {
    {{"listen", "string", "\"127.0.0.1:8787\"",
      "Address of the HTTP listener: \"host:port\", \"[v6]:port\" or \":port\" (all IPv4 "
      "interfaces). Port 0 picks a free port. Overridden by --listen."},
     S_TOP, "listen", K_STRING, offsetof(struct cfg, listen), "127.0.0.1:8787", NULL},
    {{"state_dir", "string", "\"./var\"",
      "Directory of the state database (lp0.db: alerts, dedup windows, tail offsets). "
      "Overridden by --state-dir."},
     S_TOP, "state_dir", K_STRING, offsetof(struct cfg, state_dir), "./var", NULL},
    {{"detections", "array of strings", "{ \"./detections\" }",
      "Detection files or directories, loaded at start and on reload. A single string is "
      "a one-element array."},
     S_TOP, "detections", K_STRINGS, offsetof(struct cfg, detections), "./detections", NULL},
    {{"stories", "array of strings", "{ \"./scripts\" }",
      "Story (response script) files or directories."},
     S_TOP, "stories", K_STRINGS, offsetof(struct cfg, stories), "./scripts", NULL},
    {{"lookups", "array of strings", "{}",
      "Lookup table files or folders (*.csv, *.txt, *.list) for lookup(name, key), besides "
      "the lookups/ folder found beside the detections (docs/lookups.md). Reloaded with "
      "the detections."},
     S_TOP, "lookups", K_STRINGS, offsetof(struct cfg, lookups), NULL, NULL},
    {{"suppressions", "string", "nil",
      "A suppressions file (docs/suppressions.md): matches it covers are dropped before "
      "dedup and counted in lp0_suppressed_total. Reloaded with the detections."},
     S_TOP, "suppressions", K_STRING, offsetof(struct cfg, suppressions), NULL, NULL},
    {{"workers", "integer", "number of CPUs",
      "Detection worker threads, 1 to 1024; 0 means one per online CPU."},
     S_TOP, "workers", K_INT, offsetof(struct cfg, workers), "0", NULL},
    {{"max_body", "integer or string", "\"16MiB\"",
      "Largest accepted request body: bytes, or a string with a unit (B, KB, MB, GB, KiB, "
      "MiB, GiB). Bigger bodies get 413."},
     S_TOP, "max_body", K_SIZE, offsetof(struct cfg, max_body), "16MiB", NULL},
    {{"max_queue", "integer", "256",
      "Backpressure: when this many batches wait for detection, webhooks answer 503 with "
      "Retry-After (nothing is accepted that could not be processed). Tails read ahead at "
      "most 4 batches per worker (and half of this). "
      "A batch is one request body, or up to 512 tailed lines."},
     S_TOP, "max_queue", K_INT, offsetof(struct cfg, max_queue), "256", NULL},
    {{"log_level", "\"debug\" | \"info\" | \"warn\" | \"error\"", "\"info\"",
      "Least severe diagnostic written to stderr."},
     S_TOP, "log_level", K_ENUM, offsetof(struct cfg, log_level), "info", level_names},
    {{"log_format", "\"auto\" | \"json\" | \"text\"", "\"auto\"",
      "Diagnostics on stderr: json is one object per line (time, level, msg); auto is text "
      "on a terminal and json otherwise (journald, containers)."},
     S_TOP, "log_format", K_ENUM, offsetof(struct cfg, log_format), "auto", format_names},
    {{"settings", "table", "{}",
      "Free-form values for stories, read-only as the global `settings` (service URLs, "
      "project keys, account names...). Never put secrets here: use secret(name)."},
     S_TOP, "settings", K_JSON, offsetof(struct cfg, settings_json), NULL, NULL},
    {{"secrets_file", "string", "nil",
      "A file of NAME=value lines that secret(name) reads after the environment; it must "
      "not be readable by group or others."},
     S_TOP, "secrets_file", K_STRING, offsetof(struct cfg, secrets_file), NULL, NULL},
    {{"story_timeout", "number", "300",
      "Wall-clock seconds one attempt of a story run may take."},
     S_TOP, "story_timeout", K_NUMBER, offsetof(struct cfg, story_timeout), "300", NULL},
    {{"story_attempts", "integer", "3",
      "Attempts of a story run before it is dead (lp0 runs retry ID requeues it)."},
     S_TOP, "story_attempts", K_INT, offsetof(struct cfg, story_attempts), "3", NULL},
    {{"story_retry_delay", "number", "30",
      "Seconds before the first retry of a failed run; doubled for each further attempt, "
      "with jitter."},
     S_TOP, "story_retry_delay", K_NUMBER, offsetof(struct cfg, story_retry_delay), "30", NULL},
    {{"story_max_running", "integer", "1000",
      "Story runs in progress at once; more wait in the store."},
     S_TOP, "story_max_running", K_INT, offsetof(struct cfg, story_max_running), "1000", NULL},
    {{"story_http_per_host", "integer", "8",
      "HTTP requests from stories running at once per host (scheme, host, port); more wait "
      "in line. Be kind to the APIs you call."},
     S_TOP, "story_http_per_host", K_INT, offsetof(struct cfg, story_http_per_host), "8", NULL},
    {{"plug_max_on_seconds", "integer", "60",
      "Smart plugs (plug.pulse in stories): the longest a pulse may keep a plug on, "
      "extensions included (docs/plug.md)."},
     S_TOP, "plug_max_on_seconds", K_INT, offsetof(struct cfg, plug_max_on_seconds), "60", NULL},
    {{"plug_cooldown_seconds", "integer", "30",
      "Smart plugs: seconds after a pulse ends before a new pulse is accepted."},
     S_TOP, "plug_cooldown_seconds", K_INT, offsetof(struct cfg, plug_cooldown_seconds), "30",
     NULL},
    {{"plug_timeout", "number", "3",
      "Smart plugs: seconds for one command (resolve, connect, answer)."},
     S_TOP, "plug_timeout", K_NUMBER, offsetof(struct cfg, plug_timeout), "3", NULL},
    {{"alerts", "table", "{}", "Where alerts are written besides the store."},
     S_TOP, "alerts", K_TABLE, 0, NULL, NULL},
    {{"alerts.log", "string", "\"stderr\"",
      "The alert log: \"stderr\" or a file path (appended to)."},
     S_ALERTS, "log", K_STRING, offsetof(struct cfg, alert_log), "stderr", NULL},
    {{"alerts.format", "\"auto\" | \"json\" | \"text\"", "\"auto\"",
      "Alert log format; auto is human-readable text on a terminal and NDJSON otherwise."},
     S_ALERTS, "format", K_ENUM, offsetof(struct cfg, alert_format), "auto", format_names},
    {{"sources", "array of tables", "cloudtrail, okta, github, auto",
      "Event sources. Without this key: one webhook per bundled log type "
      "(/ingest/cloudtrail, /ingest/okta, /ingest/github) and /ingest/auto, without auth."},
     S_TOP, "sources", K_SOURCES, 0, NULL, NULL},
    {{"sources[].name", "string", "(required)",
      "Unique name; a webhook is served at /ingest/<name>, so webhook names use only "
      "A-Z a-z 0-9 . _ ~ - (at most 64). Also the source label in metrics."},
     S_SOURCE, "name", K_STRING, offsetof(struct cfg_source, name), NULL, NULL},
    {{"sources[].type", "\"webhook\" | \"tail\"", "\"webhook\"",
      "webhook: events are POSTed to /ingest/<name>; tail: files matching path are followed."},
     S_SOURCE, "type", K_ENUM, offsetof(struct cfg_source, type), "webhook", source_type_names},
    {{"sources[].log_type", "string", "nil (classify)",
      "Log type of every event (e.g. \"AWS.CloudTrail\", \"Okta.SystemLog\", "
      "\"GitHub.Audit\"); nil classifies each event by its shape."},
     S_SOURCE, "log_type", K_STRING, offsetof(struct cfg_source, log_type), NULL, NULL},
    {{"sources[].path", "string", "(required for tail)",
      "tail only: a file path or glob (\"/var/log/okta/*.ndjson\"); new matching files are "
      "picked up."},
     S_SOURCE, "path", K_STRING, offsetof(struct cfg_source, path), NULL, NULL},
    {{"sources[].read_from_head", "boolean", "false",
      "tail only: read files present at first start from their beginning (by default they "
      "are read from their end, like tail -F; files appearing later are read whole)."},
     S_SOURCE, "read_from_head", K_BOOL, offsetof(struct cfg_source, read_from_head), "false",
     NULL},
    {{"sources[].auth", "table", "{ type = \"none\" }", "webhook only: request authentication."},
     S_SOURCE, "auth", K_TABLE, 0, NULL, NULL},
    {{"sources[].auth.type", "\"none\" | \"bearer\" | \"hmac\" | \"github\" | \"slack\"",
      "\"none\"",
      "none (refused unless listen is a loopback address), bearer token, HMAC-SHA256 of the "
      "body as hex in header, GitHub's \"sha256=<hex>\", or Slack's timestamped v0 signature."},
     S_AUTH, "type", K_ENUM, offsetof(struct cfg_auth, type), "none", auth_type_names},
    {{"sources[].auth.header", "string", "per type",
      "Header carrying the token or signature. Defaults: bearer Authorization, hmac "
      "X-Signature-256, github X-Hub-Signature-256, slack X-Slack-Signature."},
     S_AUTH, "header", K_STRING, offsetof(struct cfg_auth, header), NULL, NULL},
    {{"sources[].auth.secret_env", "string", "nil",
      "Name of the environment variable holding the token or HMAC key."},
     S_AUTH, "secret_env", K_STRING, offsetof(struct cfg_auth, secret_env), NULL, NULL},
    {{"sources[].auth.secret_file", "string", "nil",
      "File holding the token or HMAC key (one trailing newline ignored). Exactly one of "
      "secret_env and secret_file is required unless type is none."},
     S_AUTH, "secret_file", K_STRING, offsetof(struct cfg_auth, secret_file), NULL, NULL},
    {{"sources[].auth.window", "number", "300",
      "slack: largest accepted distance in seconds between the request timestamp and now "
      "(replay window)."},
     S_AUTH, "window", K_NUMBER, offsetof(struct cfg_auth, window), "300", NULL},
};
#define NOPTIONS (sizeof options / sizeof options[0])

/* Keys refused in auth tables (and sources): literal secrets. */
static const char *const literal_secret_keys[] = {
    "secret", "token", "password", "key", "hmac_key", "api_key", "bearer", "signing_secret", NULL};

/* ---- small helpers ---------------------------------------------------------------- */

struct ctx {
  const char *name; /* file name for messages */
  char *err;
  size_t errlen;
  lua_State *L;
  size_t mem_used;
  int steps;
  int line; /* line of the current top-level key, 0 unknown */
};

static int fail(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct ctx *c, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->line > 0)
    snprintf(c->err, c->errlen, "%s:%d: %s", c->name, c->line, msg);
  else
    snprintf(c->err, c->errlen, "%s: %s", c->name, msg);
  return -1;
}

static void wipe(void *p, size_t n) {
  volatile unsigned char *v = p;
  while (n--) *v++ = 0;
}

static void *field(void *base, const struct option *o) { return (char *)base + o->offset; }

static const struct option *find_option(enum scope scope, const char *key) {
  for (size_t i = 0; i < NOPTIONS; i++)
    if (options[i].scope == scope && strcmp(options[i].key, key) == 0) return &options[i];
  return NULL;
}

static void free_strings(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
}

_Static_assert(offsetof(struct cfg, ndetections) == offsetof(struct cfg, detections) + sizeof(char **),
               "count follows array");
_Static_assert(offsetof(struct cfg, nstories) == offsetof(struct cfg, stories) + sizeof(char **),
               "count follows array");
_Static_assert(offsetof(struct cfg, nlookups) == offsetof(struct cfg, lookups) + sizeof(char **),
               "count follows array");

static size_t *strings_count(void *base, const struct option *o) {
  /* the count follows the array pointer in struct cfg (detections/ndetections ...) */
  return (size_t *)(void *)((char *)base + o->offset + sizeof(char **));
}

static void apply_defaults(enum scope scope, void *base) {
  for (size_t i = 0; i < NOPTIONS; i++) {
    const struct option *o = &options[i];
    if (o->scope != scope) continue;
    switch (o->kind) {
    case K_STRING:
      *(char **)field(base, o) = o->value ? xstrdup(o->value) : NULL;
      break;
    case K_STRINGS: {
      if (!o->value) { /* an empty list */
        *(char ***)field(base, o) = NULL;
        *strings_count(base, o) = 0;
        break;
      }
      char **v = xcalloc(2, sizeof *v);
      v[0] = xstrdup(o->value);
      *(char ***)field(base, o) = v;
      *strings_count(base, o) = 1;
      break;
    }
    case K_INT:
      *(int *)field(base, o) = atoi(o->value);
      break;
    case K_SIZE:
      if (cfg_parse_size(o->value, (size_t *)field(base, o)) != 0) abort();
      break;
    case K_BOOL:
      *(bool *)field(base, o) = strcmp(o->value, "true") == 0;
      break;
    case K_ENUM:
      for (int k = 0; o->names[k]; k++)
        if (strcmp(o->names[k], o->value) == 0) *(int *)field(base, o) = k;
      break;
    case K_NUMBER:
      *(double *)field(base, o) = strtod(o->value, NULL);
      break;
    case K_JSON:
      *(char **)field(base, o) = NULL;
      break;
    case K_TABLE:
    case K_SOURCES:
      break;
    }
  }
}

/* ---- public helpers --------------------------------------------------------------- */

const struct cfg_option_doc *cfg_options(size_t *n) {
  /* doc is the first member of struct option, but the array stride differs: hand out a
   * copy made once (the table is constant, so a race writes the same bytes). */
  static struct cfg_option_doc docs[NOPTIONS];
  for (size_t i = 0; i < NOPTIONS; i++) docs[i] = options[i].doc;
  *n = NOPTIONS;
  return docs;
}

void cfg_doc_markdown(struct buf *out) {
  buf_puts(out, "| Option | Type | Default | Meaning |\n|---|---|---|---|\n");
  for (size_t i = 0; i < NOPTIONS; i++) {
    const struct cfg_option_doc *d = &options[i].doc;
    buf_printf(out, "| `%s` | %s | %s | %s |\n", d->path, d->type, d->def, d->help);
  }
}

const char *cfg_auth_type_name(enum cfg_auth_type t) {
  return (unsigned)t < 5 ? auth_type_names[t] : "?";
}

int cfg_parse_size(const char *s, size_t *out) {
  static const struct {
    const char *unit;
    unsigned long long mul;
  } units[] = {{"", 1},          {"b", 1},          {"kb", 1000ULL},          {"mb", 1000000ULL},
               {"gb", 1000000000ULL}, {"kib", 1ULL << 10}, {"mib", 1ULL << 20}, {"gib", 1ULL << 30}};
  if (!s || *s < '0' || *s > '9') return -1;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno) return -1;
  while (*end == ' ') end++;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcasecmp(end, units[i].unit) != 0) continue;
    if (v > SIZE_MAX / units[i].mul) return -1;
    *out = (size_t)(v * units[i].mul);
    return 0;
  }
  return -1;
}

int cfg_parse_listen(const char *listen, char *host, size_t hostlen, int *port) {
  const char *h = listen, *colon;
  size_t hl;
  if (!listen || !*listen) return -1;
  if (*listen == '[') {
    const char *close = strchr(listen, ']');
    if (!close || close[1] != ':' || close == listen + 1) return -1;
    h = listen + 1, hl = (size_t)(close - h), colon = close + 1;
  } else {
    colon = strrchr(listen, ':');
    if (!colon) return -1;
    hl = (size_t)(colon - listen);
    if (memchr(listen, ':', hl)) return -1; /* a bare IPv6 address needs brackets */
  }
  const char *p = colon + 1;
  if (!*p || strlen(p) > 5) return -1;
  long v = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (*p - '0');
  }
  if (v > 65535) return -1;
  if (hl == 0) h = "0.0.0.0", hl = 7;
  if (hl + 1 > hostlen) return -1;
  memcpy(host, h, hl);
  host[hl] = '\0';
  *port = (int)v;
  return 0;
}

static bool is_loopback(const char *host) {
  return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
         strcmp(host, "localhost") == 0;
}

static bool url_safe(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '-' || *s == '_' || *s == '.' || *s == '~'))
      return false;
  return true;
}

int cfg_validate(const struct cfg *cfg, char *err, size_t errlen) {
  struct ctx c = {.name = cfg->file ? cfg->file : "(defaults)", .err = err, .errlen = errlen};
  char host[256];
  int port;
  if (cfg_parse_listen(cfg->listen, host, sizeof host, &port) != 0)
    return fail(&c, "listen: \"%s\" is not host:port, [v6]:port or :port", cfg->listen);
  if (!cfg->state_dir || !*cfg->state_dir) return fail(&c, "state_dir: empty");
  if (cfg->workers < 1 || cfg->workers > 1024)
    return fail(&c, "workers: %d is out of range (1 to 1024, 0 = one per CPU)", cfg->workers);
  if (cfg->max_body == 0) return fail(&c, "max_body: must be at least 1 byte");
  if (cfg->plug_max_on_seconds < 1 || cfg->plug_max_on_seconds > 3600)
    return fail(&c, "plug_max_on_seconds: %d is out of range (1 to 3600)", cfg->plug_max_on_seconds);
  if (cfg->story_attempts < 1) return fail(&c, "story_attempts: must be at least 1");
  if (cfg->max_queue < 1 || cfg->max_queue > 1000000)
    return fail(&c, "max_queue: %d is out of range (1 to 1000000)", cfg->max_queue);
  if (!cfg->alert_log || !*cfg->alert_log) return fail(&c, "alerts.log: empty");
  for (size_t i = 0; i < cfg->nsources; i++) {
    const struct cfg_source *s = &cfg->sources[i];
    for (size_t j = 0; j < i; j++)
      if (strcmp(cfg->sources[j].name, s->name) == 0)
        return fail(&c, "sources[%zu]: duplicate source name \"%s\" (also sources[%zu])", i + 1,
                    s->name, j + 1);
    if (s->type == CFG_SOURCE_WEBHOOK && s->auth.type == CFG_AUTH_NONE && !is_loopback(host))
      return fail(&c,
                  "sources[%zu] (\"%s\"): auth type none is refused on a non-loopback "
                  "listener (listen = \"%s\"): set auth",
                  i + 1, s->name, cfg->listen);
  }
  return 0;
}

/* ---- the Lua side ----------------------------------------------------------------- */

static void *cfg_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  struct ctx *c = ud;
  if (!ptr) osize = 0;
  if (nsize == 0) {
    free(ptr);
    c->mem_used -= osize;
    return NULL;
  }
  if (nsize > osize && c->mem_used + (nsize - osize) > CFG_MEM_LIMIT) return NULL;
  void *p = realloc(ptr, nsize);
  if (!p) return NULL;
  c->mem_used = c->mem_used - osize + nsize;
  return p;
}

static void cfg_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  struct ctx *c = *(struct ctx **)lua_getextraspace(L);
  if (++c->steps > CFG_MAX_STEPS) luaL_error(L, "configuration runs too long (endless loop?)");
}

/* __newindex of the chunk's environment: remember the line, then store. upvalue 1 is
 * the lines table. */
static int env_newindex(lua_State *L) {
  lua_Debug ar;
  if (lua_type(L, 2) == LUA_TSTRING && lua_getstack(L, 1, &ar) && lua_getinfo(L, "l", &ar) &&
      ar.currentline > 0) {
    lua_pushvalue(L, 2);
    lua_pushinteger(L, ar.currentline);
    lua_rawset(L, lua_upvalueindex(1));
  }
  lua_rawset(L, 1);
  return 0;
}

static const char *type_of(lua_State *L, int idx) { return luaL_typename(L, idx); }

static int parse_table(struct ctx *c, enum scope scope, void *base, const char *path);

/* Parses the value on top of the stack for option o into base. path names it. */
static int parse_value(struct ctx *c, const struct option *o, void *base, const char *path) {
  lua_State *L = c->L;
  int t = lua_type(L, -1);
  switch (o->kind) {
  case K_STRING: {
    if (t != LUA_TSTRING) return fail(c, "%s: expected a string, got %s", path, type_of(L, -1));
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    if (n == 0 || strlen(s) != n) return fail(c, "%s: empty string or NUL byte", path);
    char **p = field(base, o);
    free(*p);
    *p = xstrdup(s);
    return 0;
  }
  case K_STRINGS: {
    char ***pv = field(base, o);
    size_t *pn = strings_count(base, o);
    free_strings(*pv, *pn);
    *pv = NULL, *pn = 0;
    if (t == LUA_TSTRING) {
      *pv = xcalloc(2, sizeof **pv);
      (*pv)[0] = xstrdup(lua_tostring(L, -1));
      *pn = 1;
      return 0;
    }
    if (t != LUA_TTABLE)
      return fail(c, "%s: expected an array of strings, got %s", path, type_of(L, -1));
    size_t n = (size_t)lua_rawlen(L, -1);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      lua_pop(L, 1);
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || (size_t)lua_tointeger(L, -1) > n) {
        lua_pop(L, 1);
        return fail(c, "%s: expected an array of strings, found a non-array key", path);
      }
    }
    *pv = xcalloc(n + 1, sizeof **pv);
    for (size_t i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i);
      if (lua_type(L, -1) != LUA_TSTRING) {
        int r = fail(c, "%s[%zu]: expected a string, got %s", path, i, type_of(L, -1));
        lua_pop(L, 1);
        return r;
      }
      (*pv)[(*pn)++] = xstrdup(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    return 0;
  }
  case K_INT: {
    if (!lua_isinteger(L, -1))
      return fail(c, "%s: expected an integer, got %s", path,
                  t == LUA_TNUMBER ? "a fraction" : type_of(L, -1));
    lua_Integer v = lua_tointeger(L, -1);
    if (v < 0 || v > 1000000)
      return fail(c, "%s: %lld is out of range (0 to 1000000)", path, (long long)v);
    *(int *)field(base, o) = (int)v;
    return 0;
  }
  case K_SIZE:
    if (lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0) {
      *(size_t *)field(base, o) = (size_t)lua_tointeger(L, -1);
      return 0;
    }
    if (t == LUA_TSTRING && cfg_parse_size(lua_tostring(L, -1), field(base, o)) == 0 &&
        *(size_t *)field(base, o) > 0)
      return 0;
    return fail(c, "%s: expected a positive number of bytes or a size like \"16MiB\"", path);
  case K_BOOL:
    if (t != LUA_TBOOLEAN) return fail(c, "%s: expected a boolean, got %s", path, type_of(L, -1));
    *(bool *)field(base, o) = lua_toboolean(L, -1);
    return 0;
  case K_NUMBER:
    if (t != LUA_TNUMBER || !(lua_tonumber(L, -1) > 0) || !isfinite(lua_tonumber(L, -1)))
      return fail(c, "%s: expected a positive number", path);
    *(double *)field(base, o) = lua_tonumber(L, -1);
    return 0;
  case K_ENUM: {
    if (t == LUA_TSTRING) {
      const char *s = lua_tostring(L, -1);
      for (int k = 0; o->names[k]; k++)
        if (strcmp(o->names[k], s) == 0) {
          *(int *)field(base, o) = k;
          return 0;
        }
    }
    struct buf b;
    buf_init(&b);
    for (int k = 0; o->names[k]; k++) buf_printf(&b, "%s\"%s\"", k ? ", " : "", o->names[k]);
    int r = fail(c, "%s: expected one of %s", path, b.data);
    buf_free(&b);
    return r;
  }
  case K_JSON: {
    if (t != LUA_TTABLE) return fail(c, "%s: expected a table, got %s", path, type_of(L, -1));
    char err[200];
    cJSON *j = json_lua_to_cjson(L, -1, err, sizeof err);
    if (!j) return fail(c, "%s: %s", path, err);
    free(*(char **)field(base, o));
    *(char **)field(base, o) = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return 0;
  }
  case K_TABLE:
  case K_SOURCES:
    break;
  }
  return fail(c, "%s: internal error", path);
}

static int check_source(struct ctx *c, struct cfg_source *s, size_t i) {
  struct cfg_auth *a = &s->auth;
  if (!s->name) return fail(c, "sources[%zu]: name is required", i);
  if (s->type == CFG_SOURCE_WEBHOOK) {
    if (!url_safe(s->name))
      return fail(c,
                  "sources[%zu]: webhook name \"%s\" must be 1-64 characters of A-Z a-z 0-9 . _ ~ -",
                  i, s->name);
    if (s->path) return fail(c, "sources[%zu] (\"%s\"): path is only for tail sources", i, s->name);
    if (s->read_from_head)
      return fail(c, "sources[%zu] (\"%s\"): read_from_head is only for tail sources", i, s->name);
  } else {
    if (!s->path) return fail(c, "sources[%zu] (\"%s\"): a tail source needs path", i, s->name);
    if (a->type != CFG_AUTH_NONE)
      return fail(c, "sources[%zu] (\"%s\"): auth is only for webhook sources", i, s->name);
  }
  if (a->type == CFG_AUTH_NONE) {
    if (a->secret_env || a->secret_file || a->header)
      return fail(c, "sources[%zu].auth: type none takes no header or secret", i);
    return 0;
  }
  if (!a->header) {
    static const char *const headers[] = {NULL, "Authorization", "X-Signature-256",
                                          "X-Hub-Signature-256", "X-Slack-Signature"};
    a->header = xstrdup(headers[a->type]);
  }
  if (!!a->secret_env == !!a->secret_file)
    return fail(c, "sources[%zu].auth: type %s needs exactly one of secret_env and secret_file",
                i, cfg_auth_type_name(a->type));
  if (a->secret_env) {
    const char *v = getenv(a->secret_env);
    if (!v || !*v)
      return fail(c, "sources[%zu].auth.secret_env: environment variable %s is not set or empty",
                  i, a->secret_env);
    a->secret_len = strlen(v);
    a->secret = xstrndup(v, a->secret_len);
  } else {
    size_t n;
    char *v = read_file(a->secret_file, &n);
    if (!v)
      return fail(c, "sources[%zu].auth.secret_file: cannot read %s: %s", i, a->secret_file,
                  strerror(errno));
    if (n && v[n - 1] == '\n') n--;
    if (n && v[n - 1] == '\r') n--;
    a->secret = v, a->secret_len = n;
    v[n] = '\0';
    if (n == 0) return fail(c, "sources[%zu].auth.secret_file: %s is empty", i, a->secret_file);
  }
  return 0;
}

static int parse_sources(struct ctx *c, struct cfg *cfg) {
  lua_State *L = c->L;
  if (lua_type(L, -1) != LUA_TTABLE)
    return fail(c, "sources: expected an array of tables, got %s", type_of(L, -1));
  size_t n = (size_t)lua_rawlen(L, -1);
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || (size_t)lua_tointeger(L, -1) > n) {
      lua_pop(L, 1);
      return fail(c, "sources: expected an array of tables, found a non-array key");
    }
  }
  cfg->sources = xcalloc(n ? n : 1, sizeof *cfg->sources);
  for (size_t i = 1; i <= n; i++) {
    struct cfg_source *s = &cfg->sources[i - 1];
    apply_defaults(S_SOURCE, s);
    apply_defaults(S_AUTH, &s->auth);
    cfg->nsources = i;
    char path[64];
    snprintf(path, sizeof path, "sources[%zu]", i);
    lua_rawgeti(L, -1, (lua_Integer)i);
    if (lua_type(L, -1) != LUA_TTABLE) {
      int r = fail(c, "%s: expected a table, got %s", path, type_of(L, -1));
      lua_pop(L, 1);
      return r;
    }
    int r = parse_table(c, S_SOURCE, s, path);
    lua_pop(L, 1);
    if (r == 0) r = check_source(c, s, i);
    if (r) return r;
  }
  return 0;
}

static bool is_literal_secret_key(const char *k) {
  for (int i = 0; literal_secret_keys[i]; i++)
    if (strcasecmp(k, literal_secret_keys[i]) == 0) return true;
  return false;
}

/* Parses the table on top of the stack, whose keys are options of scope, into base. */
static int parse_table(struct ctx *c, enum scope scope, void *base, const char *path) {
  lua_State *L = c->L;
  int r = 0;
  lua_pushnil(L);
  while (r == 0 && lua_next(L, -2)) {
    char sub[160];
    if (lua_type(L, -2) != LUA_TSTRING) {
      r = fail(c, "%s: unexpected %s key (options are named)", path, type_of(L, -2));
      lua_pop(L, 1);
      break;
    }
    const char *key = lua_tostring(L, -2);
    snprintf(sub, sizeof sub, "%s.%s", path, key);
    const struct option *o = find_option(scope, key);
    if (!o && (scope == S_AUTH || scope == S_SOURCE) && is_literal_secret_key(key)) {
      r = fail(c, "%s: literal secrets are not allowed in the config file: use secret_env "
                  "(an environment variable) or secret_file", sub);
    } else if (!o) {
      r = fail(c, "%s: unknown option", sub);
    } else if (o->kind == K_TABLE) {
      if (lua_type(L, -1) != LUA_TTABLE)
        r = fail(c, "%s: expected a table, got %s", sub, type_of(L, -1));
      else if (scope == S_TOP)
        r = parse_table(c, S_ALERTS, base, "alerts");
      else
        r = parse_table(c, S_AUTH, &((struct cfg_source *)base)->auth, sub);
    } else {
      r = parse_value(c, o, base, sub);
    }
    lua_pop(L, 1);
  }
  if (r) lua_pop(L, 1); /* the key left by the interrupted lua_next */
  return r;
}

/* Runs the chunk and walks its globals. The stack holds nothing of ours on entry. */
static int load_into(struct ctx *c, const char *text, struct cfg *cfg) {
  lua_State *L = c->L;
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_settop(L, 0);
  static const char *const removed[] = {"dofile", "loadfile", "load", "print", NULL};
  for (int i = 0; removed[i]; i++) {
    lua_pushnil(L);
    lua_setglobal(L, removed[i]);
  }
  char *chunkname = xasprintf("@%s", c->name);
  int st = luaL_loadbufferx(L, text, strlen(text), chunkname, "t");
  free(chunkname);
  if (st != LUA_OK) return fail(c, "%s", lua_tostring(L, -1)); /* message has file:line */
  /* stack: chunk. Environment: env (1) with lines (2) as __newindex upvalue. */
  lua_newtable(L);                       /* env */
  lua_newtable(L);                       /* lines */
  lua_newtable(L);                       /* metatable */
  lua_pushglobaltable(L);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, -2);
  lua_pushcclosure(L, env_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_setmetatable(L, -3);               /* stack: chunk env lines */
  lua_pushvalue(L, -2);
  if (!lua_setupvalue(L, -4, 1)) lua_pop(L, 1);
  lua_pushvalue(L, -3);                  /* stack: chunk env lines chunk */
  lua_sethook(L, cfg_hook, LUA_MASKCOUNT, CFG_HOOK_STEP);
  st = lua_pcall(L, 0, 0, 0);
  lua_sethook(L, NULL, 0, 0);
  if (st != LUA_OK) {
    if (st == LUA_ERRMEM) return fail(c, "configuration uses too much memory");
    return fail(c, "%s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "error without message");
  }
  /* stack: chunk env lines */
  bool have_sources = false;
  int r = 0;
  lua_pushnil(L);
  while (r == 0 && lua_next(L, 2)) {
    c->line = 0;
    if (lua_type(L, -2) == LUA_TSTRING) {
      lua_pushvalue(L, -2);
      lua_rawget(L, 3);
      c->line = (int)lua_tointeger(L, -1);
      lua_pop(L, 1);
    }
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    const struct option *o = find_option(S_TOP, key);
    if (!o) {
      r = fail(c, "unknown option \"%s\" (use local for helper variables)", key);
    } else if (o->kind == K_SOURCES) {
      have_sources = true;
      r = parse_sources(c, cfg);
    } else if (o->kind == K_TABLE) {
      if (lua_type(L, -1) != LUA_TTABLE)
        r = fail(c, "alerts: expected a table, got %s", type_of(L, -1));
      else
        r = parse_table(c, S_ALERTS, cfg, "alerts");
    } else {
      r = parse_value(c, o, cfg, key);
    }
    lua_pop(L, 1);
  }
  c->line = 0;
  if (r) return r;
  if (!have_sources) {
    struct cfg def;
    cfg_default(&def);
    cfg->sources = def.sources, cfg->nsources = def.nsources;
    def.sources = NULL, def.nsources = 0;
    cfg_free(&def);
  }
  if (cfg->workers == 0) cfg->workers = cpu_count();
  return 0;
}

static void init_top(struct cfg *cfg) {
  memset(cfg, 0, sizeof *cfg);
  apply_defaults(S_TOP, cfg);
  apply_defaults(S_ALERTS, cfg);
}

void cfg_default(struct cfg *cfg) {
  static const struct {
    const char *name, *log_type;
  } defaults[] = {{"cloudtrail", LT_CLOUDTRAIL},
                  {"okta", LT_OKTA},
                  {"github", LT_GITHUB},
                  {"auto", NULL}};
  init_top(cfg);
  cfg->workers = cpu_count();
  cfg->nsources = sizeof defaults / sizeof defaults[0];
  cfg->sources = xcalloc(cfg->nsources, sizeof *cfg->sources);
  for (size_t i = 0; i < cfg->nsources; i++) {
    struct cfg_source *s = &cfg->sources[i];
    apply_defaults(S_SOURCE, s);
    apply_defaults(S_AUTH, &s->auth);
    s->name = xstrdup(defaults[i].name);
    s->log_type = defaults[i].log_type ? xstrdup(defaults[i].log_type) : NULL;
  }
}

int cfg_load_string(const char *name, const char *text, struct cfg *cfg, char *err,
                    size_t errlen) {
  struct ctx c = {.name = name, .err = err, .errlen = errlen};
  int r = -1;
  init_top(cfg);
  cfg->file = xstrdup(name);
  c.L = lua_newstate(cfg_alloc, &c);
  if (!c.L) {
    fail(&c, "cannot create a Lua state");
    goto out;
  }
  *(struct ctx **)lua_getextraspace(c.L) = &c;
  r = load_into(&c, text, cfg);
  if (r == 0) r = cfg_validate(cfg, err, errlen);
out:
  if (c.L) lua_close(c.L);
  if (r != 0) cfg_free(cfg);
  return r;
}

int cfg_load(const char *path, struct cfg *cfg, char *err, size_t errlen) {
  size_t n;
  char *text = read_file(path, &n);
  if (!text) {
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    memset(cfg, 0, sizeof *cfg);
    return -1;
  }
  if (strlen(text) != n) {
    snprintf(err, errlen, "%s: contains a NUL byte", path);
    free(text);
    memset(cfg, 0, sizeof *cfg);
    return -1;
  }
  int r = cfg_load_string(path, text, cfg, err, errlen);
  free(text);
  return r;
}

static void replace_str(char **field, const char *v) {
  free(*field);
  *field = xstrdup(v);
}

int cfg_build(const char *file, const struct cfg_overrides *ov, struct cfg *cfg, char *err,
              size_t errlen) {
  if (file) {
    if (cfg_load(file, cfg, err, errlen) != 0) return -1;
  } else {
    cfg_default(cfg);
  }
  if (ov) {
    if (ov->listen) replace_str(&cfg->listen, ov->listen);
    if (ov->state_dir) replace_str(&cfg->state_dir, ov->state_dir);
    if (ov->alert_log) replace_str(&cfg->alert_log, ov->alert_log);
    if (ov->workers > 0) cfg->workers = ov->workers;
    if (ov->ndetections) {
      free_strings(cfg->detections, cfg->ndetections);
      cfg->detections = xcalloc(ov->ndetections, sizeof *cfg->detections);
      for (size_t i = 0; i < ov->ndetections; i++) cfg->detections[i] = xstrdup(ov->detections[i]);
      cfg->ndetections = ov->ndetections;
    }
  }
  /* again: e.g. auth "none" needs a loopback listen, which --listen may have changed */
  if (cfg_validate(cfg, err, errlen) != 0) {
    cfg_free(cfg);
    return -1;
  }
  return 0;
}

void cfg_free(struct cfg *cfg) {
  free(cfg->file);
  free(cfg->listen);
  free(cfg->state_dir);
  free_strings(cfg->detections, cfg->ndetections);
  free_strings(cfg->stories, cfg->nstories);
  free_strings(cfg->lookups, cfg->nlookups);
  free(cfg->suppressions);
  free(cfg->alert_log);
  free(cfg->settings_json);
  free(cfg->secrets_file);
  for (size_t i = 0; i < cfg->nsources; i++) {
    struct cfg_source *s = &cfg->sources[i];
    free(s->name);
    free(s->log_type);
    free(s->path);
    free(s->auth.header);
    free(s->auth.secret_env);
    free(s->auth.secret_file);
    if (s->auth.secret) {
      wipe(s->auth.secret, s->auth.secret_len);
      free(s->auth.secret);
    }
  }
  free(cfg->sources);
  memset(cfg, 0, sizeof *cfg);
}

/* story.h — stories: Lua workflows run for alerts, as coroutines on the loop thread.
 *
 * A story file (a .lua file under scripts/) sets `name`, a trigger `on` and `run(alert)`. Each run is
 * a coroutine in the engine's own Lua state (separate from the detections'); every I/O
 * call (http, sleep, parallel) yields and the loop resumes it when the result is ready,
 * the OpenResty model, so story code reads straight and thousands of runs wait without a
 * thread each. `step(name, fn)` makes side effects durable: with a store, each run is
 * recorded before it starts and each completed step's result is committed, so a retried
 * or resumed run returns stored results instead of repeating a ticket or a page.
 *
 * HTTP goes through a transport chosen by the embedder: libcurl on the loop in the daemon
 * (story_http.c), mocks in `lp0 test` and `lp0 story run --mocks` (story_test.c).
 * Everything here runs on the loop thread. See docs/stories.md.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_STORY_H
#define LP0_STORY_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include <lua.h>

#include "util.h"

struct store;
struct sty_engine; /* opaque; sty_new() / sty_close() */

#define STY_DEFAULT_BUDGET 50000000LL /* instructions per run attempt */
#define STY_DEFAULT_TIMEOUT 300.0     /* wall-clock seconds per run attempt */
#define STY_DEFAULT_ATTEMPTS 3
#define STY_DEFAULT_RETRY_DELAY 30.0 /* seconds before the first retry; doubled after */
#define STY_DEFAULT_MAX_RUNNING 1000

/* {===================== HTTP as stories see it ===================== */

struct sty_header {
  const char *name, *value;
};

struct sty_http_req {
  const char *method, *url;
  const char *const *headers; /* "Name: value" */
  size_t nheaders;
  const char *body; /* NULL: none */
  size_t body_len;
  double timeout; /* seconds, per attempt */
  int retries;    /* further attempts on connection errors, timeouts, 5xx and 429 */
  const char *user, *password; /* basic auth, or NULL */
};

struct sty_http_resp {
  int status;        /* 0 when there is no response */
  const char *error; /* NULL, or why there is no response ("timeout", "connect: ...") */
  const struct sty_header *headers; /* lower-case names */
  size_t nheaders;
  const char *body;
  size_t body_len;
  int attempts;
  double ms; /* from the request to the final answer, retries included */
};

/* Everything in r is borrowed for the duration of the call. */
typedef void (*sty_http_done_cb)(const struct sty_http_resp *r, void *arg);

struct sty_transport {
  /* Starts req (copied as needed) and calls done exactly once, from a later loop callback,
   * never from inside request. Returns 0 with the request's id in *id, or -1 with a
   * reason in err (done not called). */
  int (*request)(void *self, const struct sty_http_req *req, sty_http_done_cb done, void *arg,
                 long long *id, char *err, size_t errlen);
  /* Cancels request id: done is called (with an error) before cancel returns. */
  void (*cancel)(void *self, long long id);
  void *self;
};

/* {===================== smart plugs as stories see them ===================== */

struct sty_plug_req {
  const char *op; /* "info", "on", "off", "pulse" */
  const char *host;
  int port;
  int seconds; /* pulse */
};

struct sty_plug_resp {
  const char *error; /* NULL on success, else one line; code says which kind */
  const char *code;  /* "ok", "cooldown", "refused", "timeout", ... */
  /* info */
  const char *alias, *model;
  int relay_state;
  long long on_time;
  /* pulse */
  int seconds;
  double deadline;
  bool extended, capped;
  const char *rule_id;
};
typedef void (*sty_plug_done_cb)(const struct sty_plug_resp *r, void *arg);

struct sty_plugs {
  /* Starts an operation; done is called once, from a later loop callback. Returns 0 with
   * a handle in *op (for detach), or -1 with a reason in err. */
  int (*request)(void *self, const struct sty_plug_req *req, sty_plug_done_cb done, void *arg,
                 void **op, char *err, size_t errlen);
  /* The run is gone: done must not be called for op (the operation itself goes on, so a
   * pulse still ends at its deadline). */
  void (*detach)(void *self, void *op);
  void *self;
};

struct plug_ctl;
/* The daemon's plugs: operations go to c (borrowed; it must outlive the engine). */
void sty_plug_ctl(struct plug_ctl *c, struct sty_plugs *out);

/* }============================================================ */

struct httpc;
/* The daemon's transport: requests go to h (borrowed; it must outlive the engine). */
void sty_httpc_transport(struct httpc *h, struct sty_transport *out);

/* }============================================================ */

/* What a run does, as it happens: for `lp0 story run`, tests and the daemon's log. */
enum sty_trace_kind { STY_T_START, STY_T_HTTP, STY_T_STEP, STY_T_LOG, STY_T_END, STY_T_PLUG };

struct sty_trace {
  enum sty_trace_kind kind;
  const char *story;
  long long run; /* store id, or 0 */
  int attempt;
  /* HTTP (PLUG: method is the operation, url is host:port, status the seconds of a pulse) */
  const char *method, *url;
  int status;
  int attempts;
  double ms;
  /* STEP: name, cached (the stored result was returned) */
  const char *name;
  bool cached;
  /* LOG: level (log.h) and message; END: ok, error message or NULL, result JSON or NULL */
  int level;
  const char *msg; /* also HTTP: the transport error, or NULL */
  bool ok;
  const char *result;
};
typedef void (*sty_trace_cb)(const struct sty_trace *t, void *ud);

struct sty_options {
  uv_loop_t *loop;
  struct store *store; /* NULL: runs are not recorded (lp0 story run, tests) */
  const struct sty_transport *http;
  const struct sty_plugs *plugs; /* NULL: plug.* raises "no plugs configured" */
  struct lkp_set *lookups;       /* lookup() tables (a reference is taken), or NULL */
  const char *settings_json; /* the configuration's `settings`, as JSON; NULL = {} */
  const char *secrets_file;  /* NAME=value lines (mode 0600 or stricter), or NULL */
  long long budget;          /* 0: STY_DEFAULT_BUDGET */
  double timeout;            /* 0: STY_DEFAULT_TIMEOUT */
  int max_attempts;          /* 0: STY_DEFAULT_ATTEMPTS */
  double retry_delay;        /* 0: STY_DEFAULT_RETRY_DELAY */
  int max_running;           /* 0: STY_DEFAULT_MAX_RUNNING */
  bool quiet;                /* story log lines only go to the trace (tests) */
  sty_trace_cb trace;        /* may be NULL */
  void *ud;
};

/* Loads every story (*.lua, not lib/ or *_spec.lua) under paths. Problems ("file:line:
 * message") are appended to diags (owned strings) and those files skipped. Returns NULL
 * with *errmsg (free()) when Lua cannot start. o is copied; its pointers must outlive the
 * engine. */
struct sty_engine *sty_new(const struct sty_options *o, char *const *paths, size_t npaths,
                           struct vec *diags, char **errmsg);
/* Stops timers, abandons runs in flight (recorded runs stay `running` in the store and are
 * resumed at the next start: sty_recover) and frees the engine once its handles are
 * closed, then calls closed (may be NULL). */
void sty_close(struct sty_engine *e, void (*closed)(void *ud), void *ud);

size_t sty_count(const struct sty_engine *e);
const char *sty_name(const struct sty_engine *e, size_t i);
const char *sty_file(const struct sty_engine *e, size_t i);
int sty_find(const struct sty_engine *e, const char *name); /* index or -1 */
lua_State *sty_lua(struct sty_engine *e);
/* Pushes story i's `tests` value (nil when it has none). [-0, +1, -] */
void sty_push_tests(struct sty_engine *e, size_t i);

/* The stories an alert (JSON text of the alert record) triggers, by index into out (at
 * most max). Its `destinations`: absent, the triggers decide; [] none; names add those
 * stories. Trigger functions that fail are logged and count as false. */
size_t sty_select(struct sty_engine *e, const char *alert_json, int *out, size_t max);

/* Daemon: records one pending run per triggered story for the stored alert (in the
 * caller's open transaction) and starts them on the next loop turn, after the caller has
 * committed. Returns the number of runs, or -1 on a store error. */
int sty_trigger(struct sty_engine *e, const char *alert_json, long long alert_id);
/* Daemon start: runs interrupted by a stop or crash go back to pending. */
int sty_recover(struct sty_engine *e);
/* Starts recorded runs that are due (new, resumed, retries, `lp0 runs retry`). Called on
 * the daemon's tick. */
void sty_poll(struct sty_engine *e);
size_t sty_running(const struct sty_engine *e);

/* Without a store: runs story i once on alert_json; done gets the outcome (ok, the error,
 * the JSON of run()'s first result). Returns 0, or -1 when the run cannot start. */
typedef void (*sty_done_cb)(bool ok, const char *error, const char *result, void *ud);
int sty_run_once(struct sty_engine *e, size_t i, const char *alert_json, sty_done_cb done,
                 void *ud);

/* Tests: replaces the settings (JSON; NULL = the engine's) and the secrets ("NAME=value"
 * strings, copied; they win over the environment and the secrets file). */
void sty_set_settings(struct sty_engine *e, const char *settings_json);
void sty_set_secrets(struct sty_engine *e, const char *const *pairs, size_t n);

#endif

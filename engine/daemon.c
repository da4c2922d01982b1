/* daemon.c — `lp0 run` (see daemon.h).
 *
 * Ownership and threads: the loop thread owns the HTTP server, the store, the dedup state
 * and every request; worker threads only evaluate batches (worker.c). A request becomes
 * one or more batches; when its last batch is merged into dedup, the store transaction is
 * committed and only then is the request answered 200: an acknowledged event is never
 * lost. Alerts are raised when a window reaches its threshold (responders should not wait
 * for the window to close), stored, and written to the alert log.
 *
 * Open dedup windows are saved with each commit and restored at start, so thresholds
 * carry across restarts. Sources, authentication and limits come from the configuration
 * (config.c); bodies are decoded by ingest.c. Tail sources (tail.c) feed the same
 * batches; a file's offset is committed with the batch holding its lines, so after a
 * crash at most that batch is read again. Request bodies are decoded on the workers
 * (batch body mode), so the loop thread never parses JSON.
 *
 * Backpressure: when max_queue batches wait for the workers, webhooks answer 503 with
 * Retry-After and tails pause; nothing is accepted that could not be processed.
 *
 * Reload (SIGHUP, POST /-/reload from loopback): the configuration and a new worker pool
 * with freshly loaded detections are built first; if either fails the running set stays.
 * Then tails whose source changed are stopped, the old pool is drained (its batches are
 * merged and committed under the old detections), open windows move to the new
 * detections' indexes, and the new pool takes over. Old configurations are kept until
 * exit: batches and tails borrow names from them.
 * SPDX-License-Identifier: MIT
 */
#include "daemon.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "alert.h"
#include "batch.h"
#include "clock.h"
#include "config.h"
#include "correlate.h"
#include "dedup.h"
#include "httpc.h"
#include "httpd.h"
#include "ingest.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "plug.h"
#include "logtype.h"
#include "lookup.h"
#include "store.h"
#include "story.h"
#include "suppress.h"
#include "tail.h"
#include "util.h"
#include "worker.h"

struct dmn;

/* A tail source: its files' lines go into batches like webhook bodies do. */
struct dmn_tail {
  struct dmn *d;
  const struct cfg_source *src;
  struct tail *t;
  struct batch *cur;         /* filling; handed to the workers when full or on a tick */
  struct dmn_req *cur_req;   /* its request record (offsets to commit) */
  bool paused;
};

struct dmn {
  struct cfg *cfg;         /* owned: the running configuration */
  struct vec retired;      /* struct cfg *: replaced by reloads, freed at exit */
  const char *cfg_file;    /* borrowed from the caller, as are the overrides */
  const struct cfg_overrides *ov;
  struct vec tails;        /* struct dmn_tail * (owned) */
  struct vec settling;     /* struct dmn_req * merged, waiting for the iteration's commit */
  uv_prepare_t settle;     /* runs settle() once per loop iteration while needed */
  bool settle_on;
  uv_timer_t flush; /* hands partial tail batches on */
  const char *port_file;
  uv_loop_t loop;
  uv_signal_t sigint, sigterm, sighup;
  uv_timer_t tick;
  struct httpd *http;
  struct store *store;
  struct wrk_pool *pool;
  struct httpc *httpc;           /* stories' HTTP client */
  struct sty_transport transport;
  struct plug_ctl *plugs;        /* smart plugs for stories */
  struct sty_plugs plug_api;
  struct sty_engine *stories;
  struct lkp_set *lookups;       /* lookup() tables of the running set (one reference) */
  struct sup_set *sup;           /* suppressions of the running set, or NULL */
  uint64_t *sup_reported;        /* per entry: hits already added to /metrics */
  struct dedup dedup;
  struct cor *cor; /* sequences, beacons, entity risk */
  const struct det_set *next_set; /* during a reload: the incoming detections */
  struct lkp_set *next_lookups;   /* during a reload: the incoming lookup tables */
  FILE *alert_log;
  bool alert_tty, stopping, alert_log_dirty;
  unsigned long long batch_no;
  int exit_code;
  /* /metrics families (docs/metrics.md); series handles are looked up per label set */
  struct {
    struct metrics_family *requests, *received, *bytes, *parse_errors, *events, *unclassified;
    struct metrics_family *matches, *rule_errors, *alerts, *store_errors, *queue, *windows;
    struct metrics_family *detections, *batch_seconds, *commit_seconds, *reloads, *tail_lag;
    struct metrics_family *killed, *rejected, *story_runs, *story_active, *story_http, *suppressed;
    struct metrics_family *corr_groups, *corr_evictions;
    /* by detection index: looked up once per detection set */
    struct metrics_series **match_series, **error_series, **killed_series;
  } m;
};

static void metrics_setup(struct dmn *d) {
  static const char *const source[] = {"source", NULL}, *const source_code[] = {"source", "code", NULL};
  static const char *const detection[] = {"detection", NULL}, *const severity[] = {"severity", NULL};
  d->m.requests = metrics_counter("lp0_requests_total", "Ingest HTTP requests by response status.", source_code);
  d->m.received = metrics_counter("lp0_events_received_total", "Events accepted from a source, before detection.", source);
  d->m.bytes = metrics_counter("lp0_ingest_bytes_total", "Body bytes received on /ingest/<source>.", source);
  d->m.parse_errors = metrics_counter("lp0_parse_errors_total", "Records that were not valid JSON objects.", source);
  d->m.events = metrics_counter("lp0_events_total", "Events evaluated, by source.", source);
  d->m.unclassified = metrics_counter("lp0_unclassified_total", "Events of no known log type, by source.", source);
  d->m.matches = metrics_counter("lp0_detection_matches_total", "Events a detection's rule matched (before dedup and threshold).", detection);
  d->m.rule_errors = metrics_counter("lp0_detection_errors_total", "Errors raised by a detection's hooks (budget kills included).", detection);
  d->m.killed = metrics_counter("lp0_detection_budget_exceeded_total", "Hook calls stopped by the instruction or memory budget.", detection);
  d->m.rejected = metrics_counter("lp0_backpressure_total", "Webhook requests refused with 503 because max_queue batches were waiting.", source);
  d->m.reloads = metrics_counter("lp0_reloads_total", "Configuration and detection reloads, by result.", (const char *const[]){"result", NULL});
  d->m.tail_lag = metrics_gauge("lp0_tail_lag_bytes", "Bytes of a followed file not yet read (size at the last stat minus offset).", (const char *const[]){"path", NULL});
  d->m.alerts = metrics_counter("lp0_alerts_total", "Alerts raised and committed, by severity.", severity);
  d->m.store_errors = metrics_counter("lp0_store_errors_total", "Store operations that failed.", NULL);
  d->m.queue = metrics_gauge("lp0_queue_depth", "Batches waiting for or in detection.", NULL);
  d->m.windows = metrics_gauge("lp0_dedup_windows", "Open dedup/threshold windows.", NULL);
  d->m.detections = metrics_gauge("lp0_detections", "Detections in the running set.", NULL);
  d->m.batch_seconds = metrics_histogram("lp0_batch_duration_seconds", "From a batch's submission to the workers until it is merged.", NULL, metrics_latency_buckets, metrics_latency_nbuckets);
  d->m.commit_seconds = metrics_histogram("lp0_store_commit_duration_seconds", "Duration of store commits.", NULL, metrics_latency_buckets, metrics_latency_nbuckets);
  for (int i = 0; i < SEV_COUNT; i++) metrics_with1(d->m.alerts, det_sev_name(i)); /* show zeros */
  d->m.story_runs = metrics_counter("lp0_story_runs_total", "Story run attempts finished, by story and result (succeeded, failed).", (const char *const[]){"story", "result", NULL});
  d->m.story_active = metrics_gauge("lp0_story_runs_in_progress", "Story runs started and not finished.", NULL);
  d->m.story_http = metrics_counter("lp0_story_http_requests_total", "HTTP requests made by stories, by outcome (HTTP status class or transport error).", (const char *const[]){"outcome", NULL});
  d->m.corr_groups = metrics_gauge("lp0_correlation_groups", "Groups a sequence or beacon keeps.", (const char *const[]){"detection", NULL});
  d->m.corr_evictions = metrics_gauge("lp0_correlation_evictions", "Groups evicted since start because a pattern reached max_groups.", (const char *const[]){"detection", NULL});
  d->m.suppressed = metrics_counter("lp0_suppressed_total", "Matches dropped by a suppressions entry, by entry name.", (const char *const[]){"entry", NULL});
  metrics_with1(d->m.reloads, "success");
  metrics_with1(d->m.reloads, "failure");
}

/* Series handles of the running detection set, by detection index. */
static void metrics_bind_detections(struct dmn *d) {
  const struct det_set *set = wrk_detections(d->pool);
  size_t n = set->dets.len ? set->dets.len : 1;
  free(d->m.match_series);
  free(d->m.error_series);
  free(d->m.killed_series);
  d->m.match_series = xcalloc(n, sizeof *d->m.match_series);
  d->m.error_series = xcalloc(n, sizeof *d->m.error_series);
  d->m.killed_series = xcalloc(n, sizeof *d->m.killed_series);
  for (size_t i = 0; i < set->dets.len; i++) {
    const char *id = ((const struct det *)set->dets.items[i])->id;
    d->m.match_series[i] = metrics_with1(d->m.matches, id);
    d->m.error_series[i] = metrics_with1(d->m.rule_errors, id);
    d->m.killed_series[i] = metrics_with1(d->m.killed, id);
  }
}

static void count_store_error(struct dmn *d) { metrics_inc(metrics_with0(d->m.store_errors)); }

/* Commits the open transaction, timing it. */
static int commit(struct dmn *d) {
  unsigned long long t0 = clk_mono_ns();
  int rc = store_commit(d->store);
  metrics_observe(metrics_with0(d->m.commit_seconds), (double)(clk_mono_ns() - t0) / 1e9);
  if (rc != 0) count_store_error(d);
  return rc;
}

/* A tail position to commit once the lines before it are processed. */
struct dmn_offset {
  char *path;
  struct store_offset o;
};

/* One ingest request in flight: an HTTP request, or a batch of tailed lines (req NULL). */
struct dmn_req {
  struct dmn *d;
  struct httpd_req *req;
  struct vec offsets; /* struct dmn_offset *, tail batches only: the latest per file */
  int outstanding; /* batches not back yet */
  unsigned long long events, parse_errors, unclassified, received, skipped;
  int decode_rc; /* body mode: a fatal ingest_decode() result */
  char *first_error;
};

/* {===================== alerts ===================== */

static void write_alert_log(struct dmn *d, const cJSON *a, const char *json) {
  if (d->alert_tty) {
    const cJSON *sev = cJSON_GetObjectItemCaseSensitive(a, "severity");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(a, "title");
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(a, "detection");
    fprintf(d->alert_log, "ALERT %-8s %s  [%s]\n", cJSON_IsString(sev) ? sev->valuestring : "?",
            cJSON_IsString(title) ? title->valuestring : "?",
            cJSON_IsString(det) ? det->valuestring : "?");
  } else {
    fprintf(d->alert_log, "%s\n", json);
  }
  d->alert_log_dirty = true; /* flushed once per loop iteration (settle) */
}

/* A window reached its threshold: the alert is raised now. */
static void dmn_on_threshold(struct dedup_window *w, void *ud) {
  struct dmn *d = ud;
  const struct det *det = wrk_detections(d->pool)->dets.items[w->det];
  cJSON *a = alert_build(w, det);
  char *json = a ? cJSON_PrintUnformatted(a) : NULL;
  if (!json) {
    log_error("alert for %s: out of memory", det->id);
    cJSON_Delete(a);
    return;
  }
  if (store_put_alert(d->store, json, strlen(json), &w->alert_id) != 0) {
    count_store_error(d);
    log_error("storing an alert of %s: %s", det->id, store_errmsg(d->store));
  } else if (d->stories && sty_trigger(d->stories, json, w->alert_id) < 0) {
    count_store_error(d);
  }
  metrics_inc(metrics_with1(d->m.alerts, det_sev_name(w->first->severity)));
  write_alert_log(d, a, json);
  cJSON_free(json);
  cJSON_Delete(a);
}

/* }============================================================ */

/* {===================== stories ===================== */

static void dmn_on_story(const struct sty_trace *t, void *ud) {
  struct dmn *d = ud;
  if (t->kind == STY_T_END) {
    const char *values[] = {t->story, t->ok ? "succeeded" : "failed"};
    metrics_inc(metrics_with(d->m.story_runs, values));
  } else if (t->kind == STY_T_HTTP) {
    char cls[16];
    if (t->msg) snprintf(cls, sizeof cls, "error");
    else snprintf(cls, sizeof cls, "%dxx", t->status / 100);
    metrics_inc(metrics_with1(d->m.story_http, cls));
    log_debug("story %s: run %lld: %s %s -> %d%s%s (%.0f ms, %d attempts)", t->story, t->run,
              t->method, t->url, t->status, t->msg ? " " : "", t->msg ? t->msg : "", t->ms,
              t->attempts);
  } else if (t->kind == STY_T_STEP && !t->cached) {
    log_debug("story %s: run %lld: step %s done", t->story, t->run, t->name);
  }
}

/* A plug switched off at the end of a pulse (or could not be). */
static void dmn_on_plug(const struct plug_result *r, void *ud) {
  (void)ud;
  if (r->status == PLUG_OK) log_info("plug %s:%d: pulse over, switched off", r->host, r->port);
  else log_error("plug %s:%d: %s", r->host, r->port, r->message);
}

/* Loads the lookup tables and the suppressions of c. Returns 0, or -1 with err. */
static int load_extras(const struct cfg *c, struct lkp_set **lookups, struct sup_set **sup,
                       char *err, size_t errlen) {
  char *msg = NULL;
  *lookups = NULL, *sup = NULL;
  if (lkp_set_discover(c->detections, c->ndetections, c->lookups, c->nlookups, lookups, &msg) != 0) {
    snprintf(err, errlen, "lookups: %s", msg);
    free(msg);
    return -1;
  }
  if (c->suppressions && sup_load(c->suppressions, sup, &msg) != 0) {
    snprintf(err, errlen, "suppressions: %s", msg);
    free(msg);
    lkp_set_unref(*lookups);
    *lookups = NULL;
    return -1;
  }
  return 0;
}

/* Adds the suppression hits since the last report to /metrics. */
static void report_suppressed(struct dmn *d) {
  if (!d->sup) return;
  for (size_t i = 0; i < d->sup->n; i++) {
    uint64_t h = sup_hits(d->sup, i);
    if (h > d->sup_reported[i]) {
      metrics_add(metrics_with1(d->m.suppressed, d->sup->entries[i].name), h - d->sup_reported[i]);
      d->sup_reported[i] = h;
    }
  }
}

/* Swaps in lookups and sup (taken), releasing the previous ones: after the workers that
 * used them are drained. */
static void use_extras(struct dmn *d, struct lkp_set *lookups, struct sup_set *sup) {
  report_suppressed(d);
  sup_free(d->sup);
  free(d->sup_reported);
  lkp_set_unref(d->lookups);
  d->lookups = lookups;
  d->sup = sup;
  d->sup_reported = xcalloc(sup && sup->n ? sup->n : 1, sizeof *d->sup_reported);
  for (size_t i = 0; sup && i < sup->n; i++)
    metrics_with1(d->m.suppressed, sup->entries[i].name); /* show zeros */
}

/* Loads the stories of c; NULL when one does not load (problems logged). */
static struct sty_engine *load_stories(struct dmn *d, const struct cfg *c) {
  struct sty_options o = {0};
  struct vec diags = {0};
  char *err = NULL;
  o.loop = &d->loop;
  o.store = d->store;
  o.http = &d->transport;
  o.plugs = &d->plug_api;
  o.settings_json = c->settings_json;
  o.lookups = d->next_lookups ? d->next_lookups : d->lookups;
  o.secrets_file = c->secrets_file;
  o.timeout = c->story_timeout;
  o.max_attempts = c->story_attempts;
  o.retry_delay = c->story_retry_delay;
  o.max_running = c->story_max_running;
  o.trace = dmn_on_story;
  o.ud = d;
  struct sty_engine *e = sty_new(&o, c->stories, c->nstories, &diags, &err);
  if (!e) log_error("stories: %s", err ? err : "cannot start");
  for (size_t i = 0; i < diags.len; i++) {
    log_error("%s", (char *)diags.items[i]);
    free(diags.items[i]);
  }
  if (e && diags.len) {
    log_error("stories: %zu problems (see 'lp0 check -c FILE')", diags.len);
    sty_close(e, NULL, NULL);
    e = NULL;
  }
  vec_free(&diags);
  free(err);
  return e;
}

/* }============================================================ */

/* {===================== requests ===================== */

struct dmn;
static void respond_json(struct httpd_req *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void respond_json(struct httpd_req *req, int status, const char *fmt, ...) {
  char body[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof body) n = (int)sizeof body - 1;
  if (req->user) { /* an ingest request: user is its dmn, path names the source */
    struct dmn *d = req->user;
    char code[8];
    snprintf(code, sizeof code, "%d", status);
    const char *values[] = {req->path + 8, code};
    metrics_inc(metrics_with(d->m.requests, values));
  }
  httpd_respond(req, status, "application/json", body, (size_t)n);
}

/* JSON-escapes s into out (a short message for a response). */
static void escape(const char *s, char *out, size_t outlen) {
  size_t j = 0;
  for (; *s && j + 7 < outlen; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') out[j++] = '\\', out[j++] = (char)c;
    else if (c < 0x20) j += (size_t)snprintf(out + j, outlen - j, "\\u%04x", c);
    else out[j++] = (char)c;
  }
  out[j] = '\0';
}

/* Writes the windows changed since the last save, and the watermark, into the open
 * transaction: after a restart thresholds and dedup carry on where they were. */
static int save_group(const char *det, const char *group, const char *state, void *ud) {
  struct dmn *d = ud;
  if (store_corr_put(d->store, det, group, state) != 0)
    log_error("saving correlation state of %s: %s", *det ? det : "risk", store_errmsg(d->store));
  return 0;
}

struct corr_restore {
  struct dmn *d;
  struct vec stale; /* "detection\x1fgroup" of rows to delete */
  size_t restored;
};

static int restore_group(const char *det, const char *group, const char *state, void *ud) {
  struct corr_restore *c = ud;
  if (cor_restore(c->d->cor, wrk_detections(c->d->pool), det, group, state) != 0)
    vec_push(&c->stale, xasprintf("%s\x1f%s", det, group));
  else
    c->restored++;
  return 0;
}

/* Loads the saved groups of sequences, beacons and risk; rows whose pattern is gone are
 * deleted. */
static int restore_groups(struct dmn *d) {
  struct corr_restore c = {d, {0}, 0};
  int rc = store_corr_load_all(d->store, restore_group, &c);
  bool own = !store_in_transaction(d->store) && store_begin(d->store) == 0;
  for (size_t i = 0; i < c.stale.len; i++) {
    char *k = c.stale.items[i], *sep = strchr(k, '\x1f');
    *sep = '\0';
    store_corr_put(d->store, k, sep + 1, NULL);
    free(k);
  }
  vec_free(&c.stale);
  if (own && store_commit(d->store) != 0) rc = -1;
  if (c.restored) log_info("restored %zu correlation groups", c.restored);
  return rc;
}

static void save_windows(struct dmn *d) {
  const struct det_set *set = wrk_detections(d->pool);
  struct vec *dirty = &d->dedup.dirty;
  size_t keep = 0; /* windows that could not be written stay dirty for the next save */
  for (size_t i = 0; i < dirty->len; i++) {
    struct dedup_window *w = dirty->items[i];
    const struct det *det = set->dets.items[w->det];
    if (store_window_put(d->store, w, det->id) != 0) {
      count_store_error(d);
      log_error("saving a dedup window of %s: %s", det->id, store_errmsg(d->store));
      dirty->items[keep++] = w;
      continue;
    }
    w->dirty = false;
    w->saved = true;
  }
  dirty->len = keep;
  if (d->dedup.have_watermark) {
    char v[32];
    snprintf(v, sizeof v, "%.3f", d->dedup.watermark);
    if (store_meta_set(d->store, "dedup_watermark", v) != 0) count_store_error(d);
  }
  if (d->cor && cor_save(d->cor, set, false, save_group, d) != 0) count_store_error(d);
}



static void dmn_on_close(const struct dedup_window *w, void *ud) {
  struct dmn *d = ud;
  if (!w->saved || !d->pool) return;
  const struct det *det = wrk_detections(d->pool)->dets.items[w->det];
  char *key = store_window_key(det->id, w->first->dedup);
  if (store_window_delete(d->store, key) != 0) count_store_error(d);
  free(key);
}

struct restore_ctx {
  struct dmn *d;
  struct vec stale; /* keys of windows whose detection is gone */
  size_t restored;
};

static int restore_window(const struct store_window *row, void *ud) {
  struct restore_ctx *c = ud;
  const struct det_set *set = wrk_detections(c->d->pool);
  const struct det *det = hmap_get(&set->ids, row->detection, strlen(row->detection));
  struct dedup_window *w = NULL;
  if (!det || store_window_to_dedup(c->d->store, row, det->index,
                                    det_set_logtype(set, det->log_types[0]), &w) != 0) {
    vec_push(&c->stale, xstrdup(row->key));
    return 0;
  }
  w->threshold = det->threshold; /* the detection as loaded now decides */
  dedup_restore(&c->d->dedup, w);
  c->restored++;
  return 0;
}

static int restore_windows(struct dmn *d) {
  struct restore_ctx c = {d, {0}, 0};
  char *wm = NULL;
  int rc = store_window_load_all(d->store, restore_window, &c);
  if (rc == 0 && c.stale.len && store_begin(d->store) == 0) {
    for (size_t i = 0; i < c.stale.len; i++) store_window_delete(d->store, c.stale.items[i]);
    rc = store_commit(d->store);
  }
  for (size_t i = 0; i < c.stale.len; i++) free(c.stale.items[i]);
  vec_free(&c.stale);
  if (rc == 0 && store_meta_get(d->store, "dedup_watermark", &wm) == 0 && wm) {
    double t = atof(wm);
    if (!d->dedup.have_watermark || t > d->dedup.watermark) {
      d->dedup.watermark = t;
      d->dedup.have_watermark = true;
    }
  }
  free(wm);
  if (rc != 0) log_error("restoring dedup windows: %s", store_errmsg(d->store));
  else if (c.restored) log_info("restored %zu open dedup windows", c.restored);
  return rc;
}

/* The alert log is flushed once per loop iteration rather than per alert (the store,
 * committed first, is the record; the log follows within the iteration). */
static void flush_alert_log(struct dmn *d) {
  if (!d->alert_log_dirty) return;
  d->alert_log_dirty = false;
  if (fflush(d->alert_log) != 0) log_error("alert log: %s", strerror(errno));
}

/* Answers a request whose events are committed (ok) or could not be (503). */
static void answer(struct dmn_req *r, bool ok) {
  if (!ok) {
    respond_json(r->req, 503, "{\"error\":\"the alert store could not commit; retry\"}");
  } else if (r->decode_rc) {
    respond_json(r->req, ingest_http_status(r->decode_rc), "{\"error\":\"%s\"}",
                 ingest_strerror(r->decode_rc));
  } else if (!r->received && !r->parse_errors && !r->skipped) {
    respond_json(r->req, 400,
                 "{\"error\":\"no events in the body: send a JSON object, array or NDJSON\"}");
  } else if (r->parse_errors) {
    char msg[512];
    escape(r->first_error ? r->first_error : "malformed JSON", msg, sizeof msg);
    respond_json(r->req, 400,
                 "{\"error\":\"%s\",\"accepted\":%llu,\"rejected\":%llu}", msg, r->events,
                 r->parse_errors);
  } else {
    respond_json(r->req, 200, "{\"accepted\":%llu}", r->events);
  }
}

/* Commits once for every request and tail batch finished in this loop iteration, then
 * answers the requests: one commit per iteration, not per request, and still no answer
 * before its events' alerts and offsets are durable. */
static void settle(struct dmn *d) {
  if (!d->settling.len) return;
  if (!store_in_transaction(d->store) && store_begin(d->store) != 0) count_store_error(d);
  for (size_t i = 0; i < d->settling.len; i++) {
    struct dmn_req *r = d->settling.items[i];
    for (size_t k = 0; k < r->offsets.len; k++) { /* tail batches: offsets go with them */
      struct dmn_offset *o = r->offsets.items[k];
      if (store_offset_set(d->store, o->path, &o->o) != 0) count_store_error(d);
      free(o->path);
      free(o);
    }
    vec_free(&r->offsets);
  }
  save_windows(d);
  bool ok = !store_in_transaction(d->store) || commit(d) == 0;
  if (!ok) log_error("store commit: %s", store_errmsg(d->store));
  for (size_t i = 0; i < d->settling.len; i++) {
    struct dmn_req *r = d->settling.items[i];
    if (r->req) answer(r, ok);
    free(r->first_error);
    free(r);
  }
  d->settling.len = 0;
  flush_alert_log(d);
}

static void dmn_on_settle(uv_prepare_t *h) {
  struct dmn *d = h->data;
  settle(d);
  uv_prepare_stop(h);
  d->settle_on = false;
}

/* The request's batches are all merged: it waits for this iteration's commit. */
static void finish_request(struct dmn *d, struct dmn_req *r) {
  vec_push(&d->settling, r);
  if (d->settle_on) return;
  if (uv_prepare_start(&d->settle, dmn_on_settle) == 0) d->settle_on = true;
  else settle(d); /* cannot defer: commit now */
}

static void tail_backpressure(struct dmn *d);

/* Loop thread: an evaluated batch is back. Merge its matches in order, then answer the
 * request once all its batches are in and committed. */
static void dmn_on_batch(struct batch *b, void *ud) {
  struct dmn *d = ud;
  struct dmn_req *r = b->owner;
  const struct det_set *set = wrk_detections(d->pool);
  metrics_add(metrics_with1(d->m.events, b->file), b->events);
  metrics_add(metrics_with1(d->m.unclassified, b->file), b->unclassified);
  metrics_observe(metrics_with0(d->m.batch_seconds), (double)(clk_mono_ns() - b->submitted_ns) / 1e9);
  for (size_t i = 0; i < b->det_errors.len; i++) {
    const struct batch_det_errors *e = b->det_errors.items[i];
    metrics_add(d->m.error_series[e->det], e->errors);
    metrics_add(d->m.killed_series[e->det], e->killed);
  }
  metrics_add(metrics_with1(d->m.parse_errors, b->file), b->parse_errors);
  if (b->body) { /* counted here: the body was decoded on the worker */
    metrics_add(metrics_with1(d->m.received, b->file), b->received);
    r->received += b->received;
    r->skipped += b->skipped;
    if (b->decode_rc) r->decode_rc = b->decode_rc;
    if (b->sns_subscribe_url) {
      log_warn("source %s: SNS subscription confirmation for %s: confirm it by visiting %s",
               b->file, b->sns_topic ? b->sns_topic : "?", b->sns_subscribe_url);
      r->skipped++; /* answered 200: nothing to evaluate, nothing lost */
    }
  }
  for (size_t i = 0; i < b->matches.len; i++) {
    const struct det_match *m = b->matches.items[i];
    metrics_inc(d->m.match_series[m->det]);
  }
  r->events += b->events;
  r->parse_errors += b->parse_errors;
  r->unclassified += b->unclassified;
  for (size_t i = 0; i < b->errors.len; i++) {
    log_warn("%s", (char *)b->errors.items[i]);
    if (!r->first_error) r->first_error = xstrdup(b->errors.items[i]);
  }
  if (!store_in_transaction(d->store) && store_begin(d->store) != 0) {
    count_store_error(d);
    log_error("store begin: %s", store_errmsg(d->store));
  }
  batch_merge(b, set, &d->dedup, d->cor);
  batch_free(b);
  if (d->tails.len) tail_backpressure(d); /* a paused tail resumes as soon as there is room */
  if (--r->outstanding == 0) finish_request(d, r);
}

/* Checks the source's credentials on the raw request. Returns 0, or answers and returns -1. */
static int authenticate(struct httpd_req *req, const struct cfg_source *src) {
  const struct cfg_auth *a = &src->auth;
  enum ingest_auth r = INGEST_AUTH_OK;
  const char *h = a->header ? httpd_req_header(req, a->header) : NULL;
  switch (a->type) {
  case CFG_AUTH_NONE: return 0;
  case CFG_AUTH_BEARER: r = ingest_auth_bearer(h, a->secret); break;
  case CFG_AUTH_HMAC:
    r = ingest_auth_hmac_hex(h, NULL, a->secret, a->secret_len, req->body, req->body_len);
    break;
  case CFG_AUTH_GITHUB: r = ingest_auth_github(h, a->secret, a->secret_len, req->body, req->body_len); break;
  case CFG_AUTH_SLACK:
    r = ingest_auth_slack(h, httpd_req_header(req, "X-Slack-Request-Timestamp"), a->secret,
                          a->secret_len, req->body, req->body_len, (long long)clk_now(),
                          (long long)a->window);
    break;
  }
  if (r == INGEST_AUTH_OK) return 0;
  if (ingest_auth_status(r) == 401) httpd_add_header(req, "WWW-Authenticate", "Bearer");
  respond_json(req, ingest_auth_status(r), "{\"error\":\"%s\"}", ingest_auth_reason(r));
  return -1;
}

static const struct cfg_source *find_source(const struct dmn *d, const char *name) {
  for (size_t i = 0; i < d->cfg->nsources; i++) {
    const struct cfg_source *src = &d->cfg->sources[i];
    if (src->type == CFG_SOURCE_WEBHOOK && strcmp(src->name, name) == 0) return src;
  }
  return NULL;
}

static void handle_ingest(struct dmn *d, struct httpd_req *req, const char *name) {
  const struct cfg_source *src = find_source(d, name);
  if (!src) {
    char msg[128];
    escape(name, msg, sizeof msg);
    respond_json(req, 404, "{\"error\":\"unknown source '%s'\"}", msg);
    return;
  }
  const char *challenge = httpd_req_header(req, "x-okta-verification-challenge");
  if (strcmp(req->method, "GET") == 0 && challenge) { /* Okta's one-time verification */
    if (authenticate(req, src) != 0) return;
    char *body = ingest_okta_verification(challenge);
    httpd_respond(req, 200, "application/json", body, strlen(body));
    free(body);
    return;
  }
  if (strcmp(req->method, "POST") != 0) {
    httpd_add_header(req, "Allow", "POST");
    respond_json(req, 405, "{\"error\":\"use POST\"}");
    return;
  }
  if (authenticate(req, src) != 0) return;
  metrics_add(metrics_with1(d->m.bytes, src->name), req->body_len);
  if (wrk_pending(d->pool) >= (size_t)d->cfg->max_queue) {
    metrics_inc(metrics_with1(d->m.rejected, src->name));
    log_warn("backpressure: %zu batches wait for detection (max_queue %d); answering 503",
             wrk_pending(d->pool), d->cfg->max_queue);
    httpd_add_header(req, "Retry-After", "1");
    respond_json(req, 503, "{\"error\":\"detection is behind (queue full); retry later\"}");
    return;
  }
  struct dmn_req *r = xcalloc(1, sizeof *r);
  r->d = d;
  r->req = req;
  r->outstanding = 1;
  size_t len;
  char *body = httpd_req_take_body(req, &len);
  struct batch *bt = batch_new_body(d->batch_no++, src->name, body, len,
                                    httpd_req_header(req, "Content-Type"),
                                    httpd_req_header(req, "Content-Encoding"));
  bt->owner = r;
  bt->log_type = src->log_type;
  bt->submitted_ns = clk_mono_ns();
  wrk_submit(d->pool, bt); /* answered when it is merged (dmn_on_batch) */
}

/* {===================== tail sources ===================== */

static void flush_tail(struct dmn_tail *tl) {
  if (!tl->cur) return;
  tl->cur_req->outstanding = 1;
  tl->cur->submitted_ns = clk_mono_ns();
  wrk_submit(tl->d->pool, tl->cur);
  tl->cur = NULL;
  tl->cur_req = NULL;
}

static void remember_offset(struct dmn_req *r, const char *path, const struct tail_pos *pos) {
  struct dmn_offset *o = NULL;
  for (size_t i = 0; i < r->offsets.len && !o; i++)
    if (strcmp(((struct dmn_offset *)r->offsets.items[i])->path, path) == 0) o = r->offsets.items[i];
  if (!o) {
    o = xcalloc(1, sizeof *o);
    o->path = xstrdup(path);
    vec_push(&r->offsets, o);
  }
  o->o.dev = pos->dev, o->o.ino = pos->ino, o->o.offset = (int64_t)pos->offset;
  o->o.marker = pos->marker, o->o.marker_len = pos->marker_len;
}

/* Tails read ahead only a few batches per worker: enough to keep the workers busy, and
 * memory bounded (a batch holds up to 1 MiB of lines) whatever the size of the file or
 * of max_queue. Reading resumes when the workers are down to a quarter of it. Checked
 * whenever a tail hands a batch on, not only on the timer: a fast disk fills many
 * batches in 100 ms. */
static void tail_backpressure(struct dmn *d) {
  size_t pending = wrk_pending(d->pool);
  size_t high = (size_t)(4 * d->cfg->workers);
  if (high > (size_t)d->cfg->max_queue / 2 + 1) high = (size_t)d->cfg->max_queue / 2 + 1;
  for (size_t i = 0; i < d->tails.len; i++) {
    struct dmn_tail *tl = d->tails.items[i];
    bool pause = pending >= high || (tl->paused && pending > high / 4);
    if (pause != tl->paused) tail_pause(tl->t, tl->paused = pause);
  }
}

static void dmn_on_tail_line(const char *path, const char *line, size_t len, uint64_t end,
                             void *ud) {
  struct dmn_tail *tl = ud;
  struct dmn *d = tl->d;
  if (!tl->cur) {
    tl->cur = batch_new(d->batch_no++, tl->src->name);
    tl->cur->log_type = tl->src->log_type;
    tl->cur_req = xcalloc(1, sizeof *tl->cur_req);
    tl->cur_req->d = d;
    tl->cur->owner = tl->cur_req;
  }
  size_t k = len;
  while (k > 0 && (line[k - 1] == '\r' || line[k - 1] == ' ' || line[k - 1] == '\t')) k--;
  if (k > 0) {
    batch_add_line(tl->cur, line, k, path, (unsigned long)(end - len - 1)); /* its start */
    metrics_inc(metrics_with1(d->m.received, tl->src->name));
    metrics_add(metrics_with1(d->m.bytes, tl->src->name), len + 1);
  }
  /* The position after this line is committed with the batch. A rotated file's position
   * is not: its path now names another file (docs/tail.md). */
  struct tail_pos pos;
  if (tail_position(tl->t, &pos) == 0 && !pos.rotated) remember_offset(tl->cur_req, path, &pos);
  if (batch_full(tl->cur)) {
    flush_tail(tl);
    tail_backpressure(d);
  }
}

static void dmn_on_tail_error(const char *path, int code, const char *msg, void *ud) {
  struct dmn_tail *tl = ud;
  if (code < 0) {
    metrics_inc(metrics_with1(tl->d->m.parse_errors, tl->src->name));
    log_warn("source %s: %s: %s", tl->src->name, path ? path : "-", msg);
  } else {
    log_info("source %s: %s: %s", tl->src->name, path ? path : "-", msg);
  }
}

static int dmn_tail_lookup(const char *path, struct tail_start *out, void *ud) {
  struct dmn_tail *tl = ud;
  struct store_offset o;
  if (store_offset_get(tl->d->store, path, &o) != 0) return -1;
  out->dev = o.dev, out->ino = o.ino, out->offset = (uint64_t)o.offset, out->marker = o.marker;
  return 0;
}

/* Every 100 ms: partial batches go to the workers, and paused tails may resume. */
static void dmn_on_flush(uv_timer_t *h) {
  struct dmn *d = h->data;
  for (size_t i = 0; i < d->tails.len; i++) flush_tail(d->tails.items[i]);
  tail_backpressure(d);
}

static int start_tail(struct dmn *d, const struct cfg_source *src) {
  struct dmn_tail *tl = xcalloc(1, sizeof *tl);
  tl->d = d;
  tl->src = src;
  const char *patterns[] = {src->path};
  struct tail_config tc = {0};
  tc.patterns = patterns;
  tc.npatterns = 1;
  tc.on_line = dmn_on_tail_line;
  tc.on_error = dmn_on_tail_error;
  tc.lookup = dmn_tail_lookup;
  tc.ud = tl;
  tc.read_from_head = src->read_from_head;
  int rc = tail_open(&d->loop, &tc, &tl->t);
  if (rc != 0) {
    log_error("source %s: cannot follow %s: %s", src->name, src->path, strerror(-rc));
    free(tl);
    return -1;
  }
  vec_push(&d->tails, tl);
  return 0;
}

static void stop_tail(struct dmn_tail *tl) {
  flush_tail(tl);
  tail_close(tl->t, NULL);
  free(tl);
}

static int start_tails(struct dmn *d) {
  for (size_t i = 0; i < d->cfg->nsources; i++)
    if (d->cfg->sources[i].type == CFG_SOURCE_TAIL && start_tail(d, &d->cfg->sources[i]) != 0)
      return -1;
  return 0;
}

static void stop_tails(struct dmn *d) {
  for (size_t i = 0; i < d->tails.len; i++) stop_tail(d->tails.items[i]);
  d->tails.len = 0;
}

/* A tail source of c with the same name, path and reading options, or NULL. */
static const struct cfg_source *same_tail(const struct cfg *c, const struct cfg_source *s) {
  for (size_t i = 0; i < c->nsources; i++) {
    const struct cfg_source *n = &c->sources[i];
    if (n->type == CFG_SOURCE_TAIL && strcmp(n->name, s->name) == 0 &&
        strcmp(n->path, s->path) == 0 && n->read_from_head == s->read_from_head &&
        (n->log_type ? s->log_type && strcmp(n->log_type, s->log_type) == 0 : !s->log_type))
      return n;
  }
  return NULL;
}

/* Reload, before the pool changes: tails whose source is gone or changed stop (their
 * last lines are flushed to the old pool, so their offsets commit with the drain). */
static void stop_changed_tails(struct dmn *d, const struct cfg *next) {
  size_t j = 0;
  for (size_t i = 0; i < d->tails.len; i++) {
    struct dmn_tail *tl = d->tails.items[i];
    const struct cfg_source *n = same_tail(next, tl->src);
    if (n) d->tails.items[j++] = tl;
    else stop_tail(tl);
  }
  d->tails.len = j;
}

/* Reload, once next is the running configuration: kept tails point at its sources, new
 * tail sources start (from their committed offsets). */
static int start_new_tails(struct dmn *d) {
  int rc = 0;
  for (size_t i = 0; i < d->tails.len; i++) {
    struct dmn_tail *tl = d->tails.items[i];
    tl->src = same_tail(d->cfg, tl->src);
  }
  for (size_t i = 0; i < d->cfg->nsources; i++) {
    const struct cfg_source *s = &d->cfg->sources[i];
    bool running = false;
    for (size_t k = 0; k < d->tails.len && !running; k++)
      running = ((struct dmn_tail *)d->tails.items[k])->src == s;
    if (s->type == CFG_SOURCE_TAIL && !running && start_tail(d, s) != 0) rc = -1;
  }
  return rc;
}

/* }============================================================ */

/* {===================== reload ===================== */

static bool same_str(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static int remap_det(struct dedup_window *w, void *ud) {
  struct dmn *d = ud;
  const struct det *o = wrk_detections(d->pool)->dets.items[w->det];
  const struct det *n = hmap_get(&d->next_set->ids, o->id, strlen(o->id));
  if (!n || !n->create_alert) return -1;
  w->threshold = n->threshold;
  /* the log type string belongs to the outgoing set */
  const char *lt = w->first->log_type ? det_set_logtype(d->next_set, w->first->log_type) : NULL;
  w->first->log_type = lt ? lt : det_set_logtype(d->next_set, n->log_types[0]);
  return n->index;
}

/* Opens the alert log of c; returns 0 or -1 (the running one stays). */
static int open_alert_log(struct dmn *d, const struct cfg *c) {
  FILE *f = stderr;
  const char *al = c->alert_log;
  if (strcmp(al, "stderr") != 0 && strcmp(al, "-") != 0 && !(f = fopen(al, "a"))) {
    log_error("%s: cannot open the alert log: %s", al, strerror(errno));
    return -1;
  }
  if (d->alert_log && d->alert_log != stderr) fclose(d->alert_log);
  d->alert_log = f;
  d->alert_tty = c->alert_format == CFG_FORMAT_TEXT ||
                 (c->alert_format == CFG_FORMAT_AUTO && isatty(fileno(f)));
  return 0;
}

static void apply_logging(const struct cfg *c) {
  log_set_level((enum log_level)c->log_level);
  log_set_json(c->log_format == CFG_FORMAT_JSON ||
               (c->log_format == CFG_FORMAT_AUTO && !isatty(STDERR_FILENO)));
}

/* Loads the configuration and detections again and swaps them in, or keeps the running
 * set. Returns 0, or -1 with a message in err. Loop thread; blocks while the old pool
 * finishes its queue. */
static int reload(struct dmn *d, const char *why, char *err, size_t errlen) {
  struct cfg *next = xcalloc(1, sizeof *next);
  struct wrk_pool *pool = NULL;
  char *perr = NULL;
  unsigned long long t0 = clk_mono_ns();
  log_info("%s: reloading %s and the detections", why, d->cfg_file ? d->cfg_file : "the defaults");
  if (cfg_build(d->cfg_file, d->ov, next, err, errlen) != 0) {
    free(next);
    goto fail;
  }
  struct lkp_set *lookups;
  struct sup_set *sup;
  if (load_extras(next, &lookups, &sup, err, errlen) != 0) {
    cfg_free(next);
    free(next);
    goto fail;
  }
  if (wrk_pool_new(&d->loop, next->workers, next->detections, next->ndetections, lookups, sup,
                   dmn_on_batch, d, &pool, &perr) != 0) {
    snprintf(err, errlen, "detections: %s", perr ? perr : "cannot start the workers");
    free(perr);
    lkp_set_unref(lookups);
    sup_free(sup);
    cfg_free(next);
    free(next);
    goto fail;
  }
  d->next_lookups = lookups;
  struct sty_engine *stories = load_stories(d, next);
  d->next_lookups = NULL;
  if (!stories) {
    snprintf(err, errlen, "stories: problems in the stories (see the log and 'lp0 check')");
    wrk_pool_close(pool, NULL, NULL);
    lkp_set_unref(lookups);
    sup_free(sup); /* the new workers are stopped by the close above before it returns */
    cfg_free(next);
    free(next);
    goto fail;
  }
  /* Nothing can fail from here on: the new set takes over. */
  if (!same_str(next->listen, d->cfg->listen) || !same_str(next->state_dir, d->cfg->state_dir) ||
      next->max_body != d->cfg->max_body)
    log_warn("reload: listen, state_dir and max_body take effect at the next start");
  stop_changed_tails(d, next);
  for (size_t i = 0; i < d->tails.len; i++) flush_tail(d->tails.items[i]);
  wrk_pool_drain(d->pool); /* merged and answered under the detections they ran on */
  settle(d);
  bool own = !store_in_transaction(d->store) && store_begin(d->store) == 0;
  d->next_set = wrk_detections(pool);
  dedup_remap(&d->dedup, remap_det, d); /* windows of removed detections are deleted */
  d->next_set = NULL;
  /* correlation state moves through the store: saved under detection ids with the old
   * set, read back against the new indexes */
  if (cor_save(d->cor, wrk_detections(d->pool), true, save_group, d) != 0) count_store_error(d);
  wrk_pool_close(d->pool, NULL, NULL);
  d->pool = pool;
  cor_free(d->cor);
  d->cor = cor_new(true);
  if (restore_groups(d) != 0) count_store_error(d);
  use_extras(d, lookups, sup); /* the old workers are joined: nothing reads the old ones */
  if (own) save_windows(d);
  if (own && commit(d) != 0) log_error("store commit: %s", store_errmsg(d->store));
  metrics_bind_detections(d);
  vec_push(&d->retired, d->cfg);
  d->cfg = next;
  if (start_new_tails(d) != 0) log_error("reload: some tail sources could not start");
  sty_close(d->stories, NULL, NULL); /* its runs in flight resume under the new stories */
  d->stories = stories;
  if (sty_recover(d->stories) < 0) log_error("stories: %s", store_errmsg(d->store));
  sty_poll(d->stories);
  if (!same_str(next->alert_log, ((struct cfg *)d->retired.items[d->retired.len - 1])->alert_log))
    open_alert_log(d, next);
  apply_logging(next);
  metrics_inc(metrics_with1(d->m.reloads, "success"));
  log_info("reloaded in %.0f ms: %zu detections, %zu sources", (double)(clk_mono_ns() - t0) / 1e6,
           wrk_detections(d->pool)->dets.len, d->cfg->nsources);
  return 0;
fail:
  metrics_inc(metrics_with1(d->m.reloads, "failure"));
  log_error("reload failed, the running configuration and detections stay: %s", err);
  return -1;
}

static void dmn_on_hup(uv_signal_t *h, int signum) {
  struct dmn *d = h->data;
  char err[1024];
  (void)signum;
  if (!d->stopping) reload(d, "SIGHUP", err, sizeof err);
}

static void handle_reload(struct dmn *d, struct httpd_req *req) {
  char err[1024], msg[1100];
  if (!req->peer_loopback) {
    respond_json(req, 403, "{\"error\":\"reload is only accepted from loopback\"}");
  } else if (strcmp(req->method, "POST") != 0) {
    httpd_add_header(req, "Allow", "POST");
    respond_json(req, 405, "{\"error\":\"use POST\"}");
  } else if (reload(d, "POST /-/reload", err, sizeof err) != 0) {
    escape(err, msg, sizeof msg);
    respond_json(req, 422, "{\"reloaded\":false,\"error\":\"%s\"}", msg);
  } else {
    respond_json(req, 200, "{\"reloaded\":true,\"detections\":%zu}",
                 wrk_detections(d->pool)->dets.len);
  }
}

/* }============================================================ */

static void tail_lag(const struct tail_file_stat *st, void *ud) {
  struct dmn *d = ud;
  int64_t lag = st->size > st->offset ? (int64_t)(st->size - st->offset) : 0;
  metrics_set(metrics_with1(d->m.tail_lag, st->path), lag);
}

static void handle_metrics(struct dmn *d, struct httpd_req *req) {
  struct buf b;
  buf_init(&b);
  for (size_t i = 0; i < d->tails.len; i++)
    tail_each_file(((struct dmn_tail *)d->tails.items[i])->t, tail_lag, d);
  metrics_set(metrics_with0(d->m.queue), (int64_t)wrk_pending(d->pool));
  metrics_set(metrics_with0(d->m.windows), (int64_t)d->dedup.windows.len);
  metrics_set(metrics_with0(d->m.detections), (int64_t)wrk_detections(d->pool)->dets.len);
  metrics_set(metrics_with0(d->m.story_active), d->stories ? (int64_t)sty_running(d->stories) : 0);
  report_suppressed(d);
  const struct det_set *set = wrk_detections(d->pool);
  for (size_t i = 0; i < set->dets.len; i++) {
    const struct det *det = set->dets.items[i];
    if (!det->corr || det->corr->kind == DET_CORR_RISK_SUM || det->corr->kind == DET_CORR_RISK_TACTICS)
      continue;
    size_t groups;
    unsigned long long ev;
    cor_stats(d->cor, det->index, &groups, &ev);
    metrics_set(metrics_with1(d->m.corr_groups, det->id), (int64_t)groups);
    metrics_set(metrics_with1(d->m.corr_evictions, det->id), (int64_t)ev);
  }
  metrics_render(&b);
  httpd_respond(req, 200, "text/plain; version=0.0.4", b.data ? b.data : "", b.len);
  buf_free(&b);
}

static void dmn_on_request(struct httpd_req *req, void *ud) {
  struct dmn *d = ud;
  if (d->stopping) {
    httpd_add_header(req, "Retry-After", "5");
    respond_json(req, 503, "{\"error\":\"shutting down\"}");
    return;
  }
  if (strncmp(req->path, "/ingest/", 8) == 0) {
    if (find_source(d, req->path + 8)) req->user = d; /* counted by source and status */
    handle_ingest(d, req, req->path + 8);
  } else if (strcmp(req->path, "/healthz") == 0) {
    respond_json(req, 200, "{\"status\":\"ok\",\"detections\":%zu}",
                 wrk_detections(d->pool)->dets.len);
  } else if (strcmp(req->path, "/metrics") == 0) {
    handle_metrics(d, req);
  } else if (strcmp(req->path, "/-/reload") == 0) {
    handle_reload(d, req);
  } else {
    respond_json(req, 404, "{\"error\":\"no such path (POST /ingest/<source>, GET /healthz, GET /metrics)\"}");
  }
}

/* }============================================================ */

/* {===================== start and stop ===================== */

static void on_handle_closed(uv_handle_t *h) { (void)h; }

static void dmn_on_pool_closed(void *ud) {
  struct dmn *d = ud;
  d->pool = NULL;
  if (d->store && store_in_transaction(d->store) && store_commit(d->store) != 0)
    log_error("store commit at exit: %s", store_errmsg(d->store));
  uv_close((uv_handle_t *)&d->tick, on_handle_closed);
  uv_close((uv_handle_t *)&d->flush, on_handle_closed);
  uv_close((uv_handle_t *)&d->sigint, on_handle_closed);
  uv_close((uv_handle_t *)&d->sigterm, on_handle_closed);
  uv_close((uv_handle_t *)&d->sighup, on_handle_closed);
  uv_close((uv_handle_t *)&d->settle, on_handle_closed);
  if (d->stories) sty_close(d->stories, NULL, NULL); /* runs in flight resume at next start */
  d->stories = NULL;
  if (d->httpc) httpc_close(d->httpc, NULL, NULL);
  d->httpc = NULL;
  if (d->plugs) plug_ctl_close(d->plugs); /* running pulses keep their deadlines (store, device) */
  d->plugs = NULL;
}

static void dmn_on_http_closed(void *ud) {
  struct dmn *d = ud;
  d->http = NULL;
  wrk_pool_drain(d->pool); /* every request was answered */
  settle(d);               /* tail batches the drain handed back */
  if (store_in_transaction(d->store) || store_begin(d->store) == 0) {
    save_windows(d); /* open windows survive the restart */
    if (commit(d) != 0) log_error("store commit at exit: %s", store_errmsg(d->store));
  }
  wrk_pool_close(d->pool, dmn_on_pool_closed, d);
}

static void dmn_on_signal(uv_signal_t *h, int signum) {
  struct dmn *d = h->data;
  if (d->stopping) return;
  d->stopping = true;
  log_info("%s: draining and stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
  uv_timer_stop(&d->flush);
  stop_tails(d);
  if (d->http) httpd_close(d->http, dmn_on_http_closed, d);
}

/* Event time rarely stands still in production, but a quiet source would leave windows
 * open for ever: let the wall clock close them too. */
static void dmn_on_tick(uv_timer_t *t) {
  struct dmn *d = t->data;
  flush_alert_log(d);
  if (d->stories) sty_poll(d->stories); /* new, resumed and retried story runs */
  if (d->dedup.nheap == 0) return;
  bool own = !store_in_transaction(d->store) && store_begin(d->store) == 0;
  dedup_advance(&d->dedup, clk_now());
  if (own) save_windows(d);
  if (own && commit(d) != 0) log_error("store commit: %s", store_errmsg(d->store));
}

static int open_store(struct dmn *d) {
  char *err = NULL, *path = xasprintf("%s/lp0.db", d->cfg->state_dir);
  mkdir(d->cfg->state_dir, 0700); /* STORE_MKDIR makes one level; this makes ./var */
  int rc = store_open(path, STORE_MKDIR | STORE_BG_CHECKPOINT, &d->store, &err);
  if (rc != 0) log_error("%s", err ? err : "cannot open the store");
  free(err);
  free(path);
  return rc;
}

static int start(struct dmn *d) {
  const struct cfg *c = d->cfg;
  char host[256], *err = NULL;
  int port, rc;
  if (cfg_parse_listen(c->listen, host, sizeof host, &port) != 0) {
    log_error("listen %s: expected HOST:PORT", c->listen);
    return 2;
  }
  if (open_store(d) != 0) return 2;
  char xerr[1024];
  struct lkp_set *lookups;
  struct sup_set *sup;
  if (load_extras(c, &lookups, &sup, xerr, sizeof xerr) != 0) {
    log_error("%s", xerr);
    return 2;
  }
  metrics_setup(d);
  use_extras(d, lookups, sup);
  if ((rc = wrk_pool_new(&d->loop, c->workers, c->detections, c->ndetections, d->lookups, d->sup,
                         dmn_on_batch, d, &d->pool, &err)) != 0) {
    log_error("detections: %s", err ? err : "cannot start the workers");
    free(err);
    return 2;
  }
  dedup_init(&d->dedup, NULL, d);
  d->dedup.track_dirty = true;
  d->dedup.on_threshold = dmn_on_threshold;
  d->dedup.on_close = dmn_on_close;
  metrics_bind_detections(d);
  if (restore_windows(d) != 0) return 2;
  d->cor = cor_new(true);
  if (restore_groups(d) != 0) return 2;
  struct httpc_options ho = {0};
  ho.per_host_limit = c->story_http_per_host > 0 ? (unsigned)c->story_http_per_host : 0;
  if (!(d->httpc = httpc_new(&d->loop, &ho))) return 2;
  sty_httpc_transport(d->httpc, &d->transport);
  struct plug_cfg pc;
  plug_cfg_default(&pc);
  pc.max_on_seconds = c->plug_max_on_seconds;
  pc.cooldown_seconds = c->plug_cooldown_seconds;
  pc.timeout_ms = (uint64_t)(c->plug_timeout * 1000.0);
  d->plugs = plug_ctl_new(&d->loop, d->store, &pc);
  plug_ctl_observe(d->plugs, dmn_on_plug, d);
  sty_plug_ctl(d->plugs, &d->plug_api);
  if (plug_recover(d->plugs) < 0) log_error("plugs: cannot read the stored deadlines: %s", store_errmsg(d->store));
  if (!(d->stories = load_stories(d, c))) return 2;
  if (sty_recover(d->stories) < 0) log_error("stories: %s", store_errmsg(d->store));
  sty_poll(d->stories);
  if (start_tails(d) != 0) return 2;
  if (uv_timer_start(&d->flush, dmn_on_flush, 100, 100) != 0) return 2;
  struct httpd_config hc = {0};
  hc.host = host;
  hc.port = port;
  hc.max_body = c->max_body;
  hc.on_request = dmn_on_request;
  hc.ud = d;
  if ((rc = httpd_open(&d->loop, &hc, &d->http)) != 0) {
    log_error("listen on %s: %s", c->listen, rc < 0 && rc > -4096 ? uv_strerror(rc) : "failed");
    d->http = NULL;
    return 2;
  }
  if (uv_signal_start(&d->sigint, dmn_on_signal, SIGINT) != 0 ||
      uv_signal_start(&d->sigterm, dmn_on_signal, SIGTERM) != 0 ||
      uv_signal_start(&d->sighup, dmn_on_hup, SIGHUP) != 0 ||
      uv_timer_start(&d->tick, dmn_on_tick, 1000, 1000) != 0)
    return 2;
  if (d->port_file) {
    FILE *f = fopen(d->port_file, "w");
    if (!f || fprintf(f, "%d\n", httpd_port(d->http)) < 0 || fclose(f) != 0) {
      log_error("%s: cannot write the port file", d->port_file);
      return 2;
    }
  }
  log_info("listening on %s:%d, %zu detections, %d workers, %zu sources, state in %s%s%s", host,
           httpd_port(d->http), wrk_detections(d->pool)->dets.len, c->workers, c->nsources,
           store_path(d->store), c->file ? ", config " : "", c->file ? c->file : "");
  return 0;
}

int dmn_run(const char *config_file, const struct cfg_overrides *ov, const char *port_file) {
  struct dmn *d = xcalloc(1, sizeof *d);
  char err[1024];
  d->cfg = xcalloc(1, sizeof *d->cfg);
  if (cfg_build(config_file, ov, d->cfg, err, sizeof err) != 0) {
    fprintf(stderr, "lp0: %s\n", err);
    free(d->cfg);
    free(d);
    return 2;
  }
  d->cfg_file = config_file;
  d->ov = ov;
  d->port_file = port_file;
  d->exit_code = 0;
  apply_logging(d->cfg);
  /* Request bodies (100 KiB to 16 MiB) come and go hundreds of times a second: served
   * from glibc's mmap path, each one costs a map, page faults and an unmap. Keep them on
   * the heap, and let freed memory be reused rather than returned at once. (Sanitizer
   * and valgrind allocators refuse: harmless, only slower.) */
  if (mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1 || mallopt(M_TRIM_THRESHOLD, 64 << 20) != 1)
    log_debug("mallopt refused: request bodies stay on the mmap path");
  if (uv_loop_init(&d->loop) != 0) {
    cfg_free(d->cfg);
    free(d->cfg);
    free(d);
    return 2;
  }
  if (open_alert_log(d, d->cfg) != 0) d->alert_log = stderr; /* logged; alerts still stored */
  /* Handles first: whatever fails later, closing them is always possible. */
  if (uv_signal_init(&d->loop, &d->sigint) != 0 || uv_signal_init(&d->loop, &d->sigterm) != 0 ||
      uv_signal_init(&d->loop, &d->sighup) != 0 || uv_timer_init(&d->loop, &d->tick) != 0 ||
      uv_prepare_init(&d->loop, &d->settle) != 0 ||
      uv_timer_init(&d->loop, &d->flush) != 0) {
    log_error("cannot set up the event loop");
    return 2; /* the process exits: nothing to unwind that the OS would not */
  }
  d->sigint.data = d->sigterm.data = d->sighup.data = d->tick.data = d->flush.data = d;
  d->settle.data = d;
  int rc = start(d);
  if (rc != 0) { /* unwind in the same order as a stop */
    d->exit_code = rc;
    d->stopping = true;
    stop_tails(d);
    if (d->http) httpd_close(d->http, dmn_on_http_closed, d);
    else if (d->pool) wrk_pool_close(d->pool, dmn_on_pool_closed, d);
    else dmn_on_pool_closed(d);
  }
  uv_run(&d->loop, UV_RUN_DEFAULT);
  dedup_free(&d->dedup);
  cor_free(d->cor);
  store_close(d->store);
  metrics_reset();
  sup_free(d->sup);
  free(d->sup_reported);
  lkp_set_unref(d->lookups);
  free(d->m.match_series);
  free(d->m.error_series);
  free(d->m.killed_series);
  vec_free(&d->tails);
  vec_free(&d->settling);
  if (uv_loop_close(&d->loop) != 0) log_warn("event loop closed with handles open");
  if (d->alert_log != stderr) fclose(d->alert_log);
  for (size_t i = 0; i < d->retired.len; i++) {
    cfg_free(d->retired.items[i]);
    free(d->retired.items[i]);
  }
  vec_free(&d->retired);
  cfg_free(d->cfg);
  free(d->cfg);
  int code = d->exit_code;
  free(d);
  return code;
}

/* }============================================================ */

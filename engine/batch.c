/* batch.c — evaluating a batch of records on one detection set (see batch.h).
 *
 * cJSON allocations for one record come from the thread's arena (json_arena_begin/end):
 * everything parsed for a record dies with it, and only strings copied into the matches
 * survive.
 * SPDX-License-Identifier: MIT
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "correlate.h"
#include "dedup.h"
#include "ingest.h"
#include "json.h"
#include "logtype.h"
#include "suppress.h"

struct batch *batch_new(unsigned long long no, const char *file) {
  struct batch *b = xcalloc(1, sizeof *b);
  b->no = no;
  b->file = file;
  b->max_time = -1;
  buf_init(&b->text);
  return b;
}

struct batch *batch_new_body(unsigned long long no, const char *file, char *body, size_t len,
                             const char *content_type, const char *content_encoding) {
  struct batch *b = batch_new(no, file);
  b->body = body;
  b->body_len = len;
  b->content_type = content_type ? xstrdup(content_type) : NULL;
  b->content_encoding = content_encoding ? xstrdup(content_encoding) : NULL;
  return b;
}

void batch_free(struct batch *b) {
  for (size_t i = 0; i < b->paths.len; i++) free(b->paths.items[i]);
  vec_free(&b->paths);
  free(b->path);
  free(b->body);
  free(b->content_type);
  free(b->content_encoding);
  free(b->sns_subscribe_url);
  free(b->sns_topic);
  for (size_t i = 0; i < b->det_errors.len; i++) free(b->det_errors.items[i]);
  vec_free(&b->det_errors);
  buf_free(&b->text);
  free(b->off);
  free(b->line);
  for (size_t i = 0; i < b->matches.len; i++) det_match_free(b->matches.items[i]);
  vec_free(&b->matches);
  for (size_t i = 0; i < b->errors.len; i++) free(b->errors.items[i]);
  vec_free(&b->errors);
  free(b);
}

void batch_add(struct batch *b, const char *text, size_t len, unsigned long line) {
  if (b->n == b->cap) {
    b->cap = b->cap ? b->cap * 2 : BATCH_RECORDS;
    b->off = xrealloc(b->off, b->cap * sizeof *b->off);
    b->line = xrealloc(b->line, b->cap * sizeof *b->line);
    if (b->path) b->path = xrealloc(b->path, b->cap * sizeof *b->path);
  }
  b->off[b->n] = b->text.len;
  b->line[b->n++] = line;
  buf_append(&b->text, text, len);
  buf_putc(&b->text, '\0');
}

void batch_add_line(struct batch *b, const char *text, size_t len, const char *path,
                    unsigned long offset) {
  size_t p = b->paths.len;
  if (!p || strcmp(b->paths.items[p - 1], path) != 0) vec_push(&b->paths, xstrdup(path));
  if (!b->path) b->path = xcalloc(b->cap > b->n ? b->cap : b->n + 1, sizeof *b->path);
  size_t i = b->n;
  batch_add(b, text, len, offset);
  b->path[i] = (unsigned)(b->paths.len - 1);
}

/* "source:line" for a record, or "source: path, byte offset N" for a tailed line. */
static char *where(const struct batch *b, size_t rec) {
  if (b->path)
    return xasprintf("%s: %s, byte offset %lu", b->file, (const char *)b->paths.items[b->path[rec]],
                     b->line[rec]);
  return xasprintf("%s:%lu", b->file, b->line[rec]);
}

bool batch_full(const struct batch *b) {
  return b->n >= BATCH_RECORDS || b->text.len >= BATCH_BYTES;
}

void batch_error(struct batch *b, char *msg) {
  if (b->errors.len < BATCH_MAX_REPORTED) vec_push(&b->errors, msg);
  else free(msg);
}


struct eval_ctx {
  const char *log_type;
  struct det_set *set;
  struct batch *b;
  size_t rec;
  unsigned sub;        /* record index inside a document */
  const cJSON *doc;    /* the parsed line */
  const char *text;    /* its raw text: the event as received when the line is one event */
  size_t len;
};

static void eval_record(const cJSON *ev, void *ud) {
  struct eval_ctx *c = ud;
  struct batch *b = c->b;
  unsigned sub = c->sub++;
  if (!cJSON_IsObject(ev)) {
    b->parse_errors++;
    char *at = where(b, c->rec);
    batch_error(b, xasprintf("%s: record %u is not a JSON object", at, sub + 1));
    free(at);
    return;
  }
  b->events++;
  double t;
  const char *lt = lt_inspect(ev, c->log_type, &t);
  bool inferred = t < 0;
  if (inferred) t = b->max_time; /* latest seen in this batch; merge also checks earlier */
  else if (t > b->max_time) b->max_time = t;
  if (!lt) {
    b->unclassified++;
    return;
  }
  size_t before = b->matches.len;
  struct vec errs = {0};
  det_eval(c->set, ev, lt, &b->matches, &errs);
  b->rule_errors += errs.len;
  for (size_t i = 0; i < errs.len; i++) batch_error(b, errs.items[i]);
  vec_free(&errs);
  if (c->set->sup) { /* suppressed matches never reach dedup */
    size_t keep = before;
    double now = clk_now();
    for (size_t i = before; i < b->matches.len; i++) {
      struct det_match *m = b->matches.items[i];
      const struct det *d = c->set->dets.items[m->det];
      if (sup_apply(c->set->sup, d->id, ev, now) >= 0) {
        det_match_free(m);
        b->suppressed++;
      } else {
        b->matches.items[keep++] = m;
      }
    }
    b->matches.len = keep;
  }
  for (size_t i = before; i < b->matches.len; i++) {
    struct det_match *m = b->matches.items[i];
    m->time = t;
    m->time_inferred = inferred;
    m->seq = (b->no << 32) | ((unsigned long long)c->rec << 12) | (sub & 0xfff);
    /* The alert carries the event as received; only records taken out of an envelope
     * need printing. */
    m->event = ev == c->doc && c->text ? xstrndup(c->text, c->len) : json_print(ev);
  }
}

/* Body mode: the decoder frames the body and unwraps envelopes; each record it returns
 * is one event, already parsed. */
static void eval_body(struct eval_ctx *c) {
  struct batch *b = c->b;
  struct ingest_result res;
  json_arena_begin(); /* the whole body's cJSON trees: one arena, freed at once */
  b->decode_rc = ingest_decode(b->body, b->body_len, b->content_type, b->content_encoding,
                               NULL, &res);
  if (b->decode_rc == 0 && res.kind == INGEST_KIND_SNS_CONFIRM) {
    b->sns_subscribe_url = res.subscribe_url, res.subscribe_url = NULL;
    b->sns_topic = res.topic_arn, res.topic_arn = NULL;
  } else if (b->decode_rc == 0) {
    b->received = res.nrecs;
    b->skipped = res.skipped;
    b->parse_errors = res.nerrors;
    for (size_t i = 0; i < res.nerrs_kept; i++) {
      const struct ingest_error *e = &res.errs[i];
      batch_error(b, xasprintf("%s:%lu: %s (byte %zu)", b->file, e->line, e->msg, e->pos + 1));
    }
    for (size_t i = 0; i < res.nrecs; i++) {
      const struct ingest_record *rec = &res.recs[i];
      c->rec = i;
      c->sub = 0;
      c->doc = rec->json;
      c->text = rec->text;
      c->len = rec->len;
      eval_record(rec->json, c);
    }
  }
  ingest_result_free(&res);
  json_arena_end();
}

/* Per-detection hook errors and budget kills of this batch, from the set's counters. */
static void count_det_errors(struct batch *b, const struct det_set *set,
                             const unsigned long long *before) {
  for (size_t i = 0; i < set->dets.len; i++) {
    const struct det *d = set->dets.items[i];
    if (d->errors == before[2 * i] && d->killed == before[2 * i + 1]) continue;
    struct batch_det_errors *e = xcalloc(1, sizeof *e);
    e->det = (int)i;
    e->errors = d->errors - before[2 * i];
    e->killed = d->killed - before[2 * i + 1];
    vec_push(&b->det_errors, e);
  }
}

void batch_eval(struct batch *b, struct det_set *set, const char *log_type) {
  struct eval_ctx c = {log_type, set, b, 0, 0, NULL, NULL, 0};
  unsigned long long *before = xcalloc(2 * set->dets.len + 1, sizeof *before);
  for (size_t i = 0; i < set->dets.len; i++) {
    const struct det *d = set->dets.items[i];
    before[2 * i] = d->errors, before[2 * i + 1] = d->killed;
  }
  if (b->body) eval_body(&c);
  for (size_t i = 0; i < b->n; i++) {
    const char *text = b->text.data + b->off[i];
    size_t len = (i + 1 < b->n ? b->off[i + 1] : b->text.len) - b->off[i] - 1, errpos = 0;
    json_arena_begin();
    cJSON *doc = json_parse(text, len, &errpos);
    if (!doc) {
      json_arena_end();
      b->parse_errors++;
      char *at = where(b, i);
      batch_error(b, xasprintf("%s: malformed JSON at byte %zu", at, errpos + 1));
      free(at);
      continue;
    }
    c.rec = i;
    c.sub = 0;
    c.doc = doc;
    c.text = text;
    c.len = len;
    lt_each_record(doc, eval_record, &c);
    cJSON_Delete(doc);
    json_arena_end();
  }
  count_det_errors(b, set, before);
  free(before);
}


void batch_merge(struct batch *b, const struct det_set *set, struct dedup *dd, struct cor *cor) {
  struct vec alerts = {0};
  for (size_t i = 0; i < b->matches.len; i++) {
    struct det_match *m = b->matches.items[i];
    const struct det *d = set->dets.items[m->det];
    b->matches.items[i] = NULL;
    if (m->time_inferred && dd->have_watermark && dd->watermark > m->time) m->time = dd->watermark;
    if (cor && (m->nkeys || m->entity)) {
      cor_observe(cor, set, m, &alerts); /* signals and risk feed patterns, then go */
      for (size_t k = 0; k < alerts.len; k++) {
        struct det_match *a = alerts.items[k];
        dedup_observe(dd, set->dets.items[a->det], a);
      }
      alerts.len = 0;
    }
    if (!d->alerts) {
      det_match_free(m);
      continue;
    }
    dedup_observe(dd, d, m);
  }
  vec_free(&alerts);
  b->matches.len = 0;
  if (b->max_time >= 0) {
    dedup_advance(dd, b->max_time);
    if (cor) cor_advance(cor, set, b->max_time);
  }
}

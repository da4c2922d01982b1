/* replay.c — the replay pipeline.
 *
 * The main thread frames input into batches of records (batch.c); workers (one det_set, hence one
 * Lua state, each) parse, classify and evaluate a batch and return its matches; the main
 * thread merges batches strictly in input order into the dedup state and writes alerts.
 * Batch boundaries do not depend on the number of workers, and dedup only sees matches in
 * input order, so the output is the same bytes for any --workers.
 * SPDX-License-Identifier: MIT
 */
#include "replay.h"
#include "suppress.h"
#include "correlate.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "batch.h"
#include "clock.h"
#include "dedup.h"
#include "detect.h"
#include "input.h"
#include "json.h"
#include "log.h"
#include "logtype.h"


struct worker {
  pthread_t thread;
  struct det_set *set;
  struct replay *rp;
};

struct replay {
  const struct replay_opts *o;
  struct worker *workers;
  int nworkers, nthreads;
  pthread_mutex_t lock;
  pthread_cond_t work, done;
  struct batch *queue_head, *queue_tail;
  bool stop;
  /* main thread only */
  struct det_set *meta; /* detection metadata for alerts (workers[0].set) */
  struct dedup dedup;
  FILE *out;
  int out_err;
  unsigned long long events, bytes, unclassified, parse_errors, rule_errors, reported;
  unsigned long long suppressed;
  struct sup_set *sup; /* --suppressions, shared read-only by the workers */
  struct cor *cor;     /* sequences, beacons, risk */
};

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct replay *rp = w->rp;
  pthread_mutex_lock(&rp->lock);
  for (;;) {
    while (!rp->queue_head && !rp->stop) pthread_cond_wait(&rp->work, &rp->lock);
    if (!rp->queue_head) break;
    struct batch *b = rp->queue_head;
    rp->queue_head = b->next;
    if (!rp->queue_head) rp->queue_tail = NULL;
    pthread_mutex_unlock(&rp->lock);
    batch_eval(b, w->set, rp->o->log_type);
    pthread_mutex_lock(&rp->lock);
    b->done = true;
    pthread_cond_broadcast(&rp->done);
  }
  pthread_mutex_unlock(&rp->lock);
  json_arena_release();
  return NULL;
}

/* }============================================================ */

/* {===================== merging (main thread) ===================== */

static void on_alert(const struct dedup_window *w, void *ud) {
  struct replay *rp = ud;
  const struct det *d = rp->meta->dets.items[w->det];
  cJSON *a = alert_build(w, d);
  char *s = a ? cJSON_PrintUnformatted(a) : NULL;
  if (!s || fprintf(rp->out, "%s\n", s) < 0) rp->out_err = errno ? errno : ENOMEM;
  cJSON_free(s);
  cJSON_Delete(a);
}

static void merge_batch(struct replay *rp, struct batch *b) {
  rp->events += b->events;
  rp->unclassified += b->unclassified;
  rp->parse_errors += b->parse_errors;
  rp->rule_errors += b->rule_errors;
  rp->suppressed += b->suppressed;
  for (size_t i = 0; i < b->errors.len; i++) {
    if (rp->reported++ < 10) log_warn("%s", (char *)b->errors.items[i]);
  }
  batch_merge(b, rp->meta, &rp->dedup, rp->cor);
}

/* }============================================================ */

static void progress(struct replay *rp, unsigned long long start, bool final) {
  double secs = (double)(clk_mono_ns() - start) / 1e9;
  fprintf(stderr, "\rreplay: %llu events, %.0f events/s%s", rp->events,
          secs > 0 ? (double)rp->events / secs : 0.0, final ? "\n" : "");
}

static int start_workers(struct replay *rp) {
  const struct replay_opts *o = rp->o;
  rp->workers = xcalloc((size_t)o->workers, sizeof *rp->workers);
  for (int i = 0; i < o->workers; i++) {
    char *err = NULL;
    struct worker *w = &rp->workers[i];
    w->rp = rp;
    w->set = det_set_new(o->detections, o->ndetections, 0, &err);
    if (!w->set) {
      log_error("%s", err);
      free(err);
      return -1;
    }
    w->set->vm->quiet_log = i > 0; /* scripts' log lines once, not once per worker */
    w->set->timing = o->stats;
    w->set->sup = rp->sup;
    det_set_load(w->set);
    if (i == 0 && w->set->diags.len) {
      for (size_t j = 0; j < w->set->diags.len; j++) {
        struct det_diag *dg = w->set->diags.items[j];
        if (dg->line < 0) log_error("%s", dg->msg);
        else if (dg->line) log_error("%s:%d: %s", dg->file, dg->line, dg->msg);
        else log_error("%s: %s", dg->file, dg->msg);
      }
      log_error("detections failed to load; run 'lp0 check' for details");
      return -1;
    }
    det_set_index(w->set);
    rp->nworkers = i + 1;
  }
  rp->meta = rp->workers[0].set;
  if (rp->meta->dets.len == 0) log_warn("no detections loaded from the given paths");
  if (o->workers > 1) {
    for (int i = 0; i < o->workers; i++) {
      int rc = pthread_create(&rp->workers[i].thread, NULL, worker_main, &rp->workers[i]);
      if (rc != 0) {
        log_error("cannot start worker thread: %s", strerror(rc));
        return -1;
      }
      rp->nthreads = i + 1;
    }
  }
  return 0;
}

static void stop_workers(struct replay *rp) {
  if (rp->o->workers > 1) {
    pthread_mutex_lock(&rp->lock);
    rp->stop = true;
    pthread_cond_broadcast(&rp->work);
    pthread_mutex_unlock(&rp->lock);
    for (int i = 0; i < rp->nthreads; i++) pthread_join(rp->workers[i].thread, NULL);
  }
}

/* Hands a full batch to the pool (or evaluates it here with one worker) and merges every
 * finished batch at the head of the in-flight list, in order. */
static void submit(struct replay *rp, struct batch *b, struct vec *inflight, bool drain) {
  if (b) {
    if (rp->o->workers == 1) {
      batch_eval(b, rp->workers[0].set, rp->o->log_type);
      b->done = true;
    } else {
      pthread_mutex_lock(&rp->lock);
      if (rp->queue_tail) rp->queue_tail->next = b;
      else rp->queue_head = b;
      rp->queue_tail = b;
      pthread_cond_signal(&rp->work);
      pthread_mutex_unlock(&rp->lock);
    }
    vec_push(inflight, b);
  }
  size_t limit = drain ? 0 : (size_t)rp->o->workers * 3;
  while (inflight->len > limit) {
    struct batch *head = inflight->items[0];
    pthread_mutex_lock(&rp->lock);
    while (!head->done) pthread_cond_wait(&rp->done, &rp->lock);
    pthread_mutex_unlock(&rp->lock);
    merge_batch(rp, head);
    batch_free(head);
    memmove(inflight->items, inflight->items + 1, (inflight->len - 1) * sizeof *inflight->items);
    inflight->len--;
  }
}

static int read_inputs(struct replay *rp, unsigned long long start) {
  const struct replay_opts *o = rp->o;
  struct vec inflight = {0};
  unsigned long long batch_no = 0, last_progress = start;
  int failed = 0;
  for (size_t f = 0; f < o->nfiles; f++) {
    struct input in;
    char *err = NULL;
    if (input_open(&in, o->files[f], &err) != 0) {
      log_error("%s", err);
      free(err);
      failed = 1;
      continue;
    }
    struct batch *b = NULL;
    const char *text;
    size_t len;
    unsigned long line;
    int rc;
    while ((rc = input_next(&in, &text, &len, &line, &err)) != 0) {
      if (rc < 0) {
        log_error("%s", err);
        free(err);
        err = NULL;
        failed = 1;
        rp->parse_errors++;
        continue;
      }
      if (!b) b = batch_new(batch_no++, in.name);
      batch_add(b, text, len, line);
      if (batch_full(b)) {
        submit(rp, b, &inflight, false);
        b = NULL;
        if (o->progress && clk_mono_ns() - last_progress > 1000000000ULL) {
          last_progress = clk_mono_ns();
          progress(rp, start, false);
        }
      }
    }
    if (b) submit(rp, b, &inflight, false);
    submit(rp, NULL, &inflight, true); /* a batch borrows in.name: finish before closing */
    rp->bytes += in.bytes;
    input_close(&in);
  }
  vec_free(&inflight);
  return failed;
}

static void summary(struct replay *rp, unsigned long long start) {
  double secs = (double)(clk_mono_ns() - start) / 1e9;
  if (rp->o->progress) progress(rp, start, true);
  fprintf(stderr,
          "replay: %llu events, %llu bytes in %.3f s (%.0f events/s), %llu alerts, "
          "%llu unclassified, %llu parse errors, %llu rule errors, peak RSS %.1f MB\n",
          rp->events, rp->bytes, secs, secs > 0 ? (double)rp->events / secs : 0.0,
          rp->dedup.alerts, rp->unclassified, rp->parse_errors, rp->rule_errors,
          (double)peak_rss() / (1024.0 * 1024.0));
  if (rp->sup) fprintf(stderr, "replay: %llu matches suppressed by %s\n", rp->suppressed, rp->sup->file);
  if (rp->o->stats)
    fprintf(stderr, "%-50s %10s %8s %7s %10s %8s\n", "detection", "evaluated", "matched",
            "errors", "total ms", "us/eval");
  for (size_t i = 0; i < rp->meta->dets.len; i++) {
    unsigned long long errors = 0, killed = 0, evaluated = 0, matched = 0, ns = 0;
    for (int w = 0; w < rp->nworkers; w++) {
      const struct det *d = rp->workers[w].set->dets.items[i];
      errors += d->errors, killed += d->killed, evaluated += d->evaluated;
      matched += d->matched, ns += d->ns;
    }
    const struct det *d = rp->meta->dets.items[i];
    if (rp->o->stats)
      fprintf(stderr, "%-50s %10llu %8llu %7llu %10.1f %8.2f\n", d->id, evaluated, matched,
              errors, (double)ns / 1e6, evaluated ? (double)ns / 1e3 / (double)evaluated : 0.0);
    else if (errors)
      fprintf(stderr, "replay: detection %s (%s): %llu errors (%llu over budget)\n", d->id,
              d->file, errors, killed);
  }
}

int replay_run(const struct replay_opts *o) {
  struct replay rp;
  memset(&rp, 0, sizeof rp);
  rp.o = o;
  pthread_mutex_init(&rp.lock, NULL);
  pthread_cond_init(&rp.work, NULL);
  pthread_cond_init(&rp.done, NULL);
  int code = 2;
  json_arena_setup();
  rp.out = stdout;
  if (o->output && !(rp.out = fopen(o->output, "w"))) {
    log_error("%s: cannot open for writing: %s", o->output, strerror(errno));
    rp.out = NULL;
    goto out;
  }
  char *serr = NULL;
  if (o->suppressions && sup_load(o->suppressions, &rp.sup, &serr) != 0) {
    log_error("%s", serr);
    free(serr);
    goto out;
  }
  if (start_workers(&rp) != 0) goto out;
  dedup_init(&rp.dedup, on_alert, &rp);
  rp.cor = rp.meta->stateful ? cor_new(false) : NULL;
  rp.dedup.lateness = o->lateness;
  unsigned long long start = clk_mono_ns();
  int failed = read_inputs(&rp, start);
  dedup_flush(&rp.dedup);
  if (fflush(rp.out) != 0 && !rp.out_err) rp.out_err = errno;
  if (rp.out_err) log_error("writing alerts: %s", strerror(rp.out_err));
  summary(&rp, start);
  dedup_free(&rp.dedup);
  cor_free(rp.cor);
  code = failed || rp.parse_errors || rp.out_err ? 1 : 0;
out:
  stop_workers(&rp);
  for (int i = 0; rp.workers && i < o->workers; i++) det_set_free(rp.workers[i].set);
  sup_free(rp.sup);
  free(rp.workers);
  json_arena_release();
  if (rp.out && rp.out != stdout) fclose(rp.out);
  pthread_mutex_destroy(&rp.lock);
  pthread_cond_destroy(&rp.work);
  pthread_cond_destroy(&rp.done);
  return code;
}

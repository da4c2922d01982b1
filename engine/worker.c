/* worker.c — detection threads for the daemon (see worker.h).
 *
 * Shared state is one mutex-protected FIFO of submitted batches: threads take the first
 * batch not yet started; the loop thread, woken by uv_async_send, hands back finished
 * batches from the front only, which keeps the submission order. uv_async_send may
 * coalesce wake-ups, so the loop side always drains everything that is ready.
 * SPDX-License-Identifier: MIT
 */
#include "worker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "util.h"

struct wrk_thread {
  pthread_t thread;
  struct det_set *set;
  struct wrk_pool *pool;
};

struct wrk_pool {
  uv_async_t async; /* first: freed in its close callback */
  uv_loop_t *loop;
  pthread_mutex_t lock;
  pthread_cond_t work;
  struct batch *head, *tail; /* submitted, in order; `next` links them */
  struct batch *cursor;      /* first batch no thread has taken */
  size_t pending;
  bool stop;
  struct wrk_thread *threads;
  int nthreads, started;
  wrk_done_cb done;
  void *ud;
  wrk_closed_cb closed;
  void *closed_ud;
};

static void *wrk_main(void *arg) {
  struct wrk_thread *t = arg;
  struct wrk_pool *p = t->pool;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->cursor && !p->stop) pthread_cond_wait(&p->work, &p->lock);
    if (!p->cursor) break;
    struct batch *b = p->cursor;
    p->cursor = b->next;
    pthread_mutex_unlock(&p->lock);
    batch_eval(b, t->set, b->log_type);
    pthread_mutex_lock(&p->lock);
    b->done = true;
    uv_async_send(&p->async); /* thread-safe; returns 0 or an error we cannot act on */
  }
  pthread_mutex_unlock(&p->lock);
  json_arena_release();
  return NULL;
}

/* Loop thread: hand back the finished batches at the front, in order. */
static void wrk_on_async(uv_async_t *h) {
  struct wrk_pool *p = h->data;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    struct batch *b = p->head && p->head->done ? p->head : NULL;
    if (b) {
      p->head = b->next;
      if (!p->head) p->tail = NULL;
      p->pending--;
    }
    pthread_mutex_unlock(&p->lock);
    if (!b) break;
    b->next = NULL;
    p->done(b, p->ud);
  }
}

static void free_pool(struct wrk_pool *p) {
  for (int i = 0; i < p->nthreads; i++) det_set_free(p->threads[i].set);
  free(p->threads);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->work);
  free(p);
}

static void stop_threads(struct wrk_pool *p) {
  pthread_mutex_lock(&p->lock);
  p->stop = true;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->lock);
  for (int i = 0; i < p->started; i++) pthread_join(p->threads[i].thread, NULL);
  p->started = 0;
}

static void wrk_on_close(uv_handle_t *h);

static int load_sets(struct wrk_pool *p, char *const *paths, size_t npaths,
                     struct lkp_set *lookups, struct sup_set *sup, char **errmsg) {
  for (int i = 0; i < p->nthreads; i++) {
    struct wrk_thread *t = &p->threads[i];
    t->pool = p;
    t->set = det_set_new(paths, npaths, 0, errmsg);
    if (!t->set) return -1;
    t->set->vm->quiet_log = i > 0;
    t->set->sup = sup;
    if (lookups) det_set_use_lookups(t->set, lookups);
    if (det_set_load(t->set) != 0) {
      for (size_t j = 0; i == 0 && j < t->set->diags.len; j++) {
        struct det_diag *d = t->set->diags.items[j];
        if (d->line < 0) log_error("%s", d->msg);
        else log_error("%s:%d: %s", d->file, d->line, d->msg);
      }
      *errmsg = xasprintf("%zu problems in the detections (see 'lp0 check')", t->set->diags.len);
      return -1;
    }
    det_set_index(t->set);
  }
  return 0;
}

int wrk_pool_new(uv_loop_t *loop, int nworkers, char *const *paths, size_t npaths,
                 struct lkp_set *lookups, struct sup_set *sup, wrk_done_cb done, void *ud,
                 struct wrk_pool **out, char **errmsg) {
  struct wrk_pool *p = xcalloc(1, sizeof *p);
  int rc;
  *out = NULL;
  p->loop = loop;
  p->done = done;
  p->ud = ud;
  p->nthreads = nworkers > 0 ? nworkers : 1;
  p->threads = xcalloc((size_t)p->nthreads, sizeof *p->threads);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->work, NULL);
  json_arena_setup();
  if (load_sets(p, paths, npaths, lookups, sup, errmsg) != 0) {
    free_pool(p);
    return -22; /* -EINVAL */
  }
  if ((rc = uv_async_init(loop, &p->async, wrk_on_async)) != 0) {
    *errmsg = xasprintf("uv_async_init: %s", uv_strerror(rc));
    free_pool(p);
    return rc;
  }
  p->async.data = p;
  for (int i = 0; i < p->nthreads; i++) {
    if ((rc = pthread_create(&p->threads[i].thread, NULL, wrk_main, &p->threads[i])) != 0) {
      *errmsg = xasprintf("cannot start a worker thread: %s", strerror(rc));
      stop_threads(p);
      p->closed = NULL; /* freed by the close callback: the caller's loop must run */
      uv_close((uv_handle_t *)&p->async, wrk_on_close);
      return -rc;
    }
    p->started++;
  }
  *out = p;
  return 0;
}

void wrk_submit(struct wrk_pool *p, struct batch *b) {
  b->next = NULL;
  b->done = false;
  pthread_mutex_lock(&p->lock);
  if (p->tail) p->tail->next = b;
  else p->head = b;
  p->tail = b;
  if (!p->cursor) p->cursor = b;
  p->pending++;
  pthread_cond_signal(&p->work);
  pthread_mutex_unlock(&p->lock);
}

size_t wrk_pending(const struct wrk_pool *p) { return p->pending; }

const struct det_set *wrk_detections(const struct wrk_pool *p) { return p->threads[0].set; }

static void wrk_on_close(uv_handle_t *h) {
  struct wrk_pool *p = h->data;
  wrk_closed_cb cb = p->closed;
  void *ud = p->closed_ud;
  free_pool(p);
  if (cb) cb(ud);
}

void wrk_pool_drain(struct wrk_pool *p) {
  stop_threads(p); /* threads finish the queue before they see `stop` with nothing left */
  wrk_on_async(&p->async);
}

void wrk_pool_close(struct wrk_pool *p, wrk_closed_cb closed, void *ud) {
  wrk_pool_drain(p);
  p->closed = closed;
  p->closed_ud = ud;
  uv_close((uv_handle_t *)&p->async, wrk_on_close);
}

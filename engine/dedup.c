/* dedup.c — dedup windows kept in a hash (by key) and a min-heap (by end time), so that
 * advancing event time closes windows in O(log n) each and in a deterministic order:
 * by end time, then by the sequence number of the opening match.
 * SPDX-License-Identifier: MIT
 */
#include "dedup.h"

#include <stdlib.h>
#include <string.h>

void dedup_init(struct dedup *d, dedup_alert_cb on_alert, void *ud) {
  memset(d, 0, sizeof *d);
  hmap_init(&d->windows);
  d->on_alert = on_alert;
  d->ud = ud;
  d->lateness = DEDUP_DEFAULT_LATENESS;
}

/* Leaves the dirty list (a window that changed and closes before being saved). */
static void undirty(struct dedup *d, struct dedup_window *w) {
  if (!w->dirty) return;
  for (size_t i = 0; i < d->dirty.len; i++)
    if (d->dirty.items[i] == w) {
      d->dirty.items[i] = d->dirty.items[--d->dirty.len];
      break;
    }
  w->dirty = false;
}

static void window_free(struct dedup_window *w) {
  hmap_free(&w->uniques);
  det_match_free(w->first);
  free(w->key);
  free(w);
}

void dedup_free(struct dedup *d) {
  vec_free(&d->dirty);
  for (size_t i = 0; i < d->nheap; i++) window_free(d->heap[i]);
  free(d->heap);
  hmap_free(&d->windows);
  memset(d, 0, sizeof *d);
}

static bool before(const struct dedup_window *a, const struct dedup_window *b) {
  if (a->end != b->end) return a->end < b->end;
  return a->first->seq < b->first->seq;
}

static void heap_set(struct dedup *d, size_t i, struct dedup_window *w) {
  d->heap[i] = w;
  w->_heap = i;
}

static void sift_up(struct dedup *d, size_t i) {
  struct dedup_window *w = d->heap[i];
  while (i > 0 && before(w, d->heap[(i - 1) / 2])) {
    heap_set(d, i, d->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  heap_set(d, i, w);
}

static void sift_down(struct dedup *d, size_t i) {
  struct dedup_window *w = d->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= d->nheap) break;
    if (c + 1 < d->nheap && before(d->heap[c + 1], d->heap[c])) c++;
    if (!before(d->heap[c], w)) break;
    heap_set(d, i, d->heap[c]);
    i = c;
  }
  heap_set(d, i, w);
}

static struct dedup_window *heap_pop(struct dedup *d) {
  struct dedup_window *top = d->heap[0];
  d->nheap--;
  if (d->nheap) {
    heap_set(d, 0, d->heap[d->nheap]);
    sift_down(d, 0);
  }
  return top;
}

static void heap_remove(struct dedup *d, struct dedup_window *w) {
  size_t i = w->_heap;
  d->nheap--;
  if (i == d->nheap) return;
  struct dedup_window *last = d->heap[d->nheap];
  heap_set(d, i, last);
  sift_up(d, i);
  sift_down(d, last->_heap);
}

static void heap_push(struct dedup *d, struct dedup_window *w);

static void close_window(struct dedup *d, struct dedup_window *w) {
  undirty(d, w);
  hmap_del(&d->windows, w->key, strlen(w->key));
  if (d->on_close) d->on_close(w, d->ud);
  bool alert = (w->use_unique ? (unsigned long long)w->distinct : w->count) >=
               (unsigned long long)w->threshold;
  if (alert) {
    d->alerts++;
    if (d->on_alert) d->on_alert(w, d->ud);
  } else {
    d->dropped++;
  }
  window_free(w);
}

void dedup_advance(struct dedup *d, double t) {
  if (!d->have_watermark || t > d->watermark) {
    d->watermark = t;
    d->have_watermark = true;
  }
  while (d->nheap && d->heap[0]->end + d->lateness <= d->watermark)
    close_window(d, heap_pop(d));
}

void dedup_remap(struct dedup *d, dedup_map_cb map, void *ud) {
  struct dedup_window **keep = xcalloc(d->nheap ? d->nheap : 1, sizeof *keep);
  size_t n = 0;
  for (size_t i = 0; i < d->nheap; i++) {
    struct dedup_window *w = d->heap[i];
    int det = map(w, ud);
    if (det < 0) {
      undirty(d, w);
      if (d->on_close) d->on_close(w, d->ud); /* dropped: its detection is gone */
      window_free(w);
      continue;
    }
    free(w->key);
    w->key = xasprintf("%d\x1f%s", det, w->first->dedup);
    w->det = w->first->det = det;
    keep[n++] = w;
  }
  /* Rebuild both indexes: keys changed, and removals broke the heap. */
  hmap_free(&d->windows);
  hmap_init(&d->windows);
  d->nheap = 0;
  for (size_t i = 0; i < n; i++) {
    *hmap_put(&d->windows, keep[i]->key, strlen(keep[i]->key)) = keep[i];
    heap_push(d, keep[i]);
  }
  free(keep);
}

void dedup_flush(struct dedup *d) {
  while (d->nheap) close_window(d, heap_pop(d));
}

static void heap_push(struct dedup *d, struct dedup_window *w) {
  if (d->nheap == d->capheap) {
    d->capheap = d->capheap ? d->capheap * 2 : 64;
    d->heap = xrealloc(d->heap, d->capheap * sizeof *d->heap);
  }
  d->heap[d->nheap] = w;
  sift_up(d, d->nheap++);
}

void dedup_restore(struct dedup *d, struct dedup_window *w) {
  size_t klen = strlen(w->key);
  void **slot = hmap_put(&d->windows, w->key, klen);
  if (*slot) {
    window_free(w);
    return;
  }
  *slot = w;
  w->saved = true;
  w->dirty = false;
  if (!d->have_watermark || w->last_seen > d->watermark) {
    d->watermark = w->last_seen;
    d->have_watermark = true;
  }
  heap_push(d, w);
}

void dedup_observe(struct dedup *d, const struct det *det, struct det_match *m) {
  if (m->time < 0) m->time = d->have_watermark ? d->watermark : 0;
  else dedup_advance(d, m->time);
  char *key = xasprintf("%d\x1f%s", det->index, m->dedup);
  size_t klen = strlen(key);
  struct dedup_window *w = hmap_get(&d->windows, key, klen);
  if (!w) {
    w = xcalloc(1, sizeof *w);
    w->key = key;
    w->det = det->index;
    w->start = m->time;
    w->end = m->time + det->dedup_minutes * 60.0;
    w->first_seen = w->last_seen = m->time;
    w->threshold = det->threshold;
    w->use_unique = m->unique != NULL;
    hmap_init(&w->uniques);
    *hmap_put(&d->windows, key, klen) = w;
    w->first = m;
    heap_push(d, w);
    m = NULL;
  } else if (m->time >= w->end) {
    /* The window's time is over but it is still open for late events: this match starts
     * the next window of the key. */
    free(key);
    heap_remove(d, w);
    close_window(d, w);
    dedup_observe(d, det, m);
    return;
  } else {
    free(key);
    if (m->time < w->first_seen) w->first_seen = m->time;
    if (m->time > w->last_seen) w->last_seen = m->time;
  }
  w->count++;
  if (!w->dirty && d->track_dirty) {
    w->dirty = true;
    vec_push(&d->dirty, w);
  }
  const char *u = m ? m->unique : w->first->unique;
  if (u) {
    void **slot = hmap_put(&w->uniques, u, strlen(u));
    if (!*slot) {
      *slot = (void *)1;
      w->distinct++;
    }
  }
  det_match_free(m);
  if (!w->alerted && (w->use_unique ? (unsigned long long)w->distinct : w->count) >=
                         (unsigned long long)w->threshold) {
    w->alerted = true;
    if (d->on_threshold) d->on_threshold(w, d->ud);
  }
}

/* dedup.h — grouping matches into alerts: dedup windows and thresholds on event time.
 *
 * A window opens at the first match of a (detection, dedup string) key and lasts the
 * detection's dedup_minutes. Matches with the key inside the window join it. A window
 * holding `threshold` matches (or distinct `unique` values) is an alert; it is handed to
 * the caller when its window closes, that is when event time passes its end plus the
 * allowed lateness (logs arrive out of order by minutes), or at flush. Title, severity and context are those of the match that opened the window.
 * The same code serves lp0 test, lp0 replay and the daemon.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_DEDUP_H
#define LP0_DEDUP_H

#include <stdbool.h>
#include <stddef.h>

#include "detect.h"
#include "util.h"

struct dedup_window {
  char *key;
  int det;
  double start, end;            /* event time; end = start + window */
  double first_seen, last_seen; /* event times of the matches */
  unsigned long long count;     /* matches in the window */
  size_t distinct;              /* distinct unique values (when the detection has unique) */
  struct hmap uniques;
  struct det_match *first; /* owned: the match that opened the window */
  int threshold;
  bool use_unique, alerted;
  long long alert_id; /* the caller's, e.g. the store row of the alert raised at threshold */
  bool dirty;         /* changed since the caller last saved it: it is in dedup.dirty */
  bool saved;         /* the caller persisted it at least once */
  size_t _heap;
};

/* Called for each window that closes as an alert; the window is freed afterwards. */
typedef void (*dedup_alert_cb)(const struct dedup_window *w, void *ud);
/* Called once, when a window first holds `threshold` matches (the daemon alerts then,
 * without waiting for the window to close). */
typedef void (*dedup_threshold_cb)(struct dedup_window *w, void *ud);

struct dedup {
  struct hmap windows; /* key -> struct dedup_window * */
  struct dedup_window **heap; /* min-heap on (end, first->seq) */
  size_t nheap, capheap;
  double watermark; /* greatest event time seen */
  double lateness;  /* seconds a window stays open past its end, for late events */
  bool have_watermark;
  dedup_alert_cb on_alert;
  dedup_threshold_cb on_threshold; /* optional; set after dedup_init */
  void (*on_close)(const struct dedup_window *w, void *ud); /* optional: every closed window */
  void *ud;
  unsigned long long alerts, dropped; /* windows closed as alerts / under threshold */
  bool track_dirty; /* the caller persists windows (the daemon): keep the list below */
  struct vec dirty; /* struct dedup_window * with dirty set: what a save must write, so a
                       commit costs what changed, not what is open */
};

#define DEDUP_DEFAULT_LATENESS 600.0 /* seconds */

/* Starts with lateness DEDUP_DEFAULT_LATENESS; set d->lateness to change it. */
void dedup_init(struct dedup *d, dedup_alert_cb on_alert, void *ud);
/* Closes nothing: frees all open windows without reporting them. */
void dedup_free(struct dedup *d);

/* Adds a match (taken: freed by dedup) for detection det. m->time < 0 means "no event
 * time": the match takes the current watermark. */
void dedup_observe(struct dedup *d, const struct det *det, struct det_match *m);
/* Puts back a window saved before a restart (taken). Its key must be in dedup.c's format
 * (store_window_to_dedup makes it so); a window with the same key already open wins and w
 * is freed. */
void dedup_restore(struct dedup *d, struct dedup_window *w);
/* Moves event time forward to t, closing windows that end at or before it. */
void dedup_advance(struct dedup *d, double t);
/* For dedup_remap: the index in the new detection set of w's detection (w->det is the
 * old index), or -1 when it is gone. It may update what the window borrows from or
 * copies of the detection: w->threshold, w->first->log_type. */
typedef int (*dedup_map_cb)(struct dedup_window *w, void *ud);
/* After a reload: moves every open window to its detection's new index, and drops (with
 * on_close, without alerting) the windows of detections that are gone. */
void dedup_remap(struct dedup *d, dedup_map_cb map, void *ud);
/* Closes every open window (end of input). */
void dedup_flush(struct dedup *d);

#endif

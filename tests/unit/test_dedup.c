/* Unit tests of dedup.c: windows on event time, thresholds, unique counting, order. */
#include <stdlib.h>

#include "check.h"
#include "dedup.h"
#include "util.h"

struct seen {
  int n;
  char titles[16][64];
  unsigned long long counts[16];
  double first[16], last[16];
  size_t distinct[16];
};

static void on_alert(const struct dedup_window *w, void *ud) {
  struct seen *s = ud;
  if (s->n >= 16) return;
  snprintf(s->titles[s->n], sizeof s->titles[0], "%s", w->first->title);
  s->counts[s->n] = w->count;
  s->first[s->n] = w->first_seen;
  s->last[s->n] = w->last_seen;
  s->distinct[s->n] = w->distinct;
  s->n++;
}

static struct det_match *match(const char *title, const char *dedup, double t, const char *u) {
  static unsigned long long seq;
  struct det_match *m = xcalloc(1, sizeof *m);
  m->title = xstrdup(title);
  m->dedup = xstrdup(dedup);
  m->unique = u ? xstrdup(u) : NULL;
  m->time = t;
  m->seq = seq++;
  return m;
}

/* A reload: detection 0 becomes index 1 with threshold 2; detection 1 is gone. */
static int remap(struct dedup_window *w, void *ud) {
  (*(int *)ud)++;
  if (w->det == 1) return -1;
  w->threshold = 2;
  return 1;
}

int main(void) {
  struct det d = {0};
  d.index = 0, d.dedup_minutes = 60, d.threshold = 1;
  struct seen s = {0};
  struct dedup dd;

  /* threshold 1: one alert per key and window; a match 61 minutes later opens a new one */
  dedup_init(&dd, on_alert, &s);
  dedup_observe(&dd, &d, match("a1", "A", 0, NULL));
  dedup_observe(&dd, &d, match("a2", "A", 600, NULL));
  dedup_observe(&dd, &d, match("b1", "B", 700, NULL));
  ASSERT_EQ_INT(s.n, 0); /* nothing closes before its window ends */
  dedup_observe(&dd, &d, match("a3", "A", 3660, NULL));
  ASSERT_EQ_INT(s.n, 1); /* A's first window (0..3600) closed by event time */
  ASSERT_EQ_STR(s.titles[0], "a1");
  ASSERT_EQ_INT(s.counts[0], 2);
  ASSERT_EQ_DBL(s.last[0], 600);
  dedup_flush(&dd);
  ASSERT_EQ_INT(s.n, 3);
  ASSERT_EQ_STR(s.titles[1], "b1"); /* ends 4300 */
  ASSERT_EQ_STR(s.titles[2], "a3"); /* ends 7260 */
  dedup_free(&dd);

  /* threshold 4 within 15 minutes: 3 matches are not an alert, 4 are */
  memset(&s, 0, sizeof s);
  d.threshold = 4, d.dedup_minutes = 15;
  dedup_init(&dd, on_alert, &s);
  for (int i = 0; i < 3; i++) dedup_observe(&dd, &d, match("x", "U", i * 60.0, NULL));
  dedup_advance(&dd, 10000);
  ASSERT_EQ_INT(s.n, 0);
  ASSERT_EQ_INT(dd.dropped, 1);
  for (int i = 0; i < 4; i++) dedup_observe(&dd, &d, match("y", "U", 20000 + i * 60.0, NULL));
  dedup_flush(&dd);
  ASSERT_EQ_INT(s.n, 1);
  ASSERT_EQ_INT(s.counts[0], 4);
  dedup_free(&dd);

  /* unique: distinct values, not events */
  memset(&s, 0, sizeof s);
  d.threshold = 3, d.dedup_minutes = 10;
  dedup_init(&dd, on_alert, &s);
  const char *users[] = {"u1", "u1", "u2", "u2", "u1"};
  for (int i = 0; i < 5; i++) dedup_observe(&dd, &d, match("spray", "IP", i, users[i]));
  dedup_flush(&dd);
  ASSERT_EQ_INT(s.n, 0);
  ASSERT_EQ_INT(dd.dropped, 1);
  dedup_observe(&dd, &d, match("spray", "IP", 100, "a"));
  dedup_observe(&dd, &d, match("spray", "IP", 101, "b"));
  dedup_observe(&dd, &d, match("spray", "IP", 102, "c"));
  dedup_flush(&dd);
  ASSERT_EQ_INT(s.n, 1);
  ASSERT_EQ_INT(s.distinct[0], 3);
  dedup_free(&dd);

  /* no event time: the match takes the watermark */
  memset(&s, 0, sizeof s);
  d.threshold = 1, d.dedup_minutes = 1;
  dedup_init(&dd, on_alert, &s);
  dedup_advance(&dd, 500);
  dedup_observe(&dd, &d, match("t", "T", -1, NULL));
  dedup_flush(&dd);
  ASSERT_EQ_INT(s.n, 1);
  ASSERT_EQ_DBL(s.first[0], 500);
  dedup_free(&dd);

  /* late events: within the allowed lateness they still join their window */
  memset(&s, 0, sizeof s);
  d.threshold = 3, d.dedup_minutes = 10;
  dedup_init(&dd, on_alert, &s);
  dedup_observe(&dd, &d, match("other", "O", 1000, NULL));
  dedup_observe(&dd, &d, match("late", "L", 700, NULL)); /* 300 s behind */
  dedup_observe(&dd, &d, match("late", "L", 710, NULL));
  dedup_observe(&dd, &d, match("late", "L", 720, NULL));
  dedup_flush(&dd);
  ASSERT_EQ_INT(s.n, 1);
  ASSERT_EQ_STR(s.titles[0], "late");
  dedup_free(&dd);
  /* ... but not past it: with no lateness the same burst is three windows */
  memset(&s, 0, sizeof s);
  dedup_init(&dd, on_alert, &s);
  dd.lateness = 0;
  dedup_observe(&dd, &d, match("other", "O", 2000, NULL));
  dedup_observe(&dd, &d, match("late", "L", 700, NULL));
  dedup_observe(&dd, &d, match("late", "L", 710, NULL));
  dedup_observe(&dd, &d, match("late", "L", 720, NULL));
  dedup_flush(&dd);
  ASSERT_EQ_INT(s.n, 0);
  dedup_free(&dd);
  /* a match after a window's end starts the next window even before it is closed */
  memset(&s, 0, sizeof s);
  d.threshold = 1, d.dedup_minutes = 1;
  dedup_init(&dd, on_alert, &s);
  dedup_observe(&dd, &d, match("w1", "K", 0, NULL));
  dedup_observe(&dd, &d, match("w2", "K", 61, NULL));
  dedup_flush(&dd);
  ASSERT_EQ_INT(s.n, 2);
  ASSERT_EQ_STR(s.titles[1], "w2");
  dedup_free(&dd);

  /* many keys: the heap closes them in end order */
  memset(&s, 0, sizeof s);
  dedup_init(&dd, NULL, NULL);
  dd.lateness = 0;
  char key[16];
  for (int i = 0; i < 2000; i++) {
    snprintf(key, sizeof key, "k%d", (i * 7919) % 2000);
    dedup_observe(&dd, &d, match("m", key, (double)i, NULL));
  }
  ASSERT_EQ_INT(dd.alerts, 1940); /* windows of 60 s: all but the last 60 closed */
  dedup_flush(&dd);
  ASSERT_EQ_INT(dd.alerts, 2000);
  dedup_free(&dd);

  /* remap after a reload: windows follow their detection's new index and threshold,
   * windows of removed detections are dropped without alerting */
  memset(&s, 0, sizeof s);
  dedup_init(&dd, on_alert, &s);
  struct det d1 = d;
  d1.index = 1;
  d.threshold = 5;
  dedup_observe(&dd, &d, match("kept", "K", 0, NULL));
  dedup_observe(&dd, &d1, match("gone", "G", 1, NULL));
  dedup_observe(&dd, &d1, match("gone2", "G2", 2, NULL));
  int calls = 0;
  dedup_remap(&dd, remap, &calls);
  ASSERT_EQ_INT(calls, 3);
  ASSERT_EQ_INT(dd.windows.len, 1);
  ASSERT_EQ_INT(dd.nheap, 1);
  d1.threshold = 2;
  dedup_observe(&dd, &d1, match("kept2", "K", 10, NULL)); /* joins the remapped window */
  ASSERT_EQ_INT(dd.windows.len, 1);
  dedup_flush(&dd);
  ASSERT_EQ_INT(s.n, 1);
  ASSERT_EQ_STR(s.titles[0], "kept");
  ASSERT_EQ_INT(s.counts[0], 2);
  dedup_free(&dd);
  CHECK_DONE();
}

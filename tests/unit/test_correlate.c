/* Unit tests of correlate.c: state bounds (max_groups and evictions), expiry on event
 * time, and the save/restore round trip the daemon relies on across restarts. The
 * detections are real Lua files loaded into a detection set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "correlate.h"
#include "detect.h"
#include "util.h"

static const char *SIGNAL =
    "id = 'T.Signal'\nlog_types = { 'AWS.CloudTrail' }\ndefault_severity = 'INFO'\n"
    "create_alert = false\nfunction rule(e) return e.eventName == 'A' end\n";
static const char *END =
    "id = 'T.End'\nlog_types = { 'AWS.CloudTrail' }\ndefault_severity = 'INFO'\n"
    "create_alert = false\nfunction rule(e) return e.eventName == 'B' end\n";
static const char *SEQ =
    "id = 'T.Seq'\ndefault_severity = 'HIGH'\nmax_groups = 3\n"
    "sequence = { { detection = 'T.Signal', min = 2 }, { detection = 'T.End' } }\n"
    "within_minutes = 10\ngroup_by = 'user'\n";

static void write_file(const char *dir, const char *name, const char *text) {
  char *p = xasprintf("%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  fputs(text, f);
  fclose(f);
  free(p);
}

/* A match of det for user at time t, with its sequence key as the worker computes it. */
static struct det_match *match(const struct det_set *s, const char *id, const char *user,
                               double t, unsigned long long seq) {
  const struct det *d = hmap_get(&s->ids, id, strlen(id));
  const struct det *q = hmap_get(&s->ids, "T.Seq", 5);
  struct det_match *m = xcalloc(1, sizeof *m);
  m->det = d->index;
  m->time = t;
  m->seq = seq;
  m->event = xasprintf("{\"user\":\"%s\",\"t\":%.0f}", user, t);
  m->keys = xcalloc(1, sizeof *m->keys);
  m->keys[0].det = q->index;
  m->keys[0].key = xstrdup(user);
  m->nkeys = 1;
  return m;
}

struct saved {
  struct vec rows; /* "det\x1fgroup\x1fstate" or "det\x1fgroup\x1f-" for deleted */
};

static int save_cb(const char *det, const char *group, const char *state, void *ud) {
  struct saved *s = ud;
  vec_push(&s->rows, xasprintf("%s\x1f%s\x1f%s", det, group, state ? state : "-"));
  return 0;
}

static size_t feed(struct cor *c, const struct det_set *s, struct det_match *m) {
  struct vec alerts = {0};
  cor_observe(c, s, m, &alerts);
  size_t n = alerts.len;
  for (size_t i = 0; i < alerts.len; i++) det_match_free(alerts.items[i]);
  vec_free(&alerts);
  det_match_free(m);
  return n;
}

int main(void) {
  char dir[] = "/tmp/lp0-test-correlate-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  write_file(dir, "signal.lua", SIGNAL);
  write_file(dir, "end.lua", END);
  write_file(dir, "seq.lua", SEQ);
  char *roots[] = {dir};
  char *err = NULL;
  struct det_set *s = det_set_new(roots, 1, 0, &err);
  ASSERT_TRUE(s != NULL);
  ASSERT_EQ_INT(det_set_load(s), 0);
  ASSERT_TRUE(s->stateful);
  const struct det *q = hmap_get(&s->ids, "T.Seq", 5);
  ASSERT_TRUE(q && q->corr && q->corr->kind == DET_CORR_SEQUENCE && q->corr->max_groups == 3);

  /* bounds: five users, three groups kept, two evicted (the least recently updated) */
  struct cor *c = cor_new(true);
  const char *users[] = {"u1", "u2", "u3", "u4", "u5"};
  for (int i = 0; i < 5; i++) feed(c, s, match(s, "T.Signal", users[i], 100.0 + i, (unsigned)i));
  size_t groups;
  unsigned long long ev;
  cor_stats(c, q->index, &groups, &ev);
  ASSERT_EQ_INT(groups, 3);
  ASSERT_EQ_INT(ev, 2);
  /* u1 was evicted: its one failure is gone, so one more + the end is not enough */
  ASSERT_EQ_INT(feed(c, s, match(s, "T.Signal", "u1", 110, 10)), 0);
  ASSERT_EQ_INT(feed(c, s, match(s, "T.End", "u1", 111, 11)), 0);
  /* u5 kept its failure: one more and the end complete the sequence */
  ASSERT_EQ_INT(feed(c, s, match(s, "T.Signal", "u5", 112, 12)), 0);
  ASSERT_EQ_INT(feed(c, s, match(s, "T.End", "u5", 113, 13)), 1);

  /* save, then restore into a fresh state: the half-done sequence of u4 carries on */
  feed(c, s, match(s, "T.Signal", "u4", 120, 20)); /* u4: two failures now */
  struct saved sv = {{0}};
  ASSERT_EQ_INT(cor_save(c, s, true, save_cb, &sv), 0);
  struct cor *c2 = cor_new(false);
  size_t restored = 0, deleted = 0;
  for (size_t i = 0; i < sv.rows.len; i++) {
    char *row = sv.rows.items[i], *a = strchr(row, '\x1f'), *b = strchr(a + 1, '\x1f');
    *a = *b = '\0';
    if (strcmp(b + 1, "-") == 0) deleted++;
    else if (cor_restore(c2, s, row, a + 1, b + 1) == 0) restored++;
    free(row);
  }
  vec_free(&sv.rows);
  /* evicted groups are reported for deletion: u1 and u2, then u3 when u1 came back */
  ASSERT_EQ_INT(deleted, 3);
  ASSERT_EQ_INT(restored, 3);
  ASSERT_EQ_INT(feed(c2, s, match(s, "T.End", "u4", 121, 21)), 1);
  /* an unknown detection or a broken state is refused */
  ASSERT_EQ_INT(cor_restore(c2, s, "T.Gone", "x", "{\"last\":1,\"steps\":[[],[]]}"), -1);
  ASSERT_EQ_INT(cor_restore(c2, s, "T.Seq", "x", "not json"), -1);

  /* expiry: event time passing every window drops every group */
  cor_advance(c2, s, 100000);
  ASSERT_EQ_INT(cor_groups(c2), 0);
  cor_free(c);
  cor_free(c2);
  det_set_free(s);
  char *cmd = xasprintf("rm -rf %s", dir);
  if (system(cmd) != 0) CHECK_FAIL("cleanup");
  free(cmd);
  CHECK_DONE();
}

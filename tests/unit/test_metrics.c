/* Unit tests of metrics.c: exact Prometheus text, label escaping, sorting, histograms,
 * registration rules, and exact totals under concurrent increments. */
#include <pthread.h>

#include "check.h"
#include "metrics.h"

#define THREADS 4
#define PER_THREAD 100000

static void *hammer(void *arg) {
  struct metrics_series *s = arg;
  for (int i = 0; i < PER_THREAD; i++) metrics_inc(s);
  return NULL;
}

static void *hammer_lookup(void *arg) {
  struct metrics_family *f = arg;
  for (int i = 0; i < PER_THREAD / 100; i++) {
    metrics_inc(metrics_with1(f, (i & 1) ? "a" : "b"));
    metrics_observe(metrics_with1(metrics_histogram("conc_seconds", "c", (const char *const[]){"k", NULL},
                                                    (const double[]){1}, 1),
                                  "x"),
                    0.5);
  }
  return NULL;
}

static void test_render(void) {
  static const char *const src[] = {"source", NULL};
  struct metrics_family *recv = metrics_counter("events_received_total", "Events received.", src);
  struct metrics_family *depth = metrics_gauge("queue_depth", "Events waiting.", NULL);
  static const double b[] = {0.01, 0.1, 1};
  struct metrics_family *lat = metrics_histogram("batch_seconds", "Batch latency.", NULL, b, 3);
  ASSERT_TRUE(recv && depth && lat);
  metrics_add(metrics_with1(recv, "okta"), 3);
  metrics_inc(metrics_with1(recv, "cloudtrail"));
  metrics_inc(metrics_with1(recv, "okta"));
  metrics_set(metrics_with0(depth), 7);
  metrics_gauge_add(metrics_with0(depth), -2);
  struct metrics_series *h = metrics_with0(lat);
  metrics_observe(h, 0.005);
  metrics_observe(h, 0.01); /* le is inclusive */
  metrics_observe(h, 0.5);
  metrics_observe(h, 3);
  struct buf out;
  buf_init(&out);
  metrics_render(&out);
  ASSERT_EQ_STR(out.data,
                "# HELP batch_seconds Batch latency.\n"
                "# TYPE batch_seconds histogram\n"
                "batch_seconds_bucket{le=\"0.01\"} 2\n"
                "batch_seconds_bucket{le=\"0.1\"} 2\n"
                "batch_seconds_bucket{le=\"1\"} 3\n"
                "batch_seconds_bucket{le=\"+Inf\"} 4\n"
                "batch_seconds_sum 3.515\n"
                "batch_seconds_count 4\n"
                "# HELP events_received_total Events received.\n"
                "# TYPE events_received_total counter\n"
                "events_received_total{source=\"cloudtrail\"} 1\n"
                "events_received_total{source=\"okta\"} 4\n"
                "# HELP queue_depth Events waiting.\n"
                "# TYPE queue_depth gauge\n"
                "queue_depth 5\n");
  ASSERT_EQ_INT(metrics_value(metrics_with1(recv, "okta")), 4);
  ASSERT_EQ_INT(metrics_value(metrics_with0(depth)), 5);
  buf_free(&out);
  metrics_reset();
}

static void test_escaping(void) {
  static const char *const lbl[] = {"detection", "file", NULL};
  struct metrics_family *f =
      metrics_counter("detection_errors_total", "Errors \\ by\ndetection \"x\".", lbl);
  metrics_inc(metrics_with(f, (const char *const[]){"a\"b", "c:\\d\ne"}));
  struct buf out;
  buf_init(&out);
  metrics_render(&out);
  ASSERT_EQ_STR(out.data,
                "# HELP detection_errors_total Errors \\\\ by\\ndetection \"x\".\n"
                "# TYPE detection_errors_total counter\n"
                "detection_errors_total{detection=\"a\\\"b\",file=\"c:\\\\d\\ne\"} 1\n");
  buf_free(&out);
  metrics_reset();
}

static void test_registration(void) {
  static const char *const l1[] = {"a", NULL};
  static const char *const l2[] = {"b", NULL};
  static const char *const le[] = {"le", NULL};
  static const double bad[] = {1, 1};
  struct metrics_family *f = metrics_counter("x_total", "x", l1);
  ASSERT_TRUE(f != NULL);
  ASSERT_TRUE(metrics_counter("x_total", "x", l1) == f); /* idempotent */
  ASSERT_TRUE(metrics_counter("x_total", "x", l2) == NULL);
  ASSERT_TRUE(metrics_gauge("x_total", "x", l1) == NULL);
  ASSERT_TRUE(metrics_counter("9bad", "x", NULL) == NULL);
  ASSERT_TRUE(metrics_counter("bad-name", "x", NULL) == NULL);
  ASSERT_TRUE(metrics_counter("ok", "x", (const char *const[]){"__res", NULL}) == NULL);
  ASSERT_TRUE(metrics_histogram("h", "x", le, (const double[]){1}, 1) == NULL);
  ASSERT_TRUE(metrics_histogram("h", "x", NULL, bad, 2) == NULL);
  ASSERT_TRUE(metrics_with(NULL, NULL) == NULL);
  metrics_inc(NULL); /* all no-ops */
  metrics_observe(NULL, 1);
  metrics_set(NULL, 1);
  ASSERT_EQ_INT(metrics_value(NULL), 0);
  struct buf out;
  buf_init(&out);
  metrics_reset();
  metrics_render(&out);
  ASSERT_EQ_STR(out.data, "");
  buf_free(&out);
}

static void test_concurrency(void) {
  struct metrics_family *f = metrics_counter("hot_total", "hot path", NULL);
  struct metrics_series *s = metrics_with0(f);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) ASSERT_EQ_INT(pthread_create(&t[i], NULL, hammer, s), 0);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  ASSERT_EQ_INT(metrics_value(s), (long long)THREADS * PER_THREAD);

  struct metrics_family *g = metrics_counter("lookup_total", "lookups", (const char *const[]){"k", NULL});
  for (int i = 0; i < THREADS; i++)
    ASSERT_EQ_INT(pthread_create(&t[i], NULL, hammer_lookup, g), 0);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  ASSERT_EQ_INT(metrics_value(metrics_with1(g, "a")) + metrics_value(metrics_with1(g, "b")),
                THREADS * (PER_THREAD / 100));
  struct buf out;
  buf_init(&out);
  metrics_render(&out);
  char want[128];
  snprintf(want, sizeof want, "conc_seconds_count{k=\"x\"} %d\n", THREADS * (PER_THREAD / 100));
  ASSERT_TRUE(strstr(out.data, want) != NULL);
  snprintf(want, sizeof want, "conc_seconds_sum{k=\"x\"} %g\n", 0.5 * THREADS * (PER_THREAD / 100));
  ASSERT_TRUE(strstr(out.data, want) != NULL);
  buf_free(&out);
  metrics_reset();
}

int main(void) {
  test_render();
  test_escaping();
  test_registration();
  test_concurrency();
  CHECK_DONE();
}

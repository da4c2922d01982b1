/* metrics.c — counters, gauges and histograms with labels, rendered for Prometheus.
 *
 * The registry is a list of families under one mutex; each family keeps its series in a
 * hash map (key: the label values, each followed by a NUL) under its own mutex. Series
 * are allocated one by one and never move, so a handle is a plain pointer and an update
 * is one atomic read-modify-write with relaxed ordering: metrics are statistics, nothing
 * synchronises through them. A histogram stores per-bucket (not cumulative) counts and
 * the sum as the bits of a double updated by compare-and-swap; rendering makes the
 * counts cumulative and derives _count from them, so _count always equals the +Inf
 * bucket even while other threads observe.
 *
 * Rendering sorts families by name and series by label values, so the output for a given
 * state is deterministic (the unit test compares it byte for byte).
 * SPDX-License-Identifier: MIT
 */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metrics_type { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct metrics_family {
  char *name;
  char *help;
  enum metrics_type type;
  char **labels;
  size_t nlabels;
  double *buckets; /* histograms: nbuckets bounds, +Inf implicit */
  size_t nbuckets;
  pthread_mutex_t mu; /* guards series and index */
  struct hmap index;  /* label values key -> struct metrics_series * */
  struct vec series;
};

struct metrics_series {
  struct metrics_family *family;
  char **values;
  _Atomic uint64_t counter;
  _Atomic int64_t gauge;
  _Atomic uint64_t *bucket_counts; /* nbuckets + 1, the last one is +Inf */
  _Atomic uint64_t sum_bits;       /* a double */
};

const double metrics_latency_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                          0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                          1,      2.5,     5,      10};
const size_t metrics_latency_nbuckets =
    sizeof metrics_latency_buckets / sizeof metrics_latency_buckets[0];

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct hmap registry_index; /* name -> family; zeroed = not yet initialised */
static struct vec registry_families;

static bool valid_name(const char *s, bool colon) {
  if (!s || !*s) return false;
  for (const char *p = s; *p; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (colon && c == ':') || (p != s && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

static size_t count_labels(const char *const *labels) {
  size_t n = 0;
  while (labels && labels[n]) n++;
  return n;
}

static bool same_shape(const struct metrics_family *f, enum metrics_type type,
                       const char *const *labels, const double *buckets, size_t nbuckets) {
  if (f->type != type || f->nlabels != count_labels(labels) || f->nbuckets != nbuckets)
    return false;
  for (size_t i = 0; i < f->nlabels; i++)
    if (strcmp(f->labels[i], labels[i]) != 0) return false;
  for (size_t i = 0; i < nbuckets; i++)
    if (f->buckets[i] != buckets[i]) return false;
  return true;
}

static struct metrics_family *family_register(enum metrics_type type, const char *name,
                                              const char *help, const char *const *labels,
                                              const double *buckets, size_t nbuckets) {
  size_t nlabels = count_labels(labels);
  if (!valid_name(name, true)) return NULL;
  for (size_t i = 0; i < nlabels; i++) {
    if (!valid_name(labels[i], false) || strncmp(labels[i], "__", 2) == 0) return NULL;
    if (type == M_HISTOGRAM && strcmp(labels[i], "le") == 0) return NULL;
    for (size_t j = 0; j < i; j++)
      if (strcmp(labels[i], labels[j]) == 0) return NULL;
  }
  for (size_t i = 0; i < nbuckets; i++)
    if (isnan(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) return NULL;

  struct metrics_family *f = NULL;
  if (pthread_mutex_lock(&registry_mu) != 0) return NULL;
  if (!registry_index.slots) hmap_init(&registry_index);
  void **slot = hmap_put(&registry_index, name, strlen(name));
  if (*slot) {
    f = *slot;
    if (!same_shape(f, type, labels, buckets, nbuckets)) f = NULL;
    goto done;
  }
  f = xcalloc(1, sizeof *f);
  f->name = xstrdup(name);
  f->help = xstrdup(help ? help : "");
  f->type = type;
  f->nlabels = nlabels;
  f->labels = xcalloc(nlabels + 1, sizeof *f->labels);
  for (size_t i = 0; i < nlabels; i++) f->labels[i] = xstrdup(labels[i]);
  if (nbuckets) {
    f->buckets = xmalloc(nbuckets * sizeof *f->buckets);
    memcpy(f->buckets, buckets, nbuckets * sizeof *f->buckets);
  }
  f->nbuckets = nbuckets;
  if (pthread_mutex_init(&f->mu, NULL) != 0) {
    fprintf(stderr, "lp0: metrics: pthread_mutex_init failed\n");
    abort();
  }
  hmap_init(&f->index);
  *slot = f;
  vec_push(&registry_families, f);
done:
  pthread_mutex_unlock(&registry_mu);
  return f;
}

struct metrics_family *metrics_counter(const char *name, const char *help,
                                       const char *const *labels) {
  return family_register(M_COUNTER, name, help, labels, NULL, 0);
}

struct metrics_family *metrics_gauge(const char *name, const char *help,
                                     const char *const *labels) {
  return family_register(M_GAUGE, name, help, labels, NULL, 0);
}

struct metrics_family *metrics_histogram(const char *name, const char *help,
                                         const char *const *labels, const double *buckets,
                                         size_t nbuckets) {
  return family_register(M_HISTOGRAM, name, help, labels, buckets, nbuckets);
}

struct metrics_series *metrics_with(struct metrics_family *f, const char *const *values) {
  if (!f) return NULL;
  struct buf key;
  buf_init(&key);
  for (size_t i = 0; i < f->nlabels; i++) {
    const char *v = values && values[i] ? values[i] : "";
    buf_append(&key, v, strlen(v) + 1);
  }
  struct metrics_series *s = NULL;
  if (pthread_mutex_lock(&f->mu) != 0) goto out;
  void **slot = hmap_put(&f->index, key.len ? key.data : "", key.len);
  if (!*slot) {
    s = xcalloc(1, sizeof *s);
    s->family = f;
    s->values = xcalloc(f->nlabels + 1, sizeof *s->values);
    for (size_t i = 0; i < f->nlabels; i++)
      s->values[i] = xstrdup(values && values[i] ? values[i] : "");
    if (f->type == M_HISTOGRAM) {
      s->bucket_counts = xcalloc(f->nbuckets + 1, sizeof *s->bucket_counts);
      for (size_t i = 0; i <= f->nbuckets; i++) atomic_init(&s->bucket_counts[i], 0);
    }
    double zero = 0;
    uint64_t bits;
    memcpy(&bits, &zero, sizeof bits);
    atomic_init(&s->sum_bits, bits);
    atomic_init(&s->counter, 0);
    atomic_init(&s->gauge, 0);
    *slot = s;
    vec_push(&f->series, s);
  }
  s = *slot;
  pthread_mutex_unlock(&f->mu);
out:
  buf_free(&key);
  return s;
}

struct metrics_series *metrics_with0(struct metrics_family *f) { return metrics_with(f, NULL); }

struct metrics_series *metrics_with1(struct metrics_family *f, const char *value) {
  const char *values[] = {value, NULL};
  return metrics_with(f, values);
}

void metrics_inc(struct metrics_series *s) { metrics_add(s, 1); }

void metrics_add(struct metrics_series *s, uint64_t n) {
  if (!s) return;
  if (s->family->type == M_GAUGE)
    atomic_fetch_add_explicit(&s->gauge, (int64_t)n, memory_order_relaxed);
  else
    atomic_fetch_add_explicit(&s->counter, n, memory_order_relaxed);
}

void metrics_set(struct metrics_series *s, int64_t v) {
  if (s) atomic_store_explicit(&s->gauge, v, memory_order_relaxed);
}

void metrics_gauge_add(struct metrics_series *s, int64_t delta) {
  if (s) atomic_fetch_add_explicit(&s->gauge, delta, memory_order_relaxed);
}

void metrics_observe(struct metrics_series *s, double v) {
  if (!s || !s->bucket_counts) return;
  const struct metrics_family *f = s->family;
  size_t i = 0;
  while (i < f->nbuckets && !(v <= f->buckets[i])) i++;
  atomic_fetch_add_explicit(&s->bucket_counts[i], 1, memory_order_relaxed);
  uint64_t old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed), new_bits;
  do {
    double sum;
    memcpy(&sum, &old, sizeof sum);
    sum += v;
    memcpy(&new_bits, &sum, sizeof new_bits);
  } while (!atomic_compare_exchange_weak_explicit(&s->sum_bits, &old, new_bits,
                                                  memory_order_relaxed, memory_order_relaxed));
}

int64_t metrics_value(const struct metrics_series *s) {
  if (!s) return 0;
  struct metrics_series *m = (struct metrics_series *)(uintptr_t)s; /* atomics need non-const */
  if (s->family->type == M_GAUGE) return atomic_load_explicit(&m->gauge, memory_order_relaxed);
  return (int64_t)atomic_load_explicit(&m->counter, memory_order_relaxed);
}

/* Shortest of %.15g / %.17g that reads back as the same double; Prometheus spellings for
 * infinities and NaN. */
static void fmt_double(char *out, size_t n, double v) {
  if (isnan(v)) {
    snprintf(out, n, "NaN");
  } else if (isinf(v)) {
    snprintf(out, n, v > 0 ? "+Inf" : "-Inf");
  } else {
    snprintf(out, n, "%.15g", v);
    if (strtod(out, NULL) != v) snprintf(out, n, "%.17g", v);
  }
}

static void put_escaped(struct buf *out, const char *s, bool quote) {
  for (; *s; s++) {
    if (*s == '\\') buf_puts(out, "\\\\");
    else if (*s == '\n') buf_puts(out, "\\n");
    else if (quote && *s == '"') buf_puts(out, "\\\"");
    else buf_putc(out, *s);
  }
}

/* {a="x",b="y"} plus an optional extra le label; nothing when there are no labels. */
static void put_labels(struct buf *out, const struct metrics_family *f,
                       const struct metrics_series *s, const char *le) {
  if (f->nlabels == 0 && !le) return;
  buf_putc(out, '{');
  for (size_t i = 0; i < f->nlabels; i++) {
    if (i) buf_putc(out, ',');
    buf_printf(out, "%s=\"", f->labels[i]);
    put_escaped(out, s->values[i], true);
    buf_putc(out, '"');
  }
  if (le) buf_printf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
  buf_putc(out, '}');
}

static int cmp_family(const void *a, const void *b) {
  const struct metrics_family *x = *(void *const *)a, *y = *(void *const *)b;
  return strcmp(x->name, y->name);
}

static int cmp_series(const void *a, const void *b) {
  const struct metrics_series *x = *(void *const *)a, *y = *(void *const *)b;
  for (size_t i = 0; i < x->family->nlabels; i++) {
    int c = strcmp(x->values[i], y->values[i]);
    if (c) return c;
  }
  return 0;
}

static void render_histogram(struct buf *out, const struct metrics_family *f,
                             struct metrics_series *s) {
  char num[64];
  uint64_t cum = 0;
  for (size_t i = 0; i <= f->nbuckets; i++) {
    cum += atomic_load_explicit(&s->bucket_counts[i], memory_order_relaxed);
    if (i < f->nbuckets) fmt_double(num, sizeof num, f->buckets[i]);
    else snprintf(num, sizeof num, "+Inf");
    buf_printf(out, "%s_bucket", f->name);
    put_labels(out, f, s, num);
    buf_printf(out, " %llu\n", (unsigned long long)cum);
  }
  uint64_t bits = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
  double sum;
  memcpy(&sum, &bits, sizeof sum);
  fmt_double(num, sizeof num, sum);
  buf_printf(out, "%s_sum", f->name);
  put_labels(out, f, s, NULL);
  buf_printf(out, " %s\n%s_count", num, f->name);
  put_labels(out, f, s, NULL);
  buf_printf(out, " %llu\n", (unsigned long long)cum);
}

static void render_family(struct buf *out, struct metrics_family *f) {
  static const char *const type_names[] = {"counter", "gauge", "histogram"};
  buf_printf(out, "# HELP %s ", f->name);
  put_escaped(out, f->help, false);
  buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
  if (pthread_mutex_lock(&f->mu) != 0) return;
  size_t n = f->series.len;
  void **sorted = xmalloc((n ? n : 1) * sizeof *sorted);
  if (n) memcpy(sorted, f->series.items, n * sizeof *sorted);
  pthread_mutex_unlock(&f->mu); /* series never move or disappear before metrics_reset */
  qsort(sorted, n, sizeof *sorted, cmp_series);
  for (size_t i = 0; i < n; i++) {
    struct metrics_series *s = sorted[i];
    if (f->type == M_HISTOGRAM) {
      render_histogram(out, f, s);
      continue;
    }
    buf_puts(out, f->name);
    put_labels(out, f, s, NULL);
    if (f->type == M_GAUGE)
      buf_printf(out, " %lld\n", (long long)atomic_load_explicit(&s->gauge, memory_order_relaxed));
    else
      buf_printf(out, " %llu\n",
                 (unsigned long long)atomic_load_explicit(&s->counter, memory_order_relaxed));
  }
  free(sorted);
}

void metrics_render(struct buf *out) {
  if (pthread_mutex_lock(&registry_mu) != 0) return;
  size_t n = registry_families.len;
  void **sorted = xmalloc((n ? n : 1) * sizeof *sorted);
  if (n) memcpy(sorted, registry_families.items, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, cmp_family);
  for (size_t i = 0; i < n; i++) render_family(out, sorted[i]);
  pthread_mutex_unlock(&registry_mu);
  free(sorted);
  if (!out->data) buf_puts(out, ""); /* always NUL-terminated, even when empty */
}

static void series_free(struct metrics_series *s) {
  for (size_t i = 0; i < s->family->nlabels; i++) free(s->values[i]);
  free(s->values);
  free((void *)(uintptr_t)s->bucket_counts);
  free(s);
}

void metrics_reset(void) {
  if (pthread_mutex_lock(&registry_mu) != 0) return;
  for (size_t i = 0; i < registry_families.len; i++) {
    struct metrics_family *f = registry_families.items[i];
    for (size_t j = 0; j < f->series.len; j++) series_free(f->series.items[j]);
    vec_free(&f->series);
    hmap_free(&f->index);
    pthread_mutex_destroy(&f->mu);
    for (size_t j = 0; j < f->nlabels; j++) free(f->labels[j]);
    free(f->labels);
    free(f->buckets);
    free(f->help);
    free(f->name);
    free(f);
  }
  vec_free(&registry_families);
  memset(&registry_families, 0, sizeof registry_families);
  if (registry_index.slots) hmap_free(&registry_index);
  memset(&registry_index, 0, sizeof registry_index);
  pthread_mutex_unlock(&registry_mu);
}

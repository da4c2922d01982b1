/* metrics.h — a process-wide registry of counters, gauges and histograms, rendered as
 * Prometheus text exposition format 0.0.4 for GET /metrics.
 *
 * A metric family has a name, help text and a fixed list of label names; a series is one
 * set of label values within a family. Registering a family and looking up a series take
 * a mutex and may allocate; the handle they return stays valid until metrics_reset(), so
 * the hot path is: obtain the handle once, then metrics_inc(handle), which is one relaxed
 * atomic add and is safe from any thread. Every update function accepts a NULL handle
 * and does nothing, so a caller without metrics needs no special case.
 *
 * Ownership: the registry owns families and series; names, help, label names and values
 * are copied. Names that Prometheus would refuse (or "le" on a histogram) and a name
 * registered again with another type or other labels make the register call return NULL.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_METRICS_H
#define LP0_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct metrics_family;
struct metrics_series;

/* Registers (or finds again, when name, type and labels are the same) a family.
 * labels is a NULL-terminated array of label names, or NULL for none. */
struct metrics_family *metrics_counter(const char *name, const char *help,
                                       const char *const *labels);
struct metrics_family *metrics_gauge(const char *name, const char *help,
                                     const char *const *labels);
/* buckets: upper bounds, strictly increasing, without +Inf (added when rendering). */
struct metrics_family *metrics_histogram(const char *name, const char *help,
                                         const char *const *labels, const double *buckets,
                                         size_t nbuckets);

/* The series for label values (as many as the family has labels; NULL when it has
 * none), created at zero on first use. Returns NULL only for a NULL family. */
struct metrics_series *metrics_with(struct metrics_family *f, const char *const *values);
/* Shorthands for a family with zero or one label. */
struct metrics_series *metrics_with0(struct metrics_family *f);
struct metrics_series *metrics_with1(struct metrics_family *f, const char *value);

/* Counters (and gauges). */
void metrics_inc(struct metrics_series *s);
void metrics_add(struct metrics_series *s, uint64_t n);
/* Gauges. */
void metrics_set(struct metrics_series *s, int64_t v);
void metrics_gauge_add(struct metrics_series *s, int64_t delta);
/* Histograms: counts v in the first bucket whose bound is >= v. */
void metrics_observe(struct metrics_series *s, double v);

/* Current value of a counter or gauge (tests, /healthz); 0 for NULL. */
int64_t metrics_value(const struct metrics_series *s);

/* Appends every family, sorted by name, and its series, sorted by label values, in
 * Prometheus text format 0.0.4 (Content-Type: text/plain; version=0.0.4). */
void metrics_render(struct buf *out);

/* Frees every family and series: all handles become invalid. For tests and exit. */
void metrics_reset(void);

/* Bucket bounds in seconds for latencies from 100 us to 10 s. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

#endif

/* batch.h — a batch of event records and its evaluation: the unit of work that replay
 * and daemon workers hand to a detection set.
 *
 * A batch holds raw record texts (an NDJSON line, or a whole JSON document whose array,
 * Records or EventBridge envelope holds several events). batch_eval parses, classifies and
 * evaluates them on one det_set and leaves the matches, in record order, in the batch;
 * the caller merges batches in order into its dedup state. Nothing here is shared between
 * threads: one batch is evaluated by one thread at a time.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_BATCH_H
#define LP0_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "detect.h"
#include "util.h"

#define BATCH_RECORDS 512
#define BATCH_BYTES (1u << 20)
#define BATCH_MAX_REPORTED 5 /* error messages kept per batch; all are counted */

struct batch {
  unsigned long long no; /* sequence number: orders matches across batches */
  struct buf text;       /* records, each NUL-terminated */
  size_t *off;
  unsigned long *line;   /* line number of each record in its source; for tailed lines
                            (paths set) the byte offset of the line in its file */
  unsigned *path;        /* tailed lines: index in paths of each record's file */
  struct vec paths;      /* tailed lines: the files' paths (owned), or empty */
  size_t n, cap;
  const char *file;      /* borrowed: the source's name, for messages */
  const char *log_type;  /* borrowed: the source's log type, NULL = classify (workers) */
  /* Body mode (webhooks): one request body, decoded by batch_eval on the worker with
   * ingest_decode, so the loop thread never parses JSON. Owned; NULL otherwise. */
  char *body, *content_type, *content_encoding;
  size_t body_len;
  int decode_rc;                    /* 0 or an INGEST_E_* code: nothing was evaluated */
  unsigned long long received;      /* records found in the body */
  unsigned long long skipped;       /* values the decoder dropped on purpose */
  char *sns_subscribe_url, *sns_topic; /* an SNS SubscriptionConfirmation (owned) */
  /* results of batch_eval */
  struct vec det_errors; /* struct batch_det_errors *: per detection, when any (owned) */
  struct vec matches; /* struct det_match *, in record order (owned) */
  struct vec errors;  /* the first messages (owned strings) */
  unsigned long long events, unclassified, parse_errors, rule_errors;
  unsigned long long suppressed; /* matches dropped by the set's suppressions */
  double max_time; /* latest event time in the batch, or -1 */
  /* for the caller's queues */
  unsigned long long submitted_ns; /* clk_mono_ns() when handed to the workers */
  bool done;
  void *owner;
  struct batch *next;
};

/* Hook errors and budget kills of one detection during one batch. */
struct batch_det_errors {
  int det;
  unsigned long long errors, killed;
};

/* A new empty batch; file is borrowed and must outlive it. Free with batch_free. */
struct batch *batch_new(unsigned long long no, const char *file);
/* A batch of one request body (taken: free()able) with its Content-Type and
 * Content-Encoding header values (copied; NULL when absent). */
struct batch *batch_new_body(unsigned long long no, const char *file, char *body, size_t len,
                             const char *content_type, const char *content_encoding);
void batch_free(struct batch *b);
/* Copies one record (text of len bytes, from line `line` of the source). */
void batch_add(struct batch *b, const char *text, size_t len, unsigned long line);
/* Copies one tailed line, read at byte offset of file path (copied once per batch), so
 * that a malformed line is reported as path:offset. */
void batch_add_line(struct batch *b, const char *text, size_t len, const char *path,
                    unsigned long offset);
/* True when the batch should be handed on (BATCH_RECORDS or BATCH_BYTES reached). */
bool batch_full(const struct batch *b);
/* Keeps msg (taken) if fewer than BATCH_MAX_REPORTED messages are kept, else frees it. */
void batch_error(struct batch *b, char *msg);

/* Parses and evaluates every record (or the body) on set; log_type NULL = classify each
 * event. Each
 * match gets its event time (or the latest time seen before it, marked time_inferred), a
 * sequence number and the event text (the record as received when it is one event). */
void batch_eval(struct batch *b, struct det_set *set, const char *log_type);

struct dedup;
struct cor;
/* Hands the batch's matches, in order, to the stateful patterns (cor, may be NULL) and
 * then to dedup (the caller's, on its own thread): alerts of completed patterns go to
 * dedup as matches of the pattern's detection; signals (create_alert = false), risk and
 * beacon matches are dropped after feeding their patterns. A match without event time
 * takes the latest time seen, and event time then moves to the batch's latest. Leaves
 * the batch without matches. set gives the detections' metadata. */
void batch_merge(struct batch *b, const struct det_set *set, struct dedup *dd, struct cor *cor);

#endif

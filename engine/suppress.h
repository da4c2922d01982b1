/* suppress.h — suppressions: known-good matches dropped after a detection matched and
 * before alerting, each with an expiry, a reason and an author.
 *
 * The file is Lua data, like the configuration: it returns a list of entries
 *
 *   { name = "ci-sg-changes",                  -- metric label; default "#<position>"
 *     detection = "AWS.EC2.*",                 -- id or glob, or a list of them
 *     where = { ["userIdentity.arn"] = { glob = "arn:aws:sts::*:assumed-role/ci-*" },
 *               awsRegion = { "eu-west-1", "eu-central-1" },      -- any of
 *               sourceIPAddress = { cidr = "10.0.0.0/8" } },      -- all conditions hold
 *     expires = "2026-12-31",                  -- date (through that day, UTC) or RFC 3339
 *     reason = "...", author = "..." }
 *
 * and is run in a state with no I/O and an instruction and memory cap. Anything that
 * could make an entry match more than its author meant (an unknown field such as a
 * misspelt `where`, a value of the wrong type, a bad date or CIDR) fails the load. What
 * only makes an entry match less or needs a human (expired, no reason or author, a glob
 * with an unclosed '[') is left for sup_check, which `lp0 check` prints.
 *
 * Matching is evaluated in C on the event's cJSON tree and reads nothing mutable besides
 * the hit counters, which are relaxed atomics: sup_apply may run on every worker thread
 * at once, and the loop thread may read the counters (/metrics) meanwhile.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_SUPPRESS_H
#define LP0_SUPPRESS_H

#include <cjson/cJSON.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "lookup.h"

enum sup_op { SUP_EQ, SUP_GLOB, SUP_PREFIX, SUP_CIDR };
enum sup_type { SUP_STRING, SUP_NUMBER, SUP_BOOL };

/* One accepted value of a condition. */
struct sup_value {
  enum sup_op op;
  enum sup_type type; /* SUP_EQ only; the other operators take strings */
  char *s;            /* string (EQ), pattern (GLOB), prefix (PREFIX), CIDR text (CIDR) */
  double num;         /* NUMBER, or a STRING that reads as a number (num_ok) */
  bool num_ok;
  bool b;             /* BOOL */
  struct lkp_addr net; /* CIDR */
  unsigned plen;
};

/* The field at path equals (matches) one of values; an array field: one of its elements. */
struct sup_cond {
  struct json_path path;
  struct sup_value *values;
  size_t nvalues;
};

struct sup_entry {
  char *name;
  char **detections; /* ids or globs */
  size_t ndetections;
  struct sup_cond *conds; /* all must hold; sorted by path */
  size_t nconds;
  bool has_expires;
  double expires;     /* epoch seconds: the entry applies while now < expires */
  char *expires_text; /* as written, for messages */
  char *reason, *author; /* NULL when missing */
  bool named;         /* name was given (not the "#<position>" default) */
  atomic_uint_least64_t hits;
};

struct sup_set {
  char *file;
  struct sup_entry *entries;
  size_t n;
};

/* Reads and validates a suppressions file. Returns 0 and a new set in *out (free with
 * sup_free), or -1 with *errmsg (free()) "FILE: entry N (name): message" or the Lua
 * error with FILE:LINE. */
int sup_load(const char *path, struct sup_set **out, char **errmsg);
/* Same from text in memory; name is used in messages. */
int sup_load_string(const char *name, const char *text, size_t len, struct sup_set **out,
                    char **errmsg);
void sup_free(struct sup_set *s);

/* The first entry (in file order) that applies to det_id and event at time now (epoch
 * seconds, wall clock: expiry is about when the suppression is allowed to act, not
 * about event time), or -1. Expired entries are skipped. Counts nothing. */
int sup_match(const struct sup_set *s, const char *det_id, const cJSON *event, double now);
/* sup_match, then counts a hit on the entry found. Thread-safe. */
int sup_apply(struct sup_set *s, const char *det_id, const cJSON *event, double now);
/* Hits of entry i since loading. */
uint64_t sup_hits(const struct sup_set *s, size_t i);

enum sup_level { SUP_WARNING, SUP_ERROR };
/* One problem of entry (index), message without the file name. */
typedef void (*sup_report_cb)(void *ud, enum sup_level level, size_t entry, const char *msg);

/* Reports what `lp0 check` should show: expired entries (ignored at run time), missing
 * reason or author, entries without a name, malformed globs (errors), and, when ids is not
 * NULL, detection patterns that match none of the nids loaded detection ids. Returns the
 * number of errors (warnings are reported, not counted). */
size_t sup_check(const struct sup_set *s, double now, const char *const *ids, size_t nids,
                 sup_report_cb cb, void *ud);

#endif

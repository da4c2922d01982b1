/* detect.h — the detection registry: loading detection files, the prefilter index,
 * and evaluating an event against the detections that can match it.
 *
 * One det_set owns one Lua state (struct vm) and the detections loaded into it. Replay
 * workers and daemon workers each build their own det_set from the same files; the
 * metadata is identical across them, so results can be merged by detection index.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_DETECT_H
#define LP0_DETECT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "json.h"
#include "util.h"
#include "vm.h"

enum det_sev { SEV_INFO, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL, SEV_COUNT };
/* Case-insensitive; returns -1 for an unknown name. */
int det_sev_parse(const char *s);
const char *det_sev_name(int sev);

/* One field of a `match` prefilter: the event's scalar at path must be one of values. */
struct det_cond {
  struct json_path path;
  struct hmap values; /* scalar keys (json_scalar_key); values unused */
};

/* The conditions a `match` table sets for one log type (NULL = every log type). */
struct det_filter {
  char *log_type;
  struct det_cond *conds;
  size_t nconds;
};

/* What identifies a group (sequence, beacon) or an entity (risk): a field path of the
 * event (exact keys), or a Lua function of the event. */
struct det_keyspec {
  struct json_path path; /* used when fn_ref is LUA_NOREF */
  int fn_ref;            /* registry ref of the function, or LUA_NOREF (-2) */
};

enum det_corr_kind {
  DET_CORR_NONE,
  DET_CORR_SEQUENCE,     /* sequence = { {detection, min}, ... }: steps in order */
  DET_CORR_BEACON,       /* beacon = {...}: the detection's own matches, regular in time */
  DET_CORR_RISK_SUM,     /* risk_threshold = { limit, window_hours }: risk per entity */
  DET_CORR_RISK_TACTICS, /* risk_tactics = { min, window_hours }: distinct MITRE tactics */
};

struct det_step {
  char *detection; /* id as written */
  int index;       /* resolved at load, -1 until then */
  int min;         /* matches needed (>= 1) */
};

/* A stateful pattern (correlate.c keeps the state). */
struct det_corr {
  enum det_corr_kind kind;
  struct det_step *steps; /* sequence */
  size_t nsteps;
  double window;          /* seconds: within_minutes, beacon window, risk window */
  struct det_keyspec group; /* sequence, beacon: group_by */
  int min_events;           /* beacon */
  double max_jitter;        /* beacon: largest coefficient of variation of the intervals */
  double limit;             /* risk_threshold */
  int min_tactics;          /* risk_tactics */
  size_t max_groups;        /* state bound: groups kept per detection (LRU eviction) */
};

/* risk = { entity, score }: the detection's matches add score to the entity's risk. */
struct det_risk {
  struct det_keyspec entity;
  double score;
};

struct det {
  int index; /* position in det_set.dets */
  char *id, *file;
  char **log_types;
  size_t nlog_types;
  int severity, dedup_minutes, threshold;
  bool enabled, create_alert;
  char *display_name, *description, *runbook, *reference; /* NULL when unset */
  cJSON *tags, *reports, *destinations;                    /* owned; NULL when unset */
  struct det_filter *filters; /* the `match` prefilter: one generic, or one per log type */
  size_t nfilters;
  int env_ref; /* registry ref of the file's globals */
  struct det_corr *corr; /* stateful pattern, or NULL */
  struct det_risk *risk; /* risk contribution, or NULL */
  bool alerts;           /* its matches go to dedup and alert (create_alert, no risk/beacon) */
  int *feeds;            /* sequences its matches feed (indexes), nfeeds of them */
  size_t nfeeds;
  /* Counters of this state. */
  unsigned long long evaluated, matched, errors, killed;
  unsigned long long ns; /* time spent in this detection's Lua */
};

/* A problem found while loading: printed as "file:line: message". */
struct det_diag {
  char *file;
  int line; /* 0 when unknown */
  char *msg;
};

struct det_spec { /* a *_spec.lua file: plain Lua tests of the stdlib and helpers */
  char *file;
  int env_ref;
};

struct det_ilist {
  int *v;
  size_t n, cap;
};

struct det_set {
  struct vm *vm;
  struct vec dets;  /* struct det *, sorted by file path */
  struct vec specs; /* struct det_spec * */
  struct vec story_files; /* char *: files that are stories (run, no rule): story.c loads them */
  struct vec diags; /* struct det_diag * */
  struct hmap ids;  /* id -> struct det * */
  struct hmap logtypes; /* log type -> struct det_lt_index * (built by det_set_index) */
  char **roots;
  size_t nroots;
  bool timing;            /* measure each detection's time (det->ns): lp0 replay --stats */
  struct lkp_set *lookups; /* lookup() tables (one reference held), NULL until loaded */
  bool stateful;           /* some detection has a sequence, beacon or risk */
  int *risk_aggs;          /* the risk_threshold / risk_tactics detections (indexes) */
  size_t nrisk_aggs;
  double risk_window;      /* their widest window in seconds, 0 without any */
  struct sup_set *sup;     /* suppressions applied by batch_eval (borrowed), or NULL */
  struct det_ilist _cand; /* scratch for det_eval */
  struct buf _key;        /* scratch for det_eval */
};

/* What one matching detection produced for one event. All strings owned. */
struct det_match {
  int det;
  int severity;
  char *title, *dedup, *unique; /* unique is NULL without a unique hook */
  char *context;                /* JSON text of alert_context, "{}" by default */
  char *description, *runbook, *reference, *destinations; /* destinations: JSON or NULL */
  /* Filled by the caller that knows the event. */
  double time;
  bool time_inferred; /* the event had no time: time is the latest seen before it */
  unsigned long long seq;
  char *event;          /* JSON text of the event */
  const char *log_type; /* borrowed from the detection set's index */
  /* Keys computed on the worker for the stateful patterns this match feeds: */
  struct det_key { int det; char *key; } *keys; /* group of each sequence / beacon */
  size_t nkeys;
  char *entity; /* risk entity, or NULL */
};
void det_match_free(struct det_match *m);
/* Frees what m holds and zeroes it (m itself is the caller's, e.g. on the stack). */
void det_match_clear(struct det_match *m);

/* Creates a set whose `require` searches <root>/lib for each folder root (files' own
 * folders for file roots). Returns NULL with *errmsg (free()) when Lua cannot start. */
struct det_set *det_set_new(char *const *roots, size_t nroots, size_t mem_limit, char **errmsg);
void det_set_free(struct det_set *s);

/* Gives the set its lookup() tables (a reference is taken), before det_set_load. Without
 * it, det_set_load discovers the tables beside the roots (lkp_set_discover). */
struct lkp_set;
struct sup_set;
void det_set_use_lookups(struct det_set *s, struct lkp_set *lookups);

/* Loads every detection (*.lua) and spec (*_spec.lua) under the roots, skipping lib/
 * folders and dot files, in path order. Problems go to s->diags; returns their count. */
size_t det_set_load(struct det_set *s);

/* Builds the prefilter index over the enabled detections. Call once after loading. */
void det_set_index(struct det_set *s);

/* Log types some enabled detection reads (borrowed from the index), or NULL. */
const char *det_set_logtype(const struct det_set *s, const char *name);

/* Evaluates event against the enabled detections of log_type whose prefilter holds.
 * Appends a struct det_match * per match to out (caller frees with det_match_free).
 * Rule errors are counted on the detection and, when errs is not NULL, described there
 * (one line each). Returns the number of matches. */
size_t det_eval(struct det_set *s, const cJSON *event, const char *log_type, struct vec *out,
                struct vec *errs);

/* Evaluates one detection on event, prefilter included, regardless of `enabled`
 * (the test runner). Returns 1 and fills *m on a match, 0 when not matching, -1 on a rule
 * error; hook errors are appended to errs as "hook: message" strings (owned). */
int det_eval_one(struct det_set *s, struct det *d, const cJSON *event, const char *log_type,
                 struct det_match *m, struct vec *errs);

/* The filter of d for log_type (its own, else the generic one), or NULL for none. */
const struct det_filter *det_filter_for(const struct det *d, const char *log_type);
/* True when the event of log_type satisfies d's `match` prefilter. */
bool det_prefilter(const struct det *d, const cJSON *event, const char *log_type);

#endif

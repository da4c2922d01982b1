/* store.h — the daemon's durable state in one SQLite file: alerts, dedup/threshold
 * windows, tail offsets, story runs, plug switch-off deadlines and a small key/value table.
 *
 * One struct store is one connection, used by one thread (the loop thread). It owns its
 * prepared statements and finalises them at close. Writes outside store_begin/commit
 * are committed one by one; the daemon wraps each loop iteration in one transaction.
 * Schema, migrations and durability: docs/store.md.
 *
 * Errors: every int function returns 0 or a negative errno-style code and, for an open
 * store, leaves a message naming the database path and the SQLite error in
 * store_errmsg(). Nothing here exits or logs on the caller's behalf (allocation failure
 * aborts, as everywhere in the engine: util.h).
 *   -EINVAL   bad argument, malformed JSON, constraint violation, misuse (begin twice)
 *   -ENOENT   no such row (get functions)
 *   -ENOSPC   disk full (or the database's size limit)
 *   -EROFS, -EACCES   read-only database, file or directory
 *   -EBUSY    another connection held the write lock longer than the busy timeout
 *   -ENOTSUP  the database was written by a newer lp0, or is not an lp0 database
 *   -EIO      I/O error, corrupt file, or a transaction SQLite had to roll back
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_STORE_H
#define LP0_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct dedup_window; /* dedup.h */
struct det_match;    /* detect.h */

#define STORE_SCHEMA_VERSION 3         /* the newest schema this binary knows */
#define STORE_BUSY_TIMEOUT_MS 5000     /* default wait for another writer's lock */

enum store_flag {
  STORE_READONLY = 1u << 0,  /* no migrations, no writes (lp0 alerts next to a running daemon) */
  STORE_MKDIR = 1u << 1,     /* create the database's directory (one level, mode 0700) */
  STORE_SYNC_FULL = 1u << 2, /* synchronous=FULL: commits also survive power loss (slower) */
  STORE_BG_CHECKPOINT = 1u << 3, /* WAL checkpoints on a thread of their own, not inside
                                    a commit: a commit never waits for an fsync of the
                                    database file (the daemon: answer latency) */
};

/* ---- lifecycle ---------------------------------------------------------------------- */

/* Opens (creating if needed) the database at path in WAL mode, synchronous=NORMAL, with
 * foreign keys on and a busy timeout of STORE_BUSY_TIMEOUT_MS, then brings the schema to
 * STORE_SCHEMA_VERSION in one transaction. A newer schema, a non-lp0 database or (with
 * STORE_READONLY) an older schema is refused. On success *out is a new store (free with
 * store_close); on failure returns a negative code and *errmsg is a new message (free()). */
int store_open(const char *path, unsigned flags, struct store **out, char **errmsg);
/* Rolls back an open transaction, finalises the statements and closes. NULL is a no-op. */
void store_close(struct store *st);

/* The message of the last failure ("" when none); valid until the next call. */
const char *store_errmsg(const struct store *st);
const char *store_path(const struct store *st);
/* Schema version of the open database (STORE_SCHEMA_VERSION after a read-write open). */
int store_schema_version(const struct store *st);
/* True when this open created the schema in an empty database (first start). */
bool store_created(const struct store *st);
/* Changes the busy timeout (milliseconds). */
int store_set_busy_timeout(struct store *st, int ms);

/* ---- transactions -------------------------------------------------------------------- */

/* BEGIN IMMEDIATE: takes the write lock now, so a commit never fails on lock upgrade.
 * Transactions do not nest: -EINVAL when one is already open. */
int store_begin(struct store *st);
/* Commits. If the commit fails (disk full, I/O) the transaction is rolled back and the
 * error returned: nothing of the batch is stored, so the caller must not acknowledge it. */
int store_commit(struct store *st);
/* Discards the open transaction (no-op without one). */
int store_rollback(struct store *st);
bool store_in_transaction(const struct store *st);
/* Runs SQL text with no results (maintenance, tests: "PRAGMA wal_checkpoint(TRUNCATE)"). */
int store_exec(struct store *st, const char *sql);

/* ---- alerts -------------------------------------------------------------------------- */

/* A row of the alerts table; strings are borrowed for the duration of a callback. */
struct store_alert {
  long long id;
  const char *detection, *title, *severity, *dedup;
  const char *log_type; /* NULL when the record has none */
  double first_seen, last_seen; /* event time, epoch seconds (0 when absent) */
  long long count;
  const char *json;  /* the alert record (docs/alerts.md), as given to store_put_alert */
  size_t json_len;
  double created_at; /* wall clock when stored, epoch seconds */
};

/* Stores an alert record (the JSON object of alert_build(), docs/alerts.md). The columns
 * (detection, title, severity, dedup, log_type, first_seen, last_seen, count) are read
 * from the record, which is kept byte for byte. -EINVAL when it is not a JSON object
 * with string "detection", "title", "severity" and "dedup". *id (may be NULL) receives
 * the new row id; ids only grow and are never reused. */
int store_put_alert(struct store *st, const char *json, size_t len, long long *id);

/* Return 0 to go on; any other value stops the listing and is returned by it. */
typedef int (*store_alert_cb)(const struct store_alert *a, void *ud);
/* Calls cb for the alerts stored at or after `since` (created_at, epoch seconds; 0 = all),
 * in id order (oldest first). With limit > 0, only the newest `limit` of them, still
 * oldest first (like tail -n). */
int store_list_alerts(struct store *st, double since, long long limit, store_alert_cb cb,
                      void *ud);

/* The record of alert id (a new string, free()) in *json; -ENOENT when there is none. */
int store_get_alert_json(struct store *st, long long id, char **json);

/* ---- dedup / threshold windows --------------------------------------------------------- */

/* A row of the windows table. From store_window_from_dedup the strings are owned (free
 * with store_window_clear); in a store_window_cb they are borrowed for the callback. */
struct store_window {
  char *key;       /* stable key: "<detection id>\x1f<dedup>" (store_window_key) */
  char *detection; /* detection id (not the index: indexes change between runs) */
  double start, end, first_seen, last_seen;
  unsigned long long count;
  size_t distinct;
  int threshold;
  bool use_unique, alerted;
  char *uniques; /* JSON array of the distinct unique values, sorted */
  char *first;   /* JSON object: the match that opened the window (docs/store.md) */
};
void store_window_clear(struct store_window *row);

/* Inserts or replaces the window row with row->key. */
int store_window_save(struct store *st, const struct store_window *row);
/* Deletes the row of key (no error when there is none). */
int store_window_delete(struct store *st, const char *key);
typedef int (*store_window_cb)(const struct store_window *row, void *ud);
/* Calls cb for every stored window, by end time then key. A nonzero cb result stops. */
int store_window_load_all(struct store *st, store_window_cb cb, void *ud);

/* Returns the stable key of a window (new string, free()). */
char *store_window_key(const char *det_id, const char *dedup);
/* Serialises w (detection det_id) into row (owned strings; store_window_clear). */
int store_window_from_dedup(struct store *st, const struct dedup_window *w, const char *det_id,
                            struct store_window *row);
/* Rebuilds a window for detection index det_index from a row: a new struct dedup_window
 * (with its first match and uniques) in *out, its in-memory key in dedup.c's format and
 * _heap unset, ready to be inserted into a struct dedup. log_type is borrowed (the
 * detection set's interned name for row's log type, or NULL). -EINVAL on a malformed row. */
int store_window_to_dedup(struct store *st, const struct store_window *row, int det_index,
                          const char *log_type, struct dedup_window **out);
/* Frees a window made by store_window_to_dedup that was not handed to dedup. */
void store_window_free_dedup(struct dedup_window *w);
/* store_window_from_dedup + store_window_save. */
int store_window_put(struct store *st, const struct dedup_window *w, const char *det_id);

/* The first-match JSON of a row (pure helpers, used by the two above). */
char *store_match_to_json(const struct det_match *m); /* new string, free() */
/* Returns a new match (det_match_free) or NULL when json is malformed. */
struct det_match *store_match_from_json(const char *json, int det_index, const char *log_type);

/* ---- tail offsets ---------------------------------------------------------------------- */

struct store_offset {
  uint64_t dev, ino;   /* file identity */
  int64_t offset;      /* bytes processed */
  uint64_t marker;     /* checksum of the marker_len bytes before offset (inode reuse) */
  uint32_t marker_len;
  double updated_at;   /* set by the store */
};
/* -ENOENT (with no message) when path has no offset. */
int store_offset_get(struct store *st, const char *path, struct store_offset *out);
int store_offset_set(struct store *st, const char *path, const struct store_offset *o);
int store_offset_delete(struct store *st, const char *path);
typedef int (*store_offset_cb)(const char *path, const struct store_offset *o, void *ud);
int store_offset_list(struct store *st, store_offset_cb cb, void *ud);

/* ---- story runs (issue 6) ---------------------------------------------------------------- */

struct store_run {
  long long id;
  char *story;
  long long alert_id; /* 0 = none */
  char *state;        /* pending, running, waiting, succeeded, failed, dead */
  int attempts;
  char *last_error;   /* NULL = none */
  char *steps;        /* JSON object: step name -> stored result */
  double created_at, updated_at, started_at, finished_at, next_at; /* 0 = unset */
};
void store_run_clear(struct store_run *r);
/* Records a new pending run; *id receives its id. alert_id must exist (or be 0). */
int store_run_insert(struct store *st, const char *story, long long alert_id, long long *id);
/* Writes state, attempts, last_error, steps and the started/finished/next times of the run
 * r->id (NULL strings: state unchanged, last_error cleared, steps unchanged); updated_at =
 * now. -ENOENT when there is no such run. */
int store_run_update(struct store *st, const struct store_run *r);
/* Reads run id into *out (owned strings; store_run_clear). -ENOENT when there is none. */
int store_run_get(struct store *st, long long id, struct store_run *out);
/* Row callback: the row is borrowed for the call; return non-zero to stop (returned). */
typedef int (*store_run_cb)(const struct store_run *r, void *ud);
/* Runs to start now: pending, or waiting with next_at <= now; oldest first, at most
 * limit (<= 0: all). */
int store_run_due(struct store *st, double now, long long limit, store_run_cb cb, void *ud);
/* The newest `limit` runs (<= 0: all), oldest first; failed_only: failed, dead, waiting. */
int store_run_list(struct store *st, bool failed_only, long long limit, store_run_cb cb, void *ud);
/* At start: runs left `running` by a stop or crash become pending again (their steps are
 * kept, so completed steps are not repeated). *changed (may be NULL) gets the count. */
int store_run_reset_running(struct store *st, int *changed);

/* ---- plug switch-off deadlines (issue 7: plug.c) ------------------------------------------ */

/* One plug that lp0 switched on and must switch off by `deadline` (epoch seconds, wall
 * clock); the pulse began at started_at. Strings are borrowed for the callback. */
struct store_plug_deadline {
  const char *host;
  int port;
  double deadline, started_at, updated_at;
};
/* Inserts or replaces the deadline of host:port. -EINVAL for an empty host, a port
 * outside 1..65535 or a deadline <= 0. */
int store_plug_deadline_set(struct store *st, const char *host, int port, double deadline,
                            double started_at);
/* Deletes the deadline of host:port (no error when there is none). */
int store_plug_deadline_delete(struct store *st, const char *host, int port);
typedef int (*store_plug_deadline_cb)(const struct store_plug_deadline *d, void *ud);
/* Calls cb for every deadline, earliest first. A nonzero cb result stops the listing and
 * is returned. */
int store_plug_deadline_list(struct store *st, store_plug_deadline_cb cb, void *ud);

/* ---- meta (small facts: dedup watermark, instance id) ------------------------------------- */

int store_meta_set(struct store *st, const char *key, const char *value);
/* *value is a new string (free()); -ENOENT when key is unset. */
int store_meta_get(struct store *st, const char *key, char **value);

/* ---- correlation state (correlate.c) -------------------------------------------------- */

/* Saves the state of a group of a stateful pattern (state NULL: deletes it). */
int store_corr_put(struct store *st, const char *detection, const char *group, const char *state);
/* Strings are borrowed for the call; return non-zero to stop (returned). */
typedef int (*store_corr_cb)(const char *detection, const char *group, const char *state, void *ud);
int store_corr_load_all(struct store *st, store_corr_cb cb, void *ud);

#endif

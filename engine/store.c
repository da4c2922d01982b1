/* store.c — the daemon's state in SQLite: schema migrations, prepared statements,
 * batched transactions, and the rows of alerts, windows, tail offsets, story runs and
 * plug switch-off deadlines.
 *
 * Invariants: a struct store is one connection used by one thread; every statement is
 * prepared once at open, reset (and its bindings cleared) before each function returns,
 * and finalised at close. Text is bound SQLITE_STATIC: the caller's buffers outlive the
 * step, because nothing is stepped after a function returns. The database always runs in
 * WAL mode; the schema is whatever the ordered `migrations` below build, applied in one
 * transaction at open, and a database newer than them is refused, never touched.
 * It does not decide what to store or when to commit (the daemon's loop does), does not
 * log (errors go back to the caller; only an impossible close failure is logged), and does
 * not retry: SQLITE_BUSY is absorbed by the busy timeout, then reported.
 * The window (de)serialisation helpers are pure and sit here so that the row format has
 * one owner; they are the only reason this file includes dedup.h (and through it
 * detect.h, which STYLE 2.1 keeps out of store): they can move to their own file without
 * changing the row format.
 * SPDX-License-Identifier: MIT
 */
#include "store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "dedup.h"
#include "json.h"
#include "log.h"
#include "util.h"

#ifndef LP0_VERSION
#define LP0_VERSION "dev"
#endif

#define STORE_APP_ID 0x6c703030 /* "lp00" in PRAGMA application_id: `file` tells it apart */

/* {===================== schema ===================== */

/* Ordered migrations: entry i takes the schema from version i to i + 1. Never edit a
 * released entry; append a new one (docs/store.md, "Migrations"). */
static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE schema_version ("
    "  version INTEGER PRIMARY KEY, applied_at REAL NOT NULL, lp0_version TEXT NOT NULL"
    ") STRICT;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
    "CREATE TABLE alerts ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  detection TEXT NOT NULL, title TEXT NOT NULL, severity TEXT NOT NULL,"
    "  dedup TEXT NOT NULL, log_type TEXT, first_seen REAL, last_seen REAL,"
    "  count INTEGER NOT NULL, alert TEXT NOT NULL, created_at REAL NOT NULL"
    ") STRICT;"
    "CREATE INDEX alerts_created ON alerts(created_at);"
    "CREATE INDEX alerts_detection ON alerts(detection, created_at);"
    "CREATE TABLE windows ("
    "  key TEXT PRIMARY KEY, detection TEXT NOT NULL,"
    "  window_start REAL NOT NULL, window_end REAL NOT NULL,"
    "  first_seen REAL NOT NULL, last_seen REAL NOT NULL,"
    "  count INTEGER NOT NULL, distinct_count INTEGER NOT NULL,"
    "  threshold INTEGER NOT NULL, use_unique INTEGER NOT NULL, alerted INTEGER NOT NULL,"
    "  uniques TEXT NOT NULL, first_match TEXT NOT NULL, updated_at REAL NOT NULL"
    ") STRICT;"
    "CREATE INDEX windows_detection ON windows(detection);"
    "CREATE TABLE tail_offsets ("
    "  path TEXT PRIMARY KEY, dev INTEGER NOT NULL, ino INTEGER NOT NULL,"
    "  byte_offset INTEGER NOT NULL, marker INTEGER NOT NULL, marker_len INTEGER NOT NULL,"
    "  updated_at REAL NOT NULL"
    ") STRICT;"
    "CREATE TABLE story_runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, story TEXT NOT NULL,"
    "  alert_id INTEGER REFERENCES alerts(id) ON DELETE SET NULL,"
    "  state TEXT NOT NULL, attempts INTEGER NOT NULL, last_error TEXT,"
    "  steps TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,"
    "  started_at REAL, finished_at REAL, next_at REAL"
    ") STRICT;"
    "CREATE INDEX story_runs_state ON story_runs(state, next_at);"
    "CREATE INDEX story_runs_alert ON story_runs(alert_id);",
    /* 2: switch-off deadlines of smart plugs (plug.c), so a restart switches them off */
    "CREATE TABLE plug_deadlines ("
    "  host TEXT NOT NULL, port INTEGER NOT NULL, deadline REAL NOT NULL,"
    "  started_at REAL NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (host, port)"
    ") STRICT;",
    /* 3: state of sequences, beacons and entity risk (correlate.c) */
    "CREATE TABLE corr_groups ("
    "  detection TEXT NOT NULL, grp TEXT NOT NULL, state TEXT NOT NULL,"
    "  updated_at REAL NOT NULL, PRIMARY KEY (detection, grp)"
    ") STRICT;",
};
_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION,
               "one migration per schema version");

enum stmt_id {
  S_BEGIN, S_COMMIT, S_ROLLBACK,
  S_ALERT_PUT, S_ALERT_LIST, S_ALERT_GET,
  S_WIN_SAVE, S_WIN_DEL, S_WIN_ALL,
  S_OFF_GET, S_OFF_SET, S_OFF_DEL, S_OFF_LIST,
  S_RUN_INS, S_RUN_UPD, S_RUN_GET, S_RUN_DUE, S_RUN_LIST, S_RUN_RESET,
  S_META_SET, S_META_GET,
  S_PLUG_SET, S_PLUG_DEL, S_PLUG_LIST,
  S_CORR_PUT, S_CORR_DEL, S_CORR_ALL,
  S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_ALERT_PUT] = "INSERT INTO alerts (detection, title, severity, dedup, log_type, first_seen,"
                    " last_seen, count, alert, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [S_ALERT_LIST] = "SELECT id, detection, title, severity, dedup, log_type, first_seen,"
                     " last_seen, count, alert, created_at"
                     " FROM (SELECT * FROM alerts WHERE created_at >= ?1"
                     " ORDER BY id DESC LIMIT ?2) ORDER BY id",
    [S_ALERT_GET] = "SELECT alert FROM alerts WHERE id = ?1",
    [S_WIN_SAVE] = "INSERT OR REPLACE INTO windows (key, detection, window_start, window_end,"
                   " first_seen, last_seen, count, distinct_count, threshold, use_unique, alerted,"
                   " uniques, first_match, updated_at)"
                   " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)",
    [S_WIN_DEL] = "DELETE FROM windows WHERE key = ?1",
    [S_WIN_ALL] = "SELECT key, detection, window_start, window_end, first_seen, last_seen, count,"
                  " distinct_count, threshold, use_unique, alerted, uniques, first_match"
                  " FROM windows ORDER BY window_end, key",
    [S_OFF_GET] = "SELECT dev, ino, byte_offset, marker, marker_len, updated_at"
                  " FROM tail_offsets WHERE path = ?1",
    [S_OFF_SET] = "INSERT OR REPLACE INTO tail_offsets (path, dev, ino, byte_offset, marker,"
                  " marker_len, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7)",
    [S_OFF_DEL] = "DELETE FROM tail_offsets WHERE path = ?1",
    [S_OFF_LIST] = "SELECT path, dev, ino, byte_offset, marker, marker_len, updated_at"
                   " FROM tail_offsets ORDER BY path",
    [S_RUN_INS] = "INSERT INTO story_runs (story, alert_id, state, attempts, steps, created_at,"
                  " updated_at) VALUES (?1, ?2, 'pending', 0, '{}', ?3, ?3)",
    [S_RUN_UPD] = "UPDATE story_runs SET state = COALESCE(?2, state), attempts = ?3,"
                  " last_error = ?4, steps = COALESCE(?5, steps), started_at = ?6,"
                  " finished_at = ?7, next_at = ?8, updated_at = ?9 WHERE id = ?1",
    [S_RUN_GET] = "SELECT id, story, alert_id, state, attempts, last_error, steps, created_at,"
                  " updated_at, started_at, finished_at, next_at FROM story_runs WHERE id = ?1",
    [S_RUN_DUE] = "SELECT id, story, alert_id, state, attempts, last_error, steps, created_at,"
                  " updated_at, started_at, finished_at, next_at FROM story_runs"
                  " WHERE state IN ('pending', 'waiting') AND COALESCE(next_at, 0) <= ?1"
                  " ORDER BY COALESCE(next_at, 0), id LIMIT ?2",
    [S_RUN_LIST] = "SELECT id, story, alert_id, state, attempts, last_error, steps, created_at,"
                   " updated_at, started_at, finished_at, next_at FROM (SELECT * FROM story_runs"
                   " WHERE (?1 = 0 OR state IN ('failed', 'dead', 'waiting'))"
                   " ORDER BY id DESC LIMIT ?2) ORDER BY id",
    [S_RUN_RESET] = "UPDATE story_runs SET state = 'pending', next_at = NULL, updated_at = ?1"
                    " WHERE state = 'running'",
    [S_META_SET] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
    [S_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [S_PLUG_SET] = "INSERT OR REPLACE INTO plug_deadlines (host, port, deadline, started_at,"
                   " updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_CORR_PUT] = "INSERT OR REPLACE INTO corr_groups (detection, grp, state, updated_at)"
                   " VALUES (?1, ?2, ?3, ?4)",
    [S_CORR_DEL] = "DELETE FROM corr_groups WHERE detection = ?1 AND grp = ?2",
    [S_CORR_ALL] = "SELECT detection, grp, state FROM corr_groups ORDER BY detection, grp",
    [S_PLUG_DEL] = "DELETE FROM plug_deadlines WHERE host = ?1 AND port = ?2",
    [S_PLUG_LIST] = "SELECT host, port, deadline, started_at, updated_at FROM plug_deadlines"
                    " ORDER BY deadline, host, port",
};

struct store {
  sqlite3 *db;
  char *path;
  unsigned flags;
  int version;    /* schema version of the open database */
  int busy_ms;
  bool created;   /* this open built the schema from nothing */
  bool in_tx;     /* between store_begin and store_commit/rollback */
  bool tx_lost;   /* SQLite rolled the open transaction back after an error */
  sqlite3_stmt *stmt[S_COUNT];
  char errmsg[1024];
  /* STORE_BG_CHECKPOINT: a second connection, on its own thread, checkpoints the WAL */
  pthread_t ckpt_thread;
  pthread_mutex_t ckpt_lock;
  pthread_cond_t ckpt_wake;
  sqlite3 *ckpt_db;
  bool ckpt_running, ckpt_stop;
};

#define STORE_CHECKPOINT_MS 500 /* how often the checkpoint thread copies the WAL back */

/* }===================== */

/* {===================== errors ===================== */

/* The directory part of path ("." when there is none). New string. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return xstrdup(".");
  if (slash == path) return xstrdup("/");
  return xstrndup(path, (size_t)(slash - path));
}

static int errno_code(int sys, int fallback) { return sys > 0 ? -sys : fallback; }

static int code_of(int rc, int sys) {
  switch (rc & 0xff) {
  case SQLITE_NOMEM: return -ENOMEM;
  case SQLITE_FULL: return -ENOSPC;
  case SQLITE_READONLY: return -EROFS;
  case SQLITE_PERM:
  case SQLITE_AUTH: return -EACCES;
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return -EBUSY;
  case SQLITE_CANTOPEN: return errno_code(sys, -EACCES);
  case SQLITE_CONSTRAINT:
  case SQLITE_MISMATCH:
  case SQLITE_RANGE:
  case SQLITE_TOOBIG:
  case SQLITE_MISUSE: return -EINVAL;
  case SQLITE_NOTADB: return -ENOTSUP;
  default: return -EIO;
  }
}

/* Why the database cannot be created or written, as a phrase in buf, with its errno as
 * the result; 0 (buf untouched) when the directory and the file look writable. */
static int path_problem(const struct store *st, const char *dir, char *buf, size_t n) {
  struct stat sb;
  int e = 0;
  if (stat(dir, &sb) != 0) snprintf(buf, n, "directory %s: %s", dir, strerror(e = errno));
  else if (!S_ISDIR(sb.st_mode)) snprintf(buf, n, "%s is not a directory", dir), e = ENOTDIR;
  else if (access(dir, W_OK | X_OK) != 0)
    snprintf(buf, n, "directory %s is not writable: %s", dir, strerror(e = errno));
  else if (!(st->flags & STORE_READONLY) && access(st->path, F_OK) == 0 &&
           access(st->path, W_OK) != 0)
    snprintf(buf, n, "file %s is not writable: %s", st->path, strerror(e = errno));
  return e;
}

/* Appends to st->errmsg an explanation of rc that SQLite's own text lacks; returns the
 * errno the explanation found (0 when none). */
static int add_hint(struct store *st, int rc, int sys) {
  char *dir = dir_of(st->path);
  char why[512];
  int e = 0;
  size_t len = strlen(st->errmsg);
  char *out = st->errmsg + len;
  size_t room = sizeof st->errmsg - len;
  switch (rc & 0xff) {
  case SQLITE_CANTOPEN:
    if ((e = path_problem(st, dir, why, sizeof why))) snprintf(out, room, " (%s)", why);
    else if (sys > 0) snprintf(out, room, " (%s)", strerror(sys));
    break;
  case SQLITE_READONLY:
  case SQLITE_PERM:
    e = path_problem(st, dir, why, sizeof why);
    snprintf(out, room, " (%s%sWAL mode needs write access to the file and to %s, for %s-wal and"
             " %s-shm)", e ? why : "", e ? "; " : "", dir, st->path, st->path);
    break;
  case SQLITE_FULL:
    snprintf(out, room, " (no space left on the filesystem holding %s, or the database reached"
             " its size limit)", dir);
    break;
  case SQLITE_BUSY:
    snprintf(out, room, " (another connection held the write lock for over %d ms: is a second"
             " lp0 using this state file?)", st->busy_ms);
    break;
  case SQLITE_NOTADB:
    snprintf(out, room, " (not an SQLite file: is this the lp0 state file?)");
    break;
  case SQLITE_IOERR:
    if (sys > 0) snprintf(out, room, " (%s)", strerror(sys));
    break;
  default: break;
  }
  free(dir);
  return e;
}

/* After an error: SQLite rolls a transaction back by itself on some errors (disk full,
 * I/O, out of memory); from then on writes would autocommit one by one, so the
 * transaction is marked lost and refused until store_rollback or store_commit. */
static void note_tx(struct store *st) {
  if (st->in_tx && st->db && sqlite3_get_autocommit(st->db)) st->tx_lost = true;
}

/* Records "<path>: <what>: <sqlite message> (hint)" for the SQLite error rc. */
__attribute__((format(printf, 3, 4))) static int fail(struct store *st, int rc, const char *fmt,
                                                      ...) {
  int sys = st->db ? sqlite3_system_errno(st->db) : 0;
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  const char *msg = st->db && sqlite3_errcode(st->db) == rc ? sqlite3_errmsg(st->db)
                                                             : sqlite3_errstr(rc);
  snprintf(st->errmsg, sizeof st->errmsg, "%s: %s: %s", st->path, what, msg);
  int e = add_hint(st, rc, sys);
  note_tx(st);
  return e ? -e : code_of(rc, sys);
}

/* Records "<path>: <message>" for an error of ours; returns code. */
__attribute__((format(printf, 3, 4))) static int fail_msg(struct store *st, int code,
                                                          const char *fmt, ...) {
  int n = snprintf(st->errmsg, sizeof st->errmsg, "%s: ", st->path);
  va_list ap;
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < sizeof st->errmsg)
    vsnprintf(st->errmsg + n, sizeof st->errmsg - (size_t)n, fmt, ap);
  va_end(ap);
  return code;
}

/* Called first by every operation on the data. */
static int ready(struct store *st) {
  st->errmsg[0] = '\0';
  if (st->tx_lost)
    return fail_msg(st, -EIO, "the open transaction was rolled back after an earlier error;"
                              " call store_rollback before new writes");
  return 0;
}

/* }===================== */

/* {===================== statements ===================== */

static int bind_text(sqlite3_stmt *s, int i, const char *v) {
  return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

static int bind_i64(sqlite3_stmt *s, int i, long long v) { return sqlite3_bind_int64(s, i, v); }
static int bind_dbl(sqlite3_stmt *s, int i, double v) { return sqlite3_bind_double(s, i, v); }
/* 0 means unset: NULL. */
static int bind_time(sqlite3_stmt *s, int i, double v) {
  return v != 0 ? sqlite3_bind_double(s, i, v) : sqlite3_bind_null(s, i);
}

static int64_t u2i(uint64_t v) {
  int64_t r;
  memcpy(&r, &v, sizeof r); /* SQLite integers are signed 64-bit: keep the bits */
  return r;
}

static uint64_t i2u(int64_t v) {
  uint64_t r;
  memcpy(&r, &v, sizeof r);
  return r;
}

static const char *col_text(sqlite3_stmt *s, int i) {
  return (const char *)sqlite3_column_text(s, i);
}

static char *col_dup(sqlite3_stmt *s, int i) {
  const char *t = col_text(s, i);
  return t ? xstrdup(t) : NULL;
}

/* Resets s and clears its bindings. r is the caller's result so far: an error of the
 * reset is reported only when nothing failed before (reset repeats the step's error). */
static int finish(struct store *st, sqlite3_stmt *s, int r, const char *what) {
  int rc = sqlite3_reset(s);
  int rc2 = sqlite3_clear_bindings(s);
  if (r) return r;
  if (rc != SQLITE_OK) return fail(st, rc, "%s", what);
  if (rc2 != SQLITE_OK) return fail(st, rc2, "%s", what);
  return 0;
}

/* Binding failed with rc: report and reset. */
static int bind_failed(struct store *st, sqlite3_stmt *s, int rc, const char *what) {
  return finish(st, s, fail(st, rc, "%s (binding)", what), what);
}

/* Steps a statement that returns no rows, then resets it. */
static int run(struct store *st, sqlite3_stmt *s, const char *what) {
  int rc = sqlite3_step(s);
  int r = rc == SQLITE_DONE ? 0 : fail(st, rc, "%s", what);
  return finish(st, s, r, what);
}

/* Runs SQL text that may hold several statements and returns no rows. */
static int exec_sql(struct store *st, const char *sql, const char *what) {
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : fail(st, rc, "%s", what);
}

/* Runs a one-row, one-column query; *v receives the integer (0 for NULL). */
static int query_int(struct store *st, const char *sql, long long *v, const char *what) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
  if (rc != SQLITE_OK) return fail(st, rc, "%s", what);
  rc = sqlite3_step(s);
  int r = 0;
  if (rc == SQLITE_ROW) *v = sqlite3_column_int64(s, 0);
  else r = fail(st, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "%s", what);
  rc = sqlite3_finalize(s);
  if (!r && rc != SQLITE_OK) r = fail(st, rc, "%s", what);
  return r;
}

/* Runs a one-row query whose first column is text, copied into buf. */
static int query_text(struct store *st, const char *sql, char *buf, size_t n, const char *what) {
  sqlite3_stmt *s = NULL;
  int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
  if (rc != SQLITE_OK) return fail(st, rc, "%s", what);
  rc = sqlite3_step(s);
  int r = 0;
  if (rc == SQLITE_ROW) snprintf(buf, n, "%s", col_text(s, 0) ? col_text(s, 0) : "");
  else r = fail(st, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "%s", what);
  rc = sqlite3_finalize(s);
  if (!r && rc != SQLITE_OK) r = fail(st, rc, "%s", what);
  return r;
}

static int prepare_all(struct store *st) {
  for (int i = 0; i < S_COUNT; i++) {
    int rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                                NULL);
    if (rc != SQLITE_OK) return fail(st, rc, "preparing \"%.60s\"", stmt_sql[i]);
  }
  return 0;
}

/* }===================== */

/* {===================== open, migrations, close ===================== */

/* Reads the schema version; *other is set when the database holds tables but no
 * schema_version (some other program's database). */
static int read_version(struct store *st, long long *version, bool *other) {
  long long n = 0;
  int r = query_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                        " AND name = 'schema_version'", &n, "reading the schema version");
  *version = 0, *other = false;
  if (r) return r;
  if (n)
    return query_int(st, "SELECT COALESCE(MAX(version), 0) FROM schema_version", version,
                     "reading the schema version");
  r = query_int(st, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'", &n,
                "reading the schema");
  *other = n > 0;
  return r;
}

/* Refuses what this binary must not touch. */
static int check_version(struct store *st, long long version, bool other) {
  long long app = 0;
  int r = query_int(st, "PRAGMA application_id", &app, "reading the application id");
  if (r) return r;
  if (app != 0 && app != STORE_APP_ID)
    return fail_msg(st, -ENOTSUP, "not an lp0 state database (application id 0x%08llx); use"
                                  " another state file", app);
  if (other)
    return fail_msg(st, -ENOTSUP, "not an lp0 state database (it holds tables but no"
                                  " schema_version); use another state file");
  if (version > STORE_SCHEMA_VERSION)
    return fail_msg(st, -ENOTSUP, "database schema version %lld is newer than this lp0 (%s)"
                                  " knows (%d): run a newer lp0, or use another state file",
                    version, LP0_VERSION, STORE_SCHEMA_VERSION);
  return 0;
}

static int apply_migrations(struct store *st, long long from) {
  for (long long v = from; v < STORE_SCHEMA_VERSION; v++) {
    int rc = sqlite3_exec(st->db, migrations[v], NULL, NULL, NULL);
    if (rc != SQLITE_OK) return fail(st, rc, "migrating the schema to version %lld", v + 1);
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%lld, %.3f, '%s')", v + 1,
             clk_now(), LP0_VERSION);
    int r = exec_sql(st, sql, "recording the schema version");
    if (r) return r;
  }
  if (from == 0) {
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d", STORE_APP_ID);
    return exec_sql(st, sql, "setting the application id");
  }
  return 0;
}

/* Brings the schema to STORE_SCHEMA_VERSION in one transaction: all or nothing. */
static int migrate(struct store *st) {
  long long version = 0;
  bool other = false;
  int r = exec_sql(st, "BEGIN IMMEDIATE", "starting the schema migration");
  if (r) return r;
  if (!(r = read_version(st, &version, &other)) && !(r = check_version(st, version, other)) &&
      !(r = apply_migrations(st, version)))
    r = exec_sql(st, "COMMIT", "committing the schema migration");
  if (r) {
    if (!sqlite3_get_autocommit(st->db)) {
      /* The first error is the one to report; a failed rollback leaves the file as it was
       * on disk anyway (the transaction never committed). */
      int rc = sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
      if (rc != SQLITE_OK) {
        size_t n = strlen(st->errmsg);
        snprintf(st->errmsg + n, sizeof st->errmsg - n, "; rollback: %s", sqlite3_errstr(rc));
      }
    }
    return r;
  }
  st->created = version == 0;
  st->version = STORE_SCHEMA_VERSION;
  return 0;
}

/* Read-only opens migrate nothing: the schema must be exactly this binary's. */
static int check_readonly(struct store *st) {
  long long version = 0;
  bool other = false;
  int r = read_version(st, &version, &other);
  if (!r) r = check_version(st, version, other);
  if (r) return r;
  if (version == 0)
    return fail_msg(st, -ENOENT, "no lp0 state in this database (it is empty)");
  if (version < STORE_SCHEMA_VERSION)
    return fail_msg(st, -ENOTSUP, "database schema version %lld is older than this lp0's (%d):"
                                  " open it read-write once (lp0 run) to migrate it",
                    version, STORE_SCHEMA_VERSION);
  st->version = (int)version;
  return 0;
}

static int set_pragmas(struct store *st) {
  int rc = sqlite3_busy_timeout(st->db, st->busy_ms);
  if (rc != SQLITE_OK) return fail(st, rc, "setting the busy timeout");
  rc = sqlite3_extended_result_codes(st->db, 1);
  if (rc != SQLITE_OK) return fail(st, rc, "enabling extended result codes");
  int r = exec_sql(st, "PRAGMA foreign_keys = ON", "enabling foreign keys");
  if (r || (st->flags & STORE_READONLY)) return r;
  char mode[32];
  if ((r = query_text(st, "PRAGMA journal_mode = WAL", mode, sizeof mode, "setting WAL mode")))
    return r;
  if (strcmp(mode, "wal") != 0 && strcmp(st->path, ":memory:") != 0)
    return fail_msg(st, -EIO, "cannot use WAL mode (journal mode stays '%s'): the filesystem"
                              " must support shared memory (not a network filesystem)", mode);
  return exec_sql(st, st->flags & STORE_SYNC_FULL ? "PRAGMA synchronous = FULL"
                                                  : "PRAGMA synchronous = NORMAL",
                  "setting synchronous");
}

static int make_dir(struct store *st) {
  char *dir = dir_of(st->path);
  int r = 0;
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    r = fail_msg(st, -errno, "cannot create the directory %s: %s", dir, strerror(errno));
  free(dir);
  return r;
}

/* {===================== background checkpoints ===================== */

/* The main connection's commits only append to the WAL (synchronous=NORMAL: no fsync).
 * Copying the WAL back into the database, which fsyncs, is done here every
 * STORE_CHECKPOINT_MS with PASSIVE checkpoints, which never block the writer; SQLite
 * restarts the WAL from its beginning once a checkpoint caught up with it. */
static void *checkpoint_main(void *arg) {
  struct store *st = arg;
  pthread_mutex_lock(&st->ckpt_lock);
  while (!st->ckpt_stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += STORE_CHECKPOINT_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&st->ckpt_wake, &st->ckpt_lock, &until);
    if (st->ckpt_stop) break;
    pthread_mutex_unlock(&st->ckpt_lock);
    int rc = sqlite3_wal_checkpoint_v2(st->ckpt_db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      log_warn("store: %s: checkpoint: %s", st->path, sqlite3_errstr(rc));
    pthread_mutex_lock(&st->ckpt_lock);
  }
  pthread_mutex_unlock(&st->ckpt_lock);
  return NULL;
}

/* Starts the checkpoint thread; on any failure the main connection keeps SQLite's own
 * automatic checkpoints (correct, only slower in the tail). */
static void start_checkpointer(struct store *st) {
  int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE;
  /* The query makes the new connection read the header: until it has, it does not know
   * the database is in WAL mode and its checkpoints do nothing. */
  if (sqlite3_open_v2(st->path, &st->ckpt_db, oflags, NULL) != SQLITE_OK ||
      sqlite3_busy_timeout(st->ckpt_db, 1000) != SQLITE_OK ||
      sqlite3_exec(st->ckpt_db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) {
    log_warn("store: %s: no checkpoint thread (%s): checkpoints stay in commits", st->path,
             st->ckpt_db ? sqlite3_errmsg(st->ckpt_db) : "out of memory");
    sqlite3_close(st->ckpt_db);
    st->ckpt_db = NULL;
    return;
  }
  pthread_mutex_init(&st->ckpt_lock, NULL);
  pthread_cond_init(&st->ckpt_wake, NULL);
  if (pthread_create(&st->ckpt_thread, NULL, checkpoint_main, st) != 0) {
    log_warn("store: %s: cannot start the checkpoint thread: checkpoints stay in commits",
             st->path);
    pthread_mutex_destroy(&st->ckpt_lock);
    pthread_cond_destroy(&st->ckpt_wake);
    sqlite3_close(st->ckpt_db);
    st->ckpt_db = NULL;
    return;
  }
  st->ckpt_running = true;
  if (exec_sql(st, "PRAGMA wal_autocheckpoint = 0", "moving checkpoints to their thread") != 0)
    log_warn("store: %s: %s", st->path, st->errmsg);
}

static void stop_checkpointer(struct store *st) {
  if (!st->ckpt_running) return;
  pthread_mutex_lock(&st->ckpt_lock);
  st->ckpt_stop = true;
  pthread_cond_signal(&st->ckpt_wake);
  pthread_mutex_unlock(&st->ckpt_lock);
  pthread_join(st->ckpt_thread, NULL);
  pthread_mutex_destroy(&st->ckpt_lock);
  pthread_cond_destroy(&st->ckpt_wake);
  sqlite3_close(st->ckpt_db);
  st->ckpt_db = NULL;
  st->ckpt_running = false;
}

/* }============================================================ */

int store_open(const char *path, unsigned flags, struct store **out, char **errmsg) {
  *out = NULL;
  if (errmsg) *errmsg = NULL;
  if (!path || !*path) {
    if (errmsg) *errmsg = xstrdup("store: empty database path");
    return -EINVAL;
  }
  struct store *st = xcalloc(1, sizeof *st);
  st->path = xstrdup(path);
  st->flags = flags;
  st->busy_ms = STORE_BUSY_TIMEOUT_MS;
  int r = (flags & STORE_MKDIR) && !(flags & STORE_READONLY) ? make_dir(st) : 0;
  if (!r) {
    int oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
                 (flags & STORE_READONLY ? SQLITE_OPEN_READONLY
                                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path, &st->db, oflags, NULL);
    if (rc != SQLITE_OK) r = fail(st, rc, "cannot open the database");
  }
  if (!r) r = set_pragmas(st);
  if (!r) r = flags & STORE_READONLY ? check_readonly(st) : migrate(st);
  if (!r) r = prepare_all(st);
  if (r) {
    if (errmsg) *errmsg = xstrdup(st->errmsg);
    store_close(st);
    return r;
  }
  if ((flags & STORE_BG_CHECKPOINT) && !(flags & STORE_READONLY) && strcmp(path, ":memory:") != 0)
    start_checkpointer(st);
  st->errmsg[0] = '\0';
  *out = st;
  return 0;
}

void store_close(struct store *st) {
  if (!st) return;
  stop_checkpointer(st); /* the main connection's close checkpoints what is left */
  /* Uncommitted work is discarded by design: sqlite3_close rolls back an open
   * transaction, so no explicit ROLLBACK is needed. sqlite3_finalize returns the last
   * error of its statement, which was reported when it happened. */
  for (int i = 0; i < S_COUNT; i++) (void)sqlite3_finalize(st->stmt[i]);
  if (st->db && sqlite3_close(st->db) != SQLITE_OK) {
    /* Only possible with unfinalised statements, which cannot exist here. */
    log_error("store: %s: close: %s", st->path, sqlite3_errmsg(st->db));
  }
  free(st->path);
  free(st);
}

const char *store_errmsg(const struct store *st) { return st->errmsg; }
const char *store_path(const struct store *st) { return st->path; }
int store_schema_version(const struct store *st) { return st->version; }
bool store_created(const struct store *st) { return st->created; }

int store_set_busy_timeout(struct store *st, int ms) {
  int rc = sqlite3_busy_timeout(st->db, ms);
  if (rc != SQLITE_OK) return fail(st, rc, "setting the busy timeout");
  st->busy_ms = ms;
  return 0;
}

/* }===================== */

/* {===================== transactions ===================== */

int store_begin(struct store *st) {
  st->errmsg[0] = '\0';
  if (st->in_tx) return fail_msg(st, -EINVAL, "store_begin: a transaction is already open");
  int r = run(st, st->stmt[S_BEGIN], "beginning a transaction");
  if (!r) st->in_tx = true, st->tx_lost = false;
  return r;
}

/* Ends the transaction state whatever happened to it. */
static void tx_end(struct store *st) { st->in_tx = false, st->tx_lost = false; }

int store_rollback(struct store *st) {
  st->errmsg[0] = '\0';
  if (!st->in_tx) return 0;
  int r = sqlite3_get_autocommit(st->db) ? 0 : run(st, st->stmt[S_ROLLBACK], "rolling back");
  tx_end(st);
  return r;
}

int store_commit(struct store *st) {
  st->errmsg[0] = '\0';
  if (!st->in_tx) return fail_msg(st, -EINVAL, "store_commit: no transaction is open");
  if (st->tx_lost) {
    tx_end(st);
    return fail_msg(st, -EIO, "commit refused: the transaction was rolled back after an"
                              " earlier error, nothing of it is stored");
  }
  int r = run(st, st->stmt[S_COMMIT], "committing");
  if (r && !sqlite3_get_autocommit(st->db)) {
    /* Still open (e.g. SQLITE_BUSY on a checkpoint-less commit, disk full): drop it so
     * the caller's batch is all-or-nothing, and keep the commit's error message. */
    char keep[sizeof st->errmsg];
    memcpy(keep, st->errmsg, sizeof keep);
    if (run(st, st->stmt[S_ROLLBACK], "rolling back after a failed commit") == 0)
      memcpy(st->errmsg, keep, sizeof keep);
  }
  tx_end(st);
  return r;
}

bool store_in_transaction(const struct store *st) { return st->in_tx; }

int store_exec(struct store *st, const char *sql) {
  int r = ready(st);
  return r ? r : exec_sql(st, sql, "exec");
}

/* }===================== */

/* {===================== alerts ===================== */

static const char *obj_str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double obj_time(const cJSON *o, const char *k) {
  const char *s = obj_str(o, k);
  double t = 0;
  if (s && clk_parse(s, strlen(s), &t) != 0) t = 0;
  return t;
}

int store_put_alert(struct store *st, const char *json, size_t len, long long *id) {
  int r = ready(st);
  if (r) return r;
  if (!json || len > INT_MAX) return fail_msg(st, -EINVAL, "alert record missing or too large");
  size_t pos = 0;
  cJSON *o = json_parse(json, len, &pos);
  const char *det = obj_str(o, "detection"), *title = obj_str(o, "title");
  const char *sev = obj_str(o, "severity"), *dedup = obj_str(o, "dedup");
  if (!cJSON_IsObject(o)) {
    r = fail_msg(st, -EINVAL, "alert record is not a JSON object (at byte %zu)", pos);
    goto out;
  }
  if (!det || !title || !sev || !dedup) {
    r = fail_msg(st, -EINVAL, "alert record lacks string %s", !det ? "detection" : !title ? "title"
                                                             : !sev ? "severity" : "dedup");
    goto out;
  }
  const cJSON *count = cJSON_GetObjectItemCaseSensitive(o, "count");
  sqlite3_stmt *s = st->stmt[S_ALERT_PUT];
  int rc;
  if ((rc = bind_text(s, 1, det)) || (rc = bind_text(s, 2, title)) ||
      (rc = bind_text(s, 3, sev)) || (rc = bind_text(s, 4, dedup)) ||
      (rc = bind_text(s, 5, obj_str(o, "log_type"))) ||
      (rc = bind_time(s, 6, obj_time(o, "first_seen"))) ||
      (rc = bind_time(s, 7, obj_time(o, "last_seen"))) ||
      (rc = bind_i64(s, 8, cJSON_IsNumber(count) ? (long long)count->valuedouble : 1)) ||
      (rc = sqlite3_bind_text(s, 9, json, (int)len, SQLITE_STATIC)) ||
      (rc = bind_dbl(s, 10, clk_now()))) {
    r = bind_failed(st, s, rc, "storing an alert");
    goto out;
  }
  if (!(r = run(st, s, "storing an alert")) && id) *id = sqlite3_last_insert_rowid(st->db);
out:
  cJSON_Delete(o);
  return r;
}

int store_list_alerts(struct store *st, double since, long long limit, store_alert_cb cb,
                      void *ud) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_ALERT_LIST];
  int rc;
  if ((rc = bind_dbl(s, 1, since)) || (rc = bind_i64(s, 2, limit > 0 ? limit : -1)))
    return bind_failed(st, s, rc, "listing alerts");
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_alert a = {
        .id = sqlite3_column_int64(s, 0),
        .detection = col_text(s, 1),
        .title = col_text(s, 2),
        .severity = col_text(s, 3),
        .dedup = col_text(s, 4),
        .log_type = col_text(s, 5),
        .first_seen = sqlite3_column_double(s, 6),
        .last_seen = sqlite3_column_double(s, 7),
        .count = sqlite3_column_int64(s, 8),
        .json = col_text(s, 9),
        .json_len = (size_t)sqlite3_column_bytes(s, 9),
        .created_at = sqlite3_column_double(s, 10),
    };
    if (!a.detection || !a.title || !a.severity || !a.dedup || !a.json) {
      rc = SQLITE_NOMEM; /* NOT NULL columns read as NULL: out of memory */
      break;
    }
    if ((r = cb(&a, ud)) != 0) break;
  }
  if (!r && rc != SQLITE_DONE) r = fail(st, rc, "listing alerts");
  int f = finish(st, s, r, "listing alerts");
  return r ? r : f;
}

int store_get_alert_json(struct store *st, long long id, char **json) {
  int r = ready(st);
  *json = NULL;
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_ALERT_GET];
  int rc = bind_i64(s, 1, id);
  if (rc) return bind_failed(st, s, rc, "reading an alert");
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *json = col_dup(s, 0);
  else if (rc == SQLITE_DONE) r = fail_msg(st, -ENOENT, "no alert with id %lld", id);
  else r = fail(st, rc, "reading alert %lld", id);
  int f = finish(st, s, r == -ENOENT ? 0 : r, "reading an alert");
  if ((r || f) && *json) {
    free(*json);
    *json = NULL;
  }
  return r ? r : f;
}

/* }===================== */

/* {===================== windows ===================== */

void store_window_clear(struct store_window *row) {
  free(row->key), free(row->detection), free(row->uniques), free(row->first);
  memset(row, 0, sizeof *row);
}

int store_window_save(struct store *st, const struct store_window *w) {
  int r = ready(st);
  if (r) return r;
  if (!w->key || !w->detection || !w->uniques || !w->first)
    return fail_msg(st, -EINVAL, "window row lacks key, detection, uniques or first match");
  sqlite3_stmt *s = st->stmt[S_WIN_SAVE];
  int rc;
  if ((rc = bind_text(s, 1, w->key)) || (rc = bind_text(s, 2, w->detection)) ||
      (rc = bind_dbl(s, 3, w->start)) || (rc = bind_dbl(s, 4, w->end)) ||
      (rc = bind_dbl(s, 5, w->first_seen)) || (rc = bind_dbl(s, 6, w->last_seen)) ||
      (rc = bind_i64(s, 7, (long long)w->count)) || (rc = bind_i64(s, 8, (long long)w->distinct)) ||
      (rc = bind_i64(s, 9, w->threshold)) || (rc = bind_i64(s, 10, w->use_unique)) ||
      (rc = bind_i64(s, 11, w->alerted)) || (rc = bind_text(s, 12, w->uniques)) ||
      (rc = bind_text(s, 13, w->first)) || (rc = bind_dbl(s, 14, clk_now())))
    return bind_failed(st, s, rc, "saving a window");
  return run(st, s, "saving a window");
}

int store_window_delete(struct store *st, const char *key) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_WIN_DEL];
  int rc = bind_text(s, 1, key);
  if (rc) return bind_failed(st, s, rc, "deleting a window");
  return run(st, s, "deleting a window");
}

int store_window_load_all(struct store *st, store_window_cb cb, void *ud) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_WIN_ALL];
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_window w = {
        .key = col_dup(s, 0),
        .detection = col_dup(s, 1),
        .start = sqlite3_column_double(s, 2),
        .end = sqlite3_column_double(s, 3),
        .first_seen = sqlite3_column_double(s, 4),
        .last_seen = sqlite3_column_double(s, 5),
        .count = (unsigned long long)sqlite3_column_int64(s, 6),
        .distinct = (size_t)sqlite3_column_int64(s, 7),
        .threshold = sqlite3_column_int(s, 8),
        .use_unique = sqlite3_column_int(s, 9) != 0,
        .alerted = sqlite3_column_int(s, 10) != 0,
        .uniques = col_dup(s, 11),
        .first = col_dup(s, 12),
    };
    if (!w.key || !w.detection || !w.uniques || !w.first) rc = SQLITE_NOMEM;
    else r = cb(&w, ud);
    store_window_clear(&w);
    if (r || rc != SQLITE_ROW) break;
  }
  if (!r && rc != SQLITE_DONE) r = fail(st, rc, "loading windows");
  int f = finish(st, s, r, "loading windows");
  return r ? r : f;
}

char *store_window_key(const char *det_id, const char *dedup) {
  return xasprintf("%s\x1f%s", det_id, dedup ? dedup : "");
}

/* Adds text under k: as parsed JSON when it parses, else as a string under k + "_text"
 * (the engine's JSON texts always parse; this keeps a bad one from poisoning the row). */
static void add_json_text(cJSON *o, const char *k, const char *text) {
  if (!text) return;
  cJSON *v = json_parse(text, strlen(text), NULL);
  if (v && cJSON_AddItemToObject(o, k, v)) return;
  cJSON_Delete(v);
  char name[32];
  snprintf(name, sizeof name, "%s_text", k);
  cJSON_AddStringToObject(o, name, text);
}

static void add_str(cJSON *o, const char *k, const char *v) {
  if (v) cJSON_AddStringToObject(o, k, v);
}

char *store_match_to_json(const struct det_match *m) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  char seq[24];
  snprintf(seq, sizeof seq, "%llu", m->seq);
  add_str(o, "title", m->title);
  add_str(o, "severity", det_sev_name(m->severity));
  add_str(o, "dedup", m->dedup);
  add_str(o, "unique", m->unique);
  add_str(o, "log_type", m->log_type);
  cJSON_AddNumberToObject(o, "time", m->time);
  add_str(o, "seq", seq); /* a string: sequence numbers exceed 2^53 */
  add_json_text(o, "context", m->context);
  add_str(o, "description", m->description);
  add_str(o, "runbook", m->runbook);
  add_str(o, "reference", m->reference);
  add_json_text(o, "destinations", m->destinations);
  add_json_text(o, "event", m->event);
  char *s = json_print(o);
  cJSON_Delete(o);
  return s;
}

static char *get_str(const cJSON *o, const char *k) {
  const char *s = obj_str(o, k);
  return s ? xstrdup(s) : NULL;
}

/* The JSON text stored under k (or k + "_text"), as a new string, or NULL. */
static char *get_json_text(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (v) return json_print(v);
  char name[32];
  snprintf(name, sizeof name, "%s_text", k);
  return get_str(o, name);
}

struct det_match *store_match_from_json(const char *json, int det_index, const char *log_type) {
  cJSON *o = json ? json_parse(json, strlen(json), NULL) : NULL;
  const cJSON *time = cJSON_GetObjectItemCaseSensitive(o, "time");
  const char *sev = obj_str(o, "severity"), *seq = obj_str(o, "seq");
  struct det_match *m = NULL;
  if (!cJSON_IsObject(o) || !cJSON_IsNumber(time) || !sev || det_sev_parse(sev) < 0 || !seq ||
      !obj_str(o, "title") || !obj_str(o, "dedup"))
    goto out;
  m = xcalloc(1, sizeof *m);
  m->det = det_index;
  m->severity = det_sev_parse(sev);
  m->title = get_str(o, "title");
  m->dedup = get_str(o, "dedup");
  m->unique = get_str(o, "unique");
  m->context = get_json_text(o, "context");
  m->description = get_str(o, "description");
  m->runbook = get_str(o, "runbook");
  m->reference = get_str(o, "reference");
  m->destinations = get_json_text(o, "destinations");
  m->time = time->valuedouble;
  m->seq = strtoull(seq, NULL, 10);
  m->event = get_json_text(o, "event");
  m->log_type = log_type;
out:
  cJSON_Delete(o);
  return m;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The window's unique values as a sorted JSON array (sorted: the same window always
 * gives the same bytes). NULL when cJSON runs out of memory. */
static char *uniques_to_json(const struct hmap *u) {
  const char **keys = xcalloc(u->len ? u->len : 1, sizeof *keys);
  size_t n = 0;
  for (size_t i = 0; i < u->cap && n < u->len; i++)
    if (u->slots[i].key) keys[n++] = u->slots[i].key;
  qsort(keys, n, sizeof *keys, cmp_str);
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; a && i < n; i++) {
    cJSON *s = cJSON_CreateString(keys[i]);
    if (!s || !cJSON_AddItemToArray(a, s)) {
      cJSON_Delete(s);
      cJSON_Delete(a);
      a = NULL;
    }
  }
  free(keys);
  char *out = a ? json_print(a) : NULL;
  cJSON_Delete(a);
  return out;
}

int store_window_from_dedup(struct store *st, const struct dedup_window *w, const char *det_id,
                            struct store_window *row) {
  memset(row, 0, sizeof *row);
  st->errmsg[0] = '\0';
  if (!w->first || !det_id) return fail_msg(st, -EINVAL, "window without first match or id");
  row->key = store_window_key(det_id, w->first->dedup);
  row->detection = xstrdup(det_id);
  row->start = w->start, row->end = w->end;
  row->first_seen = w->first_seen, row->last_seen = w->last_seen;
  row->count = w->count, row->distinct = w->distinct;
  row->threshold = w->threshold;
  row->use_unique = w->use_unique, row->alerted = w->alerted;
  row->uniques = uniques_to_json(&w->uniques);
  row->first = store_match_to_json(w->first);
  if (!row->uniques || !row->first) {
    store_window_clear(row);
    return fail_msg(st, -ENOMEM, "out of memory serialising window of %s", det_id);
  }
  return 0;
}

static int load_uniques(struct hmap *u, const char *json) {
  cJSON *a = json_parse(json, strlen(json), NULL);
  int r = cJSON_IsArray(a) ? 0 : -EINVAL;
  for (const cJSON *v = a ? a->child : NULL; !r && v; v = v->next) {
    if (!cJSON_IsString(v)) r = -EINVAL;
    else *hmap_put(u, v->valuestring, strlen(v->valuestring)) = (void *)1;
  }
  cJSON_Delete(a);
  return r;
}

void store_window_free_dedup(struct dedup_window *w) {
  if (!w) return;
  hmap_free(&w->uniques);
  det_match_free(w->first);
  free(w->key);
  free(w);
}

int store_window_to_dedup(struct store *st, const struct store_window *row, int det_index,
                          const char *log_type, struct dedup_window **out) {
  *out = NULL;
  st->errmsg[0] = '\0';
  struct dedup_window *w = xcalloc(1, sizeof *w);
  hmap_init(&w->uniques);
  w->first = store_match_from_json(row->first, det_index, log_type);
  if (!w->first) {
    store_window_free_dedup(w);
    return fail_msg(st, -EINVAL, "window %s: malformed first match", row->detection);
  }
  if (load_uniques(&w->uniques, row->uniques ? row->uniques : "[]") != 0) {
    store_window_free_dedup(w);
    return fail_msg(st, -EINVAL, "window %s: uniques is not an array of strings", row->detection);
  }
  /* The in-memory key of dedup.c: detection index, unit separator, dedup string. */
  w->key = xasprintf("%d\x1f%s", det_index, w->first->dedup);
  w->det = det_index;
  w->start = row->start, w->end = row->end;
  w->first_seen = row->first_seen, w->last_seen = row->last_seen;
  w->count = row->count, w->distinct = row->distinct;
  w->threshold = row->threshold;
  w->use_unique = row->use_unique, w->alerted = row->alerted;
  *out = w;
  return 0;
}

int store_window_put(struct store *st, const struct dedup_window *w, const char *det_id) {
  struct store_window row;
  int r = store_window_from_dedup(st, w, det_id, &row);
  if (r) return r;
  r = store_window_save(st, &row);
  store_window_clear(&row);
  return r;
}

/* }===================== */

/* {===================== tail offsets ===================== */

static void read_offset(sqlite3_stmt *s, int c, struct store_offset *o) {
  o->dev = i2u(sqlite3_column_int64(s, c));
  o->ino = i2u(sqlite3_column_int64(s, c + 1));
  o->offset = sqlite3_column_int64(s, c + 2);
  o->marker = i2u(sqlite3_column_int64(s, c + 3));
  o->marker_len = (uint32_t)sqlite3_column_int64(s, c + 4);
  o->updated_at = sqlite3_column_double(s, c + 5);
}

int store_offset_get(struct store *st, const char *path, struct store_offset *out) {
  int r = ready(st);
  if (r) return r;
  memset(out, 0, sizeof *out);
  sqlite3_stmt *s = st->stmt[S_OFF_GET];
  int rc = bind_text(s, 1, path);
  if (rc) return bind_failed(st, s, rc, "reading a tail offset");
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) read_offset(s, 0, out);
  else if (rc == SQLITE_DONE) r = -ENOENT;
  else r = fail(st, rc, "reading the tail offset of %s", path);
  int f = finish(st, s, r == -ENOENT ? 0 : r, "reading a tail offset");
  return r ? r : f;
}

int store_offset_set(struct store *st, const char *path, const struct store_offset *o) {
  int r = ready(st);
  if (r) return r;
  if (!path || o->offset < 0) return fail_msg(st, -EINVAL, "tail offset: bad path or offset");
  sqlite3_stmt *s = st->stmt[S_OFF_SET];
  int rc;
  if ((rc = bind_text(s, 1, path)) || (rc = bind_i64(s, 2, u2i(o->dev))) ||
      (rc = bind_i64(s, 3, u2i(o->ino))) || (rc = bind_i64(s, 4, o->offset)) ||
      (rc = bind_i64(s, 5, u2i(o->marker))) || (rc = bind_i64(s, 6, o->marker_len)) ||
      (rc = bind_dbl(s, 7, clk_now())))
    return bind_failed(st, s, rc, "saving a tail offset");
  return run(st, s, "saving a tail offset");
}

int store_offset_delete(struct store *st, const char *path) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_OFF_DEL];
  int rc = bind_text(s, 1, path);
  if (rc) return bind_failed(st, s, rc, "deleting a tail offset");
  return run(st, s, "deleting a tail offset");
}

int store_offset_list(struct store *st, store_offset_cb cb, void *ud) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_OFF_LIST];
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_offset o;
    const char *path = col_text(s, 0);
    if (!path) {
      rc = SQLITE_NOMEM;
      break;
    }
    read_offset(s, 1, &o);
    if ((r = cb(path, &o, ud)) != 0) break;
  }
  if (!r && rc != SQLITE_DONE) r = fail(st, rc, "listing tail offsets");
  int f = finish(st, s, r, "listing tail offsets");
  return r ? r : f;
}

/* }===================== */

/* {===================== story runs ===================== */

void store_run_clear(struct store_run *r) {
  free(r->story), free(r->state), free(r->last_error), free(r->steps);
  memset(r, 0, sizeof *r);
}

static int bind_alert_id(sqlite3_stmt *s, int i, long long id) {
  return id > 0 ? sqlite3_bind_int64(s, i, id) : sqlite3_bind_null(s, i);
}

int store_run_insert(struct store *st, const char *story, long long alert_id, long long *id) {
  int r = ready(st);
  if (r) return r;
  if (!story || !*story) return fail_msg(st, -EINVAL, "story run without a story name");
  sqlite3_stmt *s = st->stmt[S_RUN_INS];
  int rc;
  if ((rc = bind_text(s, 1, story)) || (rc = bind_alert_id(s, 2, alert_id)) ||
      (rc = bind_dbl(s, 3, clk_now())))
    return bind_failed(st, s, rc, "recording a story run");
  if (!(r = run(st, s, "recording a story run")) && id) *id = sqlite3_last_insert_rowid(st->db);
  return r;
}

int store_run_update(struct store *st, const struct store_run *run_) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_RUN_UPD];
  int rc;
  if ((rc = bind_i64(s, 1, run_->id)) || (rc = bind_text(s, 2, run_->state)) ||
      (rc = bind_i64(s, 3, run_->attempts)) || (rc = bind_text(s, 4, run_->last_error)) ||
      (rc = bind_text(s, 5, run_->steps)) || (rc = bind_time(s, 6, run_->started_at)) ||
      (rc = bind_time(s, 7, run_->finished_at)) || (rc = bind_time(s, 8, run_->next_at)) ||
      (rc = bind_dbl(s, 9, clk_now())))
    return bind_failed(st, s, rc, "updating a story run");
  if ((r = run(st, s, "updating a story run"))) return r;
  if (sqlite3_changes(st->db) == 0)
    return fail_msg(st, -ENOENT, "no story run with id %lld", run_->id);
  return 0;
}

static void run_from_row(sqlite3_stmt *s, struct store_run *out) {
  out->id = sqlite3_column_int64(s, 0);
  out->story = col_dup(s, 1);
  out->alert_id = sqlite3_column_int64(s, 2);
  out->state = col_dup(s, 3);
  out->attempts = sqlite3_column_int(s, 4);
  out->last_error = col_dup(s, 5);
  out->steps = col_dup(s, 6);
  out->created_at = sqlite3_column_double(s, 7);
  out->updated_at = sqlite3_column_double(s, 8);
  out->started_at = sqlite3_column_double(s, 9);
  out->finished_at = sqlite3_column_double(s, 10);
  out->next_at = sqlite3_column_double(s, 11);
}

/* Steps through a story_runs query, one struct store_run per row. */
static int run_rows(struct store *st, sqlite3_stmt *s, store_run_cb cb, void *ud, const char *what) {
  int rc, r = 0;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_run row = {0};
    run_from_row(s, &row);
    r = cb(&row, ud);
    store_run_clear(&row);
    if (r) break;
  }
  if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW) r = fail(st, rc, "%s", what);
  int f = finish(st, s, r, what);
  return r ? r : f;
}

int store_run_due(struct store *st, double now, long long limit, store_run_cb cb, void *ud) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_RUN_DUE];
  int rc;
  if ((rc = bind_dbl(s, 1, now)) || (rc = bind_i64(s, 2, limit > 0 ? limit : -1)))
    return bind_failed(st, s, rc, "listing due story runs");
  return run_rows(st, s, cb, ud, "listing due story runs");
}

int store_run_list(struct store *st, bool failed_only, long long limit, store_run_cb cb, void *ud) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_RUN_LIST];
  int rc;
  if ((rc = bind_i64(s, 1, failed_only)) || (rc = bind_i64(s, 2, limit > 0 ? limit : -1)))
    return bind_failed(st, s, rc, "listing story runs");
  return run_rows(st, s, cb, ud, "listing story runs");
}

int store_run_reset_running(struct store *st, int *changed) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_RUN_RESET];
  int rc = bind_dbl(s, 1, clk_now());
  if (rc) return bind_failed(st, s, rc, "requeueing interrupted story runs");
  if ((r = run(st, s, "requeueing interrupted story runs"))) return r;
  if (changed) *changed = sqlite3_changes(st->db);
  return 0;
}

int store_run_get(struct store *st, long long id, struct store_run *out) {
  int r = ready(st);
  if (r) return r;
  memset(out, 0, sizeof *out);
  sqlite3_stmt *s = st->stmt[S_RUN_GET];
  int rc = bind_i64(s, 1, id);
  if (rc) return bind_failed(st, s, rc, "reading a story run");
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    run_from_row(s, out);
  } else if (rc == SQLITE_DONE) {
    r = fail_msg(st, -ENOENT, "no story run with id %lld", id);
  } else {
    r = fail(st, rc, "reading story run %lld", id);
  }
  int f = finish(st, s, r == -ENOENT ? 0 : r, "reading a story run");
  if (r || f) store_run_clear(out);
  return r ? r : f;
}

/* }===================== */

/* {===================== meta ===================== */

int store_meta_set(struct store *st, const char *key, const char *value) {
  int r = ready(st);
  if (r) return r;
  if (!key || !value) return fail_msg(st, -EINVAL, "meta: key and value are required");
  sqlite3_stmt *s = st->stmt[S_META_SET];
  int rc;
  if ((rc = bind_text(s, 1, key)) || (rc = bind_text(s, 2, value)))
    return bind_failed(st, s, rc, "setting a meta value");
  return run(st, s, "setting a meta value");
}

int store_meta_get(struct store *st, const char *key, char **value) {
  int r = ready(st);
  *value = NULL;
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_META_GET];
  int rc = bind_text(s, 1, key);
  if (rc) return bind_failed(st, s, rc, "reading a meta value");
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) *value = col_dup(s, 0);
  else if (rc == SQLITE_DONE) r = -ENOENT;
  else r = fail(st, rc, "reading meta value %s", key);
  int f = finish(st, s, r == -ENOENT ? 0 : r, "reading a meta value");
  if (f && !r) {
    free(*value);
    *value = NULL;
  }
  return r ? r : f;
}

/* }===================== */

/* {===================== plug deadlines ===================== */

int store_plug_deadline_set(struct store *st, const char *host, int port, double deadline,
                            double started_at) {
  int r = ready(st);
  if (r) return r;
  if (!host || !*host || port < 1 || port > 65535 || !(deadline > 0))
    return fail_msg(st, -EINVAL, "plug deadline: bad host, port or deadline");
  sqlite3_stmt *s = st->stmt[S_PLUG_SET];
  int rc;
  if ((rc = bind_text(s, 1, host)) || (rc = bind_i64(s, 2, port)) ||
      (rc = bind_dbl(s, 3, deadline)) || (rc = bind_dbl(s, 4, started_at)) ||
      (rc = bind_dbl(s, 5, clk_now())))
    return bind_failed(st, s, rc, "saving a plug deadline");
  return run(st, s, "saving a plug deadline");
}

int store_plug_deadline_delete(struct store *st, const char *host, int port) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_PLUG_DEL];
  int rc;
  if ((rc = bind_text(s, 1, host)) || (rc = bind_i64(s, 2, port)))
    return bind_failed(st, s, rc, "deleting a plug deadline");
  return run(st, s, "deleting a plug deadline");
}

int store_plug_deadline_list(struct store *st, store_plug_deadline_cb cb, void *ud) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_PLUG_LIST];
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_plug_deadline d = {
        .host = col_text(s, 0),
        .port = sqlite3_column_int(s, 1),
        .deadline = sqlite3_column_double(s, 2),
        .started_at = sqlite3_column_double(s, 3),
        .updated_at = sqlite3_column_double(s, 4),
    };
    if (!d.host) {
      rc = SQLITE_NOMEM;
      break;
    }
    if ((r = cb(&d, ud)) != 0) break;
  }
  if (!r && rc != SQLITE_DONE) r = fail(st, rc, "listing plug deadlines");
  int f = finish(st, s, r, "listing plug deadlines");
  return r ? r : f;
}

/* }===================== */

/* {===================== correlation state ===================== */

int store_corr_put(struct store *st, const char *detection, const char *group, const char *state) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[state ? S_CORR_PUT : S_CORR_DEL];
  int rc;
  if ((rc = bind_text(s, 1, detection)) || (rc = bind_text(s, 2, group)) ||
      (state && ((rc = bind_text(s, 3, state)) || (rc = bind_dbl(s, 4, clk_now())))))
    return bind_failed(st, s, rc, "saving correlation state");
  return run(st, s, "saving correlation state");
}

int store_corr_load_all(struct store *st, store_corr_cb cb, void *ud) {
  int r = ready(st);
  if (r) return r;
  sqlite3_stmt *s = st->stmt[S_CORR_ALL];
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char *det = col_text(s, 0), *grp = col_text(s, 1), *state = col_text(s, 2);
    if (!det || !grp || !state) {
      rc = SQLITE_NOMEM;
      break;
    }
    if ((r = cb(det, grp, state, ud)) != 0) break;
  }
  if (!r && rc != SQLITE_DONE) r = fail(st, rc, "reading correlation state");
  int f = finish(st, s, r, "reading correlation state");
  return r ? r : f;
}

/* }===================== */


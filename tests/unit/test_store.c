/* Unit tests of store.c: schema creation and migrations, refusals, the rows of every
 * table, transactions (including a crashed writer), lock waits and error messages. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "dedup.h"
#include "store.h"
#include "util.h"

#define ASSERT_CONTAINS(hay, needle)                                                     \
  do {                                                                                   \
    const char *h_ = (hay), *n_ = (needle);                                              \
    check_count++;                                                                       \
    if (!h_ || !strstr(h_, n_)) CHECK_FAIL("\"%s\" lacks \"%s\"", h_ ? h_ : "(null)", n_); \
  } while (0)

static char *tmp_root;

static char *tmp_path(const char *name) { return xasprintf("%s/%s", tmp_root, name); }

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

/* Opens path read-write, asserting success; the test aborts on failure (nothing else
 * could run). */
static struct store *open_ok(const char *path, unsigned flags) {
  struct store *st = NULL;
  char *msg = NULL;
  int rc = store_open(path, flags, &st, &msg);
  if (rc != 0) {
    fprintf(stderr, "store_open(%s): %d %s\n", path, rc, msg ? msg : "");
    exit(2);
  }
  free(msg);
  return st;
}

/* Runs sql on a separate raw connection (what another program would do to the file). */
static void raw_exec(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open(path, &db);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  if (rc != SQLITE_OK) CHECK_FAIL("raw_exec %s: %s", sql, sqlite3_errmsg(db));
  sqlite3_close(db);
}

static long long raw_int(const char *path, const char *sql) {
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  long long v = -1;
  if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

static const char *ALERT1 =
    "{\"detection\":\"AWS.Console.RootLogin\",\"title\":\"AWS root login\",\"severity\":\"HIGH\","
    "\"dedup\":\"198.51.100.23\",\"log_type\":\"AWS.CloudTrail\",\"first_seen\":\"2024-10-31T08:10:00Z\","
    "\"last_seen\":\"2024-10-31T08:12:30.500Z\",\"count\":3,\"context\":{\"a\":1},\"event\":{\"x\":[1,2]}}";

static long long put_alert(struct store *st, const char *det, const char *title) {
  char *json = xasprintf("{\"detection\":\"%s\",\"title\":\"%s\",\"severity\":\"LOW\",\"dedup\":\"d\","
                         "\"count\":1}", det, title);
  long long id = 0;
  int rc = store_put_alert(st, json, strlen(json), &id);
  if (rc) CHECK_FAIL("store_put_alert: %d %s", rc, store_errmsg(st));
  free(json);
  return id;
}

struct alerts {
  int n;
  long long ids[16];
  char titles[16][64];
  int stop_at; /* stop (return 7) when n reaches it; 0 = never */
};

static int collect_alert(const struct store_alert *a, void *ud) {
  struct alerts *c = ud;
  if (c->n < 16) {
    c->ids[c->n] = a->id;
    snprintf(c->titles[c->n], sizeof c->titles[0], "%s", a->title);
  }
  c->n++;
  return c->stop_at && c->n == c->stop_at ? 7 : 0;
}

static int count_alerts(struct store *st) {
  struct alerts c = {0};
  int rc = store_list_alerts(st, 0, 0, collect_alert, &c);
  if (rc) CHECK_FAIL("store_list_alerts: %d %s", rc, store_errmsg(st));
  return c.n;
}

/* {===================== open, migrations, refusals ===================== */

static void test_create(void) {
  char *path = tmp_path("new/lp0.db");
  struct store *st = NULL;
  char *msg = NULL;
  /* without STORE_MKDIR a missing directory is an error naming it */
  ASSERT_EQ_INT(store_open(path, 0, &st, &msg), -ENOENT);
  ASSERT_TRUE(st == NULL);
  ASSERT_CONTAINS(msg, path);
  ASSERT_CONTAINS(msg, "No such file or directory");
  free(msg);

  st = open_ok(path, STORE_MKDIR);
  ASSERT_TRUE(store_created(st));
  ASSERT_EQ_INT(store_schema_version(st), STORE_SCHEMA_VERSION);
  ASSERT_EQ_STR(store_path(st), path);
  ASSERT_EQ_STR(store_errmsg(st), "");
  char *wal = xasprintf("%s-wal", path);
  ASSERT_TRUE(access(wal, F_OK) == 0); /* WAL mode */
  store_close(st);
  st = open_ok(path, STORE_SYNC_FULL);
  ASSERT_TRUE(!store_created(st));
  ASSERT_EQ_INT(store_set_busy_timeout(st, 10), 0);
  store_close(st);
  char *mode = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  if (sqlite3_open(path, &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW)
    mode = xstrdup((const char *)sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
  ASSERT_EQ_STR(mode, "wal"); /* persistent in the file */
  ASSERT_EQ_INT(raw_int(path, "PRAGMA application_id"), 0x6c703030);
  free(mode);
  free(wal);
  free(path);
}

static void test_empty_file(void) {
  char *path = tmp_path("empty.db");
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  ASSERT_TRUE(fd >= 0);
  if (fd >= 0) close(fd);
  struct store *st = open_ok(path, 0);
  ASSERT_TRUE(store_created(st));
  ASSERT_EQ_INT(store_schema_version(st), STORE_SCHEMA_VERSION);
  ASSERT_EQ_INT(put_alert(st, "D", "t"), 1);
  store_close(st);
  ASSERT_EQ_INT(raw_int(path, "SELECT count(*) FROM schema_version"), STORE_SCHEMA_VERSION);
  ASSERT_EQ_INT(raw_int(path, "SELECT max(version) FROM schema_version"), STORE_SCHEMA_VERSION);
  ASSERT_EQ_INT(raw_int(path, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN"
                              " ('alerts','windows','tail_offsets','story_runs','meta')"), 5);
  free(path);
}

static void test_future_version(void) {
  char *path = tmp_path("future.db");
  store_close(open_ok(path, 0));
  raw_exec(path, "INSERT INTO schema_version VALUES (99, 0, 'from the future')");
  struct store *st = NULL;
  char *msg = NULL;
  ASSERT_EQ_INT(store_open(path, 0, &st, &msg), -ENOTSUP);
  ASSERT_TRUE(st == NULL);
  ASSERT_CONTAINS(msg, path);
  ASSERT_CONTAINS(msg, "schema version 99 is newer");
  free(msg);
  ASSERT_EQ_INT(store_open(path, STORE_READONLY, &st, &msg), -ENOTSUP);
  ASSERT_CONTAINS(msg, "newer");
  free(msg);
  /* refused, not touched: no migration ran, the rows are as they were */
  ASSERT_EQ_INT(raw_int(path, "SELECT count(*) FROM schema_version"), STORE_SCHEMA_VERSION + 1);
  free(path);
}

static void test_foreign_files(void) {
  char *path = tmp_path("other.db");
  raw_exec(path, "CREATE TABLE users (name TEXT)");
  struct store *st = NULL;
  char *msg = NULL;
  ASSERT_EQ_INT(store_open(path, 0, &st, &msg), -ENOTSUP);
  ASSERT_CONTAINS(msg, "not an lp0 state database");
  free(msg);
  free(path);

  path = tmp_path("garbage.db");
  FILE *f = fopen(path, "w");
  for (int i = 0; f && i < 200; i++) fputs("this is not sqlite at all\n", f);
  if (f) fclose(f);
  int rc = store_open(path, 0, &st, &msg);
  ASSERT_TRUE(rc < 0);
  ASSERT_CONTAINS(msg, path);
  ASSERT_CONTAINS(msg, "not a database");
  free(msg);
  free(path);

  /* read-only opens migrate nothing: a missing or empty database is an error */
  path = tmp_path("missing.db");
  ASSERT_EQ_INT(store_open(path, STORE_READONLY, &st, &msg), -ENOENT);
  ASSERT_CONTAINS(msg, path);
  free(msg);
  ASSERT_TRUE(access(path, F_OK) != 0);
  free(path);
  ASSERT_EQ_INT(store_open("", 0, &st, &msg), -EINVAL);
  free(msg);
}

/* Child process body: opening in a directory nobody may write. Returns failures. */
static int unwritable_child(const char *rodir, const char *rodb) {
  check_failures = 0; /* count this process's failures only */
  if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) return 100;
  struct store *st = NULL;
  char *msg = NULL;
  char *path = xasprintf("%s/lp0.db", rodir);
  int rc = store_open(path, 0, &st, &msg);
  ASSERT_EQ_INT(rc, -EACCES);
  ASSERT_TRUE(st == NULL);
  ASSERT_CONTAINS(msg, path);
  ASSERT_CONTAINS(msg, "not writable");
  free(msg);
  free(path);
  /* an existing database in a read-only directory: WAL needs its -wal and -shm files */
  rc = store_open(rodb, 0, &st, &msg);
  ASSERT_EQ_INT(rc, -EACCES);
  ASSERT_CONTAINS(msg, rodb);
  ASSERT_CONTAINS(msg, "not writable");
  ASSERT_CONTAINS(msg, "WAL mode needs write access");
  free(msg);
  store_close(st);
  return check_failures;
}

/* Paths that live across fork are static: memory checkers then see them as reachable
 * in the child. */
static char ro_dir[512], ro_db[600];

static void test_unwritable(void) {
  /* a path below a regular file */
  char *file = tmp_path("plainfile");
  FILE *f = fopen(file, "w");
  if (f) fclose(f);
  char *path = xasprintf("%s/lp0.db", file);
  struct store *st = NULL;
  char *msg = NULL;
  ASSERT_EQ_INT(store_open(path, 0, &st, &msg), -ENOTDIR);
  ASSERT_CONTAINS(msg, path);
  ASSERT_CONTAINS(msg, "is not a directory");
  free(msg);
  ASSERT_TRUE(store_open(path, STORE_MKDIR, &st, &msg) < 0);
  ASSERT_CONTAINS(msg, "is not a directory");
  free(msg);
  char *deep = xasprintf("%s/sub/lp0.db", file);
  ASSERT_EQ_INT(store_open(deep, STORE_MKDIR, &st, &msg), -ENOTDIR);
  ASSERT_CONTAINS(msg, "cannot create the directory");
  free(deep);
  free(msg);
  free(path);
  free(file);

  /* read-only directories, checked as an unprivileged user (root writes anywhere) */
  char ro_dir2[512];
  snprintf(ro_dir, sizeof ro_dir, "%s/ro", tmp_root);
  snprintf(ro_dir2, sizeof ro_dir2, "%s/ro2", tmp_root);
  snprintf(ro_db, sizeof ro_db, "%s/lp0.db", ro_dir2);
  ASSERT_TRUE(mkdir(ro_dir, 0555) == 0 && mkdir(ro_dir2, 0755) == 0);
  store_close(open_ok(ro_db, 0));
  ASSERT_TRUE(chmod(ro_db, 0666) == 0 && chmod(ro_dir2, 0555) == 0 && chmod(ro_dir, 0555) == 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) _exit(unwritable_child(ro_dir, ro_db));
  int status = 0;
  ASSERT_TRUE(pid > 0 && waitpid(pid, &status, 0) == pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ_INT(WEXITSTATUS(status), 0);
  ASSERT_TRUE(chmod(ro_dir2, 0755) == 0);
}

/* }===================== */

/* {===================== alerts ===================== */

static int check_alert1(const struct store_alert *a, void *ud) {
  int *seen = ud;
  if ((*seen)++) return 0; /* the first one only */
  ASSERT_EQ_INT(a->id, 1);
  ASSERT_EQ_STR(a->detection, "AWS.Console.RootLogin");
  ASSERT_EQ_STR(a->title, "AWS root login");
  ASSERT_EQ_STR(a->severity, "HIGH");
  ASSERT_EQ_STR(a->dedup, "198.51.100.23");
  ASSERT_EQ_STR(a->log_type, "AWS.CloudTrail");
  ASSERT_EQ_DBL(a->first_seen, 1730362200.0);
  ASSERT_EQ_DBL(a->last_seen, 1730362350.5);
  ASSERT_EQ_INT(a->count, 3);
  ASSERT_EQ_INT(a->json_len, strlen(ALERT1));
  ASSERT_EQ_STR(a->json, ALERT1); /* kept byte for byte */
  ASSERT_TRUE(a->created_at > 1.6e9);
  return 0;
}

static void test_alerts(void) {
  char *path = tmp_path("alerts.db");
  struct store *st = open_ok(path, 0);
  long long id = 0;
  ASSERT_EQ_INT(store_put_alert(st, ALERT1, strlen(ALERT1), &id), 0);
  ASSERT_EQ_INT(id, 1);
  ASSERT_EQ_INT(put_alert(st, "B", "second"), 2);
  ASSERT_EQ_INT(put_alert(st, "C", "third"), 3);
  store_close(st);

  st = open_ok(path, 0); /* reopen keeps data */
  struct alerts c = {0};
  ASSERT_EQ_INT(store_list_alerts(st, 0, 0, collect_alert, &c), 0);
  ASSERT_EQ_INT(c.n, 3);
  ASSERT_EQ_INT(c.ids[0], 1);
  ASSERT_EQ_INT(c.ids[2], 3);
  ASSERT_EQ_STR(c.titles[1], "second");
  memset(&c, 0, sizeof c);
  ASSERT_EQ_INT(store_list_alerts(st, 0, 2, collect_alert, &c), 0); /* the newest 2, in id order */
  ASSERT_EQ_INT(c.n, 2);
  ASSERT_EQ_INT(c.ids[0], 2);
  ASSERT_EQ_INT(c.ids[1], 3);
  memset(&c, 0, sizeof c);
  ASSERT_EQ_INT(store_list_alerts(st, 4e9, 0, collect_alert, &c), 0); /* since the future */
  ASSERT_EQ_INT(c.n, 0);
  memset(&c, 0, sizeof c);
  c.stop_at = 1;
  ASSERT_EQ_INT(store_list_alerts(st, 0, 0, collect_alert, &c), 7); /* the callback stops */
  ASSERT_EQ_INT(c.n, 1);
  ASSERT_EQ_INT(count_alerts(st), 3); /* the statement was reset after the early stop */
  int seen = 0;
  ASSERT_EQ_INT(store_list_alerts(st, 0, 3, check_alert1, &seen), 0);
  ASSERT_TRUE(seen == 3);

  /* bad records */
  const char *bad = "{\"detection\":\"x\",";
  ASSERT_EQ_INT(store_put_alert(st, bad, strlen(bad), &id), -EINVAL);
  ASSERT_CONTAINS(store_errmsg(st), path);
  ASSERT_CONTAINS(store_errmsg(st), "not a JSON object");
  bad = "{\"detection\":\"x\",\"severity\":\"LOW\",\"dedup\":\"d\"}";
  ASSERT_EQ_INT(store_put_alert(st, bad, strlen(bad), &id), -EINVAL);
  ASSERT_CONTAINS(store_errmsg(st), "lacks string title");
  ASSERT_EQ_INT(put_alert(st, "D", "fourth"), 4); /* errors leave the store usable */
  ASSERT_EQ_STR(store_errmsg(st), "");
  store_close(st);
  free(path);
}

/* }===================== */

/* {===================== windows ===================== */

static const char *LT = "AWS.CloudTrail"; /* stands for the detection set's interned name */

static struct det_match *mk_match(int det, const char *title, const char *dedup, double t,
                                  const char *u, bool full) {
  static unsigned long long seq = (1ULL << 60) + 12345; /* above 2^53 on purpose */
  struct det_match *m = xcalloc(1, sizeof *m);
  m->det = det;
  m->title = xstrdup(title);
  m->dedup = xstrdup(dedup);
  m->unique = u ? xstrdup(u) : NULL;
  m->severity = SEV_HIGH;
  m->context = xstrdup(full ? "{\"ip\":\"192.0.2.1\",\"n\":1.5,\"tags\":[\"a\",\"b\"]}" : "{}");
  if (full) {
    m->description = xstrdup("desc \"quoted\"\nline");
    m->runbook = xstrdup("runbook");
    m->reference = xstrdup("https://example.com/ref");
    m->destinations = xstrdup("[\"slack\"]");
  }
  m->event = xstrdup("{\"eventName\":\"ConsoleLogin\",\"n\":12345678901,\"u\":\"\xc3\xa9\\u0001\"}");
  m->log_type = LT;
  m->time = t;
  m->seq = seq++;
  return m;
}

static bool match_equal(const struct det_match *a, const struct det_match *b) {
#define SAME(f) ((!a->f && !b->f) || (a->f && b->f && strcmp(a->f, b->f) == 0))
  return a->det == b->det && a->severity == b->severity && SAME(title) && SAME(dedup) &&
         SAME(unique) && SAME(context) && SAME(description) && SAME(runbook) && SAME(reference) &&
         SAME(destinations) && SAME(event) && SAME(log_type) && a->time == b->time &&
         a->seq == b->seq && a->log_type == b->log_type;
#undef SAME
}

static bool window_equal(const struct dedup_window *a, const struct dedup_window *b) {
  if (strcmp(a->key, b->key) != 0 || a->det != b->det || a->start != b->start || a->end != b->end ||
      a->first_seen != b->first_seen || a->last_seen != b->last_seen || a->count != b->count ||
      a->distinct != b->distinct || a->threshold != b->threshold ||
      a->use_unique != b->use_unique || a->alerted != b->alerted ||
      a->uniques.len != b->uniques.len || !match_equal(a->first, b->first))
    return false;
  for (size_t i = 0; i < a->uniques.cap; i++) {
    const struct hmap_entry *e = &a->uniques.slots[i];
    if (e->key && !hmap_get(&b->uniques, e->key, e->klen)) return false;
  }
  return true;
}

struct restore {
  struct store *st;
  struct dedup *orig;
  const char *const *ids; /* index -> detection id */
  int n, equal;
  unsigned long long counts[8];
};

static int restore_one(const struct store_window *row, void *ud) {
  struct restore *r = ud;
  int idx = strcmp(row->detection, r->ids[0]) == 0 ? 0 : 1;
  struct dedup_window *w = NULL;
  int rc = store_window_to_dedup(r->st, row, idx, LT, &w);
  ASSERT_EQ_INT(rc, 0);
  if (!w) return 1;
  if (r->n < 8) r->counts[r->n] = w->count;
  r->n++;
  const struct dedup_window *o = hmap_get(&r->orig->windows, w->key, strlen(w->key));
  if (o && window_equal(o, w)) r->equal++;
  else CHECK_FAIL("restored window %s differs", row->key);
  store_window_free_dedup(w);
  return 0;
}

static void test_windows(void) {
  char *path = tmp_path("windows.db");
  const char *ids[] = {"Okta.PasswordSpray", "AWS.Console.RootLogin"};
  struct det d0 = {0}, d1 = {0};
  d0.index = 0, d0.dedup_minutes = 60, d0.threshold = 3;
  d1.index = 1, d1.dedup_minutes = 15, d1.threshold = 1;
  struct dedup dd;
  dedup_init(&dd, NULL, NULL);
  const char *users[] = {"alice", "bob", "alice", "carol\x1f\"odd\""};
  for (int i = 0; i < 4; i++)
    dedup_observe(&dd, &d0, mk_match(0, "spray", "203.0.113.9", 1730362200.25 + i, users[i], false));
  dedup_observe(&dd, &d1, mk_match(1, "root login", "198.51.100.23", 1730362300, NULL, true));
  dedup_observe(&dd, &d1, mk_match(1, "root login 2", "198.51.100.23", 1730362310, NULL, true));
  ASSERT_EQ_INT(dd.nheap, 2);
  dd.heap[1]->alerted = true;

  struct store *st = open_ok(path, 0);
  ASSERT_EQ_INT(store_begin(st), 0);
  for (size_t i = 0; i < dd.nheap; i++)
    ASSERT_EQ_INT(store_window_put(st, dd.heap[i], ids[dd.heap[i]->det]), 0);
  ASSERT_EQ_INT(store_commit(st), 0);
  store_close(st);

  st = open_ok(path, 0);
  struct restore r = {.st = st, .orig = &dd, .ids = ids};
  ASSERT_EQ_INT(store_window_load_all(st, restore_one, &r), 0);
  ASSERT_EQ_INT(r.n, 2);
  ASSERT_EQ_INT(r.equal, 2);

  /* the row itself: stable key, sorted uniques, first match as nested JSON */
  struct store_window row;
  const struct dedup_window *spray = dd.heap[0]->det == 0 ? dd.heap[0] : dd.heap[1];
  ASSERT_EQ_INT(store_window_from_dedup(st, spray, ids[0], &row), 0);
  ASSERT_EQ_STR(row.key, "Okta.PasswordSpray\x1f" "203.0.113.9");
  ASSERT_EQ_STR(row.uniques, "[\"alice\",\"bob\",\"carol\\u001f\\\"odd\\\"\"]");
  ASSERT_CONTAINS(row.first, "\"seq\":\"1152921504606859");
  ASSERT_CONTAINS(row.first, "\"event\":{\"eventName\":\"ConsoleLogin\"");
  ASSERT_EQ_INT(row.distinct, 3);
  ASSERT_EQ_INT(row.count, 4);
  store_window_clear(&row);

  /* a window grows: saving again replaces the row */
  dedup_observe(&dd, &d0, mk_match(0, "spray", "203.0.113.9", 1730362210, "dave", false));
  ASSERT_EQ_INT(store_window_put(st, spray, ids[0]), 0);
  memset(&r, 0, sizeof r);
  r.st = st, r.orig = &dd, r.ids = ids;
  ASSERT_EQ_INT(store_window_load_all(st, restore_one, &r), 0);
  ASSERT_EQ_INT(r.n, 2);
  ASSERT_EQ_INT(r.equal, 2);

  /* a closed window is deleted by its stable key */
  char *key = store_window_key(ids[1], "198.51.100.23");
  ASSERT_EQ_INT(store_window_delete(st, key), 0);
  ASSERT_EQ_INT(store_window_delete(st, key), 0); /* already gone: fine */
  free(key);
  memset(&r, 0, sizeof r);
  r.st = st, r.orig = &dd, r.ids = ids;
  ASSERT_EQ_INT(store_window_load_all(st, restore_one, &r), 0);
  ASSERT_EQ_INT(r.n, 1);
  ASSERT_EQ_INT(r.counts[0], 5);

  /* malformed rows are refused with a message, not crashed on */
  char k[] = "k", det[] = "X", arr[] = "[]", brace[] = "{", arr1[] = "[1]";
  char badsev[] = "{\"title\":\"t\",\"dedup\":\"d\",\"severity\":\"NOPE\",\"seq\":\"1\",\"time\":1}";
  struct store_window bad = {.key = k, .detection = det, .uniques = arr, .first = brace};
  struct dedup_window *w = NULL;
  ASSERT_EQ_INT(store_window_to_dedup(st, &bad, 0, LT, &w), -EINVAL);
  ASSERT_TRUE(w == NULL);
  ASSERT_CONTAINS(store_errmsg(st), "malformed first match");
  char *first = store_match_to_json(spray->first);
  bad.first = first;
  bad.uniques = arr1;
  ASSERT_EQ_INT(store_window_to_dedup(st, &bad, 0, LT, &w), -EINVAL);
  ASSERT_CONTAINS(store_errmsg(st), "uniques");
  /* an unparsable JSON text survives as text */
  struct det_match *m = mk_match(0, "t", "d", 1, NULL, false);
  free(m->context);
  m->context = xstrdup("{not json");
  char *json = store_match_to_json(m);
  struct det_match *back = store_match_from_json(json, 0, LT);
  ASSERT_TRUE(back && match_equal(m, back));
  det_match_free(back);
  det_match_free(m);
  free(json);
  free(first);
  bad.first = badsev;
  ASSERT_TRUE(store_match_from_json(bad.first, 0, LT) == NULL);
  struct store_window empty = {0};
  ASSERT_EQ_INT(store_window_save(st, &empty), -EINVAL);

  store_close(st);
  dedup_free(&dd);
  free(path);
}

/* }===================== */

/* {===================== offsets, runs, meta ===================== */

static int collect_path(const char *path, const struct store_offset *o, void *ud) {
  struct buf *b = ud;
  buf_printf(b, "%s=%lld;", path, (long long)o->offset);
  return 0;
}

static void test_offsets(void) {
  char *path = tmp_path("offsets.db");
  struct store *st = open_ok(path, 0);
  struct store_offset o;
  ASSERT_EQ_INT(store_offset_get(st, "/var/log/a.ndjson", &o), -ENOENT);
  struct store_offset in = {.dev = 2049, .ino = UINT64_MAX - 5, .offset = 123456789012LL,
                            .marker = 0xdeadbeefcafebabeULL, .marker_len = 4096};
  ASSERT_EQ_INT(store_offset_set(st, "/var/log/a.ndjson", &in), 0);
  in.offset = 10;
  ASSERT_EQ_INT(store_offset_set(st, "/var/log/0.ndjson", &in), 0);
  store_close(st);
  st = open_ok(path, 0);
  ASSERT_EQ_INT(store_offset_get(st, "/var/log/a.ndjson", &o), 0);
  ASSERT_TRUE(o.dev == 2049 && o.ino == UINT64_MAX - 5 && o.marker == 0xdeadbeefcafebabeULL);
  ASSERT_EQ_INT(o.offset, 123456789012LL);
  ASSERT_EQ_INT(o.marker_len, 4096);
  ASSERT_TRUE(o.updated_at > 1.6e9);
  in.offset = 20;
  ASSERT_EQ_INT(store_offset_set(st, "/var/log/a.ndjson", &in), 0); /* moves forward */
  struct buf b;
  buf_init(&b);
  ASSERT_EQ_INT(store_offset_list(st, collect_path, &b), 0);
  ASSERT_EQ_STR(b.data, "/var/log/0.ndjson=10;/var/log/a.ndjson=20;");
  buf_free(&b);
  ASSERT_EQ_INT(store_offset_delete(st, "/var/log/a.ndjson"), 0);
  ASSERT_EQ_INT(store_offset_get(st, "/var/log/a.ndjson", &o), -ENOENT);
  in.offset = -1;
  ASSERT_EQ_INT(store_offset_set(st, "/x", &in), -EINVAL);
  store_close(st);
  free(path);
}

static void test_runs(void) {
  char *path = tmp_path("runs.db");
  struct store *st = open_ok(path, 0);
  long long alert = put_alert(st, "AWS.S3.BucketPolicyModified", "policy"), id = 0;
  ASSERT_EQ_INT(store_run_insert(st, "s3_triage", alert, &id), 0);
  ASSERT_EQ_INT(id, 1);
  struct store_run r;
  ASSERT_EQ_INT(store_run_get(st, id, &r), 0);
  ASSERT_EQ_STR(r.story, "s3_triage");
  ASSERT_EQ_STR(r.state, "pending");
  ASSERT_EQ_STR(r.steps, "{}");
  ASSERT_EQ_INT(r.alert_id, alert);
  ASSERT_EQ_INT(r.attempts, 0);
  ASSERT_TRUE(r.last_error == NULL && r.started_at == 0 && r.created_at > 1.6e9);
  free(r.state);
  r.state = xstrdup("failed");
  r.attempts = 2;
  r.last_error = xstrdup("jira: 503 Service Unavailable");
  free(r.steps);
  r.steps = xstrdup("{\"okta\":{\"devices\":2},\"jira\":{\"key\":\"SIRT-23484\"}}");
  r.started_at = 1730362200.5;
  r.next_at = 1730362260;
  ASSERT_EQ_INT(store_run_update(st, &r), 0);
  store_run_clear(&r);
  store_close(st);

  st = open_ok(path, 0);
  ASSERT_EQ_INT(store_run_get(st, id, &r), 0);
  ASSERT_EQ_STR(r.state, "failed");
  ASSERT_EQ_INT(r.attempts, 2);
  ASSERT_EQ_STR(r.last_error, "jira: 503 Service Unavailable");
  ASSERT_EQ_STR(r.steps, "{\"okta\":{\"devices\":2},\"jira\":{\"key\":\"SIRT-23484\"}}");
  ASSERT_EQ_DBL(r.started_at, 1730362200.5);
  ASSERT_EQ_DBL(r.next_at, 1730362260);
  ASSERT_TRUE(r.finished_at == 0 && r.updated_at >= r.created_at);
  /* NULL state and steps leave them; NULL last_error clears it */
  free(r.state), free(r.steps), free(r.last_error);
  r.state = r.steps = r.last_error = NULL;
  r.attempts = 3;
  ASSERT_EQ_INT(store_run_update(st, &r), 0);
  store_run_clear(&r);
  ASSERT_EQ_INT(store_run_get(st, id, &r), 0);
  ASSERT_EQ_STR(r.state, "failed");
  ASSERT_TRUE(r.last_error == NULL && r.attempts == 3);
  ASSERT_CONTAINS(r.steps, "SIRT-23484");
  r.id = 999;
  ASSERT_EQ_INT(store_run_update(st, &r), -ENOENT);
  store_run_clear(&r);
  ASSERT_EQ_INT(store_run_get(st, 999, &r), -ENOENT);
  ASSERT_CONTAINS(store_errmsg(st), "no story run with id 999");
  ASSERT_EQ_INT(store_run_insert(st, "s", 0, &id), 0); /* no alert */
  ASSERT_EQ_INT(store_run_insert(st, "s", 4242, &id), -EINVAL); /* unknown alert */
  ASSERT_CONTAINS(store_errmsg(st), "FOREIGN KEY");

  char *v = NULL;
  ASSERT_EQ_INT(store_meta_get(st, "dedup.watermark", &v), -ENOENT);
  ASSERT_EQ_INT(store_meta_set(st, "dedup.watermark", "1730362200.5"), 0);
  ASSERT_EQ_INT(store_meta_get(st, "dedup.watermark", &v), 0);
  ASSERT_EQ_STR(v, "1730362200.5");
  free(v);
  store_close(st);
  free(path);
}

/* }===================== */

/* {===================== transactions, crashes, locks, full disks ===================== */

/* Child: writes an alert and dies without closing; commit says whether it committed. */
static void crash_child(const char *path, bool in_tx, bool commit) {
  struct store *st = NULL;
  char *msg = NULL;
  if (store_open(path, 0, &st, &msg) != 0) _exit(3);
  if (in_tx && store_begin(st) != 0) _exit(4);
  if (put_alert(st, "Crash", "crash") <= 0) _exit(5);
  if (in_tx && commit && store_commit(st) != 0) _exit(6);
  _exit(0); /* as kill -9 would: no close, no checkpoint, no rollback */
}

static const char *self_exe; /* argv[0]: crash children are fresh processes */

static void run_crash(const char *path, bool in_tx, bool commit) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    execl(self_exe, self_exe, "--crash-child", path, in_tx ? "1" : "0", commit ? "1" : "0",
          (char *)NULL);
    _exit(127);
  }
  int status = 0;
  ASSERT_TRUE(pid > 0 && waitpid(pid, &status, 0) == pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_transactions(void) {
  char *path = tmp_path("tx.db");
  struct store *st = open_ok(path, 0);
  ASSERT_EQ_INT(store_commit(st), -EINVAL);
  ASSERT_CONTAINS(store_errmsg(st), "no transaction");
  ASSERT_EQ_INT(store_begin(st), 0);
  ASSERT_TRUE(store_in_transaction(st));
  ASSERT_EQ_INT(store_begin(st), -EINVAL); /* no nesting */
  put_alert(st, "A", "uncommitted");
  ASSERT_EQ_INT(count_alerts(st), 1); /* visible inside its own transaction */
  store_close(st);                    /* closing without commit discards it */
  st = open_ok(path, 0);
  ASSERT_EQ_INT(count_alerts(st), 0);

  ASSERT_EQ_INT(store_begin(st), 0);
  put_alert(st, "A", "rolled back");
  ASSERT_EQ_INT(store_rollback(st), 0);
  ASSERT_TRUE(!store_in_transaction(st));
  ASSERT_EQ_INT(count_alerts(st), 0);
  ASSERT_EQ_INT(store_rollback(st), 0); /* none open: no-op */

  ASSERT_EQ_INT(store_begin(st), 0);
  put_alert(st, "A", "one");
  put_alert(st, "A", "two");
  ASSERT_EQ_INT(store_commit(st), 0);
  ASSERT_TRUE(!store_in_transaction(st));
  store_close(st);

  /* a crashed writer: its open transaction is gone, its commits are not */
  run_crash(path, true, false);
  st = open_ok(path, 0);
  ASSERT_EQ_INT(count_alerts(st), 2);
  store_close(st);
  run_crash(path, true, true);
  run_crash(path, false, false); /* autocommit */
  st = open_ok(path, 0);
  ASSERT_EQ_INT(count_alerts(st), 4);
  store_close(st);
  free(path);
}

static void test_busy_and_readonly(void) {
  char *path = tmp_path("busy.db");
  struct store *a = open_ok(path, 0), *b = open_ok(path, 0), *ro = open_ok(path, STORE_READONLY);
  ASSERT_EQ_INT(store_set_busy_timeout(b, 50), 0);
  ASSERT_EQ_INT(store_begin(a), 0);
  put_alert(a, "A", "held");
  long long id = 0;
  ASSERT_EQ_INT(store_put_alert(b, ALERT1, strlen(ALERT1), &id), -EBUSY);
  ASSERT_CONTAINS(store_errmsg(b), path);
  ASSERT_CONTAINS(store_errmsg(b), "write lock for over 50 ms");
  ASSERT_EQ_INT(store_begin(b), -EBUSY);
  ASSERT_TRUE(!store_in_transaction(b));
  ASSERT_EQ_INT(count_alerts(ro), 0); /* WAL: readers do not wait for the writer */
  ASSERT_EQ_INT(store_commit(a), 0);
  ASSERT_EQ_INT(count_alerts(ro), 1);
  ASSERT_EQ_INT(store_put_alert(b, ALERT1, strlen(ALERT1), &id), 0);
  ASSERT_EQ_INT(id, 2);
  ASSERT_EQ_INT(store_put_alert(ro, ALERT1, strlen(ALERT1), &id), -EROFS);
  ASSERT_CONTAINS(store_errmsg(ro), "readonly");
  ASSERT_EQ_INT(store_schema_version(ro), STORE_SCHEMA_VERSION);
  store_close(ro);
  store_close(b);
  store_close(a);
  free(path);
}

static void test_disk_full(void) {
  char *path = tmp_path("full.db");
  struct store *st = open_ok(path, 0);
  /* The size limit stands for a full disk: SQLite reports both as SQLITE_FULL. */
  ASSERT_EQ_INT(store_exec(st, "PRAGMA max_page_count = 1"), 0); /* = the current size */
  struct buf b;
  buf_init(&b);
  buf_puts(&b, "{\"detection\":\"Big\",\"title\":\"t\",\"severity\":\"LOW\",\"dedup\":\"d\",\"pad\":\"");
  for (int i = 0; i < 20000; i++) buf_puts(&b, "0123456789");
  buf_puts(&b, "\"}");
  long long id = 0;
  ASSERT_EQ_INT(store_put_alert(st, b.data, b.len, &id), -ENOSPC);
  ASSERT_CONTAINS(store_errmsg(st), path);
  ASSERT_CONTAINS(store_errmsg(st), "database or disk is full");
  ASSERT_CONTAINS(store_errmsg(st), "no space left");
  /* inside a batch: the batch fails as a whole and the store stays usable */
  ASSERT_EQ_INT(store_begin(st), 0);
  ASSERT_EQ_INT(store_put_alert(st, b.data, b.len, &id), -ENOSPC);
  int rc = store_commit(st);
  ASSERT_TRUE(rc == 0 || rc == -ENOSPC || rc == -EIO);
  ASSERT_TRUE(!store_in_transaction(st));
  ASSERT_EQ_INT(store_exec(st, "PRAGMA max_page_count = 1000000"), 0);
  ASSERT_EQ_INT(store_put_alert(st, b.data, b.len, &id), 0);
  buf_free(&b);
  store_close(st);
  free(path);
}

/* Rows visible in the database file itself, ignoring the WAL (immutable=1). */
static long long rows_in_main_file(const char *path) {
  char *uri = xasprintf("file:%s?immutable=1", path);
  sqlite3 *db = NULL;
  long long n = -1;
  sqlite3_stmt *s = NULL;
  if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "SELECT count(*) FROM meta WHERE key LIKE 'ck%'", -1, &s, NULL) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW)
    n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  free(uri);
  return n;
}

/* STORE_BG_CHECKPOINT: commits leave the WAL to the checkpoint thread, which copies it
 * into the database file within a second; without it, a few commits stay in the WAL. */
static void test_background_checkpoints(void) {
  char *path = tmp_path("ckpt.db");
  struct store *st = open_ok(path, STORE_BG_CHECKPOINT);
  for (int i = 0; i < 20; i++) {
    char k[16];
    snprintf(k, sizeof k, "ck%d", i);
    ASSERT_EQ_INT(store_begin(st), 0);
    ASSERT_EQ_INT(store_meta_set(st, k, "v"), 0);
    ASSERT_EQ_INT(store_commit(st), 0);
  }
  long long n = 0;
  for (int i = 0; i < 40 && n != 20; i++) { /* up to 2 s */
    usleep(50000);
    n = rows_in_main_file(path);
  }
  ASSERT_EQ_INT(n, 20);
  store_close(st);
  free(path);
  /* the same without the thread: the commits are still only in the WAL */
  path = tmp_path("nockpt.db");
  st = open_ok(path, 0);
  for (int i = 0; i < 20; i++) {
    char k[16];
    snprintf(k, sizeof k, "ck%d", i);
    ASSERT_EQ_INT(store_begin(st), 0);
    ASSERT_EQ_INT(store_meta_set(st, k, "v"), 0);
    ASSERT_EQ_INT(store_commit(st), 0);
  }
  usleep(700000);
  /* still in the WAL: the main file lacks the rows (even the table: -1) */
  ASSERT_TRUE(rows_in_main_file(path) < 20);
  store_close(st);
  free(path);
}

/* }===================== */

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--crash-child") == 0)
    crash_child(argv[2], argv[3][0] == '1', argv[4][0] == '1');
  self_exe = argv[0];
  char tmpl[] = "/tmp/lp0-store-XXXXXX";
  tmp_root = mkdtemp(tmpl);
  if (!tmp_root || chmod(tmp_root, 0755) != 0) {
    perror("mkdtemp");
    return 2;
  }
  test_create();
  test_empty_file();
  test_future_version();
  test_foreign_files();
  test_unwritable();
  test_alerts();
  test_windows();
  test_offsets();
  test_runs();
  test_transactions();
  test_busy_and_readonly();
  test_disk_full();
  test_background_checkpoints();
  nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  CHECK_DONE();
}

/* Unit tests of tail.c: a tail on a temporary directory in each test's own loop. The
 * test writes, renames, truncates and deletes files, then runs the loop until what it
 * expects has happened or a deadline passes (never a fixed sleep). Lines are recorded as
 * "name:line:end_offset\n". Every loop must close with no handle left and the close
 * callback must run exactly once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <uv.h>

#include "check.h"
#include "tail.h"
#include "util.h"

#define DEADLINE_MS 5000u

struct fx {
  uv_loop_t loop;
  struct tail *t;
  struct tail_config cfg;
  const char *pattern;
  char dir[64];
  struct buf log; /* name:line:end\n */
  int nlines, emsgsize, notices, closed, pos_checks, pos_bad;
  uint64_t want_marker_at; /* check tail_position for the line ending here (0 = none) */
  struct tail_pos pos;
};

static void on_line(const char *path, const char *line, size_t len, uint64_t end,
                    void *ud) {
  struct fx *fx = ud;
  const char *name = strrchr(path, '/');
  buf_printf(&fx->log, "%s:%.*s:%llu\n", name ? name + 1 : path, (int)len, line,
             (unsigned long long)end);
  fx->nlines++;
  struct tail_pos p;
  if (tail_position(fx->t, &p) != 0 || p.offset != end) fx->pos_bad++;
  if (fx->want_marker_at && end == fx->want_marker_at) fx->pos = p, fx->pos_checks++;
}

static void on_error(const char *path, int code, const char *msg, void *ud) {
  struct fx *fx = ud;
  (void)path, (void)msg;
  if (code == -EMSGSIZE) fx->emsgsize++;
  else if (code == 0) fx->notices++;
}

static void on_closed(void *ud) { ((struct fx *)ud)->closed++; }

static char *fx_path(struct fx *fx, const char *name) {
  return xasprintf("%s/%s", fx->dir, name);
}

static void put(struct fx *fx, const char *name, const char *data, int flags) {
  char *p = fx_path(fx, name);
  int fd = open(p, O_WRONLY | O_CREAT | flags, 0644);
  if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data)) abort();
  close(fd);
  free(p);
}
static void append(struct fx *fx, const char *name, const char *data) {
  put(fx, name, data, O_APPEND);
}

static void fx_init(struct fx *fx) {
  memset(fx, 0, sizeof *fx);
  strcpy(fx->dir, "/tmp/lp0-tail-XXXXXX");
  if (!mkdtemp(fx->dir) || uv_loop_init(&fx->loop) != 0) abort();
  buf_init(&fx->log);
  fx->cfg.on_line = on_line;
  fx->cfg.on_error = on_error;
  fx->cfg.ud = fx;
  fx->cfg.poll_ms = 20;
  fx->cfg.rescan_ms = 50;
  fx->cfg.rotate_wait_ms = 150;
}

static void fx_start(struct fx *fx) {
  static char pattern[128];
  snprintf(pattern, sizeof pattern, "%s/*.log", fx->dir);
  fx->pattern = pattern;
  fx->cfg.patterns = &fx->pattern;
  fx->cfg.npatterns = 1;
  ASSERT_EQ_INT(tail_open(&fx->loop, &fx->cfg, &fx->t), 0);
}

typedef bool (*pred_fn)(struct fx *fx, long arg);

static bool wait_for(struct fx *fx, pred_fn pred, long arg) {
  uint64_t deadline = uv_hrtime() + (uint64_t)DEADLINE_MS * 1000000u;
  while (!pred(fx, arg)) {
    if (uv_hrtime() > deadline) return false;
    uv_run(&fx->loop, UV_RUN_ONCE); /* the tail's poll timer wakes it every poll_ms */
  }
  return true;
}

static bool has_lines(struct fx *fx, long n) { return fx->nlines >= n; }
static bool has_files(struct fx *fx, long n) {
  struct tail_stats st;
  tail_stats(fx->t, &st);
  return (long)st.files == n;
}
static bool has_bytes(struct fx *fx, long n) {
  struct tail_stats st;
  tail_stats(fx->t, &st);
  return (long)st.bytes >= n;
}
static bool has_rotations(struct fx *fx, long n) {
  struct tail_stats st;
  tail_stats(fx->t, &st);
  return (long)st.rotations >= n;
}
static bool is_closed(struct fx *fx, long n) { return fx->closed >= n; }

static void fx_done(struct fx *fx) {
  tail_close(fx->t, on_closed);
  tail_close(fx->t, on_closed); /* a second close is ignored */
  ASSERT_TRUE(wait_for(fx, is_closed, 1));
  ASSERT_EQ_INT(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(fx->closed, 1);
  ASSERT_EQ_INT(fx->pos_bad, 0);
  ASSERT_EQ_INT(uv_loop_close(&fx->loop), 0);
  DIR *d = opendir(fx->dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char *p = fx_path(fx, e->d_name);
    unlink(p);
    free(p);
  }
  if (d) closedir(d);
  rmdir(fx->dir);
  buf_free(&fx->log);
}

static const char *logged(struct fx *fx) { return fx->log.data ? fx->log.data : ""; }

/* ---- tests ----------------------------------------------------------------------------- */

static void test_append_and_partial(bool fs_events) {
  struct fx fx;
  fx_init(&fx);
  fx.cfg.no_fs_events = !fs_events;
  append(&fx, "a.log", "old\n"); /* present at start: read from its end */
  fx_start(&fx);
  ASSERT_TRUE(wait_for(&fx, has_files, 1));
  append(&fx, "a.log", "one\ntwo\n");
  ASSERT_TRUE(wait_for(&fx, has_lines, 2));
  ASSERT_EQ_STR(logged(&fx), "a.log:one:8\na.log:two:12\n");
  append(&fx, "a.log", "par");
  ASSERT_TRUE(wait_for(&fx, has_bytes, 11)); /* read, but no newline yet */
  ASSERT_EQ_INT(fx.nlines, 2);
  append(&fx, "a.log", "tial\n");
  ASSERT_TRUE(wait_for(&fx, has_lines, 3));
  ASSERT_EQ_STR(logged(&fx), "a.log:one:8\na.log:two:12\na.log:partial:20\n");
  struct tail_stats st;
  tail_stats(fx.t, &st);
  ASSERT_EQ_INT(st.lines, 3);
  ASSERT_EQ_INT(st.bytes, 16);
  fx_done(&fx);
}

static void test_read_from_head(void) {
  struct fx fx;
  fx_init(&fx);
  fx.cfg.read_from_head = true;
  append(&fx, "a.log", "x\ny\n");
  fx_start(&fx);
  ASSERT_TRUE(wait_for(&fx, has_lines, 2));
  ASSERT_EQ_STR(logged(&fx), "a.log:x:2\na.log:y:4\n");
  fx_done(&fx);
}

static void test_glob_new_file(void) {
  struct fx fx;
  fx_init(&fx);
  fx_start(&fx);
  uv_run(&fx.loop, UV_RUN_NOWAIT); /* the first scan: nothing there */
  append(&fx, "skip.txt", "not matched\n");
  append(&fx, "b.log", "hello\n"); /* appears later: read from its start */
  ASSERT_TRUE(wait_for(&fx, has_lines, 1));
  ASSERT_EQ_STR(logged(&fx), "b.log:hello:6\n");
  fx_done(&fx);
}

/* Each file counted per name, so a stat of both files in one callback is easy. */
struct seen { int active, rotated; uint64_t lag; };
static void count_file(const struct tail_file_stat *s, void *ud) {
  struct seen *seen = ud;
  if (s->rotated) seen->rotated++;
  else seen->active++;
  seen->lag += s->size - s->offset;
}

static void test_rename_rotation(void) {
  struct fx fx;
  fx_init(&fx);
  fx.cfg.rotate_wait_ms = 300;
  append(&fx, "a.log", "");
  fx_start(&fx);
  ASSERT_TRUE(wait_for(&fx, has_files, 1));
  char *p = fx_path(&fx, "a.log"), *p1 = fx_path(&fx, "a.log.1");
  int w = open(p, O_WRONLY | O_APPEND); /* a writer that keeps the old file open */
  ASSERT_TRUE(w >= 0);
  ASSERT_EQ_INT(write(w, "l1\n", 3), 3);
  ASSERT_TRUE(wait_for(&fx, has_lines, 1));
  ASSERT_EQ_INT(rename(p, p1), 0);
  ASSERT_TRUE(wait_for(&fx, has_rotations, 1));
  ASSERT_EQ_INT(write(w, "l2\n", 3), 3); /* after the rename: still delivered */
  append(&fx, "a.log", "n1\n");
  ASSERT_TRUE(wait_for(&fx, has_lines, 3));
  ASSERT_TRUE(strstr(logged(&fx), "a.log:l2:6\n") != NULL);
  ASSERT_TRUE(strstr(logged(&fx), "a.log:n1:3\n") != NULL);
  struct seen seen = {0, 0, 0};
  tail_each_file(fx.t, count_file, &seen);
  ASSERT_EQ_INT(seen.active, 1);
  ASSERT_EQ_INT(seen.lag, 0);
  ASSERT_TRUE(wait_for(&fx, has_files, 1)); /* the old one dropped after rotate_wait */
  memset(&seen, 0, sizeof seen);
  tail_each_file(fx.t, count_file, &seen);
  ASSERT_EQ_INT(seen.rotated, 0);
  append(&fx, "a.log", "n2\n");
  ASSERT_TRUE(wait_for(&fx, has_lines, 4));
  ASSERT_TRUE(strstr(logged(&fx), "a.log:n2:6\n") != NULL);
  close(w);
  free(p);
  free(p1);
  fx_done(&fx);
}

static void test_unterminated_line_of_rotated_file(void) {
  struct fx fx;
  fx_init(&fx);
  append(&fx, "a.log", "");
  fx_start(&fx);
  ASSERT_TRUE(wait_for(&fx, has_files, 1));
  append(&fx, "a.log", "last");
  ASSERT_TRUE(wait_for(&fx, has_bytes, 4));
  char *p = fx_path(&fx, "a.log"), *p1 = fx_path(&fx, "a.log.old");
  ASSERT_EQ_INT(rename(p, p1), 0);
  ASSERT_TRUE(wait_for(&fx, has_lines, 1)); /* delivered when the old file is dropped */
  ASSERT_EQ_STR(logged(&fx), "a.log:last:4\n");
  free(p);
  free(p1);
  fx_done(&fx);
}

static void find_2(const struct tail_file_stat *s, void *ud) {
  if (!s->rotated && str_ends_with(s->path, "/app-2.log")) *(bool *)ud = true;
}
static bool has_active_2(struct fx *fx, long unused) {
  bool found = false;
  (void)unused;
  tail_each_file(fx->t, find_2, &found);
  return found;
}

static void test_rotated_name_matches_too(void) {
  /* app-1.log renamed to app-2.log (both match): followed on, never read twice. */
  struct fx fx;
  fx_init(&fx);
  append(&fx, "app-1.log", "");
  fx_start(&fx);
  ASSERT_TRUE(wait_for(&fx, has_files, 1));
  append(&fx, "app-1.log", "a\n");
  ASSERT_TRUE(wait_for(&fx, has_lines, 1));
  char *p = fx_path(&fx, "app-1.log"), *p2 = fx_path(&fx, "app-2.log");
  ASSERT_EQ_INT(rename(p, p2), 0);
  ASSERT_TRUE(wait_for(&fx, has_active_2, 0));
  append(&fx, "app-2.log", "b\n");
  ASSERT_TRUE(wait_for(&fx, has_lines, 2));
  ASSERT_EQ_STR(logged(&fx), "app-1.log:a:2\napp-2.log:b:4\n");
  struct tail_stats st;
  tail_stats(fx.t, &st);
  ASSERT_EQ_INT(st.bytes, 4);
  ASSERT_EQ_INT(st.files, 1);
  free(p);
  free(p2);
  fx_done(&fx);
}

static void test_copytruncate(void) {
  struct fx fx;
  fx_init(&fx);
  append(&fx, "a.log", "");
  fx_start(&fx);
  ASSERT_TRUE(wait_for(&fx, has_files, 1));
  append(&fx, "a.log", "aaaa\nbbbb\n");
  ASSERT_TRUE(wait_for(&fx, has_lines, 2));
  put(&fx, "a.log", "cc\n", O_TRUNC);
  ASSERT_TRUE(wait_for(&fx, has_lines, 3));
  ASSERT_EQ_STR(logged(&fx), "a.log:aaaa:5\na.log:bbbb:10\na.log:cc:3\n");
  struct tail_stats st;
  tail_stats(fx.t, &st);
  ASSERT_EQ_INT(st.truncations, 1);
  ASSERT_EQ_INT(st.rotations, 0);
  fx_done(&fx);
}

static void test_delete_recreate(void) {
  struct fx fx;
  fx_init(&fx);
  append(&fx, "a.log", "");
  fx_start(&fx);
  ASSERT_TRUE(wait_for(&fx, has_files, 1));
  append(&fx, "a.log", "first\n");
  ASSERT_TRUE(wait_for(&fx, has_lines, 1));
  char *p = fx_path(&fx, "a.log");
  ASSERT_EQ_INT(unlink(p), 0);
  ASSERT_TRUE(wait_for(&fx, has_rotations, 1));
  ASSERT_TRUE(wait_for(&fx, has_files, 0));
  append(&fx, "a.log", "again\n"); /* a new file: from its start */
  ASSERT_TRUE(wait_for(&fx, has_lines, 2));
  ASSERT_EQ_STR(logged(&fx), "a.log:first:6\na.log:again:6\n");
  free(p);
  fx_done(&fx);
}

static void saved_start(struct fx *fx, const char *content, uint64_t off, long dino,
                        uint64_t marker) {
  append(fx, "a.log", content);
  char *p = fx_path(fx, "a.log");
  struct stat st;
  if (stat(p, &st) != 0) abort();
  fx_start(fx);
  ASSERT_EQ_INT(tail_set_start(fx->t, p, (uint64_t)st.st_dev,
                               (uint64_t)((long)st.st_ino + dino), off, marker), 0);
  free(p);
}

static void test_start_offset(void) {
  struct fx fx;
  fx_init(&fx);
  const char *c = "l1\nl2\nl3\n";
  fx.want_marker_at = 9;
  saved_start(&fx, c, 6, 0, hash_bytes(c, 6));
  ASSERT_TRUE(wait_for(&fx, has_lines, 1));
  ASSERT_EQ_STR(logged(&fx), "a.log:l3:9\n");
  ASSERT_EQ_INT(fx.pos_checks, 1);
  ASSERT_EQ_INT(fx.pos.offset, 9);
  ASSERT_EQ_INT(fx.pos.marker_len, 9);
  ASSERT_TRUE(fx.pos.marker == hash_bytes(c, 9));
  ASSERT_TRUE(!fx.pos.rotated);
  ASSERT_EQ_INT(fx.notices, 0);
  ASSERT_EQ_INT(tail_position(fx.t, &fx.pos), -EINVAL); /* outside the callback */
  fx_done(&fx);
}

static void test_long_marker(void) {
  /* Offsets past TAIL_MARKER_LEN: the marker covers the 256 bytes before the offset. */
  struct fx fx;
  fx_init(&fx);
  char c[1024];
  memset(c, 'z', 999);
  c[499] = '\n', c[999] = '\n', c[1000] = '\0';
  fx.want_marker_at = 1000;
  saved_start(&fx, c, 500, 0, hash_bytes(c + 500 - TAIL_MARKER_LEN, TAIL_MARKER_LEN));
  ASSERT_TRUE(wait_for(&fx, has_lines, 1));
  ASSERT_EQ_INT(fx.pos_checks, 1);
  ASSERT_EQ_INT(fx.pos.marker_len, TAIL_MARKER_LEN);
  ASSERT_TRUE(fx.pos.marker == hash_bytes(c + 1000 - TAIL_MARKER_LEN, TAIL_MARKER_LEN));
  ASSERT_EQ_INT(fx.notices, 0);
  fx_done(&fx);
}

static void test_inode_reuse(void) {
  /* Same device and inode, other bytes before the offset: read from the start. */
  struct fx fx;
  fx_init(&fx);
  const char *c = "l1\nl2\nl3\n";
  saved_start(&fx, c, 6, 0, hash_bytes("xx\nyy\n", 6));
  ASSERT_TRUE(wait_for(&fx, has_lines, 3));
  ASSERT_EQ_STR(logged(&fx), "a.log:l1:3\na.log:l2:6\na.log:l3:9\n");
  ASSERT_EQ_INT(fx.notices, 1);
  fx_done(&fx);
  /* Another inode at the path: also from the start. */
  fx_init(&fx);
  saved_start(&fx, c, 6, 1, hash_bytes(c, 6));
  ASSERT_TRUE(wait_for(&fx, has_lines, 3));
  ASSERT_EQ_INT(fx.notices, 1);
  fx_done(&fx);
}

static int lookups;
static int lookup(const char *path, struct tail_start *out, void *ud) {
  (void)ud;
  struct stat st;
  lookups++;
  if (stat(path, &st) != 0) return -ENOENT;
  out->dev = (uint64_t)st.st_dev, out->ino = (uint64_t)st.st_ino;
  out->offset = 3;
  out->marker = hash_bytes("l1\n", 3);
  return 0;
}

static void test_lookup(void) {
  struct fx fx;
  fx_init(&fx);
  fx.cfg.lookup = lookup;
  append(&fx, "a.log", "l1\nl2\n");
  fx_start(&fx);
  ASSERT_TRUE(wait_for(&fx, has_lines, 1));
  ASSERT_EQ_STR(logged(&fx), "a.log:l2:6\n");
  ASSERT_EQ_INT(lookups, 1);
  fx_done(&fx);
}

static void test_max_line(void) {
  struct fx fx;
  fx_init(&fx);
  fx.cfg.max_line = 8;
  append(&fx, "a.log", "");
  fx_start(&fx);
  ASSERT_TRUE(wait_for(&fx, has_files, 1));
  append(&fx, "a.log", "short\nxxxxxxxxxxxxxxxxxxxx\nafter\n12345678\n");
  ASSERT_TRUE(wait_for(&fx, has_lines, 3));
  ASSERT_EQ_STR(logged(&fx), "a.log:short:6\na.log:after:33\na.log:12345678:42\n");
  ASSERT_EQ_INT(fx.emsgsize, 1);
  /* Too long only once its second part arrives. */
  append(&fx, "a.log", "yyyyyy");
  ASSERT_TRUE(wait_for(&fx, has_bytes, 48));
  append(&fx, "a.log", "yyyyyy\nok\n");
  ASSERT_TRUE(wait_for(&fx, has_lines, 4));
  ASSERT_TRUE(strstr(logged(&fx), "a.log:ok:58\n") != NULL);
  ASSERT_EQ_INT(fx.emsgsize, 2);
  struct tail_stats st;
  tail_stats(fx.t, &st);
  ASSERT_EQ_INT(st.skipped, 2);
  fx_done(&fx);
}

static void close_on_line(const char *path, const char *line, size_t len, uint64_t end,
                          void *ud) {
  struct fx *fx = ud;
  on_line(path, line, len, end, ud);
  tail_close(fx->t, on_closed);
}

static void test_close_from_callback(void) {
  struct fx fx;
  fx_init(&fx);
  fx.cfg.on_line = close_on_line;
  fx.cfg.read_from_head = true;
  append(&fx, "a.log", "1\n2\n3\n");
  fx_start(&fx);
  ASSERT_TRUE(wait_for(&fx, is_closed, 1));
  ASSERT_EQ_INT(fx.nlines, 1);
  ASSERT_EQ_INT(uv_run(&fx.loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(fx.closed, 1);
  ASSERT_EQ_INT(uv_loop_close(&fx.loop), 0);
  char *p = fx_path(&fx, "a.log");
  unlink(p);
  free(p);
  rmdir(fx.dir);
  buf_free(&fx.log);
}

static void test_pause_and_big_file(void) {
  /* More than one read budget: delivered over several loop turns; pause holds lines. */
  struct fx fx;
  fx_init(&fx);
  fx.cfg.read_from_head = true;
  struct buf b;
  buf_init(&b);
  for (int i = 0; i < 100000; i++) buf_printf(&b, "line %06d xxxxxxxxxxxxxxxxxxxx\n", i);
  append(&fx, "a.log", b.data);
  fx_start(&fx);
  tail_pause(fx.t, true);
  uv_run(&fx.loop, UV_RUN_NOWAIT);
  ASSERT_EQ_INT(fx.nlines, 0);
  tail_pause(fx.t, false);
  ASSERT_TRUE(wait_for(&fx, has_lines, 100000));
  ASSERT_EQ_INT(fx.nlines, 100000);
  char *tail = xasprintf(":%zu\n", b.len);
  ASSERT_TRUE(str_ends_with(logged(&fx), tail));
  ASSERT_TRUE(strstr(logged(&fx), "a.log:line 099999 xxxxxxxxxxxxxxxxxxxx:") != NULL);
  free(tail);
  buf_free(&b);
  fx_done(&fx);
}

static void test_bad_config(void) {
  uv_loop_t loop;
  struct tail *t = NULL;
  struct tail_config cfg;
  memset(&cfg, 0, sizeof cfg);
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  ASSERT_EQ_INT(tail_open(&loop, &cfg, &t), -EINVAL);
  const char *empty = "";
  cfg.patterns = &empty, cfg.npatterns = 1, cfg.on_line = on_line;
  ASSERT_EQ_INT(tail_open(&loop, &cfg, &t), -EINVAL);
  ASSERT_EQ_INT(uv_loop_close(&loop), 0);
}

int main(void) {
  test_bad_config();
  test_append_and_partial(true);
  test_append_and_partial(false);
  test_read_from_head();
  test_glob_new_file();
  test_rename_rotation();
  test_unterminated_line_of_rotated_file();
  test_rotated_name_matches_too();
  test_copytruncate();
  test_delete_recreate();
  test_start_offset();
  test_long_marker();
  test_inode_reuse();
  test_lookup();
  test_max_line();
  test_close_from_callback();
  test_pause_and_big_file();
  CHECK_DONE();
}

/* tail.c — following log files: glob rescans, line framing, rotation and truncation.
 *
 * A struct tail owns a list of open files (struct tfile), each with its fd, its read
 * position `pos` (next byte to read), its committed position `offset` (just after the
 * last complete line delivered or skipped), the bytes of an incomplete line (`part`,
 * which starts at `offset`), and the last TAIL_MARKER_LEN bytes before `offset` (`hist`,
 * whose hash is the offset marker). Invariant: offset <= pos, and offset == pos -
 * part.len unless a too-long line is being skipped.
 *
 * A file is "active" while it is the file at its path (the `active` map, by path) and
 * "rotated" once the path is gone or names another inode: a rotated file keeps its fd and
 * is read for rotate_wait_ms more (writers that still hold it), then its final
 * unterminated line, if any, is delivered and it is closed. If a rescan finds a rotated
 * file's inode under a new matching path, the file becomes active there again (it is
 * never read twice). Two paths with one inode (hard links) are read once.
 *
 * Work is driven by one repeating timer (poll: stat, fstat, read; rescan: glob every
 * rescan_ms) and one idle handle that runs a pass on the next loop turn when an fs event
 * fired or a file still had data after its read budget. Reads use synchronous uv_fs_read
 * on the loop thread: log files are local regular files (page cache), each read is at
 * most 64 KiB and each file at most TAIL_READ_BUDGET per turn, so the loop is never held
 * long, and there is no in-flight request to cancel at close. No file or handle memory
 * is freed outside a close callback, so callbacks may call tail_close() at any point.
 *
 * Not done here: committing offsets (the daemon does, after processing), decoding
 * (lines are bytes), following symlinked directories specially (glob(3) decides).
 * SPDX-License-Identifier: MIT
 */
#include "tail.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct tail;

struct tfile {
  uv_fs_event_t ev; /* freed in its close callback */
  struct tail *t;   /* borrowed: the tail outlives its files */
  char *path;       /* owned */
  uv_file fd;       /* -1 once closed */
  uint64_t dev, ino, pos, offset, size, rotated_at;
  struct buf part;  /* incomplete line, from offset */
  bool skipping, rotated, watched, closing, more, dirty;
  size_t hlen;
  unsigned char hist[TAIL_MARKER_LEN];
};

struct tdir {
  uv_fs_event_t ev; /* freed in its close callback */
  struct tail *t;
};

struct tail {
  uv_loop_t *loop;
  struct tail_config cfg; /* patterns point into `patterns` */
  char **patterns;        /* owned copies */
  uv_timer_t timer;
  uv_idle_t idle;
  struct vec files;     /* struct tfile *, not closing */
  struct vec dirs;      /* struct tdir * */
  struct hmap active;   /* path -> struct tfile * (borrowed from files) */
  struct hmap starts;   /* path -> struct tail_start * (owned) */
  struct hmap reported; /* path or pattern -> non-NULL: failure already reported */
  char *chunk;          /* TAIL_READ_CHUNK bytes, one read at a time */
  uint64_t last_scan;
  bool scanned, rescan_now, kick_all, paused, closing;
  int handles; /* live uv handles; the tail is freed when closing and 0 */
  tail_close_cb close_cb;
  const struct tfile *cur; /* file whose line is being delivered, else NULL */
  struct tail_stats st;
};

static void report(struct tail *t, const char *path, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(struct tail *t, const char *path, int code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (code < 0) t->st.errors++;
  if (t->cfg.on_error) t->cfg.on_error(path, code, msg, t->cfg.ud);
}

/* Reports a failure about key once until forget_failure(key). */
static void report_once(struct tail *t, const char *key, int code, const char *what) {
  void **slot = hmap_put(&t->reported, key, strlen(key));
  if (*slot) return;
  *slot = t;
  report(t, key, code, "%s %s: %s", what, key, uv_strerror(code));
}

static void forget_failure(struct tail *t, const char *key) {
  hmap_del(&t->reported, key, strlen(key));
}

static void on_idle(uv_idle_t *h);

/* Runs a pass on the next loop turn. If the idle handle cannot start, the poll timer
 * still comes (uv_idle_start only fails on a closing handle). */
static void kick(struct tail *t) {
  if (!t->closing) (void)uv_idle_start(&t->idle, on_idle);
}

static void tail_free(struct tail *t);

/* One of the tail's uv handles is closed; the last one after tail_close frees it. */
static void handle_gone(struct tail *t) {
  if (--t->handles == 0 && t->closing) tail_free(t);
}

/* {==================== reading and framing ==================== */

static void hist_feed(struct tfile *f, const char *p, size_t n) {
  if (n == 0) return;
  if (n >= TAIL_MARKER_LEN) {
    memcpy(f->hist, p + n - TAIL_MARKER_LEN, TAIL_MARKER_LEN);
    f->hlen = TAIL_MARKER_LEN;
    return;
  }
  if (f->hlen + n > TAIL_MARKER_LEN) {
    size_t drop = f->hlen + n - TAIL_MARKER_LEN;
    memmove(f->hist, f->hist + drop, f->hlen - drop);
    f->hlen -= drop;
  }
  memcpy(f->hist + f->hlen, p, n);
  f->hlen += n;
}

static void deliver(struct tail *t, struct tfile *f, const char *line, size_t len) {
  t->cur = f;
  t->st.lines++;
  t->cfg.on_line(f->path, line, len, f->offset, t->cfg.ud);
  t->cur = NULL;
}

/* Frames the n bytes of data, which sit at file offset base. */
static void consume(struct tail *t, struct tfile *f, const char *data, size_t n,
                    uint64_t base) {
  size_t i = 0;
  while (i < n && !t->closing && !f->closing) {
    const char *nl = memchr(data + i, '\n', n - i);
    size_t seg = nl ? (size_t)(nl - (data + i)) : n - i, take = seg + (nl ? 1 : 0);
    if (f->skipping) {
      hist_feed(f, data + i, take);
      if (nl) f->skipping = false, f->offset = base + i + take;
      i += take;
      continue;
    }
    if (f->part.len + seg > t->cfg.max_line) {
      t->st.skipped++;
      report(t, f->path, -EMSGSIZE, "line at offset %llu longer than %zu bytes: skipped",
             (unsigned long long)f->offset, t->cfg.max_line);
      hist_feed(f, f->part.data, f->part.len);
      f->part.len = 0;
      f->skipping = true;
      continue;
    }
    if (!nl) {
      buf_append(&f->part, data + i, seg);
      break;
    }
    const char *line = data + i;
    size_t len = seg;
    if (f->part.len) {
      buf_append(&f->part, data + i, seg);
      line = f->part.data, len = f->part.len;
    }
    f->offset = base + i + take;
    hist_feed(f, line, len);
    hist_feed(f, "\n", 1);
    i += take;
    deliver(t, f, line, len);
    f->part.len = 0;
  }
  if (f->part.cap > 4 * TAIL_READ_CHUNK && f->part.len == 0) buf_free(&f->part);
}

/* Reads the file up to TAIL_READ_BUDGET bytes; f->more says whether it stopped early. */
static int file_read(struct tail *t, struct tfile *f) {
  size_t budget = TAIL_READ_BUDGET;
  f->more = false;
  while (!t->closing && !f->closing && !t->paused) {
    if (budget == 0) {
      f->more = true;
      break;
    }
    uv_fs_t req;
    uv_buf_t b = uv_buf_init(t->chunk, (unsigned)TAIL_READ_CHUNK);
    int r = uv_fs_read(t->loop, &req, f->fd, &b, 1, (int64_t)f->pos, NULL);
    uv_fs_req_cleanup(&req);
    if (r < 0) return r;
    if (r == 0) break;
    uint64_t base = f->pos;
    f->pos += (uint64_t)r;
    if (f->pos > f->size) f->size = f->pos;
    t->st.bytes += (uint64_t)r;
    budget -= (size_t)r < budget ? (size_t)r : budget;
    consume(t, f, t->chunk, (size_t)r, base);
  }
  return 0;
}

/* Reads the n <= TAIL_MARKER_LEN bytes before off into f->hist. */
static int seed_hist(struct tail *t, struct tfile *f, uint64_t off) {
  size_t n = off < TAIL_MARKER_LEN ? (size_t)off : TAIL_MARKER_LEN;
  f->hlen = 0;
  if (n == 0) return 0;
  uv_fs_t req;
  uv_buf_t b = uv_buf_init((char *)f->hist, (unsigned)n);
  int r = uv_fs_read(t->loop, &req, f->fd, &b, 1, (int64_t)(off - n), NULL);
  uv_fs_req_cleanup(&req);
  if (r < 0) return r;
  if ((size_t)r != n) return -EIO;
  f->hlen = n;
  return 0;
}

/* }==================== */

/* {==================== files ==================== */

static void on_tail_handle_close(uv_handle_t *h);

static void on_file_close(uv_handle_t *h) {
  struct tfile *f = h->data;
  struct tail *t = f->t;
  buf_free(&f->part);
  free(f->path);
  free(f);
  handle_gone(t);
}

static void fd_close(struct tail *t, struct tfile *f) {
  if (f->fd < 0) return;
  uv_fs_t req;
  int r = uv_fs_close(t->loop, &req, f->fd, NULL);
  uv_fs_req_cleanup(&req);
  if (r < 0 && !t->closing) report(t, f->path, r, "close %s: %s", f->path, uv_strerror(r));
  f->fd = -1;
}

/* Closes f's fd and handle; the memory goes in on_file_close. */
static void file_close(struct tail *t, struct tfile *f) {
  if (f->closing) return;
  f->closing = true;
  if (!f->rotated) {
    void *cur = hmap_get(&t->active, f->path, strlen(f->path));
    if (cur == f) hmap_del(&t->active, f->path, strlen(f->path));
  }
  fd_close(t, f);
  uv_close((uv_handle_t *)&f->ev, on_file_close);
}

static void on_file_event(uv_fs_event_t *ev, const char *name, int events, int status) {
  struct tfile *f = ev->data;
  (void)name, (void)events;
  if (f->closing) return;
  if (status < 0) { /* the timer's polling carries on */
    if (uv_fs_event_stop(ev) == 0) f->watched = false;
    return;
  }
  f->dirty = true;
  kick(f->t);
}

/* Chooses where a newly opened file starts: a saved position that still applies, else
 * its end (present at the first scan, not read_from_head) or its start. */
static int file_start(struct tail *t, struct tfile *f, bool first) {
  struct tail_start s, *sp = hmap_del(&t->starts, f->path, strlen(f->path));
  bool have = false;
  if (sp) s = *sp, free(sp), have = true;
  else if (t->cfg.lookup && t->cfg.lookup(f->path, &s, t->cfg.ud) == 0) have = true;
  f->pos = 0;
  if (have) {
    if (s.dev == f->dev && s.ino == f->ino && s.offset <= f->size) {
      int r = seed_hist(t, f, s.offset);
      if (r < 0) return r;
      if (hash_bytes(f->hist, f->hlen) == s.marker) {
        f->pos = s.offset;
      } else {
        f->hlen = 0;
        report(t, f->path, 0, "saved offset %llu of %s: marker differs (inode reused or "
               "file rewritten), reading from start", (unsigned long long)s.offset, f->path);
      }
    } else {
      report(t, f->path, 0, "saved offset %llu of %s: another file or past its end, "
             "reading from start", (unsigned long long)s.offset, f->path);
    }
  } else if (first && !t->cfg.read_from_head) {
    int r = seed_hist(t, f, f->size);
    if (r < 0) return r;
    f->pos = f->size;
  }
  f->offset = f->pos;
  return 0;
}

static int fd_stat(struct tail *t, uv_file fd, uv_stat_t *st) {
  uv_fs_t req;
  int r = uv_fs_fstat(t->loop, &req, fd, NULL);
  if (r == 0) *st = req.statbuf;
  uv_fs_req_cleanup(&req);
  return r;
}

static int path_stat(struct tail *t, const char *path, uv_stat_t *st) {
  uv_fs_t req;
  int r = uv_fs_stat(t->loop, &req, path, NULL);
  if (r == 0) *st = req.statbuf;
  uv_fs_req_cleanup(&req);
  return r;
}

/* Opens path as a new file; failures are reported once per path. */
static void file_open(struct tail *t, const char *path, bool first) {
  struct tfile *f = NULL;
  uv_fs_t req;
  uv_stat_t st;
  memset(&st, 0, sizeof st);
  int fd = uv_fs_open(t->loop, &req, path, O_RDONLY | O_CLOEXEC, 0, NULL);
  uv_fs_req_cleanup(&req);
  if (fd < 0) {
    report_once(t, path, fd, "open");
    return;
  }
  int r = fd_stat(t, fd, &st);
  if (r < 0) goto fail;
  f = xcalloc(1, sizeof *f);
  f->t = t;
  f->fd = fd;
  f->path = xstrdup(path);
  f->dev = st.st_dev, f->ino = st.st_ino, f->size = st.st_size;
  buf_init(&f->part);
  r = file_start(t, f, first);
  if (r < 0) goto fail;
  r = uv_fs_event_init(t->loop, &f->ev);
  if (r < 0) goto fail;
  f->ev.data = f;
  t->handles++;
  if (!t->cfg.no_fs_events) f->watched = uv_fs_event_start(&f->ev, on_file_event, path, 0) == 0;
  vec_push(&t->files, f);
  *hmap_put(&t->active, f->path, strlen(f->path)) = f;
  forget_failure(t, path);
  f->dirty = true;
  return;
fail:
  report_once(t, path, r, "start reading");
  if (f) {
    buf_free(&f->part);
    free(f->path);
    free(f);
  }
  uv_fs_close(t->loop, &req, fd, NULL);
  uv_fs_req_cleanup(&req);
}

static struct tfile *find_identity(struct tail *t, uint64_t dev, uint64_t ino) {
  for (size_t i = 0; i < t->files.len; i++) {
    struct tfile *f = t->files.items[i];
    if (!f->closing && f->dev == dev && f->ino == ino) return f;
  }
  return NULL;
}

/* A matching path we do not follow yet: a rotated file of ours moved there, another name
 * of a file we read (skipped), or a new file. */
static void attach(struct tail *t, const char *path, const uv_stat_t *st, bool first) {
  struct tfile *f = find_identity(t, st->st_dev, st->st_ino);
  if (!f) {
    file_open(t, path, first);
    return;
  }
  if (!f->rotated) return;
  free(f->path);
  f->path = xstrdup(path);
  f->rotated = false;
  *hmap_put(&t->active, f->path, strlen(f->path)) = f;
  f->dirty = true;
}

static void file_rotate(struct tail *t, struct tfile *f, const char *why) {
  hmap_del(&t->active, f->path, strlen(f->path));
  f->rotated = true;
  f->rotated_at = uv_now(t->loop);
  t->st.rotations++;
  report(t, f->path, 0, "%s %s: reading the old file for %u ms more", f->path, why,
         t->cfg.rotate_wait_ms);
}

/* The last turn of a rotated file: its unterminated last line, then close. */
static void file_drop(struct tail *t, struct tfile *f) {
  if (f->part.len && !f->skipping) {
    f->offset = f->pos;
    deliver(t, f, f->part.data, f->part.len);
    f->part.len = 0;
  }
  file_close(t, f);
}

static void file_check(struct tail *t, struct tfile *f) {
  uv_stat_t st;
  memset(&st, 0, sizeof st);
  if (!f->rotated) {
    int r = path_stat(t, f->path, &st);
    if (r == UV_ENOENT || r == UV_ENOTDIR) {
      file_rotate(t, f, "was deleted or renamed");
    } else if (r == 0 && (st.st_dev != f->dev || st.st_ino != f->ino)) {
      char *path = xstrdup(f->path);
      file_rotate(t, f, "now names another file");
      attach(t, path, &st, false);
      free(path);
    }
  }
  int r = fd_stat(t, f->fd, &st);
  if (r == 0) {
    if (st.st_size < f->pos) {
      t->st.truncations++;
      report(t, f->path, 0, "%s truncated (size %llu < offset %llu): reading from start",
             f->path, (unsigned long long)st.st_size, (unsigned long long)f->pos);
      f->pos = f->offset = 0;
      f->part.len = 0, f->hlen = 0, f->skipping = false;
    }
    f->size = st.st_size;
  }
  if (r == 0) r = file_read(t, f);
  if (r < 0) report_once(t, f->path, r, "read");
  if (t->closing || f->closing) return;
  if (f->rotated && !f->more && uv_now(t->loop) - f->rotated_at >= t->cfg.rotate_wait_ms)
    file_drop(t, f);
}

/* }==================== */

/* {==================== scan and passes ==================== */

static void scan(struct tail *t, bool first) {
  for (size_t p = 0; p < t->cfg.npatterns && !t->closing; p++) {
    glob_t g;
    int rc = glob(t->patterns[p], 0, NULL, &g);
    if (rc == GLOB_NOSPACE || rc == GLOB_ABORTED)
      report_once(t, t->patterns[p], rc == GLOB_NOSPACE ? UV_ENOMEM : UV_EIO, "glob");
    for (size_t i = 0; rc == 0 && i < g.gl_pathc && !t->closing; i++) {
      const char *path = g.gl_pathv[i];
      uv_stat_t st;
      memset(&st, 0, sizeof st);
      if (hmap_get(&t->active, path, strlen(path))) continue;
      if (path_stat(t, path, &st) != 0 || (st.st_mode & S_IFMT) != S_IFREG) continue;
      attach(t, path, &st, first);
    }
    if (rc == 0) globfree(&g);
  }
}

/* One pass: rescan if due, then check the files (all, or those with news). */
static void pass(struct tail *t, bool all) {
  uint64_t now = uv_now(t->loop);
  bool more = false;
  if (!t->scanned || t->rescan_now || now - t->last_scan >= t->cfg.rescan_ms) {
    scan(t, !t->scanned);
    t->scanned = true, t->rescan_now = false, t->last_scan = now;
  }
  for (size_t i = 0; i < t->files.len && !t->closing && !t->paused; i++) {
    struct tfile *f = t->files.items[i];
    if (f->closing || !(all || f->dirty || f->more || f->rotated)) continue;
    f->dirty = false;
    file_check(t, f);
    more = more || (!f->closing && f->more);
  }
  if (t->closing) return;
  size_t j = 0;
  for (size_t i = 0; i < t->files.len; i++) {
    struct tfile *f = t->files.items[i];
    if (!f->closing) t->files.items[j++] = f;
  }
  t->files.len = j;
  if (more) kick(t);
}

static void on_timer(uv_timer_t *h) { pass(h->data, true); }

static void on_idle(uv_idle_t *h) {
  struct tail *t = h->data;
  bool all = t->kick_all;
  t->kick_all = false;
  if (uv_idle_stop(h) != 0) return;
  pass(t, all);
}

static void on_dir_event(uv_fs_event_t *ev, const char *name, int events, int status) {
  struct tdir *d = ev->data;
  (void)name;
  if (status < 0) {
    (void)uv_fs_event_stop(ev); /* the rescan timer carries on */
    return;
  }
  if (!(events & UV_RENAME)) return; /* a write to a file: its own watch sees it */
  d->t->rescan_now = true;
  kick(d->t);
}

static void on_dir_close(uv_handle_t *h) {
  struct tdir *d = h->data;
  struct tail *t = d->t;
  free(d);
  handle_gone(t);
}

/* Watches the directory of each pattern whose directory part has no wildcard. */
static void watch_dirs(struct tail *t) {
  struct hmap seen;
  hmap_init(&seen);
  for (size_t p = 0; p < t->cfg.npatterns; p++) {
    char *dir = xstrdup(t->patterns[p]), *slash = strrchr(dir, '/');
    if (slash == dir) slash[1] = '\0';
    else if (slash) *slash = '\0';
    else strcpy(dir, ".");
    void **slot = hmap_put(&seen, dir, strlen(dir));
    if (!*slot && !strpbrk(dir, "*?[")) {
      *slot = t;
      struct tdir *d = xcalloc(1, sizeof *d);
      d->t = t;
      d->ev.data = d;
      if (uv_fs_event_init(t->loop, &d->ev) != 0) {
        free(d);
      } else {
        t->handles++;
        vec_push(&t->dirs, d);
        (void)uv_fs_event_start(&d->ev, on_dir_event, dir, 0); /* else: rescan timer */
      }
    }
    free(dir);
  }
  hmap_free(&seen);
}

/* }==================== */

/* {==================== public API ==================== */

int tail_open(uv_loop_t *loop, const struct tail_config *cfg, struct tail **out) {
  if (!loop || !cfg || !out || !cfg->on_line || !cfg->patterns || cfg->npatterns == 0)
    return -EINVAL;
  for (size_t i = 0; i < cfg->npatterns; i++)
    if (!cfg->patterns[i] || !cfg->patterns[i][0]) return -EINVAL;
  struct tail *t = xcalloc(1, sizeof *t);
  int r;
  t->loop = loop;
  t->cfg = *cfg;
  if (!t->cfg.max_line) t->cfg.max_line = TAIL_MAX_LINE;
  if (!t->cfg.rescan_ms) t->cfg.rescan_ms = TAIL_RESCAN_MS;
  if (!t->cfg.poll_ms) t->cfg.poll_ms = TAIL_POLL_MS;
  if (!t->cfg.rotate_wait_ms) t->cfg.rotate_wait_ms = TAIL_ROTATE_WAIT_MS;
  t->patterns = xcalloc(cfg->npatterns, sizeof *t->patterns);
  for (size_t i = 0; i < cfg->npatterns; i++) t->patterns[i] = xstrdup(cfg->patterns[i]);
  t->cfg.patterns = (const char *const *)t->patterns;
  hmap_init(&t->active);
  hmap_init(&t->starts);
  hmap_init(&t->reported);
  t->chunk = xmalloc(TAIL_READ_CHUNK);
  if ((r = uv_timer_init(loop, &t->timer)) != 0) goto fail;
  t->timer.data = t;
  t->handles++;
  if ((r = uv_idle_init(loop, &t->idle)) != 0) goto fail_timer;
  t->idle.data = t;
  t->handles++;
  if ((r = uv_timer_start(&t->timer, on_timer, 0, t->cfg.poll_ms)) != 0) goto fail_idle;
  if (!t->cfg.no_fs_events) watch_dirs(t);
  *out = t;
  return 0;
fail_idle:
  uv_close((uv_handle_t *)&t->idle, on_tail_handle_close);
fail_timer:
  uv_close((uv_handle_t *)&t->timer, on_tail_handle_close);
  t->closing = true; /* freed by the close callbacks, with no user callback */
  return r;
fail:
  for (size_t i = 0; i < cfg->npatterns; i++) free(t->patterns[i]);
  free(t->patterns);
  free(t->chunk);
  hmap_free(&t->active);
  hmap_free(&t->starts);
  hmap_free(&t->reported);
  free(t);
  return r;
}

int tail_set_start(struct tail *t, const char *path, uint64_t dev, uint64_t ino,
                   uint64_t offset, uint64_t marker) {
  if (!t || !path || !path[0] || t->closing) return -EINVAL;
  void **slot = hmap_put(&t->starts, path, strlen(path));
  struct tail_start *s = *slot ? *slot : xmalloc(sizeof *s);
  s->dev = dev, s->ino = ino, s->offset = offset, s->marker = marker;
  *slot = s;
  return 0;
}

int tail_position(const struct tail *t, struct tail_pos *out) {
  const struct tfile *f = t ? t->cur : NULL;
  if (!f || !out) return -EINVAL;
  out->dev = f->dev, out->ino = f->ino, out->offset = f->offset;
  out->marker = hash_bytes(f->hist, f->hlen);
  out->marker_len = (uint32_t)f->hlen;
  out->rotated = f->rotated;
  return 0;
}

void tail_pause(struct tail *t, bool paused) {
  if (!t || t->closing || t->paused == paused) return;
  t->paused = paused;
  if (!paused) {
    t->kick_all = true;
    kick(t);
  }
}

void tail_stats(const struct tail *t, struct tail_stats *out) {
  *out = t->st;
  out->files = 0;
  for (size_t i = 0; i < t->files.len; i++)
    if (!((struct tfile *)t->files.items[i])->closing) out->files++;
}

void tail_each_file(const struct tail *t, tail_stat_cb cb, void *ud) {
  for (int rotated = 0; rotated < 2; rotated++) {
    for (size_t i = 0; i < t->files.len; i++) {
      const struct tfile *f = t->files.items[i];
      if (f->closing || f->rotated != (rotated == 1)) continue;
      struct tail_file_stat s = {f->path, f->dev, f->ino, f->offset, f->size,
                                 f->rotated, f->watched};
      cb(&s, ud);
    }
  }
}

static void tail_free(struct tail *t) {
  tail_close_cb cb = t->close_cb;
  void *ud = t->cfg.ud;
  for (size_t i = 0; i < t->cfg.npatterns; i++) free(t->patterns[i]);
  free(t->patterns);
  free(t->chunk);
  for (size_t i = 0; i < t->starts.cap; i++)
    if (t->starts.slots[i].key) free(t->starts.slots[i].value);
  hmap_free(&t->active);
  hmap_free(&t->starts);
  hmap_free(&t->reported);
  vec_free(&t->files);
  vec_free(&t->dirs);
  free(t);
  if (cb) cb(ud);
}

static void on_tail_handle_close(uv_handle_t *h) { handle_gone(h->data); }

void tail_close(struct tail *t, tail_close_cb cb) {
  if (!t || t->closing) return;
  t->closing = true;
  t->close_cb = cb;
  for (size_t i = 0; i < t->files.len; i++) file_close(t, t->files.items[i]);
  for (size_t i = 0; i < t->dirs.len; i++) {
    struct tdir *d = t->dirs.items[i];
    uv_close((uv_handle_t *)&d->ev, on_dir_close);
  }
  uv_close((uv_handle_t *)&t->idle, on_tail_handle_close);
  uv_close((uv_handle_t *)&t->timer, on_tail_handle_close);
}

/* }==================== */

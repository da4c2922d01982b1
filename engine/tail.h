/* tail.h — following log files on libuv: glob patterns, line framing, rename rotation,
 * copytruncate, deletion, and file identity (device + inode + offset marker).
 *
 * A struct tail watches the files matching a set of glob(3) patterns and hands every
 * complete line to one callback, on the loop thread, with the file offset just after the
 * line's newline. It never touches the store: the daemon commits an offset once the
 * lines before it are processed, and hands saved offsets back with tail_set_start() (or
 * the lookup callback) when it starts. Behaviour and guarantees: docs/tail.md.
 *
 * Everything runs on the loop thread: no function is thread-safe. Callbacks are only
 * called from libuv callbacks, never from inside tail_open/tail_set_start/tail_close.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_TAIL_H
#define LP0_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* Defaults, used for every config field left at 0. */
#define TAIL_MAX_LINE ((size_t)1024 * 1024) /* bytes of one line, newline excluded */
#define TAIL_RESCAN_MS 1000u     /* glob rescan period (new files) */
#define TAIL_POLL_MS 250u        /* stat/read poll period (fallback for fs events) */
#define TAIL_ROTATE_WAIT_MS 5000u /* a rotated/deleted file is still read this long */
#define TAIL_MARKER_LEN 256u     /* bytes hashed before an offset (inode reuse check) */
#define TAIL_READ_CHUNK ((size_t)64 * 1024)  /* one read */
#define TAIL_READ_BUDGET ((size_t)1024 * 1024) /* bytes per file per loop turn */

struct tail; /* opaque; created by tail_open(), freed by tail_close() */

/* A complete line of path (without its '\n'; a '\r' before it is kept). line is
 * borrowed for the call. end_offset is the file offset just after the newline: once
 * this line is processed, resuming at end_offset loses nothing and repeats nothing. */
typedef void (*tail_line_cb)(const char *path, const char *line, size_t len,
                             uint64_t end_offset, void *ud);
/* A problem with path (NULL for the tail as a whole). code < 0 is an error (-EMSGSIZE:
 * a line over max_line was skipped; -EACCES, -EIO...: a file could not be opened/read;
 * -EINVAL: a bad pattern); code == 0 is a notice (rotation, truncation, saved offset not
 * applicable). Each distinct failure to open a path is reported once until it succeeds. */
typedef void (*tail_error_cb)(const char *path, int code, const char *msg, void *ud);

/* A saved position, as the store keeps it (struct store_offset). The marker is
 * hash_bytes() (util.h) of the min(offset, TAIL_MARKER_LEN) bytes before offset. */
struct tail_start {
  uint64_t dev, ino;
  uint64_t offset;
  uint64_t marker;
};
/* Optional: asked for the saved position of a path each time a new file is opened there
 * (unless tail_set_start gave one). Return 0 and fill *out, or -ENOENT for none. */
typedef int (*tail_lookup_cb)(const char *path, struct tail_start *out, void *ud);

struct tail_config {
  const char *const *patterns; /* glob(3) patterns, copied by tail_open */
  size_t npatterns;
  tail_line_cb on_line;   /* required */
  tail_error_cb on_error; /* may be NULL */
  tail_lookup_cb lookup;  /* may be NULL */
  void *ud;               /* passed to every callback */
  size_t max_line;        /* 0 = TAIL_MAX_LINE */
  unsigned rescan_ms;     /* 0 = TAIL_RESCAN_MS */
  unsigned poll_ms;       /* 0 = TAIL_POLL_MS */
  unsigned rotate_wait_ms; /* 0 = TAIL_ROTATE_WAIT_MS */
  bool read_from_head;    /* files present at the first scan: from their start, not end */
  bool no_fs_events;      /* polling only (tests, filesystems without inotify) */
};

/* Where the line being delivered ends, with everything the store needs to resume there
 * (struct store_offset: dev, ino, offset, marker, marker_len). */
struct tail_pos {
  uint64_t dev, ino;
  uint64_t offset;     /* == end_offset of the current line */
  uint64_t marker;
  uint32_t marker_len; /* min(offset, TAIL_MARKER_LEN) */
  bool rotated;        /* the file no longer is at its path: see docs/tail.md */
};

/* Per-file figures for /metrics; path is borrowed for the callback. */
struct tail_file_stat {
  const char *path;
  uint64_t dev, ino;
  uint64_t offset; /* end of the last complete line delivered or skipped */
  uint64_t size;   /* size at the last stat; lag = size - offset */
  bool rotated;    /* still draining a rotated or deleted file */
  bool watched;    /* an fs event watch works for it (else polling only) */
};
typedef void (*tail_stat_cb)(const struct tail_file_stat *s, void *ud);

struct tail_stats {
  uint64_t lines, bytes;         /* delivered lines, and bytes read */
  uint64_t skipped;              /* lines over max_line */
  uint64_t rotations, truncations, errors;
  size_t files;                  /* files open now (including rotated ones) */
};

/* Validates cfg (-EINVAL: no pattern, no on_line, an empty pattern), copies it and
 * starts the timer and directory watches. The first scan runs on the first loop turn,
 * so tail_set_start() calls made right after tail_open apply to the files present then.
 * On success *out is a new tail, freed by tail_close(). */
int tail_open(uv_loop_t *loop, const struct tail_config *cfg, struct tail **out);

/* Records the saved position of path (copied), used the next time a file is opened at
 * path, then forgotten. It applies when dev and ino match, offset <= size and the
 * marker matches the file's bytes; otherwise the file is read from its start (a notice
 * says why). */
int tail_set_start(struct tail *t, const char *path, uint64_t dev, uint64_t ino,
                   uint64_t offset, uint64_t marker);

/* Only inside tail_line_cb: the position just after the current line. -EINVAL outside. */
int tail_position(const struct tail *t, struct tail_pos *out);

/* Stops (true) or resumes (false) reading; files are still tracked. For backpressure. */
void tail_pause(struct tail *t, bool paused);

void tail_stats(const struct tail *t, struct tail_stats *out);
/* Calls cb for every open file (active ones first, by open order). */
void tail_each_file(const struct tail *t, tail_stat_cb cb, void *ud);

typedef void (*tail_close_cb)(void *ud);
/* Closes every file and handle; no callback but cb runs afterwards. cb (may be NULL)
 * runs with cfg.ud once every handle is closed and the tail freed, from a close
 * callback. May be called from inside tail_line_cb. */
void tail_close(struct tail *t, tail_close_cb cb);

#endif

/* replay.h — `lp0 replay`: evaluating log files through the detections, with the same
 * dedup/threshold code as the daemon, on N worker threads, with output independent of N.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_REPLAY_H
#define LP0_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

struct replay_opts {
  char **detections; /* folders or files (borrowed) */
  size_t ndetections;
  char **files; /* inputs; "-" = stdin (borrowed) */
  size_t nfiles;
  const char *log_type; /* NULL = classify each event by shape */
  const char *output;   /* NULL = stdout */
  int workers;          /* >= 1 */
  bool progress;        /* a progress line on stderr */
  bool stats;           /* per-detection cost table on stderr */
  double lateness;      /* seconds windows wait for late events */
  const char *suppressions; /* a suppressions file, or NULL */
};

/* Runs a replay; returns the process exit code (0, 1 unreadable/malformed input, 2 setup). */
int replay_run(const struct replay_opts *o);

#endif

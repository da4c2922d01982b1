/* daemon.h — `lp0 run`: the production mode. Webhook ingest over HTTP, detection on
 * worker threads, dedup and alerting on the loop thread, alerts in the SQLite store and
 * the alert log. Shares batch evaluation, detections and dedup with `lp0 replay`.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_DAEMON_H
#define LP0_DAEMON_H

#include <stddef.h>

struct dmn_opts {
  const char *listen;    /* "host:port" */
  const char *state_dir; /* the store is <state_dir>/lp0.db */
  char **detections;     /* borrowed */
  size_t ndetections;
  int workers;
  const char *port_file; /* when set, the bound port is written there (tests, port 0) */
  const char *alert_log; /* NULL or "-" = stderr; else a file appended to */
};

/* Runs until SIGINT/SIGTERM; returns the exit code (0 after a clean drain). */
int dmn_run(const struct dmn_opts *o);

#endif

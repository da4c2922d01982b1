/* daemon.h — `lp0 run`: the production mode. Webhook ingest over HTTP, detection on
 * worker threads, dedup and alerting on the loop thread, alerts in the SQLite store and
 * the alert log. Shares batch evaluation, detections and dedup with `lp0 replay`.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_DAEMON_H
#define LP0_DAEMON_H

#include <stddef.h>

struct cfg;

/* Runs with a validated configuration (config.h; borrowed) until SIGINT/SIGTERM; returns
 * the exit code (0 after a clean drain, 2 when it cannot start). port_file, when not
 * NULL, receives the bound port (for listen ports of 0). */
int dmn_run(const struct cfg *cfg, const char *port_file);

#endif

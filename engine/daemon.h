/* daemon.h — `lp0 run`: the production mode. Webhook ingest over HTTP, detection on
 * worker threads, dedup and alerting on the loop thread, alerts in the SQLite store and
 * the alert log. Shares batch evaluation, detections and dedup with `lp0 replay`.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_DAEMON_H
#define LP0_DAEMON_H

#include <stddef.h>

struct cfg_overrides;

/* Loads the configuration (config_file, NULL for the embedded defaults, then the
 * command-line overrides: cfg_build) and runs until SIGINT/SIGTERM; SIGHUP and
 * POST /-/reload load both again. Returns the exit code (0 after a clean drain, 2 when
 * it cannot start). port_file, when not NULL, receives the bound port (for listen ports
 * of 0). Arguments are borrowed for the whole run. */
int dmn_run(const char *config_file, const struct cfg_overrides *ov, const char *port_file);

#endif

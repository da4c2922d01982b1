/* alert.h — the alert record as written by lp0 replay, the daemon's alert log and the
 * store: one JSON object per alert. Schema: docs/alerts.md.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_ALERT_H
#define LP0_ALERT_H

#include <cjson/cJSON.h>

#include "dedup.h"
#include "detect.h"

/* Builds the alert object of a closed window of detection d (caller owns the result). */
cJSON *alert_build(const struct dedup_window *w, const struct det *d);

#endif

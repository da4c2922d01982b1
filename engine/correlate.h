/* correlate.h — the state of stateful patterns: sequences, beacons and entity risk.
 *
 * Detections declare patterns (detect.h: struct det_corr, struct det_risk); workers
 * compute, for each match, the group (or entity) keys the patterns need; this module,
 * fed the matches in merge order on one thread, keeps per-group state on event time and
 * turns completed patterns into alerts: synthetic matches of the pattern's detection,
 * which then go through dedup like any match. The same code runs in lp0 test, lp0 replay
 * and the daemon, so they agree. See docs/correlation.md for the semantics.
 *
 * State is bounded: each pattern keeps at most max_groups groups (over it, the least
 * recently updated tenth is evicted, and counted), each group a bounded number of items, and groups
 * expire when event time passes their window. It is persisted by the daemon through
 * cor_save / cor_restore (the store's correlation table) and survives restarts.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_CORRELATE_H
#define LP0_CORRELATE_H

#include <stdbool.h>
#include <stddef.h>

#include "detect.h"
#include "util.h"

struct cor; /* opaque; cor_new() / cor_free() */

/* track_dirty: the caller saves the state (cor_save), so changes are listed as they
 * happen and a save costs what changed; replay and tests pass false. */
struct cor *cor_new(bool track_dirty);
void cor_free(struct cor *c);

/* Feeds match m (borrowed) of a detection of set: its sequence groups (m->keys), its
 * beacon group, its risk entity (m->entity). Completed patterns are appended to alerts
 * as new matches (taken by the caller) whose det is the pattern's detection. */
void cor_observe(struct cor *c, const struct det_set *set, const struct det_match *m,
                 struct vec *alerts);
/* Event time reached t: drops groups whose window has passed. */
void cor_advance(struct cor *c, const struct det_set *set, double t);

size_t cor_groups(const struct cor *c);
/* Groups kept and groups evicted (over max_groups) for detection index det. */
void cor_stats(const struct cor *c, int det, size_t *groups, unsigned long long *evictions);

/* Persistence. cor_save calls cb for every group changed since the last save (every
 * group with all: a reload moves the state to a new set through save and restore), with
 * its JSON state, and for every group dropped since, with state NULL. det_id "" is the
 * shared risk state of an entity. A non-zero return from cb stops and is returned. */
typedef int (*cor_save_cb)(const char *det_id, const char *group, const char *state, void *ud);
int cor_save(struct cor *c, const struct det_set *set, bool all, cor_save_cb cb, void *ud);
/* Puts back a saved group. Returns 0, or -1 when its detection is gone or is no longer
 * the same kind of pattern, or the state is unreadable (the caller deletes the row). */
int cor_restore(struct cor *c, const struct det_set *set, const char *det_id, const char *group,
                const char *state);
#endif

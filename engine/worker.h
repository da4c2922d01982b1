/* worker.h — the daemon's detection threads.
 *
 * N threads, each with its own det_set (one Lua state) loaded from the same detection
 * paths, evaluate batches submitted from the loop thread. Finished batches come back to
 * the loop thread through a uv_async_t, in submission order, so dedup and the store are
 * only ever touched by the loop thread and no Lua runs inside a libuv callback.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_WORKER_H
#define LP0_WORKER_H

#include <stddef.h>
#include <uv.h>

#include "batch.h"
#include "detect.h"

struct wrk_pool;

/* Called on the loop thread with each evaluated batch, in submission order; the batch is
 * the callback's (free with batch_free). */
typedef void (*wrk_done_cb)(struct batch *b, void *ud);
typedef void (*wrk_closed_cb)(void *ud);

/* Loads the detections once per worker and starts the threads. On failure returns a
 * negative code with *errmsg (free()), after printing load problems with log_error.
 * The pool belongs to the caller until wrk_pool_close. */
struct lkp_set;
struct sup_set;
/* lookups (a reference is taken per worker; NULL: found beside the paths) and sup (may be
 * NULL; borrowed: it must outlive the pool's threads, i.e. until wrk_pool_drain) are
 * given to every worker's detection set. */
int wrk_pool_new(uv_loop_t *loop, int nworkers, char *const *paths, size_t npaths,
                 struct lkp_set *lookups, struct sup_set *sup, wrk_done_cb done, void *ud,
                 struct wrk_pool **out, char **errmsg);
/* Queues b (taken until it comes back through the done callback). Loop thread only. */
void wrk_submit(struct wrk_pool *p, struct batch *b);
/* Batches submitted and not yet handed back. */
size_t wrk_pending(const struct wrk_pool *p);
/* The detections (metadata only: ids, thresholds...) of worker 0. Loop thread only. */
const struct det_set *wrk_detections(const struct wrk_pool *p);
/* Finishes the queued batches (handing them back through the done callback) and stops
 * the threads; the detections stay readable until wrk_pool_close. Loop thread only. */
void wrk_pool_drain(struct wrk_pool *p);
/* Finishes the queued batches (handing them back), stops the threads and frees the pool
 * once its handle is closed; then calls closed (may be NULL). */
void wrk_pool_close(struct wrk_pool *p, wrk_closed_cb closed, void *ud);

#endif

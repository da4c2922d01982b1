/* plug.h — smart plug control with safety rules, on top of the Kasa protocol (kasa.h).
 *
 * A pulse switches a plug on for N seconds. It is built for a compressor that must never
 * run unattended (it bursts balloons and overheats), so four things bound the on time:
 *   1. the relay-on goes in the same request as a device-side countdown rule (delete the
 *      old rules, add {act: 0, delay: N}): the plug switches itself off even if lp0 dies;
 *   2. lp0 switches it off itself with a loop timer at the deadline, retrying on failure;
 *   3. the deadline is written to the store BEFORE the plug is switched on, and
 *      plug_recover() at start-up switches off every plug whose deadline has passed;
 *   4. a hard cap: a pulse never runs longer than max_on_seconds from its start, however
 *      many extensions it gets.
 * A pulse on a plug whose pulse is still running extends the deadline (never shortens
 * it) instead of toggling; a new pulse within cooldown_seconds of the end of the last one
 * is refused (PLUG_ECOOLDOWN). The cooldown is kept in memory only.
 *
 * Commands to one plug run one at a time, in order (plugs handle one connection at a
 * time); the timer's switch-off jumps ahead of queued commands. Everything runs on the
 * loop thread; nothing here is thread-safe.
 *
 * Callbacks: every plug_info/on/off/pulse that returns 0 calls its cb exactly once, from
 * a loop callback (never from inside the call), unless detached (plug_op_detach) or the
 * controller is closed first. This is what a Lua binding needs: start the operation, yield
 * the story's coroutine, resume it from cb.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_PLUG_H
#define LP0_PLUG_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "kasa.h"

struct store;

#define PLUG_DEFAULT_MAX_ON_SECONDS 60
#define PLUG_DEFAULT_COOLDOWN_SECONDS 30
#define PLUG_DEFAULT_OFF_RETRIES 5      /* switch-off attempts after the first one */
#define PLUG_DEFAULT_OFF_RETRY_MS 1000
#define PLUG_RULE_NAME "lp0 pulse"      /* name of the device-side countdown rule */

struct plug_cfg {
  int max_on_seconds;   /* hard cap on one pulse, extensions included (>= 1) */
  int cooldown_seconds; /* from the end of a pulse to the next new pulse (>= 0) */
  uint64_t timeout_ms;  /* per command: resolve + connect + answer */
  int off_retries;      /* further switch-off attempts when the timer's one fails */
  uint64_t off_retry_ms;
};
void plug_cfg_default(struct plug_cfg *cfg);

enum plug_status {
  PLUG_OK = 0,
  PLUG_EKASA,     /* the command failed: see plug_result.kasa */
  PLUG_ECOOLDOWN, /* pulse refused: the last pulse ended less than cooldown_seconds ago */
  PLUG_ESTORE,    /* the deadline could not be stored: the plug was not switched on */
};

/* get_sysinfo's fields that matter; strings are "" when the device omits them. */
struct plug_info {
  const char *alias, *model, *sw_ver, *hw_ver, *mac, *device_id;
  int relay_state;   /* 1 on, 0 off */
  long long on_time; /* seconds since switched on (0 when off) */
};

/* What a callback receives; everything is borrowed for the duration of the callback. */
struct plug_result {
  enum plug_status status;
  enum kasa_status kasa; /* with PLUG_EKASA, else KASA_OK */
  const char *code;      /* for scripts: "ok", "cooldown", "store" or kasa_status_name() */
  const char *message;   /* "" on success; else one line with host:port and the cause */
  const char *host;
  int port;
  const struct plug_info *info; /* plug_info() only */
  /* plug_pulse() only (also set when a pulse failed in a way that may have left the
   * plug on: then `deadline` is when lp0 will switch it off anyway): */
  bool extended;       /* a running pulse got a later deadline instead of a new pulse */
  bool capped;         /* the deadline was cut to max_on_seconds after the pulse began */
  int seconds;         /* the device-side countdown installed (seconds from now) */
  double deadline;     /* epoch seconds at which lp0 switches it off */
  const char *rule_id; /* the countdown rule's id, as the device returned it ("" if none) */
};
typedef void (*plug_cb)(const struct plug_result *r, void *ud);

/* Switch-offs nobody asked for at that moment: the end of a pulse (lp0's timer or
 * plug_recover), or the last failed attempt at one. r->status tells which. */
typedef void (*plug_event_cb)(const struct plug_result *r, void *ud);

struct plug_ctl;
struct plug_op; /* one queued command; see plug_op_detach */

/* A controller on loop. st (may be NULL: no persistence) is borrowed and must outlive
 * the controller; it must be used by this loop's thread only. Writing a deadline commits
 * the store's open transaction (if any), so that the deadline is on disk before the plug
 * is switched on. cfg is copied; NULL means plug_cfg_default(). Returns a new controller
 * (plug_ctl_close). */
struct plug_ctl *plug_ctl_new(uv_loop_t *loop, struct store *st, const struct plug_cfg *cfg);
/* Abandons queued and running commands (their callbacks are not called), stops the
 * timers and frees the controller once its handles are closed: run the loop after.
 * Running pulses are NOT switched off here: their device-side countdown and their stored
 * deadline still stand (call plug_off first for an orderly stop). */
void plug_ctl_close(struct plug_ctl *c);
/* Sets the observer of unrequested switch-offs (NULL to remove). */
void plug_ctl_observe(struct plug_ctl *c, plug_event_cb cb, void *ud);

/* The commands. host is a name or an IP literal, port usually KASA_DEFAULT_PORT.
 * Return 0 (cb will be called; *op, when op is not NULL, is the command, valid until cb
 * runs), -EINVAL (empty host, bad port, seconds < 1, NULL cb) or -ESHUTDOWN (closing). */
int plug_info(struct plug_ctl *c, const char *host, int port, plug_cb cb, void *ud,
              struct plug_op **op);
/* Relay on, with no countdown and no deadline: for testing a plug by hand. A pulse that
 * is running still ends at its deadline. */
int plug_on(struct plug_ctl *c, const char *host, int port, plug_cb cb, void *ud,
            struct plug_op **op);
/* Relay off and the device's countdown rules deleted; ends a running pulse (its stored
 * deadline is deleted and the cooldown starts). */
int plug_off(struct plug_ctl *c, const char *host, int port, plug_cb cb, void *ud,
             struct plug_op **op);
/* On for `seconds` (capped at max_on_seconds), or an extension of the running pulse: see
 * the head of this file. cb runs once the plug is on (or the pulse was refused or
 * failed); the switch-off is reported to the plug_ctl_observe callback. */
int plug_pulse(struct plug_ctl *c, const char *host, int port, int seconds, plug_cb cb,
               void *ud, struct plug_op **op);
/* Forgets the callback of a command that has not completed (a story that was killed):
 * the command itself still runs, so a pulse still ends at its deadline. */
void plug_op_detach(struct plug_op *op);

/* At start-up: reads the stored deadlines; plugs whose deadline has passed are switched
 * off now (reported to the observer), the others get their timer back. Returns the
 * number of deadlines found, or the store's negative error code. */
int plug_recover(struct plug_ctl *c);

/* True when a pulse is running on host:port; *deadline (may be NULL) receives its
 * deadline (epoch seconds). */
bool plug_pulse_active(struct plug_ctl *c, const char *host, int port, double *deadline);

#endif

/* plug.c — smart plug controller: per-plug command queues, pulses with a device-side
 * countdown, lp0's own switch-off timer, the hard cap, the cooldown, and persisted
 * deadlines (the safety rules are listed in plug.h).
 *
 * Each plug (host:port) has a FIFO of commands, one in flight at a time, and a timer.
 * Decisions (is a pulse an extension, is the plug cooling down, what deadline) are taken
 * when a command reaches the head of its queue, on the state left by the commands before
 * it, never when it is queued. Commands are started only from loop callbacks (a 0 ms
 * "kick" timer, or the completion of the previous command), which is why a callback never
 * runs inside plug_info/on/off/pulse.
 *
 * When in doubt the plug is treated as on: a pulse whose answer was lost (timeout, reset,
 * garbage) may have switched the relay on, so its deadline stays stored and the timer
 * armed. Only errors that prove the command never reached the device (refused,
 * unreachable, unresolvable) undo the deadline.
 *
 * Lifetimes: the controller owns its plugs, a plug owns its queued commands. Plugs are
 * freed in their timer's close callback, the controller when the last handle is closed;
 * so a plug stays valid until the loop turns, even if a callback closes the controller.
 * Not done here: the protocol (kasa.c), the Lua binding, discovery, energy metering.
 * SPDX-License-Identifier: MIT
 */
#include "plug.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "store.h"
#include "util.h"

enum op_kind { OP_INFO, OP_ON, OP_OFF, OP_PULSE, OP_TIMER_OFF };

struct plug_op {
  struct plug_op *next; /* queue */
  struct plug *p;       /* borrowed: the plug owns its ops */
  enum op_kind kind;
  int seconds;          /* pulse: as asked */
  plug_cb cb;           /* NULL once detached */
  void *ud;
  /* pulse, decided at dispatch */
  bool extension, capped;
  double deadline, started_at;
};

struct plug {
  struct plug_ctl *c;
  char *key, *host;
  int port;
  uv_timer_t timer;            /* the pulse's switch-off, and its retries */
  struct plug_op *head, *tail; /* waiting commands */
  struct plug_op *cur;         /* the command in flight (or completing) */
  struct kasa_req *req;        /* cur's request, NULL when none is in flight */
  bool active;                 /* lp0 owes this plug a switch-off at `deadline` */
  double deadline, started_at; /* epoch seconds */
  uint64_t cool_until;         /* uv_now() ms before which a new pulse is refused */
  int off_attempts;            /* failed switch-offs of the current deadline */
  bool off_queued;             /* an OP_TIMER_OFF is queued or in flight */
};

struct plug_ctl {
  uv_loop_t *loop;
  struct store *st; /* borrowed, may be NULL */
  struct plug_cfg cfg;
  struct hmap plugs; /* key -> struct plug * */
  uv_timer_t kick;   /* starts queued commands from a loop callback */
  plug_event_cb ev;
  void *ev_ud;
  int handles; /* kick + one timer per plug */
  bool closing;
};

void plug_cfg_default(struct plug_cfg *cfg) {
  cfg->max_on_seconds = PLUG_DEFAULT_MAX_ON_SECONDS;
  cfg->cooldown_seconds = PLUG_DEFAULT_COOLDOWN_SECONDS;
  cfg->timeout_ms = KASA_DEFAULT_TIMEOUT_MS;
  cfg->off_retries = PLUG_DEFAULT_OFF_RETRIES;
  cfg->off_retry_ms = PLUG_DEFAULT_OFF_RETRY_MS;
}

/* {===================== controller and plugs ===================== */

static void ctl_maybe_free(struct plug_ctl *c) {
  if (!c->closing || c->handles > 0) return;
  hmap_free(&c->plugs);
  free(c);
}

static void on_kick_closed(uv_handle_t *h) {
  struct plug_ctl *c = h->data;
  c->handles--;
  ctl_maybe_free(c);
}

static void on_plug_closed(uv_handle_t *h) {
  struct plug *p = h->data;
  struct plug_ctl *c = p->c;
  free(p->key);
  free(p->host);
  free(p);
  c->handles--;
  ctl_maybe_free(c);
}

static void on_kick(uv_timer_t *t);

struct plug_ctl *plug_ctl_new(uv_loop_t *loop, struct store *st, const struct plug_cfg *cfg) {
  struct plug_ctl *c = xcalloc(1, sizeof *c);
  c->loop = loop;
  c->st = st;
  if (cfg) c->cfg = *cfg;
  else plug_cfg_default(&c->cfg);
  if (c->cfg.max_on_seconds < 1) c->cfg.max_on_seconds = 1;
  if (c->cfg.cooldown_seconds < 0) c->cfg.cooldown_seconds = 0;
  if (c->cfg.timeout_ms == 0) c->cfg.timeout_ms = KASA_DEFAULT_TIMEOUT_MS;
  if (c->cfg.off_retries < 0) c->cfg.off_retries = 0;
  if (c->cfg.off_retry_ms == 0) c->cfg.off_retry_ms = PLUG_DEFAULT_OFF_RETRY_MS;
  hmap_init(&c->plugs);
  int rc = uv_timer_init(loop, &c->kick);
  if (rc < 0) { /* only fails on a broken loop: nothing could work */
    log_error("plug: timer: %s", uv_strerror(rc));
    abort();
  }
  c->kick.data = c;
  c->handles = 1;
  return c;
}

void plug_ctl_observe(struct plug_ctl *c, plug_event_cb cb, void *ud) {
  c->ev = cb;
  c->ev_ud = ud;
}

/* The plug of host:port, created (with its timer) when absent and create is set. */
static struct plug *get_plug(struct plug_ctl *c, const char *host, int port, bool create) {
  char *key = xasprintf("%s\x1f%d", host, port);
  void **slot = create ? hmap_put(&c->plugs, key, strlen(key)) : NULL;
  struct plug *p = slot ? *slot : hmap_get(&c->plugs, key, strlen(key));
  if (p || !create) {
    free(key);
    return p;
  }
  p = xcalloc(1, sizeof *p);
  int rc = uv_timer_init(c->loop, &p->timer);
  if (rc < 0) {
    log_error("plug: timer: %s", uv_strerror(rc));
    abort();
  }
  p->timer.data = p;
  p->c = c;
  p->key = key;
  p->host = xstrdup(host);
  p->port = port;
  c->handles++;
  *slot = p;
  return p;
}

static void free_ops(struct plug_op *op) {
  while (op) {
    struct plug_op *next = op->next;
    free(op);
    op = next;
  }
}

void plug_ctl_close(struct plug_ctl *c) {
  if (!c || c->closing) return;
  c->closing = true;
  for (size_t i = 0; i < c->plugs.cap; i++) {
    struct plug *p = c->plugs.slots[i].key ? c->plugs.slots[i].value : NULL;
    if (!p) continue;
    if (p->req) { /* cur is waiting for it: abandon both */
      kasa_cancel(p->req);
      p->req = NULL;
      free(p->cur);
      p->cur = NULL;
    } /* else a cur is being completed right now (we are in its callback): it frees it */
    free_ops(p->head);
    p->head = p->tail = NULL;
    uv_close((uv_handle_t *)&p->timer, on_plug_closed);
  }
  uv_close((uv_handle_t *)&c->kick, on_kick_closed);
}

static void kick(struct plug_ctl *c) {
  int rc = uv_timer_start(&c->kick, on_kick, 0, 0);
  if (rc < 0) log_error("plug: timer: %s", uv_strerror(rc));
}

static void enqueue(struct plug *p, struct plug_op *op, bool front) {
  op->p = p;
  if (front) {
    op->next = p->head;
    p->head = op;
    if (!p->tail) p->tail = op;
  } else {
    if (p->tail) p->tail->next = op;
    else p->head = op;
    p->tail = op;
  }
  kick(p->c);
}

/* }===================== */

/* {===================== results ===================== */

struct res {
  struct plug_result r;
  char msg[640];
};

static void res_init(struct res *x, const struct plug *p) {
  memset(x, 0, sizeof *x);
  x->r.code = "ok";
  x->r.message = x->msg;
  x->r.host = p->host;
  x->r.port = p->port;
  x->r.rule_id = "";
}

__attribute__((format(printf, 3, 4))) static void res_fail(struct res *x, enum plug_status st,
                                                           const char *fmt, ...) {
  x->r.status = st;
  x->r.code = st == PLUG_ECOOLDOWN ? "cooldown" : st == PLUG_ESTORE ? "store" : "error";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->msg, sizeof x->msg, fmt, ap);
  va_end(ap);
}

static void res_kasa(struct res *x, const struct kasa_reply *k) {
  x->r.status = PLUG_EKASA;
  x->r.kasa = k->status;
  x->r.code = kasa_status_name(k->status);
  snprintf(x->msg, sizeof x->msg, "%s", k->message);
}

/* Appends to the result's message. */
__attribute__((format(printf, 2, 3))) static void res_note(struct res *x, const char *fmt, ...) {
  size_t n = strlen(x->msg);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->msg + n, sizeof x->msg - n, fmt, ap);
  va_end(ap);
}

/* Hands the result to the command's callback and frees the command. */
static void complete(struct plug *p, struct res *x) {
  struct plug_op *op = p->cur;
  if (op->cb) op->cb(&x->r, op->ud);
  free(op);
  p->cur = NULL;
}

static void emit(struct plug *p, struct res *x) {
  if (p->c->ev && !p->c->closing) p->c->ev(&x->r, p->c->ev_ud);
}

/* }===================== */

/* {===================== deadlines and timers ===================== */

/* Stores the deadline and makes it durable now: the daemon batches its writes in
 * transactions, and a deadline that is only in an open transaction is lost with the
 * process. Returns 0 or the store's error (message in store_errmsg). */
static int persist(struct plug *p, double deadline, double started_at) {
  struct store *st = p->c->st;
  if (!st) return 0;
  int rc = store_plug_deadline_set(st, p->host, p->port, deadline, started_at);
  if (rc == 0 && store_in_transaction(st)) rc = store_commit(st);
  return rc;
}

static void unpersist(struct plug *p) {
  struct store *st = p->c->st;
  if (!st) return;
  int rc = store_plug_deadline_delete(st, p->host, p->port);
  if (rc == 0 && store_in_transaction(st)) rc = store_commit(st);
  /* A stale deadline only costs a redundant switch-off at the next start. */
  if (rc != 0) log_warn("plug %s:%d: forgetting its deadline: %s", p->host, p->port, store_errmsg(st));
}

static void on_timer(uv_timer_t *t);

static void arm(struct plug *p, uint64_t ms) {
  int rc = uv_timer_start(&p->timer, on_timer, ms, 0);
  if (rc < 0) log_error("plug %s:%d: timer: %s", p->host, p->port, uv_strerror(rc));
}

/* uv timers count from the loop's cached time, which lags the real time by however long
 * this loop iteration has run so far: add the lag, or the timer fires early. */
static void arm_deadline(struct plug *p) {
  double left = p->deadline - clk_now();
  uint64_t real = uv_hrtime() / 1000000u, cached = uv_now(p->c->loop);
  uint64_t lag = real > cached ? real - cached : 0;
  arm(p, left > 0 ? (uint64_t)ceil(left * 1000.0) + lag : 0);
}

static void stop_timer(struct plug *p) {
  int rc = uv_timer_stop(&p->timer);
  if (rc < 0) log_warn("plug %s:%d: timer stop: %s", p->host, p->port, uv_strerror(rc));
}

/* The pulse is over (switched off, or given up on): start the cooldown. */
static void end_pulse(struct plug *p) {
  p->active = false;
  p->off_attempts = 0;
  p->cool_until = uv_now(p->c->loop) + (uint64_t)p->c->cfg.cooldown_seconds * 1000u;
  stop_timer(p);
}

static void on_timer(uv_timer_t *t) {
  struct plug *p = t->data;
  if (p->c->closing || p->off_queued || !p->active) return;
  struct plug_op *op = xcalloc(1, sizeof *op);
  op->kind = OP_TIMER_OFF;
  p->off_queued = true;
  enqueue(p, op, true); /* safety first: ahead of anything waiting */
}

/* }===================== */

/* {===================== commands ===================== */

static const char REQ_INFO[] = "{\"system\":{\"get_sysinfo\":{}}}";
static const char REQ_ON[] = "{\"system\":{\"set_relay_state\":{\"state\":1}}}";
/* Rules first: if the device fails midway, no countdown of ours is left to fire later. */
static const char REQ_OFF[] = "{\"count_down\":{\"delete_all_rules\":{}},"
                              "\"system\":{\"set_relay_state\":{\"state\":0}}}";

static void on_reply(struct kasa_reply *k, void *ud);
static void pump(struct plug *p);

/* Sends json for p->cur. A request that cannot even start is reported like a failed one. */
static void send_cmd(struct plug *p, const char *json) {
  int rc = kasa_request(p->c->loop, p->host, p->port, json, p->c->cfg.timeout_ms, on_reply, p,
                        &p->req);
  if (rc == 0) return;
  char msg[256];
  snprintf(msg, sizeof msg, "%s:%d: cannot start the request: %s", p->host, p->port,
           rc > -4096 ? uv_strerror(rc) : "failed");
  struct kasa_reply k = {.status = KASA_EIO, .message = msg};
  on_reply(&k, p);
}

/* Decides what a pulse does (see plug.h); sends it, or completes it at once. */
static void start_pulse(struct plug *p, struct plug_op *op) {
  const struct plug_cfg *cfg = &p->c->cfg;
  double now = clk_now();
  struct res x;
  if (p->active) {
    double cap = p->started_at + cfg->max_on_seconds, want = now + op->seconds;
    op->extension = true;
    op->capped = want > cap;
    op->started_at = p->started_at;
    op->deadline = op->capped ? cap : want;
    if (op->deadline <= p->deadline) { /* never shorter: nothing to send */
      res_init(&x, p);
      x.r.extended = true;
      x.r.capped = op->capped;
      x.r.deadline = p->deadline;
      x.r.seconds = (int)ceil(p->deadline - now);
      complete(p, &x);
      return;
    }
  } else {
    uint64_t t = uv_now(p->c->loop);
    if (t < p->cool_until) {
      res_init(&x, p);
      res_fail(&x, PLUG_ECOOLDOWN, "%s:%d: pulse refused: cooling down for %llu more seconds"
               " (cooldown_seconds %d between pulses)", p->host, p->port,
               (unsigned long long)((p->cool_until - t + 999) / 1000), cfg->cooldown_seconds);
      complete(p, &x);
      return;
    }
    op->capped = op->seconds > cfg->max_on_seconds;
    op->started_at = now;
    op->deadline = now + (op->capped ? cfg->max_on_seconds : op->seconds);
  }
  if (persist(p, op->deadline, op->started_at) != 0) {
    res_init(&x, p);
    res_fail(&x, PLUG_ESTORE, "%s:%d: pulse refused: its deadline could not be stored: %s",
             p->host, p->port, store_errmsg(p->c->st));
    if (op->extension) (void)persist(p, p->deadline, p->started_at);
    complete(p, &x);
    return;
  }
  int delay = (int)ceil(op->deadline - now);
  char json[256];
  snprintf(json, sizeof json,
           "{\"count_down\":{\"delete_all_rules\":{},\"add_rule\":{\"enable\":1,\"delay\":%d,"
           "\"act\":0,\"name\":\"%s\"}},\"system\":{\"set_relay_state\":{\"state\":1}}}",
           delay < 1 ? 1 : delay, PLUG_RULE_NAME);
  send_cmd(p, json);
}

/* Starts p->cur: sends it, or completes it at once. */
static void start(struct plug *p) {
  struct plug_op *op = p->cur;
  switch (op->kind) {
  case OP_INFO: send_cmd(p, REQ_INFO); break;
  case OP_ON: send_cmd(p, REQ_ON); break;
  case OP_OFF: send_cmd(p, REQ_OFF); break;
  case OP_PULSE: start_pulse(p, op); break;
  case OP_TIMER_OFF:
    /* Ended meanwhile (plug_off), or extended while this waited, or the loop's cached
     * clock lagged the wall clock when the timer was armed: nothing due yet. */
    if (!p->active || clk_now() < p->deadline - 0.001) {
      p->off_queued = false;
      free(op);
      p->cur = NULL;
      if (p->active) arm_deadline(p);
    } else {
      send_cmd(p, REQ_OFF);
    }
    break;
  }
}

/* Starts the next commands until one is in flight or the queue is empty. */
static void pump(struct plug *p) {
  while (!p->c->closing && !p->cur && p->head) {
    p->cur = p->head;
    p->head = p->head->next;
    if (!p->head) p->tail = NULL;
    p->cur->next = NULL;
    start(p);
  }
}

static void on_kick(uv_timer_t *t) {
  struct plug_ctl *c = t->data;
  for (size_t i = 0; i < c->plugs.cap && !c->closing; i++)
    if (c->plugs.slots[i].key) pump(c->plugs.slots[i].value);
}

/* }===================== */

/* {===================== answers ===================== */

static const char *str_field(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static void done_info(struct plug *p, const struct kasa_reply *k, struct res *x) {
  const cJSON *sys = cJSON_GetObjectItemCaseSensitive(k->root, "system");
  const cJSON *si = cJSON_GetObjectItemCaseSensitive(sys, "get_sysinfo");
  const cJSON *rs = cJSON_GetObjectItemCaseSensitive(si, "relay_state");
  const cJSON *ot = cJSON_GetObjectItemCaseSensitive(si, "on_time");
  if (!cJSON_IsNumber(rs)) {
    x->r.status = PLUG_EKASA;
    x->r.kasa = KASA_EMALFORMED;
    x->r.code = kasa_status_name(KASA_EMALFORMED);
    snprintf(x->msg, sizeof x->msg, "%s:%d: get_sysinfo has no relay_state: not a smart plug?",
             p->host, p->port);
    complete(p, x);
    return;
  }
  struct plug_info info = {
      .alias = str_field(si, "alias"), .model = str_field(si, "model"),
      .sw_ver = str_field(si, "sw_ver"), .hw_ver = str_field(si, "hw_ver"),
      .mac = str_field(si, "mac"), .device_id = str_field(si, "deviceId"),
      .relay_state = rs->valuedouble != 0,
      .on_time = cJSON_IsNumber(ot) ? (long long)ot->valuedouble : 0,
  };
  x->r.info = &info;
  complete(p, x);
}

/* True when the error proves the command never reached the device. */
static bool never_sent(enum kasa_status s) {
  return s == KASA_EREFUSED || s == KASA_EUNREACHABLE || s == KASA_ERESOLVE;
}

static void done_pulse(struct plug *p, const struct kasa_reply *k, struct res *x) {
  struct plug_op *op = p->cur;
  x->r.extended = op->extension;
  x->r.capped = op->capped;
  if (k->status == KASA_OK) {
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(k->root, "count_down");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cd, "add_rule"), "id");
    if (cJSON_IsString(id)) x->r.rule_id = id->valuestring;
    p->active = true;
    p->deadline = op->deadline;
    p->started_at = op->started_at;
    p->off_attempts = 0;
    arm_deadline(p);
  } else if (op->extension) {
    /* The running pulse keeps its deadline (the earlier one: safe either way). */
    (void)persist(p, p->deadline, p->started_at);
  } else if (never_sent(k->status)) {
    unpersist(p);
  } else {
    /* The relay may be on: keep the deadline and switch off at it. */
    p->active = true;
    p->deadline = op->deadline;
    p->started_at = op->started_at;
    p->off_attempts = 0;
    arm_deadline(p);
    res_note(x, " (it may have switched on: lp0 switches it off at the deadline)");
  }
  if (p->active) {
    x->r.deadline = p->deadline;
    x->r.seconds = (int)ceil(p->deadline - clk_now());
  }
  complete(p, x);
}

static void done_timer_off(struct plug *p, const struct kasa_reply *k, struct res *x) {
  const struct plug_cfg *cfg = &p->c->cfg;
  p->off_queued = false;
  free(p->cur);
  p->cur = NULL;
  x->r.deadline = p->deadline;
  if (k->status == KASA_OK) {
    end_pulse(p);
    unpersist(p);
    log_info("plug %s:%d: switched off at its deadline", p->host, p->port);
    emit(p, x);
    return;
  }
  if (++p->off_attempts <= cfg->off_retries) {
    log_warn("%s; switch-off attempt %d of %d, retrying in %llu ms", k->message,
             p->off_attempts, cfg->off_retries + 1, (unsigned long long)cfg->off_retry_ms);
    arm(p, cfg->off_retry_ms);
    return;
  }
  /* The stored deadline stays: the next start tries again. */
  res_note(x, "; gave up switching it off after %d attempts (its countdown rule should have"
           " switched it off)", p->off_attempts);
  log_error("%s", x->msg);
  end_pulse(p);
  emit(p, x);
}

static void on_reply(struct kasa_reply *k, void *ud) {
  struct plug *p = ud;
  p->req = NULL;
  struct res x;
  res_init(&x, p);
  if (k->status != KASA_OK) res_kasa(&x, k);
  switch (p->cur->kind) {
  case OP_INFO:
    if (k->status == KASA_OK) done_info(p, k, &x);
    else complete(p, &x);
    break;
  case OP_PULSE: done_pulse(p, k, &x); break;
  case OP_TIMER_OFF: done_timer_off(p, k, &x); break;
  case OP_OFF:
    if (k->status == KASA_OK && p->active) {
      end_pulse(p);
      unpersist(p);
    }
    complete(p, &x);
    break;
  case OP_ON: complete(p, &x); break;
  }
  pump(p);
}

/* }===================== */

/* {===================== API ===================== */

static int submit(struct plug_ctl *c, const char *host, int port, enum op_kind kind,
                  int seconds, plug_cb cb, void *ud, struct plug_op **out) {
  if (out) *out = NULL;
  if (!c || !host || !*host || port < 1 || port > 65535 || !cb ||
      (kind == OP_PULSE && seconds < 1))
    return -EINVAL;
  if (c->closing) return -ESHUTDOWN;
  struct plug_op *op = xcalloc(1, sizeof *op);
  op->kind = kind;
  op->seconds = seconds;
  op->cb = cb;
  op->ud = ud;
  enqueue(get_plug(c, host, port, true), op, false);
  if (out) *out = op;
  return 0;
}

int plug_info(struct plug_ctl *c, const char *host, int port, plug_cb cb, void *ud,
              struct plug_op **op) {
  return submit(c, host, port, OP_INFO, 0, cb, ud, op);
}

int plug_on(struct plug_ctl *c, const char *host, int port, plug_cb cb, void *ud,
            struct plug_op **op) {
  return submit(c, host, port, OP_ON, 0, cb, ud, op);
}

int plug_off(struct plug_ctl *c, const char *host, int port, plug_cb cb, void *ud,
             struct plug_op **op) {
  return submit(c, host, port, OP_OFF, 0, cb, ud, op);
}

int plug_pulse(struct plug_ctl *c, const char *host, int port, int seconds, plug_cb cb,
               void *ud, struct plug_op **op) {
  return submit(c, host, port, OP_PULSE, seconds, cb, ud, op);
}

void plug_op_detach(struct plug_op *op) {
  if (op) op->cb = NULL;
}

struct recover_ctx {
  struct plug_ctl *c;
  int n;
};

static int recover_one(const struct store_plug_deadline *d, void *ud) {
  struct recover_ctx *x = ud;
  struct plug_ctl *c = x->c;
  x->n++;
  struct plug *p = get_plug(c, d->host, d->port, true);
  if (p->active) return 0;
  p->active = true;
  p->deadline = d->deadline;
  p->started_at = d->started_at;
  if (d->deadline <= clk_now()) {
    log_info("plug %s:%d: its deadline passed while lp0 was down: switching it off", d->host,
             d->port);
    on_timer(&p->timer);
  } else {
    log_info("plug %s:%d: pulse resumed, switch-off in %.0f s", d->host, d->port,
             d->deadline - clk_now());
    arm_deadline(p);
  }
  return 0;
}

int plug_recover(struct plug_ctl *c) {
  if (!c->st) return 0;
  struct recover_ctx x = {c, 0};
  int rc = store_plug_deadline_list(c->st, recover_one, &x);
  if (rc != 0) {
    log_error("plug: reading stored deadlines: %s", store_errmsg(c->st));
    return rc;
  }
  return x.n;
}

bool plug_pulse_active(struct plug_ctl *c, const char *host, int port, double *deadline) {
  struct plug *p = get_plug(c, host, port, false);
  if (!p || !p->active) return false;
  if (deadline) *deadline = p->deadline;
  return true;
}

/* }===================== */

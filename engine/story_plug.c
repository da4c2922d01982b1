/* story_plug.c — plug.info/on/off/pulse for the daemon's stories, on plug.c's
 * controller (safety rules, persisted deadlines, device-side countdown).
 * SPDX-License-Identifier: MIT
 */
#include "story.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plug.h"
#include "util.h"

/* One operation in flight; it is the story's handle too, so that detach can free it
 * (plug.c forgets the callback of a detached op and never hands the record back). */
struct call {
  sty_plug_done_cb done;
  void *arg;
  struct plug_op *po;
};

static void on_result(const struct plug_result *r, void *ud) {
  struct call *c = ud;
  struct sty_plug_resp out = {0};
  out.code = r->code;
  if (r->status != PLUG_OK) out.error = r->message;
  if (r->info) {
    out.alias = r->info->alias;
    out.model = r->info->model;
    out.relay_state = r->info->relay_state;
    out.on_time = r->info->on_time;
  }
  out.seconds = r->seconds;
  out.deadline = r->deadline;
  out.extended = r->extended;
  out.capped = r->capped;
  out.rule_id = r->rule_id;
  c->done(&out, c->arg);
  free(c);
}

static int request(void *self, const struct sty_plug_req *q, sty_plug_done_cb done, void *arg,
                   void **op, char *err, size_t errlen) {
  struct plug_ctl *ctl = self;
  struct call *c = xcalloc(1, sizeof *c);
  struct plug_op *po = NULL;
  int rc;
  c->done = done;
  c->arg = arg;
  if (strcmp(q->op, "info") == 0) rc = plug_info(ctl, q->host, q->port, on_result, c, &po);
  else if (strcmp(q->op, "on") == 0) rc = plug_on(ctl, q->host, q->port, on_result, c, &po);
  else if (strcmp(q->op, "off") == 0) rc = plug_off(ctl, q->host, q->port, on_result, c, &po);
  else rc = plug_pulse(ctl, q->host, q->port, q->seconds, on_result, c, &po);
  if (rc != 0) {
    free(c);
    snprintf(err, errlen, "plug %s %s:%d: %s", q->op, q->host, q->port,
             rc == -22 ? "invalid arguments" : "the plug controller is shutting down");
    return -1;
  }
  c->po = po;
  *op = c;
  return 0;
}

static void detach(void *self, void *op) {
  struct call *c = op;
  (void)self;
  plug_op_detach(c->po);
  free(c);
}

void sty_plug_ctl(struct plug_ctl *c, struct sty_plugs *out) {
  out->request = request;
  out->detach = detach;
  out->self = c;
}

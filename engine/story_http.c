/* story_http.c — the daemon's story transport: http.request on libcurl (httpc.c).
 *
 * A thin adapter: seconds become milliseconds, transport errors become the short
 * strings stories see ("timeout: ...", "connect: ..."), headers keep httpc's lower-case
 * names. POST is only retried where httpc deems it safe (nothing was sent, or 429/503
 * with Retry-After); stories make other side effects safe with step().
 * SPDX-License-Identifier: MIT
 */
#include "story.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "httpc.h"
#include "util.h"

struct call {
  sty_http_done_cb done;
  void *arg;
};

static void on_done(const struct httpc_resp *r, void *ud) {
  struct call *c = ud;
  struct sty_http_resp out = {0};
  char msg[300];
  struct sty_header *hs = r->nheaders ? xcalloc(r->nheaders, sizeof *hs) : NULL;
  for (size_t i = 0; i < r->nheaders; i++) hs[i].name = r->headers[i].name, hs[i].value = r->headers[i].value;
  out.status = r->status;
  out.headers = hs;
  out.nheaders = r->nheaders;
  out.body = r->body;
  out.body_len = r->body_len;
  out.attempts = (int)r->attempts;
  out.ms = r->total_ms;
  if (r->error != HTTPC_OK) {
    snprintf(msg, sizeof msg, "%s: %s", httpc_error_name(r->error), r->message);
    out.error = msg;
  }
  c->done(&out, c->arg);
  free(hs);
  free(c);
}

static int request(void *self, const struct sty_http_req *q, sty_http_done_cb done, void *arg,
                   long long *id, char *err, size_t errlen) {
  struct httpc_req r = {0};
  r.method = q->method;
  r.url = q->url;
  r.headers = q->headers;
  r.nheaders = q->nheaders;
  r.body = q->body;
  r.body_len = q->body_len;
  r.timeout_ms = q->timeout > 0 ? (unsigned)(q->timeout * 1000.0) : 0;
  r.retries = q->retries > 0 ? (unsigned)q->retries : 0;
  r.username = q->user;
  r.password = q->password;
  struct call *c = xcalloc(1, sizeof *c);
  c->done = done;
  c->arg = arg;
  int64_t rc = httpc_request(self, &r, on_done, c);
  if (rc < 0) {
    free(c);
    snprintf(err, errlen, "%s",
             rc == -EPROTONOSUPPORT ? "bad url: only http:// and https:// are allowed"
             : rc == -EINVAL        ? "bad url, method or header"
                                    : "the HTTP client refused the request");
    return -1;
  }
  *id = (long long)rc;
  return 0;
}

static void cancel(void *self, long long id) { httpc_cancel(self, (int64_t)id); }

void sty_httpc_transport(struct httpc *h, struct sty_transport *out) {
  out->request = request;
  out->cancel = cancel;
  out->self = h;
}

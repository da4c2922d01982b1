/* httpd.c — HTTP/1.1 server on libuv with one llhttp parser per connection.
 *
 * A connection owns a response queue: every request the parser completes is appended
 * (and handed to the application), and every error the server raises itself is appended
 * as an entry that is already answered. The queue is written from its head only while
 * the head is answered, which keeps responses in request order whatever order the
 * answers come in. At most max_pipeline entries wait: beyond that the parser is paused
 * in on_message_complete, the unparsed bytes are kept (the stash) and reading stops
 * until the head leaves.
 *
 * Lifetimes. A connection is reference counted: one reference for its uv handles
 * (dropped when both are closed) and one per request the application holds. So a
 * request whose client vanished still points at a live connection marked closing;
 * answering it frees the request and nothing is written. The server is freed once its
 * three handles are closed and no connection is alive. Nothing is freed from inside
 * llhttp_execute(): teardown requested during parsing waits until it returns.
 *
 * Re-entrancy. The application is called (on_request, on_error) only from libuv
 * callbacks, never from inside httpd_respond() or httpd_close(): a paused parser that
 * an answer made room for is resumed from an idle callback on the next iteration.
 *
 * Errors from the server itself end the connection: the answer is written, the write
 * side shut down, and input is read and discarded for HTTPD_LINGER_MS so that a client
 * still sending its body receives the answer instead of a reset.
 *
 * Not done here: TLS (a reverse proxy's job), HTTP/2, Upgrade (the header is ignored),
 * CONNECT (501), routing and authentication (the application's job), percent-decoding.
 * SPDX-License-Identifier: MIT
 */
#include "httpd.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <llhttp.h>

#include "log.h"
#include "util.h"

#define READ_BUF_SIZE ((size_t)64 * 1024)
#define WRITE_HIGH_WATER ((size_t)1024 * 1024) /* stop reading above this backlog */
#define REJECT_SLACK 64u /* connections over the cap answered 503 before being cut */
#define LISTEN_BACKLOG 511

enum phase { PH_IDLE, PH_HEAD, PH_BODY };

struct hofs { /* a header while parsing: offsets into hreq.text */
  size_t name, name_len, value, value_len;
};

/* A request and, once answered, its response. pub comes first: the application's
 * struct httpd_req * is this struct. */
struct hreq {
  struct httpd_req pub;
  struct conn *conn; /* borrowed; counted while the application holds the request */
  struct hreq *next; /* response queue */
  struct buf text;   /* target, header names and values, path, query; NUL-separated */
  struct hofs *hofs;
  size_t nh, caph;
  struct httpd_header *hdrs; /* built at end of headers; points into text */
  struct buf body;
  size_t url_len;
  bool in_field, value_open, url_done;
  bool head_method;
  bool delivered, answered, queued, close;
  /* the answer */
  int status;
  char *ctype;
  struct buf extra; /* "Name: value\r\n" lines */
  char *rbody;
  size_t rbody_len;
};

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shut;
  llhttp_t parser;
  struct httpd *srv;     /* borrowed: the server outlives its connections */
  struct conn *prev, *next; /* srv->conns, while open */
  unsigned refs;         /* 1 for the handles + 1 per request the application holds */
  int handles;           /* uv handles not yet closed */
  enum phase phase;
  uint64_t deadline;     /* loop time ending PH_HEAD or PH_BODY */
  struct hreq *cur;      /* owned: the request being parsed */
  struct hreq *qhead, *qtail; /* owned, except entries the application holds */
  unsigned qlen;
  size_t head_bytes;
  int fail_status;       /* set by a parser callback refusing the request */
  const char *fail_reason;
  char *stash;           /* owned: unparsed bytes while paused */
  size_t stash_len;
  unsigned writes;       /* uv_write requests in flight */
  bool reading, in_parse, paused, abort_pending;
  bool resume_queued;       /* on srv->resume, holding a reference */
  struct conn *resume_next;
  bool no_more;    /* no new request will start */
  bool served;     /* a request was completed: idle waits use the keep-alive timeout */
  bool sent_close; /* an answer with "Connection: close" went out */
  bool eof, failed, discarded, lingering, shutting, closing;
  char peer[64];
  uint16_t peer_port;
  bool loopback;
};

struct wreq {
  uv_write_t w;
  struct conn *c;
  char *head, *body; /* owned */
};

struct httpd {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_timer_t drain;
  uv_idle_t idle;          /* runs deferred parser resumes */
  struct conn *resume;     /* connections whose paused parser may go on */
  struct httpd_config cfg;
  char *rbuf; /* owned: shared read buffer, consumed within each read callback */
  struct conn *conns;
  size_t nopen;  /* connections with open handles */
  size_t nalive; /* connections not yet freed */
  int handles;
  bool closing, drain_closed;
  httpd_close_cb close_cb;
  void *close_ud;
  int port;
  struct httpd_stats st;
  time_t date_sec;
  char date[40];
};

static void conn_flush(struct conn *c);
static void conn_teardown(struct conn *c);
static void conn_fail(struct conn *c, int status, const char *reason);
static void conn_feed(struct conn *c, const char *data, size_t len);
static void conn_settle(struct conn *c);

/* {==================== requests ==================== */

static struct hreq *hreq_new(struct conn *c) {
  struct hreq *r = xcalloc(1, sizeof *r);
  r->conn = c;
  buf_init(&r->text);
  buf_init(&r->body);
  buf_init(&r->extra);
  r->pub.peer = c->peer;
  r->pub.peer_port = c->peer_port;
  r->pub.peer_loopback = c->loopback;
  return r;
}

static void hreq_free(struct hreq *r) {
  if (!r) return;
  buf_free(&r->text);
  buf_free(&r->body);
  buf_free(&r->extra);
  free(r->hofs);
  free(r->hdrs);
  free(r->ctype);
  free(r->rbody);
  free(r);
}

static void queue_push(struct conn *c, struct hreq *r) {
  r->next = NULL;
  r->queued = true;
  if (c->qtail) c->qtail->next = r;
  else c->qhead = r;
  c->qtail = r;
  c->qlen++;
}

static struct hreq *queue_pop(struct conn *c) {
  struct hreq *r = c->qhead;
  c->qhead = r->next;
  if (!c->qhead) c->qtail = NULL;
  c->qlen--;
  r->next = NULL;
  r->queued = false;
  return r;
}

const char *httpd_status_text(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Unknown";
  }
}

/* }==================== */

/* {==================== parser callbacks ==================== */

static int over_header_limit(struct conn *c, size_t add) {
  c->head_bytes += add;
  if (c->head_bytes <= c->srv->cfg.max_header) return 0;
  c->fail_status = 431;
  c->fail_reason = "request headers too large";
  return 1;
}

static int on_message_begin(llhttp_t *p) {
  struct conn *c = p->data;
  if (c->no_more || c->closing || c->abort_pending) return HPE_PAUSED;
  c->cur = hreq_new(c);
  c->phase = PH_HEAD;
  c->head_bytes = 16; /* method, spaces, version, CRLF */
  c->deadline = uv_now(c->srv->loop) + c->srv->cfg.header_timeout_ms;
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = p->data;
  if (over_header_limit(c, len)) return HPE_USER;
  buf_append(&c->cur->text, at, len);
  c->cur->url_len += len;
  return 0;
}

static void end_url(struct hreq *r) {
  if (r->url_done) return;
  r->url_done = true;
  buf_putc(&r->text, '\0');
}

static void end_value(struct hreq *r) {
  if (!r->value_open) return;
  r->value_open = false;
  struct hofs *h = &r->hofs[r->nh - 1];
  size_t end = r->text.len;
  while (end > h->value && (r->text.data[end - 1] == ' ' || r->text.data[end - 1] == '\t'))
    end--;
  r->text.len = end;
  h->value_len = end - h->value;
  buf_putc(&r->text, '\0');
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = p->data;
  struct hreq *r = c->cur;
  bool first = !r->in_field;
  r->in_field = true;
  if (over_header_limit(c, len + (first ? 4 : 0))) return HPE_USER; /* 4: ": ", CRLF */
  if (c->phase != PH_HEAD) return 0; /* trailers: counted, not kept */
  if (first) {
    end_url(r);
    end_value(r);
    if (r->nh == r->caph) {
      r->caph = r->caph ? r->caph * 2 : 16;
      r->hofs = xrealloc(r->hofs, r->caph * sizeof *r->hofs);
    }
    r->hofs[r->nh++] = (struct hofs){.name = r->text.len};
  }
  buf_append(&r->text, at, len);
  return 0;
}

static int on_header_field_complete(llhttp_t *p) {
  struct conn *c = p->data;
  struct hreq *r = c->cur;
  if (c->phase != PH_HEAD) {
    r->in_field = false;
    return 0;
  }
  struct hofs *h = &r->hofs[r->nh - 1];
  h->name_len = r->text.len - h->name;
  buf_putc(&r->text, '\0');
  h->value = r->text.len;
  r->in_field = false;
  r->value_open = true;
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = p->data;
  if (over_header_limit(c, len)) return HPE_USER;
  if (c->phase != PH_HEAD) return 0;
  buf_append(&c->cur->text, at, len);
  return 0;
}

static int on_header_value_complete(llhttp_t *p) {
  struct conn *c = p->data;
  if (c->phase == PH_HEAD) end_value(c->cur);
  return 0;
}

/* Splits the target into path and query, copies both after the headers and points the
 * public fields into text, which does not grow after this. */
static void finish_head(struct hreq *r, llhttp_t *p) {
  end_url(r);
  end_value(r);
  const char *t = r->text.data; /* end_url() made it non-NULL */
  size_t start = 0, n = r->url_len;
  if (n > 7 && (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0)) {
    const char *auth = strstr(t, "://") + 3;
    const char *slash = strchr(auth, '/');
    start = slash ? (size_t)(slash - t) : n;
  }
  size_t plen = strcspn(t + start, "?#");
  size_t qstart = start + plen, qlen = 0;
  if (qstart < n && t[qstart] == '?') {
    qstart++;
    qlen = strcspn(t + qstart, "#");
  }
  /* Copies from text into text: reserve first so that no append moves it. */
  buf_reserve(&r->text, plen + qlen + 3);
  size_t path_at = r->text.len, query_at;
  if (plen == 0) buf_putc(&r->text, '/');
  else buf_append(&r->text, r->text.data + start, plen);
  buf_putc(&r->text, '\0');
  query_at = r->text.len;
  buf_append(&r->text, r->text.data + qstart, qlen);
  buf_putc(&r->text, '\0');

  const char *base = r->text.data;
  r->pub.target = base;
  r->pub.path = base + path_at;
  r->pub.query = base + query_at;
  r->hdrs = xcalloc(r->nh ? r->nh : 1, sizeof *r->hdrs);
  for (size_t i = 0; i < r->nh; i++) {
    r->hdrs[i] = (struct httpd_header){.name = base + r->hofs[i].name,
                                       .name_len = r->hofs[i].name_len,
                                       .value = base + r->hofs[i].value,
                                       .value_len = r->hofs[i].value_len};
  }
  r->pub.headers = r->hdrs;
  r->pub.nheaders = r->nh;
  uint8_t method = llhttp_get_method(p);
  r->pub.method = llhttp_method_name((llhttp_method_t)method);
  r->head_method = method == HTTP_HEAD;
  r->pub.http_major = llhttp_get_http_major(p);
  r->pub.http_minor = llhttp_get_http_minor(p);
}

static void on_write(uv_write_t *w, int status);

/* Interim "100 Continue", only when no earlier response is pending: it must not
 * overtake them. A client that gets none sends its body after its own delay. */
static void send_continue(struct conn *c) {
  static char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
  if (c->qhead) return;
  struct wreq *wr = xcalloc(1, sizeof *wr);
  wr->c = c;
  uv_buf_t b = uv_buf_init(line, sizeof line - 1);
  int rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (rc < 0) {
    free(wr);
    c->abort_pending = true;
    return;
  }
  c->writes++;
  c->srv->st.bytes_out += b.len;
}

static int on_headers_complete(llhttp_t *p) {
  struct conn *c = p->data;
  struct hreq *r = c->cur;
  if (llhttp_get_http_major(p) != 1) {
    c->fail_status = 505;
    c->fail_reason = "only HTTP/1.x is supported";
    return -1;
  }
  if (llhttp_get_method(p) == HTTP_CONNECT) {
    c->fail_status = 501;
    c->fail_reason = "CONNECT is not supported";
    return -1;
  }
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->srv->cfg.max_body) {
    c->fail_status = 413;
    c->fail_reason = "request body too large";
    return -1;
  }
  finish_head(r, p);
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0)
    buf_reserve(&r->body, (size_t)p->content_length);
  const char *expect = httpd_req_header(&r->pub, "Expect");
  if (expect && strcasecmp(expect, "100-continue") == 0 && r->pub.http_minor >= 1 &&
      ((p->flags & F_CHUNKED) || p->content_length > 0))
    send_continue(c);
  if (c->abort_pending) return -1;
  c->phase = PH_BODY;
  c->deadline = uv_now(c->srv->loop) + c->srv->cfg.body_timeout_ms;
  return 0;
}

static int body_too_large(struct conn *c, uint64_t more) {
  if (more <= c->srv->cfg.max_body - c->cur->body.len) return 0;
  c->fail_status = 413;
  c->fail_reason = "request body too large";
  return 1;
}

static int on_chunk_header(llhttp_t *p) {
  struct conn *c = p->data;
  return body_too_large(c, p->content_length) ? -1 : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  struct conn *c = p->data;
  if (body_too_large(c, len)) return HPE_USER;
  buf_append(&c->cur->body, at, len);
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  struct conn *c = p->data;
  struct hreq *r = c->cur;
  struct httpd *srv = c->srv;
  c->cur = NULL;
  c->phase = PH_IDLE;
  c->served = true;
  r->pub.body = r->body.data ? r->body.data : "";
  r->pub.body_len = r->body.len;
  r->close = !llhttp_should_keep_alive(p);
  if (r->close) c->no_more = true;
  queue_push(c, r);
  r->delivered = true;
  c->refs++;
  srv->st.requests++;
  srv->cfg.on_request(&r->pub, srv->cfg.ud);
  if (c->closing || c->no_more || c->abort_pending) return HPE_PAUSED;
  if (c->qlen >= srv->cfg.max_pipeline) return HPE_PAUSED;
  return 0;
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_chunk_header = on_chunk_header,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* }==================== */

/* {==================== connection state ==================== */

static void srv_maybe_done(struct httpd *srv);

static void conn_free(struct conn *c) {
  struct httpd *srv = c->srv;
  free(c->stash);
  free(c);
  srv->nalive--;
  srv_maybe_done(srv);
}

static void conn_unref(struct conn *c) {
  if (--c->refs == 0) conn_free(c);
}

static void on_conn_handle_close(uv_handle_t *h) {
  struct conn *c = h->data;
  if (--c->handles == 0) conn_unref(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);

static void alloc_read(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  struct conn *c = h->data;
  (void)suggested;
  *b = uv_buf_init(c->srv->rbuf, (unsigned)READ_BUF_SIZE);
}

/* Reads while a new request may be parsed (or a partial one finished, or discarded input
 * drained), the pipeline has room and the client reads our answers. */
static void conn_update_reading(struct conn *c) {
  if (c->closing) return;
  bool want;
  if (c->lingering) want = !c->eof;
  else
    want = !c->eof && !c->shutting && !c->paused && !c->failed && (!c->no_more || c->cur) &&
           c->qlen < c->srv->cfg.max_pipeline && c->tcp.write_queue_size < WRITE_HIGH_WATER;
  if (want == c->reading) return;
  int rc = want ? uv_read_start((uv_stream_t *)&c->tcp, alloc_read, on_read)
                : uv_read_stop((uv_stream_t *)&c->tcp);
  if (rc < 0) {
    log_debug("httpd: %s: read %s: %s", c->peer, want ? "start" : "stop", uv_strerror(rc));
    conn_teardown(c);
    return;
  }
  c->reading = want;
}

static void on_timer(uv_timer_t *t);

/* One timer per connection, armed for whichever limit applies now. */
static void conn_arm_timer(struct conn *c) {
  if (c->closing || c->lingering || c->shutting) return;
  struct httpd *srv = c->srv;
  uint64_t now = uv_now(srv->loop), ms;
  if (c->phase != PH_IDLE && !c->failed) {
    ms = c->deadline > now ? c->deadline - now : 1;
  } else if (!c->qhead && !c->writes && !c->paused && !c->no_more) {
    ms = c->served ? srv->cfg.keepalive_timeout_ms : srv->cfg.header_timeout_ms;
  } else {
    int rc = uv_timer_stop(&c->timer);
    if (rc < 0) log_debug("httpd: timer stop: %s", uv_strerror(rc));
    return;
  }
  int rc = uv_timer_start(&c->timer, on_timer, ms, 0);
  if (rc < 0) {
    log_warn("httpd: timer start: %s", uv_strerror(rc));
    conn_teardown(c);
  }
}

static void conn_list(struct conn *c) {
  struct httpd *srv = c->srv;
  c->prev = NULL;
  c->next = srv->conns;
  if (srv->conns) srv->conns->prev = c;
  srv->conns = c;
  srv->nopen++;
}

static void conn_unlist(struct conn *c) {
  struct httpd *srv = c->srv;
  if (c->prev) c->prev->next = c->next;
  else srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = NULL;
  srv->nopen--;
}

static void conn_teardown(struct conn *c) {
  if (c->closing) return;
  if (c->in_parse) { /* llhttp still uses c: finish when it returns */
    c->abort_pending = true;
    return;
  }
  c->closing = true;
  conn_unlist(c);
  hreq_free(c->cur);
  c->cur = NULL;
  free(c->stash);
  c->stash = NULL;
  c->stash_len = 0;
  while (c->qhead) {
    struct hreq *r = queue_pop(c);
    if (!(r->delivered && !r->answered)) hreq_free(r);
    /* else the application holds r: httpd_respond() frees it */
  }
  uv_close((uv_handle_t *)&c->tcp, on_conn_handle_close);
  uv_close((uv_handle_t *)&c->timer, on_conn_handle_close);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  struct conn *c = req->data;
  if (c->closing) return;
  if (status < 0 || c->eof || !(c->failed || c->discarded)) {
    conn_teardown(c);
    return;
  }
  /* The client may still be sending what we refused: read and drop it for a while, so
   * that it gets our answer rather than a reset. */
  c->lingering = true;
  int rc = uv_timer_start(&c->timer, on_timer, HTTPD_LINGER_MS, 0);
  if (rc < 0) {
    conn_teardown(c);
    return;
  }
  conn_update_reading(c);
}

static void on_timer(uv_timer_t *t) {
  struct conn *c = t->data;
  if (c->closing) return;
  if (c->lingering) conn_teardown(c);
  else if (c->phase == PH_HEAD) conn_fail(c, 408, "request header timeout");
  else if (c->phase == PH_BODY) conn_fail(c, 408, "request body timeout");
  else { /* idle keep-alive connection, or a new one that sent nothing */
    c->no_more = true;
    conn_settle(c);
  }
}

/* Ends a connection with nothing left to write: FIN after the last answer. */
static void conn_finish(struct conn *c) {
  c->shutting = true;
  conn_update_reading(c);
  if (c->closing) return;
  int rc = uv_timer_stop(&c->timer);
  if (rc < 0 || c->eof) {
    conn_teardown(c);
    return;
  }
  c->shut.data = c;
  rc = uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown);
  if (rc < 0) conn_teardown(c);
}

static void conn_maybe_finish(struct conn *c) {
  if (c->closing || c->shutting || c->in_parse) return;
  if (c->writes || c->qhead) return;
  if (c->cur && !c->failed) return; /* draining: a started request may finish */
  if (!c->no_more) return;
  conn_finish(c);
}

static void conn_resume(struct conn *c) {
  if (!c->paused || c->closing || c->in_parse) return;
  if (c->qlen >= c->srv->cfg.max_pipeline) return;
  char *data = c->stash;
  size_t len = c->stash_len;
  c->stash = NULL;
  c->stash_len = 0;
  c->paused = false;
  llhttp_resume(&c->parser);
  conn_feed(c, data ? data : "", len);
  free(data);
}

static void on_idle(uv_idle_t *h) {
  struct httpd *srv = h->data;
  struct conn *list = srv->resume;
  srv->resume = NULL;
  int rc = uv_idle_stop(h);
  if (rc < 0) log_warn("httpd: idle stop: %s", uv_strerror(rc));
  while (list) {
    struct conn *c = list;
    list = c->resume_next;
    c->resume_next = NULL;
    c->resume_queued = false;
    conn_resume(c);
    conn_unref(c);
  }
}

/* Resumes c's parser from the idle callback, not from the caller's stack. */
static void conn_schedule_resume(struct conn *c) {
  struct httpd *srv = c->srv;
  if (c->resume_queued) return;
  if (!uv_is_active((uv_handle_t *)&srv->idle)) {
    int rc = uv_idle_start(&srv->idle, on_idle);
    if (rc < 0) {
      log_warn("httpd: idle start: %s", uv_strerror(rc));
      conn_teardown(c);
      return;
    }
  }
  c->resume_queued = true;
  c->refs++;
  c->resume_next = srv->resume;
  srv->resume = c;
}

/* Called after every change: what to read, when to time out, whether to end. */
static void conn_settle(struct conn *c) {
  if (c->closing) return;
  if (c->paused && c->qlen < c->srv->cfg.max_pipeline) conn_schedule_resume(c);
  if (c->closing) return;
  conn_update_reading(c);
  if (c->closing) return;
  conn_arm_timer(c);
  if (c->closing) return;
  conn_maybe_finish(c);
}

/* }==================== */

/* {==================== writing ==================== */

static const char *http_date(struct httpd *srv) {
  time_t now = time(NULL);
  if (now != srv->date_sec) {
    struct tm tm;
    srv->date_sec = now;
    if (!gmtime_r(&now, &tm) ||
        strftime(srv->date, sizeof srv->date, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
      srv->date[0] = '\0';
  }
  return srv->date;
}

static void on_write(uv_write_t *w, int status) {
  struct wreq *wr = (struct wreq *)w;
  struct conn *c = wr->c;
  free(wr->head);
  free(wr->body);
  free(wr);
  c->writes--;
  if (c->closing) return;
  if (status < 0) {
    log_debug("httpd: %s: write: %s", c->peer, uv_strerror(status));
    conn_teardown(c);
    return;
  }
  conn_settle(c);
}

/* Serialises r's answer and starts writing it; r is freed. */
static void write_entry(struct conn *c, struct hreq *r, bool close) {
  struct httpd *srv = c->srv;
  struct buf head;
  buf_init(&head);
  int s = r->status;
  bool no_body = s == 204 || s == 304;
  buf_printf(&head, "HTTP/1.1 %d %s\r\n", s, httpd_status_text(s));
  const char *date = http_date(srv);
  if (*date) buf_printf(&head, "Date: %s\r\n", date);
  if (r->ctype && !no_body) buf_printf(&head, "Content-Type: %s\r\n", r->ctype);
  if (s != 204) buf_printf(&head, "Content-Length: %zu\r\n", no_body ? 0 : r->rbody_len);
  if (r->extra.len) buf_append(&head, r->extra.data, r->extra.len);
  if (close) buf_puts(&head, "Connection: close\r\n");
  else if (r->pub.http_minor == 0 && r->pub.http_major == 1)
    buf_puts(&head, "Connection: keep-alive\r\n");
  buf_puts(&head, "\r\n");

  struct wreq *wr = xcalloc(1, sizeof *wr);
  wr->c = c;
  uv_buf_t bufs[2];
  unsigned nb = 1;
  bufs[0] = uv_buf_init(head.data, (unsigned)head.len);
  if (!no_body && !r->head_method && r->rbody_len) {
    wr->body = r->rbody; /* moved */
    r->rbody = NULL;
    bufs[nb++] = uv_buf_init(wr->body, (unsigned)r->rbody_len);
  }
  wr->head = buf_take(&head);
  size_t total = bufs[0].len + (nb > 1 ? bufs[1].len : 0);
  hreq_free(r);
  int rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, bufs, nb, on_write);
  if (rc < 0) {
    log_debug("httpd: %s: write: %s", c->peer, uv_strerror(rc));
    free(wr->head);
    free(wr->body);
    free(wr);
    conn_teardown(c);
    return;
  }
  c->writes++;
  srv->st.responses++;
  srv->st.bytes_out += total;
}

/* Writes the answered entries at the head of the queue, in order. */
static void conn_flush(struct conn *c) {
  while (!c->closing && c->qhead && c->qhead->answered) {
    struct hreq *r = queue_pop(c);
    if (c->sent_close) { /* cannot happen: nothing is parsed after a close */
      hreq_free(r);
      continue;
    }
    /* The last answer before a close says so; answers after a drain began too. */
    bool close = r->close || (c->no_more && !c->qhead && (!c->cur || c->failed));
    if (close) c->no_more = c->sent_close = true;
    write_entry(c, r, close);
  }
  if (!c->in_parse) conn_settle(c);
}

static void json_escape(struct buf *b, const char *s) {
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') buf_printf(b, "\\%c", ch);
    else if (ch < 0x20) buf_printf(b, "\\u%04x", ch);
    else buf_putc(b, (char)ch);
  }
}

static void count_error(struct httpd *srv, int status) {
  switch (status) {
  case 408: srv->st.timeouts++; break;
  case 413: srv->st.too_large++; break;
  case 431: srv->st.headers_too_large++; break;
  case 503: srv->st.connections_rejected++; break;
  default: srv->st.bad_requests++; break;
  }
}

/* The server refuses: no more requests, the partial one is dropped, an answer goes
 * after those already queued, and the connection ends (lingering). */
static void conn_fail(struct conn *c, int status, const char *reason) {
  if (c->closing || c->failed) return;
  struct httpd *srv = c->srv;
  c->failed = true;
  c->no_more = true;
  hreq_free(c->cur);
  c->cur = NULL;
  c->phase = PH_IDLE;
  free(c->stash);
  c->stash = NULL;
  c->stash_len = 0;
  c->paused = false;
  count_error(srv, status);
  log_debug("httpd: %s: %d %s", c->peer, status, reason);

  struct hreq *r = hreq_new(c);
  r->answered = true;
  r->close = true;
  r->status = status;
  r->pub.http_major = 1;
  r->pub.http_minor = 1;
  r->ctype = xstrdup("application/json");
  struct buf body;
  buf_init(&body);
  buf_puts(&body, "{\"error\":\"");
  json_escape(&body, reason);
  buf_puts(&body, "\"}\n");
  r->rbody_len = body.len;
  r->rbody = buf_take(&body);
  if (status == 503) buf_puts(&r->extra, "Retry-After: 1\r\n");
  queue_push(c, r);
  conn_flush(c);
  if (srv->cfg.on_error) srv->cfg.on_error(status, reason, c->peer, srv->cfg.ud);
}

/* }==================== */

/* {==================== reading ==================== */

static void conn_stash(struct conn *c, const char *data, size_t len) {
  c->stash = len ? xmalloc(len) : NULL;
  if (len) memcpy(c->stash, data, len);
  c->stash_len = len;
  c->paused = true;
}

/* Runs the parser over data. Pauses (stashing the rest) when the pipeline is full,
 * drops the rest when no more requests are wanted, answers parse errors. */
static void conn_feed(struct conn *c, const char *data, size_t len) {
  llhttp_errno_t err;
  const char *end = data + len;
  c->in_parse = true;
  for (;;) {
    err = llhttp_execute(&c->parser, data, (size_t)(end - data));
    if (err == HPE_PAUSED_UPGRADE) { /* Upgrade is ignored: go on with HTTP */
      data = llhttp_get_error_pos(&c->parser);
      llhttp_resume_after_upgrade(&c->parser);
      continue;
    }
    if (err != HPE_PAUSED) break;
    data = llhttp_get_error_pos(&c->parser);
    if (c->closing || c->no_more || c->abort_pending) {
      if (data < end) c->discarded = true;
      break;
    }
    if (c->qlen < c->srv->cfg.max_pipeline) { /* answered meanwhile: room again */
      llhttp_resume(&c->parser);
      continue;
    }
    conn_stash(c, data, (size_t)(end - data));
    break;
  }
  c->in_parse = false;
  if (c->abort_pending) {
    conn_teardown(c);
    return;
  }
  if (err != HPE_OK && err != HPE_PAUSED) {
    int status = c->fail_status ? c->fail_status : 400;
    const char *reason = c->fail_reason ? c->fail_reason : llhttp_get_error_reason(&c->parser);
    conn_fail(c, status, reason ? reason : llhttp_errno_name(err));
    return;
  }
  if (c->eof && !c->paused) { /* input ended; a partial request is dropped */
    hreq_free(c->cur);
    c->cur = NULL;
    c->phase = PH_IDLE;
    c->no_more = true;
  }
  conn_flush(c); /* answers given during parsing; then settle */
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  struct conn *c = s->data;
  (void)b;
  if (c->closing || nread == 0) return;
  if (nread < 0) {
    if (nread != UV_EOF) {
      log_debug("httpd: %s: read: %s", c->peer, uv_strerror((int)nread));
      conn_teardown(c);
      return;
    }
    c->eof = true;
    c->reading = false; /* libuv stops reading at EOF */
    if (c->lingering) {
      conn_teardown(c);
      return;
    }
    if (!c->paused) {
      if (c->cur) {
        hreq_free(c->cur);
        c->cur = NULL;
        c->phase = PH_IDLE;
      }
      c->no_more = true;
    }
    conn_flush(c);
    return;
  }
  c->srv->st.bytes_in += (uint64_t)nread;
  if (c->lingering || c->failed || c->shutting) return; /* discarded */
  conn_feed(c, c->srv->rbuf, (size_t)nread);
}

/* }==================== */

/* {==================== accepting ==================== */

static bool is_loopback(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  }
  if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

static int peer_name(struct conn *c) {
  struct sockaddr_storage ss;
  int len = (int)sizeof ss;
  int rc = uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len);
  if (rc < 0) return rc;
  c->loopback = is_loopback(&ss);
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    c->peer_port = ntohs(a->sin_port);
    return uv_ip4_name(a, c->peer, sizeof c->peer);
  }
  const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
  c->peer_port = ntohs(a6->sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
    struct sockaddr_in a4;
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    memcpy(&a4.sin_addr, &a6->sin6_addr.s6_addr[12], 4);
    return uv_ip4_name(&a4, c->peer, sizeof c->peer);
  }
  return uv_ip6_name(a6, c->peer, sizeof c->peer);
}

static void on_connection(uv_stream_t *server, int status) {
  struct httpd *srv = server->data;
  if (status < 0) {
    log_warn("httpd: accept: %s", uv_strerror(status));
    return;
  }
  struct conn *c = xcalloc(1, sizeof *c);
  c->srv = srv;
  c->refs = 1;
  int rc = uv_tcp_init(srv->loop, &c->tcp);
  if (rc < 0) {
    log_warn("httpd: accept: %s", uv_strerror(rc));
    free(c);
    return;
  }
  c->tcp.data = c;
  c->timer.data = c;
  c->handles = 1;
  srv->nalive++;
  rc = uv_accept(server, (uv_stream_t *)&c->tcp);
  if (rc == 0) {
    rc = uv_timer_init(srv->loop, &c->timer);
    if (rc == 0) c->handles = 2;
  }
  if (rc == 0) rc = peer_name(c);
  if (rc < 0) {
    log_debug("httpd: accept: %s", uv_strerror(rc));
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_close);
    if (c->handles == 2) uv_close((uv_handle_t *)&c->timer, on_conn_handle_close);
    return;
  }
  conn_list(c);
  srv->st.connections_accepted++;
  llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
  c->parser.data = c;
  rc = uv_tcp_nodelay(&c->tcp, 1);
  if (rc < 0) log_debug("httpd: nodelay: %s", uv_strerror(rc));
  if (srv->nopen > srv->cfg.max_connections + REJECT_SLACK) { /* flood: cut */
    srv->st.connections_rejected++;
    if (srv->cfg.on_error) srv->cfg.on_error(0, "too many connections", c->peer, srv->cfg.ud);
    conn_teardown(c);
    return;
  }
  if (srv->nopen > srv->cfg.max_connections) {
    conn_fail(c, 503, "too many connections");
    return;
  }
  conn_settle(c);
}

/* }==================== */

/* {==================== server ==================== */

static void on_srv_handle_close(uv_handle_t *h) {
  struct httpd *srv = h->data;
  if (--srv->handles > 0) return;
  httpd_close_cb cb = srv->close_cb;
  void *ud = srv->close_ud;
  free(srv->rbuf);
  free(srv);
  if (cb) cb(ud);
}

static void srv_maybe_done(struct httpd *srv) {
  if (!srv->closing || srv->nalive > 0 || srv->drain_closed) return;
  srv->drain_closed = true;
  uv_close((uv_handle_t *)&srv->drain, on_srv_handle_close);
  uv_close((uv_handle_t *)&srv->idle, on_srv_handle_close);
}

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss) {
  char tmp[64];
  memset(ss, 0, sizeof *ss);
  if (!host || !*host) host = "127.0.0.1";
  if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
  size_t n = strlen(host);
  if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
    if (n - 2 >= sizeof tmp) return -EINVAL;
    memcpy(tmp, host + 1, n - 2);
    tmp[n - 2] = '\0';
    host = tmp;
  }
  if (strchr(host, ':'))
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) < 0 ? -EINVAL : 0;
  return uv_ip4_addr(host, port, (struct sockaddr_in *)ss) < 0 ? -EINVAL : 0;
}

static void apply_defaults(struct httpd_config *c) {
  if (!c->max_body) c->max_body = HTTPD_MAX_BODY;
  if (!c->max_header) c->max_header = HTTPD_MAX_HEADER;
  if (!c->header_timeout_ms) c->header_timeout_ms = HTTPD_HEADER_TIMEOUT_MS;
  if (!c->body_timeout_ms) c->body_timeout_ms = HTTPD_BODY_TIMEOUT_MS;
  if (!c->keepalive_timeout_ms) c->keepalive_timeout_ms = HTTPD_KEEPALIVE_TIMEOUT_MS;
  if (!c->drain_timeout_ms) c->drain_timeout_ms = HTTPD_DRAIN_TIMEOUT_MS;
  if (!c->max_connections) c->max_connections = HTTPD_MAX_CONNECTIONS;
  if (!c->max_pipeline) c->max_pipeline = HTTPD_MAX_PIPELINE;
  c->host = NULL; /* not kept */
}

int httpd_open(uv_loop_t *loop, const struct httpd_config *cfg, struct httpd **out) {
  struct sockaddr_storage ss;
  *out = NULL;
  if (!loop || !cfg || !cfg->on_request || cfg->port < 0 || cfg->port > 65535)
    return -EINVAL;
  if (parse_addr(cfg->host, cfg->port, &ss) < 0) return -EINVAL;

  struct sigaction sa;
  if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0) log_warn("httpd: cannot ignore SIGPIPE");
  }

  struct httpd *srv = xcalloc(1, sizeof *srv);
  srv->loop = loop;
  srv->cfg = *cfg;
  apply_defaults(&srv->cfg);
  srv->rbuf = xmalloc(READ_BUF_SIZE);
  int rc = uv_tcp_init(loop, &srv->listener);
  if (rc < 0) {
    free(srv->rbuf);
    free(srv);
    return rc;
  }
  srv->listener.data = srv;
  srv->handles = 1;
  rc = uv_timer_init(loop, &srv->drain);
  if (rc < 0) goto fail;
  srv->drain.data = srv;
  srv->handles = 2;
  rc = uv_idle_init(loop, &srv->idle);
  if (rc < 0) goto fail;
  srv->idle.data = srv;
  srv->handles = 3;
  rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0);
  if (rc < 0) goto fail;
  rc = uv_listen((uv_stream_t *)&srv->listener, LISTEN_BACKLOG, on_connection);
  if (rc < 0) goto fail;
  struct sockaddr_storage bound;
  int blen = (int)sizeof bound;
  rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &blen);
  if (rc < 0) goto fail;
  srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
  *out = srv;
  return 0;

fail:
  srv->closing = true; /* no callback: freed by the last close */
  srv->drain_closed = true;
  uv_close((uv_handle_t *)&srv->listener, on_srv_handle_close);
  if (srv->handles >= 2) uv_close((uv_handle_t *)&srv->drain, on_srv_handle_close);
  if (srv->handles == 3) uv_close((uv_handle_t *)&srv->idle, on_srv_handle_close);
  return rc;
}

int httpd_port(const struct httpd *srv) { return srv->port; }

void httpd_get_stats(const struct httpd *srv, struct httpd_stats *st) {
  *st = srv->st;
  st->connections_open = srv->nopen;
}

static void on_drain_timeout(uv_timer_t *t) {
  struct httpd *srv = t->data;
  size_t n = srv->nopen;
  if (n) log_warn("httpd: drain timeout: closing %zu connection(s)", n);
  while (srv->conns) conn_teardown(srv->conns);
}

int httpd_close(struct httpd *srv, httpd_close_cb cb, void *ud) {
  if (srv->closing) return -EALREADY;
  srv->closing = true;
  srv->close_cb = cb;
  srv->close_ud = ud;
  uv_close((uv_handle_t *)&srv->listener, on_srv_handle_close);
  int rc = uv_timer_start(&srv->drain, on_drain_timeout, srv->cfg.drain_timeout_ms, 0);
  if (rc < 0) log_warn("httpd: drain timer: %s", uv_strerror(rc));
  for (struct conn *c = srv->conns, *next; c; c = next) {
    next = c->next;
    c->no_more = true;
    if (c->paused) { /* requests read ahead but not started are dropped */
      free(c->stash);
      c->stash = NULL;
      c->stash_len = 0;
      c->paused = false;
      c->discarded = true;
    }
    conn_flush(c);
  }
  srv_maybe_done(srv);
  return 0;
}

/* }==================== */

/* {==================== answering ==================== */

const char *httpd_req_header(const struct httpd_req *req, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < req->nheaders; i++) {
    const struct httpd_header *h = &req->headers[i];
    if (h->name_len == n && strncasecmp(h->name, name, n) == 0) return h->value;
  }
  return NULL;
}

bool httpd_req_gone(const struct httpd_req *req) {
  const struct hreq *r = (const struct hreq *)req;
  return r->conn->closing || !r->queued;
}

char *httpd_req_take_body(struct httpd_req *req, size_t *len) {
  struct hreq *r = (struct hreq *)req;
  if (len) *len = r->body.len;
  char *p = buf_take(&r->body);
  req->body = "";
  req->body_len = 0;
  return p;
}

static bool is_token(const char *s) {
  static const char extra[] = "!#$%&'*+-.^_`|~";
  if (!*s) return false;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
          (ch && strchr(extra, ch))))
      return false;
  }
  return true;
}

int httpd_add_header(struct httpd_req *req, const char *name, const char *value) {
  struct hreq *r = (struct hreq *)req;
  static const char *const managed[] = {"Content-Length", "Transfer-Encoding", "Connection",
                                        "Date"};
  if (!name || !value || !is_token(name) || strpbrk(value, "\r\n")) return -EINVAL;
  for (size_t i = 0; i < sizeof managed / sizeof *managed; i++)
    if (strcasecmp(name, managed[i]) == 0) return -EINVAL;
  buf_printf(&r->extra, "%s: %s\r\n", name, value);
  return 0;
}

int httpd_respond(struct httpd_req *req, int status, const char *content_type,
                  const void *body, size_t len) {
  struct hreq *r = (struct hreq *)req;
  struct conn *c = r->conn;
  int ret = 0;
  r->answered = true;
  if (c->closing || !r->queued) {
    c->srv->st.gone++;
    hreq_free(r);
    conn_unref(c);
    return -ECONNRESET;
  }
  if (status < 200 || status > 599 || (content_type && strpbrk(content_type, "\r\n"))) {
    log_warn("httpd: invalid answer (status %d) sent as 500", status);
    status = 500, content_type = NULL, body = NULL, len = 0;
    ret = -EINVAL;
  }
  r->status = status;
  r->ctype = content_type ? xstrdup(content_type) : NULL;
  if (len) {
    r->rbody = xmalloc(len);
    memcpy(r->rbody, body, len);
    r->rbody_len = len;
  }
  conn_flush(c);
  conn_unref(c); /* the handles' reference keeps c */
  return ret;
}

/* }==================== */

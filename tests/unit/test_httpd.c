/* Unit tests of httpd.c: a server on 127.0.0.1:0 in each test's own loop, driven by real
 * clients in a thread (raw sockets, and libcurl for Expect: 100-continue). The client
 * thread makes the assertions while the loop runs; the loop thread only records what
 * the application saw, asserted after the thread is joined. Every loop must close with
 * no handle left (uv_loop_close == 0) and the close callback must run exactly once.
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <uv.h>

#include "check.h"
#include "httpd.h"

/* {==================== fixture: loop thread ==================== */

#define MAX_HELD 16

struct fx {
  uv_loop_t loop;
  struct httpd *srv;
  struct httpd_config cfg;
  const char *host;
  int port, family;
  uv_async_t async;
  uv_thread_t thread;
  void (*client)(struct fx *);
  atomic_int want_shutdown, client_done, delivered, answered_late;
  bool shut;
  int closed;            /* close callbacks */
  int held_answered_before_close;
  struct httpd_req *held[MAX_HELD];
  int nheld;
  /* what the application saw */
  int gone_at_answer, respond_reset, add_header_rejected, errors_seen[600];
  char method[16], path[128], query[128], hdr[128], peer[64], body[256];
  size_t body_len;
  bool loopback;
  struct httpd_stats stats;
};

struct later {
  uv_timer_t t;
  struct httpd_req *req;
  struct fx *fx;
};

static void on_later_close(uv_handle_t *h) { free(h->data); }

static void on_later(uv_timer_t *t) {
  struct later *l = t->data;
  struct fx *fx = l->fx;
  if (httpd_req_gone(l->req)) fx->gone_at_answer++;
  /* The body is the request's own target: httpd_respond must copy it before release. */
  int rc = httpd_respond(l->req, 200, "text/plain", l->req->target, strlen(l->req->target));
  if (rc == -ECONNRESET) fx->respond_reset++;
  atomic_fetch_add(&fx->answered_late, 1);
  uv_close((uv_handle_t *)t, on_later_close);
}

static void answer_later(struct fx *fx, struct httpd_req *req, unsigned ms) {
  struct later *l = calloc(1, sizeof *l);
  l->req = req;
  l->fx = fx;
  l->t.data = l;
  if (uv_timer_init(&fx->loop, &l->t) != 0 || uv_timer_start(&l->t, on_later, ms, 0) != 0)
    abort();
}

static unsigned query_ms(const char *q) {
  const char *p = strstr(q, "ms=");
  return p ? (unsigned)atoi(p + 3) : 0;
}

static void app_request(struct httpd_req *req, void *ud) {
  struct fx *fx = ud;
  const char *h;
  snprintf(fx->method, sizeof fx->method, "%s", req->method);
  snprintf(fx->path, sizeof fx->path, "%s", req->path);
  snprintf(fx->query, sizeof fx->query, "%s", req->query);
  snprintf(fx->peer, sizeof fx->peer, "%s", req->peer);
  h = httpd_req_header(req, "x-test");
  snprintf(fx->hdr, sizeof fx->hdr, "%s", h ? h : "(none)");
  snprintf(fx->body, sizeof fx->body, "%s", req->body);
  fx->body_len = req->body_len;
  fx->loopback = req->peer_loopback;
  atomic_fetch_add(&fx->delivered, 1);

  if (strcmp(req->path, "/echo") == 0) {
    char out[512];
    int n = snprintf(out, sizeof out, "%s %s ?%s [%.*s]", req->method, req->path, req->query,
                     (int)(req->body_len > 200 ? 200 : req->body_len), req->body);
    httpd_respond(req, 200, "text/plain", out, (size_t)n);
  } else if (strcmp(req->path, "/len") == 0) {
    size_t len;
    char *body = httpd_req_take_body(req, &len);
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++) sum = sum * 31 + (unsigned char)body[i];
    free(body);
    char out[64];
    int n = snprintf(out, sizeof out, "len=%zu sum=%u", len, sum);
    httpd_respond(req, 200, "text/plain", out, (size_t)n);
  } else if (strcmp(req->path, "/delay") == 0) {
    answer_later(fx, req, query_ms(req->query));
  } else if (strcmp(req->path, "/hold") == 0) {
    if (fx->nheld < MAX_HELD) fx->held[fx->nheld++] = req;
    else httpd_respond(req, 500, NULL, NULL, 0);
  } else if (strcmp(req->path, "/busy") == 0) {
    if (httpd_add_header(req, "Bad\r\nName", "x") == -EINVAL) fx->add_header_rejected++;
    if (httpd_add_header(req, "X-Ok", "a\r\nInjected: 1") == -EINVAL) fx->add_header_rejected++;
    if (httpd_add_header(req, "Content-Length", "1") == -EINVAL) fx->add_header_rejected++;
    httpd_add_header(req, "Retry-After", "7");
    httpd_respond(req, 503, "application/json", "{\"busy\":true}", 13);
  } else {
    httpd_respond(req, 404, "application/json", "{\"error\":\"not found\"}", 21);
  }
}

static void app_error(int status, const char *reason, const char *peer, void *ud) {
  struct fx *fx = ud;
  (void)reason, (void)peer;
  if (status >= 0 && status < 600) fx->errors_seen[status]++;
}

static void on_closed_count(void *ud) { (*(int *)ud)++; }

static void on_closed(void *ud) {
  struct fx *fx = ud;
  fx->closed++;
}

static void begin_shutdown(struct fx *fx) {
  if (fx->shut) return;
  fx->shut = true;
  httpd_get_stats(fx->srv, &fx->stats);
  if (httpd_close(fx->srv, on_closed, fx) != 0) abort();
  /* Held requests are answered a little after the drain began. */
  for (int i = 0; i < fx->nheld; i++) answer_later(fx, fx->held[i], 100);
  fx->nheld = 0;
}

static void on_async(uv_async_t *a) {
  struct fx *fx = a->data;
  if (atomic_load(&fx->want_shutdown)) begin_shutdown(fx);
  if (atomic_load(&fx->client_done)) {
    begin_shutdown(fx);
    uv_close((uv_handle_t *)a, NULL);
  }
}

static void client_main(void *arg) {
  struct fx *fx = arg;
  fx->client(fx);
  atomic_store(&fx->client_done, 1);
  uv_async_send(&fx->async);
}

/* Runs one test: server up, client thread, loop until everything closed. cfg fields
 * set by the caller are kept; callbacks and address are filled here. */
static void run(struct fx *fx, void (*client)(struct fx *)) {
  fx->client = client;
  fx->cfg.on_request = app_request;
  fx->cfg.on_error = app_error;
  fx->cfg.ud = fx;
  fx->cfg.host = fx->host ? fx->host : "127.0.0.1";
  fx->family = fx->host && strchr(fx->host, ':') ? AF_INET6 : AF_INET;
  ASSERT_EQ_INT(uv_loop_init(&fx->loop), 0);
  ASSERT_EQ_INT(httpd_open(&fx->loop, &fx->cfg, &fx->srv), 0);
  fx->port = httpd_port(fx->srv);
  ASSERT_TRUE(fx->port > 0);
  fx->async.data = fx;
  ASSERT_EQ_INT(uv_async_init(&fx->loop, &fx->async, on_async), 0);
  ASSERT_EQ_INT(uv_thread_create(&fx->thread, client_main, fx), 0);
  ASSERT_EQ_INT(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(uv_thread_join(&fx->thread), 0);
  ASSERT_EQ_INT(uv_loop_close(&fx->loop), 0);
  ASSERT_EQ_INT(fx->closed, 1);
}

/* }==================== */

/* {==================== client side (thread) ==================== */

struct cl {
  int fd;
  char buf[1 << 16];
  size_t len;
};

struct resp {
  int status;
  char head[4096];
  char body[8192];
  size_t body_len;
};

static struct cl *cl_open(struct fx *fx) {
  struct cl *k = calloc(1, sizeof *k);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  if (fx->family == AF_INET6) {
    uv_ip6_addr("::1", fx->port, (struct sockaddr_in6 *)&ss);
    sl = sizeof(struct sockaddr_in6);
  } else {
    uv_ip4_addr("127.0.0.1", fx->port, (struct sockaddr_in *)&ss);
    sl = sizeof(struct sockaddr_in);
  }
  k->fd = socket(fx->family, SOCK_STREAM, 0);
  struct timeval tv = {5, 0};
  setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(k->fd, (struct sockaddr *)&ss, sl) != 0) {
    close(k->fd);
    free(k);
    return NULL;
  }
  return k;
}

static void cl_close(struct cl *k) {
  if (!k) return;
  close(k->fd);
  free(k);
}

/* Closes with a reset (SO_LINGER 0) instead of a FIN. */
static void cl_reset(struct cl *k) {
  struct linger lg = {1, 0};
  setsockopt(k->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  cl_close(k);
}

static int cl_send(struct cl *k, const void *p, size_t n) {
  const char *s = p;
  while (n) {
    ssize_t w = send(k->fd, s, n, MSG_NOSIGNAL);
    if (w <= 0) return -1;
    s += w, n -= (size_t)w;
  }
  return 0;
}

static int cl_sends(struct cl *k, const char *s) { return cl_send(k, s, strlen(s)); }

static int cl_fill(struct cl *k) {
  if (k->len == sizeof k->buf) return -1;
  ssize_t n = recv(k->fd, k->buf + k->len, sizeof k->buf - k->len, 0);
  if (n <= 0) return -1;
  k->len += (size_t)n;
  return 0;
}

static const char *find_header(const char *head, const char *name) {
  size_t n = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
    if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
      const char *v = p + 3 + n;
      while (*v == ' ') v++;
      return v;
    }
  }
  return NULL;
}

/* Reads one response (Content-Length framed). Returns 0, or -1 on EOF/timeout/junk. */
static int cl_response(struct cl *k, struct resp *r) {
  memset(r, 0, sizeof *r);
  char *end;
  for (;;) {
    end = k->len ? memmem(k->buf, k->len, "\r\n\r\n", 4) : NULL;
    if (end) break;
    if (cl_fill(k) != 0) return -1;
  }
  size_t hlen = (size_t)(end - k->buf) + 4;
  if (hlen >= sizeof r->head) return -1;
  memcpy(r->head, k->buf, hlen);
  r->head[hlen] = '\0';
  if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1) return -1;
  const char *cl = find_header(r->head, "Content-Length");
  size_t blen = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
  if (r->status == 100) blen = 0;
  while (k->len < hlen + blen)
    if (cl_fill(k) != 0) return -1;
  if (blen >= sizeof r->body) return -1;
  memcpy(r->body, k->buf + hlen, blen);
  r->body[blen] = '\0';
  r->body_len = blen;
  memmove(k->buf, k->buf + hlen + blen, k->len - hlen - blen);
  k->len -= hlen + blen;
  return 0;
}

/* Response for a HEAD request: no body whatever Content-Length says. */
static int cl_head_response(struct cl *k, struct resp *r) {
  memset(r, 0, sizeof *r);
  char *end;
  while (!(end = k->len ? memmem(k->buf, k->len, "\r\n\r\n", 4) : NULL))
    if (cl_fill(k) != 0) return -1;
  size_t hlen = (size_t)(end - k->buf) + 4;
  memcpy(r->head, k->buf, hlen < sizeof r->head ? hlen : sizeof r->head - 1);
  sscanf(r->head, "HTTP/1.1 %d", &r->status);
  memmove(k->buf, k->buf + hlen, k->len - hlen);
  k->len -= hlen;
  return 0;
}

/* True when the server closed (EOF or reset) with nothing more to read. */
static bool cl_eof(struct cl *k) {
  if (k->len) return false;
  char b[256];
  ssize_t n = recv(k->fd, b, sizeof b, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

static long long now_ms(void) { return (long long)(uv_hrtime() / 1000000); }

static bool wait_for(atomic_int *v, int at_least, int timeout_ms) {
  long long end = now_ms() + timeout_ms;
  while (atomic_load(v) < at_least) {
    if (now_ms() > end) return false;
    usleep(2000);
  }
  return true;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

/* }==================== */

/* {==================== tests ==================== */

static void c_basic(struct fx *fx) {
  struct resp r;
  struct cl *k = cl_open(fx);
  ASSERT_TRUE(k != NULL);
  if (!k) return;
  cl_sends(k, "GET /echo?x=1&y=%20 HTTP/1.1\r\nHost: t\r\nX-Test:   Yes please  \r\n"
              "X-Empty:\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_STR(r.body, "GET /echo ?x=1&y=%20 []");
  ASSERT_TRUE(find_header(r.head, "Date") != NULL);
  ASSERT_TRUE(strncmp(find_header(r.head, "Content-Type"), "text/plain\r\n", 12) == 0);
  ASSERT_TRUE(find_header(r.head, "Connection") == NULL); /* HTTP/1.1 keep-alive */

  cl_sends(k, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "POST /echo ? [hello world]");

  cl_sends(k, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "POST /echo ? [hello world]");

  cl_sends(k, "HEAD /echo HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ_INT(cl_head_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_TRUE(strncmp(find_header(r.head, "Content-Length"), "15\r\n", 4) == 0);

  cl_sends(k, "GET http://example.com/echo?abs=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "GET /echo ?abs=1 []");

  cl_sends(k, GET("/nowhere"));
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 404);

  cl_sends(k, GET("/busy"));
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 503);
  ASSERT_TRUE(find_header(r.head, "Retry-After") &&
              strncmp(find_header(r.head, "Retry-After"), "7\r\n", 3) == 0);
  ASSERT_TRUE(find_header(r.head, "Injected") == NULL);
  ASSERT_EQ_STR(r.body, "{\"busy\":true}");

  /* HTTP/1.0 without keep-alive: answer, then close. */
  cl_sends(k, "GET /echo HTTP/1.0\r\nX-Test: last\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_TRUE(find_header(r.head, "Connection") &&
              strncmp(find_header(r.head, "Connection"), "close", 5) == 0);
  ASSERT_TRUE(cl_eof(k));
  cl_close(k);

  /* HTTP/1.0 keep-alive is honoured. */
  k = cl_open(fx);
  cl_sends(k, "GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_TRUE(find_header(r.head, "Connection") &&
              strncmp(find_header(r.head, "Connection"), "keep-alive", 10) == 0);
  cl_sends(k, "GET /echo HTTP/1.0\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_TRUE(cl_eof(k));
  cl_close(k);
}

static void t_basic(void) {
  struct fx fx = {0};
  run(&fx, c_basic);
  ASSERT_EQ_STR(fx.method, "GET");
  ASSERT_EQ_STR(fx.peer, "127.0.0.1");
  ASSERT_TRUE(fx.loopback);
  ASSERT_EQ_INT(fx.add_header_rejected, 3);
  ASSERT_EQ_INT(fx.stats.connections_accepted, 2);
  ASSERT_EQ_INT(fx.stats.requests, 10);
  ASSERT_EQ_INT(fx.stats.responses, 10);
  ASSERT_EQ_INT(fx.stats.connections_open, 0);
}

/* The application saw the header lookups of the first request: checked in c_headers. */
static void c_headers(struct fx *fx) {
  struct resp r;
  struct cl *k = cl_open(fx);
  cl_sends(k, "GET /echo HTTP/1.1\r\nHost: t\r\nx-TEST:   Yes please  \r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  cl_close(k);
}

static void t_headers(void) {
  struct fx fx = {0};
  run(&fx, c_headers);
  ASSERT_EQ_STR(fx.hdr, "Yes please"); /* case-insensitive, blanks trimmed */
}

/* One byte per write: every name, value, URL and body span arrives split. */
static void c_split(struct fx *fx) {
  struct resp r;
  struct cl *k = cl_open(fx);
  int one = 1;
  setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const char *req = "POST /echo?split=1 HTTP/1.1\r\nHost: t\r\nX-Test:  split value \r\n"
                    "Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n";
  for (const char *p = req; *p; p++) {
    cl_send(k, p, 1);
    usleep(500);
  }
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "POST /echo ?split=1 [abcdef]");
  cl_close(k);
}

static void t_split(void) {
  struct fx fx = {0};
  run(&fx, c_split);
  ASSERT_EQ_STR(fx.hdr, "split value");
  ASSERT_EQ_STR(fx.query, "split=1");
  ASSERT_EQ_INT(fx.body_len, 6);
}

static void c_keepalive(struct fx *fx) {
  struct resp r;
  struct cl *k = cl_open(fx);
  cl_sends(k, GET("/echo?n=1"));
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "GET /echo ?n=1 []");
  usleep(50 * 1000);
  cl_sends(k, GET("/echo?n=2"));
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "GET /echo ?n=2 []");
  cl_close(k);
}

static void t_keepalive(void) {
  struct fx fx = {0};
  run(&fx, c_keepalive);
  ASSERT_EQ_INT(fx.stats.connections_accepted, 1);
  ASSERT_EQ_INT(fx.stats.requests, 2);
}

/* Pipelined requests answered in reverse order still arrive in request order. */
static void c_pipeline(struct fx *fx) {
  struct resp r;
  struct cl *k = cl_open(fx);
  cl_sends(k, GET("/delay?ms=150&n=1") GET("/delay?ms=80&n=2") GET("/echo?n=3")
              GET("/delay?ms=0&n=4") GET("/delay?ms=40&n=5"));
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "/delay?ms=150&n=1");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "/delay?ms=80&n=2");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "GET /echo ?n=3 []");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "/delay?ms=0&n=4");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "/delay?ms=40&n=5");
  cl_close(k);
}

static void t_pipeline(void) {
  struct fx fx = {0};
  run(&fx, c_pipeline);
  ASSERT_EQ_INT(fx.stats.requests, 5);
}

/* More pipelined requests than max_pipeline: the parser pauses and resumes. */
static void c_pipeline_cap(struct fx *fx) {
  struct resp r;
  struct cl *k = cl_open(fx);
  char req[2048] = "";
  for (int i = 0; i < 7; i++) {
    char one[128];
    snprintf(one, sizeof one, "GET /delay?ms=%d&n=%d HTTP/1.1\r\nHost: t\r\n\r\n", 60 - i * 10, i);
    strcat(req, one);
  }
  strcat(req, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nlast");
  cl_sends(k, req);
  for (int i = 0; i < 7; i++) {
    char want[64];
    snprintf(want, sizeof want, "/delay?ms=%d&n=%d", 60 - i * 10, i);
    ASSERT_EQ_INT(cl_response(k, &r), 0);
    ASSERT_EQ_STR(r.body, want);
  }
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_STR(r.body, "POST /echo ? [last]");
  cl_close(k);
}

static void t_pipeline_cap(void) {
  struct fx fx = {0};
  fx.cfg.max_pipeline = 2;
  run(&fx, c_pipeline_cap);
  ASSERT_EQ_INT(fx.stats.requests, 8);
}

static void c_deferred(struct fx *fx) {
  struct resp r;
  struct cl *k = cl_open(fx);
  long long t0 = now_ms();
  cl_sends(k, GET("/delay?ms=100"));
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_STR(r.body, "/delay?ms=100");
  ASSERT_TRUE(now_ms() - t0 >= 95);
  cl_close(k);
}

static void t_deferred(void) {
  struct fx fx = {0};
  run(&fx, c_deferred);
  ASSERT_EQ_INT(atomic_load(&fx.answered_late), 1);
}

static void c_413(struct fx *fx) {
  struct resp r;
  /* Refused on Content-Length alone, before any body byte. */
  struct cl *k = cl_open(fx);
  cl_sends(k, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 413);
  ASSERT_TRUE(strstr(r.body, "too large") != NULL);
  ASSERT_TRUE(find_header(r.head, "Connection") != NULL);
  ASSERT_TRUE(cl_eof(k));
  cl_close(k);

  /* The same with the body sent anyway: the client still reads the 413, no reset. */
  k = cl_open(fx);
  static char big[70000];
  memset(big, 'a', sizeof big);
  char head[128];
  snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
           sizeof big);
  cl_sends(k, head);
  ASSERT_EQ_INT(cl_send(k, big, sizeof big), 0);
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 413);
  cl_close(k);

  /* A body at the limit passes. */
  k = cl_open(fx);
  cl_sends(k, "POST /len HTTP/1.1\r\nHost: t\r\nContent-Length: 1024\r\n\r\n");
  cl_send(k, big, 1024);
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_TRUE(strncmp(r.body, "len=1024 ", 9) == 0);
  cl_close(k);

  /* Chunked: refused while reading, once the chunks pass max_body. */
  k = cl_open(fx);
  cl_sends(k, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 2; i++) {
    cl_sends(k, "200\r\n");
    cl_send(k, big, 512);
    cl_sends(k, "\r\n");
  }
  cl_sends(k, "1\r\nx\r\n"); /* 1025 bytes */
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 413);
  ASSERT_TRUE(cl_eof(k));
  cl_close(k);

  /* Chunked: one announced chunk size over the limit is refused at its header. */
  k = cl_open(fx);
  cl_sends(k, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
              "100000\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 413);
  cl_close(k);
}

static void t_413(void) {
  struct fx fx = {0};
  fx.cfg.max_body = 1024;
  run(&fx, c_413);
  ASSERT_EQ_INT(fx.stats.too_large, 4);
  ASSERT_EQ_INT(fx.errors_seen[413], 4);
  ASSERT_EQ_INT(fx.stats.requests, 1);
}

static void c_431(struct fx *fx) {
  struct resp r;
  struct cl *k = cl_open(fx);
  static char hdr[6000];
  memset(hdr, 'v', sizeof hdr - 1);
  cl_sends(k, "GET /echo HTTP/1.1\r\nHost: t\r\nX-Big: ");
  cl_sends(k, hdr);
  cl_sends(k, "\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 431);
  ASSERT_TRUE(cl_eof(k));
  cl_close(k);

  /* Many small headers count too. */
  k = cl_open(fx);
  cl_sends(k, "GET /echo HTTP/1.1\r\n");
  for (int i = 0; i < 800; i++) cl_sends(k, "a: b\r\n"); /* 6 bytes each */
  cl_sends(k, "\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 431);
  cl_close(k);

  /* A long URL as well. */
  k = cl_open(fx);
  cl_sends(k, "GET /echo?");
  cl_sends(k, hdr);
  cl_sends(k, " HTTP/1.1\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 431);
  cl_close(k);

  /* Under the limit is fine. */
  k = cl_open(fx);
  hdr[3000] = '\0';
  cl_sends(k, "GET /echo HTTP/1.1\r\nHost: t\r\nX-Big: ");
  cl_sends(k, hdr);
  cl_sends(k, "\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 200);
  cl_close(k);
}

static void t_431(void) {
  struct fx fx = {0};
  fx.cfg.max_header = 4096;
  run(&fx, c_431);
  ASSERT_EQ_INT(fx.stats.headers_too_large, 3);
}

static void c_400(struct fx *fx) {
  struct resp r;
  struct cl *k = cl_open(fx);
  cl_sends(k, "\x01\x02garbage\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 400);
  ASSERT_TRUE(strstr(r.body, "{\"error\":\"") == r.body); /* llhttp's reason */
  ASSERT_TRUE(strlen(r.body) > 14);
  ASSERT_TRUE(cl_eof(k));
  cl_close(k);

  /* Content-Length and chunked together (request smuggling) is refused. */
  k = cl_open(fx);
  cl_sends(k, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 400);
  cl_close(k);

  /* A good request, then garbage: the good one is answered first. */
  k = cl_open(fx);
  cl_sends(k, GET("/delay?ms=50") "NOT HTTP AT ALL\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 400);
  ASSERT_TRUE(cl_eof(k));
  cl_close(k);

  k = cl_open(fx);
  cl_sends(k, "GET / HTTP/2.0\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_TRUE(r.status == 505 || r.status == 400);
  cl_close(k);

  k = cl_open(fx);
  cl_sends(k, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 501);
  cl_close(k);
}

static void t_400(void) {
  struct fx fx = {0};
  run(&fx, c_400);
  ASSERT_EQ_INT(fx.stats.bad_requests, 5);
  ASSERT_EQ_INT(fx.stats.requests, 1);
}

static void c_timeouts(struct fx *fx) {
  struct resp r;
  /* Headers that never end. */
  struct cl *k = cl_open(fx);
  long long t0 = now_ms();
  cl_sends(k, "GET /echo HTTP/1.1\r\nHost: t\r\n");
  usleep(100 * 1000);
  cl_sends(k, "X-Slow: 1\r\n"); /* trickling does not extend the deadline */
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 408);
  long long dt = now_ms() - t0;
  ASSERT_TRUE(dt >= 250 && dt < 3000);
  ASSERT_TRUE(cl_eof(k));
  cl_close(k);

  /* A body that never ends. */
  k = cl_open(fx);
  cl_sends(k, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 408);
  ASSERT_TRUE(strstr(r.body, "body") != NULL);
  ASSERT_TRUE(cl_eof(k));
  cl_close(k);

  /* A connection that sends nothing is closed without an answer. */
  k = cl_open(fx);
  t0 = now_ms();
  ASSERT_TRUE(cl_eof(k));
  ASSERT_TRUE(now_ms() - t0 >= 250);
  cl_close(k);

  /* An idle keep-alive connection is closed after keepalive_timeout_ms. */
  k = cl_open(fx);
  cl_sends(k, GET("/echo"));
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  t0 = now_ms();
  ASSERT_TRUE(cl_eof(k));
  dt = now_ms() - t0;
  ASSERT_TRUE(dt >= 350 && dt < 3000);
  cl_close(k);
}

static void t_timeouts(void) {
  struct fx fx = {0};
  fx.cfg.header_timeout_ms = 300;
  fx.cfg.body_timeout_ms = 300;
  fx.cfg.keepalive_timeout_ms = 400;
  run(&fx, c_timeouts);
  ASSERT_EQ_INT(fx.stats.timeouts, 2);
  ASSERT_EQ_INT(fx.errors_seen[408], 2);
}

/* Clients that vanish before their deferred answer. */
static void c_disconnect(struct fx *fx) {
  struct cl *k = cl_open(fx);
  cl_sends(k, GET("/delay?ms=200&reset=1"));
  ASSERT_TRUE(wait_for(&fx->delivered, 1, 3000));
  cl_reset(k); /* RST: the server tears the connection down at once */

  k = cl_open(fx);
  cl_sends(k, GET("/delay?ms=200&fin=1") GET("/delay?ms=100&fin=2"));
  ASSERT_TRUE(wait_for(&fx->delivered, 3, 3000));
  cl_close(k); /* FIN: the answers are written to a closed socket */

  k = cl_open(fx); /* mid-request */
  cl_sends(k, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nab");
  usleep(20 * 1000);
  cl_close(k);

  ASSERT_TRUE(wait_for(&fx->answered_late, 3, 3000));
  usleep(50 * 1000);
}

static void t_disconnect(void) {
  struct fx fx = {0};
  run(&fx, c_disconnect);
  ASSERT_EQ_INT(atomic_load(&fx.answered_late), 3);
  ASSERT_TRUE(fx.gone_at_answer >= 1);
  ASSERT_TRUE(fx.respond_reset >= 1);
  ASSERT_EQ_INT(fx.stats.connections_open, 0);
}

/* Graceful shutdown: idle keep-alive closed at once, the in-flight request answered
 * with Connection: close, new connections refused, the callback after all that. */
static void c_shutdown(struct fx *fx) {
  struct resp r;
  struct cl *a = cl_open(fx);
  cl_sends(a, GET("/hold"));
  ASSERT_TRUE(wait_for(&fx->delivered, 1, 3000));
  struct cl *b = cl_open(fx);
  cl_sends(b, GET("/echo"));
  ASSERT_EQ_INT(cl_response(b, &r), 0);
  struct cl *c = cl_open(fx); /* mid-request when the drain starts: may finish */
  cl_sends(c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab");
  usleep(30 * 1000);

  atomic_store(&fx->want_shutdown, 1);
  uv_async_send(&fx->async);
  ASSERT_TRUE(cl_eof(b));
  struct cl *d = cl_open(fx);
  ASSERT_TRUE(d == NULL); /* listener closed */
  cl_close(d);

  cl_sends(c, "cd");
  ASSERT_EQ_INT(cl_response(c, &r), 0);
  ASSERT_EQ_STR(r.body, "POST /echo ? [abcd]");
  ASSERT_TRUE(find_header(r.head, "Connection") != NULL);
  ASSERT_TRUE(cl_eof(c));

  ASSERT_EQ_INT(cl_response(a, &r), 0);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_STR(r.body, "/hold");
  ASSERT_TRUE(find_header(r.head, "Connection") &&
              strncmp(find_header(r.head, "Connection"), "close", 5) == 0);
  ASSERT_TRUE(cl_eof(a));
  cl_close(a);
  cl_close(b);
  cl_close(c);
}

static void t_shutdown(void) {
  struct fx fx = {0};
  run(&fx, c_shutdown);
  ASSERT_EQ_INT(atomic_load(&fx.answered_late), 1);
  ASSERT_EQ_INT(fx.closed, 1);
}

/* The drain timeout cuts a connection whose answer never comes; the late answer is
 * discarded safely and the close callback waits for it. */
static void c_drain_timeout(struct fx *fx) {
  struct cl *a = cl_open(fx);
  cl_sends(a, GET("/delay?ms=600"));
  ASSERT_TRUE(wait_for(&fx->delivered, 1, 3000));
  atomic_store(&fx->want_shutdown, 1);
  uv_async_send(&fx->async);
  long long t0 = now_ms();
  ASSERT_TRUE(cl_eof(a));
  ASSERT_TRUE(now_ms() - t0 < 550);
  cl_close(a);
}

static void t_drain_timeout(void) {
  struct fx fx = {0};
  fx.cfg.drain_timeout_ms = 150;
  run(&fx, c_drain_timeout);
  ASSERT_EQ_INT(fx.respond_reset, 1);
}

static void c_conn_cap(struct fx *fx) {
  struct resp r;
  struct cl *a = cl_open(fx);
  cl_sends(a, GET("/echo"));
  ASSERT_EQ_INT(cl_response(a, &r), 0);
  struct cl *b = cl_open(fx);
  ASSERT_TRUE(b != NULL);
  if (b) {
    ASSERT_EQ_INT(cl_response(b, &r), 0);
    ASSERT_EQ_INT(r.status, 503);
    ASSERT_TRUE(find_header(r.head, "Retry-After") != NULL);
    ASSERT_TRUE(cl_eof(b));
  }
  cl_close(b);
  cl_close(a);
  usleep(50 * 1000); /* the server sees a's close */
  a = cl_open(fx);
  cl_sends(a, GET("/echo"));
  ASSERT_EQ_INT(cl_response(a, &r), 0);
  ASSERT_EQ_INT(r.status, 200);
  cl_close(a);
}

static void t_conn_cap(void) {
  struct fx fx = {0};
  fx.cfg.max_connections = 1;
  run(&fx, c_conn_cap);
  ASSERT_EQ_INT(fx.stats.connections_rejected, 1);
  ASSERT_EQ_INT(fx.errors_seen[503], 1);
}

/* libcurl: Expect: 100-continue on a large POST, an oversize POST, connection reuse. */
struct sink {
  char data[256];
  size_t len;
};

static size_t sink_write(char *p, size_t size, size_t n, void *ud) {
  struct sink *s = ud;
  size_t len = size * n, room = sizeof s->data - 1 - s->len;
  memcpy(s->data + s->len, p, len < room ? len : room);
  s->len += len < room ? len : room;
  s->data[s->len] = '\0';
  return len;
}

static long curl_post(CURL *h, const char *url, const char *body, size_t len, struct sink *s,
                      double *secs) {
  memset(s, 0, sizeof *s);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  long t0 = (long)now_ms();
  CURLcode rc = curl_easy_perform(h);
  *secs = (double)(now_ms() - t0) / 1000.0;
  long code = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

static void c_curl(struct fx *fx) {
  char url[64];
  struct sink s;
  double secs;
  size_t n = 200 * 1024;
  char *body = malloc(2 * 1024 * 1024);
  for (size_t i = 0; i < 2 * 1024 * 1024; i++) body[i] = (char)('a' + i % 26);
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) sum = sum * 31 + (unsigned char)body[i];
  char want[64];
  snprintf(want, sizeof want, "len=%zu sum=%u", n, sum);

  CURL *h = curl_easy_init();
  snprintf(url, sizeof url, "http://127.0.0.1:%d/len", fx->port);
  ASSERT_EQ_INT(curl_post(h, url, body, n, &s, &secs), 200);
  ASSERT_EQ_STR(s.data, want);
  ASSERT_TRUE(secs < 0.9); /* 100 Continue came: curl did not wait its 1 s */
  ASSERT_EQ_INT(curl_post(h, url, body, n, &s, &secs), 200); /* reused connection */
  long conns = -1;
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
  ASSERT_EQ_INT(conns, 0);
  ASSERT_EQ_INT(curl_post(h, url, body, 2 * 1024 * 1024, &s, &secs), 413);
  ASSERT_TRUE(secs < 0.9);
  curl_easy_cleanup(h);
  free(body);
}

static void t_curl(void) {
  struct fx fx = {0};
  fx.cfg.max_body = 1024 * 1024;
  run(&fx, c_curl);
  ASSERT_EQ_INT(fx.stats.requests, 2);
  ASSERT_EQ_INT(fx.stats.too_large, 1);
}

static void c_ipv6(struct fx *fx) {
  struct resp r;
  struct cl *k = cl_open(fx);
  ASSERT_TRUE(k != NULL);
  if (!k) return;
  cl_sends(k, GET("/echo"));
  ASSERT_EQ_INT(cl_response(k, &r), 0);
  ASSERT_EQ_INT(r.status, 200);
  cl_close(k);
}

static void t_ipv6(void) {
  /* Skipped, visibly, on hosts without IPv6 loopback. */
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 a;
  uv_ip6_addr("::1", 0, &a);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    printf("skipped: ipv6 (no ::1)\n");
    if (fd >= 0) close(fd);
    return;
  }
  close(fd);
  struct fx fx = {0};
  fx.host = "[::1]";
  run(&fx, c_ipv6);
  ASSERT_EQ_STR(fx.peer, "::1");
  ASSERT_TRUE(fx.loopback);
}

static void t_open_errors(void) {
  uv_loop_t loop;
  struct httpd *srv = NULL, *srv2 = NULL;
  struct httpd_config cfg = {.on_request = app_request};
  ASSERT_EQ_INT(uv_loop_init(&loop), 0);
  cfg.host = "not-an-address";
  ASSERT_EQ_INT(httpd_open(&loop, &cfg, &srv), -EINVAL);
  cfg.host = "127.0.0.1";
  cfg.port = 70000;
  ASSERT_EQ_INT(httpd_open(&loop, &cfg, &srv), -EINVAL);
  cfg.port = 0;
  cfg.on_request = NULL;
  ASSERT_EQ_INT(httpd_open(&loop, &cfg, &srv), -EINVAL);
  cfg.on_request = app_request;
  ASSERT_EQ_INT(httpd_open(&loop, &cfg, &srv), 0);
  cfg.port = httpd_port(srv);
  ASSERT_EQ_INT(httpd_open(&loop, &cfg, &srv2), UV_EADDRINUSE);
  ASSERT_TRUE(srv2 == NULL);
  int closed = 0;
  ASSERT_EQ_INT(httpd_close(srv, on_closed_count, &closed), 0);
  ASSERT_EQ_INT(httpd_close(srv, on_closed_count, &closed), -EALREADY);
  ASSERT_EQ_INT(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(closed, 1);
  ASSERT_EQ_INT(uv_loop_close(&loop), 0);
  ASSERT_EQ_STR(httpd_status_text(431), "Request Header Fields Too Large");
  ASSERT_EQ_STR(httpd_status_text(299), "Unknown");
}

/* }==================== */

int main(void) {
  alarm(120); /* a hung test fails instead of blocking ctest */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  t_open_errors();
  t_basic();
  t_headers();
  t_split();
  t_keepalive();
  t_pipeline();
  t_pipeline_cap();
  t_deferred();
  t_413();
  t_431();
  t_400();
  t_timeouts();
  t_disconnect();
  t_shutdown();
  t_drain_timeout();
  t_conn_cap();
  t_curl();
  t_ipv6();
  curl_global_cleanup();
  CHECK_DONE();
}

/* Unit tests of httpc.c against real servers in the same loop: lp0's own httpd on
 * 127.0.0.1:0 (echo, scripted failures, Retry-After, held and deferred answers) and a
 * raw TCP server for replies httpd never sends (no Content-Length, garbage, silence).
 * Every callback is counted: each accepted request must complete exactly once, every
 * test ends with both servers and the client closed and uv_loop_close() == 0.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <uv.h>

#include "check.h"
#include "httpc.h"
#include "httpd.h"
#include "util.h"

/* {==================== fixture ==================== */

#define MAX_HELD 32

struct fx {
  uv_loop_t loop;
  struct httpd *srv;
  struct httpc *cl;
  struct httpc_options opt;
  int port;
  struct hmap hits; /* target -> count of requests seen */
  int cur, maxcur;  /* /defer answers outstanding, and their peak */
  int seen;         /* requests the server saw */
  struct httpd_req *held[MAX_HELD];
  int nheld;
  int srv_closed, cl_closed;
};

struct res {
  struct fx *fx;
  int calls, status;
  enum httpc_error err;
  unsigned attempts;
  double ms;
  char body[1024];
  size_t body_len;
  char xreply[64], msg[256];
  bool close_in_cb;
};

static int query_int(const char *q, const char *key, int dflt) {
  char pat[32];
  snprintf(pat, sizeof pat, "%s=", key);
  const char *p = strstr(q, pat);
  return p ? atoi(p + strlen(pat)) : dflt;
}

static int bump(struct fx *fx, const char *target) {
  void **slot = hmap_put(&fx->hits, target, strlen(target));
  intptr_t n = (intptr_t)*slot + 1;
  *slot = (void *)n;
  return (int)n;
}

struct later {
  uv_timer_t t;
  struct httpd_req *req;
  struct fx *fx;
};

static void on_later_close(uv_handle_t *h) { free(h->data); }

static void on_later(uv_timer_t *t) {
  struct later *l = t->data;
  l->fx->cur--;
  httpd_respond(l->req, 200, "text/plain", "late", 4);
  uv_close((uv_handle_t *)t, on_later_close);
}

static void echo(struct httpd_req *req) {
  const char *h;
  struct buf b;
  buf_init(&b);
  buf_printf(&b, "%s %s?%s", req->method, req->path, req->query);
  const char *names[] = {"x-test", "content-type", "authorization", "user-agent"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    buf_printf(&b, "|%s", (h = httpd_req_header(req, names[i])) ? h : "-");
  buf_printf(&b, "|%.*s", (int)req->body_len, req->body);
  httpd_add_header(req, "X-Reply", "yes");
  httpd_respond(req, 200, "text/plain", b.data, b.len);
  buf_free(&b);
}

static void app_request(struct httpd_req *req, void *ud) {
  struct fx *fx = ud;
  int n = bump(fx, req->target);
  fx->seen++;
  if (strcmp(req->path, "/echo") == 0) {
    echo(req);
  } else if (strcmp(req->path, "/flaky") == 0) { /* n=K failures with status=S first */
    if (n <= query_int(req->query, "n", 1))
      httpd_respond(req, query_int(req->query, "status", 500), "text/plain", "fail", 4);
    else
      httpd_respond(req, 200, "text/plain", "ok", 2);
  } else if (strcmp(req->path, "/always") == 0) {
    httpd_respond(req, query_int(req->query, "status", 500), "text/plain", "no", 2);
  } else if (strcmp(req->path, "/ra") == 0) { /* status=S with Retry-After: s, then 200 */
    if (n == 1) {
      char v[16];
      snprintf(v, sizeof v, "%d", query_int(req->query, "s", 1));
      httpd_add_header(req, "Retry-After", v);
      httpd_respond(req, query_int(req->query, "status", 429), "text/plain", "slow", 4);
    } else {
      httpd_respond(req, 200, "text/plain", "ok", 2);
    }
  } else if (strcmp(req->path, "/hold") == 0) {
    if (fx->nheld < MAX_HELD) fx->held[fx->nheld++] = req;
    else httpd_respond(req, 500, NULL, NULL, 0);
  } else if (strcmp(req->path, "/defer") == 0) {
    struct later *l = calloc(1, sizeof *l);
    l->req = req;
    l->fx = fx;
    l->t.data = l;
    if (++fx->cur > fx->maxcur) fx->maxcur = fx->cur;
    if (uv_timer_init(&fx->loop, &l->t) != 0 ||
        uv_timer_start(&l->t, on_later, (uint64_t)query_int(req->query, "ms", 30), 0) != 0)
      abort();
  } else if (strcmp(req->path, "/big") == 0) {
    size_t len = (size_t)query_int(req->query, "n", 1024);
    char *body = malloc(len);
    memset(body, 'b', len);
    httpd_respond(req, 200, "application/octet-stream", body, len);
    free(body);
  } else if (strcmp(req->path, "/redir") == 0) {
    const char *to = strstr(req->query, "to=");
    httpd_add_header(req, "Location", to ? to + 3 : "/echo");
    httpd_respond(req, 302, NULL, NULL, 0);
  } else {
    httpd_respond(req, 404, NULL, NULL, 0);
  }
}

static void on_srv_closed(void *ud) { ((struct fx *)ud)->srv_closed++; }
static void on_cl_closed(void *ud) { ((struct fx *)ud)->cl_closed++; }

static void fx_open(struct fx *fx) {
  struct httpd_config cfg = {.on_request = app_request, .ud = fx};
  hmap_init(&fx->hits);
  ASSERT_EQ_INT(uv_loop_init(&fx->loop), 0);
  ASSERT_EQ_INT(httpd_open(&fx->loop, &cfg, &fx->srv), 0);
  fx->port = httpd_port(fx->srv);
  if (!fx->opt.backoff_base_ms) fx->opt.backoff_base_ms = 20;
  fx->cl = httpc_new(&fx->loop, &fx->opt);
  ASSERT_TRUE(fx->cl != NULL);
  if (!fx->cl) abort();
}

/* Closes the client (unless the test did), answers held requests, closes the server
 * and runs the loop dry. */
static void fx_close(struct fx *fx) {
  if (!fx->cl_closed && fx->cl) {
    int rc = httpc_close(fx->cl, on_cl_closed, fx);
    ASSERT_TRUE(rc == 0 || rc == -EALREADY);
  }
  for (int i = 0; i < fx->nheld; i++) httpd_respond(fx->held[i], 200, NULL, NULL, 0);
  fx->nheld = 0;
  ASSERT_EQ_INT(httpd_close(fx->srv, on_srv_closed, fx), 0);
  ASSERT_EQ_INT(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(fx->cl_closed, 1);
  ASSERT_EQ_INT(fx->srv_closed, 1);
  ASSERT_EQ_INT(uv_loop_close(&fx->loop), 0);
  hmap_free(&fx->hits);
}

/* Runs the loop until *v reaches want (alarm() in main bounds a hang). */
static void spin(struct fx *fx, const int *v, int want) {
  while (*v < want) uv_run(&fx->loop, UV_RUN_ONCE);
}

static void on_done(const struct httpc_resp *r, void *ud) {
  struct res *s = ud;
  const char *x = httpc_resp_header(r, "X-REPLY");
  s->calls++;
  s->status = r->status;
  s->err = r->error;
  s->attempts = r->attempts;
  s->ms = r->total_ms;
  s->body_len = r->body_len;
  snprintf(s->body, sizeof s->body, "%s", r->body);
  snprintf(s->xreply, sizeof s->xreply, "%s", x ? x : "-");
  snprintf(s->msg, sizeof s->msg, "%s", r->message);
  if (s->close_in_cb) ASSERT_EQ_INT(httpc_close(s->fx->cl, on_cl_closed, s->fx), 0);
}

static char *url(struct fx *fx, const char *path) {
  return xasprintf("http://127.0.0.1:%d%s", fx->port, path);
}

/* Starts method path with req fields from tmpl (may be NULL); returns the id. */
static int64_t go(struct fx *fx, const char *method, const char *path,
                  const struct httpc_req *tmpl, struct res *s) {
  struct httpc_req req = {0};
  if (tmpl) req = *tmpl;
  char *u = url(fx, path);
  req.method = method;
  req.url = u;
  s->fx = fx;
  int64_t id = httpc_request(fx->cl, &req, on_done, s);
  free(u); /* the request copied it */
  ASSERT_TRUE(id > 0);
  return id;
}

/* A TCP port with nothing listening. */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    abort();
  close(fd);
  return ntohs(a.sin_port);
}

/* }==================== */

/* {==================== raw server: replies httpd would never send ==================== */

enum raw_mode { RAW_UNFRAMED, RAW_GARBAGE, RAW_NOTHING };

struct raw {
  uv_tcp_t tcp;
  enum raw_mode mode;
  int port, conns;
};

struct raw_conn {
  uv_tcp_t tcp;
  uv_write_t w;
  struct raw *raw;
  char *out;
  bool answered;
};

static void raw_conn_closed(uv_handle_t *h) {
  struct raw_conn *c = h->data;
  free(c->out);
  free(c);
}

static void raw_written(uv_write_t *w, int status) {
  (void)status;
  struct raw_conn *c = w->data;
  uv_close((uv_handle_t *)&c->tcp, raw_conn_closed);
}

static void raw_alloc(uv_handle_t *h, size_t n, uv_buf_t *b) {
  (void)h;
  static char space[65536];
  (void)n;
  *b = uv_buf_init(space, sizeof space);
}

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct raw_conn *c = s->data;
  (void)b;
  if (n == 0 || c->answered) return;
  c->answered = true;
  uv_read_stop(s);
  if (n < 0 || c->raw->mode == RAW_NOTHING) {
    uv_close((uv_handle_t *)&c->tcp, raw_conn_closed);
    return;
  }
  struct buf out;
  buf_init(&out);
  if (c->raw->mode == RAW_UNFRAMED) {
    buf_puts(&out, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
    for (int i = 0; i < 5000; i++) buf_putc(&out, 'u');
  } else {
    buf_puts(&out, "garbage garbage\r\n\r\n");
  }
  c->out = out.data;
  uv_buf_t wb = uv_buf_init(c->out, (unsigned)out.len);
  c->w.data = c;
  if (uv_write(&c->w, s, &wb, 1, raw_written) != 0) abort();
}

static void raw_conn(uv_stream_t *srv, int status) {
  struct raw *raw = srv->data;
  if (status != 0) return;
  struct raw_conn *c = calloc(1, sizeof *c);
  c->raw = raw;
  c->tcp.data = c;
  if (uv_tcp_init(srv->loop, &c->tcp) != 0 || uv_accept(srv, (uv_stream_t *)&c->tcp) != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, raw_alloc, raw_read) != 0)
    abort();
  raw->conns++;
}

static void raw_open(uv_loop_t *loop, struct raw *raw, enum raw_mode mode) {
  struct sockaddr_in a;
  struct sockaddr_storage ss;
  int len = sizeof ss;
  raw->mode = mode;
  raw->conns = 0;
  uv_ip4_addr("127.0.0.1", 0, &a);
  raw->tcp.data = raw;
  if (uv_tcp_init(loop, &raw->tcp) != 0 ||
      uv_tcp_bind(&raw->tcp, (const struct sockaddr *)&a, 0) != 0 ||
      uv_listen((uv_stream_t *)&raw->tcp, 16, raw_conn) != 0 ||
      uv_tcp_getsockname(&raw->tcp, (struct sockaddr *)&ss, &len) != 0)
    abort();
  raw->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* }==================== */

/* {==================== tests ==================== */

static void t_retry_after_parse(void) {
  time_t now = curl_getdate("Wed, 21 Oct 2015 07:28:00 GMT", NULL);
  ASSERT_EQ_INT(httpc_retry_after_ms("1", now), 1000);
  ASSERT_EQ_INT(httpc_retry_after_ms(" 120 ", now), 120000);
  ASSERT_EQ_INT(httpc_retry_after_ms("0", now), 0);
  ASSERT_EQ_INT(httpc_retry_after_ms("1x", now), -1);
  ASSERT_EQ_INT(httpc_retry_after_ms("soon", now), -1);
  ASSERT_EQ_INT(httpc_retry_after_ms("", now), -1);
  ASSERT_EQ_INT(httpc_retry_after_ms(NULL, now), -1);
  ASSERT_EQ_INT(httpc_retry_after_ms("Wed, 21 Oct 2015 07:28:05 GMT", now), 5000);
  ASSERT_EQ_INT(httpc_retry_after_ms("Wed, 21 Oct 2015 07:27:00 GMT", now), 0);
  ASSERT_EQ_STR(httpc_error_name(HTTPC_E_TOO_LARGE), "too_large");
  ASSERT_EQ_STR(httpc_error_name(HTTPC_E_CANCELLED), "cancelled");
}

static void t_rejects(void) {
  struct fx fx = {0};
  struct res s = {0};
  fx_open(&fx);
  const char *bad_urls[] = {"not a url", "http://", "/relative", "http://exa mple.com/"};
  for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
    struct httpc_req req = {.url = bad_urls[i]};
    ASSERT_EQ_INT(httpc_request(fx.cl, &req, on_done, &s), -EINVAL);
  }
  const char *schemes[] = {"ftp://127.0.0.1/x", "file:///etc/passwd", "FILE:///etc/passwd"};
  for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
    struct httpc_req req = {.url = schemes[i]};
    ASSERT_EQ_INT(httpc_request(fx.cl, &req, on_done, &s), -EPROTONOSUPPORT);
  }
  char *u = url(&fx, "/echo");
  const char *smuggle[] = {"X-A: 1\r\nInjected: yes"};
  const char *noname[] = {": value"};
  const char *spaced[] = {"Bad Name: x"};
  struct httpc_req req = {.url = u, .headers = smuggle, .nheaders = 1};
  ASSERT_EQ_INT(httpc_request(fx.cl, &req, on_done, &s), -EINVAL);
  req.headers = noname;
  ASSERT_EQ_INT(httpc_request(fx.cl, &req, on_done, &s), -EINVAL);
  req.headers = spaced;
  ASSERT_EQ_INT(httpc_request(fx.cl, &req, on_done, &s), -EINVAL);
  req = (struct httpc_req){.url = u, .method = "GE T"};
  ASSERT_EQ_INT(httpc_request(fx.cl, &req, on_done, &s), -EINVAL);
  req = (struct httpc_req){.url = u, .username = "a\r\nb"};
  ASSERT_EQ_INT(httpc_request(fx.cl, &req, on_done, &s), -EINVAL);
  free(u);
  struct httpc_stats st;
  httpc_get_stats(fx.cl, &st);
  ASSERT_EQ_INT(st.requests, 0);
  ASSERT_EQ_INT(fx.seen, 0);
  fx_close(&fx);
  ASSERT_EQ_INT(s.calls, 0); /* refused requests never call back */
}

static void t_get_post(void) {
  struct fx fx = {0};
  struct res g = {0}, p = {0}, d = {0}, hd = {0}, a = {0};
  fx_open(&fx);
  const char *gh[] = {"X-Test: hello there"};
  struct httpc_req greq = {.headers = gh, .nheaders = 1};
  go(&fx, "GET", "/echo?q=1&r=%20", &greq, &g);

  static const char json[] = "{\"a\":[1,2,3],\"b\":\"\xc3\xa9\"}";
  const char *ph[] = {"Content-Type: application/json", "X-Test: post"};
  struct httpc_req preq = {.headers = ph, .nheaders = 2, .body = json,
                           .body_len = sizeof json - 1};
  go(&fx, "POST", "/echo", &preq, &p);
  struct httpc_req dreq = {.body = "gone", .body_len = 4};
  go(&fx, "DELETE", "/echo", &dreq, &d);
  go(&fx, "HEAD", "/echo", NULL, &hd);
  struct httpc_req areq = {.username = "user", .password = "pass"};
  go(&fx, "GET", "/echo", &areq, &a);
  int *calls[] = {&g.calls, &p.calls, &d.calls, &hd.calls, &a.calls};
  for (size_t i = 0; i < 5; i++) spin(&fx, calls[i], 1);

  ASSERT_EQ_INT(g.status, 200);
  ASSERT_EQ_INT(g.err, HTTPC_OK);
  ASSERT_EQ_STR(g.msg, "");
  ASSERT_EQ_INT(g.attempts, 1);
  ASSERT_EQ_STR(g.body, "GET /echo?q=1&r=%20|hello there|-|-|lp0/" LP0_VERSION "|");
  ASSERT_EQ_STR(g.xreply, "yes"); /* lookup is case-insensitive */
  ASSERT_EQ_STR(p.body, "POST /echo?|post|application/json|-|lp0/" LP0_VERSION "|"
                        "{\"a\":[1,2,3],\"b\":\"\xc3\xa9\"}");
  ASSERT_EQ_INT(p.body_len, strlen(p.body));
  ASSERT_TRUE(strncmp(d.body, "DELETE /echo?|", 14) == 0);
  ASSERT_TRUE(strstr(d.body, "|gone") != NULL);
  ASSERT_EQ_INT(hd.status, 200);
  ASSERT_EQ_INT(hd.body_len, 0);
  ASSERT_TRUE(strstr(a.body, "|Basic dXNlcjpwYXNz|") != NULL); /* user:pass */

  struct httpc_stats st;
  httpc_get_stats(fx.cl, &st);
  ASSERT_EQ_INT(st.requests, 5);
  ASSERT_EQ_INT(st.completed, 5);
  ASSERT_EQ_INT(st.in_flight, 0);
  ASSERT_EQ_INT(st.retries, 0);
  fx_close(&fx);
  ASSERT_EQ_INT(g.calls + p.calls + d.calls + hd.calls + a.calls, 5);
}

/* Sequential requests to one host share one connection. */
static void t_reuse(void) {
  struct fx fx = {0};
  struct res s[3];
  memset(s, 0, sizeof s);
  fx_open(&fx);
  for (int i = 0; i < 3; i++) {
    go(&fx, "GET", "/echo", NULL, &s[i]);
    spin(&fx, &s[i].calls, 1);
    ASSERT_EQ_INT(s[i].status, 200);
  }
  struct httpd_stats st;
  httpd_get_stats(fx.srv, &st);
  ASSERT_EQ_INT(st.requests, 3);
  ASSERT_EQ_INT(st.connections_accepted, 1);
  fx_close(&fx);
}

static void t_retries(void) {
  struct fx fx = {0};
  struct res r500 = {0}, post500 = {0}, unsafe = {0}, spent = {0}, post503 = {0}, e4 = {0};
  fx_open(&fx);
  struct httpc_req two = {.retries = 2};
  go(&fx, "GET", "/flaky?n=1&k=get", &two, &r500);
  go(&fx, "POST", "/flaky?n=1&k=post", &two, &post500);
  struct httpc_req uns = {.retries = 2, .retry_unsafe = true};
  go(&fx, "POST", "/flaky?n=1&k=unsafe", &uns, &unsafe);
  go(&fx, "GET", "/always?status=502", &two, &spent);
  go(&fx, "POST", "/ra?s=0&status=503", &two, &post503);
  go(&fx, "GET", "/always?status=404", &two, &e4);
  int *calls[] = {&r500.calls, &post500.calls, &unsafe.calls, &spent.calls, &post503.calls,
                  &e4.calls};
  for (size_t i = 0; i < 6; i++) spin(&fx, calls[i], 1);

  ASSERT_EQ_INT(r500.status, 200); /* 500, then 200 */
  ASSERT_EQ_INT(r500.attempts, 2);
  ASSERT_EQ_STR(r500.body, "ok");
  ASSERT_EQ_INT(post500.status, 500); /* POST is not retried on a 500 */
  ASSERT_EQ_INT(post500.attempts, 1);
  ASSERT_EQ_INT(post500.err, HTTPC_OK);
  ASSERT_EQ_INT(unsafe.status, 200); /* unless the request allows it */
  ASSERT_EQ_INT(unsafe.attempts, 2);
  ASSERT_EQ_INT(spent.status, 502); /* retries spent: the final status comes back */
  ASSERT_EQ_INT(spent.attempts, 3);
  ASSERT_EQ_INT(spent.err, HTTPC_OK);
  ASSERT_EQ_STR(spent.body, "no");
  ASSERT_EQ_INT(post503.status, 200); /* 503 + Retry-After: retried even for POST */
  ASSERT_EQ_INT(post503.attempts, 2);
  ASSERT_EQ_INT(e4.status, 404); /* 4xx: never retried */
  ASSERT_EQ_INT(e4.attempts, 1);
  ASSERT_EQ_INT((intptr_t)hmap_get(&fx.hits, "/always?status=502", 18), 3);
  ASSERT_EQ_INT((intptr_t)hmap_get(&fx.hits, "/flaky?n=1&k=post", 17), 1);
  struct httpc_stats st;
  httpc_get_stats(fx.cl, &st);
  ASSERT_EQ_INT(st.retries, 5);
  ASSERT_EQ_INT(st.backing_off, 0);
  fx_close(&fx);
}

static void t_retry_after(void) {
  struct fx fx = {0};
  struct res s = {0};
  fx.opt.backoff_base_ms = 5; /* jitter alone would retry at once */
  fx_open(&fx);
  struct httpc_req req = {.retries = 2};
  go(&fx, "GET", "/ra?s=1&status=429", &req, &s);
  spin(&fx, &s.calls, 1);
  ASSERT_EQ_INT(s.status, 200);
  ASSERT_EQ_INT(s.attempts, 2);
  ASSERT_TRUE(s.ms >= 900.0);
  ASSERT_TRUE(s.ms < 5000.0);
  fx_close(&fx);
}

static void t_timeout(void) {
  struct fx fx = {0};
  struct res s = {0}, one = {0};
  fx_open(&fx);
  struct httpc_req req = {.timeout_ms = 300};
  go(&fx, "GET", "/hold?a", &req, &s);
  struct httpc_req retried = {.timeout_ms = 200, .retries = 1};
  go(&fx, "GET", "/hold?b", &retried, &one);
  spin(&fx, &s.calls, 1);
  spin(&fx, &one.calls, 1);
  ASSERT_EQ_INT(s.err, HTTPC_E_TIMEOUT);
  ASSERT_EQ_INT(s.status, 0);
  ASSERT_EQ_INT(s.attempts, 1);
  ASSERT_TRUE(s.ms >= 290.0 && s.ms < 3000.0);
  ASSERT_TRUE(strlen(s.msg) > 0);
  ASSERT_EQ_INT(one.err, HTTPC_E_TIMEOUT); /* a GET timing out is retried */
  ASSERT_EQ_INT(one.attempts, 2);
  ASSERT_EQ_INT(fx.nheld, 3);
  fx_close(&fx);
}

static void t_connect_refused(void) {
  struct fx fx = {0};
  struct res g = {0}, p = {0};
  fx_open(&fx);
  int port = closed_port();
  char *u = xasprintf("http://127.0.0.1:%d/x", port);
  struct httpc_req req = {.url = u, .retries = 2};
  ASSERT_TRUE(httpc_request(fx.cl, &req, on_done, &g) > 0);
  req.method = "POST"; /* nothing was sent: POST is retried too */
  ASSERT_TRUE(httpc_request(fx.cl, &req, on_done, &p) > 0);
  free(u);
  spin(&fx, &g.calls, 1);
  spin(&fx, &p.calls, 1);
  ASSERT_EQ_INT(g.err, HTTPC_E_CONNECT);
  ASSERT_EQ_INT(g.status, 0);
  ASSERT_EQ_INT(g.attempts, 3);
  ASSERT_EQ_INT(p.err, HTTPC_E_CONNECT);
  ASSERT_EQ_INT(p.attempts, 3);
  ASSERT_EQ_STR(g.body, "");
  fx_close(&fx);
}

static void t_too_large(void) {
  struct fx fx = {0};
  struct res big = {0}, edge = {0}, unframed = {0};
  struct raw raw;
  fx.opt.max_response_bytes = 1024;
  fx_open(&fx);
  go(&fx, "GET", "/big?n=4096", NULL, &big);
  go(&fx, "GET", "/big?n=1024", NULL, &edge);
  raw_open(&fx.loop, &raw, RAW_UNFRAMED); /* no Content-Length: caught while reading */
  char *u = xasprintf("http://127.0.0.1:%d/", raw.port);
  struct httpc_req req = {.url = u, .retries = 2};
  ASSERT_TRUE(httpc_request(fx.cl, &req, on_done, &unframed) > 0);
  free(u);
  spin(&fx, &big.calls, 1);
  spin(&fx, &edge.calls, 1);
  spin(&fx, &unframed.calls, 1);
  ASSERT_EQ_INT(big.err, HTTPC_E_TOO_LARGE);
  ASSERT_EQ_INT(big.body_len, 0);
  ASSERT_EQ_INT(edge.err, HTTPC_OK); /* at the cap exactly */
  ASSERT_EQ_INT(edge.body_len, 1024);
  ASSERT_EQ_INT(unframed.err, HTTPC_E_TOO_LARGE);
  ASSERT_TRUE(strstr(unframed.msg, "1024") != NULL);
  ASSERT_EQ_INT(unframed.attempts, 1); /* not retried */
  uv_close((uv_handle_t *)&raw.tcp, NULL);
  fx_close(&fx);
}

static void t_bad_peers(void) {
  struct fx fx = {0};
  struct res garbage = {0}, nothing = {0}, post = {0}, tls = {0};
  struct raw rg, rn;
  fx_open(&fx);
  raw_open(&fx.loop, &rg, RAW_GARBAGE);
  raw_open(&fx.loop, &rn, RAW_NOTHING);
  char *ug = xasprintf("http://127.0.0.1:%d/", rg.port);
  char *un = xasprintf("http://127.0.0.1:%d/", rn.port);
  char *ut = xasprintf("https://127.0.0.1:%d/echo", fx.port); /* TLS to a plain server */
  struct httpc_req req = {.url = ug};
  ASSERT_TRUE(httpc_request(fx.cl, &req, on_done, &garbage) > 0);
  req = (struct httpc_req){.url = un, .retries = 1};
  ASSERT_TRUE(httpc_request(fx.cl, &req, on_done, &nothing) > 0);
  spin(&fx, &nothing.calls, 1);
  req.method = "POST"; /* a POST whose connection broke is not retried */
  ASSERT_TRUE(httpc_request(fx.cl, &req, on_done, &post) > 0);
  req = (struct httpc_req){.url = ut, .retries = 2};
  ASSERT_TRUE(httpc_request(fx.cl, &req, on_done, &tls) > 0);
  free(ug);
  free(un);
  free(ut);
  spin(&fx, &garbage.calls, 1);
  spin(&fx, &post.calls, 1);
  spin(&fx, &tls.calls, 1);
  ASSERT_EQ_INT(garbage.err, HTTPC_E_PROTOCOL);
  ASSERT_EQ_INT(nothing.err, HTTPC_E_NETWORK);
  ASSERT_EQ_INT(nothing.attempts, 2);
  ASSERT_EQ_INT(post.err, HTTPC_E_NETWORK);
  ASSERT_EQ_INT(post.attempts, 1);
  ASSERT_EQ_INT(rn.conns, 3);
  ASSERT_EQ_INT(tls.err, HTTPC_E_TLS);
  ASSERT_EQ_INT(tls.attempts, 1); /* TLS failures are not retried */
  uv_close((uv_handle_t *)&rg.tcp, NULL);
  uv_close((uv_handle_t *)&rn.tcp, NULL);
  fx_close(&fx);
}

static void t_redirects(void) {
  struct fx fx = {0};
  struct res off = {0}, on = {0}, file = {0};
  fx_open(&fx);
  go(&fx, "GET", "/redir", NULL, &off);
  struct httpc_req follow = {.follow_redirects = true};
  go(&fx, "GET", "/redir", &follow, &on);
  go(&fx, "GET", "/redir?to=file:///etc/passwd", &follow, &file);
  spin(&fx, &off.calls, 1);
  spin(&fx, &on.calls, 1);
  spin(&fx, &file.calls, 1);
  ASSERT_EQ_INT(off.status, 302); /* off by default */
  ASSERT_EQ_INT(on.status, 200);
  ASSERT_TRUE(strncmp(on.body, "GET /echo?|", 11) == 0);
  ASSERT_EQ_INT(file.err, HTTPC_E_BAD_URL);
  ASSERT_EQ_STR(file.body, "");
  fx_close(&fx);
}

struct host_seen {
  unsigned running;
  size_t queued;
  int calls;
};

static void on_host(const char *origin, unsigned running, size_t queued, void *ud) {
  struct host_seen *hs = ud;
  (void)origin;
  hs->calls++;
  hs->running = running;
  hs->queued = queued;
}

static void t_per_host_limit(void) {
  struct fx fx = {0};
  struct res s[20];
  int done = 0;
  memset(s, 0, sizeof s);
  fx.opt.per_host_limit = 4;
  fx_open(&fx);
  for (int i = 0; i < 20; i++) go(&fx, "GET", "/defer?ms=40", NULL, &s[i]);
  struct host_seen hs = {0};
  httpc_foreach_host(fx.cl, on_host, &hs);
  ASSERT_EQ_INT(hs.calls, 1);
  ASSERT_EQ_INT(hs.running, 4);
  ASSERT_EQ_INT(hs.queued, 16);
  struct httpc_stats st;
  httpc_get_stats(fx.cl, &st);
  ASSERT_EQ_INT(st.queued, 16);
  while (done < 20) {
    uv_run(&fx.loop, UV_RUN_ONCE);
    done = 0;
    for (int i = 0; i < 20; i++) done += s[i].calls;
  }
  for (int i = 0; i < 20; i++) {
    ASSERT_EQ_INT(s[i].calls, 1);
    ASSERT_EQ_INT(s[i].status, 200);
  }
  ASSERT_EQ_INT(fx.maxcur, 4); /* the server never saw more, and did see that many */
  httpc_get_stats(fx.cl, &st);
  ASSERT_EQ_INT(st.peak_in_flight, 4);
  ASSERT_EQ_INT(st.queued, 0);
  hs.calls = 0;
  httpc_foreach_host(fx.cl, on_host, &hs);
  ASSERT_EQ_INT(hs.calls, 0);
  fx_close(&fx);
}

static void t_cancel(void) {
  struct fx fx = {0};
  struct res held = {0}, queued = {0}, after = {0}, waiting = {0};
  fx.opt.per_host_limit = 1;
  fx.opt.backoff_base_ms = 60000; /* a retry waits: long enough to cancel it */
  fx_open(&fx);
  int64_t a = go(&fx, "GET", "/hold", NULL, &held);
  int64_t b = go(&fx, "GET", "/echo", NULL, &queued);
  ASSERT_EQ_INT(httpc_cancel(fx.cl, b), 0); /* queued: called back before returning */
  ASSERT_EQ_INT(queued.calls, 1);
  ASSERT_EQ_INT(queued.err, HTTPC_E_CANCELLED);
  ASSERT_EQ_INT(queued.attempts, 0);
  spin(&fx, &fx.seen, 1);
  ASSERT_EQ_INT(httpc_cancel(fx.cl, a), 0); /* running */
  ASSERT_EQ_INT(held.calls, 1);
  ASSERT_EQ_INT(held.err, HTTPC_E_CANCELLED);
  ASSERT_EQ_INT(httpc_cancel(fx.cl, a), -ENOENT);
  ASSERT_EQ_INT(httpc_cancel(fx.cl, 9999), -ENOENT);
  go(&fx, "GET", "/echo", NULL, &after); /* the slot was given back */
  spin(&fx, &after.calls, 1);
  ASSERT_EQ_INT(after.status, 200);
  struct httpc_req req = {.retries = 3};
  int64_t w = go(&fx, "GET", "/always?status=503", &req, &waiting);
  struct httpc_stats st = {0};
  while (st.backing_off == 0) {
    uv_run(&fx.loop, UV_RUN_ONCE);
    httpc_get_stats(fx.cl, &st);
  }
  ASSERT_EQ_INT(httpc_cancel(fx.cl, w), 0); /* waiting to retry */
  ASSERT_EQ_INT(waiting.calls, 1);
  ASSERT_EQ_INT(waiting.err, HTTPC_E_CANCELLED);
  ASSERT_EQ_INT(waiting.attempts, 1);
  httpc_get_stats(fx.cl, &st);
  ASSERT_EQ_INT(st.cancelled, 3);
  ASSERT_EQ_INT(st.backing_off, 0);
  ASSERT_EQ_INT(st.in_flight, 0);
  fx_close(&fx);
  ASSERT_EQ_INT(held.calls + queued.calls + after.calls + waiting.calls, 4);
}

static void t_close_in_flight(void) {
  struct fx fx = {0};
  struct res s[6];
  memset(s, 0, sizeof s);
  fx.opt.per_host_limit = 4;
  fx.opt.backoff_base_ms = 60000;
  fx_open(&fx);
  struct httpc_req req = {.retries = 3};
  go(&fx, "GET", "/always?status=500", &req, &s[0]);
  struct httpc_stats st = {0};
  while (st.backing_off == 0) {
    uv_run(&fx.loop, UV_RUN_ONCE);
    httpc_get_stats(fx.cl, &st);
  }
  for (int i = 1; i < 6; i++) go(&fx, "GET", "/hold", NULL, &s[i]); /* 4 run, 1 queued */
  spin(&fx, &fx.nheld, 4);
  httpc_get_stats(fx.cl, &st);
  ASSERT_EQ_INT(st.in_flight, 4);
  ASSERT_EQ_INT(st.queued, 1);
  ASSERT_EQ_INT(httpc_close(fx.cl, on_cl_closed, &fx), 0);
  for (int i = 0; i < 6; i++) {
    ASSERT_EQ_INT(s[i].calls, 1);
    ASSERT_EQ_INT(s[i].err, HTTPC_E_CANCELLED);
  }
  ASSERT_EQ_INT(httpc_close(fx.cl, on_cl_closed, &fx), -EALREADY);
  struct res late = {0};
  struct httpc_req lreq = {.url = "http://127.0.0.1:1/"};
  ASSERT_EQ_INT(httpc_request(fx.cl, &lreq, on_done, &late), -ESHUTDOWN);
  ASSERT_EQ_INT(fx.cl_closed, 0); /* freed only once its handles are closed */
  fx_close(&fx);
  for (int i = 0; i < 6; i++) ASSERT_EQ_INT(s[i].calls, 1);
  ASSERT_EQ_INT(late.calls, 0);
}

/* A callback closing the client: the others are cancelled, nothing runs twice. */
static void t_close_from_callback(void) {
  struct fx fx = {0};
  struct res first = {0}, held = {0}, queued = {0};
  fx.opt.per_host_limit = 2;
  fx_open(&fx);
  go(&fx, "GET", "/hold", NULL, &held);
  spin(&fx, &fx.nheld, 1);
  first.close_in_cb = true;
  go(&fx, "GET", "/echo", NULL, &first);
  go(&fx, "GET", "/echo?queued", NULL, &queued);
  spin(&fx, &first.calls, 1);
  ASSERT_EQ_INT(first.status, 200);
  ASSERT_EQ_INT(held.calls, 1);
  ASSERT_EQ_INT(held.err, HTTPC_E_CANCELLED);
  ASSERT_EQ_INT(queued.calls, 1);
  ASSERT_EQ_INT(queued.err, HTTPC_E_CANCELLED);
  fx_close(&fx);
  ASSERT_EQ_INT(first.calls, 1);
  ASSERT_EQ_INT(held.calls, 1);
}

/* }==================== */

int main(void) {
  alarm(120); /* a hung test fails instead of blocking ctest */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
  t_retry_after_parse();
  t_rejects();
  t_get_post();
  t_reuse();
  t_retries();
  t_retry_after();
  t_timeout();
  t_connect_refused();
  t_too_large();
  t_bad_peers();
  t_redirects();
  t_per_host_limit();
  t_cancel();
  t_close_in_flight();
  t_close_from_callback();
  curl_global_cleanup();
  CHECK_DONE();
}

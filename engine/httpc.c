/* httpc.c — HTTP client for stories: one curl multi handle driven by the libuv loop.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION: one uv_poll_t per
 * socket, freed in its close callback) and when to call it back
 * (CURLMOPT_TIMERFUNCTION: one uv_timer_t); each poll or timer event goes to
 * curl_multi_socket_action() and then every finished transfer is collected with
 * curl_multi_info_read(). Nothing is done inside curl's callbacks but watching sockets,
 * arming the timer and copying response bytes.
 *
 * A request lives in exactly one place at a time: a host's FIFO queue (waiting for one
 * of the per_host_limit slots), the multi handle (an attempt running), or the backoff
 * list (waiting for its next attempt; one uv timer serves the whole list, armed for the
 * earliest wake-up). Every pending request is also on h->reqs, which is what cancel and
 * close search. A request leaves all of these before its callback runs, so whatever the
 * callback does (start, cancel, close) cannot reach it again; it is freed when the
 * callback returns. Hosts are reference counted by their requests and freed with the
 * last one.
 *
 * Retry rule (docs/httpc.md): attempts that failed to connect are retried for every
 * method (nothing was sent); timeouts, broken connections, 5xx (but 501 and 505) and 429
 * only for idempotent methods or when the request allows it; 429 and 503 carrying
 * Retry-After for every method (the server says it did not act). The wait is the
 * Retry-After value (capped) or else exponential backoff with full jitter.
 *
 * Not done here: cookies, proxies, HTTP/2 tuning, streaming bodies (a response is
 * buffered up to the cap), and no knowledge of Lua.
 * SPDX-License-Identifier: MIT
 */
#include "httpc.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "log.h"
#include "util.h"

#ifndef LP0_VERSION
#define LP0_VERSION "dev"
#endif

enum rstate { ST_IDLE, ST_QUEUED, ST_RUNNING, ST_BACKOFF };

struct host {
  struct httpc *h; /* borrowed: the client outlives its hosts */
  char *origin; /* owned: "scheme://host:port", also the key in h->hosts */
  unsigned refs; /* pending requests for this host, plus temporary holds */
  unsigned running;
  struct hreq *qhead, *qtail; /* FIFO of ST_QUEUED requests */
  size_t qlen;
};

struct hreq {
  int64_t id;
  struct httpc *h;    /* borrowed: the client outlives its requests */
  struct host *host;  /* counted reference */
  CURL *easy;         /* owned */
  struct curl_slist *hdrs; /* owned */
  char *url, *method, *body, *user, *pass; /* owned copies */
  size_t body_len;
  enum rstate state;
  unsigned attempts, max_attempts;
  bool idempotent, retry_unsafe;
  uint64_t start_ns, wake_ms;
  httpc_done_cb cb;
  void *ud;
  struct hreq *prev, *next; /* h->reqs, while pending */
  struct hreq *qnext;       /* host queue or backoff list */
  /* the current attempt's response */
  struct buf rbody;
  struct httpc_header *rh; /* owned names and values */
  size_t nrh, caprh, header_bytes;
  bool too_large;
  char errbuf[CURL_ERROR_SIZE];
};

struct sock {
  uv_poll_t poll;
  curl_socket_t fd;
  struct httpc *h;
  struct sock *prev, *next;
};

struct httpc {
  uv_loop_t *loop;
  CURLM *multi; /* NULL once closing released it */
  CURLSH *share;
  uv_timer_t timer;   /* curl's timeout */
  uv_timer_t backoff; /* the earliest retry wait */
  struct sock *socks;
  int handles; /* uv handles not yet closed */
  struct httpc_options o;
  char *ua, *ca_file; /* owned */
  struct hmap hosts;  /* origin -> struct host * */
  struct hreq *reqs;  /* every pending request */
  struct hreq *waiting; /* ST_BACKOFF requests, unordered */
  int64_t next_id;
  uint64_t rng;
  struct httpc_stats st;
  bool closing;
  bool in_cleanup; /* inside curl_multi_cleanup(): the multi is going away */
  httpc_close_cb close_cb;
  void *close_ud;
};

static void check_done(struct httpc *h);
static void backoff_arm(struct httpc *h);
static void host_pump(struct host *host);

const char *httpc_error_name(enum httpc_error e) {
  switch (e) {
  case HTTPC_OK: return "ok";
  case HTTPC_E_BAD_URL: return "bad_url";
  case HTTPC_E_CONNECT: return "connect";
  case HTTPC_E_TIMEOUT: return "timeout";
  case HTTPC_E_TLS: return "tls";
  case HTTPC_E_NETWORK: return "network";
  case HTTPC_E_PROTOCOL: return "protocol";
  case HTTPC_E_TOO_LARGE: return "too_large";
  case HTTPC_E_CANCELLED: return "cancelled";
  case HTTPC_E_INTERNAL: return "internal";
  }
  return "internal";
}

/* {==================== small helpers ==================== */

/* xorshift64*: jitter needs spread, not secrecy. */
static uint64_t rng_next(struct httpc *h) {
  h->rng ^= h->rng >> 12;
  h->rng ^= h->rng << 25;
  h->rng ^= h->rng >> 27;
  return h->rng * 2685821657736338717ULL;
}

static bool is_tchar(int c) {
  return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool is_token(const char *s, size_t n) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++)
    if (!is_tchar((unsigned char)s[i])) return false;
  return true;
}

/* "Name: value" with a token name and no CR, LF (nor NUL, by construction). */
static bool header_line_ok(const char *line) {
  const char *colon = line ? strchr(line, ':') : NULL;
  if (!colon || !is_token(line, (size_t)(colon - line))) return false;
  return strpbrk(line, "\r\n") == NULL;
}

static bool method_idempotent(const char *m) {
  static const char *const safe[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
  for (size_t i = 0; i < sizeof safe / sizeof *safe; i++)
    if (strcmp(m, safe[i]) == 0) return true;
  return false;
}

int64_t httpc_retry_after_ms(const char *value, time_t now) {
  if (!value) return -1;
  while (*value == ' ' || *value == '\t') value++;
  if (isdigit((unsigned char)*value)) {
    int64_t secs = 0;
    const char *p = value;
    for (; isdigit((unsigned char)*p); p++)
      if (secs < INT64_MAX / 10000) secs = secs * 10 + (*p - '0');
    while (*p == ' ' || *p == '\t') p++;
    return *p ? -1 : secs * 1000;
  }
  time_t t = curl_getdate(value, NULL);
  if (t == (time_t)-1) return -1;
  return t <= now ? 0 : (int64_t)(t - now) * 1000;
}

const char *httpc_resp_header(const struct httpc_resp *r, const char *name) {
  for (size_t i = 0; i < r->nheaders; i++)
    if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
  return NULL;
}

static const char *req_header(const struct hreq *r, const char *name) {
  for (size_t i = 0; i < r->nrh; i++)
    if (strcmp(r->rh[i].name, name) == 0) return r->rh[i].value;
  return NULL;
}

/* }==================== */

/* {==================== requests and hosts ==================== */

static void resp_reset(struct hreq *r) {
  for (size_t i = 0; i < r->nrh; i++) {
    free((char *)(uintptr_t)r->rh[i].name);
    free((char *)(uintptr_t)r->rh[i].value);
  }
  r->nrh = 0;
  r->header_bytes = 0;
  r->rbody.len = 0;
  if (r->rbody.data) r->rbody.data[0] = '\0';
  r->too_large = false;
  r->errbuf[0] = '\0';
}

static void req_free(struct hreq *r) {
  if (!r) return;
  resp_reset(r);
  free(r->rh);
  buf_free(&r->rbody);
  if (r->easy) curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->hdrs);
  free(r->url);
  free(r->method);
  free(r->body);
  free(r->user);
  free(r->pass);
  free(r);
}

static struct host *host_get(struct httpc *h, const char *origin) {
  void **slot = hmap_put(&h->hosts, origin, strlen(origin));
  if (!*slot) {
    struct host *host = xcalloc(1, sizeof *host);
    host->origin = xstrdup(origin);
    host->h = h;
    *slot = host;
  }
  struct host *host = *slot;
  host->refs++;
  return host;
}

static void host_unref(struct httpc *h, struct host *host) {
  if (--host->refs) return;
  hmap_del(&h->hosts, host->origin, strlen(host->origin));
  free(host->origin);
  free(host);
}

static void list_unlink(struct hreq *r) {
  struct httpc *h = r->h;
  if (r->prev) r->prev->next = r->next;
  else if (h->reqs == r) h->reqs = r->next;
  if (r->next) r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

static void queue_push(struct host *host, struct hreq *r, bool front) {
  r->state = ST_QUEUED;
  r->h->st.queued++;
  host->qlen++;
  if (front) {
    r->qnext = host->qhead;
    host->qhead = r;
    if (!host->qtail) host->qtail = r;
  } else {
    r->qnext = NULL;
    if (host->qtail) host->qtail->qnext = r;
    else host->qhead = r;
    host->qtail = r;
  }
}

static void queue_remove(struct host *host, struct hreq *r) {
  struct hreq *prev = NULL;
  for (struct hreq *q = host->qhead; q; prev = q, q = q->qnext) {
    if (q != r) continue;
    if (prev) prev->qnext = r->qnext;
    else host->qhead = r->qnext;
    if (host->qtail == r) host->qtail = prev;
    break;
  }
  r->qnext = NULL;
  r->state = ST_IDLE;
  host->qlen--;
  r->h->st.queued--;
}

static void waiting_remove(struct httpc *h, struct hreq *r) {
  for (struct hreq **pp = &h->waiting; *pp; pp = &(*pp)->qnext) {
    if (*pp != r) continue;
    *pp = r->qnext;
    break;
  }
  r->qnext = NULL;
  r->state = ST_IDLE;
  h->st.backing_off--;
}

/* Takes r out of wherever it is and off h->reqs: nothing can reach it any more. */
static void req_detach(struct hreq *r) {
  struct httpc *h = r->h;
  switch (r->state) {
  case ST_RUNNING: {
    CURLMcode mc = curl_multi_remove_handle(h->multi, r->easy);
    if (mc != CURLM_OK) log_error("httpc: curl_multi_remove_handle: %s", curl_multi_strerror(mc));
    h->st.in_flight--;
    r->host->running--;
    r->state = ST_IDLE;
    break;
  }
  case ST_QUEUED: queue_remove(r->host, r); break;
  case ST_BACKOFF: waiting_remove(h, r); break;
  case ST_IDLE: break;
  }
  list_unlink(r);
}

/* r is detached: report, then free. */
static void req_finish(struct hreq *r, enum httpc_error err, int status, const char *msg) {
  struct httpc *h = r->h;
  struct httpc_resp resp = {
      .id = r->id,
      .status = status,
      .error = err,
      .message = err == HTTPC_OK ? "" : msg,
      .headers = r->rh,
      .nheaders = r->nrh,
      .body = err == HTTPC_OK && r->rbody.data ? r->rbody.data : "",
      .body_len = err == HTTPC_OK ? r->rbody.len : 0,
      .attempts = r->attempts,
      .total_ms = (double)(uv_hrtime() - r->start_ns) / 1e6,
  };
  if (err == HTTPC_OK) h->st.completed++;
  else if (err == HTTPC_E_CANCELLED) h->st.cancelled++;
  else h->st.failed++;
  r->cb(&resp, r->ud);
  host_unref(h, r->host);
  req_free(r);
}

static int attempt_start(struct hreq *r) {
  struct httpc *h = r->h;
  resp_reset(r);
  r->attempts++;
  if (r->attempts > 1) h->st.retries++;
  CURLMcode mc = curl_multi_add_handle(h->multi, r->easy);
  if (mc != CURLM_OK) {
    log_error("httpc: curl_multi_add_handle: %s", curl_multi_strerror(mc));
    return -ENOMEM;
  }
  r->state = ST_RUNNING;
  r->host->running++;
  if (++h->st.in_flight > h->st.peak_in_flight) h->st.peak_in_flight = h->st.in_flight;
  return 0;
}

/* For requests started from a callback: a refusal is reported through r's callback. */
static void attempt_start_or_fail(struct hreq *r) {
  if (attempt_start(r) == 0) return;
  req_detach(r);
  req_finish(r, HTTPC_E_INTERNAL, 0, "curl refused to start the transfer");
}

/* Starts queued requests of host while it has free slots. */
static void host_pump(struct host *host) {
  struct httpc *h = host->h;
  host->refs++; /* a request failing to start must not free host under this loop */
  while (host->qhead && host->running < h->o.per_host_limit && !h->closing) {
    struct hreq *r = host->qhead;
    queue_remove(host, r);
    attempt_start_or_fail(r);
  }
  host_unref(h, host);
}

/* }==================== */

/* {==================== outcome of an attempt ==================== */

static enum httpc_error classify(const struct hreq *r, CURLcode code, long status) {
  switch (code) {
  case CURLE_OK: return HTTPC_OK;
  case CURLE_URL_MALFORMAT: return HTTPC_E_BAD_URL;
  case CURLE_UNSUPPORTED_PROTOCOL:
    /* The first URL was checked before the start: this is a redirect to another scheme,
     * or a reply without a status line (HTTP/0.9), which curl reports the same way. */
    return status >= 300 && status < 400 ? HTTPC_E_BAD_URL : HTTPC_E_PROTOCOL;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT: return HTTPC_E_CONNECT;
  case CURLE_OPERATION_TIMEDOUT: return HTTPC_E_TIMEOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_USE_SSL_FAILED: return HTTPC_E_TLS;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE: return HTTPC_E_NETWORK;
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_TOO_MANY_REDIRECTS:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_HTTP3:
  case CURLE_RANGE_ERROR: return HTTPC_E_PROTOCOL;
  case CURLE_FILESIZE_EXCEEDED: return HTTPC_E_TOO_LARGE;
  case CURLE_WRITE_ERROR: return r->too_large ? HTTPC_E_TOO_LARGE : HTTPC_E_INTERNAL;
  case CURLE_ABORTED_BY_CALLBACK: return HTTPC_E_CANCELLED;
  default: return HTTPC_E_INTERNAL;
  }
}

/* The wait before the next attempt in ms, or -1: no retry (see the head comment). */
static int64_t retry_delay(struct hreq *r, enum httpc_error err, int status) {
  struct httpc *h = r->h;
  if (h->closing || r->attempts >= r->max_attempts) return -1;
  bool may = r->idempotent || r->retry_unsafe;
  int64_t after = -1;
  switch (err) {
  case HTTPC_E_CONNECT: break;
  case HTTPC_E_TIMEOUT:
  case HTTPC_E_NETWORK:
    if (!may) return -1;
    break;
  case HTTPC_OK:
    if (status == 429 || status == 503)
      after = httpc_retry_after_ms(req_header(r, "retry-after"), time(NULL));
    if (after >= 0) break; /* the server asked for a later try: safe for any method */
    if (!may) return -1;
    if (status != 429 && (status < 500 || status > 599 || status == 501 || status == 505))
      return -1;
    break;
  default: return -1;
  }
  if (after >= 0) return after < h->o.retry_after_max_ms ? after : h->o.retry_after_max_ms;
  /* Full jitter: uniform in [0, min(max, base * 2^(attempt-1))]. */
  uint64_t ceil = h->o.backoff_base_ms;
  for (unsigned i = 1; i < r->attempts && ceil < h->o.backoff_max_ms; i++) ceil *= 2;
  if (ceil > h->o.backoff_max_ms) ceil = h->o.backoff_max_ms;
  return (int64_t)(rng_next(h) % (ceil + 1));
}

static void backoff_add(struct hreq *r, int64_t delay_ms) {
  struct httpc *h = r->h;
  r->state = ST_BACKOFF;
  r->wake_ms = uv_now(h->loop) + (uint64_t)delay_ms;
  r->qnext = h->waiting;
  h->waiting = r;
  h->st.backing_off++;
  backoff_arm(h);
}

static const char *error_message(struct hreq *r, enum httpc_error err, CURLcode code,
                                 char *tmp, size_t tmplen) {
  if (err == HTTPC_E_TOO_LARGE) {
    if (r->header_bytes > HTTPC_MAX_HEADER_BYTES)
      snprintf(tmp, tmplen, "response headers over %zu bytes", HTTPC_MAX_HEADER_BYTES);
    else
      snprintf(tmp, tmplen, "response body over %zu bytes", r->h->o.max_response_bytes);
    return tmp;
  }
  return r->errbuf[0] ? r->errbuf : curl_easy_strerror(code);
}

/* One attempt of r ended with code: retry it, or report it. */
static void attempt_done(struct hreq *r, CURLcode code) {
  struct httpc *h = r->h;
  CURLMcode mc = curl_multi_remove_handle(h->multi, r->easy);
  if (mc != CURLM_OK) log_error("httpc: curl_multi_remove_handle: %s", curl_multi_strerror(mc));
  r->state = ST_IDLE;
  h->st.in_flight--;
  r->host->running--;

  long status = 0;
  if (curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) status = 0;
  enum httpc_error err = classify(r, code, status);
  int64_t delay = retry_delay(r, err, (int)status);
  if (delay >= 0) {
    log_debug("httpc: %s %s: attempt %u: %s %ld, again in %lld ms", r->method, r->url,
              r->attempts, httpc_error_name(err), status, (long long)delay);
    backoff_add(r, delay);
    host_pump(r->host);
    return;
  }
  list_unlink(r); /* out of reach of cancel/close from callbacks that host_pump runs */
  host_pump(r->host);
  char tmp[96];
  req_finish(r, err, (int)status, error_message(r, err, code, tmp, sizeof tmp));
}

/* }==================== */

/* {==================== libuv <-> curl ==================== */

static void check_done(struct httpc *h) {
  CURLMsg *m;
  int left;
  /* h->multi is NULL once a callback closed the client. */
  while (h->multi && (m = curl_multi_info_read(h->multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE) continue;
    CURL *easy = m->easy_handle;
    CURLcode code = m->data.result; /* m is invalid once the handle is removed */
    char *priv = NULL;
    if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK || !priv) {
      log_error("httpc: finished transfer without its request");
      continue;
    }
    attempt_done((struct hreq *)(void *)priv, code);
  }
}

static void socket_action(struct httpc *h, curl_socket_t fd, int flags) {
  int running = 0;
  if (!h->multi) return;
  CURLMcode mc = curl_multi_socket_action(h->multi, fd, flags, &running);
  if (mc != CURLM_OK) log_error("httpc: curl_multi_socket_action: %s", curl_multi_strerror(mc));
  check_done(h);
}

static void httpc_on_poll(uv_poll_t *p, int status, int events) {
  struct sock *k = p->data;
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
  socket_action(k->h, k->fd, flags);
}

static void httpc_on_timeout(uv_timer_t *t) {
  socket_action(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static void maybe_free(struct httpc *h) {
  if (h->handles) return;
  httpc_close_cb cb = h->close_cb;
  void *ud = h->close_ud;
  if (h->share) {
    CURLSHcode sc = curl_share_cleanup(h->share);
    if (sc != CURLSHE_OK) log_error("httpc: curl_share_cleanup: %s", curl_share_strerror(sc));
  }
  hmap_free(&h->hosts);
  free(h->ua);
  free(h->ca_file);
  free(h);
  if (cb) cb(ud);
}

static void on_handle_closed(uv_handle_t *hd) {
  struct httpc *h = hd->data;
  h->handles--;
  maybe_free(h);
}

static void on_sock_closed(uv_handle_t *hd) {
  struct sock *k = hd->data;
  struct httpc *h = k->h;
  free(k);
  h->handles--;
  if (h->closing) maybe_free(h);
}

static void sock_close(struct sock *k) {
  struct httpc *h = k->h;
  if (k->prev) k->prev->next = k->next;
  else h->socks = k->next;
  if (k->next) k->next->prev = k->prev;
  uv_close((uv_handle_t *)&k->poll, on_sock_closed); /* also stops it */
}

static int httpc_on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  struct httpc *h = userp;
  struct sock *k = socketp;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    if (k) {
      sock_close(k);
      if (h->multi && !h->in_cleanup) (void)curl_multi_assign(h->multi, fd, NULL);
    }
    return 0;
  }
  if (!k) {
    k = xcalloc(1, sizeof *k);
    int rc = uv_poll_init_socket(h->loop, &k->poll, fd);
    if (rc != 0) {
      log_error("httpc: uv_poll_init_socket: %s", uv_strerror(rc));
      free(k);
      return -1;
    }
    k->poll.data = k;
    k->fd = fd;
    k->h = h;
    k->next = h->socks;
    if (h->socks) h->socks->prev = k;
    h->socks = k;
    h->handles++;
    CURLMcode mc = curl_multi_assign(h->multi, fd, k);
    if (mc != CURLM_OK) {
      log_error("httpc: curl_multi_assign: %s", curl_multi_strerror(mc));
      sock_close(k);
      return -1;
    }
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  int rc = uv_poll_start(&k->poll, events, httpc_on_poll);
  if (rc != 0) {
    log_error("httpc: uv_poll_start: %s", uv_strerror(rc));
    return -1;
  }
  return 0;
}

/* curl wants socket_action(TIMEOUT) in timeout_ms (-1: never). A 0 runs on the loop's
 * next iteration, never from inside this callback (curl forbids the re-entry). */
static int httpc_on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  struct httpc *h = userp;
  (void)multi;
  if (h->closing) return 0;
  if (timeout_ms < 0) return uv_timer_stop(&h->timer) == 0 ? 0 : -1;
  int rc = uv_timer_start(&h->timer, httpc_on_timeout, (uint64_t)timeout_ms, 0);
  if (rc != 0) {
    log_error("httpc: uv_timer_start: %s", uv_strerror(rc));
    return -1;
  }
  return 0;
}

static void httpc_on_backoff(uv_timer_t *t) {
  struct httpc *h = t->data;
  for (;;) {
    uint64_t now = uv_now(h->loop);
    struct hreq *due = NULL;
    for (struct hreq *r = h->waiting; r && !due; r = r->qnext)
      if (r->wake_ms <= now) due = r;
    if (!due || h->closing) break;
    waiting_remove(h, due);
    struct host *host = due->host;
    /* It waited its turn already: ahead of the queue, not behind it. */
    if (host->running < h->o.per_host_limit) attempt_start_or_fail(due);
    else queue_push(host, due, true);
  }
  backoff_arm(h);
}

static void backoff_arm(struct httpc *h) {
  if (h->closing) return;
  if (!h->waiting) {
    (void)uv_timer_stop(&h->backoff);
    return;
  }
  uint64_t wake = UINT64_MAX, now = uv_now(h->loop);
  for (struct hreq *r = h->waiting; r; r = r->qnext)
    if (r->wake_ms < wake) wake = r->wake_ms;
  int rc = uv_timer_start(&h->backoff, httpc_on_backoff, wake > now ? wake - now : 0, 0);
  if (rc != 0) log_error("httpc: uv_timer_start (backoff): %s", uv_strerror(rc));
}

/* }==================== */

/* {==================== curl easy callbacks ==================== */

static size_t httpc_on_body(char *p, size_t size, size_t n, void *ud) {
  struct hreq *r = ud;
  size_t len = size * n;
  if (len > r->h->o.max_response_bytes - r->rbody.len) {
    r->too_large = true;
    return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
  }
  buf_append(&r->rbody, p, len);
  return len;
}

static char *trimmed(const char *s, size_t n, bool lower) {
  while (n && (*s == ' ' || *s == '\t')) s++, n--;
  while (n && strchr(" \t\r\n", s[n - 1])) n--;
  char *out = xstrndup(s, n);
  if (lower)
    for (char *c = out; *c; c++) *c = (char)tolower((unsigned char)*c);
  return out;
}

static size_t httpc_on_header(char *p, size_t size, size_t n, void *ud) {
  struct hreq *r = ud;
  size_t len = size * n;
  r->header_bytes += len;
  if (r->header_bytes > HTTPC_MAX_HEADER_BYTES) {
    r->too_large = true;
    return 0;
  }
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response (100, redirect...) */
    size_t keep = r->header_bytes;
    resp_reset(r);
    r->header_bytes = keep;
    return len;
  }
  const char *colon = memchr(p, ':', len);
  if (!colon || colon == p || *p == ' ' || *p == '\t') return len; /* blank, folded */
  if (r->nrh == r->caprh) {
    r->caprh = r->caprh ? r->caprh * 2 : 16;
    r->rh = xrealloc(r->rh, r->caprh * sizeof *r->rh);
  }
  r->rh[r->nrh].name = trimmed(p, (size_t)(colon - p), true);
  r->rh[r->nrh].value = trimmed(colon + 1, len - (size_t)(colon - p) - 1, false);
  r->nrh++;
  return len;
}

/* }==================== */

/* {==================== public API ==================== */

struct httpc *httpc_new(uv_loop_t *loop, const struct httpc_options *o) {
  struct httpc *h = xcalloc(1, sizeof *h);
  int rc;
  h->loop = loop;
  if (o) h->o = *o;
  if (!h->o.max_response_bytes) h->o.max_response_bytes = HTTPC_MAX_RESPONSE;
  if (!h->o.per_host_limit) h->o.per_host_limit = HTTPC_PER_HOST_LIMIT;
  if (!h->o.timeout_ms) h->o.timeout_ms = HTTPC_TIMEOUT_MS;
  if (!h->o.connect_timeout_ms) h->o.connect_timeout_ms = HTTPC_CONNECT_TIMEOUT_MS;
  if (!h->o.backoff_base_ms) h->o.backoff_base_ms = HTTPC_BACKOFF_BASE_MS;
  if (!h->o.backoff_max_ms) h->o.backoff_max_ms = HTTPC_BACKOFF_MAX_MS;
  if (!h->o.retry_after_max_ms) h->o.retry_after_max_ms = HTTPC_RETRY_AFTER_MAX_MS;
  h->ua = xstrdup(h->o.user_agent ? h->o.user_agent : "lp0/" LP0_VERSION);
  h->ca_file = h->o.ca_file ? xstrdup(h->o.ca_file) : NULL;
  h->o.user_agent = h->ua;
  h->o.ca_file = h->ca_file;
  h->rng = uv_hrtime() ^ (uint64_t)(uintptr_t)h ^ 0x9e3779b97f4a7c15ULL;
  if (!h->rng) h->rng = 1;
  hmap_init(&h->hosts);

  h->multi = curl_multi_init();
  h->share = curl_share_init();
  if (!h->multi || !h->share) goto fail;
  /* One thread only: no lock callbacks. DNS and connections are shared by the multi. */
  if (curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
    goto fail;
  if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, httpc_on_socket) != CURLM_OK ||
      curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
      curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, httpc_on_curl_timer) != CURLM_OK ||
      curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK)
    goto fail;
  rc = uv_timer_init(loop, &h->timer);
  if (rc != 0) goto fail_uv;
  h->timer.data = h;
  h->handles++;
  rc = uv_timer_init(loop, &h->backoff);
  if (rc != 0) {
    /* h is freed by the timer's close callback, as in httpc_close(). */
    log_error("httpc: uv_timer_init: %s", uv_strerror(rc));
    h->closing = true;
    (void)curl_multi_cleanup(h->multi); /* nothing was added to it */
    h->multi = NULL;
    uv_close((uv_handle_t *)&h->timer, on_handle_closed);
    return NULL;
  }
  h->backoff.data = h;
  h->handles++;
  return h;

fail_uv:
  log_error("httpc: uv_timer_init: %s", uv_strerror(rc));
  goto cleanup;
fail:
  log_error("httpc: curl refused to set up the multi handle");
cleanup: /* both are empty: their cleanup cannot fail in a way we could act on */
  if (h->multi) (void)curl_multi_cleanup(h->multi);
  if (h->share) (void)curl_share_cleanup(h->share);
  free(h->ua);
  free(h->ca_file);
  free(h);
  return NULL;
}

/* Validates req->url; on success *origin is "scheme://host:port" (free it). */
static int parse_url(const char *url, char **origin) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  int rc = -EINVAL;
  if (!u) return -ENOMEM;
  if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) goto out;
  if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) goto out;
  if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
    rc = -EPROTONOSUPPORT;
    goto out;
  }
  if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) goto out;
  if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) goto out;
  for (char *c = host; *c; c++) *c = (char)tolower((unsigned char)*c);
  for (char *c = scheme; *c; c++) *c = (char)tolower((unsigned char)*c);
  *origin = xasprintf("%s://%s:%s", scheme, host, port);
  rc = 0;
out:
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return rc;
}

#define SETOPT(opt, val)                                          \
  do {                                                            \
    if (curl_easy_setopt(e, opt, val) != CURLE_OK) goto fail_opt; \
  } while (0)

/* Everything of r's transfer that stays the same across attempts. */
static int easy_setup(struct httpc *h, struct hreq *r, unsigned timeout_ms, bool redirects) {
  CURL *e = r->easy;
  long t = (long)timeout_ms;
  long ct = (long)(h->o.connect_timeout_ms < timeout_ms ? h->o.connect_timeout_ms : timeout_ms);
  SETOPT(CURLOPT_URL, r->url);
  SETOPT(CURLOPT_PRIVATE, (void *)r);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  SETOPT(CURLOPT_FOLLOWLOCATION, redirects ? 1L : 0L);
  SETOPT(CURLOPT_MAXREDIRS, HTTPC_MAX_REDIRECTS);
  SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
  if (h->ca_file) SETOPT(CURLOPT_CAINFO, h->ca_file);
  SETOPT(CURLOPT_SHARE, h->share);
  SETOPT(CURLOPT_TIMEOUT_MS, t);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, ct);
  SETOPT(CURLOPT_USERAGENT, h->ua);
  SETOPT(CURLOPT_ACCEPT_ENCODING, ""); /* decoded bytes count against the cap */
  SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->o.max_response_bytes);
  SETOPT(CURLOPT_WRITEFUNCTION, httpc_on_body);
  SETOPT(CURLOPT_WRITEDATA, (void *)r);
  SETOPT(CURLOPT_HEADERFUNCTION, httpc_on_header);
  SETOPT(CURLOPT_HEADERDATA, (void *)r);
  SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
  if (r->hdrs) SETOPT(CURLOPT_HTTPHEADER, r->hdrs);
  if (r->user) {
    SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    SETOPT(CURLOPT_USERNAME, r->user);
    SETOPT(CURLOPT_PASSWORD, r->pass ? r->pass : "");
  }
  bool with_body = r->body_len > 0 || strcmp(r->method, "POST") == 0 ||
                   strcmp(r->method, "PUT") == 0 || strcmp(r->method, "PATCH") == 0;
  if (strcmp(r->method, "HEAD") == 0) SETOPT(CURLOPT_NOBODY, 1L);
  else if (strcmp(r->method, "GET") == 0 && !with_body) SETOPT(CURLOPT_HTTPGET, 1L);
  if (with_body) {
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    SETOPT(CURLOPT_POSTFIELDS, r->body);
  }
  if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0 &&
      strcmp(r->method, "POST") != 0)
    SETOPT(CURLOPT_CUSTOMREQUEST, r->method);
  else if (strcmp(r->method, "GET") == 0 && with_body)
    SETOPT(CURLOPT_CUSTOMREQUEST, "GET");
  return 0;
fail_opt:
  log_error("httpc: curl_easy_setopt refused an option (libcurl too old?)");
  return -ENOMEM;
}

static int req_validate(const struct httpc_req *req, const char *method) {
  if (!req->url || !is_token(method, strlen(method)) || strlen(method) > 32) return -EINVAL;
  if (req->nheaders && !req->headers) return -EINVAL;
  for (size_t i = 0; i < req->nheaders; i++)
    if (!header_line_ok(req->headers[i])) return -EINVAL;
  if (req->body_len && !req->body) return -EINVAL;
  if ((req->username && strpbrk(req->username, "\r\n")) ||
      (req->password && strpbrk(req->password, "\r\n")))
    return -EINVAL;
  return 0;
}

int64_t httpc_request(struct httpc *h, const struct httpc_req *req, httpc_done_cb cb,
                      void *ud) {
  if (h->closing) return -ESHUTDOWN;
  if (!req || !cb) return -EINVAL;
  const char *method = req->method ? req->method : "GET";
  int rc = req_validate(req, method);
  if (rc) return rc;
  char *origin = NULL;
  rc = parse_url(req->url, &origin);
  if (rc) return rc;

  struct hreq *r = xcalloc(1, sizeof *r);
  r->h = h;
  r->url = xstrdup(req->url);
  r->method = xstrdup(method);
  r->body = xmalloc(req->body_len + 1);
  if (req->body_len) memcpy(r->body, req->body, req->body_len);
  r->body[req->body_len] = '\0';
  r->body_len = req->body_len;
  r->user = req->username ? xstrdup(req->username) : NULL;
  r->pass = req->password ? xstrdup(req->password) : NULL;
  r->max_attempts = 1 + (req->retries < HTTPC_MAX_RETRIES ? req->retries : HTTPC_MAX_RETRIES);
  r->idempotent = method_idempotent(method);
  r->retry_unsafe = req->retry_unsafe;
  r->cb = cb;
  r->ud = ud;
  buf_init(&r->rbody);
  rc = -ENOMEM;
  for (size_t i = 0; i < req->nheaders; i++) {
    struct curl_slist *l = curl_slist_append(r->hdrs, req->headers[i]);
    if (!l) goto fail;
    r->hdrs = l;
  }
  r->easy = curl_easy_init();
  if (!r->easy) goto fail;
  if (easy_setup(h, r, req->timeout_ms ? req->timeout_ms : h->o.timeout_ms,
                 req->follow_redirects) != 0)
    goto fail;

  r->host = host_get(h, origin);
  free(origin);
  origin = NULL;
  r->id = ++h->next_id;
  r->start_ns = uv_hrtime();
  if (r->host->running < h->o.per_host_limit && !r->host->qhead) {
    if (attempt_start(r) != 0) {
      host_unref(h, r->host);
      goto fail;
    }
  } else {
    queue_push(r->host, r, false);
  }
  r->next = h->reqs;
  if (h->reqs) h->reqs->prev = r;
  h->reqs = r;
  h->st.requests++;
  return r->id;
fail:
  free(origin);
  req_free(r);
  return rc;
}

int httpc_cancel(struct httpc *h, int64_t id) {
  struct hreq *r = h->reqs;
  while (r && r->id != id) r = r->next;
  if (!r) return -ENOENT;
  bool freed_slot = r->state == ST_RUNNING;
  req_detach(r);
  if (freed_slot) host_pump(r->host);
  req_finish(r, HTTPC_E_CANCELLED, 0, "cancelled");
  return 0;
}

int httpc_close(struct httpc *h, httpc_close_cb cb, void *ud) {
  if (h->closing) return -EALREADY;
  h->closing = true;
  h->close_cb = cb;
  h->close_ud = ud;
  while (h->reqs) { /* a callback may cancel others: take the head each time */
    struct hreq *r = h->reqs;
    req_detach(r);
    req_finish(r, HTTPC_E_CANCELLED, 0, "client closed");
  }
  h->in_cleanup = true;
  CURLMcode mc = curl_multi_cleanup(h->multi);
  if (mc != CURLM_OK) log_error("httpc: curl_multi_cleanup: %s", curl_multi_strerror(mc));
  h->multi = NULL;
  h->in_cleanup = false;
  while (h->socks) sock_close(h->socks); /* sockets curl did not remove itself */
  uv_close((uv_handle_t *)&h->timer, on_handle_closed);
  uv_close((uv_handle_t *)&h->backoff, on_handle_closed);
  return 0;
}

void httpc_get_stats(const struct httpc *h, struct httpc_stats *st) { *st = h->st; }

void httpc_foreach_host(const struct httpc *h,
                        void (*fn)(const char *origin, unsigned running, size_t queued,
                                   void *ud),
                        void *ud) {
  for (size_t i = 0; i < h->hosts.cap; i++) {
    const struct host *host = h->hosts.slots[i].key ? h->hosts.slots[i].value : NULL;
    if (host && (host->running || host->qlen)) fn(host->origin, host->running, host->qlen, ud);
  }
}

/* }==================== */

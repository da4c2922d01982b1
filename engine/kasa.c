/* kasa.c — the Kasa local protocol on libuv: cipher, framing, one-shot requests.
 *
 * A request is a little state machine: resolve (skipped for IP literals), connect to each
 * address in turn until one accepts, write header and body as ONE buffer (the reference
 * simulator decrypts every TCP chunk as a whole message, and real plugs are not much
 * smarter), read until the announced length is in, then close. One deadline timer covers
 * every phase, so a host that accepts and never answers costs timeout_ms, not more.
 *
 * Lifetimes: the struct kasa_req owns its two uv handles (tcp, timer), the resolved
 * address list and the buffers. It is freed only when the callback has run (or the
 * request was cancelled), both handles are closed and no getaddrinfo is outstanding:
 * whichever of those happens last frees it. The callback is always called from a libuv
 * callback, never from kasa_request or kasa_cancel, so callers need no re-entrancy care.
 *
 * Not done here: deciding what to send (plug.c), retries (a failed command is reported,
 * the caller decides), UDP discovery, the KLAP protocol of newer firmware.
 * SPDX-License-Identifier: MIT
 */
#include "kasa.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "util.h"

/* {===================== cipher and framing ===================== */

void kasa_encrypt(const void *in, size_t len, void *out) {
  const unsigned char *p = in;
  unsigned char *q = out;
  unsigned char key = KASA_KEY0;
  for (size_t i = 0; i < len; i++) {
    key = (unsigned char)(p[i] ^ key);
    q[i] = key;
  }
}

void kasa_decrypt(const void *in, size_t len, void *out) {
  const unsigned char *p = in;
  unsigned char *q = out;
  unsigned char key = KASA_KEY0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = p[i]; /* read first: out may be in */
    q[i] = (unsigned char)(c ^ key);
    key = c;
  }
}

unsigned char *kasa_frame(const char *json, size_t len, size_t *frame_len) {
  if (len > KASA_MAX_MSG) return NULL;
  unsigned char *f = xmalloc(len + 4);
  f[0] = (unsigned char)(len >> 24), f[1] = (unsigned char)(len >> 16);
  f[2] = (unsigned char)(len >> 8), f[3] = (unsigned char)len;
  kasa_encrypt(json, len, f + 4);
  *frame_len = len + 4;
  return f;
}

void kasa_rx_init(struct kasa_rx *rx) { memset(rx, 0, sizeof *rx); }

void kasa_rx_free(struct kasa_rx *rx) {
  free(rx->data);
  kasa_rx_init(rx);
}

int kasa_rx_feed(struct kasa_rx *rx, const void *p, size_t n) {
  /* Keep only what the message can use: the header, then at most `need` bytes. */
  size_t want = rx->need ? 4 + rx->need - rx->len : 4 - rx->len;
  size_t take = n < want ? n : want;
  if (rx->len + take > rx->cap) {
    rx->cap = rx->len + take > 256 ? rx->len + take : 256;
    rx->data = xrealloc(rx->data, rx->cap);
  }
  memcpy(rx->data + rx->len, p, take);
  rx->len += take;
  if (!rx->need && rx->len == 4) {
    const unsigned char *h = rx->data;
    uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    if (len == 0 || len > KASA_MAX_MSG) return -EMSGSIZE;
    rx->need = len;
    if (n > take) return kasa_rx_feed(rx, (const char *)p + take, n - take);
  }
  return rx->need && rx->len == 4 + rx->need ? 1 : 0;
}

char *kasa_rx_take(struct kasa_rx *rx, size_t *len) {
  char *s = xmalloc(rx->need + 1);
  kasa_decrypt(rx->data + 4, rx->need, s);
  s[rx->need] = '\0';
  *len = rx->need;
  return s;
}

/* }===================== */

/* {===================== device errors ===================== */

static bool method_error(const char *module, const char *method, const cJSON *o, int *code,
                         char *msg, size_t n) {
  const cJSON *ec = cJSON_GetObjectItemCaseSensitive(o, "err_code");
  if (!cJSON_IsNumber(ec) || ec->valuedouble == 0) return false;
  const cJSON *em = cJSON_GetObjectItemCaseSensitive(o, "err_msg");
  *code = (int)ec->valuedouble;
  snprintf(msg, n, "%s%s%s: %s (err_code %d)", module, method ? "." : "", method ? method : "",
           cJSON_IsString(em) ? em->valuestring : "no err_msg", *code);
  return true;
}

bool kasa_device_error(const cJSON *root, int *code, char *msg, size_t n) {
  for (const cJSON *mod = cJSON_IsObject(root) ? root->child : NULL; mod; mod = mod->next) {
    if (!cJSON_IsObject(mod)) continue;
    if (method_error(mod->string, NULL, mod, code, msg, n)) return true;
    for (const cJSON *m = mod->child; m; m = m->next)
      if (cJSON_IsObject(m) && method_error(mod->string, m->string, m, code, msg, n)) return true;
  }
  return false;
}

/* }===================== */

/* {===================== one request ===================== */

enum phase { PH_RESOLVE, PH_CONNECT, PH_EXCHANGE };
static const char *const phase_name[] = {"resolving", "connecting to", "waiting for the answer of"};

struct kasa_req {
  uv_loop_t *loop;
  uv_getaddrinfo_t gai;
  uv_connect_t connect;
  uv_write_t write;
  uv_tcp_t tcp;
  uv_timer_t timer;
  char *host;
  char target[80];         /* "host:port" for messages */
  int port;
  uint64_t timeout_ms;
  struct addrinfo *ai;     /* owned (uv_freeaddrinfo); NULL for an IP literal */
  const struct addrinfo *next; /* borrowed from ai: the next address to try */
  struct sockaddr_storage literal; /* the address when host is an IP literal */
  bool literal_tried;
  unsigned char *frame;    /* owned */
  size_t frame_len;
  struct kasa_rx rx;
  kasa_cb cb;
  void *ud;
  enum phase phase;
  int handles;             /* open uv handles: freed at 0 (with done and !resolving) */
  bool tcp_open, resolving, done;
  int device_err;          /* the device's err_code, for the reply */
  enum kasa_status last;   /* the last connect failure, reported if no address works */
  char last_msg[192];
};

const char *kasa_status_name(enum kasa_status s) {
  static const char *const names[] = {"ok", "resolve", "refused", "unreachable",
                                      "timeout", "io", "malformed", "device"};
  return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

static void req_free(struct kasa_req *r) {
  if (r->ai) uv_freeaddrinfo(r->ai);
  kasa_rx_free(&r->rx);
  free(r->frame);
  free(r->host);
  free(r);
}

static void maybe_free(struct kasa_req *r) {
  if (r->done && r->handles == 0 && !r->resolving) req_free(r);
}

static void on_handle_closed(uv_handle_t *h) {
  struct kasa_req *r = h->data;
  r->handles--;
  maybe_free(r);
}

/* Marks the request done and starts closing its handles (freed in their callbacks). */
static void teardown(struct kasa_req *r) {
  r->done = true;
  if (r->resolving) {
    int rc = uv_cancel((uv_req_t *)&r->gai); /* EBUSY: already running; its callback frees */
    if (rc < 0 && rc != UV_EBUSY) log_debug("kasa: %s: cancel resolve: %s", r->target, uv_strerror(rc));
  }
  if (r->tcp_open) {
    r->tcp_open = false;
    uv_close((uv_handle_t *)&r->tcp, on_handle_closed);
  }
  uv_close((uv_handle_t *)&r->timer, on_handle_closed);
}

/* Ends the request with status and message, handing text (the decrypted answer, may be
 * NULL) and root (owned, may be NULL) to the callback. Nothing touches r afterwards
 * except the close callbacks. */
__attribute__((format(printf, 5, 6))) static void finish(struct kasa_req *r,
                                                         enum kasa_status st, char *text,
                                                         cJSON *root, const char *fmt, ...) {
  char msg[512] = "";
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
  }
  struct kasa_reply reply = {.status = st, .device_err = r->device_err, .message = msg,
                             .json = text, .json_len = text ? strlen(text) : 0, .root = root};
  teardown(r);
  r->cb(&reply, r->ud);
  cJSON_Delete(reply.root);
  free(text);
}

static enum kasa_status map_uv(int rc) {
  switch (rc) {
  case UV_ECONNREFUSED: return KASA_EREFUSED;
  case UV_ENETUNREACH:
  case UV_EHOSTUNREACH:
  case UV_ENETDOWN:
  case UV_EADDRNOTAVAIL:
  case UV_EHOSTDOWN: return KASA_EUNREACHABLE;
  case UV_ETIMEDOUT: return KASA_ETIMEDOUT;
  default: return KASA_EIO;
  }
}

static void on_timeout(uv_timer_t *t) {
  struct kasa_req *r = t->data;
  finish(r, KASA_ETIMEDOUT, NULL, NULL, "%s: timed out after %llu ms %s the device", r->target,
         (unsigned long long)r->timeout_ms, phase_name[r->phase]);
}

/* The answer is complete: decrypt, parse, look for the device's own error. */
static void on_answer(struct kasa_req *r) {
  size_t len;
  char *text = kasa_rx_take(&r->rx, &len);
  size_t at = 0;
  cJSON *root = json_parse(text, len, &at);
  char why[256];
  int code = 0;
  if (!root)
    finish(r, KASA_EMALFORMED, text, NULL, "%s: malformed answer: not JSON (error at byte %zu of"
           " %zu; not a Kasa plug, or wrong protocol)", r->target, at, len);
  else if (!cJSON_IsObject(root))
    finish(r, KASA_EMALFORMED, text, root, "%s: malformed answer: not a JSON object", r->target);
  else if (kasa_device_error(root, &code, why, sizeof why) && (r->device_err = code, 1))
    finish(r, KASA_EDEVICE, text, root, "%s: device error: %s", r->target, why);
  else
    finish(r, KASA_OK, text, root, NULL);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  struct kasa_req *r = h->data;
  /* Room for the rest of the message (or the header), at least 4 KiB: a read never
   * overshoots by more than what the device sends after its answer, which is nothing. */
  size_t n = 4096;
  if (r->rx.need && 4 + r->rx.need - r->rx.len > n) n = 4 + r->rx.need - r->rx.len;
  buf->base = xmalloc(n);
  buf->len = n;
}

/* The header announced 0 or over KASA_MAX_MSG bytes. Printable header bytes mean a text
 * protocol answered ("HTTP": a web server, or a plug speaking KLAP): say so. */
static void fail_length(struct kasa_req *r) {
  char shown[5] = "";
  bool text = true;
  for (int i = 0; i < 4; i++) {
    unsigned char ch = r->rx.data[i];
    if (ch < 0x20 || ch > 0x7e) text = false;
    shown[i] = (char)ch;
  }
  finish(r, KASA_EMALFORMED, NULL, NULL, "%s: malformed answer: announced length over %zu bytes,"
         " or zero%s%s%s", r->target, KASA_MAX_MSG, text ? " (it starts with \"" : "",
         text ? shown : "", text ? "\": a text protocol, not the Kasa port-9999 protocol)" : "");
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct kasa_req *r = s->data;
  int fed = 0;
  if (nread > 0 && !r->done) fed = kasa_rx_feed(&r->rx, buf->base, (size_t)nread);
  free(buf->base);
  if (r->done || nread == 0) return;
  if (nread == UV_EOF)
    finish(r, KASA_EMALFORMED, NULL, NULL, "%s: malformed answer: connection closed after %zu"
           " bytes%s", r->target, r->rx.len, r->rx.need ? " of the announced message" : "");
  else if (nread < 0)
    finish(r, map_uv((int)nread), NULL, NULL, "%s: reading the answer: %s", r->target,
           uv_strerror((int)nread));
  else if (fed < 0)
    fail_length(r);
  else if (fed == 1)
    on_answer(r);
}

static void on_write(uv_write_t *w, int status) {
  struct kasa_req *r = w->data;
  if (r->done || status == 0) return;
  finish(r, map_uv(status), NULL, NULL, "%s: sending the request: %s", r->target,
         uv_strerror(status));
}

static void try_next(struct kasa_req *r);

static void on_attempt_closed(uv_handle_t *h) {
  struct kasa_req *r = h->data;
  r->handles--;
  if (r->done) maybe_free(r);
  else try_next(r);
}

static void on_connect(uv_connect_t *c, int status) {
  struct kasa_req *r = c->data;
  if (r->done) return; /* UV_ECANCELED: closed by teardown */
  if (status < 0) {
    r->last = map_uv(status);
    snprintf(r->last_msg, sizeof r->last_msg, "%s", uv_strerror(status));
    r->tcp_open = false;
    uv_close((uv_handle_t *)&r->tcp, on_attempt_closed); /* then the next address */
    return;
  }
  r->phase = PH_EXCHANGE;
  uv_buf_t b = uv_buf_init((char *)r->frame, (unsigned)r->frame_len);
  r->write.data = r;
  int rc = uv_write(&r->write, (uv_stream_t *)&r->tcp, &b, 1, on_write);
  if (rc == 0) rc = uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_read);
  if (rc < 0)
    finish(r, map_uv(rc), NULL, NULL, "%s: sending the request: %s", r->target, uv_strerror(rc));
}

/* The connect failure of the last address, with a hint for the usual cause. */
static void fail_connect(struct kasa_req *r) {
  const char *hint = "";
  if (r->last == KASA_EREFUSED)
    hint = " (nothing listens on that port: is it a Kasa plug? firmware from late 2020 on"
           " closes port 9999, see docs/plug.md)";
  else if (r->last == KASA_EUNREACHABLE)
    hint = " (is the plug on this network?)";
  finish(r, r->last, NULL, NULL, "%s: connect: %s%s", r->target, r->last_msg, hint);
}

static void on_deferred_fail(uv_timer_t *t) { fail_connect(t->data); }

/* Reports the connect failure on the next turn of the loop: this may run inside
 * kasa_request, which must not call back. The deadline timer is reused (it is rearmed
 * to fire now), since the request ends anyway. */
static void defer_fail(struct kasa_req *r) {
  int rc = uv_timer_start(&r->timer, on_deferred_fail, 0, 0);
  if (rc < 0) { /* cannot happen on an open timer with a callback; do not hang */
    log_error("kasa: %s: timer: %s", r->target, uv_strerror(rc));
    fail_connect(r);
  }
}

/* Connects to r->next (or the literal), or reports the last failure when none is left. */
static void try_next(struct kasa_req *r) {
  const struct sockaddr *sa = NULL;
  if (r->ai) {
    while (r->next && r->next->ai_family != AF_INET && r->next->ai_family != AF_INET6)
      r->next = r->next->ai_next;
    if (r->next) sa = r->next->ai_addr, r->next = r->next->ai_next;
  } else if (!r->literal_tried) {
    sa = (const struct sockaddr *)&r->literal;
    r->literal_tried = true;
  }
  if (!sa) {
    defer_fail(r);
    return;
  }
  r->phase = PH_CONNECT;
  int rc = uv_tcp_init(r->loop, &r->tcp);
  if (rc == 0) {
    r->tcp.data = r;
    r->tcp_open = true;
    r->handles++;
    r->connect.data = r;
    rc = uv_tcp_connect(&r->connect, &r->tcp, sa, on_connect);
  }
  if (rc < 0) {
    /* A synchronous failure (e.g. EADDRNOTAVAIL): record it and go on on the next turn. */
    r->last = map_uv(rc);
    snprintf(r->last_msg, sizeof r->last_msg, "%s", uv_strerror(rc));
    if (r->tcp_open) {
      r->tcp_open = false;
      uv_close((uv_handle_t *)&r->tcp, on_attempt_closed);
    } else {
      defer_fail(r);
    }
  }
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res) {
  struct kasa_req *r = g->data;
  r->resolving = false;
  if (r->done) {
    if (res) uv_freeaddrinfo(res);
    maybe_free(r);
    return;
  }
  if (status < 0) {
    finish(r, KASA_ERESOLVE, NULL, NULL, "%s: cannot resolve %s: %s", r->target, r->host,
           uv_strerror(status));
    return;
  }
  r->ai = res;
  r->next = res;
  r->last = KASA_EUNREACHABLE;
  snprintf(r->last_msg, sizeof r->last_msg, "no IPv4 or IPv6 address");
  try_next(r);
}

/* Fills r->literal when host is an IPv4 or IPv6 address (brackets allowed for IPv6). */
static bool parse_literal(struct kasa_req *r) {
  char h[64];
  size_t n = strlen(r->host);
  if (n >= sizeof h) return false;
  memcpy(h, r->host, n + 1);
  if (n > 2 && h[0] == '[' && h[n - 1] == ']') {
    memmove(h, h + 1, n - 2);
    h[n - 2] = '\0';
  }
  if (uv_ip4_addr(h, r->port, (struct sockaddr_in *)&r->literal) == 0) return true;
  if (uv_ip6_addr(h, r->port, (struct sockaddr_in6 *)&r->literal) == 0) return true;
  memset(&r->literal, 0, sizeof r->literal);
  return false;
}

/* Starts resolving (or connecting, for a literal). Returns 0 or a libuv error. */
static int start(struct kasa_req *r) {
  if (parse_literal(r)) {
    try_next(r); /* its failures are reported on a later turn (defer_fail) */
    return 0;
  }
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  char port[8];
  snprintf(port, sizeof port, "%d", r->port);
  r->gai.data = r;
  int rc = uv_getaddrinfo(r->loop, &r->gai, on_resolved, r->host, port, &hints);
  if (rc == 0) r->resolving = true;
  return rc;
}

int kasa_request(uv_loop_t *loop, const char *host, int port, const char *json,
                 uint64_t timeout_ms, kasa_cb cb, void *ud, struct kasa_req **out) {
  if (out) *out = NULL;
  size_t len = json ? strlen(json) : 0;
  if (!loop || !host || !*host || port < 1 || port > 65535 || timeout_ms == 0 || len == 0 ||
      len > KASA_MAX_MSG || !cb)
    return -EINVAL;
  struct kasa_req *r = xcalloc(1, sizeof *r);
  r->loop = loop;
  r->host = xstrdup(host);
  r->port = port;
  snprintf(r->target, sizeof r->target, strchr(host, ':') && host[0] != '[' ? "[%.64s]:%d" : "%.64s:%d",
           host, port);
  r->timeout_ms = timeout_ms;
  r->cb = cb;
  r->ud = ud;
  r->frame = kasa_frame(json, len, &r->frame_len);
  kasa_rx_init(&r->rx);
  int rc = uv_timer_init(loop, &r->timer);
  if (rc < 0) {
    req_free(r);
    return rc;
  }
  r->timer.data = r;
  r->handles = 1;
  rc = uv_timer_start(&r->timer, on_timeout, timeout_ms, 0);
  if (rc == 0) rc = start(r);
  if (rc < 0) {
    r->done = true;
    uv_close((uv_handle_t *)&r->timer, on_handle_closed);
    return rc;
  }
  if (out) *out = r;
  return 0;
}

void kasa_cancel(struct kasa_req *r) {
  if (!r || r->done) return;
  teardown(r);
}

/* }===================== */

/* httpc.h — the non-blocking HTTP client stories use: libcurl's multi interface driven by
 * the libuv loop, with per-host concurrency limits, a response-size cap, retries with
 * exponential backoff and full jitter (honouring Retry-After), and cancellation.
 *
 * One struct httpc owns one curl multi handle, so every request it runs shares the
 * connection cache and the DNS cache; TLS sessions are shared through a curl share
 * handle. Only http:// and https:// are accepted, for the first URL and for redirects;
 * TLS peer and host verification are always on. Redirects are not followed unless a
 * request asks for it.
 *
 * Callbacks. Every request accepted by httpc_request() gets exactly one call of its
 * callback: on completion (a response, or an error once retries are spent), on
 * httpc_cancel() (synchronously, before httpc_cancel() returns) or on httpc_close()
 * (synchronously, with HTTPC_E_CANCELLED). It is never called from inside
 * httpc_request(). A callback may call httpc_request(), httpc_cancel() and httpc_close().
 *
 * Everything here runs on the loop thread: no function is thread-safe.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_HTTPC_H
#define LP0_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <uv.h>

/* Defaults, used for every option left at 0. */
#define HTTPC_MAX_RESPONSE ((size_t)8 * 1024 * 1024) /* bytes of a response body */
#define HTTPC_MAX_HEADER_BYTES ((size_t)256 * 1024)  /* bytes of response headers */
#define HTTPC_PER_HOST_LIMIT 8u          /* concurrent requests per scheme+host+port */
#define HTTPC_TIMEOUT_MS 30000u          /* one attempt, connect to last byte */
#define HTTPC_CONNECT_TIMEOUT_MS 10000u  /* one attempt's connect (TCP + TLS) */
#define HTTPC_BACKOFF_BASE_MS 250u       /* ceiling of the first backoff wait */
#define HTTPC_BACKOFF_MAX_MS 30000u      /* ceiling of any backoff wait */
#define HTTPC_RETRY_AFTER_MAX_MS 60000u  /* a longer Retry-After is waited this long */
#define HTTPC_MAX_REDIRECTS 5L           /* when a request follows redirects */
#define HTTPC_MAX_RETRIES 10u            /* req.retries above this is clamped */

struct httpc; /* opaque; created by httpc_new(), freed by httpc_close() */

struct httpc_options {
  size_t max_response_bytes;   /* body over this: HTTPC_E_TOO_LARGE */
  unsigned per_host_limit;     /* beyond it requests wait in a FIFO queue per host */
  unsigned timeout_ms;         /* per attempt, when the request gives none */
  unsigned connect_timeout_ms; /* per attempt, bounded by the attempt's timeout */
  unsigned backoff_base_ms, backoff_max_ms, retry_after_max_ms;
  const char *user_agent; /* copied; NULL: "lp0/<version>" */
  const char *ca_file;    /* copied; NULL: the system's CA bundle (tests, private CAs) */
};

/* What went wrong, when a request ended without a usable response. */
enum httpc_error {
  HTTPC_OK = 0,
  HTTPC_E_BAD_URL,   /* malformed URL, or a redirect to a scheme other than http(s) */
  HTTPC_E_CONNECT,   /* name resolution or TCP connect failed (nothing was sent) */
  HTTPC_E_TIMEOUT,   /* the attempt's timeout (connect or transfer) expired */
  HTTPC_E_TLS,       /* handshake or certificate verification failed */
  HTTPC_E_NETWORK,   /* the connection broke after it was made (send/recv, no reply) */
  HTTPC_E_PROTOCOL,  /* the peer did not speak HTTP correctly, too many redirects */
  HTTPC_E_TOO_LARGE, /* response body or headers over the caps */
  HTTPC_E_CANCELLED, /* httpc_cancel() or httpc_close() */
  HTTPC_E_INTERNAL,  /* curl or libuv refused (out of memory, ...) */
};

/* "ok", "bad_url", "connect", "timeout", "tls", "network", "protocol", "too_large",
 * "cancelled", "internal" (the names the Lua binding returns). */
const char *httpc_error_name(enum httpc_error e);

struct httpc_req {
  const char *method; /* NULL: "GET"; any token ("GET", "POST", "PATCH", ...) */
  const char *url;    /* required: http:// or https:// */
  const char *const *headers; /* "Name: value" lines; "Name:" removes one curl adds */
  size_t nheaders;
  const void *body; /* sent when body_len > 0, or for POST/PUT/PATCH (then maybe empty) */
  size_t body_len;
  unsigned timeout_ms; /* per attempt; 0: the client's default */
  unsigned retries;    /* extra attempts allowed (0: one attempt only) */
  bool retry_unsafe;   /* retry a non-idempotent method like an idempotent one */
  bool follow_redirects; /* up to HTTPC_MAX_REDIRECTS, http(s) only */
  const char *username, *password; /* HTTP Basic when username is set */
};

struct httpc_header {
  const char *name;  /* lower case */
  const char *value; /* surrounding blanks removed */
};

/* The outcome of a request. Everything it points to is owned by the client and valid
 * only during the callback: copy what must outlive it. */
struct httpc_resp {
  int64_t id;
  int status;             /* final HTTP status; 0 when no response was received */
  enum httpc_error error; /* HTTPC_OK whenever a response was received, whatever its
                             status (even after retries were spent on 5xx) */
  const char *message;    /* "" when error is HTTPC_OK, else a readable reason */
  const struct httpc_header *headers; /* of the final response, in arrival order */
  size_t nheaders;
  const char *body; /* NUL-terminated (not counted); "" when empty or on error */
  size_t body_len;
  unsigned attempts;  /* attempts started (1 + retries used) */
  double total_ms;    /* from httpc_request() to the callback, waits included */
};

typedef void (*httpc_done_cb)(const struct httpc_resp *r, void *ud);
/* httpc_close() finished: the client is already freed when this runs. */
typedef void (*httpc_close_cb)(void *ud);

struct httpc_stats {
  size_t in_flight;      /* attempts running in curl now */
  size_t peak_in_flight; /* highest in_flight seen */
  size_t queued;         /* waiting for a per-host slot */
  size_t backing_off;    /* waiting for their next attempt */
  uint64_t requests;     /* accepted by httpc_request() */
  uint64_t completed;    /* callbacks with a response (any status) */
  uint64_t failed;       /* callbacks with an error other than cancelled */
  uint64_t cancelled;
  uint64_t retries;      /* attempts after the first */
};

/* A new client on loop (o may be NULL: all defaults; it is copied). Returns NULL when
 * curl or libuv refuse to set up (logged). Call curl_global_init() once before. */
struct httpc *httpc_new(uv_loop_t *loop, const struct httpc_options *o);

/* Starts req (everything it points to is copied: the caller may free it on return).
 * cb(resp, ud) runs exactly once, later, on the loop thread. Returns the request id
 * (> 0), or without calling cb: -EINVAL for a missing or malformed URL, a method that is
 * not a token or a header line that is not "Name: value" without CR/LF;
 * -EPROTONOSUPPORT for a scheme other than http/https; -ESHUTDOWN once httpc_close()
 * was called; -ENOMEM when curl refuses. */
int64_t httpc_request(struct httpc *h, const struct httpc_req *req, httpc_done_cb cb,
                      void *ud);

/* Cancels request id wherever it is (queued, running, waiting to retry): its callback
 * runs with HTTPC_E_CANCELLED before this returns. Returns 0, or -ENOENT when id is not
 * a pending request (already completed, or unknown). */
int httpc_cancel(struct httpc *h, int64_t id);

/* Cancels every pending request (callbacks with HTTPC_E_CANCELLED, before this
 * returns), then releases curl and the uv handles; cb(ud) runs once the memory is freed
 * (cb may be NULL). Returns 0, or -EALREADY when already closing. */
int httpc_close(struct httpc *h, httpc_close_cb cb, void *ud);

void httpc_get_stats(const struct httpc *h, struct httpc_stats *st);

/* Calls fn for every host with running or queued requests; origin is
 * "scheme://host:port" (valid during the call). */
void httpc_foreach_host(const struct httpc *h,
                        void (*fn)(const char *origin, unsigned running, size_t queued,
                                   void *ud),
                        void *ud);

/* The first response header named name (case-insensitive), or NULL. */
const char *httpc_resp_header(const struct httpc_resp *r, const char *name);

/* A Retry-After value in milliseconds: delay-seconds ("120") or an HTTP date relative
 * to now (a past date is 0). Returns -1 when value is neither. Not capped. */
int64_t httpc_retry_after_ms(const char *value, time_t now);

#endif

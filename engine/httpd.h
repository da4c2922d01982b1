/* httpd.h — the daemon's HTTP/1.1 server: a libuv TCP listener with one llhttp parser
 * per connection, keep-alive, pipelining, size and time limits, graceful shutdown.
 *
 * The server hands complete requests (head and body read in full, within the limits) to
 * one application callback, on the loop thread. The application answers each request
 * exactly once with httpd_respond(), either from inside the callback or later from any
 * other callback on the same loop (a timer, a uv_async from a worker). Responses leave
 * in request order even when the answers come out of order. Errors the server detects
 * itself (400, 408, 413, 431, 501, 503, 505) are answered by the server with a JSON body
 * {"error": "..."} and close the connection; the application never sees those requests.
 *
 * Everything here runs on the loop thread: no function is thread-safe.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_HTTPD_H
#define LP0_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* Defaults, used for every config field left at 0. */
#define HTTPD_MAX_BODY ((size_t)16 * 1024 * 1024) /* bytes of a request body */
#define HTTPD_MAX_HEADER ((size_t)64 * 1024)      /* bytes of request line + headers */
#define HTTPD_HEADER_TIMEOUT_MS 10000u /* first byte of a request -> end of its headers */
#define HTTPD_BODY_TIMEOUT_MS 60000u   /* end of headers -> end of body */
#define HTTPD_KEEPALIVE_TIMEOUT_MS 60000u /* idle keep-alive connection */
#define HTTPD_DRAIN_TIMEOUT_MS 30000u  /* httpd_close(): then connections are cut */
#define HTTPD_MAX_CONNECTIONS 1024u
#define HTTPD_MAX_PIPELINE 16u /* requests read ahead of their responses, per connection */
#define HTTPD_LINGER_MS 2000u  /* reading and discarding after an error response */

struct httpd; /* opaque; created by httpd_open(), freed by httpd_close() */

struct httpd_header {
  const char *name; /* as sent (case kept), NUL-terminated */
  const char *value; /* leading and trailing blanks removed, NUL-terminated */
  size_t name_len, value_len;
};

/* A complete request. Every pointer is owned by the request (or, for peer, by its
 * connection, which the request keeps alive) and stays valid until httpd_respond()
 * returns; the application must not touch the request after that. */
struct httpd_req {
  const char *method; /* "GET", "POST", ... (static string) */
  const char *target; /* the request-target as sent */
  const char *path;   /* target up to '?' or '#', percent-encoding kept ("/" for
                         absolute-form targets without a path) */
  const char *query;  /* after '?' up to '#', "" when there is none */
  const struct httpd_header *headers; /* in arrival order; trailers are not kept */
  size_t nheaders;
  const char *body; /* NUL-terminated (the NUL is not counted); "" when empty */
  size_t body_len;
  const char *peer; /* numeric address; IPv4-mapped IPv6 is shown as IPv4 */
  uint16_t peer_port;
  bool peer_loopback; /* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104 */
  unsigned char http_major, http_minor;
  void *user; /* free for the application, NULL at delivery */
};

/* A complete request arrived. ud is httpd_config.ud. The callback may answer at once or
 * keep req and answer later; every delivered request must be answered exactly once. */
typedef void (*httpd_request_cb)(struct httpd_req *req, void *ud);
/* The server answered a client with an error itself (400, 408, 413, 431, 501, 503, 505)
 * or, with status 0, dropped a connection without answering. For metrics and logs. */
typedef void (*httpd_error_cb)(int status, const char *reason, const char *peer, void *ud);
/* httpd_close() finished: the server is already freed when this runs. */
typedef void (*httpd_close_cb)(void *ud);

struct httpd_config {
  const char *host; /* numeric IPv4/IPv6 ("[::1]" accepted), "localhost"; NULL: 127.0.0.1 */
  int port;         /* 0: an ephemeral port, read back with httpd_port() */
  size_t max_body, max_header;
  unsigned header_timeout_ms, body_timeout_ms, keepalive_timeout_ms, drain_timeout_ms;
  unsigned max_connections, max_pipeline;
  httpd_request_cb on_request; /* required */
  httpd_error_cb on_error;     /* optional */
  void *ud;
};

struct httpd_stats {
  uint64_t connections_accepted;
  uint64_t connections_rejected; /* over max_connections (503 or cut) */
  uint64_t requests;             /* delivered to the application */
  uint64_t responses;            /* written, including the server's own errors */
  uint64_t bytes_in, bytes_out;
  uint64_t bad_requests;   /* 400, 501, 505 */
  uint64_t timeouts;       /* 408 */
  uint64_t too_large;      /* 413 */
  uint64_t headers_too_large; /* 431 */
  uint64_t gone;           /* answers to requests whose connection had closed */
  size_t connections_open;
};

/* Starts listening on cfg->host:cfg->port with loop (cfg is copied; cfg->host is not
 * kept). On success *out is the server; free it with httpd_close(). Returns 0, -EINVAL
 * for a bad config or address, or a libuv error (UV_EADDRINUSE, UV_EACCES, ...); on
 * failure the partial server is released by the loop's next iteration. Sets SIGPIPE to
 * ignored when it is at its default, since a write to a reset peer would kill the
 * process. */
int httpd_open(uv_loop_t *loop, const struct httpd_config *cfg, struct httpd **out);

/* The bound port (the ephemeral one when cfg.port was 0). */
int httpd_port(const struct httpd *srv);

void httpd_get_stats(const struct httpd *srv, struct httpd_stats *st);

/* Graceful shutdown: stops accepting, closes idle connections at once, lets requests
 * already started finish (a partly received request may complete within its deadlines;
 * no new request starts), sends the remaining answers with "Connection: close", then
 * closes. After drain_timeout_ms the remaining connections are cut. cb(ud) runs once,
 * after every connection is closed and every delivered request has been answered (the
 * application still owes answers to requests of cut connections; they are discarded).
 * Returns 0, or -EALREADY if the server is already closing. */
int httpd_close(struct httpd *srv, httpd_close_cb cb, void *ud);

/* The first header named name (case-insensitive), or NULL. */
const char *httpd_req_header(const struct httpd_req *req, const char *name);

/* True when the client is gone: an answer would be discarded (cancel costly work). */
bool httpd_req_gone(const struct httpd_req *req);

/* Transfers the body to the caller (free with free()); req->body becomes "". */
char *httpd_req_take_body(struct httpd_req *req, size_t *len);

/* Adds a response header to req's coming answer, e.g. ("Retry-After", "5"). Both are
 * copied. Returns -EINVAL (and adds nothing) for a name that is not an HTTP token, a
 * value holding CR, LF or NUL, or a header the server manages itself (Content-Length,
 * Transfer-Encoding, Connection, Date). */
int httpd_add_header(struct httpd_req *req, const char *name, const char *value);

/* Answers req with status (200..599), content_type (NULL: none) and body[0..len)
 * (copied; NULL allowed when len is 0), plus the headers added with httpd_add_header().
 * HEAD requests, 204 and 304 get no body. Always releases req: the caller must not use
 * it afterwards. Returns 0; -ECONNRESET when the client had gone (nothing sent);
 * -EINVAL for a status outside 200..599 (a 500 is sent instead). */
int httpd_respond(struct httpd_req *req, int status, const char *content_type,
                  const void *body, size_t len);

/* The reason phrase of status ("Not Found"), "Unknown" for codes it does not know. */
const char *httpd_status_text(int status);

#endif

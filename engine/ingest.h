/* ingest.h — webhook bodies to event records, and webhook request authentication.
 *
 * Pure functions: no libuv, no logging, no global state; callable on the loop thread or
 * on a worker. The daemon looks the headers up (httpd_req_header) and passes their values.
 * See docs/ingest.md for the accepted formats and auth schemes.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_INGEST_H
#define LP0_INGEST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults, used for every limit left at 0. */
#define INGEST_MAX_INFLATED ((size_t)64 * 1024 * 1024) /* 16 MiB body x 4, after gunzip */
#define INGEST_MAX_RECORDS ((size_t)262144)            /* records in one body */
#define INGEST_MAX_ERRORS_KEPT 16u /* error details kept per body; all are counted */
#define INGEST_MAX_ENVELOPES 4     /* SNS in SNS in ...: deeper nesting is an error */
#define INGEST_SLACK_WINDOW 300    /* seconds, the replay window of Slack signatures */

/* Fatal decoding results (negative). Per-record problems are not fatal: see errors. */
enum {
  INGEST_E_EMPTY = -1001,     /* 400: no bytes, or only white space */
  INGEST_E_ENCODING = -1002,  /* 415: Content-Encoding other than identity/gzip/deflate */
  INGEST_E_CORRUPT = -1003,   /* 400: the gzip/deflate stream is corrupt or truncated */
  INGEST_E_INFLATED = -1004,  /* 413: inflated size over the cap (zip bomb) */
  INGEST_E_TOO_MANY = -1005,  /* 413: more records than max_records */
};

/* The outermost shape recognised (of the body, or of its first value for NDJSON). */
enum ingest_format {
  INGEST_FMT_OBJECT,      /* one bare record */
  INGEST_FMT_ARRAY,       /* [record, ...] */
  INGEST_FMT_NDJSON,      /* one JSON value per line */
  INGEST_FMT_CLOUDTRAIL,  /* {"Records":[...]} (also LookupEvents {"Events":[...]}) */
  INGEST_FMT_EVENTBRIDGE, /* {"detail-type":..., "detail":{record}} */
  INGEST_FMT_CWLOGS,      /* CloudWatch Logs subscription (awslogs / Firehose / decoded) */
  INGEST_FMT_OKTA_HOOK,   /* {"data":{"events":[...]}} */
  INGEST_FMT_SNS,         /* SNS envelope (Notification or SubscriptionConfirmation) */
};

enum ingest_kind {
  INGEST_KIND_EVENTS,      /* records (possibly none) and errors */
  INGEST_KIND_SNS_CONFIRM, /* an SNS SubscriptionConfirmation: subscribe_url is set */
};

struct ingest_limits {
  size_t max_inflated; /* 0: INGEST_MAX_INFLATED */
  size_t max_records;  /* 0: INGEST_MAX_RECORDS */
};

struct ingest_record {
  cJSON *json; /* an object, owned by the result; take it by setting this to NULL */
  /* The record's bytes when it is a verbatim slice of the (decoded) body (a bare object
   * body or an NDJSON line), else NULL (print json). Borrowed: it points into the body
   * given to ingest_decode(), or into the result's inflated copy. */
  const char *text;
  size_t len;
  unsigned long line; /* 1-based line of the top-level value holding it */
};

struct ingest_error {
  unsigned long line; /* 1-based line in the decoded body */
  size_t pos;         /* byte offset in the decoded body (of the error, or of the record
                         whose content was at fault) */
  char msg[160];      /* describes the problem; never contains body bytes or secrets */
};

struct ingest_result {
  enum ingest_kind kind;
  enum ingest_format format;
  struct ingest_record *recs; /* nrecs records, in body order */
  size_t nrecs;
  struct ingest_error errs[INGEST_MAX_ERRORS_KEPT]; /* the first nerrs_kept errors */
  size_t nerrs_kept;
  size_t nerrors;   /* every malformed line / value, counted */
  size_t skipped;   /* values deliberately dropped: CONTROL_MESSAGE, CloudTrail digests,
                       S3 object notifications (lp0 does not fetch S3 objects) */
  size_t inflated_len; /* decoded body size (== body length when not compressed) */
  char *subscribe_url; /* SNS_CONFIRM: owned (free()); the URL to GET to confirm */
  char *topic_arn;     /* SNS_CONFIRM: owned, or NULL */
  char *_body;         /* owned inflated body, or NULL */
};

/* Decodes a webhook body into records. content_type and content_encoding are the header
 * values or NULL. "application/x-ndjson" (or jsonl / json-seq) forces NDJSON; otherwise
 * the shape decides: a body that parses as one JSON document is that document, else it
 * is NDJSON when its first non-blank line is a JSON value or looks like one line of
 * NDJSON, else it is one malformed document. Envelopes are unwrapped recursively (see
 * docs/ingest.md). lim may be NULL (defaults). body must outlive *out when records'
 * text is used.
 * Returns 0 when the body was framed: out holds records and per-value errors (each with
 * line and position; answer 400 with both counts when nerrors > 0), or kind
 * INGEST_KIND_SNS_CONFIRM. Returns an INGEST_E_* code otherwise (out holds nothing to
 * use but must still be freed). Always initialises *out; free it with
 * ingest_result_free(). */
int ingest_decode(const char *body, size_t len, const char *content_type,
                  const char *content_encoding, const struct ingest_limits *lim,
                  struct ingest_result *out);
void ingest_result_free(struct ingest_result *r);

/* The HTTP status for an ingest_decode() code (200 for 0), and a short message. */
int ingest_http_status(int code);
const char *ingest_strerror(int code);

/* {===================== authentication ===================== */

enum ingest_auth {
  INGEST_AUTH_OK = 0,
  INGEST_AUTH_MISSING, /* 401: no credentials (header absent or empty) */
  INGEST_AUTH_WRONG,   /* 403: credentials present but wrong or malformed */
  INGEST_AUTH_STALE,   /* 403: timestamp outside the replay window (or not a number) */
};

/* The HTTP status of an auth result (200, 401, 403). */
int ingest_auth_status(enum ingest_auth a);
/* A fixed message for logs and response bodies ("missing credentials", ...). */
const char *ingest_auth_reason(enum ingest_auth a);

/* authorization: the Authorization header value (or NULL). Accepts "Bearer <token>"
 * (scheme case-insensitive) with token equal to the secret. A header with another
 * scheme is WRONG. Constant time in the secret's and the token's contents. */
enum ingest_auth ingest_auth_bearer(const char *authorization, const char *token);

/* A static secret in a header (Okta event hooks: the whole header value is the secret).
 * Compared through SHA-256 digests, so neither content nor length leaks by timing. */
enum ingest_auth ingest_auth_static(const char *value, const char *secret);

/* value: the signature header (or NULL). prefix: required text before the hex ("" or
 * NULL: bare hex, "sha256=": GitHub). The hex (either case) must be the HMAC-SHA256 of
 * body[0..len) under key[0..keylen). */
enum ingest_auth ingest_auth_hmac_hex(const char *value, const char *prefix, const void *key,
                                      size_t keylen, const void *body, size_t len);

/* GitHub: X-Hub-Signature-256: sha256=<hex>. */
enum ingest_auth ingest_auth_github(const char *value, const void *key, size_t keylen,
                                    const void *body, size_t len);

/* Slack: signature = X-Slack-Signature ("v0=<hex>"), timestamp = X-Slack-Request-Timestamp
 * (unix seconds). The HMAC covers "v0:" timestamp ":" body. STALE when
 * |now - timestamp| > window (window <= 0: INGEST_SLACK_WINDOW), checked before the MAC;
 * MISSING when either header is absent. */
enum ingest_auth ingest_auth_slack(const char *signature, const char *timestamp,
                                   const void *key, size_t keylen, const void *body,
                                   size_t len, int64_t now, int64_t window);

/* Lowercase hex HMAC-SHA256 of data into hex[65]. Returns 0, or -1 if libcrypto failed.
 * For tests and for clients that sign. */
int ingest_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                           char hex[65]);

/* }============================================================ */

/* Okta event hook verification: the body answering a GET carrying
 * x-okta-verification-challenge: {"verification":"<challenge>"}, JSON-escaped. Returns
 * a new string (free with free()), or NULL when challenge is NULL or over 4096 bytes. */
char *ingest_okta_verification(const char *challenge);

#endif

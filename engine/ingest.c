/* ingest.c — webhook bodies to event records, and webhook request authentication.
 *
 * Decoding runs in three steps: the Content-Encoding is undone (gzip, deflate, or gzip
 * recognised by its magic bytes) into a copy capped at max_inflated, so a zip bomb stops
 * at the cap instead of exhausting memory; the body is framed as one JSON document or as
 * NDJSON lines; and every top-level value is unwrapped, envelope by envelope, until bare
 * records remain (CloudTrail Records, EventBridge detail, CloudWatch Logs subscription
 * payloads, Okta event hooks, SNS notifications whose Message is parsed and unwrapped
 * again). Each record handed out is a cJSON object of its own, detached from the
 * document it came in, so the caller may keep or free records one by one. A value that
 * cannot be used is counted as an error with its line and byte position and the rest of
 * the body goes on; only encoding failures, the inflate cap and the record cap are fatal.
 *
 * Authentication helpers compare in constant time: MACs with CRYPTO_memcmp over the
 * decoded digests, static tokens through their SHA-256 digests (so neither content nor
 * length leaks). No message built here contains a secret or body bytes.
 *
 * Not done here: fetching S3 objects named by S3 event notifications (they are skipped
 * and counted), verifying SNS message signatures (that needs the signing certificate,
 * fetched over HTTPS: the daemon's job), form-encoded bodies (GitHub's
 * application/x-www-form-urlencoded payload=...; configure GitHub to send JSON).
 * Nothing here logs, allocates global state or touches libuv.
 * SPDX-License-Identifier: MIT
 */
#define ZLIB_CONST
#include "ingest.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "util.h"

/* {===================== decoding state ===================== */

struct dec {
  struct ingest_result *r;
  size_t max_inflated, max_records, cap;
  int fatal;       /* 0 or an INGEST_E_* code: everything after it is dropped */
  bool format_set; /* r->format holds the outermost shape */
};

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static void add_error(struct dec *d, unsigned long line, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add_error(struct dec *d, unsigned long line, size_t pos, const char *fmt, ...) {
  struct ingest_result *r = d->r;
  r->nerrors++;
  if (r->nerrs_kept >= INGEST_MAX_ERRORS_KEPT) return;
  struct ingest_error *e = &r->errs[r->nerrs_kept++];
  e->line = line;
  e->pos = pos;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
}

/* Takes v (an object). */
static void add_record(struct dec *d, cJSON *v, const char *text, size_t len,
                       unsigned long line) {
  struct ingest_result *r = d->r;
  if (d->fatal) {
    cJSON_Delete(v);
    return;
  }
  if (r->nrecs >= d->max_records) {
    d->fatal = INGEST_E_TOO_MANY;
    cJSON_Delete(v);
    return;
  }
  if (r->nrecs == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 16;
    r->recs = xrealloc(r->recs, d->cap * sizeof *r->recs);
  }
  struct ingest_record *rec = &r->recs[r->nrecs++];
  rec->json = v;
  rec->text = text;
  rec->len = text ? len : 0;
  rec->line = line;
}

static void set_format(struct dec *d, enum ingest_format f) {
  if (!d->format_set) d->r->format = f, d->format_set = true;
}

static const char *type_name(const cJSON *v) {
  if (cJSON_IsArray(v)) return "an array";
  if (cJSON_IsString(v)) return "a string";
  if (cJSON_IsNumber(v)) return "a number";
  if (cJSON_IsBool(v)) return "a boolean";
  if (cJSON_IsNull(v)) return "null";
  return "not an object";
}

/* Parses exactly one JSON value from s[0..len) (white space around it allowed). On
 * failure returns NULL with the byte offset of the error in *errpos. */
static cJSON *parse_strict(const char *s, size_t len, size_t *errpos) {
  const char *end = NULL;
  cJSON *v = cJSON_ParseWithLengthOpts(s, len, &end, 0);
  if (!v) {
    *errpos = end && end >= s && end <= s + len ? (size_t)(end - s) : 0;
    return NULL;
  }
  size_t i = end ? (size_t)(end - s) : len;
  while (i < len && is_ws(s[i])) i++;
  if (i < len) {
    cJSON_Delete(v);
    *errpos = i;
    return NULL;
  }
  return v;
}

/* }============================================================ */

/* {===================== compression ===================== */

#define INFLATE_CHUNK ((size_t)64 * 1024)

/* Room for want more bytes (and a NUL) in out, growing by doubling but never past what
 * the cap can use: a bomb refused at a 64 MiB cap costs 64 MiB, not 128. */
static void grow(struct buf *out, size_t want, size_t cap) {
  size_t need = out->len + want + 1;
  if (need <= out->cap) return;
  size_t c = out->cap ? out->cap * 2 : INFLATE_CHUNK + 1;
  if (c > cap + 2) c = cap + 2;
  if (c < need) c = need;
  out->data = xrealloc(out->data, c);
  out->cap = c;
}

/* Inflates in[0..len) (wbits as for inflateInit2) into out, at most cap bytes. Several
 * concatenated gzip members are one stream (RFC 1952 allows it). */
static int inflate_all(const unsigned char *in, size_t len, int wbits, size_t cap,
                       struct buf *out) {
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit2(&zs, wbits) != Z_OK) return INGEST_E_CORRUPT;
  int rc = 0;
  size_t fed = 0;
  for (;;) {
    if (zs.avail_in == 0 && fed < len) {
      size_t n = len - fed > (1u << 30) ? (1u << 30) : len - fed;
      zs.next_in = in + fed;
      zs.avail_in = (uInt)n;
      fed += n;
    }
    if (out->len > cap) {
      rc = INGEST_E_INFLATED;
      break;
    }
    size_t want = cap + 1 - out->len;
    if (want > INFLATE_CHUNK) want = INFLATE_CHUNK;
    grow(out, want, cap);
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)want;
    int z = inflate(&zs, Z_NO_FLUSH);
    out->len += want - zs.avail_out;
    if (z == Z_STREAM_END) {
      if (zs.avail_in == 0 && fed == len) break;
      if (wbits > 15 && zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b &&
          inflateReset(&zs) == Z_OK)
        continue;
      rc = INGEST_E_CORRUPT; /* trailing garbage */
      break;
    }
    if (z == Z_BUF_ERROR && zs.avail_out == 0) continue; /* output full: grow */
    if (z != Z_OK || (zs.avail_in == 0 && fed == len && zs.avail_out > 0)) {
      /* corrupt, or the input ended inside the stream (truncated) */
      if (z == Z_OK && out->len > cap) rc = INGEST_E_INFLATED;
      else rc = INGEST_E_CORRUPT;
      break;
    }
  }
  inflateEnd(&zs);
  if (rc == 0 && out->len > cap) rc = INGEST_E_INFLATED;
  if (rc == 0) {
    grow(out, 0, cap);
    out->data[out->len] = '\0';
  }
  return rc;
}

static int b64val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* Decodes base64 (standard or URL alphabet, padding optional, white space ignored).
 * Returns 0, or -1 on a bad character. */
static int b64_decode(const char *s, size_t len, struct buf *out) {
  unsigned acc = 0;
  int bits = 0;
  buf_reserve(out, len / 4 * 3 + 3);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '=') break;
    if (is_ws((char)c)) continue;
    int v = b64val(c);
    if (v < 0) return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->data[out->len++] = (char)((acc >> bits) & 0xff);
    }
  }
  out->data[out->len] = '\0';
  return 0;
}

/* }============================================================ */

/* {===================== envelopes ===================== */

/* Where a top-level value sits, for error messages. */
struct where {
  unsigned long line;
  size_t pos;
};

static void unwrap(struct dec *d, cJSON *v, const char *text, size_t len, struct where w,
                   int depth);

static cJSON *get(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Each object item of arr is detached and taken: a record when bare, else unwrapped. */
static void unwrap_items(struct dec *d, cJSON *arr, const char *what, struct where w,
                         int depth, bool bare) {
  size_t i = 0;
  for (cJSON *it = arr->child; it; i++) {
    cJSON *next = it->next;
    cJSON_DetachItemViaPointer(arr, it);
    if (cJSON_IsObject(it) && bare) {
      add_record(d, it, NULL, 0, w.line);
    } else if (cJSON_IsObject(it)) {
      unwrap(d, it, NULL, 0, w, depth);
    } else {
      add_error(d, w.line, w.pos, "%s[%zu] is %s", what, i, type_name(it));
      cJSON_Delete(it);
    }
    it = next;
  }
}

/* A decoded CloudWatch Logs subscription document (borrowed). */
static void cwlogs_doc(struct dec *d, const cJSON *doc, struct where w) {
  const cJSON *mt = get(doc, "messageType");
  if (cJSON_IsString(mt) && strcmp(mt->valuestring, "CONTROL_MESSAGE") == 0) {
    d->r->skipped++;
    return;
  }
  const cJSON *evs = get(doc, "logEvents");
  size_t i = 0;
  for (const cJSON *e = evs ? evs->child : NULL; e; e = e->next, i++) {
    const cJSON *m = get(e, "message");
    if (!cJSON_IsString(m)) {
      add_error(d, w.line, w.pos, "logEvents[%zu].message is not a string", i);
      continue;
    }
    size_t errpos = 0;
    cJSON *rec = parse_strict(m->valuestring, strlen(m->valuestring), &errpos);
    if (!rec) {
      add_error(d, w.line, w.pos, "logEvents[%zu].message is not JSON (byte %zu)", i, errpos);
    } else if (!cJSON_IsObject(rec)) {
      add_error(d, w.line, w.pos, "logEvents[%zu].message is %s", i, type_name(rec));
      cJSON_Delete(rec);
    } else {
      add_record(d, rec, NULL, 0, w.line);
    }
  }
}

/* base64 of (usually gzip of) a CloudWatch Logs subscription document. */
static void cwlogs_b64(struct dec *d, const char *b64, struct where w, int depth) {
  struct buf raw, plain;
  buf_init(&raw);
  buf_init(&plain);
  const struct buf *doc = &raw;
  if (b64_decode(b64, strlen(b64), &raw) != 0) {
    add_error(d, w.line, w.pos, "CloudWatch Logs data is not base64");
    goto out;
  }
  if (raw.len >= 2 && (unsigned char)raw.data[0] == 0x1f && (unsigned char)raw.data[1] == 0x8b) {
    int rc = inflate_all((const unsigned char *)raw.data, raw.len, 15 + 16, d->max_inflated,
                         &plain);
    if (rc == INGEST_E_INFLATED) {
      d->fatal = rc;
      goto out;
    }
    if (rc != 0) {
      add_error(d, w.line, w.pos, "CloudWatch Logs data: corrupt gzip");
      goto out;
    }
    doc = &plain;
  }
  size_t errpos = 0;
  cJSON *v = parse_strict(doc->data ? doc->data : "", doc->len, &errpos);
  if (!v) {
    add_error(d, w.line, w.pos, "CloudWatch Logs data is not JSON (byte %zu)", errpos);
    goto out;
  }
  unwrap(d, v, NULL, 0, w, depth + 1);
out:
  buf_free(&plain);
  buf_free(&raw);
}

/* Takes v, an SNS envelope. */
static void sns(struct dec *d, cJSON *v, const char *type, struct where w, int depth) {
  struct ingest_result *r = d->r;
  if (strcmp(type, "Notification") == 0) {
    const cJSON *m = get(v, "Message");
    size_t errpos = 0;
    cJSON *inner = cJSON_IsString(m) ? parse_strict(m->valuestring, strlen(m->valuestring),
                                                    &errpos)
                                     : NULL;
    if (!cJSON_IsString(m))
      add_error(d, w.line, w.pos, "SNS Notification without a Message string");
    else if (!inner)
      add_error(d, w.line, w.pos, "SNS Message is not JSON (byte %zu)", errpos);
    else
      unwrap(d, inner, NULL, 0, w, depth + 1);
  } else if (strcmp(type, "SubscriptionConfirmation") == 0) {
    const cJSON *url = get(v, "SubscribeURL"), *arn = get(v, "TopicArn");
    if (!cJSON_IsString(url)) {
      add_error(d, w.line, w.pos, "SNS SubscriptionConfirmation without SubscribeURL");
    } else if (!r->subscribe_url) {
      r->kind = INGEST_KIND_SNS_CONFIRM;
      r->subscribe_url = xstrdup(url->valuestring);
      if (cJSON_IsString(arn)) r->topic_arn = xstrdup(arn->valuestring);
    }
  } else if (strcmp(type, "UnsubscribeConfirmation") == 0) {
    r->skipped++;
  } else {
    add_error(d, w.line, w.pos, "unknown SNS message Type");
  }
  cJSON_Delete(v);
}

/* CloudTrail {"Records":[...]}: S3 event notifications and test events are skipped. */
static void records(struct dec *d, cJSON *arr, struct where w) {
  size_t i = 0;
  for (cJSON *it = arr->child; it; i++) {
    cJSON *next = it->next;
    cJSON_DetachItemViaPointer(arr, it);
    const cJSON *src = cJSON_IsObject(it) ? get(it, "eventSource") : NULL;
    if (!cJSON_IsObject(it)) {
      add_error(d, w.line, w.pos, "Records[%zu] is %s", i, type_name(it));
      cJSON_Delete(it);
    } else if (cJSON_IsString(src) && strncmp(src->valuestring, "aws:", 4) == 0) {
      d->r->skipped++; /* an S3 (or other service) notification, not a CloudTrail record */
      cJSON_Delete(it);
    } else {
      add_record(d, it, NULL, 0, w.line);
    }
    it = next;
  }
}

/* LookupEvents {"Events":[{"CloudTrailEvent":"<json>"}, ...]}. */
static void lookup_events(struct dec *d, const cJSON *arr, struct where w) {
  size_t i = 0;
  for (const cJSON *e = arr->child; e; e = e->next, i++) {
    const cJSON *s = get(e, "CloudTrailEvent");
    size_t errpos = 0;
    cJSON *rec = cJSON_IsString(s) ? parse_strict(s->valuestring, strlen(s->valuestring),
                                                  &errpos)
                                   : NULL;
    if (!cJSON_IsObject(rec)) {
      add_error(d, w.line, w.pos, "Events[%zu].CloudTrailEvent is not a JSON object", i);
      cJSON_Delete(rec);
    } else {
      add_record(d, rec, NULL, 0, w.line);
    }
  }
}

static bool is_lookup_events(const cJSON *arr) {
  return cJSON_IsArray(arr) && arr->child && cJSON_IsString(get(arr->child, "CloudTrailEvent"));
}

/* Firehose HTTP endpoint delivery: {"requestId":..., "records":[{"data":"<b64>"}]}. */
static bool is_firehose(const cJSON *v) {
  const cJSON *recs = get(v, "records");
  return cJSON_IsString(get(v, "requestId")) && cJSON_IsArray(recs) &&
         (!recs->child || cJSON_IsString(get(recs->child, "data")));
}

static bool is_str(const cJSON *v, const char *s) {
  return cJSON_IsString(v) && strcmp(v->valuestring, s) == 0;
}

static bool is_sns_type(const cJSON *t) {
  return is_str(t, "Notification") || is_str(t, "SubscriptionConfirmation") ||
         is_str(t, "UnsubscribeConfirmation");
}

/* Takes v. text/len: v's verbatim bytes (top level only), else NULL. Recognises the
 * envelopes in the order of protocols.md section 7. */
/* Does the object have a top-level key that some envelope test below looks at? One pass
 * over its keys, instead of a dozen lookups that each scan them all: records are far more
 * common than envelopes. */
static bool may_be_envelope(const cJSON *v) {
  static const char *const keys[] = {"awslogs", "Records", "data", "Type", "detail",
                                     "records", "messageType", "logEvents", "detail-type",
                                     "TopicArn", "MessageId", "digestStartTime", "logFiles",
                                     "Service", "Event", "Events", NULL};
  for (const cJSON *c = v->child; c; c = c->next) {
    const char *k = c->string;
    if (!k) continue;
    for (int i = 0; keys[i]; i++)
      if (k[0] == keys[i][0] && strcmp(k, keys[i]) == 0) return true;
  }
  return false;
}

static void unwrap(struct dec *d, cJSON *v, const char *text, size_t len, struct where w,
                   int depth) {
  if (d->fatal) goto drop;
  if (depth > INGEST_MAX_ENVELOPES) {
    add_error(d, w.line, w.pos, "envelopes nested deeper than %d", INGEST_MAX_ENVELOPES);
    goto drop;
  }
  if (cJSON_IsArray(v)) {
    set_format(d, INGEST_FMT_ARRAY);
    unwrap_items(d, v, "item", w, depth + 1, false);
    goto drop;
  }
  if (!cJSON_IsObject(v)) {
    add_error(d, w.line, w.pos, "the value is %s, not a JSON object", type_name(v));
    goto drop;
  }
  if (!may_be_envelope(v)) { /* the common case: one record, no envelope key at all */
    set_format(d, INGEST_FMT_OBJECT);
    add_record(d, v, text, len, w.line);
    return;
  }
  cJSON *awslogs = get(v, "awslogs"), *recs = get(v, "Records"), *data = get(v, "data");
  cJSON *type = get(v, "Type"), *detail = get(v, "detail"), *evs = NULL;
  if (cJSON_IsObject(awslogs) && cJSON_IsString(get(awslogs, "data"))) {
    set_format(d, INGEST_FMT_CWLOGS);
    cwlogs_b64(d, get(awslogs, "data")->valuestring, w, depth);
  } else if (is_firehose(v)) {
    set_format(d, INGEST_FMT_CWLOGS);
    for (const cJSON *it = get(v, "records")->child; it && !d->fatal; it = it->next) {
      const cJSON *b64 = get(it, "data");
      if (cJSON_IsString(b64)) cwlogs_b64(d, b64->valuestring, w, depth);
      else add_error(d, w.line, w.pos, "Firehose record without data");
    }
  } else if (cJSON_IsString(get(v, "messageType")) && cJSON_IsArray(get(v, "logEvents"))) {
    set_format(d, INGEST_FMT_CWLOGS);
    cwlogs_doc(d, v, w);
  } else if (cJSON_IsString(get(v, "detail-type")) && cJSON_IsObject(detail)) {
    set_format(d, INGEST_FMT_EVENTBRIDGE);
    add_record(d, cJSON_DetachItemViaPointer(v, detail), NULL, 0, w.line);
  } else if (is_sns_type(type) && (cJSON_IsString(get(v, "TopicArn")) ||
                                   cJSON_IsString(get(v, "MessageId")))) {
    set_format(d, INGEST_FMT_SNS);
    sns(d, v, type->valuestring, w, depth);
    return; /* sns() took v */
  } else if (cJSON_IsArray(recs)) {
    set_format(d, INGEST_FMT_CLOUDTRAIL);
    records(d, recs, w);
  } else if ((cJSON_IsString(get(v, "digestStartTime")) && get(v, "logFiles")) ||
             (cJSON_IsString(get(v, "Service")) && is_str(get(v, "Event"), "s3:TestEvent"))) {
    set_format(d, INGEST_FMT_CLOUDTRAIL); /* a CloudTrail digest or an s3:TestEvent */
    d->r->skipped++;
  } else if (is_lookup_events(get(v, "Events"))) {
    set_format(d, INGEST_FMT_CLOUDTRAIL);
    lookup_events(d, get(v, "Events"), w);
  } else if (cJSON_IsObject(data) && cJSON_IsArray(evs = get(data, "events")) &&
             (is_str(get(v, "eventType"), "com.okta.event_hook") || cJSON_IsObject(evs->child))) {
    set_format(d, INGEST_FMT_OKTA_HOOK);
    unwrap_items(d, evs, "data.events", w, depth, true);
  } else {
    set_format(d, INGEST_FMT_OBJECT);
    add_record(d, v, text, len, w.line);
    return; /* add_record took v */
  }
drop:
  cJSON_Delete(v);
}

/* }============================================================ */

/* {===================== framing ===================== */

static unsigned long line_of(const char *s, size_t pos) {
  unsigned long line = 1;
  for (size_t i = 0; i < pos; i++)
    if (s[i] == '\n') line++;
  return line;
}

/* The first non-blank line, trimmed: [*b, *e). False when there is none. */
static bool first_line(const char *s, size_t len, size_t *b, size_t *e) {
  size_t p = 0;
  while (p < len) {
    const char *nl = memchr(s + p, '\n', len - p);
    size_t end = nl ? (size_t)(nl - s) : len, i = p, j = end;
    while (i < j && is_ws(s[i])) i++;
    while (j > i && is_ws(s[j - 1])) j--;
    if (i < j) {
      *b = i, *e = j;
      return true;
    }
    p = end + 1;
  }
  return false;
}

/* NDJSON when the first non-blank line is a value by itself, or one line shaped like a
 * whole object ({...}) that is malformed: then later good lines still count. */
static bool looks_ndjson(const char *s, size_t len) {
  size_t b, e, errpos;
  if (!first_line(s, len, &b, &e)) return false;
  cJSON *v = parse_strict(s + b, e - b, &errpos);
  if (v) {
    cJSON_Delete(v);
    return true;
  }
  return e - b >= 2 && s[b] == '{' && s[e - 1] == '}';
}

static void frame_ndjson(struct dec *d, const char *s, size_t len) {
  set_format(d, INGEST_FMT_NDJSON);
  unsigned long line = 1;
  for (size_t p = 0; p < len && !d->fatal; line++) {
    const char *nl = memchr(s + p, '\n', len - p);
    size_t end = nl ? (size_t)(nl - s) : len, i = p, j = end;
    while (i < j && is_ws(s[i])) i++;
    while (j > i && is_ws(s[j - 1])) j--;
    if (i < j) {
      size_t errpos = 0;
      cJSON *v = parse_strict(s + i, j - i, &errpos);
      struct where w = {line, i};
      if (v) unwrap(d, v, s + i, j - i, w, 0);
      else add_error(d, line, i + errpos, "line %lu: malformed JSON at byte %zu", line, i + errpos);
    }
    p = end + 1;
  }
}

static bool ct_is_ndjson(const char *ct) {
  if (!ct) return false;
  while (*ct == ' ') ct++;
  static const char *const types[] = {"application/x-ndjson", "application/ndjson",
                                      "application/jsonl", "application/x-jsonlines",
                                      "application/json-seq", "application/jsonlines"};
  for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
    size_t n = strlen(types[i]);
    if (strncasecmp(ct, types[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
      return true;
  }
  return false;
}

/* 0: identity, else the inflateInit2 window bits; -1: unsupported. */
static int encoding_bits(const char *enc) {
  if (!enc) return 0;
  while (*enc == ' ' || *enc == '\t') enc++;
  size_t n = strlen(enc);
  while (n && (enc[n - 1] == ' ' || enc[n - 1] == '\t')) n--;
  if (n == 0 || (n == 8 && strncasecmp(enc, "identity", 8) == 0)) return 0;
  if ((n == 4 && strncasecmp(enc, "gzip", 4) == 0) || (n == 6 && strncasecmp(enc, "x-gzip", 6) == 0))
    return 15 + 16;
  if (n == 7 && strncasecmp(enc, "deflate", 7) == 0) return 15;
  return -1;
}

int ingest_decode(const char *body, size_t len, const char *content_type,
                  const char *content_encoding, const struct ingest_limits *lim,
                  struct ingest_result *out) {
  memset(out, 0, sizeof *out);
  struct dec d = {.r = out};
  d.max_inflated = lim && lim->max_inflated ? lim->max_inflated : INGEST_MAX_INFLATED;
  d.max_records = lim && lim->max_records ? lim->max_records : INGEST_MAX_RECORDS;
  if (!body) body = "", len = 0;
  int wbits = encoding_bits(content_encoding);
  if (wbits < 0) return INGEST_E_ENCODING;
  if (wbits == 0 && len >= 2 && (unsigned char)body[0] == 0x1f && (unsigned char)body[1] == 0x8b)
    wbits = 15 + 16; /* gzip without the header: recognised by its magic */
  if (wbits) {
    struct buf plain;
    buf_init(&plain);
    int rc = inflate_all((const unsigned char *)body, len, wbits, d.max_inflated, &plain);
    if (rc) {
      buf_free(&plain);
      return rc;
    }
    len = plain.len;
    out->_body = buf_take(&plain);
    body = out->_body;
  }
  out->inflated_len = len;
  size_t b, e;
  if (!first_line(body, len, &b, &e)) return INGEST_E_EMPTY;
  if (ct_is_ndjson(content_type)) {
    frame_ndjson(&d, body, len);
  } else {
    size_t errpos = 0;
    cJSON *v = parse_strict(body, len, &errpos);
    if (v) {
      size_t j = len;
      while (j > b && is_ws(body[j - 1])) j--;
      unwrap(&d, v, body + b, j - b, (struct where){line_of(body, b), b}, 0);
    } else if (looks_ndjson(body, len)) {
      frame_ndjson(&d, body, len);
    } else {
      unsigned long line = line_of(body, errpos);
      add_error(&d, line, errpos, "malformed JSON at line %lu, byte %zu", line, errpos);
    }
  }
  if (d.fatal) {
    int rc = d.fatal;
    ingest_result_free(out);
    return rc;
  }
  return 0;
}

void ingest_result_free(struct ingest_result *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nrecs; i++) cJSON_Delete(r->recs[i].json);
  free(r->recs);
  free(r->subscribe_url);
  free(r->topic_arn);
  free(r->_body);
  memset(r, 0, sizeof *r);
}

int ingest_http_status(int code) {
  switch (code) {
  case 0: return 200;
  case INGEST_E_ENCODING: return 415;
  case INGEST_E_INFLATED:
  case INGEST_E_TOO_MANY: return 413;
  default: return 400;
  }
}

const char *ingest_strerror(int code) {
  switch (code) {
  case 0: return "ok";
  case INGEST_E_EMPTY: return "empty body: send a JSON object, array or NDJSON";
  case INGEST_E_ENCODING: return "Content-Encoding not supported (identity, gzip, deflate)";
  case INGEST_E_CORRUPT: return "corrupt or truncated compressed body";
  case INGEST_E_INFLATED: return "decompressed body over the size limit";
  case INGEST_E_TOO_MANY: return "too many records in one body";
  default: return "ingest error";
  }
}

/* }============================================================ */

/* {===================== authentication ===================== */

int ingest_auth_status(enum ingest_auth a) {
  switch (a) {
  case INGEST_AUTH_OK: return 200;
  case INGEST_AUTH_MISSING: return 401;
  default: return 403;
  }
}

const char *ingest_auth_reason(enum ingest_auth a) {
  switch (a) {
  case INGEST_AUTH_OK: return "ok";
  case INGEST_AUTH_MISSING: return "missing credentials";
  case INGEST_AUTH_WRONG: return "invalid credentials";
  case INGEST_AUTH_STALE: return "request timestamp outside the replay window";
  }
  return "invalid credentials";
}

struct part {
  const void *p;
  size_t n;
};

/* HMAC-SHA256 over the concatenation of parts. Returns 0 or -1. */
static int hmac_parts(const void *key, size_t keylen, const struct part *parts, size_t n,
                      unsigned char mac[32]) {
  static char digest[] = "SHA256";
  EVP_MAC *m = NULL;
  EVP_MAC_CTX *ctx = NULL;
  int rc = -1;
  size_t outl = 0;
  OSSL_PARAM params[2];
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
  params[1] = OSSL_PARAM_construct_end();
  if (!key || keylen == 0) goto out; /* an empty secret is a configuration error */
  if (!(m = EVP_MAC_fetch(NULL, "HMAC", NULL))) goto out;
  if (!(ctx = EVP_MAC_CTX_new(m))) goto out;
  if (!EVP_MAC_init(ctx, key, keylen, params)) goto out;
  for (size_t i = 0; i < n; i++)
    if (parts[i].n && !EVP_MAC_update(ctx, parts[i].p, parts[i].n)) goto out;
  if (!EVP_MAC_final(ctx, mac, &outl, 32) || outl != 32) goto out;
  rc = 0;
out:
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(m);
  return rc;
}

static void to_hex(const unsigned char *p, size_t n, char *hex) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    hex[2 * i] = digits[p[i] >> 4];
    hex[2 * i + 1] = digits[p[i] & 15];
  }
  hex[2 * n] = '\0';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Exactly 64 hex digits to 32 bytes. */
static bool from_hex32(const char *s, unsigned char out[32]) {
  if (strlen(s) != 64) return false;
  for (size_t i = 0; i < 32; i++) {
    int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
    if (h < 0 || l < 0) return false;
    out[i] = (unsigned char)(h << 4 | l);
  }
  return true;
}

int ingest_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                           char hex[65]) {
  unsigned char mac[32];
  struct part p = {data, len};
  if (hmac_parts(key, keylen, &p, 1, mac) != 0) return -1;
  to_hex(mac, 32, hex);
  OPENSSL_cleanse(mac, sizeof mac);
  return 0;
}

/* Compares a received hex MAC with the expected one in constant time. */
static enum ingest_auth check_mac(const char *hex, const void *key, size_t keylen,
                                  const struct part *parts, size_t n) {
  unsigned char got[32], want[32];
  enum ingest_auth a = INGEST_AUTH_WRONG;
  if (!from_hex32(hex, got)) goto out;
  if (hmac_parts(key, keylen, parts, n, want) != 0) goto out;
  if (CRYPTO_memcmp(got, want, 32) == 0) a = INGEST_AUTH_OK;
out:
  OPENSSL_cleanse(want, sizeof want);
  return a;
}

static bool blank(const char *s) {
  if (!s) return true;
  while (*s == ' ' || *s == '\t') s++;
  return *s == '\0';
}

/* Equality of two strings in time independent of their contents and lengths. */
static bool digest_equal(const char *a, const char *b) {
  unsigned char da[32], db[32];
  unsigned int la = 0, lb = 0;
  bool ok = EVP_Digest(a, strlen(a), da, &la, EVP_sha256(), NULL) &&
            EVP_Digest(b, strlen(b), db, &lb, EVP_sha256(), NULL) && la == 32 && lb == 32 &&
            CRYPTO_memcmp(da, db, 32) == 0;
  OPENSSL_cleanse(da, sizeof da);
  OPENSSL_cleanse(db, sizeof db);
  return ok;
}

enum ingest_auth ingest_auth_static(const char *value, const char *secret) {
  if (blank(value)) return INGEST_AUTH_MISSING;
  if (!secret || !*secret) return INGEST_AUTH_WRONG;
  return digest_equal(value, secret) ? INGEST_AUTH_OK : INGEST_AUTH_WRONG;
}

enum ingest_auth ingest_auth_bearer(const char *authorization, const char *token) {
  if (blank(authorization)) return INGEST_AUTH_MISSING;
  const char *s = authorization;
  while (*s == ' ' || *s == '\t') s++;
  if (strncasecmp(s, "Bearer", 6) != 0 || (s[6] != ' ' && s[6] != '\t' && s[6] != '\0'))
    return INGEST_AUTH_WRONG;
  s += 6;
  while (*s == ' ' || *s == '\t') s++;
  if (!*s) return INGEST_AUTH_MISSING;
  if (!token || !*token) return INGEST_AUTH_WRONG;
  return digest_equal(s, token) ? INGEST_AUTH_OK : INGEST_AUTH_WRONG;
}

enum ingest_auth ingest_auth_hmac_hex(const char *value, const char *prefix, const void *key,
                                      size_t keylen, const void *body, size_t len) {
  if (blank(value)) return INGEST_AUTH_MISSING;
  while (*value == ' ' || *value == '\t') value++;
  size_t pl = prefix ? strlen(prefix) : 0;
  if (pl && strncasecmp(value, prefix, pl) != 0) return INGEST_AUTH_WRONG;
  struct part p = {body, len};
  return check_mac(value + pl, key, keylen, &p, 1);
}

enum ingest_auth ingest_auth_github(const char *value, const void *key, size_t keylen,
                                    const void *body, size_t len) {
  return ingest_auth_hmac_hex(value, "sha256=", key, keylen, body, len);
}

enum ingest_auth ingest_auth_slack(const char *signature, const char *timestamp,
                                   const void *key, size_t keylen, const void *body,
                                   size_t len, int64_t now, int64_t window) {
  if (blank(signature) || blank(timestamp)) return INGEST_AUTH_MISSING;
  if (window <= 0) window = INGEST_SLACK_WINDOW;
  while (*timestamp == ' ') timestamp++;
  size_t tl = strlen(timestamp);
  if (tl == 0 || tl > 18) return INGEST_AUTH_STALE;
  int64_t ts = 0;
  for (size_t i = 0; i < tl; i++) {
    if (timestamp[i] < '0' || timestamp[i] > '9') return INGEST_AUTH_STALE;
    ts = ts * 10 + (timestamp[i] - '0');
  }
  int64_t skew = now > ts ? now - ts : ts - now;
  if (skew > window) return INGEST_AUTH_STALE;
  while (*signature == ' ') signature++;
  if (strncmp(signature, "v0=", 3) != 0) return INGEST_AUTH_WRONG;
  struct part parts[4] = {{"v0:", 3}, {timestamp, tl}, {":", 1}, {body, len}};
  return check_mac(signature + 3, key, keylen, parts, 4);
}

/* }============================================================ */

char *ingest_okta_verification(const char *challenge) {
  if (!challenge || strlen(challenge) > 4096) return NULL;
  struct buf b;
  buf_init(&b);
  buf_puts(&b, "{\"verification\":\"");
  for (const unsigned char *p = (const unsigned char *)challenge; *p; p++) {
    if (*p == '"' || *p == '\\') buf_putc(&b, '\\'), buf_putc(&b, (char)*p);
    else if (*p < 0x20 || *p == 0x7f) buf_printf(&b, "\\u%04x", *p);
    else buf_putc(&b, (char)*p);
  }
  buf_puts(&b, "\"}");
  return buf_take(&b);
}

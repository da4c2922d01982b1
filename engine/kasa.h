/* kasa.h — the TP-Link Kasa local protocol (HS100/HS110 legacy firmware, TCP port 9999):
 * the autokey XOR cipher, the length-prefixed framing, and one asynchronous request on a
 * libuv loop (resolve, connect, one write, read the whole answer, close).
 *
 * Plugs with firmware from late 2020 on close port 9999 and speak KLAP over HTTP instead;
 * that protocol is not implemented here (docs/plug.md).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_KASA_H
#define LP0_KASA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#define KASA_DEFAULT_PORT 9999
#define KASA_DEFAULT_TIMEOUT_MS 3000
#define KASA_MAX_MSG ((size_t)64 * 1024) /* larger requests or announced answers: refused */
#define KASA_KEY0 171                    /* the cipher's initial key */

/* ---- cipher and framing (pure) -------------------------------------------------------- */

/* Autokey XOR: each byte is XORed with the previous ciphertext byte (the first with
 * KASA_KEY0). out may be in (in-place). */
void kasa_encrypt(const void *in, size_t len, void *out);
void kasa_decrypt(const void *in, size_t len, void *out);

/* Returns a new TCP frame (free()): the 4-byte big-endian ciphertext length, then the
 * encrypted json. *frame_len = len + 4. NULL when len > KASA_MAX_MSG. */
unsigned char *kasa_frame(const char *json, size_t len, size_t *frame_len);

/* Reassembles one framed answer from the chunks TCP delivers. */
struct kasa_rx {
  unsigned char *data; /* owned; header then ciphertext */
  size_t len, cap;
  size_t need; /* ciphertext length once the header is in, else 0 */
};
void kasa_rx_init(struct kasa_rx *rx);
void kasa_rx_free(struct kasa_rx *rx);
/* Appends a chunk. Returns 1 when the message is complete (bytes past its end are
 * ignored: the device closes after answering), 0 when more is needed, -EMSGSIZE when the
 * header announces more than KASA_MAX_MSG (or 0) bytes. */
int kasa_rx_feed(struct kasa_rx *rx, const void *p, size_t n);
/* Once complete: decrypts the ciphertext into a new NUL-terminated string (free()). */
char *kasa_rx_take(struct kasa_rx *rx, size_t *len);

/* ---- one request -------------------------------------------------------------------------- */

enum kasa_status {
  KASA_OK = 0,
  KASA_ERESOLVE,     /* the host name did not resolve */
  KASA_EREFUSED,     /* connection refused: nothing listens on that port */
  KASA_EUNREACHABLE, /* no route to the host or network */
  KASA_ETIMEDOUT,    /* no complete answer within the timeout */
  KASA_EIO,          /* connection reset or another socket error */
  KASA_EMALFORMED,   /* oversize length, early EOF, not JSON, not an object */
  KASA_EDEVICE,      /* the device answered with a nonzero err_code */
};
/* "ok", "resolve", "refused", "unreachable", "timeout", "io", "malformed", "device". */
const char *kasa_status_name(enum kasa_status s);

/* What the callback receives. Everything is borrowed for the duration of the callback,
 * except root, which the callback may take by setting it to NULL (then cJSON_Delete it). */
struct kasa_reply {
  enum kasa_status status;
  int device_err;      /* the device's err_code (KASA_EDEVICE), else 0 */
  const char *message; /* "" on success; else one line naming host:port and the cause */
  const char *json;    /* the decrypted answer, NULL when none arrived */
  size_t json_len;
  cJSON *root;         /* the parsed answer (also with KASA_EDEVICE), else NULL */
};
typedef void (*kasa_cb)(struct kasa_reply *reply, void *ud);

struct kasa_req; /* one request in flight, owned by this module */

/* Sends json (a complete JSON object, e.g. {"system":{"get_sysinfo":{}}}) to host:port
 * (a name or an IPv4/IPv6 literal) over a new TCP connection, header and body in one
 * write, and reads one framed answer. timeout_ms bounds everything: resolving,
 * connecting, writing and reading. Every address of the name is tried in turn until one
 * accepts the connection.
 *
 * Returns 0 and then calls cb exactly once, always from a loop callback (never from
 * inside kasa_request or kasa_cancel). On failure returns a negative errno-style code
 * (-EINVAL: empty host, port outside 1..65535, timeout_ms 0, json empty or larger than
 * KASA_MAX_MSG; or libuv's code) and cb is never called. *out (may be NULL) receives the
 * request, valid until cb returns or kasa_cancel. */
int kasa_request(uv_loop_t *loop, const char *host, int port, const char *json,
                 uint64_t timeout_ms, kasa_cb cb, void *ud, struct kasa_req **out);

/* Abandons a request whose callback has not run yet: cb will not be called, and the
 * connection and its handles are closed and freed on the loop (run it until it ends). */
void kasa_cancel(struct kasa_req *req);

/* Finds the first nonzero err_code in an answer, at module level ({"emeter":{"err_code":
 * -1,...}}) or method level ({"system":{"set_relay_state":{"err_code":-3,...}}}). Returns
 * true and writes "module.method: err_msg (err_code N)" into msg when there is one. */
bool kasa_device_error(const cJSON *root, int *code, char *msg, size_t n);

#endif

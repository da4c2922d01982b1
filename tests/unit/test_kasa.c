/* Unit tests of kasa.c: the cipher against the protocol's known vectors, framing and
 * reassembly, device errors, and real requests against a fake plug in the test's own
 * loop (kasa_fake.h): a normal answer, an answer split over several reads, early EOF,
 * oversize length, garbage, a device error, a refused connection, a timeout against a
 * device that never answers, and cancellation. Every callback must run exactly once and
 * never from inside kasa_request; every loop must close with no handle left. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "kasa.h"
#include "kasa_fake.h"
#include "util.h"

#define ASSERT_CONTAINS(hay, needle)                                                     \
  do {                                                                                   \
    const char *h_ = (hay), *n_ = (needle);                                              \
    check_count++;                                                                       \
    if (!h_ || !strstr(h_, n_)) CHECK_FAIL("\"%s\" lacks \"%s\"", h_ ? h_ : "(null)", n_); \
  } while (0)

static const char SYSINFO[] = "{\"system\":{\"get_sysinfo\":{}}}";
static const char RELAY_ON[] = "{\"system\":{\"set_relay_state\":{\"state\":1}}}";

static char *hex(const unsigned char *p, size_t n) {
  char *s = xmalloc(n * 2 + 1);
  for (size_t i = 0; i < n; i++) snprintf(s + 2 * i, 3, "%02x", p[i]);
  return s;
}

static void test_cipher_vectors(void) {
  unsigned char out[128];
  kasa_encrypt(SYSINFO, strlen(SYSINFO), out);
  char *h = hex(out, strlen(SYSINFO));
  ASSERT_EQ_STR(h, "d0f281f88bff9af7d5ef94b6d1b4c09fec95e68fe187e8caf08bf68bf6");
  free(h);
  kasa_encrypt(RELAY_ON, strlen(RELAY_ON), out);
  h = hex(out, strlen(RELAY_ON));
  ASSERT_EQ_STR(h, "d0f281f88bff9af7d5ef94b6c5a0d48bf99cf091e8b7c4b0d1a5c0e2d8a381f286e793f6d4"
                   "eedfa2dfa2");
  free(h);

  /* Round trip, and in place (out == in) both ways. */
  char buf[128];
  snprintf(buf, sizeof buf, "%s", RELAY_ON);
  kasa_encrypt(buf, strlen(RELAY_ON), buf);
  ASSERT_TRUE(memcmp(buf, out, strlen(RELAY_ON)) == 0);
  kasa_decrypt(buf, strlen(RELAY_ON), buf);
  ASSERT_TRUE(memcmp(buf, RELAY_ON, strlen(RELAY_ON)) == 0);
  /* Every byte value survives (the key chains on ciphertext, not plaintext). */
  unsigned char all[256], enc[256], dec[256];
  for (int i = 0; i < 256; i++) all[i] = (unsigned char)(255 - i);
  kasa_encrypt(all, sizeof all, enc);
  kasa_decrypt(enc, sizeof enc, dec);
  ASSERT_TRUE(memcmp(all, dec, sizeof all) == 0);
  ASSERT_EQ_INT(enc[0], 255 ^ KASA_KEY0);
  ASSERT_EQ_INT(enc[1], 254 ^ enc[0]);
}

static void test_frame_and_rx(void) {
  size_t flen;
  unsigned char *f = kasa_frame(SYSINFO, strlen(SYSINFO), &flen);
  ASSERT_EQ_INT(flen, 33);
  char *h = hex(f, flen);
  ASSERT_EQ_STR(h, "0000001dd0f281f88bff9af7d5ef94b6d1b4c09fec95e68fe187e8caf08bf68bf6");
  free(h);

  /* One byte at a time: incomplete until the very last byte, then the plaintext. */
  struct kasa_rx rx;
  kasa_rx_init(&rx);
  int r = 0, complete_at = -1;
  for (size_t i = 0; i < flen; i++) {
    r = kasa_rx_feed(&rx, f + i, 1);
    if (r == 1 && complete_at < 0) complete_at = (int)i;
  }
  ASSERT_EQ_INT(complete_at, (int)flen - 1);
  size_t len;
  char *s = kasa_rx_take(&rx, &len);
  ASSERT_EQ_STR(s, SYSINFO);
  ASSERT_EQ_INT(len, strlen(SYSINFO));
  free(s);
  kasa_rx_free(&rx);

  /* Header and part of the body in one chunk, trailing junk after the message ignored. */
  unsigned char twice[80];
  memcpy(twice, f, flen);
  memcpy(twice + flen, "JUNKJUNK", 8);
  kasa_rx_init(&rx);
  ASSERT_EQ_INT(kasa_rx_feed(&rx, twice, 10), 0);
  ASSERT_EQ_INT(kasa_rx_feed(&rx, twice + 10, flen - 10 + 8), 1);
  s = kasa_rx_take(&rx, &len);
  ASSERT_EQ_STR(s, SYSINFO);
  free(s);
  kasa_rx_free(&rx);
  free(f);

  /* Oversize and zero lengths are refused as soon as the header is in. */
  unsigned char big[4] = {0, 1, 0, 1}, zero[4] = {0, 0, 0, 0}, max[4] = {0, 1, 0, 0};
  kasa_rx_init(&rx);
  ASSERT_EQ_INT(kasa_rx_feed(&rx, big, 4), -EMSGSIZE);
  kasa_rx_free(&rx);
  ASSERT_EQ_INT(kasa_rx_feed(&rx, zero, 4), -EMSGSIZE);
  kasa_rx_free(&rx);
  ASSERT_EQ_INT(kasa_rx_feed(&rx, max, 4), 0); /* exactly KASA_MAX_MSG is allowed */
  kasa_rx_free(&rx);

  char *huge = xmalloc(KASA_MAX_MSG + 2);
  memset(huge, 'x', KASA_MAX_MSG + 1);
  huge[KASA_MAX_MSG + 1] = '\0';
  ASSERT_TRUE(kasa_frame(huge, KASA_MAX_MSG + 1, &flen) == NULL);
  free(huge);
}

static void test_device_error(void) {
  char msg[256];
  int code = 0;
  cJSON *ok = cJSON_Parse("{\"system\":{\"set_relay_state\":{\"err_code\":0}}}");
  ASSERT_TRUE(!kasa_device_error(ok, &code, msg, sizeof msg));
  cJSON *meth = cJSON_Parse("{\"count_down\":{\"delete_all_rules\":{\"err_code\":0},"
                            "\"add_rule\":{\"err_code\":-10,\"err_msg\":\"table is full\"}}}");
  ASSERT_TRUE(kasa_device_error(meth, &code, msg, sizeof msg));
  ASSERT_EQ_INT(code, -10);
  ASSERT_EQ_STR(msg, "count_down.add_rule: table is full (err_code -10)");
  cJSON *mod = cJSON_Parse("{\"emeter\":{\"err_code\":-1,\"err_msg\":\"module not support\"}}");
  ASSERT_TRUE(kasa_device_error(mod, &code, msg, sizeof msg));
  ASSERT_EQ_INT(code, -1);
  ASSERT_EQ_STR(msg, "emeter: module not support (err_code -1)");
  cJSON_Delete(ok);
  cJSON_Delete(meth);
  cJSON_Delete(mod);
  ASSERT_EQ_STR(kasa_status_name(KASA_ETIMEDOUT), "timeout");
  ASSERT_EQ_STR(kasa_status_name(KASA_EREFUSED), "refused");
}

/* {==================== requests against the fake ==================== */

struct outcome {
  int calls;
  bool returned; /* kasa_request had returned when the callback ran */
  enum kasa_status status;
  int device_err;
  char message[512];
  char json[512];
  cJSON *root;   /* taken from the reply */
  uint64_t at_ms;
  uv_loop_t *loop;
};

static void on_reply(struct kasa_reply *r, void *ud) {
  struct outcome *o = ud;
  o->calls++;
  o->status = r->status;
  o->device_err = r->device_err;
  o->at_ms = uv_now(o->loop);
  snprintf(o->message, sizeof o->message, "%s", r->message);
  snprintf(o->json, sizeof o->json, "%s", r->json ? r->json : "");
  o->root = r->root;
  r->root = NULL; /* taken */
}

static int close_loop(uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop);
}

/* One request to a fresh fake in `mode`; fills o. */
static void run_one(enum fake_mode mode, const char *json, uint64_t timeout_ms,
                    struct outcome *o, struct fake_dev *d) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  memset(o, 0, sizeof *o);
  o->loop = &loop;
  ASSERT_EQ_INT(fake_start(d, &loop), 0);
  d->mode = mode;
  struct kasa_req *req = NULL;
  int rc = kasa_request(&loop, "127.0.0.1", d->port, json, timeout_ms, on_reply, o, &req);
  ASSERT_EQ_INT(rc, 0);
  ASSERT_TRUE(req != NULL);
  o->returned = o->calls == 0;
  uint64_t t0 = uv_now(&loop);
  while (o->calls == 0 && uv_run(&loop, UV_RUN_ONCE)) {}
  o->at_ms -= t0;
  fake_stop(d);
  ASSERT_EQ_INT(close_loop(&loop), 0);
  ASSERT_EQ_INT(o->calls, 1);
  ASSERT_TRUE(o->returned);
}

static void test_request_ok(void) {
  struct outcome o;
  struct fake_dev d;
  run_one(FAKE_NORMAL, SYSINFO, 2000, &o, &d);
  ASSERT_EQ_INT(o.status, KASA_OK);
  ASSERT_EQ_STR(o.message, "");
  ASSERT_EQ_INT(d.nreq, 1);
  ASSERT_EQ_STR(fake_request(&d, 0), SYSINFO);
  /* Header and body arrived in the first read: one write, as the simulator needs. */
  ASSERT_EQ_INT(d.first_read[0], d.frame_len[0]);
  ASSERT_EQ_INT(d.frame_len[0], strlen(SYSINFO) + 4);
  const cJSON *si = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(o.root, "system"), "get_sysinfo");
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(si, "alias")),
                "fake compressor");
  ASSERT_CONTAINS(o.json, "\"relay_state\":0");
  cJSON_Delete(o.root);
  fake_free(&d);
}

static void test_request_split(void) {
  struct outcome o;
  struct fake_dev d;
  run_one(FAKE_SPLIT, RELAY_ON, 2000, &o, &d);
  ASSERT_EQ_INT(o.status, KASA_OK);
  ASSERT_EQ_STR(o.json, "{\"system\":{\"set_relay_state\":{\"err_code\":0}}}");
  ASSERT_TRUE(o.at_ms >= 55); /* the last piece came 2 x 30 ms after the first */
  ASSERT_EQ_INT(d.relay, 1);
  cJSON_Delete(o.root);
  fake_free(&d);
}

static void test_request_malformed(void) {
  struct outcome o;
  struct fake_dev d;
  run_one(FAKE_EOF, SYSINFO, 2000, &o, &d);
  ASSERT_EQ_INT(o.status, KASA_EMALFORMED);
  ASSERT_CONTAINS(o.message, "connection closed after 5 bytes of the announced message");
  ASSERT_TRUE(o.root == NULL);
  fake_free(&d);

  run_one(FAKE_OVERSIZE, SYSINFO, 2000, &o, &d);
  ASSERT_EQ_INT(o.status, KASA_EMALFORMED);
  ASSERT_CONTAINS(o.message, "announced length over 65536 bytes");
  fake_free(&d);

  run_one(FAKE_GARBAGE, SYSINFO, 2000, &o, &d);
  ASSERT_EQ_INT(o.status, KASA_EMALFORMED);
  ASSERT_CONTAINS(o.message, "not JSON");
  ASSERT_EQ_STR(o.json, "<html>no</html>");
  fake_free(&d);
}

static void test_request_device_error(void) {
  struct outcome o;
  struct fake_dev d;
  run_one(FAKE_NORMAL, "{\"system\":{\"set_relay_state\":{}}}", 2000, &o, &d);
  ASSERT_EQ_INT(o.status, KASA_EDEVICE);
  ASSERT_EQ_INT(o.device_err, -3);
  ASSERT_CONTAINS(o.message, "device error: system.set_relay_state: invalid argument (err_code -3)");
  ASSERT_TRUE(o.root != NULL); /* the answer is still there for the caller */
  cJSON_Delete(o.root);
  fake_free(&d);

  run_one(FAKE_NORMAL, "{\"emeter\":{\"get_realtime\":{}}}", 2000, &o, &d);
  ASSERT_EQ_INT(o.status, KASA_EDEVICE);
  ASSERT_EQ_INT(o.device_err, -1);
  cJSON_Delete(o.root);
  fake_free(&d);
}

static void test_request_timeout(void) {
  struct outcome o;
  struct fake_dev d;
  run_one(FAKE_SILENT, SYSINFO, 200, &o, &d);
  ASSERT_EQ_INT(o.status, KASA_ETIMEDOUT);
  ASSERT_CONTAINS(o.message, "timed out after 200 ms waiting for the answer of the device");
  ASSERT_TRUE(o.at_ms >= 195 && o.at_ms < 1500);
  ASSERT_EQ_INT(d.nreq, 1); /* it did get the request */
  fake_free(&d);
}

static void test_request_refused(void) {
  int fd;
  int port = unlistened_port(&fd);
  ASSERT_TRUE(port > 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct outcome o;
  memset(&o, 0, sizeof o);
  o.loop = &loop;
  ASSERT_EQ_INT(kasa_request(&loop, "127.0.0.1", port, SYSINFO, 2000, on_reply, &o, NULL), 0);
  o.returned = o.calls == 0;
  /* "localhost" may resolve to ::1 and 127.0.0.1: every address is tried and refused. */
  struct outcome o2;
  memset(&o2, 0, sizeof o2);
  o2.loop = &loop;
  ASSERT_EQ_INT(kasa_request(&loop, "localhost", port, SYSINFO, 2000, on_reply, &o2, NULL), 0);
  o2.returned = o2.calls == 0;
  ASSERT_EQ_INT(close_loop(&loop), 0);
  close(fd);
  ASSERT_EQ_INT(o.calls, 1);
  ASSERT_TRUE(o.returned);
  ASSERT_EQ_INT(o.status, KASA_EREFUSED);
  ASSERT_CONTAINS(o.message, "connection refused");
  ASSERT_CONTAINS(o.message, "port 9999");
  ASSERT_EQ_INT(o2.calls, 1);
  ASSERT_EQ_INT(o2.status, KASA_EREFUSED);
  ASSERT_CONTAINS(o2.message, "localhost:");
}

static void test_request_args_and_resolve(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct outcome o;
  memset(&o, 0, sizeof o);
  o.loop = &loop;
  ASSERT_EQ_INT(kasa_request(&loop, "", 9999, SYSINFO, 100, on_reply, &o, NULL), -EINVAL);
  ASSERT_EQ_INT(kasa_request(&loop, "h", 0, SYSINFO, 100, on_reply, &o, NULL), -EINVAL);
  ASSERT_EQ_INT(kasa_request(&loop, "h", 70000, SYSINFO, 100, on_reply, &o, NULL), -EINVAL);
  ASSERT_EQ_INT(kasa_request(&loop, "h", 9999, SYSINFO, 0, on_reply, &o, NULL), -EINVAL);
  ASSERT_EQ_INT(kasa_request(&loop, "h", 9999, "", 100, on_reply, &o, NULL), -EINVAL);
  /* .invalid never resolves (RFC 6761). */
  ASSERT_EQ_INT(kasa_request(&loop, "plug.invalid", 9999, SYSINFO, 5000, on_reply, &o, NULL), 0);
  ASSERT_EQ_INT(close_loop(&loop), 0);
  ASSERT_EQ_INT(o.calls, 1);
  ASSERT_TRUE(o.status == KASA_ERESOLVE || o.status == KASA_ETIMEDOUT);
  if (o.status == KASA_ERESOLVE) ASSERT_CONTAINS(o.message, "cannot resolve plug.invalid");
}

static void test_cancel(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct fake_dev d;
  ASSERT_EQ_INT(fake_start(&d, &loop), 0);
  d.mode = FAKE_SILENT;
  struct outcome o;
  memset(&o, 0, sizeof o);
  o.loop = &loop;
  struct kasa_req *req = NULL;
  ASSERT_EQ_INT(kasa_request(&loop, "127.0.0.1", d.port, SYSINFO, 5000, on_reply, &o, &req), 0);
  while (d.nreq == 0 && uv_run(&loop, UV_RUN_ONCE)) {} /* connected and sent */
  kasa_cancel(req);
  /* Cancelled right away too: before the connect completes. */
  struct kasa_req *req2 = NULL;
  ASSERT_EQ_INT(kasa_request(&loop, "127.0.0.1", d.port, SYSINFO, 5000, on_reply, &o, &req2), 0);
  kasa_cancel(req2);
  /* And while resolving a name. */
  struct kasa_req *req3 = NULL;
  ASSERT_EQ_INT(kasa_request(&loop, "localhost", d.port, SYSINFO, 5000, on_reply, &o, &req3), 0);
  kasa_cancel(req3);
  uint64_t t0 = uv_hrtime();
  uv_run(&loop, UV_RUN_ONCE);
  for (int i = 0; i < 50 && d.open_conns > 0; i++) uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
  fake_stop(&d);
  ASSERT_EQ_INT(close_loop(&loop), 0);
  ASSERT_EQ_INT(o.calls, 0);
  ASSERT_TRUE(uv_hrtime() - t0 < 1000000000u); /* no 5 s timer kept the loop alive */
  fake_free(&d);
}

/* }==================== */

int main(void) {
  test_cipher_vectors();
  test_frame_and_rx();
  test_device_error();
  test_request_ok();
  test_request_split();
  test_request_malformed();
  test_request_device_error();
  test_request_timeout();
  test_request_refused();
  test_request_args_and_resolve();
  test_cancel();
  CHECK_DONE();
}

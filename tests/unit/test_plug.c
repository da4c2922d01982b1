/* Unit tests of plug.c (and the plug_deadlines rows of store.c) against the fake plug of
 * kasa_fake.h, which speaks the real protocol in the test's own loop: command order and
 * one connection at a time, info parsing, the pulse (countdown rule in the same request,
 * deadline on disk before the relay-on, lp0's own switch-off), extension, the hard cap,
 * the cooldown, manual off, failures that leave the plug possibly on, giving up on a
 * dead plug, a store that refuses the deadline, recovery at start-up, close and detach.
 * Pulses are whole seconds, so this test takes about 10 s. */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "check.h"
#include "clock.h"
#include "kasa_fake.h"
#include "plug.h"
#include "store.h"
#include "util.h"

#define ASSERT_CONTAINS(hay, needle)                                                     \
  do {                                                                                   \
    const char *h_ = (hay), *n_ = (needle);                                              \
    check_count++;                                                                       \
    if (!h_ || !strstr(h_, n_)) CHECK_FAIL("\"%s\" lacks \"%s\"", h_ ? h_ : "(null)", n_); \
  } while (0)

static char *tmp_root;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

/* {==================== fixture ==================== */

struct rec {
  int calls;
  enum plug_status status;
  char code[32], msg[640], rule_id[64], alias[64], model[64];
  bool extended, capped, has_info;
  int seconds, relay, port;
  long long on_time;
  double deadline, at;
};

static void on_result(const struct plug_result *r, void *ud) {
  struct rec *x = ud;
  x->calls++;
  x->status = r->status;
  x->at = clk_now();
  snprintf(x->code, sizeof x->code, "%s", r->code);
  snprintf(x->msg, sizeof x->msg, "%s", r->message);
  snprintf(x->rule_id, sizeof x->rule_id, "%s", r->rule_id ? r->rule_id : "");
  x->extended = r->extended, x->capped = r->capped;
  x->seconds = r->seconds, x->deadline = r->deadline;
  x->port = r->port;
  x->has_info = r->info != NULL;
  if (r->info) {
    snprintf(x->alias, sizeof x->alias, "%s", r->info->alias);
    snprintf(x->model, sizeof x->model, "%s", r->info->model);
    x->relay = r->info->relay_state;
    x->on_time = r->info->on_time;
  }
}

#define MAX_EVENTS 8
struct events {
  int n;
  struct rec ev[MAX_EVENTS];
};

static void on_event(const struct plug_result *r, void *ud) {
  struct events *e = ud;
  if (e->n < MAX_EVENTS) on_result(r, &e->ev[e->n]);
  e->n++;
}

/* Runs the loop until *n >= want or ms pass. Returns true when reached. A 10 ms tick
 * bounds each iteration: a callback run from a timer would otherwise be seen only once
 * the loop's next poll returns. */
static void on_tick(uv_timer_t *t) { (void)t; }

static bool spin(uv_loop_t *loop, const int *n, int want, uint64_t ms) {
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, on_tick, 10, 10);
  uint64_t end = uv_hrtime() + ms * 1000000u;
  while (*n < want && uv_hrtime() < end) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return *n >= want;
}

static struct store *open_store(const char *name, unsigned flags) {
  char *path = xasprintf("%s/%s", tmp_root, name), *err = NULL;
  struct store *st = NULL;
  if (store_open(path, flags, &st, &err) != 0) {
    fprintf(stderr, "store_open %s: %s\n", path, err ? err : "?");
    exit(2);
  }
  free(path);
  return st;
}

/* Rows of plug_deadlines as another process sees them (committed data only). */
static long long raw_count(const char *name, const char *where) {
  char *path = xasprintf("%s/%s", tmp_root, name);
  char *sql = xasprintf("SELECT count(*) FROM plug_deadlines %s", where ? where : "");
  sqlite3 *db = NULL;
  sqlite3_stmt *s = NULL;
  long long v = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  free(path);
  free(sql);
  return v;
}

static void close_all(uv_loop_t *loop, struct plug_ctl *c, struct fake_dev *d) {
  plug_ctl_close(c);
  if (d) fake_stop(d);
  uv_run(loop, UV_RUN_DEFAULT);
  ASSERT_EQ_INT(uv_loop_close(loop), 0);
  if (d) fake_free(d);
}

static struct plug_cfg cfg_with(int max_on, int cooldown) {
  struct plug_cfg cfg;
  plug_cfg_default(&cfg);
  cfg.max_on_seconds = max_on;
  cfg.cooldown_seconds = cooldown;
  cfg.timeout_ms = 2000;
  return cfg;
}

/* }==================== */

static void test_info_and_order(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct fake_dev d;
  ASSERT_EQ_INT(fake_start(&d, &loop), 0);
  struct plug_cfg cfg = cfg_with(60, 30);
  struct plug_ctl *c = plug_ctl_new(&loop, NULL, &cfg);
  struct rec r[4];
  memset(r, 0, sizeof r);
  int done = 0;
  ASSERT_EQ_INT(plug_info(c, "127.0.0.1", d.port, on_result, &r[0], NULL), 0);
  ASSERT_EQ_INT(plug_on(c, "127.0.0.1", d.port, on_result, &r[1], NULL), 0);
  ASSERT_EQ_INT(plug_info(c, "127.0.0.1", d.port, on_result, &r[2], NULL), 0);
  ASSERT_EQ_INT(plug_off(c, "127.0.0.1", d.port, on_result, &r[3], NULL), 0);
  ASSERT_EQ_INT(r[0].calls, 0); /* never from inside the call */
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 0, on_result, &r[0], NULL), -EINVAL);
  ASSERT_EQ_INT(plug_info(c, "", d.port, on_result, &r[0], NULL), -EINVAL);
  ASSERT_EQ_INT(plug_info(c, "127.0.0.1", 0, on_result, &r[0], NULL), -EINVAL);
  ASSERT_TRUE(spin(&loop, &r[3].calls, 1, 3000));
  for (int i = 0; i < 4; i++) done += r[i].calls;
  ASSERT_EQ_INT(done, 4);
  for (int i = 0; i < 4; i++) ASSERT_EQ_STR(r[i].code, "ok");
  ASSERT_TRUE(r[0].has_info && r[2].has_info);
  ASSERT_EQ_STR(r[0].alias, "fake compressor");
  ASSERT_EQ_STR(r[0].model, "HS100(EU)");
  ASSERT_EQ_INT(r[0].relay, 0);
  ASSERT_EQ_INT(r[2].relay, 1);
  ASSERT_EQ_INT(r[2].on_time, 7);
  ASSERT_TRUE(r[0].at <= r[1].at && r[1].at <= r[2].at && r[2].at <= r[3].at);
  /* In order, one connection at a time. */
  ASSERT_EQ_INT(d.nreq, 4);
  ASSERT_EQ_INT(d.max_conns, 1);
  ASSERT_CONTAINS(fake_request(&d, 0), "get_sysinfo");
  ASSERT_CONTAINS(fake_request(&d, 1), "\"set_relay_state\":{\"state\":1}");
  ASSERT_CONTAINS(fake_request(&d, 2), "get_sysinfo");
  ASSERT_CONTAINS(fake_request(&d, 3), "\"set_relay_state\":{\"state\":0}");
  ASSERT_CONTAINS(fake_request(&d, 3), "delete_all_rules");
  ASSERT_EQ_INT(d.relay, 0);
  close_all(&loop, c, &d);
}

/* The fake's hook: at the request that switches on, is the deadline already on disk? */
struct on_check {
  const char *db;
  long long rows_at_on;
  int seen;
};
static void check_before_on(struct fake_dev *d, const char *json, void *ud) {
  struct on_check *k = ud;
  (void)d;
  if (!strstr(json, "\"state\":1")) return;
  k->seen++;
  k->rows_at_on = raw_count(k->db, NULL);
}

static void test_pulse(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct fake_dev d;
  ASSERT_EQ_INT(fake_start(&d, &loop), 0);
  struct on_check k = {"pulse.db", -1, 0};
  d.on_request = check_before_on;
  d.ud = &k;
  struct store *st = open_store("pulse.db", 0);
  struct plug_cfg cfg = cfg_with(60, 60);
  struct plug_ctl *c = plug_ctl_new(&loop, st, &cfg);
  struct events ev = {0};
  plug_ctl_observe(c, on_event, &ev);
  struct rec r = {0}, r2 = {0};
  /* An open transaction (the daemon batches writes): the pulse must commit it. */
  ASSERT_EQ_INT(store_begin(st), 0);
  double t0 = clk_now();
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 1, on_result, &r, NULL), 0);
  ASSERT_TRUE(spin(&loop, &r.calls, 1, 3000));
  ASSERT_EQ_STR(r.code, "ok");
  ASSERT_EQ_STR(r.msg, "");
  ASSERT_TRUE(!r.extended && !r.capped);
  ASSERT_EQ_INT(r.seconds, 1);
  ASSERT_TRUE(r.deadline >= t0 + 1.0 && r.deadline < t0 + 1.5);
  ASSERT_TRUE(strncmp(r.rule_id, "FAKERULE", 8) == 0);
  ASSERT_EQ_INT(k.seen, 1);
  ASSERT_EQ_INT(k.rows_at_on, 1); /* committed before the relay-on was sent */
  ASSERT_TRUE(!store_in_transaction(st));
  /* One request: rules cleared, the countdown added, then the relay on. */
  ASSERT_EQ_INT(d.nreq, 1);
  const char *q = fake_request(&d, 0);
  ASSERT_TRUE(strstr(q, "delete_all_rules") && strstr(q, "add_rule") &&
              strstr(q, "delete_all_rules") < strstr(q, "add_rule") &&
              strstr(q, "add_rule") < strstr(q, "set_relay_state"));
  ASSERT_EQ_INT(d.relay, 1);
  ASSERT_EQ_INT(cJSON_GetArraySize(d.rules), 1);
  const cJSON *rule = cJSON_GetArrayItem(d.rules, 0);
  ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(rule, "delay")->valuedouble, 1);
  ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(rule, "act")->valuedouble, 0);
  ASSERT_EQ_INT(cJSON_GetObjectItemCaseSensitive(rule, "enable")->valuedouble, 1);
  ASSERT_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rule, "name")),
                PLUG_RULE_NAME);
  double dl = 0;
  ASSERT_TRUE(plug_pulse_active(c, "127.0.0.1", d.port, &dl));
  ASSERT_EQ_DBL(dl, r.deadline);
  ASSERT_EQ_INT(raw_count("pulse.db", "WHERE host = '127.0.0.1'"), 1);

  /* lp0's own switch-off, at the deadline. */
  ASSERT_TRUE(spin(&loop, &ev.n, 1, 3000));
  ASSERT_EQ_STR(ev.ev[0].code, "ok");
  ASSERT_TRUE(ev.ev[0].at >= r.deadline - 0.01 && ev.ev[0].at < r.deadline + 0.6);
  ASSERT_EQ_INT(d.relay, 0);
  ASSERT_EQ_INT(cJSON_GetArraySize(d.rules), 0);
  ASSERT_TRUE(!plug_pulse_active(c, "127.0.0.1", d.port, NULL));
  ASSERT_EQ_INT(raw_count("pulse.db", NULL), 0);

  /* A new pulse right after: cooldown, and nothing reaches the device. */
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 1, on_result, &r2, NULL), 0);
  ASSERT_TRUE(spin(&loop, &r2.calls, 1, 3000));
  ASSERT_EQ_INT(r2.status, PLUG_ECOOLDOWN);
  ASSERT_EQ_STR(r2.code, "cooldown");
  ASSERT_CONTAINS(r2.msg, "cooling down for 60 more seconds");
  ASSERT_EQ_INT(d.nreq, 2); /* the pulse and the switch-off only */
  ASSERT_EQ_INT(ev.n, 1);
  close_all(&loop, c, &d);
  store_close(st);
}

static void on_sample(uv_timer_t *t) {
  struct fake_dev *d = t->data;
  d->rule_seq += 1000 * d->relay; /* records the relay state at the sample time */
}

static void test_extend_and_cap(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct fake_dev d;
  ASSERT_EQ_INT(fake_start(&d, &loop), 0);
  struct plug_cfg cfg = cfg_with(2, 0);
  struct plug_ctl *c = plug_ctl_new(&loop, NULL, &cfg);
  struct events ev = {0};
  plug_ctl_observe(c, on_event, &ev);
  struct rec a = {0}, b = {0}, e = {0}, f = {0};
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 1, on_result, &a, NULL), 0);
  /* Queued behind the first: decided once it is on, so it is an extension. */
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 1, on_result, &b, NULL), 0);
  ASSERT_TRUE(spin(&loop, &b.calls, 1, 3000));
  ASSERT_EQ_STR(a.code, "ok");
  ASSERT_TRUE(!a.extended);
  ASSERT_EQ_STR(b.code, "ok");
  ASSERT_TRUE(b.extended);
  ASSERT_TRUE(b.deadline >= a.deadline);
  /* 5 s asked, the cap is 2 s from the pulse's start. */
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 5, on_result, &e, NULL), 0);
  ASSERT_TRUE(spin(&loop, &e.calls, 1, 3000));
  ASSERT_EQ_STR(e.code, "ok");
  ASSERT_TRUE(e.extended && e.capped);
  double started = a.deadline - 1;
  ASSERT_TRUE(fabs(e.deadline - (started + 2)) < 0.01);
  ASSERT_EQ_INT(e.seconds, 2);
  int sent = d.nreq;
  ASSERT_TRUE(sent == 2 || sent == 3); /* b changes nothing unless a second had begun */
  ASSERT_CONTAINS(fake_request(&d, (size_t)sent - 1), "\"delay\":2");
  ASSERT_EQ_INT(cJSON_GetArraySize(d.rules), 1); /* replaced, not added: no "table is full" */
  /* Past the first deadline the plug is still on; no toggling. */
  uv_timer_t sample;
  uv_timer_init(&loop, &sample);
  sample.data = &d;
  uv_timer_start(&sample, on_sample, (uint64_t)((a.deadline + 0.4 - clk_now()) * 1000), 0);
  ASSERT_TRUE(spin(&loop, &ev.n, 1, 4000));
  uv_close((uv_handle_t *)&sample, NULL);
  ASSERT_TRUE(d.rule_seq >= 1000); /* was on at first deadline + 0.4 s */
  ASSERT_EQ_STR(ev.ev[0].code, "ok");
  ASSERT_TRUE(ev.ev[0].at >= started + 2 - 0.01 && ev.ev[0].at < started + 2.6);
  ASSERT_EQ_INT(d.relay, 0);
  ASSERT_EQ_INT(d.nreq, sent + 1);
  /* Cooldown 0: a new pulse is a new pulse, not an extension. */
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 1, on_result, &f, NULL), 0);
  ASSERT_TRUE(spin(&loop, &f.calls, 1, 3000));
  ASSERT_EQ_STR(f.code, "ok");
  ASSERT_TRUE(!f.extended && !f.capped);
  ASSERT_TRUE(spin(&loop, &ev.n, 2, 3000));
  ASSERT_EQ_INT(ev.n, 2);
  close_all(&loop, c, &d);
}

static void test_manual_off(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct fake_dev d;
  ASSERT_EQ_INT(fake_start(&d, &loop), 0);
  struct store *st = open_store("off.db", 0);
  struct plug_cfg cfg = cfg_with(60, 60);
  struct plug_ctl *c = plug_ctl_new(&loop, st, &cfg);
  struct events ev = {0};
  plug_ctl_observe(c, on_event, &ev);
  struct rec a = {0}, b = {0}, e = {0};
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 30, on_result, &a, NULL), 0);
  ASSERT_EQ_INT(plug_off(c, "127.0.0.1", d.port, on_result, &b, NULL), 0);
  ASSERT_TRUE(spin(&loop, &b.calls, 1, 3000));
  ASSERT_EQ_STR(a.code, "ok");
  ASSERT_EQ_STR(b.code, "ok");
  ASSERT_EQ_INT(d.relay, 0);
  ASSERT_EQ_INT(cJSON_GetArraySize(d.rules), 0);
  ASSERT_TRUE(!plug_pulse_active(c, "127.0.0.1", d.port, NULL));
  ASSERT_EQ_INT(raw_count("off.db", NULL), 0);
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 1, on_result, &e, NULL), 0);
  ASSERT_TRUE(spin(&loop, &e.calls, 1, 3000));
  ASSERT_EQ_STR(e.code, "cooldown");
  close_all(&loop, c, &d);
  ASSERT_EQ_INT(ev.n, 0); /* the timer was stopped: no switch-off event later */
  store_close(st);
}

static void test_failures(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct fake_dev d;
  ASSERT_EQ_INT(fake_start(&d, &loop), 0);
  struct store *st = open_store("fail.db", 0);
  struct plug_cfg cfg = cfg_with(60, 0);
  cfg.timeout_ms = 300;
  cfg.off_retries = 1;
  cfg.off_retry_ms = 100;
  struct plug_ctl *c = plug_ctl_new(&loop, st, &cfg);
  struct events ev = {0};
  plug_ctl_observe(c, on_event, &ev);

  /* Refused: it never reached a device, so nothing is owed. */
  int fd, port = unlistened_port(&fd);
  struct rec a = {0};
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", port, 1, on_result, &a, NULL), 0);
  ASSERT_TRUE(spin(&loop, &a.calls, 1, 3000));
  close(fd);
  ASSERT_EQ_INT(a.status, PLUG_EKASA);
  ASSERT_EQ_STR(a.code, "refused");
  ASSERT_EQ_DBL(a.deadline, 0);
  ASSERT_TRUE(!plug_pulse_active(c, "127.0.0.1", port, NULL));
  ASSERT_EQ_INT(raw_count("fail.db", NULL), 0);

  /* The answer is lost: the plug may be on, so lp0 still switches it off at the deadline. */
  struct rec b = {0};
  d.silent_next = 1;
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 1, on_result, &b, NULL), 0);
  ASSERT_TRUE(spin(&loop, &b.calls, 1, 3000));
  ASSERT_EQ_STR(b.code, "timeout");
  ASSERT_CONTAINS(b.msg, "may have switched on");
  ASSERT_TRUE(b.deadline > 0);
  ASSERT_EQ_INT(d.relay, 1); /* it had, indeed */
  ASSERT_EQ_INT(raw_count("fail.db", NULL), 1);
  ASSERT_TRUE(spin(&loop, &ev.n, 1, 3000));
  ASSERT_EQ_STR(ev.ev[0].code, "ok");
  ASSERT_EQ_INT(d.relay, 0);
  ASSERT_EQ_INT(raw_count("fail.db", NULL), 0);

  /* The plug dies during a pulse: 1 + off_retries attempts, then an error event; the
   * deadline stays stored for the next start. */
  struct rec e = {0};
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 1, on_result, &e, NULL), 0);
  ASSERT_TRUE(spin(&loop, &e.calls, 1, 3000));
  ASSERT_EQ_STR(e.code, "ok");
  d.mode = FAKE_SILENT;
  int before = d.nreq;
  ASSERT_TRUE(spin(&loop, &ev.n, 2, 4000));
  ASSERT_EQ_INT(ev.ev[1].status, PLUG_EKASA);
  ASSERT_EQ_STR(ev.ev[1].code, "timeout");
  ASSERT_CONTAINS(ev.ev[1].msg, "gave up switching it off after 2 attempts");
  ASSERT_EQ_INT(d.nreq - before, 2);
  ASSERT_EQ_INT(raw_count("fail.db", NULL), 1);
  ASSERT_TRUE(!plug_pulse_active(c, "127.0.0.1", d.port, NULL));
  close_all(&loop, c, &d);
  store_close(st);
}

static void test_store_refuses(void) {
  store_close(open_store("ro.db", 0)); /* create it with the current schema */
  struct store *ro = open_store("ro.db", STORE_READONLY);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct fake_dev d;
  ASSERT_EQ_INT(fake_start(&d, &loop), 0);
  struct plug_cfg cfg = cfg_with(60, 0);
  struct plug_ctl *c = plug_ctl_new(&loop, ro, &cfg);
  struct rec a = {0};
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 1, on_result, &a, NULL), 0);
  ASSERT_TRUE(spin(&loop, &a.calls, 1, 3000));
  ASSERT_EQ_INT(a.status, PLUG_ESTORE);
  ASSERT_EQ_STR(a.code, "store");
  ASSERT_CONTAINS(a.msg, "deadline could not be stored");
  ASSERT_EQ_INT(d.nreq, 0); /* never switched on */
  ASSERT_EQ_INT(d.relay, 0);
  close_all(&loop, c, &d);
  store_close(ro);
}

static void test_recover(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct fake_dev a, b;
  ASSERT_EQ_INT(fake_start(&a, &loop), 0);
  ASSERT_EQ_INT(fake_start(&b, &loop), 0);
  a.relay = b.relay = 1; /* both left on by an lp0 that died */
  struct store *st = open_store("recover.db", 0);
  double now = clk_now();
  ASSERT_EQ_INT(store_plug_deadline_set(st, "127.0.0.1", a.port, now - 5, now - 10), 0);
  ASSERT_EQ_INT(store_plug_deadline_set(st, "127.0.0.1", b.port, now + 1, now - 1), 0);
  struct plug_cfg cfg = cfg_with(60, 0);
  struct plug_ctl *c = plug_ctl_new(&loop, st, &cfg);
  struct events ev = {0};
  plug_ctl_observe(c, on_event, &ev);
  ASSERT_EQ_INT(plug_recover(c), 2);
  double dl = 0;
  ASSERT_TRUE(plug_pulse_active(c, "127.0.0.1", b.port, &dl));
  ASSERT_EQ_DBL(dl, now + 1);
  ASSERT_TRUE(spin(&loop, &ev.n, 1, 3000));
  ASSERT_EQ_INT(ev.ev[0].port, a.port);
  ASSERT_EQ_INT(a.relay, 0);       /* the expired one at once */
  ASSERT_EQ_INT(b.relay, 1);       /* the other one waits for its deadline */
  ASSERT_TRUE(ev.ev[0].at < now + 0.8);
  ASSERT_TRUE(spin(&loop, &ev.n, 2, 3000));
  ASSERT_EQ_INT(b.relay, 0);
  ASSERT_TRUE(ev.ev[1].at >= now + 1 - 0.01);
  ASSERT_EQ_INT(ev.ev[1].port, b.port);
  ASSERT_EQ_STR(ev.ev[0].code, "ok");
  ASSERT_EQ_STR(ev.ev[1].code, "ok");
  ASSERT_EQ_INT(raw_count("recover.db", NULL), 0);
  ASSERT_CONTAINS(fake_request(&a, 0), "\"state\":0");
  plug_ctl_close(c);
  fake_stop(&a);
  fake_stop(&b);
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT_EQ_INT(uv_loop_close(&loop), 0);
  fake_free(&a);
  fake_free(&b);
  store_close(st);
}

static void test_close_and_detach(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct fake_dev d;
  ASSERT_EQ_INT(fake_start(&d, &loop), 0);
  struct plug_cfg cfg = cfg_with(60, 0);
  struct plug_ctl *c = plug_ctl_new(&loop, NULL, &cfg);
  struct events ev = {0};
  plug_ctl_observe(c, on_event, &ev);
  /* Detached: the pulse still runs to its switch-off, but nobody is called back. */
  struct rec a = {0}, b = {0}, e = {0};
  struct plug_op *op = NULL;
  ASSERT_EQ_INT(plug_pulse(c, "127.0.0.1", d.port, 1, on_result, &a, &op), 0);
  ASSERT_TRUE(op != NULL);
  plug_op_detach(op);
  ASSERT_TRUE(spin(&loop, &ev.n, 1, 3000));
  ASSERT_EQ_INT(a.calls, 0);
  ASSERT_EQ_STR(ev.ev[0].code, "ok");
  ASSERT_EQ_INT(d.relay, 0);
  /* Closed with a command in flight and one queued: neither calls back; nothing leaks. */
  d.mode = FAKE_SILENT;
  ASSERT_EQ_INT(plug_info(c, "127.0.0.1", d.port, on_result, &b, NULL), 0);
  ASSERT_EQ_INT(plug_info(c, "127.0.0.1", d.port, on_result, &e, NULL), 0);
  while (d.nreq < 2) uv_run(&loop, UV_RUN_ONCE);
  uint64_t t0 = uv_hrtime();
  close_all(&loop, c, &d);
  ASSERT_TRUE(uv_hrtime() - t0 < 1000000000u);
  ASSERT_EQ_INT(b.calls + e.calls, 0);
}

static int list_cb(const struct store_plug_deadline *row, void *ud) {
  struct buf *b = ud;
  buf_printf(b, "%s:%d@%.1f/%.1f;", row->host, row->port, row->deadline, row->started_at);
  return 0;
}

static void test_store_rows_and_migration(void) {
  struct store *st = open_store("mig.db", 0);
  ASSERT_EQ_INT(store_schema_version(st), STORE_SCHEMA_VERSION);
  store_close(st);
  /* Make it a version-1 database, as an older lp0 left it. */
  char *path = xasprintf("%s/mig.db", tmp_root);
  sqlite3 *db = NULL;
  ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
  ASSERT_EQ_INT(sqlite3_exec(db, "DROP TABLE plug_deadlines; DROP TABLE corr_groups;"
                                 " DELETE FROM schema_version WHERE version >= 2", NULL, NULL, NULL),
                SQLITE_OK);
  sqlite3_close(db);
  free(path);
  st = open_store("mig.db", 0);
  ASSERT_EQ_INT(store_schema_version(st), STORE_SCHEMA_VERSION); /* 1 -> 2 -> 3 */
  ASSERT_TRUE(!store_created(st));
  ASSERT_EQ_INT(store_plug_deadline_set(st, "plug-b", 9999, 200.5, 190), 0);
  ASSERT_EQ_INT(store_plug_deadline_set(st, "plug-a", 9999, 100.5, 90), 0);
  ASSERT_EQ_INT(store_plug_deadline_set(st, "plug-a", 9999, 150.5, 90), 0); /* replaces */
  ASSERT_EQ_INT(store_plug_deadline_set(st, "plug-a", 19999, 120, 110), 0);
  struct buf b;
  buf_init(&b);
  ASSERT_EQ_INT(store_plug_deadline_list(st, list_cb, &b), 0);
  ASSERT_EQ_STR(b.data, "plug-a:19999@120.0/110.0;plug-a:9999@150.5/90.0;plug-b:9999@200.5/190.0;");
  ASSERT_EQ_INT(store_plug_deadline_delete(st, "plug-a", 9999), 0);
  ASSERT_EQ_INT(store_plug_deadline_delete(st, "nothing", 1), 0);
  b.len = 0;
  b.data[0] = '\0';
  ASSERT_EQ_INT(store_plug_deadline_list(st, list_cb, &b), 0);
  ASSERT_EQ_STR(b.data, "plug-a:19999@120.0/110.0;plug-b:9999@200.5/190.0;");
  buf_free(&b);
  ASSERT_EQ_INT(store_plug_deadline_set(st, "", 9999, 1, 1), -EINVAL);
  ASSERT_EQ_INT(store_plug_deadline_set(st, "h", 0, 1, 1), -EINVAL);
  ASSERT_EQ_INT(store_plug_deadline_set(st, "h", 9999, 0, 1), -EINVAL);
  store_close(st);
}

int main(void) {
  char tmpl[] = "/tmp/lp0-test-plug-XXXXXX";
  tmp_root = mkdtemp(tmpl);
  if (!tmp_root) return 2;
  test_store_rows_and_migration();
  test_info_and_order();
  test_pulse();
  test_extend_and_cap();
  test_manual_off();
  test_failures();
  test_store_refuses();
  test_recover();
  test_close_and_detach();
  nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  CHECK_DONE();
}

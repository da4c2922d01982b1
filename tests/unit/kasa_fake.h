/* kasa_fake.h — a fake Kasa plug for the unit tests (test_kasa.c, test_plug.c): a libuv
 * TCP server on 127.0.0.1:0, in the test's own loop, that speaks the real protocol
 * (length-prefixed, autokey cipher) and keeps a relay state and a countdown rule table
 * like an HS100. Misbehaviours (silence, split answers, early EOF, oversize length,
 * garbage) are chosen per connection with `mode`.
 * Header-only (static functions): each test is one executable.
 */
#ifndef LP0_KASA_FAKE_H
#define LP0_KASA_FAKE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "kasa.h"
#include "util.h"

enum fake_mode {
  FAKE_NORMAL,   /* answer in one write, then close (as a plug does) */
  FAKE_SILENT,   /* read the request, never answer */
  FAKE_SPLIT,    /* answer in 3 writes 30 ms apart */
  FAKE_EOF,      /* announce the full length, send 5 bytes, close */
  FAKE_OVERSIZE, /* announce 1 MiB */
  FAKE_GARBAGE,  /* a well-framed answer that is not JSON */
};

#define FAKE_MAX_CONNS 32

struct fake_conn;

struct fake_dev {
  uv_loop_t *loop;
  uv_tcp_t listener;
  int port;
  enum fake_mode mode;
  int silent_next;  /* this many requests get FAKE_SILENT, then `mode` again */
  int relay;
  cJSON *rules;     /* the count_down rule_list */
  int rule_seq;
  struct vec requests; /* char *: every decrypted request, in order */
  size_t first_read[64]; /* bytes of each connection's first read (single-write check) */
  size_t frame_len[64];  /* the full frame of that request */
  int nreq;
  int open_conns, max_conns, accepted;
  struct fake_conn *conns[FAKE_MAX_CONNS];
  /* called for every complete request before it is processed (may be NULL) */
  void (*on_request)(struct fake_dev *d, const char *json, void *ud);
  void *ud;
  bool closed;
};

struct fake_conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  struct fake_dev *d;
  struct kasa_rx rx;
  int reads;
  enum fake_mode mode;
  unsigned char *out; /* the answer being sent in pieces (FAKE_SPLIT) */
  size_t out_len, sent;
  int handles;
  bool closing;
};

struct fake_write {
  uv_write_t w;
  char data[];
};

static void fake_conn_handle_closed(uv_handle_t *h) {
  struct fake_conn *c = h->data;
  if (--c->handles > 0) return;
  kasa_rx_free(&c->rx);
  free(c->out);
  free(c);
}

static void fake_conn_close(struct fake_conn *c) {
  if (c->closing) return;
  c->closing = true;
  struct fake_dev *d = c->d;
  d->open_conns--;
  for (int i = 0; i < FAKE_MAX_CONNS; i++)
    if (d->conns[i] == c) d->conns[i] = NULL;
  uv_close((uv_handle_t *)&c->tcp, fake_conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, fake_conn_handle_closed);
}

static void fake_on_write(uv_write_t *w, int status) {
  (void)status;
  free(w);
}

static void fake_send(struct fake_conn *c, const void *p, size_t n) {
  struct fake_write *fw = xmalloc(sizeof *fw + n);
  memcpy(fw->data, p, n);
  uv_buf_t b = uv_buf_init(fw->data, (unsigned)n);
  if (uv_write(&fw->w, (uv_stream_t *)&c->tcp, &b, 1, fake_on_write) != 0) free(fw);
}

static cJSON *fake_sysinfo(struct fake_dev *d) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "sw_ver", "1.2.5 Build 171129 Rel.174814");
  cJSON_AddStringToObject(o, "hw_ver", "1.0");
  cJSON_AddStringToObject(o, "model", "HS100(EU)");
  cJSON_AddStringToObject(o, "alias", "fake compressor");
  cJSON_AddStringToObject(o, "mac", "50:C7:BF:00:00:01");
  cJSON_AddStringToObject(o, "deviceId", "FAKE0001");
  cJSON_AddNumberToObject(o, "relay_state", d->relay);
  cJSON_AddNumberToObject(o, "on_time", d->relay ? 7 : 0);
  cJSON_AddNumberToObject(o, "err_code", 0);
  return o;
}

static cJSON *fake_err(int code, const char *msg) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "err_code", code);
  cJSON_AddStringToObject(o, "err_msg", msg);
  return o;
}

static cJSON *fake_ok(void) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "err_code", 0);
  return o;
}

static cJSON *fake_method(struct fake_dev *d, const char *mod, const cJSON *m) {
  const char *name = m->string;
  if (!strcmp(mod, "system")) {
    if (!strcmp(name, "get_sysinfo")) return fake_sysinfo(d);
    if (!strcmp(name, "set_relay_state")) {
      const cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "state");
      if (!cJSON_IsNumber(s)) return fake_err(-3, "invalid argument");
      d->relay = s->valuedouble != 0;
      return fake_ok();
    }
  } else if (!strcmp(mod, "count_down")) {
    if (!strcmp(name, "get_rules")) {
      cJSON *o = fake_ok();
      cJSON_AddItemToObject(o, "rule_list", cJSON_Duplicate(d->rules, 1));
      return o;
    }
    if (!strcmp(name, "delete_all_rules")) {
      cJSON_Delete(d->rules);
      d->rules = cJSON_CreateArray();
      return fake_ok();
    }
    if (!strcmp(name, "add_rule")) {
      if (cJSON_GetArraySize(d->rules) > 0) return fake_err(-10, "table is full");
      cJSON *r = cJSON_Duplicate(m, 1);
      char id[40];
      snprintf(id, sizeof id, "FAKERULE%024d", ++d->rule_seq);
      cJSON_AddStringToObject(r, "id", id);
      cJSON_AddItemToArray(d->rules, r);
      cJSON *o = fake_ok();
      cJSON_AddStringToObject(o, "id", id);
      return o;
    }
  } else {
    return NULL; /* unknown module: answered at module level */
  }
  return fake_err(-2, "member not support");
}

/* The answer to a request, as the device would build it (new string). */
static char *fake_process(struct fake_dev *d, const char *json) {
  cJSON *req = cJSON_Parse(json), *resp = cJSON_CreateObject();
  for (const cJSON *mod = req ? req->child : NULL; mod; mod = mod->next) {
    cJSON *rm = NULL;
    for (const cJSON *m = mod->child; m; m = m->next) {
      cJSON *r = fake_method(d, mod->string, m);
      if (!r) {
        cJSON_Delete(rm);
        rm = fake_err(-1, "module not support");
        break;
      }
      if (!rm) rm = cJSON_CreateObject();
      cJSON_AddItemToObject(rm, m->string, r);
    }
    cJSON_AddItemToObject(resp, mod->string, rm ? rm : cJSON_CreateObject());
  }
  char *s = cJSON_PrintUnformatted(resp);
  cJSON_Delete(req);
  cJSON_Delete(resp);
  return s;
}

static void fake_on_split(uv_timer_t *t) {
  struct fake_conn *c = t->data;
  size_t piece = c->out_len / 3 + 1;
  size_t n = c->out_len - c->sent < piece ? c->out_len - c->sent : piece;
  fake_send(c, c->out + c->sent, n);
  c->sent += n;
  if (c->sent < c->out_len) uv_timer_start(&c->timer, fake_on_split, 30, 0);
  else fake_conn_close(c);
}

static void fake_answer(struct fake_conn *c, const char *json) {
  struct fake_dev *d = c->d;
  size_t len = strlen(json), flen;
  unsigned char *frame = kasa_frame(json, len, &flen);
  switch (c->mode) {
  case FAKE_NORMAL:
    fake_send(c, frame, flen);
    fake_conn_close(c);
    break;
  case FAKE_SILENT: break;
  case FAKE_SPLIT:
    c->out = frame, c->out_len = flen, frame = NULL;
    fake_on_split(&c->timer);
    break;
  case FAKE_EOF:
    fake_send(c, frame, 5);
    fake_conn_close(c);
    break;
  case FAKE_OVERSIZE: {
    unsigned char h[8] = {0, 0x10, 0, 0, 1, 2, 3, 4};
    fake_send(c, h, sizeof h);
    break;
  }
  case FAKE_GARBAGE: {
    size_t glen;
    unsigned char *g = kasa_frame("<html>no</html>", 15, &glen);
    fake_send(c, g, glen);
    free(g);
    fake_conn_close(c);
    break;
  }
  }
  (void)d;
  free(frame);
}

static void fake_on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)h;
  b->base = xmalloc(sz);
  b->len = sz;
}

static void fake_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct fake_conn *c = s->data;
  struct fake_dev *d = c->d;
  if (n < 0) {
    free(b->base);
    fake_conn_close(c);
    return;
  }
  int idx = d->nreq;
  if (n > 0 && c->reads++ == 0 && idx < 64) d->first_read[idx] = (size_t)n;
  int fed = n > 0 ? kasa_rx_feed(&c->rx, b->base, (size_t)n) : 0;
  free(b->base);
  if (fed < 0) {
    fake_conn_close(c);
  } else if (fed == 1) {
    size_t len;
    char *json = kasa_rx_take(&c->rx, &len);
    if (idx < 64) d->frame_len[idx] = len + 4;
    d->nreq++;
    vec_push(&d->requests, xstrdup(json));
    if (d->on_request) d->on_request(d, json, d->ud);
    if (d->silent_next > 0) {
      d->silent_next--;
      c->mode = FAKE_SILENT;
    }
    uv_read_stop(s); /* one request per connection, like the plug */
    char *answer = fake_process(d, json);
    fake_answer(c, answer);
    free(answer);
    free(json);
  }
}

static void fake_on_connection(uv_stream_t *server, int status) {
  struct fake_dev *d = server->data;
  if (status < 0) return;
  struct fake_conn *c = xcalloc(1, sizeof *c);
  c->d = d;
  c->mode = d->mode;
  kasa_rx_init(&c->rx);
  uv_tcp_init(d->loop, &c->tcp);
  uv_timer_init(d->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, fake_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, fake_conn_handle_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  d->accepted++;
  if (++d->open_conns > d->max_conns) d->max_conns = d->open_conns;
  for (int i = 0; i < FAKE_MAX_CONNS; i++)
    if (!d->conns[i]) {
      d->conns[i] = c;
      break;
    }
  uv_read_start((uv_stream_t *)&c->tcp, fake_on_alloc, fake_on_read);
}

/* Starts the fake on 127.0.0.1:0; returns 0 or a libuv error. */
static int fake_start(struct fake_dev *d, uv_loop_t *loop) {
  memset(d, 0, sizeof *d);
  d->loop = loop;
  d->rules = cJSON_CreateArray();
  struct sockaddr_in a;
  int rc = uv_ip4_addr("127.0.0.1", 0, &a);
  if (rc == 0) rc = uv_tcp_init(loop, &d->listener);
  d->listener.data = d;
  if (rc == 0) rc = uv_tcp_bind(&d->listener, (const struct sockaddr *)&a, 0);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&d->listener, 16, fake_on_connection);
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (rc == 0) rc = uv_tcp_getsockname(&d->listener, (struct sockaddr *)&ss, &len);
  if (rc == 0) d->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  return rc;
}

/* Stops listening and closes open connections (run the loop after). */
static void fake_stop(struct fake_dev *d) {
  if (d->closed) return;
  d->closed = true;
  uv_close((uv_handle_t *)&d->listener, NULL);
  for (int i = 0; i < FAKE_MAX_CONNS; i++)
    if (d->conns[i]) fake_conn_close(d->conns[i]);
}

/* Frees what fake_stop leaves (after the loop has run the close callbacks). */
static void fake_free(struct fake_dev *d) {
  for (size_t i = 0; i < d->requests.len; i++) free(d->requests.items[i]);
  vec_free(&d->requests);
  cJSON_Delete(d->rules);
  d->rules = NULL;
}

static const char *fake_request(const struct fake_dev *d, size_t i) {
  return i < d->requests.len ? d->requests.items[i] : "";
}

/* A port that is bound but does not listen: connecting is refused, with no race. */
static int unlistened_port(int *fd) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(*fd, (struct sockaddr *)&a, &len) != 0)
    return -1;
  return ntohs(a.sin_port);
}

#endif

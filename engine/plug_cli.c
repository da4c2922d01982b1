/* plug_cli.c — `lp0 plug`: one command to one plug, on a loop of its own.
 *
 * It goes through the same controller as the daemon (plug.c), so `pulse` by hand is the
 * real thing: relay on with the device-side countdown rule, and lp0's own switch-off at
 * the deadline; the command returns once the plug is off again. SIGINT/SIGTERM during a
 * pulse switch the plug off before exiting. With --state-dir the deadline is stored where
 * `lp0 run` finds it at start-up, in case this process is killed outright.
 * SPDX-License-Identifier: MIT
 */
#include "plug_cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "clock.h"
#include "log.h"
#include "plug.h"
#include "store.h"
#include "util.h"

static const char usage[] =
    "usage: lp0 plug HOST [options] info|on|off|pulse SECONDS\n"
    "\n"
    "Talks to a TP-Link Kasa smart plug (HS100/HS110 and others with the legacy local\n"
    "protocol on TCP port 9999; firmware from late 2020 on does not have it: docs/plug.md).\n"
    "\n"
    "commands:\n"
    "  info             alias, model, firmware, relay state and on time\n"
    "  on, off          switch the relay (off also deletes the countdown rules)\n"
    "  pulse SECONDS    on for SECONDS (at most --max-on) with a countdown rule on the\n"
    "                   device as a safety net; returns once lp0 has switched it off\n"
    "\n"
    "options:\n"
    "  -p, --port N          TCP port (default 9999)\n"
    "  -t, --timeout MS      per command: resolve, connect and answer (default 3000)\n"
    "  -m, --max-on SECONDS  hard cap of a pulse (default 60)\n"
    "  -s, --state-dir DIR   store the pulse's deadline in DIR/lp0.db, where `lp0 run`\n"
    "                        switches the plug off at start-up if this process died\n"
    "  -h, --help            show this help\n"
    "\n"
    "exit codes: 0 success, 1 device or network error, 2 usage error\n";

enum cmd { CMD_INFO, CMD_ON, CMD_OFF, CMD_PULSE };

struct cli {
  uv_loop_t loop;
  uv_signal_t sig[2];
  struct plug_ctl *ctl;
  struct store *st;
  const char *host;
  int port;
  enum cmd cmd;
  int seconds;
  int code;
  bool waiting_off; /* a pulse is on: wait for the switch-off */
  bool interrupted, finished;
  int max_on;
  double started; /* the pulse's start (epoch seconds), from its deadline */
};

static void finish(struct cli *c) {
  if (c->finished) return;
  c->finished = true;
  plug_ctl_close(c->ctl);
  for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&c->sig[i], NULL);
}

static void print_info(const struct plug_info *i) {
  printf("alias:       %s\n", i->alias);
  printf("model:       %s\n", i->model);
  printf("relay_state: %s\n", i->relay_state ? "on" : "off");
  printf("on_time:     %lld s\n", i->on_time);
  printf("sw_ver:      %s\n", i->sw_ver);
  printf("hw_ver:      %s\n", i->hw_ver);
  printf("mac:         %s\n", i->mac);
  printf("deviceId:    %s\n", i->device_id);
}

static void on_done(const struct plug_result *r, void *ud) {
  struct cli *c = ud;
  if (r->status != PLUG_OK) {
    fprintf(stderr, "lp0: %s\n", r->message);
    c->code = 1;
  }
  switch (c->cmd) {
  case CMD_INFO:
    if (r->info) print_info(r->info);
    break;
  case CMD_ON:
  case CMD_OFF:
    if (r->status == PLUG_OK) printf("%s:%d: %s\n", r->host, r->port, c->cmd == CMD_ON ? "on" : "off");
    break;
  case CMD_PULSE:
    if (r->status == PLUG_OK) {
      c->started = r->deadline - (c->seconds < c->max_on ? c->seconds : c->max_on);
      printf("%s:%d: on for %d s%s; countdown rule %s installed on the device (act off, delay"
             " %d s)\n", r->host, r->port, r->seconds, r->capped ? " (capped by --max-on)" : "",
             *r->rule_id ? r->rule_id : "(no id)", r->seconds);
    }
    /* Also after an uncertain failure: lp0 switches it off at the deadline anyway. */
    if (r->deadline > 0) {
      c->waiting_off = true;
      fflush(stdout);
      return;
    }
    break;
  }
  finish(c);
}

/* The switch-off of the pulse (by lp0's timer), or the last failed attempt. */
static void on_event(const struct plug_result *r, void *ud) {
  struct cli *c = ud;
  if (r->status == PLUG_OK)
    printf("%s:%d: off (switched off by lp0 %.1f s after the pulse began)\n", r->host, r->port,
           c->started > 0 ? clk_now() - c->started : 0.0);
  else {
    fprintf(stderr, "lp0: %s\n", r->message);
    c->code = 1;
  }
  finish(c);
}

static void on_interrupt_off(const struct plug_result *r, void *ud) {
  struct cli *c = ud;
  if (r->status == PLUG_OK) fprintf(stderr, "lp0: %s:%d: switched off\n", r->host, r->port);
  else fprintf(stderr, "lp0: %s (its countdown rule switches it off)\n", r->message);
  finish(c);
}

static void on_signal(uv_signal_t *h, int signum) {
  struct cli *c = h->data;
  if (c->interrupted || c->finished) return;
  c->interrupted = true;
  c->code = 1;
  if (!c->waiting_off) {
    fprintf(stderr, "lp0: interrupted (%s)\n", strsignal(signum));
    finish(c);
    return;
  }
  fprintf(stderr, "lp0: interrupted (%s): switching %s:%d off\n", strsignal(signum), c->host,
          c->port);
  if (plug_off(c->ctl, c->host, c->port, on_interrupt_off, c, NULL) != 0) finish(c);
}

static int parse_int(const char *s, long lo, long hi, long *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (!*s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static int usage_error(const char *msg) {
  fprintf(stderr, "lp0: %s\n\n%s", msg, usage);
  return 2;
}

static int open_state(struct cli *c, const char *dir) {
  char *path = xasprintf("%s/lp0.db", dir), *err = NULL;
  int rc = store_open(path, STORE_MKDIR, &c->st, &err);
  free(path);
  if (rc != 0) {
    fprintf(stderr, "lp0: %s\n", err ? err : "cannot open the store");
    free(err);
  }
  return rc;
}

/* Runs the command; returns the exit code. */
static int run(struct cli *c, const struct plug_cfg *cfg) {
  int rc = uv_loop_init(&c->loop);
  if (rc < 0) {
    fprintf(stderr, "lp0: event loop: %s\n", uv_strerror(rc));
    return 1;
  }
  int signums[2] = {SIGINT, SIGTERM};
  for (int i = 0; i < 2; i++) {
    if ((rc = uv_signal_init(&c->loop, &c->sig[i])) < 0 ||
        (rc = uv_signal_start(&c->sig[i], on_signal, signums[i])) < 0) {
      fprintf(stderr, "lp0: signal handler: %s\n", uv_strerror(rc));
      abort(); /* a fresh loop refusing a signal handle is not recoverable */
    }
    c->sig[i].data = c;
  }
  c->ctl = plug_ctl_new(&c->loop, c->st, cfg);
  plug_ctl_observe(c->ctl, on_event, c);
  switch (c->cmd) {
  case CMD_INFO: rc = plug_info(c->ctl, c->host, c->port, on_done, c, NULL); break;
  case CMD_ON: rc = plug_on(c->ctl, c->host, c->port, on_done, c, NULL); break;
  case CMD_OFF: rc = plug_off(c->ctl, c->host, c->port, on_done, c, NULL); break;
  case CMD_PULSE: rc = plug_pulse(c->ctl, c->host, c->port, c->seconds, on_done, c, NULL); break;
  }
  if (rc != 0) { /* arguments were checked: only -EINVAL on a bug */
    fprintf(stderr, "lp0: cannot start the command (%d)\n", rc);
    c->code = 1;
    finish(c);
  }
  rc = uv_run(&c->loop, UV_RUN_DEFAULT);
  if (rc != 0) log_warn("plug: loop ended with active handles");
  rc = uv_loop_close(&c->loop);
  if (rc < 0) log_warn("plug: closing the loop: %s", uv_strerror(rc));
  return c->code;
}

int plug_main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"port", required_argument, NULL, 'p'},   {"timeout", required_argument, NULL, 't'},
      {"max-on", required_argument, NULL, 'm'}, {"state-dir", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  struct cli c;
  memset(&c, 0, sizeof c);
  c.port = KASA_DEFAULT_PORT;
  struct plug_cfg cfg;
  plug_cfg_default(&cfg);
  const char *state = NULL;
  long v;
  int opt;
  optind = 1;
  log_set_level(LOG_WARN); /* the CLI prints its own lines for what the log would say */
  while ((opt = getopt_long(argc, argv, "p:t:m:s:h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'p':
      if (parse_int(optarg, 1, 65535, &v)) return usage_error("--port takes a number from 1 to 65535");
      c.port = (int)v;
      break;
    case 't':
      if (parse_int(optarg, 1, 600000, &v)) return usage_error("--timeout takes milliseconds, from 1 to 600000");
      cfg.timeout_ms = (uint64_t)v;
      break;
    case 'm':
      if (parse_int(optarg, 1, 86400, &v)) return usage_error("--max-on takes seconds, from 1 to 86400");
      cfg.max_on_seconds = (int)v;
      break;
    case 's': state = optarg; break;
    case 'h': fputs(usage, stdout); return 0;
    default: return usage_error("bad option");
    }
  }
  int npos = argc - optind;
  char **pos = argv + optind;
  if (npos < 2) return usage_error("plug needs a HOST and a command");
  c.host = pos[0];
  const char *cmd = pos[1];
  int want = 2;
  if (!strcmp(cmd, "info")) c.cmd = CMD_INFO;
  else if (!strcmp(cmd, "on")) c.cmd = CMD_ON;
  else if (!strcmp(cmd, "off")) c.cmd = CMD_OFF;
  else if (!strcmp(cmd, "pulse")) {
    c.cmd = CMD_PULSE;
    want = 3;
    if (npos < 3 || parse_int(pos[2], 1, 86400, &v))
      return usage_error("pulse takes SECONDS, from 1 to 86400");
    c.seconds = (int)v;
  } else {
    return usage_error("unknown plug command (info, on, off or pulse SECONDS)");
  }
  if (npos > want) return usage_error("too many arguments");
  if (!*c.host) return usage_error("empty HOST");
  if (state && open_state(&c, state) != 0) return 2;
  c.max_on = cfg.max_on_seconds;
  int code = run(&c, &cfg);
  store_close(c.st);
  return code;
}

/* main.c — the lp0 command line: dispatch to run/test/check/replay with their options.
 *
 * Exit codes are part of the interface: 0 success; 1 tests failed, check found problems
 * or replay hit unreadable input; 2 usage or configuration error.
 * SPDX-License-Identifier: MIT
 */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "daemon.h"
#include "config.h"
#include "dedup.h"
#include "detect.h"
#include "log.h"
#include "lookup.h"
#include "plug_cli.h"
#include "replay.h"
#include "store.h"
#include "story.h"
#include "story_cli.h"
#include "suppress.h"
#include "testrun.h"
#include "util.h"

static const char usage_main[] =
    "usage: lp0 <command> [options]\n"
    "\n"
    "lp0 turns security logs into few, rich alerts: Lua detections, tested like code.\n"
    "\n"
    "commands:\n"
    "  run                the daemon: webhook ingest on HTTP, detection, alerts (store + log)\n"
    "  alerts             list the alerts of the store\n"
    "  runs               list story runs; runs retry ID requeues a dead one\n"
    "  story run NAME     run one story once against a saved alert (--alert FILE)\n"
    "  test [PATH...]     run the tests of the detections under PATH (default ./detections)\n"
    "  check [PATH...]    load detections and report every problem, without running tests\n"
    "  replay FILE...     evaluate log files (NDJSON, JSON arrays, CloudTrail Records, gzip)\n"
    "                     and print the alerts they raise as NDJSON\n"
    "  plug HOST CMD      check or drive a Kasa smart plug: info, on, off, pulse SECONDS\n"
    "\n"
    "options:\n"
    "  -h, --help         show this help (also: lp0 <command> --help)\n"
    "  -V, --version      show the version\n"
    "\n"
    "exit codes: 0 success, 1 failures found, 2 usage or configuration error\n"
    "documentation: docs/cli.md, docs/detections.md\n";

static const char usage_test[] =
    "usage: lp0 test [options] [PATH...]\n"
    "\n"
    "Loads every detection under PATH (default ./detections) and runs its tests: the\n"
    "`tests` array of the file and the sidecar <name>.tests.json. *_spec.lua files run\n"
    "as Lua specs. The last line is \"N passed, N failed\".\n"
    "\n"
    "options:\n"
    "  -f, --filter PATTERN  only tests whose detection id, file or name contains PATTERN\n"
    "  -j, --junit FILE      also write a JUnit XML report to FILE\n"
    "  -v, --verbose         list passing tests and show the scripts' log lines\n"
    "  -r, --require-tests   a detection without tests is a failure (default: a warning)\n"
    "  -h, --help            show this help\n";

static const char usage_check[] =
    "usage: lp0 check [-c FILE] [PATH...]\n"
    "\n"
    "Loads every detection under PATH (default ./detections) without running tests and\n"
    "reports every problem at once as file:line: message: syntax errors, missing id, rule,\n"
    "log_types or default_severity, unknown severities, duplicate ids, malformed match,\n"
    "non-positive threshold or dedup window. Exit 1 when there is any.\n"
    "With -c FILE, also validates the daemon's configuration file and, without PATH,\n"
    "checks the detections it names.\n";

static const char usage_replay[] =
    "usage: lp0 replay [options] FILE...\n"
    "\n"
    "Evaluates events from FILE (\"-\" = stdin) through the detections with the same\n"
    "dedup and threshold code as the daemon, on event time, and writes each alert once,\n"
    "as one NDJSON line, when its window closes or at the end of input (docs/alerts.md).\n"
    "Input: NDJSON, a JSON array, CloudTrail {\"Records\": [...]}, gzip of these.\n"
    "A summary goes to stderr.\n"
    "\n"
    "options:\n"
    "  -d, --detections DIR  detections to load (repeatable; default ./detections)\n"
    "  -l, --log-type TYPE   treat every event as TYPE (default: classify by shape)\n"
    "  -w, --workers N       detection threads (default: number of cores); output does\n"
    "                        not depend on N\n"
    "  -o, --output FILE     write alerts to FILE instead of stdout\n"
    "  -q, --quiet           no progress line\n"
    "  -t, --lateness MIN    how long windows wait for out-of-order events (default 10);\n"
    "                        unsorted inputs spanning days need more, or sorting first\n"
    "  -s, --stats           per-detection cost table (evaluations, matches, errors, time)\n"
    "  -S, --suppressions FILE  drop the matches a suppressions file covers, as the daemon\n"
    "                        does (docs/suppressions.md)\n"
    "  -h, --help            show this help\n";

static const char usage_run[] =
    "usage: lp0 run [options]\n"
    "\n"
    "Serves webhook ingest: POST /ingest/<source> with a JSON object, a JSON array, NDJSON,\n"
    "CloudTrail {\"Records\": [...]}, EventBridge, CloudWatch Logs, SNS or Okta event hooks,\n"
    "gzip or not; default sources: cloudtrail, okta, github and auto (classified by shape). Answers {\"accepted\": N} once the events are through\n"
    "detection and their alerts are committed. GET /healthz, GET /metrics (Prometheus).\n"
    "Alerts go to the store (<state-dir>/lp0.db) and the alert log. SIGINT/SIGTERM drain.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE       the Lua configuration file (docs/configuration.md); without\n"
    "                          it, the embedded defaults\n"
    "  -l, --listen HOST:PORT  address to serve (default 127.0.0.1:8787; port 0 = any)\n"
    "  -s, --state-dir DIR     where the store lives (default ./var)\n"
    "  -d, --detections DIR    detections to load (repeatable; default ./detections)\n"
    "  -w, --workers N         detection threads (default: number of cores)\n"
    "  -a, --alert-log FILE    append alerts to FILE (default stderr; NDJSON unless a tty)\n"
    "  -p, --port-file FILE    write the bound port to FILE (for --listen ...:0)\n"
    "  -h, --help              show this help\n";

static const char usage_alerts[] =
    "usage: lp0 alerts [options]\n"
    "\n"
    "Lists the alerts in the store, oldest first.\n"
    "\n"
    "options:\n"
    "  -s, --state-dir DIR   where the store lives (default ./var)\n"
    "  -n, --limit N         only the newest N\n"
    "  -S, --since TIME      only alerts stored at or after TIME (RFC 3339 or epoch)\n"
    "  -j, --json            one alert record (docs/alerts.md) per line\n"
    "  -h, --help            show this help\n";

static int usage_error(const char *usage, const char *msg) {
  fprintf(stderr, "lp0: %s\n\n%s", msg, usage);
  return 2;
}

static char default_dir[] = "detections";
static char *default_paths[] = {default_dir};

static int cmd_test(int argc, char **argv) {
  static const struct option longopts[] = {
      {"filter", required_argument, NULL, 'f'}, {"junit", required_argument, NULL, 'j'},
      {"verbose", no_argument, NULL, 'v'},      {"require-tests", no_argument, NULL, 'r'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  struct test_opts o = {0};
  int c;
  while ((c = getopt_long(argc, argv, "f:j:vrh", longopts, NULL)) != -1) {
    switch (c) {
    case 'f': o.filter = optarg; break;
    case 'j': o.junit = optarg; break;
    case 'v': o.verbose = true; break;
    case 'r': o.require_tests = true; break;
    case 'h': fputs(usage_test, stdout); return 0;
    default: return usage_error(usage_test, "bad option");
    }
  }
  o.paths = optind < argc ? argv + optind : default_paths;
  o.npaths = optind < argc ? (size_t)(argc - optind) : 1;
  return test_run(&o);
}

static int check_detections(char **paths, size_t n);

static void print_sup_problem(void *ud, enum sup_level level, size_t entry, const char *msg) {
  const struct sup_set *s = ud;
  (void)entry; /* the message names the entry */
  printf("%s: %s%s\n", s->file, level == SUP_ERROR ? "" : "warning: ", msg);
}

static void closed_flag(void *ud) { *(bool *)ud = true; }

/* Loads the stories under paths as the daemon would and prints every problem. Returns
 * the number of problems. */
static int check_stories(char *const *paths, size_t n) {
  int problems = 0;
  char *err = NULL;
  bool closed = false; /* set by the engine's close callback, from uv_run below */
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return 1;
  struct sty_options o = {0};
  struct vec diags = {0};
  o.loop = &loop;
  o.quiet = true;
  struct sty_engine *e = sty_new(&o, paths, n, &diags, &err);
  for (size_t i = 0; i < diags.len; i++) {
    char *msg = diags.items[i], *tb = strstr(msg, "\nstack traceback:");
    if (tb) *tb = '\0';
    printf("%s\n", msg);
    free(msg);
    problems++;
  }
  vec_free(&diags);
  if (e) {
    printf("%zu stories, %d problems\n", sty_count(e), problems);
    sty_close(e, closed_flag, &closed);
  } else {
    printf("stories: %s\n", err);
    free(err);
    problems++;
  }
  while (uv_run(&loop, UV_RUN_DEFAULT)) {
  }
  uv_loop_close(&loop);
  return problems;
}

/* What `lp0 check -c` adds to the detections: the lookup tables, the suppressions and
 * the stories the configuration names. Returns the number of problems. */
static int check_config_extras(const struct cfg *cfg) {
  int problems = 0;
  char *err = NULL;
  struct lkp_set *lk = NULL;
  if (lkp_set_discover(cfg->detections, cfg->ndetections, cfg->lookups, cfg->nlookups, &lk,
                       &err) != 0) {
    printf("lookups: %s\n", err);
    free(err);
    problems++;
  } else {
    printf("lookups: %zu tables", lk->n);
    for (size_t i = 0; i < lk->n; i++)
      printf("%s %s (%zu rows)", i ? "," : ":", lk->tables[i]->name, lk->tables[i]->stats.rows);
    printf("\n");
    lkp_set_unref(lk);
  }
  if (cfg->suppressions) {
    struct sup_set *sup = NULL;
    if (sup_load(cfg->suppressions, &sup, &err) != 0) {
      printf("%s\n", err);
      free(err);
      problems++;
    } else {
      struct det_set *s = det_set_new(cfg->detections, cfg->ndetections, 0, &err);
      struct vec ids = {0};
      if (s) {
        s->vm->quiet_log = true;
        det_set_load(s);
        for (size_t i = 0; i < s->dets.len; i++) vec_push(&ids, ((struct det *)s->dets.items[i])->id);
      }
      size_t errors = sup_check(sup, clk_now(), (const char *const *)ids.items, ids.len,
                                print_sup_problem, sup);
      printf("%s: %zu suppressions, %zu problems\n", sup->file, sup->n, errors);
      problems += (int)errors;
      vec_free(&ids);
      det_set_free(s);
      free(err);
      sup_free(sup);
    }
  }
  return problems + check_stories(cfg->stories, cfg->nstories);
}

static int cmd_check(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  const char *file = NULL;
  struct cfg cfg;
  bool have_cfg = false;
  int c;
  while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
    if (c == 'c') {
      file = optarg;
      continue;
    }
    if (c == 'h') {
      fputs(usage_check, stdout);
      return 0;
    }
    return usage_error(usage_check, "bad option");
  }
  char **paths = optind < argc ? argv + optind : default_paths;
  size_t n = optind < argc ? (size_t)(argc - optind) : 1;
  if (file) {
    char err[1024];
    if (cfg_load(file, &cfg, err, sizeof err) != 0) {
      printf("%s\n", err);
      printf("configuration: 1 problem\n");
      return 1;
    }
    have_cfg = true;
    printf("%s: configuration ok (%zu sources)\n", file, cfg.nsources);
    if (optind >= argc) paths = cfg.detections, n = cfg.ndetections;
  }
  int code = check_detections(paths, n);
  if (have_cfg && check_config_extras(&cfg) != 0 && code == 0) code = 1;
  if (have_cfg) cfg_free(&cfg);
  return code;
}

static int check_detections(char **paths, size_t n) {
  char *err = NULL;
  struct det_set *s = det_set_new(paths, n, 0, &err);
  if (!s) {
    fprintf(stderr, "lp0: %s\n", err);
    free(err);
    return 2;
  }
  s->vm->quiet_log = true;
  det_set_load(s);
  for (size_t i = 0; i < s->diags.len; i++) {
    struct det_diag *d = s->diags.items[i];
    char *tb = strstr(d->msg, "\nstack traceback:"); /* one problem, one line */
    if (tb) *tb = '\0';
    if (d->line < 0) printf("%s\n", d->msg);
    else if (d->line) printf("%s:%d: %s\n", d->file, d->line, d->msg);
    else printf("%s: %s\n", d->file, d->msg);
  }
  size_t enabled = 0;
  for (size_t i = 0; i < s->dets.len; i++) enabled += ((struct det *)s->dets.items[i])->enabled;
  printf("%zu detections (%zu enabled), %zu problems\n", s->dets.len, enabled, s->diags.len);
  int code = s->diags.len ? 1 : 0;
  if (s->story_files.len &&
      check_stories((char *const *)s->story_files.items, s->story_files.len) != 0)
    code = 1;
  det_set_free(s);
  return code;
}

static int cmd_replay(int argc, char **argv) {
  static const struct option longopts[] = {
      {"detections", required_argument, NULL, 'd'}, {"log-type", required_argument, NULL, 'l'},
      {"workers", required_argument, NULL, 'w'},    {"output", required_argument, NULL, 'o'},
      {"quiet", no_argument, NULL, 'q'},            {"help", no_argument, NULL, 'h'},
      {"stats", no_argument, NULL, 's'},            {"lateness", required_argument, NULL, 't'},
      {"suppressions", required_argument, NULL, 'S'}, {NULL, 0, NULL, 0}};
  struct replay_opts o = {0};
  struct vec dets = {0};
  bool quiet = false;
  int c, code;
  o.workers = cpu_count();
  o.lateness = DEDUP_DEFAULT_LATENESS;
  while ((c = getopt_long(argc, argv, "d:l:w:o:qst:S:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'd': vec_push(&dets, optarg); break;
    case 'S': o.suppressions = optarg; break;
    case 'l': o.log_type = optarg; break;
    case 'w': {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end || n < 1 || n > 256) {
        vec_free(&dets);
        return usage_error(usage_replay, "--workers takes a number from 1 to 256");
      }
      o.workers = (int)n;
      break;
    }
    case 'o': o.output = optarg; break;
    case 'q': quiet = true; break;
    case 's': o.stats = true; break;
    case 't': {
      char *end;
      double m = strtod(optarg, &end);
      if (*end || !(m >= 0) || m > 525600) {
        vec_free(&dets);
        return usage_error(usage_replay, "--lateness takes minutes, from 0 to 525600");
      }
      o.lateness = m * 60.0;
      break;
    }
    case 'h': vec_free(&dets); fputs(usage_replay, stdout); return 0;
    default: vec_free(&dets); return usage_error(usage_replay, "bad option");
    }
  }
  if (optind >= argc) {
    vec_free(&dets);
    return usage_error(usage_replay, "replay needs at least one FILE (\"-\" for stdin)");
  }
  o.detections = dets.len ? (char **)dets.items : default_paths;
  o.ndetections = dets.len ? dets.len : 1;
  o.files = argv + optind;
  o.nfiles = (size_t)(argc - optind);
  o.progress = !quiet && isatty(STDERR_FILENO);
  code = replay_run(&o);
  vec_free(&dets);
  return code;
}

static int cmd_run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},     {"listen", required_argument, NULL, 'l'},
      {"state-dir", required_argument, NULL, 's'},  {"detections", required_argument, NULL, 'd'},
      {"workers", required_argument, NULL, 'w'},    {"alert-log", required_argument, NULL, 'a'},
      {"port-file", required_argument, NULL, 'p'},  {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  const char *file = NULL, *listen = NULL, *state = NULL, *alert_log = NULL, *port_file = NULL;
  struct vec dets = {0};
  long workers = 0;
  int c;
  while ((c = getopt_long(argc, argv, "c:l:s:d:w:a:p:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'c': file = optarg; break;
    case 'l': listen = optarg; break;
    case 's': state = optarg; break;
    case 'd': vec_push(&dets, optarg); break;
    case 'w': {
      char *end;
      workers = strtol(optarg, &end, 10);
      if (*end || workers < 1 || workers > 256) {
        vec_free(&dets);
        return usage_error(usage_run, "--workers takes a number from 1 to 256");
      }
      break;
    }
    case 'a': alert_log = optarg; break;
    case 'p': port_file = optarg; break;
    case 'h': vec_free(&dets); fputs(usage_run, stdout); return 0;
    default: vec_free(&dets); return usage_error(usage_run, "bad option");
    }
  }
  if (optind < argc) {
    vec_free(&dets);
    return usage_error(usage_run, "run takes no arguments besides options");
  }
  struct cfg_overrides ov = {listen, state, alert_log, (int)workers,
                             (const char *const *)dets.items, dets.len};
  int code = dmn_run(file, &ov, port_file);
  vec_free(&dets);
  return code;
}

struct alerts_ctx {
  bool json;
  long long n;
};

static int print_alert(const struct store_alert *a, void *ud) {
  struct alerts_ctx *c = ud;
  char when[48];
  c->n++;
  if (c->json) printf("%.*s\n", (int)a->json_len, a->json);
  else
    printf("%6lld  %s  %-8s %s  [%s] x%lld\n", a->id, clk_format(a->first_seen, when, sizeof when),
           a->severity, a->title, a->detection, a->count);
  return 0;
}

static int cmd_alerts(int argc, char **argv) {
  static const struct option longopts[] = {
      {"state-dir", required_argument, NULL, 's'}, {"limit", required_argument, NULL, 'n'},
      {"since", required_argument, NULL, 'S'},     {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
  const char *dir = "var";
  long long limit = 0;
  double since = 0;
  struct alerts_ctx ctx = {false, 0};
  int c;
  while ((c = getopt_long(argc, argv, "s:n:S:jh", longopts, NULL)) != -1) {
    switch (c) {
    case 's': dir = optarg; break;
    case 'n': {
      char *end;
      limit = strtoll(optarg, &end, 10);
      if (*end || limit < 1) return usage_error(usage_alerts, "--limit takes a positive number");
      break;
    }
    case 'S':
      if (clk_parse(optarg, strlen(optarg), &since) != 0)
        return usage_error(usage_alerts, "--since takes an RFC 3339 time or epoch seconds");
      break;
    case 'j': ctx.json = true; break;
    case 'h': fputs(usage_alerts, stdout); return 0;
    default: return usage_error(usage_alerts, "bad option");
    }
  }
  char *path = xasprintf("%s/lp0.db", dir), *err = NULL;
  struct store *st = NULL;
  if (access(path, F_OK) != 0) {
    fprintf(stderr, "lp0: %s: no store here (start 'lp0 run' or pass --state-dir)\n", path);
    free(path);
    return 2;
  }
  int rc = store_open(path, STORE_READONLY, &st, &err);
  free(path);
  if (rc != 0) {
    fprintf(stderr, "lp0: %s\n", err ? err : "cannot open the store");
    free(err);
    return 2;
  }
  rc = store_list_alerts(st, since, limit, print_alert, &ctx);
  if (rc != 0) fprintf(stderr, "lp0: %s\n", store_errmsg(st));
  store_close(st);
  if (!ctx.json) fprintf(stderr, "%lld alerts\n", ctx.n);
  return rc ? 2 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage_main, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
    fputs(usage_main, stdout);
    return 0;
  }
  if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
    printf("lp0 %s\n", LP0_VERSION);
    return 0;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) { /* before any thread starts */
    fputs("lp0: libcurl cannot start\n", stderr);
    return 2;
  }
  atexit(curl_global_cleanup);
  /* getopt_long sees the command's own options: argv[0] becomes the command. */
  argc--, argv++;
  if (!strcmp(cmd, "test")) return cmd_test(argc, argv);
  if (!strcmp(cmd, "check")) return cmd_check(argc, argv);
  if (!strcmp(cmd, "replay")) return cmd_replay(argc, argv);
  if (!strcmp(cmd, "run")) return cmd_run(argc, argv);
  if (!strcmp(cmd, "alerts")) return cmd_alerts(argc, argv);
  if (!strcmp(cmd, "story")) return story_cli_main(argc, argv);
  if (!strcmp(cmd, "runs")) return runs_cli_main(argc, argv);
  if (!strcmp(cmd, "plug")) return plug_main(argc, argv);
  fprintf(stderr, "lp0: unknown command '%s'\n\n%s", cmd, usage_main);
  return 2;
}

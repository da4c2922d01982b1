/* story_cli.c — `lp0 story run` (one story, once, against a saved alert, printing every
 * step and HTTP call) and `lp0 runs` (the story runs in the store; retry a dead one).
 * SPDX-License-Identifier: MIT
 */
#include "story_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "httpc.h"
#include "json.h"
#include "log.h"
#include "store.h"
#include "story.h"
#include "story_test.h"
#include "util.h"

static const char usage_story[] =
    "usage: lp0 story run NAME --alert FILE [options]\n"
    "\n"
    "Runs story NAME once against the alert record in FILE (JSON, as `lp0 alerts --json`\n"
    "prints it) and prints every step, log line and HTTP call (method, URL, status, time),\n"
    "then the outcome. Nothing is written to the store; plug.* calls are recorded, never\n"
    "sent (use lp0 plug for a real plug). Exit 0 when the run succeeds.\n"
    "\n"
    "options:\n"
    "  -a, --alert FILE      the alert record (required)\n"
    "  -m, --mocks FILE      answer HTTP from a JSON list of mocks instead of the network:\n"
    "                        [{\"method\":\"POST\",\"url\":\"https://jira*/issue\",\"status\":201,\n"
    "                          \"json\":{...}}, ...] (docs/stories.md)\n"
    "  -c, --config FILE     take stories, settings and secrets_file from the configuration\n"
    "  -S, --scripts DIR     stories to load (repeatable; default ./scripts or the config's)\n"
    "  -h, --help            show this help\n";

static const char usage_runs[] =
    "usage: lp0 runs [options]\n"
    "       lp0 runs retry ID [-s DIR]\n"
    "\n"
    "Lists the story runs in the store, oldest first: id, story, state (pending, running,\n"
    "waiting, succeeded, failed, dead), attempts, alert, last error. `retry ID` puts a\n"
    "failed or dead run back in the queue with its completed steps kept: a running daemon\n"
    "starts it within a second, and steps that succeeded are not repeated.\n"
    "\n"
    "options:\n"
    "  -s, --state-dir DIR   where the store lives (default ./var)\n"
    "  -f, --failed          only runs that failed, are dead or wait for a retry\n"
    "  -n, --limit N         only the newest N\n"
    "  -j, --json            one JSON object per run\n"
    "  -h, --help            show this help\n";

static int usage_err(const char *usage, const char *msg) {
  fprintf(stderr, "lp0: %s\n\n%s", msg, usage);
  return 2;
}

/* {===================== lp0 story run ===================== */

struct story_ctx {
  bool finished, ok;
};

static void print_trace(const struct sty_trace *t, void *ud) {
  (void)ud;
  switch (t->kind) {
  case STY_T_START: printf("story %s: start\n", t->story); break;
  case STY_T_HTTP:
    if (t->msg) printf("  http %-6s %s -> %s (%.0f ms)\n", t->method, t->url, t->msg, t->ms);
    else printf("  http %-6s %s -> %d (%.0f ms, %d attempt%s)\n", t->method, t->url, t->status,
                t->ms, t->attempts, t->attempts == 1 ? "" : "s");
    break;
  case STY_T_PLUG:
    if (t->msg) printf("  plug %-6s %s -> %s\n", t->method, t->url, t->msg);
    else if (t->status) printf("  plug %-6s %s -> on for %d s\n", t->method, t->url, t->status);
    else printf("  plug %-6s %s -> ok\n", t->method, t->url);
    break;
  case STY_T_STEP: printf("  step %s%s\n", t->name, t->cached ? " (stored result)" : " done"); break;
  case STY_T_LOG: printf("  log  %s: %s\n", log_level_name((enum log_level)t->level), t->msg); break;
  case STY_T_END:
    if (t->ok) printf("story %s: succeeded in %.0f ms\nresult: %s\n", t->story, t->ms,
                      t->result ? t->result : "null");
    else printf("story %s: failed after %.0f ms: %s\n", t->story, t->ms, t->msg);
    break;
  }
  fflush(stdout);
}

static void on_done(bool ok, const char *error, const char *result, void *ud) {
  struct story_ctx *c = ud;
  (void)error, (void)result;
  c->finished = true;
  c->ok = ok;
}

static void closed_flag(void *ud) { *(bool *)ud = true; }

static int story_run(const char *name, const char *alert_file, const char *mocks_file,
                     const char *config, struct vec *scripts) {
  struct cfg cfg;
  bool have_cfg = false;
  char err[1024];
  if (config) {
    if (cfg_load(config, &cfg, err, sizeof err) != 0) {
      fprintf(stderr, "lp0: %s\n", err);
      return 2;
    }
    have_cfg = true;
  }
  size_t alen;
  char *alert = read_file(alert_file, &alen);
  cJSON *aj = alert ? json_parse(alert, alen, NULL) : NULL;
  if (!cJSON_IsObject(aj)) {
    fprintf(stderr, "lp0: %s: %s\n", alert_file, alert ? "not a JSON object" : "cannot read");
    free(alert), cJSON_Delete(aj);
    if (have_cfg) cfg_free(&cfg);
    return 2;
  }
  cJSON_Delete(aj);
  uv_loop_t loop;
  if (uv_loop_init(&loop) != 0) return 2;
  struct sty_mocks mocks;
  struct sty_transport tr;
  struct sty_plugs plugs; /* always mocked: a dry run never switches a compressor on */
  struct httpc *h = NULL;
  sty_mocks_init(&mocks, &loop);
  sty_mocks_plugs(&mocks, &plugs);
  int code = 2;
  if (mocks_file) {
    size_t n;
    char *text = read_file(mocks_file, &n);
    cJSON *list = text ? json_parse(text, n, NULL) : NULL;
    free(text);
    if (!list || sty_mocks_from_json(&mocks, list, err, sizeof err) != 0) {
      fprintf(stderr, "lp0: %s: %s\n", mocks_file, list ? err : "not readable JSON");
      cJSON_Delete(list);
      goto out;
    }
    cJSON_Delete(list);
    sty_mocks_transport(&mocks, &tr);
  } else {
    if (!(h = httpc_new(&loop, NULL))) goto out;
    sty_httpc_transport(h, &tr);
  }
  char scripts_dir[] = "scripts", *default_scripts[] = {scripts_dir};
  char **paths = scripts->len ? (char **)scripts->items : have_cfg ? cfg.stories : default_scripts;
  size_t npaths = scripts->len ? scripts->len : have_cfg ? cfg.nstories : 1;
  struct sty_options o = {0};
  o.loop = &loop;
  o.http = &tr;
  o.plugs = &plugs;
  o.settings_json = have_cfg ? cfg.settings_json : NULL;
  o.secrets_file = have_cfg ? cfg.secrets_file : NULL;
  o.timeout = have_cfg ? cfg.story_timeout : 0;
  o.quiet = true;
  o.trace = print_trace;
  struct vec diags = {0};
  char *errmsg = NULL;
  struct sty_engine *e = sty_new(&o, paths, npaths, &diags, &errmsg);
  for (size_t i = 0; i < diags.len; i++) {
    fprintf(stderr, "lp0: %s\n", (char *)diags.items[i]);
    free(diags.items[i]);
  }
  vec_free(&diags);
  if (!e) {
    fprintf(stderr, "lp0: %s\n", errmsg);
    free(errmsg);
    goto out;
  }
  int i = sty_find(e, name);
  struct story_ctx ctx = {false, false};
  if (i < 0) {
    fprintf(stderr, "lp0: no story named '%s' (%zu loaded)\n", name, sty_count(e));
  } else if (sty_run_once(e, (size_t)i, alert, on_done, &ctx) != 0) {
    fprintf(stderr, "lp0: the run could not start\n");
  } else {
    while (!ctx.finished && uv_run(&loop, UV_RUN_ONCE)) {
    }
    code = ctx.ok ? 0 : 1;
  }
  bool closed = false;
  sty_close(e, closed_flag, &closed);
out:
  if (h) httpc_close(h, NULL, NULL);
  while (uv_run(&loop, UV_RUN_DEFAULT)) {
  }
  sty_mocks_free(&mocks);
  uv_loop_close(&loop);
  free(alert);
  if (have_cfg) cfg_free(&cfg);
  return code;
}

int story_cli_main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"alert", required_argument, NULL, 'a'},   {"mocks", required_argument, NULL, 'm'},
      {"config", required_argument, NULL, 'c'},  {"scripts", required_argument, NULL, 'S'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
  const char *alert = NULL, *mocks = NULL, *config = NULL;
  struct vec scripts = {0};
  int c;
  while ((c = getopt_long(argc, argv, "a:m:c:S:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'a': alert = optarg; break;
    case 'm': mocks = optarg; break;
    case 'c': config = optarg; break;
    case 'S': vec_push(&scripts, optarg); break;
    case 'h': vec_free(&scripts); fputs(usage_story, stdout); return 0;
    default: vec_free(&scripts); return usage_err(usage_story, "bad option");
    }
  }
  int code;
  if (optind + 2 != argc || strcmp(argv[optind], "run") != 0)
    code = usage_err(usage_story, "expected: story run NAME --alert FILE");
  else if (!alert)
    code = usage_err(usage_story, "--alert FILE is required");
  else
    code = story_run(argv[optind + 1], alert, mocks, config, &scripts);
  vec_free(&scripts);
  return code;
}

/* }============================================================ */

/* {===================== lp0 runs ===================== */

struct runs_ctx {
  bool json;
  long long n;
};

static int print_run(const struct store_run *r, void *ud) {
  struct runs_ctx *c = ud;
  char when[40];
  c->n++;
  if (c->json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddStringToObject(o, "story", r->story);
    if (r->alert_id) cJSON_AddNumberToObject(o, "alert_id", (double)r->alert_id);
    cJSON_AddStringToObject(o, "state", r->state);
    cJSON_AddNumberToObject(o, "attempts", r->attempts);
    if (r->last_error) cJSON_AddStringToObject(o, "last_error", r->last_error);
    cJSON *steps = r->steps ? json_parse(r->steps, strlen(r->steps), NULL) : NULL;
    if (steps) cJSON_AddItemToObject(o, "steps", steps);
    cJSON_AddStringToObject(o, "created_at", clk_format(r->created_at, when, sizeof when));
    if (r->finished_at > 0)
      cJSON_AddStringToObject(o, "finished_at", clk_format(r->finished_at, when, sizeof when));
    if (r->next_at > 0)
      cJSON_AddStringToObject(o, "next_at", clk_format(r->next_at, when, sizeof when));
    char *s = cJSON_PrintUnformatted(o);
    printf("%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
    return 0;
  }
  const char *nl = r->last_error ? strchr(r->last_error, '\n') : NULL;
  printf("%6lld  %s  %-22s %-9s tries %d  alert %lld%s%.*s\n", r->id,
         clk_format(r->created_at, when, sizeof when), r->story, r->state, r->attempts, r->alert_id,
         r->last_error ? "  " : "",
         r->last_error ? (nl ? (int)(nl - r->last_error) : (int)strlen(r->last_error)) : 0,
         r->last_error ? r->last_error : "");
  return 0;
}

static struct store *open_store_at(const char *dir, unsigned flags) {
  char *path = xasprintf("%s/lp0.db", dir), *err = NULL;
  struct store *st = NULL;
  if (access(path, F_OK) != 0) {
    fprintf(stderr, "lp0: %s: no store here (start 'lp0 run' or pass --state-dir)\n", path);
  } else if (store_open(path, flags, &st, &err) != 0) {
    fprintf(stderr, "lp0: %s\n", err ? err : "cannot open the store");
    st = NULL;
  }
  free(err);
  free(path);
  return st;
}

static int runs_retry(const char *dir, const char *idtext) {
  char *end;
  long long id = strtoll(idtext, &end, 10);
  if (*end || id < 1) return usage_err(usage_runs, "retry takes a run id");
  struct store *st = open_store_at(dir, 0);
  if (!st) return 2;
  store_set_busy_timeout(st, 5000); /* the daemon may be writing */
  struct store_run r;
  int code = 1;
  if (store_run_get(st, id, &r) != 0) {
    fprintf(stderr, "lp0: %s\n", store_errmsg(st));
  } else if (strcmp(r.state, "dead") != 0 && strcmp(r.state, "failed") != 0 &&
             strcmp(r.state, "waiting") != 0) {
    fprintf(stderr, "lp0: run %lld is %s: only failed, dead or waiting runs can be retried\n", id,
            r.state);
  } else {
    free(r.state);
    r.state = xstrdup("pending");
    r.attempts = 0; /* a fresh set of attempts; the steps it completed are kept */
    r.next_at = 0;
    r.finished_at = 0;
    if (store_begin(st) != 0 || store_run_update(st, &r) != 0 || store_commit(st) != 0) {
      fprintf(stderr, "lp0: %s\n", store_errmsg(st));
    } else {
      printf("run %lld (%s) queued again; completed steps are kept\n", id, r.story);
      code = 0;
    }
  }
  store_run_clear(&r);
  store_close(st);
  return code;
}

int runs_cli_main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"state-dir", required_argument, NULL, 's'}, {"failed", no_argument, NULL, 'f'},
      {"limit", required_argument, NULL, 'n'},     {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0}};
  const char *dir = "var";
  bool failed = false;
  long long limit = 0;
  struct runs_ctx ctx = {false, 0};
  int c;
  while ((c = getopt_long(argc, argv, "s:fn:jh", longopts, NULL)) != -1) {
    switch (c) {
    case 's': dir = optarg; break;
    case 'f': failed = true; break;
    case 'n': {
      char *end;
      limit = strtoll(optarg, &end, 10);
      if (*end || limit < 1) return usage_err(usage_runs, "--limit takes a positive number");
      break;
    }
    case 'j': ctx.json = true; break;
    case 'h': fputs(usage_runs, stdout); return 0;
    default: return usage_err(usage_runs, "bad option");
    }
  }
  if (optind < argc) {
    if (strcmp(argv[optind], "retry") == 0 && optind + 2 == argc)
      return runs_retry(dir, argv[optind + 1]);
    return usage_err(usage_runs, "unexpected arguments");
  }
  struct store *st = open_store_at(dir, STORE_READONLY);
  if (!st) return 2;
  int rc = store_run_list(st, failed, limit, print_run, &ctx);
  if (rc != 0) fprintf(stderr, "lp0: %s\n", store_errmsg(st));
  store_close(st);
  if (!ctx.json) fprintf(stderr, "%lld runs\n", ctx.n);
  return rc ? 2 : 0;
}

/* }============================================================ */

/* config.h — the daemon's configuration: a Lua file validated into struct cfg.
 *
 * The file is plain Lua run in a minimal state (base without dofile/loadfile/load/print,
 * string, table, math; no io, os, package or debug) with an instruction and memory cap,
 * so loading it has no side effect. Its global assignments are the options. One table
 * of options (cfg_options) drives parsing, defaults and docs/configuration.md, in the
 * manner of Fluent Bit's config_map. Unknown keys, wrong types, bad values, duplicate
 * source names, URL-unsafe webhook names and literal secrets are errors; top-level keys
 * are reported with FILE:LINE of their assignment, nested ones with their path
 * (sources[2].auth.header). Secrets are given by reference only (secret_env, secret_file),
 * resolved at load, and never appear in a message.
 *
 * Ownership: struct cfg owns every string and array in it; cfg_free releases them and
 * wipes resolved secrets. Command-line overrides (--listen, --state-dir) are the
 * caller's: replace the field (free the old string), then call cfg_validate again.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_CONFIG_H
#define LP0_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum cfg_source_type { CFG_SOURCE_WEBHOOK, CFG_SOURCE_TAIL };
enum cfg_auth_type { CFG_AUTH_NONE, CFG_AUTH_BEARER, CFG_AUTH_HMAC, CFG_AUTH_GITHUB, CFG_AUTH_SLACK };
enum cfg_alert_format { CFG_FORMAT_AUTO, CFG_FORMAT_JSON, CFG_FORMAT_TEXT };

struct cfg_auth {
  enum cfg_auth_type type;
  char *header;      /* signature/token header; a per-type default when not given */
  char *secret_env;  /* name of the environment variable holding the secret, or NULL */
  char *secret_file; /* path of a file holding the secret (one trailing newline dropped) */
  char *secret;      /* resolved secret bytes (never logged), NULL for type none */
  size_t secret_len;
  double window; /* slack: accepted timestamp skew in seconds (replay window) */
};

struct cfg_source {
  char *name; /* webhook: the path /ingest/<name> */
  enum cfg_source_type type;
  char *log_type; /* NULL: classify each event by shape */
  char *path;     /* tail: file glob */
  bool read_from_head;
  struct cfg_auth auth;
};

struct cfg {
  char *file;   /* the config file read, NULL for embedded defaults */
  char *listen; /* "host:port" or "[v6]:port" */
  char *state_dir;
  char **detections; /* paths, ndetections of them */
  size_t ndetections;
  char **stories;
  size_t nstories;
  char **lookups; /* extra lookup table files or folders */
  size_t nlookups;
  char *suppressions; /* the suppressions file, or NULL */
  int workers; /* detection threads; default the number of online CPUs */
  size_t max_body; /* bytes */
  int max_queue;   /* batches waiting for detection before webhooks get 503 */
  char *alert_log; /* "stderr" or a file path */
  enum cfg_alert_format alert_format;
  char *settings_json; /* `settings` for stories, as JSON; NULL = {} */
  char *secrets_file;
  double story_timeout, story_retry_delay;
  int story_attempts, story_max_running, story_http_per_host;
  int plug_max_on_seconds, plug_cooldown_seconds;
  double plug_timeout;
  int log_level;                      /* enum log_level (log.h) */
  enum cfg_alert_format log_format;   /* the daemon's diagnostics: auto, json or text */
  struct cfg_source *sources;
  size_t nsources;
};

/* One documented option. path is its place in the file ("listen", "alerts.log",
 * "sources[].auth.type"); type is the type as documented; def the default as text. */
struct cfg_option_doc {
  const char *path;
  const char *type;
  const char *def;
  const char *help;
};
/* The option table, in documentation order; *n receives its length. */
const struct cfg_option_doc *cfg_options(size_t *n);
/* Appends the option table as a Markdown table (the reference in docs/configuration.md). */
void cfg_doc_markdown(struct buf *out);

/* The embedded defaults of `lp0 run` without -c: 127.0.0.1:8787, ./var, ./detections,
 * ./scripts, and webhook sources cloudtrail, okta, github and auto, without auth. */
void cfg_default(struct cfg *cfg);

/* Reads and validates path into *cfg (which need not be initialised). Returns 0, or -1
 * with a message "FILE[:LINE]: ..." in err (never containing a secret) and *cfg empty. */
int cfg_load(const char *path, struct cfg *cfg, char *err, size_t errlen);
/* Same, from text in memory; name is used in messages. */
int cfg_load_string(const char *name, const char *text, struct cfg *cfg, char *err,
                    size_t errlen);

/* Whole-configuration checks (run by cfg_load; again by the caller after overrides):
 * listen address, duplicate names, webhook names, auth none on a non-loopback listener. */
int cfg_validate(const struct cfg *cfg, char *err, size_t errlen);

/* Splits "host:port", "[v6]:port" or ":port" (host "0.0.0.0"). host gets at most
 * hostlen - 1 bytes. Returns 0 or -1. */
int cfg_parse_listen(const char *listen, char *host, size_t hostlen, int *port);
/* Parses a size: a number of bytes, or a number with B, KB, MB, GB (powers of 1000) or
 * KiB, MiB, GiB (powers of 1024), e.g. "16MiB". Returns 0 or -1. */
int cfg_parse_size(const char *s, size_t *out);

const char *cfg_auth_type_name(enum cfg_auth_type t);

/* Command-line values that replace the file's (NULL / 0 / empty: keep the file's). */
struct cfg_overrides {
  const char *listen, *state_dir, *alert_log;
  int workers;
  const char *const *detections;
  size_t ndetections;
};
/* The configuration `lp0 run` uses: file (NULL: the embedded defaults), then the
 * overrides, then cfg_validate. Used at start and again on every reload, so both read
 * the same settings. Returns 0, or -1 with a message in err and *cfg empty. */
int cfg_build(const char *file, const struct cfg_overrides *ov, struct cfg *cfg, char *err,
              size_t errlen);

void cfg_free(struct cfg *cfg);

#endif

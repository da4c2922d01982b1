/* Unit tests of config.c: defaults, a full file, each kind of error with its message,
 * literal secrets refused, secrets resolved from the environment and a file and never
 * shown in an error, the sandbox, and the option table behind the documentation. */
#include <stdlib.h>

#include "check.h"
#include "config.h"

/* The directory of this file, for docs/configuration.md. */
static char test_dir[512];

static char err[1024];

static int load(const char *text, struct cfg *cfg) {
  err[0] = '\0';
  return cfg_load_string("test.lua", text, cfg, err, sizeof err);
}

/* Loads text, expecting failure with an error that contains want. */
static void expect_error(const char *text, const char *want, int line) {
  struct cfg cfg;
  check_count++;
  if (load(text, &cfg) == 0) {
    CHECK_FAIL("line %d: loaded, expected error containing \"%s\"", line, want);
    cfg_free(&cfg);
    return;
  }
  if (!strstr(err, want)) CHECK_FAIL("line %d: error \"%s\" lacks \"%s\"", line, err, want);
  ASSERT_TRUE(cfg.sources == NULL && cfg.listen == NULL); /* emptied */
}
#define EXPECT_ERROR(text, want) expect_error(text, want, __LINE__)

static void test_defaults(void) {
  struct cfg cfg;
  cfg_default(&cfg);
  ASSERT_EQ_STR(cfg.listen, "127.0.0.1:8787");
  ASSERT_EQ_STR(cfg.state_dir, "./var");
  ASSERT_EQ_INT(cfg.ndetections, 1);
  ASSERT_EQ_STR(cfg.detections[0], "./detections");
  ASSERT_EQ_INT(cfg.nstories, 1);
  ASSERT_EQ_STR(cfg.stories[0], "./scripts");
  ASSERT_EQ_INT(cfg.workers, cpu_count());
  ASSERT_EQ_INT(cfg.max_body, 16u << 20);
  ASSERT_EQ_STR(cfg.alert_log, "stderr");
  ASSERT_EQ_INT(cfg.alert_format, CFG_FORMAT_AUTO);
  ASSERT_EQ_INT(cfg.nsources, 4);
  ASSERT_EQ_STR(cfg.sources[0].name, "cloudtrail");
  ASSERT_EQ_STR(cfg.sources[0].log_type, "AWS.CloudTrail");
  ASSERT_EQ_STR(cfg.sources[1].name, "okta");
  ASSERT_EQ_STR(cfg.sources[1].log_type, "Okta.SystemLog");
  ASSERT_EQ_STR(cfg.sources[2].name, "github");
  ASSERT_EQ_STR(cfg.sources[2].log_type, "GitHub.Audit");
  ASSERT_EQ_STR(cfg.sources[3].name, "auto");
  ASSERT_TRUE(cfg.sources[3].log_type == NULL);
  for (size_t i = 0; i < cfg.nsources; i++) {
    ASSERT_EQ_INT(cfg.sources[i].type, CFG_SOURCE_WEBHOOK);
    ASSERT_EQ_INT(cfg.sources[i].auth.type, CFG_AUTH_NONE);
  }
  ASSERT_EQ_INT(cfg_validate(&cfg, err, sizeof err), 0);
  /* an override the caller makes: a public listener with auth none is refused */
  free(cfg.listen);
  cfg.listen = xstrdup("0.0.0.0:8787");
  ASSERT_EQ_INT(cfg_validate(&cfg, err, sizeof err), -1);
  ASSERT_TRUE(strstr(err, "auth type none is refused on a non-loopback listener") != NULL);
  cfg_free(&cfg);

  /* an empty file gives the same */
  ASSERT_EQ_INT(load("-- nothing\n", &cfg), 0);
  ASSERT_EQ_STR(cfg.listen, "127.0.0.1:8787");
  ASSERT_EQ_INT(cfg.nsources, 4);
  ASSERT_EQ_INT(cfg.workers, cpu_count());
  ASSERT_EQ_STR(cfg.file, "test.lua");
  cfg_free(&cfg);
}

static void test_full(void) {
  struct cfg cfg;
  setenv("LP0_TEST_TOKEN", "s3cr3t-token-value", 1);
  FILE *f = fopen("test_config_secret.txt", "w");
  ASSERT_TRUE(f != NULL);
  if (f) {
    fputs("hmac-key-bytes\n", f);
    fclose(f);
  }
  const char *text =
      "local base = '/srv/lp0'\n"
      "listen = '[::1]:9000'\n"
      "state_dir = base .. '/state'\n"
      "detections = { base .. '/det', './more' }\n"
      "stories = base .. '/stories'\n"
      "workers = 3\n"
      "max_body = '1MiB'\n"
      "alerts = { log = '/var/log/lp0/alerts.ndjson', format = 'json' }\n"
      "sources = {\n"
      "  { name = 'cloudtrail', type = 'webhook', log_type = 'AWS.CloudTrail',\n"
      "    auth = { type = 'bearer', secret_env = 'LP0_TEST_TOKEN' } },\n"
      "  { name = 'gh', log_type = 'GitHub.Audit',\n"
      "    auth = { type = 'github', secret_file = 'test_config_secret.txt' } },\n"
      "  { name = 'slack', auth = { type = 'slack', secret_env = 'LP0_TEST_TOKEN', window = 60,\n"
      "    header = 'X-Sig' } },\n"
      "  { name = 'okta-files', type = 'tail', path = '/var/log/okta/*.ndjson',\n"
      "    log_type = 'Okta.SystemLog', read_from_head = true },\n"
      "}\n";
  ASSERT_EQ_INT(load(text, &cfg), 0);
  ASSERT_EQ_STR(err, "");
  ASSERT_EQ_STR(cfg.listen, "[::1]:9000");
  ASSERT_EQ_STR(cfg.state_dir, "/srv/lp0/state");
  ASSERT_EQ_INT(cfg.ndetections, 2);
  ASSERT_EQ_STR(cfg.detections[0], "/srv/lp0/det");
  ASSERT_EQ_STR(cfg.detections[1], "./more");
  ASSERT_EQ_INT(cfg.nstories, 1);
  ASSERT_EQ_STR(cfg.stories[0], "/srv/lp0/stories");
  ASSERT_EQ_INT(cfg.workers, 3);
  ASSERT_EQ_INT(cfg.max_body, 1 << 20);
  ASSERT_EQ_STR(cfg.alert_log, "/var/log/lp0/alerts.ndjson");
  ASSERT_EQ_INT(cfg.alert_format, CFG_FORMAT_JSON);
  ASSERT_EQ_INT(cfg.nsources, 4);
  if (cfg.nsources == 4) {
    struct cfg_source *s = cfg.sources;
    ASSERT_EQ_STR(s[0].name, "cloudtrail");
    ASSERT_EQ_INT(s[0].auth.type, CFG_AUTH_BEARER);
    ASSERT_EQ_STR(s[0].auth.header, "Authorization");
    ASSERT_EQ_STR(s[0].auth.secret, "s3cr3t-token-value");
    ASSERT_EQ_INT(s[0].auth.secret_len, 18);
    ASSERT_EQ_STR(s[1].auth.header, "X-Hub-Signature-256");
    ASSERT_EQ_INT(s[1].auth.type, CFG_AUTH_GITHUB);
    ASSERT_EQ_STR(s[1].auth.secret, "hmac-key-bytes"); /* newline dropped */
    ASSERT_EQ_INT(s[2].type, CFG_SOURCE_WEBHOOK);
    ASSERT_TRUE(s[2].log_type == NULL);
    ASSERT_EQ_INT(s[2].auth.type, CFG_AUTH_SLACK);
    ASSERT_EQ_DBL(s[2].auth.window, 60);
    ASSERT_EQ_STR(s[2].auth.header, "X-Sig");
    ASSERT_EQ_INT(s[3].type, CFG_SOURCE_TAIL);
    ASSERT_EQ_STR(s[3].path, "/var/log/okta/*.ndjson");
    ASSERT_EQ_STR(s[3].log_type, "Okta.SystemLog");
    ASSERT_TRUE(s[3].read_from_head);
    ASSERT_EQ_DBL(s[0].auth.window, 300);
  }
  cfg_free(&cfg);

  /* the same through cfg_load from a file */
  f = fopen("test_config_full.lua", "w");
  ASSERT_TRUE(f != NULL);
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  ASSERT_EQ_INT(cfg_load("test_config_full.lua", &cfg, err, sizeof err), 0);
  ASSERT_EQ_STR(cfg.file, "test_config_full.lua");
  cfg_free(&cfg);
  ASSERT_EQ_INT(cfg_load("test_config_missing.lua", &cfg, err, sizeof err), -1);
  ASSERT_TRUE(strstr(err, "test_config_missing.lua: cannot read") != NULL);
  remove("test_config_full.lua");
  remove("test_config_secret.txt");

  /* numbers for max_body, workers 0 = cores */
  ASSERT_EQ_INT(load("max_body = 1000\nworkers = 0\n", &cfg), 0);
  ASSERT_EQ_INT(cfg.max_body, 1000);
  ASSERT_EQ_INT(cfg.workers, cpu_count());
  cfg_free(&cfg);
  ASSERT_EQ_INT(load("sources = {}\nlisten = ':0'\n", &cfg), 0); /* no sources at all */
  ASSERT_EQ_INT(cfg.nsources, 0);
  cfg_free(&cfg);
}

static void test_errors(void) {
  /* unknown keys, with the line of the top-level assignment */
  EXPECT_ERROR("listen = '127.0.0.1:1'\n\nlistne = 'x'\n", "test.lua:3: unknown option \"listne\"");
  EXPECT_ERROR("alerts = {\n log = 'stderr',\n fromat = 'json' }\n",
               "test.lua:3: alerts.fromat: unknown option"); /* line where the assignment ends */
  EXPECT_ERROR("sources = { { name = 'a', auth = { typ = 'none' } } }\n",
               "sources[1].auth.typ: unknown option");
  EXPECT_ERROR("sources = { { name = 'a', logtype = 'X' } }\n", "sources[1].logtype: unknown option");
  EXPECT_ERROR("function helper() end\n", "unknown option \"helper\" (use local");
  /* wrong types */
  EXPECT_ERROR("listen = 8787\n", "test.lua:1: listen: expected a string, got number");
  EXPECT_ERROR("workers = 'four'\n", "workers: expected an integer, got string");
  EXPECT_ERROR("workers = 1.5\n", "workers: expected an integer, got a fraction");
  EXPECT_ERROR("workers = 5000\n", "workers: 5000 is out of range");
  EXPECT_ERROR("detections = { './a', 3 }\n", "detections[2]: expected a string, got number");
  EXPECT_ERROR("detections = { x = 'a' }\n", "detections: expected an array of strings");
  EXPECT_ERROR("max_body = '16 parsecs'\n", "max_body: expected a positive number of bytes");
  EXPECT_ERROR("max_body = 0\n", "max_body: expected a positive number");
  EXPECT_ERROR("alerts = 'stderr'\n", "alerts: expected a table, got string");
  EXPECT_ERROR("alerts = { format = 'xml' }\n",
               "alerts.format: expected one of \"auto\", \"json\", \"text\"");
  EXPECT_ERROR("sources = 'okta'\n", "sources: expected an array of tables, got string");
  EXPECT_ERROR("sources = { 'okta' }\n", "sources[1]: expected a table, got string");
  EXPECT_ERROR("sources = { { name = 'a', type = 'kafka' } }\n",
               "sources[1].type: expected one of \"webhook\", \"tail\"");
  EXPECT_ERROR("sources = { { name = 'a', type = 'tail', path = '/x', read_from_head = 'yes' } }\n",
               "sources[1].read_from_head: expected a boolean, got string");
  /* bad values and combinations */
  EXPECT_ERROR("listen = 'localhost'\n", "listen: \"localhost\" is not host:port");
  EXPECT_ERROR("listen = '::1:80'\n", "is not host:port");
  EXPECT_ERROR("listen = '127.0.0.1:70000'\n", "is not host:port");
  EXPECT_ERROR("sources = { { type = 'webhook' } }\n", "sources[1]: name is required");
  EXPECT_ERROR("sources = { { name = 'a' }, { name = 'b' }, { name = 'a' } }\n",
               "sources[3]: duplicate source name \"a\" (also sources[1])");
  EXPECT_ERROR("sources = { { name = 'a/b' } }\n", "webhook name \"a/b\" must be");
  EXPECT_ERROR("sources = { { name = 'okta events' } }\n", "webhook name \"okta events\" must be");
  EXPECT_ERROR("sources = { { name = 'f', type = 'tail' } }\n", "a tail source needs path");
  EXPECT_ERROR("sources = { { name = 'w', path = '/x' } }\n", "path is only for tail sources");
  EXPECT_ERROR("sources = { { name = 'f', type = 'tail', path = '/x', auth = { type = 'bearer',"
               " secret_env = 'HOME' } } }\n",
               "auth is only for webhook sources");
  EXPECT_ERROR("sources = { { name = 'a', auth = { type = 'hmac' } } }\n",
               "sources[1].auth: type hmac needs exactly one of secret_env and secret_file");
  EXPECT_ERROR("sources = { { name = 'a', auth = { type = 'hmac', secret_env = 'A', secret_file = 'b' } } }\n",
               "needs exactly one of");
  EXPECT_ERROR("sources = { { name = 'a', auth = { type = 'none', secret_env = 'HOME' } } }\n",
               "type none takes no header or secret");
  EXPECT_ERROR("sources = { { name = 'a', auth = { type = 'bearer', secret_file = '/nonexistent/lp0' } } }\n",
               "sources[1].auth.secret_file: cannot read /nonexistent/lp0");
  EXPECT_ERROR("listen = '0.0.0.0:8787'\n", "auth type none is refused on a non-loopback listener");
  /* Lua errors keep file:line */
  EXPECT_ERROR("listen = \n", "test.lua:2:");
  EXPECT_ERROR("x = nil + 1\n", "test.lua:1: attempt to perform arithmetic");
}

static void test_secrets(void) {
  /* literal secrets are refused, and the value is not echoed */
  EXPECT_ERROR("sources = { { name = 'a', auth = { type = 'bearer', token = 'hunter2-literal' } } }\n",
               "sources[1].auth.token: literal secrets are not allowed");
  EXPECT_ERROR("sources = { { name = 'a', auth = { type = 'hmac', secret = 'hunter2-literal' } } }\n",
               "literal secrets are not allowed");
  EXPECT_ERROR("sources = { { name = 'a', secret = 'hunter2-literal' } }\n",
               "literal secrets are not allowed");
  ASSERT_TRUE(strstr(err, "hunter2") == NULL);
  /* a resolved secret never appears in a later error of the same file */
  setenv("LP0_TEST_SECRET", "topsecret-value-42", 1);
  EXPECT_ERROR("sources = {\n"
               " { name = 'a', auth = { type = 'hmac', secret_env = 'LP0_TEST_SECRET' } },\n"
               " { name = 'a', auth = { type = 'hmac', secret_env = 'LP0_TEST_SECRET' } } }\n",
               "duplicate source name");
  ASSERT_TRUE(strstr(err, "topsecret") == NULL);
  EXPECT_ERROR("sources = { { name = 'a', auth = { type = 'hmac', secret_env = 'LP0_TEST_SECRET',"
               " window = -1 } } }\n",
               "window: expected a positive number");
  ASSERT_TRUE(strstr(err, "topsecret") == NULL);
  unsetenv("LP0_TEST_UNSET_VAR");
  EXPECT_ERROR("sources = { { name = 'a', auth = { type = 'bearer', secret_env = 'LP0_TEST_UNSET_VAR' } } }\n",
               "environment variable LP0_TEST_UNSET_VAR is not set");
}

static void test_sandbox(void) {
  EXPECT_ERROR("x = io.open('/etc/passwd')\n", "attempt to index a nil value (global 'io')");
  EXPECT_ERROR("os.exit(1)\n", "global 'os'");
  EXPECT_ERROR("dofile('/etc/passwd')\n", "global 'dofile'");
  EXPECT_ERROR("load('return 1')\n", "global 'load'");
  EXPECT_ERROR("require('os')\n", "global 'require'");
  EXPECT_ERROR("while true do end\n", "configuration runs too long");
  EXPECT_ERROR("local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end\n",
               "too much memory");
  EXPECT_ERROR("listen = string.dump(function() end)\n", "listen: empty string or NUL byte");
  struct cfg cfg;
  ASSERT_EQ_INT(load("local n = math.max(2, 3)\nworkers = n * 2\n"
                     "detections = {}\ntable.insert(detections, ('./d%d'):format(1))\n", &cfg), 0);
  ASSERT_EQ_INT(cfg.workers, 6);
  ASSERT_EQ_STR(cfg.ndetections == 1 ? cfg.detections[0] : "", "./d1");
  cfg_free(&cfg);
}

static void test_helpers(void) {
  size_t n = 0;
  char host[64];
  int port = -1;
  ASSERT_EQ_INT(cfg_parse_size("16MiB", &n), 0);
  ASSERT_EQ_INT(n, 16u << 20);
  ASSERT_EQ_INT(cfg_parse_size("2 kb", &n), 0);
  ASSERT_EQ_INT(n, 2000);
  ASSERT_EQ_INT(cfg_parse_size("512", &n), 0);
  ASSERT_EQ_INT(n, 512);
  ASSERT_EQ_INT(cfg_parse_size("1GiB", &n), 0);
  ASSERT_EQ_INT(n, 1u << 30);
  ASSERT_EQ_INT(cfg_parse_size("-1", &n), -1);
  ASSERT_EQ_INT(cfg_parse_size("1TB", &n), -1);
  ASSERT_EQ_INT(cfg_parse_size("99999999999999999999", &n), -1);
  ASSERT_EQ_INT(cfg_parse_listen("127.0.0.1:8787", host, sizeof host, &port), 0);
  ASSERT_EQ_STR(host, "127.0.0.1");
  ASSERT_EQ_INT(port, 8787);
  ASSERT_EQ_INT(cfg_parse_listen("[::1]:0", host, sizeof host, &port), 0);
  ASSERT_EQ_STR(host, "::1");
  ASSERT_EQ_INT(port, 0);
  ASSERT_EQ_INT(cfg_parse_listen(":80", host, sizeof host, &port), 0);
  ASSERT_EQ_STR(host, "0.0.0.0");
  ASSERT_EQ_INT(cfg_parse_listen("[]:80", host, sizeof host, &port), -1);
  ASSERT_EQ_INT(cfg_parse_listen("host:", host, sizeof host, &port), -1);
  ASSERT_EQ_INT(cfg_parse_listen("host:8x", host, sizeof host, &port), -1);

  /* every option has documentation, and the Markdown lists each one */
  const struct cfg_option_doc *o = cfg_options(&n);
  ASSERT_TRUE(n >= 20);
  struct buf md;
  buf_init(&md);
  cfg_doc_markdown(&md);
  for (size_t i = 0; i < n; i++) {
    char want[96];
    ASSERT_TRUE(o[i].path && o[i].type && o[i].def && o[i].help && *o[i].help);
    snprintf(want, sizeof want, "| `%s` |", o[i].path);
    if (!strstr(md.data, want)) CHECK_FAIL("markdown lacks %s", o[i].path);
  }
  /* docs/configuration.md carries the same table, byte for byte */
  char *doc = xasprintf("%s/../../docs/configuration.md", test_dir);
  size_t dlen;
  char *text = read_file(doc, &dlen);
  if (!text) CHECK_FAIL("cannot read %s", doc);
  else if (!strstr(text, md.data))
    CHECK_FAIL("%s: the options table differs from cfg_doc_markdown()", doc);
  free(text);
  free(doc);
  buf_free(&md);
}

int main(void) {
  snprintf(test_dir, sizeof test_dir, "%s", __FILE__);
  char *slash = strrchr(test_dir, '/');
  if (slash) *slash = '\0';
  else snprintf(test_dir, sizeof test_dir, ".");
  test_defaults();
  test_full();
  test_errors();
  test_secrets();
  test_sandbox();
  test_helpers();
  CHECK_DONE();
}

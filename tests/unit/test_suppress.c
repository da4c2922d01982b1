/* Unit tests of suppress.c: detection globs, field conditions (equality, lists, glob,
 * prefix, cidr, arrays, numbers), expiry, first-match order and hit counting (also from
 * two threads), the check report, and the load errors that keep an entry from matching
 * more than written. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "suppress.h"

static struct sup_set *load(const char *text, char **err) {
  struct sup_set *s = NULL;
  *err = NULL;
  if (sup_load_string("sup.lua", text, strlen(text), &s, err) != 0) return NULL;
  return s;
}

/* The error of loading text (static copy), or "" when it loads. */
static const char *load_error(const char *text) {
  static char out[600];
  char *err;
  struct sup_set *s = load(text, &err);
  snprintf(out, sizeof out, "%s", err ? err : "");
  free(err);
  sup_free(s);
  return out;
}

static double at(const char *rfc3339) {
  double t = 0;
  if (clk_parse(rfc3339, strlen(rfc3339), &t) != 0) abort();
  return t;
}

static const char *const EVENT =
    "{\"eventName\":\"AuthorizeSecurityGroupIngress\",\"eventSource\":\"ec2.amazonaws.com\","
    "\"awsRegion\":\"eu-west-1\",\"sourceIPAddress\":\"10.20.30.40\",\"readOnly\":false,"
    "\"recipientAccountId\":\"111122223333\",\"errorCode\":null,"
    "\"requestParameters\":{\"groupId\":\"sg-0abc\",\"port\":443},"
    "\"resources\":[{\"ARN\":\"arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0abc\"}],"
    "\"tags\":[\"ci\",\"terraform\"],"
    "\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"arn:aws:sts::111122223333:assumed-role/ci-deployer/gh-42\"}}";

static const char *const FILE_TEXT =
    "-- a comment, as in any Lua file\n"
    "local ci = 'arn:aws:sts::111122223333:assumed-role/ci-deployer/'\n"
    "return {\n"
    "  { name = 'expired-first', detection = '*', expires = '2020-01-01',\n"
    "    reason = 'old', author = 'x' },\n"
    "  { name = 'ci-sg', detection = 'AWS.EC2.*',\n"
    "    where = { ['userIdentity.arn'] = { prefix = ci },\n"
    "              awsRegion = { 'eu-west-1', 'eu-central-1' },\n"
    "              sourceIPAddress = { cidr = '10.0.0.0/8' } },\n"
    "    expires = '2026-12-31', reason = 'CI manages security groups (CHG-1)', author = 'alice' },\n"
    "  { name = 'by-number', detection = { 'Other.One', 'Other.Two' },\n"
    "    where = { recipientAccountId = 111122223333, ['requestParameters.port'] = '443',\n"
    "              readOnly = false } },\n"
    "  { detection = 'Tags.*', where = { tags = 'terraform' },\n"
    "    expires = '2026-06-30T12:00:00+02:00' },\n"
    "  { name = 'arn-glob', detection = 'Globs', where = { ['resources'] = 'x',\n"
    "    ['userIdentity.arn'] = { glob = 'arn:aws:sts::*:assumed-role/ci-*/*' } } },\n"
    "  { name = 'globs2', detection = 'Globs2', where = {\n"
    "    ['userIdentity.arn'] = { { glob = '*:assumed-role/admin/*' }, { glob = '*/ci-[a-d]*' } } } },\n"
    "  { name = 'missing-field', detection = 'Missing', where = { ['userIdentity.userName'] = 'x' } },\n"
    "  { name = 'bad-glob', detection = 'Bad[', reason = 'r', author = 'a' },\n"
    "}\n";

static void test_match(void) {
  char *err;
  struct sup_set *s = load(FILE_TEXT, &err);
  ASSERT_TRUE(s != NULL);
  if (!s) {
    fprintf(stderr, "%s\n", err);
    free(err);
    return;
  }
  cJSON *ev = cJSON_Parse(EVENT);
  double now = at("2026-06-01T00:00:00Z");
  ASSERT_EQ_INT(s->n, 8);
  ASSERT_EQ_STR(s->entries[3].name, "#4"); /* unnamed: its position */
  /* the expired catch-all is skipped; every condition of ci-sg holds */
  ASSERT_EQ_INT(sup_match(s, "AWS.EC2.SecurityGroupModified", ev, now), 1);
  /* the catch-all applies while it has not expired (first match wins) */
  ASSERT_EQ_INT(sup_match(s, "AWS.EC2.SecurityGroupModified", ev, at("2019-12-31T23:59:59Z")), 0);
  ASSERT_EQ_INT(sup_match(s, "Anything", ev, at("2019-12-31T23:59:59Z")), 0);
  ASSERT_EQ_INT(sup_match(s, "Anything", ev, now), -1);
  /* a date expires at the end of that day (UTC) */
  ASSERT_EQ_INT(sup_match(s, "AWS.EC2.X", ev, at("2026-12-31T23:59:59Z")), 1);
  ASSERT_EQ_INT(sup_match(s, "AWS.EC2.X", ev, at("2027-01-01T00:00:00Z")), -1);
  /* the detection glob: "AWS.EC2.*" is not "AWS.IAM.*" nor "Threat.AWS.EC2.x" */
  ASSERT_EQ_INT(sup_match(s, "AWS.IAM.PolicyModified", ev, now), -1);
  ASSERT_EQ_INT(sup_match(s, "Threat.AWS.EC2.X", ev, now), -1);
  /* a number condition matches a string field holding it, a string one a number field */
  ASSERT_EQ_INT(sup_match(s, "Other.Two", ev, now), 2);
  ASSERT_EQ_INT(sup_match(s, "Other.Three", ev, now), -1);
  /* an array field: one element equal is enough; RFC 3339 with an offset */
  ASSERT_EQ_INT(sup_match(s, "Tags.T", ev, at("2026-06-30T09:59:59Z")), 3);
  ASSERT_EQ_INT(sup_match(s, "Tags.T", ev, at("2026-06-30T10:00:00Z")), -1);
  /* every condition must hold: resources is an array of objects, never "x" */
  ASSERT_EQ_INT(sup_match(s, "Globs", ev, now), -1);
  ASSERT_EQ_INT(sup_match(s, "Globs2", ev, now), 5); /* the second glob of the list */
  ASSERT_EQ_INT(sup_match(s, "Missing", ev, now), -1); /* a missing field never matches */
  ASSERT_EQ_INT(sup_match(s, "Bad[", ev, now), 7);    /* an unclosed '[' is literal */

  /* Change one field at a time: each condition of ci-sg is checked. */
  const char *variants[][2] = {
      {"\"awsRegion\":\"eu-west-1\"", "\"awsRegion\":\"us-east-1\""},
      {"\"sourceIPAddress\":\"10.20.30.40\"", "\"sourceIPAddress\":\"11.20.30.40\""},
      {"\"sourceIPAddress\":\"10.20.30.40\"", "\"sourceIPAddress\":\"AWS Internal\""},
      {"assumed-role/ci-deployer/gh-42", "assumed-role/ci-deployer2/gh-42"},
      {"\"sourceIPAddress\":\"10.20.30.40\",", ""},
  };
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
    char text[2048];
    const char *p = strstr(EVENT, variants[i][0]);
    ASSERT_TRUE(p != NULL);
    if (!p) continue;
    snprintf(text, sizeof text, "%.*s%s%s", (int)(p - EVENT), EVENT, variants[i][1], p + strlen(variants[i][0]));
    cJSON *v = cJSON_Parse(text);
    ASSERT_TRUE(v != NULL);
    ASSERT_EQ_INT(sup_match(s, "AWS.EC2.X", v, now), -1);
    cJSON_Delete(v);
  }
  /* The IPv6 and v4-mapped forms of an address in the CIDR still match. */
  char text[2048];
  const char *p = strstr(EVENT, "10.20.30.40");
  snprintf(text, sizeof text, "%.*s::ffff:10.20.30.40%s", (int)(p - EVENT), EVENT, p + 11);
  cJSON *v = cJSON_Parse(text);
  ASSERT_EQ_INT(sup_match(s, "AWS.EC2.X", v, now), 1);
  cJSON_Delete(v);

  /* Hits are counted by sup_apply only, on the entry that matched. */
  ASSERT_EQ_INT(sup_hits(s, 1), 0);
  ASSERT_EQ_INT(sup_apply(s, "AWS.EC2.X", ev, now), 1);
  ASSERT_EQ_INT(sup_apply(s, "AWS.EC2.Y", ev, now), 1);
  ASSERT_EQ_INT(sup_apply(s, "Nothing", ev, now), -1);
  ASSERT_EQ_INT(sup_hits(s, 1), 2);
  ASSERT_EQ_INT(sup_hits(s, 0), 0);
  cJSON_Delete(ev);
  sup_free(s);
}

struct problems {
  int n, errors;
  char text[40][200];
};

static void collect(void *ud, enum sup_level level, size_t entry, const char *msg) {
  struct problems *p = ud;
  (void)entry;
  if (p->n < 40) snprintf(p->text[p->n++], sizeof p->text[0], "%s: %s", level == SUP_ERROR ? "E" : "W", msg);
  p->errors += level == SUP_ERROR;
}

static bool has(const struct problems *p, const char *want) {
  for (int i = 0; i < p->n; i++)
    if (strstr(p->text[i], want)) return true;
  return false;
}

static void test_check(void) {
  char *err;
  struct sup_set *s = load(FILE_TEXT, &err);
  ASSERT_TRUE(s != NULL);
  if (!s) return;
  struct problems p = {0};
  const char *ids[] = {"AWS.EC2.SecurityGroupModified", "Other.Two", "Tags.T"};
  size_t errors = sup_check(s, at("2026-06-01T00:00:00Z"), ids, 3, collect, &p);
  ASSERT_EQ_INT(errors, 1);
  ASSERT_EQ_INT(p.errors, 1);
  ASSERT_TRUE(has(&p, "E: entry 8 (bad-glob): detection \"Bad[\": '[' is not closed"));
  ASSERT_TRUE(has(&p, "W: entry 1 (expired-first): expired on 2020-01-01: it is ignored"));
  ASSERT_TRUE(has(&p, "W: entry 3 (by-number): no reason"));
  ASSERT_TRUE(has(&p, "W: entry 3 (by-number): no author"));
  ASSERT_TRUE(has(&p, "W: entry 4: no name: its metric label \"#4\""));
  ASSERT_TRUE(has(&p, "W: entry 3 (by-number): detection \"Other.One\" matches no loaded detection"));
  ASSERT_TRUE(has(&p, "W: entry 5 (arn-glob): detection \"Globs\" matches no loaded detection"));
  ASSERT_TRUE(!has(&p, "entry 2 (ci-sg)")); /* a complete entry has nothing to report */
  ASSERT_TRUE(!has(&p, "\"Other.Two\" matches no"));
  /* Later, the 2026-12-31 entry and the one with an offset have expired too. */
  memset(&p, 0, sizeof p);
  sup_check(s, at("2027-01-01T00:00:00Z"), NULL, 0, collect, &p);
  ASSERT_TRUE(has(&p, "W: entry 2 (ci-sg): expired on 2026-12-31"));
  ASSERT_TRUE(has(&p, "W: entry 4 (#4): expired on 2026-06-30T12:00:00+02:00"));
  ASSERT_TRUE(!has(&p, "matches no loaded detection")); /* ids NULL: not checked */
  /* A glob inside where is checked too. */
  struct sup_set *g = load("return { { name = 'g', detection = 'X', reason = 'r', author = 'a', "
                           "where = { a = { glob = 'x[' } } } }", &err);
  ASSERT_TRUE(g != NULL);
  memset(&p, 0, sizeof p);
  if (g) ASSERT_EQ_INT(sup_check(g, 0, NULL, 0, collect, &p), 1);
  ASSERT_TRUE(has(&p, "E: entry 1 (g): where[\"a\"] glob \"x[\": '[' is not closed"));
  sup_free(g);
  sup_free(s);
}

static void test_load_errors(void) {
  ASSERT_EQ_STR(load_error("return {}"), "");
  ASSERT_EQ_STR(load_error("return { { detection = 'X' } }"), "");
  /* a misspelt field would widen the entry to every event: refused */
  ASSERT_EQ_STR(load_error("return { { detection = 'X', were = { a = 1 } } }"),
                "sup.lua: entry 1: unknown field \"were\" (fields: name, detection, where, expires, reason, author)");
  ASSERT_EQ_STR(load_error("return { { detection = 'X' }, { name = 'n', where = { a = 1 } } }"),
                "sup.lua: entry 2 (n): detection is required (an id, a glob such as \"AWS.*\", or a list)");
  ASSERT_EQ_STR(load_error("return { { detection = 5 } }"),
                "sup.lua: entry 1 (#1): detection: expected a string or a non-empty list of strings, got number");
  ASSERT_EQ_STR(load_error("return { { detection = { 'A', 5 } } }"),
                "sup.lua: entry 1 (#1): detection: expected a list of strings, item 2 is number");
  ASSERT_EQ_STR(load_error("return { { detection = 'X', where = { a = function() end } } }"),
                "sup.lua: entry 1 (#1): where[\"a\"]: expected a string, number, boolean, {glob=...}, {prefix=...} or {cidr=...}, got function");
  ASSERT_EQ_STR(load_error("return { { detection = 'X', where = { a = {} } } }"),
                "sup.lua: entry 1 (#1): where[\"a\"]: empty list (it would never match)");
  ASSERT_EQ_STR(load_error("return { { detection = 'X', where = { a = { regex = '.*' } } } }"),
                "sup.lua: entry 1 (#1): where[\"a\"]: a table must be a list of values or one of {glob=...}, {prefix=...}, {cidr=...}");
  ASSERT_EQ_STR(load_error("return { { detection = 'X', where = { a = { cidr = '10.0.0.0/40' } } } }"),
                "sup.lua: entry 1 (#1): where[\"a\"]: \"10.0.0.0/40\" is not an IP address or CIDR");
  ASSERT_EQ_STR(load_error("return { { detection = 'X', where = { a = { { 'x' } } } } }"),
                "sup.lua: entry 1 (#1): where[\"a\"]: lists do not nest");
  ASSERT_EQ_STR(load_error("return { { detection = 'X', where = { ['a..b'] = 1 } } }"),
                "sup.lua: entry 1 (#1): where: \"a..b\" is not a field path (a.b.c)");
  ASSERT_EQ_STR(load_error("return { { detection = 'X', where = { 'a' } } }"),
                "sup.lua: entry 1 (#1): where: keys must be field paths (strings), got number");
  ASSERT_EQ_STR(load_error("return { { detection = 'X', expires = '2026-02-30' } }"),
                "sup.lua: entry 1 (#1): expires: \"2026-02-30\" is not a date (2026-12-31) or an RFC 3339 time (2026-12-31T18:00:00Z)");
  ASSERT_TRUE(strstr(load_error("return { { detection = 'X', expires = '1767225600' } }"), "is not a date"));
  ASSERT_TRUE(strstr(load_error("return { { detection = 'X', expires = '2026-12-31T25:00:00Z' } }"), "is not a date"));
  ASSERT_EQ_STR(load_error("return { { detection = 'X', expires = 20261231 } }"),
                "sup.lua: entry 1 (#1): expires: expected a string, got number");
  ASSERT_EQ_STR(load_error("return { { name = 'a', detection = 'X' }, { name = 'a', detection = 'Y' } }"),
                "sup.lua: entry 2 (a): name \"a\" is also entry 1's (names label metrics: make them unique)");
  ASSERT_TRUE(strstr(load_error("return { { name = 'a\"b', detection = 'X' } }"), "name: 1 to 128 printable"));
  ASSERT_TRUE(strstr(load_error("return { detection = 'X' }"), "sup.lua: the file must return a list of entries"));
  ASSERT_TRUE(strstr(load_error("return 'x'"), "must return a list"));
  ASSERT_TRUE(strstr(load_error("return { 'x' }"), "sup.lua: entry 1: expected a table, got string"));
  /* Lua errors keep their file:line; nothing reaches the filesystem; loops and memory end */
  ASSERT_EQ_STR(load_error("return {\n  { detection = 'X' \n"),
                "sup.lua:3: '}' expected (to close '{' at line 2) near <eof>");
  ASSERT_TRUE(strstr(load_error("local f = io.open('/etc/passwd')"), "sup.lua:1: attempt to index a nil value (global 'io')"));
  ASSERT_TRUE(strstr(load_error("return dofile('/etc/passwd')"), "attempt to call a nil value (global 'dofile')"));
  ASSERT_TRUE(strstr(load_error("while true do end"), "runs too long"));
  ASSERT_TRUE(strstr(load_error("local t = {} for i = 1, 1e8 do t[i] = i end"), "too much memory") ||
              strstr(load_error("local t = {} for i = 1, 1e8 do t[i] = i end"), "runs too long"));
  /* reads are raw: no metamethod runs, the table is just empty */
  ASSERT_EQ_STR(load_error("return setmetatable({}, { __index = function() while true do end end })"), "");
  ASSERT_EQ_STR(load_error("return { setmetatable({}, { __index = function() while true do end end }) }"),
                "sup.lua: entry 1 (#1): detection is required (an id, a glob such as \"AWS.*\", or a list)");
  char *err = NULL;
  struct sup_set *s = NULL;
  ASSERT_EQ_INT(sup_load("/nonexistent/sup.lua", &s, &err), -1);
  ASSERT_TRUE(s == NULL && err && strstr(err, "/nonexistent/sup.lua: cannot read: No such file"));
  free(err);
}

struct worker {
  struct sup_set *s;
  cJSON *ev;
};

static void *hammer(void *arg) {
  struct worker *w = arg;
  for (int i = 0; i < 100000; i++) sup_apply(w->s, "AWS.EC2.X", w->ev, at("2026-06-01T00:00:00Z"));
  return NULL;
}

static void test_threads(void) {
  char *err;
  struct sup_set *s = load(FILE_TEXT, &err);
  struct worker w = {s, cJSON_Parse(EVENT)};
  pthread_t a, b;
  ASSERT_EQ_INT(pthread_create(&a, NULL, hammer, &w), 0);
  ASSERT_EQ_INT(pthread_create(&b, NULL, hammer, &w), 0);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  ASSERT_EQ_INT(sup_hits(s, 1), 200000);
  cJSON_Delete(w.ev);
  sup_free(s);
}

int main(void) {
  test_match();
  test_check();
  test_load_errors();
  test_threads();
  CHECK_DONE();
}

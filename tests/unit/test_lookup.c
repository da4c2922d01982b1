/* Unit tests of lookup.c: CSV (RFC 4180) and list files, exact and CIDR tables, IPv4 and
 * IPv6 longest-prefix match with nested prefixes, v4-mapped addresses, errors with line
 * numbers, sets; and a brute-force cross-check of the range flattening. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "lookup.h"
#include "util.h"

static char dir[64];

static const char *write_file(const char *name, const char *text, size_t len) {
  static char path[8][256];
  static int next;
  char *p = path[next++ % 8];
  snprintf(p, sizeof path[0], "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
    perror(p);
    exit(2);
  }
  return p;
}

static const char *put(const char *name, const char *text) { return write_file(name, text, strlen(text)); }

/* Loads a table; on failure returns NULL and keeps the message in last_err. */
static char last_err[512];
static struct lkp_table *load(const char *name, const char *path, const char *key, enum lkp_kind kind) {
  struct lkp_spec spec = {.name = name, .path = path, .key = key, .kind = kind};
  struct lkp_table *t = NULL;
  char *err = NULL;
  last_err[0] = '\0';
  if (lkp_table_load(&spec, &t, &err) != 0) {
    snprintf(last_err, sizeof last_err, "%s", err);
    free(err);
    return NULL;
  }
  return t;
}

/* The value of column col in the row key finds, or "(none)". */
static const char *get(const struct lkp_table *t, const char *key, const char *col) {
  size_t row;
  if (!lkp_find(t, key, strlen(key), &row)) return "(none)";
  long c = lkp_column(t, col);
  return c < 0 ? "(no column)" : lkp_field(t, row, (size_t)c);
}

/* Does the last error start with the file's path and then ":line: " and contain want? */
static bool err_is(const char *path, unsigned long line, const char *want) {
  char head[300];
  if (line) snprintf(head, sizeof head, "%s:%lu: ", path, line);
  else snprintf(head, sizeof head, "%s: ", path);
  bool ok = strncmp(last_err, head, strlen(head)) == 0 && strstr(last_err, want) != NULL;
  if (!ok) fprintf(stderr, "  got error: %s\n  want: %s...%s\n", last_err, head, want);
  return ok;
}

static void test_csv(void) {
  /* BOM, CRLF, comments and blank lines, quoted commas, doubled quotes, a newline inside
   * quotes, an empty last field, and a key column chosen by name. */
  const char *csv = "\xEF\xBB\xBF# accounts we own\r\n"
                    "name,account_id,\"notes, free text\",env\r\n"
                    "\r\n"
                    "payments,111122223333,\"says \"\"hi\"\", twice\",prod\r\n"
                    "# a comment between rows\r\n"
                    "\"multi\",444455556666,\"line one\r\nline two\",\r\n"
                    "plain,777788889999,,dev";
  const char *p = put("accounts.csv", csv);
  struct lkp_table *t = load("accounts", p, "account_id", LKP_KIND_AUTO);
  ASSERT_TRUE(t != NULL);
  if (!t) return;
  ASSERT_EQ_INT(t->kind, LKP_KIND_EXACT);
  ASSERT_EQ_INT(t->ncols, 4);
  ASSERT_EQ_STR(t->cols[2], "notes, free text");
  ASSERT_EQ_INT(t->key_col, 1);
  ASSERT_EQ_INT(t->stats.rows, 3);
  ASSERT_EQ_INT(t->stats.skipped, 3);
  ASSERT_EQ_STR(get(t, "111122223333", "notes, free text"), "says \"hi\", twice");
  ASSERT_EQ_STR(get(t, "111122223333", "env"), "prod");
  ASSERT_EQ_STR(get(t, "444455556666", "name"), "multi");
  ASSERT_EQ_STR(get(t, "444455556666", "notes, free text"), "line one\r\nline two");
  ASSERT_EQ_STR(get(t, "444455556666", "env"), "");
  ASSERT_EQ_STR(get(t, "777788889999", "env"), "dev");
  ASSERT_EQ_STR(get(t, "payments", "env"), "(none)"); /* the key is account_id, not name */
  ASSERT_EQ_STR(get(t, "11112222333", "env"), "(none)");
  ASSERT_EQ_STR(get(t, "1111222233334", "env"), "(none)");
  ASSERT_TRUE(t->stats.bytes > strlen(csv));
  lkp_table_free(t);

  /* Default key: the first column; a key option naming no column is an error. */
  t = load("accounts", p, NULL, LKP_KIND_AUTO);
  ASSERT_TRUE(t && t->key_col == 0);
  if (t) ASSERT_EQ_STR(get(t, "plain", "account_id"), "777788889999");
  lkp_table_free(t);
  ASSERT_TRUE(load("accounts", p, "acct", LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(err_is(p, 0, "no column named \"acct\" for the key (columns: name, account_id, notes, free text, env)"));
}

static void test_csv_errors(void) {
  /* The record on line 3 spans two lines, so the short record "d" is on line 6. */
  const char *p = put("bad1.csv", "k,v\na,1\nb,\"x\ny\"\nc,3\nd\n");
  ASSERT_TRUE(load("t", p, NULL, LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(err_is(p, 6, "expected 2 fields (as in the header), got 1"));
  p = put("bad2.csv", "k,v\na,1\nb,\"never closed\nc,3\n");
  ASSERT_TRUE(load("t", p, NULL, LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(err_is(p, 3, "quoted field is not closed"));
  p = put("bad3.csv", "k,v\na,say \"x\"\n");
  ASSERT_TRUE(load("t", p, NULL, LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(err_is(p, 2, "quote inside an unquoted field"));
  p = put("bad4.csv", "k,v\n\"a\"b,1\n");
  ASSERT_TRUE(load("t", p, NULL, LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(err_is(p, 2, "unexpected character 'b' after a closing quote"));
  p = put("bad5.csv", "# only a comment\n\n");
  ASSERT_TRUE(load("t", p, NULL, LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(err_is(p, 0, "no header row"));
  p = put("bad6.csv", "k,k\na,b\n");
  ASSERT_TRUE(load("t", p, NULL, LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(err_is(p, 1, "column \"k\" appears twice"));
  p = put("bad7.csv", "k,v\n,1\n");
  ASSERT_TRUE(load("t", p, NULL, LKP_KIND_EXACT) == NULL);
  ASSERT_TRUE(err_is(p, 2, "empty key"));
  p = write_file("bad8.csv", "k,v\na,1\nb\0,2\n", 14);
  ASSERT_TRUE(load("t", p, NULL, LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(err_is(p, 3, "contains a NUL byte"));
  ASSERT_TRUE(load("t", "/nonexistent/x.csv", NULL, LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(err_is("/nonexistent/x.csv", 0, "cannot read: No such file or directory"));
  ASSERT_TRUE(load("t", dir, NULL, LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(err_is(dir, 0, "cannot read: Is a directory"));
  ASSERT_TRUE(load("bad-name", p, NULL, LKP_KIND_AUTO) == NULL);
  ASSERT_TRUE(strstr(last_err, "not an identifier") != NULL);
  /* A header-only CSV is an empty table, not an error. */
  p = put("empty.csv", "k,v\n");
  struct lkp_table *t = load("t", p, NULL, LKP_KIND_AUTO);
  ASSERT_TRUE(t && t->nrows == 0 && t->kind == LKP_KIND_EXACT);
  if (t) ASSERT_EQ_STR(get(t, "a", "v"), "(none)");
  lkp_table_free(t);
}

static void test_list_exact(void) {
  const char *p = put("users.txt", "# break-glass users\n"
                                   "  breakglass-admin  \n"
                                   "\n"
                                   "\t# indented comment\n"
                                   "Emergency-Root\r\n"
                                   "breakglass-admin\n"
                                   "arn:aws:iam::111122223333:user/bg");
  struct lkp_table *t = load("bg", p, NULL, LKP_KIND_AUTO);
  ASSERT_TRUE(t != NULL);
  if (!t) return;
  ASSERT_EQ_INT(t->kind, LKP_KIND_EXACT);
  ASSERT_EQ_INT(t->ncols, 1);
  ASSERT_EQ_STR(t->cols[0], "value");
  ASSERT_EQ_INT(t->stats.rows, 3);
  ASSERT_EQ_INT(t->stats.duplicates, 1);
  ASSERT_EQ_INT(t->stats.first_duplicate_line, 6);
  ASSERT_EQ_INT(t->stats.skipped, 3);
  ASSERT_EQ_INT(t->stats.non_address_line, 2); /* why auto chose exact */
  ASSERT_EQ_STR(get(t, "breakglass-admin", "value"), "breakglass-admin"); /* trimmed */
  ASSERT_EQ_STR(get(t, "Emergency-Root", "value"), "Emergency-Root");     /* \r dropped */
  ASSERT_EQ_STR(get(t, "emergency-root", "value"), "(none)");             /* case counts */
  ASSERT_EQ_STR(get(t, "arn:aws:iam::111122223333:user/bg", "value"), "arn:aws:iam::111122223333:user/bg");
  ASSERT_EQ_STR(get(t, "breakglass", "value"), "(none)");
  size_t row;
  ASSERT_TRUE(!lkp_find(t, "breakglass-admin\0x", 18, &row)); /* embedded NUL never matches */
  ASSERT_TRUE(lkp_find(t, "breakglass-adminXYZ", 16, &row));  /* length-delimited key */
  lkp_table_free(t);

  struct lkp_spec spec = {.name = "bg", .path = p, .ignore_case = true};
  char *err = NULL;
  ASSERT_EQ_INT(lkp_table_load(&spec, &t, &err), 0);
  ASSERT_EQ_STR(get(t, "EMERGENCY-root", "value"), "Emergency-Root");
  ASSERT_EQ_STR(get(t, "BREAKGLASS-ADMIN", "value"), "breakglass-admin");
  lkp_table_free(t);
  spec.key = "value";
  ASSERT_EQ_INT(lkp_table_load(&spec, &t, &err), -1);
  ASSERT_TRUE(err && strstr(err, "a list file has no columns"));
  free(err);

  /* Many keys: the table grows past its first size and every key is still found. */
  struct buf b;
  buf_init(&b);
  for (int i = 0; i < 5000; i++) buf_printf(&b, "host-%d.example.com\n", i * 7);
  p = put("many.txt", b.data);
  buf_free(&b);
  t = load("many", p, NULL, LKP_KIND_AUTO);
  ASSERT_TRUE(t && t->stats.rows == 5000);
  int found = 0, wrong = 0;
  for (int i = 0; t && i < 35000; i++) {
    char k[64];
    snprintf(k, sizeof k, "host-%d.example.com", i);
    if (lkp_find(t, k, strlen(k), &row)) {
      found++;
      if (strcmp(lkp_field(t, row, 0), k) != 0) wrong++;
    }
  }
  ASSERT_EQ_INT(found, 5000);
  ASSERT_EQ_INT(wrong, 0);
  lkp_table_free(t);
}

static void test_cidr_v4(void) {
  const char *p = put("nets.csv", "cidr,label\n"
                                  "10.1.2.3,D\n"
                                  "10.0.0.0/8,A\n"
                                  "10.1.2.0/24,C\n"
                                  "10.1.0.0/16,B\n"
                                  "192.168.7.77/24,N\n"
                                  "::ffff:198.51.100.0/120,M\n"
                                  "172.16.0.0/12,P\n"
                                  "172.16.0.0/12,P2\n");
  struct lkp_table *t = load("nets", p, NULL, LKP_KIND_AUTO);
  ASSERT_TRUE(t != NULL);
  if (!t) return;
  ASSERT_EQ_INT(t->kind, LKP_KIND_CIDR);
  ASSERT_EQ_INT(t->stats.v4, 8);
  ASSERT_EQ_INT(t->stats.v6, 0);
  ASSERT_EQ_INT(t->stats.normalised, 1);
  ASSERT_EQ_INT(t->stats.duplicates, 1);
  ASSERT_EQ_INT(t->stats.first_duplicate_line, 9);
  ASSERT_EQ_INT(t->stats.rows, 7);
  ASSERT_EQ_STR(get(t, "10.1.2.3", "label"), "D");
  ASSERT_EQ_STR(get(t, "10.1.2.4", "label"), "C");
  ASSERT_EQ_STR(get(t, "10.1.2.2", "label"), "C");
  ASSERT_EQ_STR(get(t, "10.1.2.255", "label"), "C");
  ASSERT_EQ_STR(get(t, "10.1.3.0", "label"), "B");   /* right after the /24: back to the /16 */
  ASSERT_EQ_STR(get(t, "10.1.1.255", "label"), "B");
  ASSERT_EQ_STR(get(t, "10.1.255.255", "label"), "B");
  ASSERT_EQ_STR(get(t, "10.2.0.0", "label"), "A");   /* after the /16: back to the /8 */
  ASSERT_EQ_STR(get(t, "10.0.0.0", "label"), "A");
  ASSERT_EQ_STR(get(t, "10.255.255.255", "label"), "A");
  ASSERT_EQ_STR(get(t, "11.0.0.0", "label"), "(none)");
  ASSERT_EQ_STR(get(t, "9.255.255.255", "label"), "(none)");
  ASSERT_EQ_STR(get(t, "192.168.7.1", "label"), "N");  /* host bits were cleared */
  ASSERT_EQ_STR(get(t, "198.51.100.9", "label"), "M"); /* v4-mapped prefix stored as v4 */
  ASSERT_EQ_STR(get(t, "172.31.255.255", "label"), "P"); /* the first duplicate wins */
  ASSERT_EQ_STR(get(t, "::ffff:10.1.2.4", "label"), "C"); /* v4-mapped lookup */
  ASSERT_EQ_STR(get(t, "::FFFF:10.1.2.3", "label"), "D");
  ASSERT_EQ_STR(get(t, "cidr", "label"), "(none)");
  ASSERT_EQ_STR(get(t, "10.1.2", "label"), "(none)");
  ASSERT_EQ_STR(get(t, "10.1.2.3.4", "label"), "(none)");
  ASSERT_EQ_STR(get(t, "10.1.2.03", "label"), "(none)");   /* leading zeros are refused */
  ASSERT_EQ_STR(get(t, "10.1.2.256", "label"), "(none)");
  ASSERT_EQ_STR(get(t, " 10.1.2.3", "label"), "(none)");
  ASSERT_EQ_STR(get(t, "10.1.2.3/32", "label"), "(none)"); /* a lookup takes an address */
  ASSERT_EQ_STR(get(t, "2001:db8::1", "label"), "(none)");  /* no IPv6 prefixes at all */
  lkp_table_free(t);

  /* The edges of the address space: 0.0.0.0/0 under everything, the last address. */
  p = put("edges.txt", "0.0.0.0/0\n255.255.255.255\n255.0.0.0/8\n0.0.0.0/32\n");
  t = load("edges", p, NULL, LKP_KIND_AUTO);
  ASSERT_TRUE(t && t->kind == LKP_KIND_CIDR);
  if (t) {
    ASSERT_EQ_STR(get(t, "255.255.255.255", "value"), "255.255.255.255");
    ASSERT_EQ_STR(get(t, "255.255.255.254", "value"), "255.0.0.0/8");
    ASSERT_EQ_STR(get(t, "254.255.255.255", "value"), "0.0.0.0/0");
    ASSERT_EQ_STR(get(t, "0.0.0.0", "value"), "0.0.0.0/32");
    ASSERT_EQ_STR(get(t, "0.0.0.1", "value"), "0.0.0.0/0");
  }
  lkp_table_free(t);

  /* Forced cidr: a key that is not an address is an error with its line. */
  p = put("badnets.txt", "# nets\n10.0.0.0/8\n\n10.0.0.0/33\n");
  ASSERT_TRUE(load("n", p, NULL, LKP_KIND_CIDR) == NULL);
  ASSERT_TRUE(err_is(p, 4, "\"10.0.0.0/33\" is not an IP address or CIDR"));
  p = put("badnets2.txt", "10.0.0.0/8\nevil.example.com\n");
  ASSERT_TRUE(load("n", p, NULL, LKP_KIND_CIDR) == NULL);
  ASSERT_TRUE(err_is(p, 2, "\"evil.example.com\" is not an IP address or CIDR"));
  /* ...while auto falls back to exact and says which line decided it. */
  t = load("n", p, NULL, LKP_KIND_AUTO);
  ASSERT_TRUE(t && t->kind == LKP_KIND_EXACT && t->stats.non_address_line == 2);
  if (t) ASSERT_EQ_STR(get(t, "10.0.0.0/8", "value"), "10.0.0.0/8");
  if (t) ASSERT_EQ_STR(get(t, "10.1.1.1", "value"), "(none)");
  lkp_table_free(t);
  /* Forced exact on addresses: plain string keys. */
  p = put("exactnets.txt", "10.0.0.0/8\n");
  t = load("n", p, NULL, LKP_KIND_EXACT);
  ASSERT_TRUE(t && t->kind == LKP_KIND_EXACT);
  if (t) ASSERT_EQ_STR(get(t, "10.0.0.1", "value"), "(none)");
  lkp_table_free(t);
}

static void test_cidr_v6(void) {
  const char *p = put("nets6.csv", "net,label\n"
                                   "2001:db8::/32,A\n"
                                   "2001:db8:1:2::5,D\n"
                                   "2001:db8:1::/48,B\n"
                                   "2001:db8:1:2::/64,C\n"
                                   "2001:DB8:ffff:ffff:ffff:ffff:ffff:ffff/128,E\n"
                                   "fe80::1/10,L\n"
                                   "10.0.0.0/8,V4\n");
  struct lkp_table *t = load("n6", p, NULL, LKP_KIND_AUTO);
  ASSERT_TRUE(t != NULL);
  if (!t) return;
  ASSERT_EQ_INT(t->kind, LKP_KIND_CIDR);
  ASSERT_EQ_INT(t->stats.v6, 6);
  ASSERT_EQ_INT(t->stats.v4, 1);
  ASSERT_EQ_INT(t->stats.normalised, 1);
  ASSERT_EQ_STR(get(t, "2001:db8:1:2::5", "label"), "D");
  ASSERT_EQ_STR(get(t, "2001:db8:1:2::4", "label"), "C");
  ASSERT_EQ_STR(get(t, "2001:db8:1:2::6", "label"), "C");
  ASSERT_EQ_STR(get(t, "2001:db8:1:2:ffff:ffff:ffff:ffff", "label"), "C");
  ASSERT_EQ_STR(get(t, "2001:db8:1:3::", "label"), "B"); /* crosses the 64-bit half */
  ASSERT_EQ_STR(get(t, "2001:db8:1:1:ffff:ffff:ffff:ffff", "label"), "B");
  ASSERT_EQ_STR(get(t, "2001:db8:2::1", "label"), "A");
  ASSERT_EQ_STR(get(t, "2001:db8:ffff:ffff:ffff:ffff:ffff:fffe", "label"), "A");
  ASSERT_EQ_STR(get(t, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "label"), "E");
  ASSERT_EQ_STR(get(t, "2001:db9::", "label"), "(none)");
  ASSERT_EQ_STR(get(t, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "label"), "(none)");
  ASSERT_EQ_STR(get(t, "febf::1", "label"), "L");
  ASSERT_EQ_STR(get(t, "fec0::", "label"), "(none)");
  ASSERT_EQ_STR(get(t, "10.9.9.9", "label"), "V4");
  ASSERT_EQ_STR(get(t, "::ffff:10.9.9.9", "label"), "V4");
  ASSERT_EQ_STR(get(t, "2001:db8::1%eth0", "label"), "(none)");
  ASSERT_EQ_STR(get(t, "[2001:db8::1]", "label"), "(none)");
  lkp_table_free(t);

  p = put("edges6.txt", "::/0\nffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n::\n");
  t = load("e6", p, NULL, LKP_KIND_AUTO);
  ASSERT_TRUE(t != NULL);
  if (t) {
    ASSERT_EQ_STR(get(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "value"),
                  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    ASSERT_EQ_STR(get(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "value"), "::/0");
    ASSERT_EQ_STR(get(t, "::", "value"), "::");
    ASSERT_EQ_STR(get(t, "::1", "value"), "::/0");
    ASSERT_EQ_STR(get(t, "1.2.3.4", "value"), "(none)"); /* ::/0 is IPv6 only */
  }
  lkp_table_free(t);
}

static void test_prefix_helpers(void) {
  struct lkp_addr net, a;
  unsigned len;
  bool host;
  ASSERT_TRUE(lkp_parse_prefix("10.1.2.3/8", 10, &net, &len, &host));
  ASSERT_TRUE(host && len == 8 && net.family == 4 && net.v4 == 0x0A000000u);
  ASSERT_TRUE(lkp_parse_addr("10.200.0.1", 10, &a) && lkp_prefix_contains(&net, len, &a));
  ASSERT_TRUE(lkp_parse_addr("11.0.0.1", 8, &a) && !lkp_prefix_contains(&net, len, &a));
  ASSERT_TRUE(lkp_parse_prefix("2001:db8::/32", 13, &net, &len, &host) && !host && len == 32);
  ASSERT_TRUE(lkp_parse_addr("2001:db8:ffff::1", 16, &a) && lkp_prefix_contains(&net, len, &a));
  ASSERT_TRUE(lkp_parse_addr("10.0.0.1", 8, &a) && !lkp_prefix_contains(&net, len, &a));
  ASSERT_TRUE(lkp_parse_prefix("::ffff:0.0.0.0/96", 17, &net, &len, &host) && net.family == 4 && len == 0);
  ASSERT_TRUE(lkp_parse_prefix("::ffff:0.0.0.0/95", 17, &net, &len, &host) && net.family == 6 && len == 95);
  ASSERT_TRUE(!lkp_parse_prefix("10.0.0.0/", 9, &net, &len, NULL));
  ASSERT_TRUE(!lkp_parse_prefix("10.0.0.0/08", 11, &net, &len, NULL));
  ASSERT_TRUE(!lkp_parse_prefix("10.0.0.0/-1", 11, &net, &len, NULL));
  ASSERT_TRUE(!lkp_parse_prefix("::/129", 6, &net, &len, NULL));
  ASSERT_TRUE(lkp_parse_prefix("::/128", 6, &net, &len, NULL) && len == 128);
  ASSERT_TRUE(!lkp_parse_addr("", 0, &a));
  ASSERT_TRUE(!lkp_parse_addr("1.2.3.4 ", 8, &a));
}

static void test_sets(void) {
  const char *a = put("a.txt", "x\n");
  put("b.csv", "k,v\n10.0.0.0/8,ten\n");
  (void)a;
  struct lkp_spec specs[] = {{.name = "a", .path = "a.txt"}, {.name = "b", .path = "b.csv"}};
  struct lkp_set *s = NULL;
  char *err = NULL;
  ASSERT_EQ_INT(lkp_set_load(specs, 2, dir, &s, &err), 0); /* relative to base_dir */
  ASSERT_TRUE(s != NULL && s->n == 2);
  if (s) {
    ASSERT_TRUE(lkp_set_get(s, "a") != NULL);
    ASSERT_EQ_STR(get(lkp_set_get(s, "b"), "10.9.8.7", "v"), "ten");
    ASSERT_TRUE(lkp_set_get(s, "c") == NULL);
    ASSERT_TRUE(s->bytes == lkp_set_get(s, "a")->stats.bytes + lkp_set_get(s, "b")->stats.bytes);
    /* Two holders: the set survives the first unref. */
    lkp_set_ref(s);
    lkp_set_unref(s);
    ASSERT_TRUE(lkp_set_get(s, "a") != NULL);
    lkp_set_unref(s);
  }
  struct lkp_spec dup[] = {{.name = "a", .path = "a.txt"}, {.name = "a", .path = "b.csv"}};
  ASSERT_EQ_INT(lkp_set_load(dup, 2, dir, &s, &err), -1);
  ASSERT_TRUE(s == NULL && err && strstr(err, "lookup table name \"a\" is already used by"));
  free(err);
  err = NULL;
  struct lkp_spec missing[] = {{.name = "a", .path = "a.txt"}, {.name = "m", .path = "missing.csv"}};
  ASSERT_EQ_INT(lkp_set_load(missing, 2, dir, &s, &err), -1);
  ASSERT_TRUE(err && strstr(err, "missing.csv: cannot read"));
  free(err);
  ASSERT_TRUE(lkp_set_get(NULL, "a") == NULL);
}

/* Random nested IPv4 and IPv6 prefixes in a small space, each lookup checked against a
 * brute-force longest match over the list. */
static unsigned long long rng = 88172645463325252ULL;
static uint64_t next_rand(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}

static void test_cross_check(void) {
  enum { N = 600, Q = 20000 };
  struct lkp_addr nets[N];
  unsigned lens[N];
  struct buf b;
  buf_init(&b);
  buf_puts(&b, "net,i\n");
  for (int i = 0; i < N; i++) {
    char text[64];
    if (i % 3 == 2) { /* IPv6 in 2001:db8::/32 varying in 10 bits, lengths 40..128 */
      uint64_t hi = 0x20010db800000000ULL | (next_rand() & 0xFF000000ULL), lo = next_rand() & 0x3ULL;
      unsigned len = 40 + (unsigned)(next_rand() % 89);
      snprintf(text, sizeof text, "%x:%x:%x:%x:%x:%x:%x:%x/%u", (unsigned)(hi >> 48),
               (unsigned)(hi >> 32 & 0xffff), (unsigned)(hi >> 16 & 0xffff), (unsigned)(hi & 0xffff),
               (unsigned)(lo >> 48), (unsigned)(lo >> 32 & 0xffff), (unsigned)(lo >> 16 & 0xffff),
               (unsigned)(lo & 0xffff), len);
    } else { /* IPv4 in 10.0.0.0/12 varying in 10 bits, lengths 13..32 */
      uint32_t a = 0x0A000000u | ((uint32_t)next_rand() & 0x000F0F03u);
      unsigned len = 13 + (unsigned)(next_rand() % 20);
      snprintf(text, sizeof text, "%u.%u.%u.%u/%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, len);
    }
    ASSERT_TRUE(lkp_parse_prefix(text, strlen(text), &nets[i], &lens[i], NULL));
    buf_printf(&b, "%s,%d\n", text, i);
  }
  const char *p = put("random.csv", b.data);
  buf_free(&b);
  struct lkp_table *t = load("r", p, NULL, LKP_KIND_AUTO);
  ASSERT_TRUE(t && t->kind == LKP_KIND_CIDR);
  if (!t) return;
  int bad = 0, hits = 0;
  for (int q = 0; q < Q; q++) {
    struct lkp_addr a = {0};
    if (q % 3 == 2) {
      a.family = 6;
      a.hi = 0x20010db800000000ULL | (next_rand() & 0xFF000000ULL);
      a.lo = next_rand() & (q % 2 ? 0x3ULL : UINT64_MAX);
    } else {
      a.family = 4;
      a.v4 = 0x0A000000u | ((uint32_t)next_rand() & 0x001F0F07u);
    }
    int best = -1;
    for (int i = 0; i < N; i++) /* the longest wins; among equal ones the first listed */
      if (lkp_prefix_contains(&nets[i], lens[i], &a) && (best < 0 || lens[i] > lens[best])) best = i;
    size_t row;
    bool found = lkp_find_addr(t, &a, &row);
    int got = found ? atoi(lkp_field(t, row, 1)) : -1;
    if (got != best) bad++;
    hits += best >= 0;
  }
  ASSERT_EQ_INT(bad, 0);
  ASSERT_TRUE(hits > Q / 5 && hits < Q * 4 / 5); /* the check saw hits and misses */
  lkp_table_free(t);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/lp0-lookup-XXXXXX");
  if (!mkdtemp(dir)) return 2;
  test_csv();
  test_csv_errors();
  test_list_exact();
  test_cidr_v4();
  test_cidr_v6();
  test_prefix_helpers();
  test_sets();
  test_cross_check();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 2;
  CHECK_DONE();
}

/* lookup.c — loading lookup tables from CSV and list files, and answering lookups.
 *
 * Storage. The file is read once into one buffer of exactly its size and parsed in
 * place: quotes are unescaped towards the start of each field and every field is ended
 * by a NUL written over its delimiter, so a row is ncols 32-bit offsets into that buffer
 * and a 1M-row table costs the file plus 4 bytes per field, with no allocation per row.
 *
 * Exact keys: open addressing with linear probing; a slot holds row + 1, the high half of
 * the key's hash and the key's offset, so the tag settles almost every probe without
 * touching the key text, and a hit reads one slot and one key. At most half full.
 *
 * CIDRs: the prefixes are sorted (address, then length) and flattened into disjoint
 * ranges, each carrying the row of the most specific prefix that covers it (nested
 * prefixes are resolved with a stack while sweeping once). A lookup is then one binary
 * search for the last range starting at or before the address. For IPv4 a directory
 * indexed by the top 16 bits of the address narrows that search to the ranges of one
 * /16, so a 1M-prefix table answers in a couple of cache misses. Compared with the
 * alternatives: per-length hash tables cost one probe per distinct prefix length (up to
 * 33, or 129 for IPv6) and a multibit trie costs far more memory for sparse IOC lists;
 * the flattened ranges need 8 bytes per IPv4 range (20 for IPv6), at most 2n + 1 ranges
 * for n prefixes, and their cost does not depend on which lengths the file mixes.
 *
 * Nothing here changes after loading and nothing is cached, so concurrent readers need no
 * lock. What it does not do: it does not watch files (the daemon reloads on SIGHUP) and
 * it does not interpret values besides the key.
 * SPDX-License-Identifier: MIT
 */
#include "lookup.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define NO_ROW UINT32_MAX
#define DIR_MIN_RANGES 1024 /* below this a plain binary search is as fast */

const char *lkp_kind_name(enum lkp_kind k) {
  return k == LKP_KIND_EXACT ? "exact" : k == LKP_KIND_CIDR ? "cidr" : "auto";
}

/* {===================== addresses ===================== */

/* Strict dotted quad: four decimal parts 0-255, no leading zeros, nothing else. */
static bool parse_v4(const char *s, size_t n, uint32_t *out) {
  uint32_t v = 0;
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (i >= n || s[i] != '.') return false;
      i++;
    }
    size_t start = i;
    unsigned x = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
      x = x * 10 + (unsigned)(s[i++] - '0');
    if (i == start || x > 255 || (s[start] == '0' && i - start > 1)) return false;
    v = v << 8 | x;
  }
  if (i != n) return false;
  *out = v;
  return true;
}

/* IPv6 text form through inet_pton, without v4-mapping. */
static bool parse_v6(const char *s, size_t n, uint64_t *hi, uint64_t *lo) {
  char tmp[INET6_ADDRSTRLEN];
  unsigned char b[16];
  if (n == 0 || n >= sizeof tmp) return false;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  if (inet_pton(AF_INET6, tmp, b) != 1) return false;
  uint64_t h = 0, l = 0;
  for (int i = 0; i < 8; i++) h = h << 8 | b[i];
  for (int i = 8; i < 16; i++) l = l << 8 | b[i];
  *hi = h, *lo = l;
  return true;
}

static bool is_v4_mapped(uint64_t hi, uint64_t lo) { return hi == 0 && lo >> 32 == 0xffff; }

bool lkp_parse_addr(const char *s, size_t n, struct lkp_addr *out) {
  memset(out, 0, sizeof *out);
  if (memchr(s, ':', n) == NULL) {
    out->family = 4;
    return parse_v4(s, n, &out->v4);
  }
  if (!parse_v6(s, n, &out->hi, &out->lo)) return false;
  out->family = 6;
  if (is_v4_mapped(out->hi, out->lo)) {
    out->family = 4;
    out->v4 = (uint32_t)out->lo;
    out->hi = out->lo = 0;
  }
  return true;
}

static uint32_t mask4(unsigned plen) { return plen == 0 ? 0 : UINT32_MAX << (32 - plen); }

static void mask6(unsigned plen, uint64_t *mh, uint64_t *ml) {
  *mh = plen == 0 ? 0 : plen >= 64 ? UINT64_MAX : UINT64_MAX << (64 - plen);
  *ml = plen <= 64 ? 0 : plen == 128 ? UINT64_MAX : UINT64_MAX << (128 - plen);
}

bool lkp_parse_prefix(const char *s, size_t n, struct lkp_addr *net, unsigned *plen,
                      bool *had_host) {
  const char *slash = memchr(s, '/', n);
  size_t alen = slash ? (size_t)(slash - s) : n;
  bool v6text = memchr(s, ':', alen) != NULL;
  memset(net, 0, sizeof *net);
  if (v6text) {
    if (!parse_v6(s, alen, &net->hi, &net->lo)) return false;
    net->family = 6;
  } else {
    if (!parse_v4(s, alen, &net->v4)) return false;
    net->family = 4;
  }
  unsigned max = v6text ? 128 : 32, len = max;
  if (slash) {
    const char *d = slash + 1;
    size_t dn = n - alen - 1;
    if (dn == 0 || dn > 3 || (d[0] == '0' && dn > 1)) return false;
    len = 0;
    for (size_t i = 0; i < dn; i++) {
      if (d[i] < '0' || d[i] > '9') return false;
      len = len * 10 + (unsigned)(d[i] - '0');
    }
    if (len > max) return false;
  }
  if (v6text && len >= 96 && is_v4_mapped(net->hi, net->lo)) {
    net->family = 4;
    net->v4 = (uint32_t)net->lo;
    net->hi = net->lo = 0;
    len -= 96;
  }
  bool host;
  if (net->family == 4) {
    uint32_t m = mask4(len);
    host = (net->v4 & ~m) != 0;
    net->v4 &= m;
  } else {
    uint64_t mh, ml;
    mask6(len, &mh, &ml);
    host = (net->hi & ~mh) != 0 || (net->lo & ~ml) != 0;
    net->hi &= mh, net->lo &= ml;
  }
  if (had_host) *had_host = host;
  *plen = len;
  return true;
}

bool lkp_prefix_contains(const struct lkp_addr *net, unsigned plen, const struct lkp_addr *a) {
  if (net->family != a->family) return false;
  if (a->family == 4) return (a->v4 & mask4(plen)) == net->v4;
  uint64_t mh, ml;
  mask6(plen, &mh, &ml);
  return (a->hi & mh) == net->hi && (a->lo & ml) == net->lo;
}

/* }============================================================ */

/* {===================== reading and parsing ===================== */

struct u32vec {
  uint32_t *v;
  size_t n, cap;
};

static void u32_push(struct u32vec *a, uint32_t x) {
  if (a->n == a->cap) {
    a->cap = a->cap ? a->cap * 2 : 64;
    a->v = xrealloc(a->v, a->cap * sizeof *a->v);
  }
  a->v[a->n++] = x;
}

/* Parsing state. The table receives the results; lines holds each record's line. */
struct parse {
  struct lkp_table *t;
  char *text;
  size_t len, pos;
  unsigned long line;
  struct u32vec fields, lines;
  char **errmsg;
};

static int fail(struct parse *ps, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct parse *ps, unsigned long line, const char *fmt, ...) {
  struct buf b;
  buf_init(&b);
  if (line) buf_printf(&b, "%s:%lu: ", ps->t->path, line);
  else buf_printf(&b, "%s: ", ps->t->path);
  va_list ap;
  va_start(ap, fmt);
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  buf_puts(&b, msg);
  *ps->errmsg = buf_take(&b);
  return -1;
}

/* Reads path into a buffer of exactly its size plus a NUL (the parser works in place,
 * and the buffer is kept for the table's lifetime, so no slack). */
static char *slurp(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  int e = 0;
  if (fstat(fd, &st) != 0) e = errno;
  else if (S_ISDIR(st.st_mode)) e = EISDIR;
  else if (!S_ISREG(st.st_mode)) e = EINVAL; /* a FIFO or device has no size to trust */
  if (e) {
    close(fd);
    errno = e;
    return NULL;
  }
  if ((unsigned long long)st.st_size >= UINT32_MAX) {
    close(fd);
    errno = EFBIG; /* fields are 32-bit offsets */
    return NULL;
  }
  size_t n = (size_t)st.st_size, got = 0;
  char *p = xmalloc(n + 1);
  errno = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  e = errno;
  close(fd);
  if (got != n) { /* the file shrank or a read failed */
    free(p);
    errno = e ? e : EIO;
    return NULL;
  }
  p[n] = '\0';
  *len = n;
  return p;
}

/* Sizes the row arrays from the line count, so a big file is not copied while growing. */
static void reserve_rows(struct parse *ps) {
  size_t lines = 1;
  const char *p = ps->text, *end = ps->text + ps->len;
  while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) lines++, p++;
  ps->lines.cap = lines;
  ps->lines.v = xmalloc(lines * sizeof *ps->lines.v);
  ps->fields.cap = lines; /* the header's width is unknown yet: parse_csv grows it once */
  ps->fields.v = xmalloc(lines * sizeof *ps->fields.v);
}

static bool at_eol(const struct parse *ps, size_t i) {
  return ps->text[i] == '\n' || (ps->text[i] == '\r' && ps->text[i + 1] == '\n');
}

/* Skips the line at pos (up to and including its newline). */
static void skip_line(struct parse *ps) {
  char *nl = memchr(ps->text + ps->pos, '\n', ps->len - ps->pos);
  ps->pos = nl ? (size_t)(nl - ps->text) + 1 : ps->len;
  ps->line++;
}

/* Parses one quoted field starting at pos (the opening quote), unescaping in place.
 * Returns the offset where the field's text ends (its NUL goes there), or -1. */
static long csv_quoted(struct parse *ps) {
  unsigned long open_line = ps->line;
  char *s = ps->text;
  size_t w = ps->pos, r = ps->pos + 1;
  for (;;) {
    if (r >= ps->len) return fail(ps, open_line, "quoted field is not closed");
    char c = s[r];
    if (c == '"') {
      if (s[r + 1] != '"') break;
      r++;
    } else if (c == '\n') {
      ps->line++;
    }
    s[w++] = c;
    r++;
  }
  ps->pos = r + 1;
  if (ps->pos < ps->len && s[ps->pos] != ',' && !at_eol(ps, ps->pos))
    return fail(ps, ps->line, "unexpected character '%c' after a closing quote", s[ps->pos]);
  return (long)w;
}

/* Parses the record at pos, appending its field offsets. Returns the number of fields,
 * or -1. On return pos is at the start of the next line. */
static long csv_record(struct parse *ps) {
  char *s = ps->text;
  long nf = 0;
  for (;;) {
    size_t start = ps->pos, end;
    if (s[start] == '"') {
      long e = csv_quoted(ps);
      if (e < 0) return -1;
      end = (size_t)e;
    } else {
      size_t i = start;
      while (i < ps->len && s[i] != ',' && s[i] != '\n' && !(s[i] == '\r' && s[i + 1] == '\n')) {
        if (s[i] == '"')
          return fail(ps, ps->line, "quote inside an unquoted field (quote the whole field "
                                    "and double the quote)");
        i++;
      }
      ps->pos = end = i;
    }
    char delim = s[ps->pos];
    s[end] = '\0'; /* end <= pos: the delimiter was read first */
    u32_push(&ps->fields, (uint32_t)start);
    nf++;
    if (ps->pos >= ps->len) return nf;
    if (delim == ',') {
      ps->pos++;
      continue;
    }
    ps->pos += delim == '\r' ? 2 : 1;
    ps->line++;
    return nf;
  }
}

/* True when the line at pos is a comment or blank; skips it. */
static bool csv_skip_noise(struct parse *ps) {
  char c = ps->text[ps->pos];
  if (c == '#' || at_eol(ps, ps->pos)) {
    skip_line(ps);
    ps->t->stats.skipped++;
    return true;
  }
  return false;
}

static int parse_csv(struct parse *ps) {
  struct lkp_table *t = ps->t;
  while (ps->pos < ps->len && csv_skip_noise(ps)) {
  }
  if (ps->pos >= ps->len) return fail(ps, 0, "no header row (a CSV table needs one)");
  unsigned long hline = ps->line;
  long nf = csv_record(ps);
  if (nf < 0) return -1;
  t->ncols = (size_t)nf;
  t->cols = xcalloc(t->ncols, sizeof *t->cols);
  for (size_t i = 0; i < t->ncols; i++) {
    t->cols[i] = xstrdup(ps->text + ps->fields.v[i]);
    if (!*t->cols[i]) return fail(ps, hline, "column %zu has no name in the header", i + 1);
    for (size_t j = 0; j < i; j++)
      if (strcmp(t->cols[i], t->cols[j]) == 0)
        return fail(ps, hline, "column \"%s\" appears twice in the header", t->cols[i]);
  }
  ps->fields.n = 0;
  if (ps->fields.cap < ps->lines.cap * t->ncols) {
    ps->fields.cap = ps->lines.cap * t->ncols;
    ps->fields.v = xrealloc(ps->fields.v, ps->fields.cap * sizeof *ps->fields.v);
  }
  while (ps->pos < ps->len) {
    if (csv_skip_noise(ps)) continue;
    unsigned long line = ps->line;
    nf = csv_record(ps);
    if (nf < 0) return -1;
    if ((size_t)nf != t->ncols)
      return fail(ps, line, "expected %zu fields (as in the header), got %ld", t->ncols, nf);
    u32_push(&ps->lines, (uint32_t)line);
  }
  return 0;
}

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static int parse_list(struct parse *ps) {
  struct lkp_table *t = ps->t;
  char *s = ps->text;
  t->ncols = 1;
  t->cols = xcalloc(1, sizeof *t->cols);
  t->cols[0] = xstrdup("value");
  while (ps->pos < ps->len) {
    char *nl = memchr(s + ps->pos, '\n', ps->len - ps->pos);
    size_t eol = nl ? (size_t)(nl - s) : ps->len, a = ps->pos, b = eol;
    while (a < b && blank(s[a])) a++;
    while (b > a && blank(s[b - 1])) b--;
    if (a == b || s[a] == '#') {
      t->stats.skipped++;
    } else {
      s[b] = '\0';
      u32_push(&ps->fields, (uint32_t)a);
      u32_push(&ps->lines, (uint32_t)ps->line);
    }
    ps->pos = nl ? eol + 1 : ps->len;
    ps->line++;
  }
  return 0;
}

/* }============================================================ */

/* {===================== exact index ===================== */

static unsigned char ascii_lower(unsigned char c) {
  return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static uint64_t key_hash(const char *s, size_t n, bool fold) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a, as util's hash_bytes */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (fold) c = ascii_lower(c);
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h ^ (h >> 29); /* FNV's low bits mix poorly: fold the high ones in */
}

/* Does the C string f equal key[0..n)? Never reads past f's NUL. */
static bool key_eq(const char *f, const char *key, size_t n, bool fold) {
  for (size_t i = 0; i < n; i++) {
    unsigned char a = (unsigned char)f[i], b = (unsigned char)key[i];
    if (a == 0) return false;
    if (fold) a = ascii_lower(a), b = ascii_lower(b);
    if (a != b) return false;
  }
  return f[n] == '\0';
}

static const char *key_of(const struct lkp_table *t, size_t row) {
  return t->_text + t->_fields[row * t->ncols + t->key_col];
}

static bool exact_find(const struct lkp_table *t, const char *key, size_t n, size_t *row) {
  if (!t->_slots) return false;
  uint64_t h = key_hash(key, n, t->ignore_case);
  uint32_t tag = (uint32_t)(h >> 32);
  for (size_t i = h & t->_mask;; i = (i + 1) & t->_mask) {
    struct lkp_slot sl = t->_slots[i];
    if (sl.row1 == 0) return false;
    if (sl.tag == tag && key_eq(t->_text + sl.key, key, n, t->ignore_case)) {
      *row = sl.row1 - 1;
      return true;
    }
  }
}

static int build_exact(struct parse *ps) {
  struct lkp_table *t = ps->t;
  size_t cap = 16;
  while (cap < 2 * t->nrows) cap *= 2;
  t->_mask = cap - 1;
  t->_slots = xcalloc(cap, sizeof *t->_slots);
  for (size_t r = 0; r < t->nrows; r++) {
    const char *k = key_of(t, r);
    size_t n = strlen(k);
    if (n == 0) return fail(ps, ps->lines.v[r], "empty key");
    size_t dup;
    if (exact_find(t, k, n, &dup)) {
      if (!t->stats.duplicates++) t->stats.first_duplicate_line = ps->lines.v[r];
      continue;
    }
    uint64_t h = key_hash(k, n, t->ignore_case);
    size_t i = h & t->_mask;
    while (t->_slots[i].row1) i = (i + 1) & t->_mask;
    t->_slots[i].row1 = (uint32_t)(r + 1);
    t->_slots[i].tag = (uint32_t)(h >> 32);
    t->_slots[i].key = t->_fields[r * t->ncols + t->key_col];
  }
  t->kind = LKP_KIND_EXACT;
  return 0;
}

/* }============================================================ */

/* {===================== CIDR index ===================== */

struct p6 {
  uint64_t hi, lo;
  uint32_t row, len;
};

/* IPv4 prefixes travel as key = address << 6 | length (38 bits) beside their row. */
#define P4_KEY(addr, len) ((uint64_t)(addr) << 6 | (len))
#define P4_BITS 13 /* radix digit: three passes cover 39 bits */

/* Sorts (key, row) pairs by key with an LSD radix sort, stable, so among equal prefixes
 * the earlier row stays first. At IOC-feed sizes this is several times faster than
 * qsort with a comparison callback (the sort was a third of loading a 1M-row table).
 * The sorted pairs end in *key and *row (the arrays may be swapped with the scratch). */
static void radix_sort4(uint64_t **key, uint32_t **row, size_t n) {
  uint64_t *k = *key, *k2 = xmalloc((n ? n : 1) * sizeof *k2);
  uint32_t *r = *row, *r2 = xmalloc((n ? n : 1) * sizeof *r2);
  size_t *count = xmalloc(((size_t)1 << P4_BITS) * sizeof *count);
  for (unsigned shift = 0; shift < 3 * P4_BITS; shift += P4_BITS) {
    memset(count, 0, ((size_t)1 << P4_BITS) * sizeof *count);
    for (size_t i = 0; i < n; i++) count[k[i] >> shift & ((1u << P4_BITS) - 1)]++;
    size_t sum = 0;
    for (size_t d = 0; d < (size_t)1 << P4_BITS; d++) {
      size_t c = count[d];
      count[d] = sum, sum += c;
    }
    for (size_t i = 0; i < n; i++) {
      size_t at = count[k[i] >> shift & ((1u << P4_BITS) - 1)]++;
      k2[at] = k[i], r2[at] = r[i];
    }
    uint64_t *tk = k;
    uint32_t *tr = r;
    k = k2, r = r2, k2 = tk, r2 = tr;
  }
  free(count);
  free(k2);
  free(r2);
  *key = k, *row = r;
}

static int cmp_p6(const void *a, const void *b) {
  const struct p6 *x = a, *y = b;
  if (x->hi != y->hi) return x->hi < y->hi ? -1 : 1;
  if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

/* Appends a range boundary: from pos on, row applies (NO_ROW: nothing). A boundary at the
 * same position replaces the last one, and one that changes nothing is dropped. */
static void emit4(struct lkp_table *t, uint32_t pos, uint32_t row) {
  size_t k = t->_n4;
  if (k && t->_v4_start[k - 1] == pos) {
    t->_v4_row[k - 1] = row;
    if (k >= 2 && t->_v4_row[k - 2] == row) t->_n4--;
    return;
  }
  if (k ? t->_v4_row[k - 1] == row : row == NO_ROW) return;
  t->_v4_start[k] = pos, t->_v4_row[k] = row;
  t->_n4++;
}

static void note_dup(struct lkp_table *t, const struct u32vec *lines, uint32_t row) {
  if (!t->stats.duplicates++ || lines->v[row] < t->stats.first_duplicate_line)
    t->stats.first_duplicate_line = lines->v[row];
}

/* Flattens sorted IPv4 prefixes into ranges (see the head comment). The stack holds the
 * prefixes enclosing the current position, innermost on top: at most 33. */
static void flatten4(struct lkp_table *t, const uint64_t *key, const uint32_t *rows, size_t n,
                     const struct u32vec *lines) {
  struct {
    uint64_t end;
    uint32_t row;
  } st[33];
  int sp = 0;
  t->_v4_start = xmalloc((2 * n + 1) * sizeof *t->_v4_start);
  t->_v4_row = xmalloc((2 * n + 1) * sizeof *t->_v4_row);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && key[i] == key[i - 1]) {
      note_dup(t, lines, rows[i]);
      continue;
    }
    uint64_t start = key[i] >> 6, end = start + ((uint64_t)1 << (32 - (key[i] & 63))) - 1;
    while (sp && st[sp - 1].end < start) {
      sp--;
      emit4(t, (uint32_t)(st[sp].end + 1), sp ? st[sp - 1].row : NO_ROW);
    }
    emit4(t, (uint32_t)start, rows[i]);
    st[sp].end = end, st[sp].row = rows[i];
    sp++;
  }
  while (sp) {
    sp--;
    if (st[sp].end < UINT32_MAX) emit4(t, (uint32_t)(st[sp].end + 1), sp ? st[sp - 1].row : NO_ROW);
  }
  if (t->_n4 >= DIR_MIN_RANGES) {
    t->_v4_dir = xmalloc(65537 * sizeof *t->_v4_dir);
    size_t i = 0;
    for (uint32_t h = 0; h < 65536; h++) {
      while (i < t->_n4 && t->_v4_start[i] >> 16 < h) i++;
      t->_v4_dir[h] = (uint32_t)i;
    }
    t->_v4_dir[65536] = (uint32_t)t->_n4;
  }
  t->_v4_start = xrealloc(t->_v4_start, (t->_n4 ? t->_n4 : 1) * sizeof *t->_v4_start);
  t->_v4_row = xrealloc(t->_v4_row, (t->_n4 ? t->_n4 : 1) * sizeof *t->_v4_row);
}

static bool lt6(uint64_t ah, uint64_t al, uint64_t bh, uint64_t bl) {
  return ah < bh || (ah == bh && al < bl);
}

static void emit6(struct lkp_table *t, uint64_t hi, uint64_t lo, uint32_t row) {
  size_t k = t->_n6;
  uint64_t *s = t->_v6_start;
  if (k && s[2 * k - 2] == hi && s[2 * k - 1] == lo) {
    t->_v6_row[k - 1] = row;
    if (k >= 2 && t->_v6_row[k - 2] == row) t->_n6--;
    return;
  }
  if (k ? t->_v6_row[k - 1] == row : row == NO_ROW) return;
  s[2 * k] = hi, s[2 * k + 1] = lo, t->_v6_row[k] = row;
  t->_n6++;
}

/* The IPv6 counterpart of flatten4 on 128-bit (hi, lo) pairs; the stack holds at most 129. */
static void flatten6(struct lkp_table *t, const struct p6 *p, size_t n,
                     const struct u32vec *lines) {
  struct {
    uint64_t ehi, elo;
    uint32_t row;
  } st[129];
  int sp = 0;
  t->_v6_start = xmalloc((2 * n + 1) * 2 * sizeof *t->_v6_start);
  t->_v6_row = xmalloc((2 * n + 1) * sizeof *t->_v6_row);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && p[i].hi == p[i - 1].hi && p[i].lo == p[i - 1].lo && p[i].len == p[i - 1].len) {
      note_dup(t, lines, p[i].row);
      continue;
    }
    uint64_t mh, ml;
    mask6(p[i].len, &mh, &ml);
    uint64_t ehi = p[i].hi | ~mh, elo = p[i].lo | ~ml;
    while (sp && lt6(st[sp - 1].ehi, st[sp - 1].elo, p[i].hi, p[i].lo)) {
      sp--;
      uint64_t nlo = st[sp].elo + 1, nhi = st[sp].ehi + (nlo == 0);
      emit6(t, nhi, nlo, sp ? st[sp - 1].row : NO_ROW);
    }
    emit6(t, p[i].hi, p[i].lo, p[i].row);
    st[sp].ehi = ehi, st[sp].elo = elo, st[sp].row = p[i].row;
    sp++;
  }
  while (sp) {
    sp--;
    if (st[sp].ehi == UINT64_MAX && st[sp].elo == UINT64_MAX) continue;
    uint64_t nlo = st[sp].elo + 1, nhi = st[sp].ehi + (nlo == 0);
    emit6(t, nhi, nlo, sp ? st[sp - 1].row : NO_ROW);
  }
  size_t k = t->_n6 ? t->_n6 : 1;
  t->_v6_start = xrealloc(t->_v6_start, k * 2 * sizeof *t->_v6_start);
  t->_v6_row = xrealloc(t->_v6_row, k * sizeof *t->_v6_row);
}

/* Builds the CIDR index. With strict (kind forced), a key that is not an address or CIDR
 * is an error; otherwise returns 1 so the caller falls back to EXACT. */
static int build_cidr(struct parse *ps, bool strict) {
  struct lkp_table *t = ps->t;
  uint64_t *k4 = xmalloc((t->nrows ? t->nrows : 1) * sizeof *k4);
  uint32_t *r4 = xmalloc((t->nrows ? t->nrows : 1) * sizeof *r4);
  struct p6 *p6 = NULL;
  size_t n4 = 0, n6 = 0, cap6 = 0;
  for (size_t r = 0; r < t->nrows; r++) {
    const char *k = key_of(t, r);
    struct lkp_addr a;
    unsigned plen;
    bool host;
    if (!lkp_parse_prefix(k, strlen(k), &a, &plen, &host)) {
      free(k4);
      free(r4);
      free(p6);
      if (!strict) {
        t->stats.non_address_line = ps->lines.v[r];
        t->stats.normalised = 0;
        return 1;
      }
      return fail(ps, ps->lines.v[r], "\"%s\" is not an IP address or CIDR (the table is cidr)",
                  k);
    }
    if (host) t->stats.normalised++;
    if (a.family == 4) {
      k4[n4] = P4_KEY(a.v4, plen), r4[n4++] = (uint32_t)r;
    } else {
      if (n6 == cap6) {
        cap6 = cap6 ? cap6 * 2 : 16;
        p6 = xrealloc(p6, cap6 * sizeof *p6);
      }
      p6[n6++] = (struct p6){.hi = a.hi, .lo = a.lo, .row = (uint32_t)r, .len = plen};
    }
  }
  t->stats.v4 = n4, t->stats.v6 = n6;
  radix_sort4(&k4, &r4, n4);
  flatten4(t, k4, r4, n4, &ps->lines);
  free(k4);
  free(r4);
  if (n6) {
    qsort(p6, n6, sizeof *p6, cmp_p6);
    flatten6(t, p6, n6, &ps->lines);
  }
  free(p6);
  t->kind = LKP_KIND_CIDR;
  return 0;
}

/* Index of the last range starting at or before a, or -1. */
static long find4(const struct lkp_table *t, uint32_t a) {
  size_t lo = 0, hi = t->_n4;
  if (t->_v4_dir) lo = t->_v4_dir[a >> 16], hi = t->_v4_dir[(a >> 16) + 1];
  while (lo < hi) { /* first index in [lo, hi) whose start is > a */
    size_t mid = lo + (hi - lo) / 2;
    if (t->_v4_start[mid] <= a) lo = mid + 1;
    else hi = mid;
  }
  return (long)lo - 1;
}

static long find6(const struct lkp_table *t, uint64_t ah, uint64_t al) {
  size_t lo = 0, hi = t->_n6;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (!lt6(ah, al, t->_v6_start[2 * mid], t->_v6_start[2 * mid + 1])) lo = mid + 1;
    else hi = mid;
  }
  return (long)lo - 1;
}

bool lkp_find_addr(const struct lkp_table *t, const struct lkp_addr *a, size_t *row) {
  if (t->kind != LKP_KIND_CIDR) return false;
  long i;
  uint32_t r;
  if (a->family == 4) {
    i = find4(t, a->v4);
    r = i >= 0 ? t->_v4_row[i] : NO_ROW;
  } else {
    i = find6(t, a->hi, a->lo);
    r = i >= 0 ? t->_v6_row[i] : NO_ROW;
  }
  if (r == NO_ROW) return false;
  *row = r;
  return true;
}

/* }============================================================ */

bool lkp_find(const struct lkp_table *t, const char *key, size_t len, size_t *row) {
  if (t->kind == LKP_KIND_EXACT) return exact_find(t, key, len, row);
  struct lkp_addr a;
  return lkp_parse_addr(key, len, &a) && lkp_find_addr(t, &a, row);
}

const char *lkp_field(const struct lkp_table *t, size_t row, size_t col) {
  return t->_text + t->_fields[row * t->ncols + col];
}

long lkp_column(const struct lkp_table *t, const char *name) {
  for (size_t i = 0; i < t->ncols; i++)
    if (strcmp(t->cols[i], name) == 0) return (long)i;
  return -1;
}

static bool valid_name(const char *s) {
  if (!(isalpha((unsigned char)*s) || *s == '_')) return false;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_')) return false;
  return true;
}

static enum lkp_format format_of(const struct lkp_spec *spec) {
  if (spec->format != LKP_FORMAT_AUTO) return spec->format;
  size_t n = strlen(spec->path);
  return n >= 4 && strcasecmp(spec->path + n - 4, ".csv") == 0 ? LKP_FORMAT_CSV : LKP_FORMAT_LIST;
}

static int resolve_key(struct parse *ps, const struct lkp_spec *spec, enum lkp_format fmt) {
  struct lkp_table *t = ps->t;
  if (!spec->key) return 0;
  if (fmt == LKP_FORMAT_LIST) return fail(ps, 0, "a list file has no columns: drop the key option");
  long c = lkp_column(t, spec->key);
  if (c >= 0) {
    t->key_col = (size_t)c;
    return 0;
  }
  struct buf cols;
  buf_init(&cols);
  for (size_t i = 0; i < t->ncols; i++) buf_printf(&cols, "%s%s", i ? ", " : "", t->cols[i]);
  int r = fail(ps, 0, "no column named \"%s\" for the key (columns: %s)", spec->key, cols.data);
  buf_free(&cols);
  return r;
}

static size_t table_bytes(const struct lkp_table *t, size_t textlen) {
  size_t b = sizeof *t + textlen + 1 + t->nrows * t->ncols * sizeof(uint32_t);
  for (size_t i = 0; i < t->ncols; i++) b += strlen(t->cols[i]) + 1 + sizeof(char *);
  if (t->_slots) b += (t->_mask + 1) * sizeof *t->_slots;
  b += t->_n4 * 2 * sizeof(uint32_t) + (t->_v4_dir ? 65537 * sizeof(uint32_t) : 0);
  b += t->_n6 * (2 * sizeof(uint64_t) + sizeof(uint32_t));
  return b + strlen(t->name) + strlen(t->path) + 2;
}

int lkp_table_load(const struct lkp_spec *spec, struct lkp_table **out, char **errmsg) {
  *out = NULL;
  if (!spec->name || !valid_name(spec->name)) {
    *errmsg = xasprintf("lookup table name \"%s\" is not an identifier ([A-Za-z_][A-Za-z0-9_]*)",
                        spec->name ? spec->name : "");
    return -1;
  }
  if (!spec->path || !*spec->path) {
    *errmsg = xasprintf("lookup table \"%s\": no path", spec->name);
    return -1;
  }
  struct lkp_table *t = xcalloc(1, sizeof *t);
  t->name = xstrdup(spec->name);
  t->path = xstrdup(spec->path);
  t->ignore_case = spec->ignore_case;
  struct parse ps = {.t = t, .line = 1, .errmsg = errmsg};
  enum lkp_format fmt = format_of(spec);
  int r = -1;
  t->_text = ps.text = slurp(spec->path, &ps.len);
  if (!ps.text) {
    fail(&ps, 0, "cannot read: %s", strerror(errno));
    goto out;
  }
  const char *nul = memchr(ps.text, '\0', ps.len);
  if (nul) {
    unsigned long line = 1;
    for (const char *p = ps.text; p < nul; p++) line += *p == '\n';
    fail(&ps, line, "contains a NUL byte (not a text file?)");
    goto out;
  }
  if (ps.len >= 3 && memcmp(ps.text, "\xEF\xBB\xBF", 3) == 0) ps.pos = 3; /* UTF-8 BOM */
  reserve_rows(&ps);
  if ((fmt == LKP_FORMAT_CSV ? parse_csv(&ps) : parse_list(&ps)) != 0) goto out;
  t->nrows = ps.lines.n;
  t->_fields = xrealloc(ps.fields.v, (ps.fields.n ? ps.fields.n : 1) * sizeof *t->_fields);
  ps.fields.v = NULL;
  if (resolve_key(&ps, spec, fmt) != 0) goto out;
  if (spec->kind == LKP_KIND_CIDR || (spec->kind == LKP_KIND_AUTO && t->nrows > 0)) {
    r = build_cidr(&ps, spec->kind == LKP_KIND_CIDR);
    if (r < 0) goto out;
    if (r == 0) goto built;
  }
  r = build_exact(&ps);
  if (r != 0) goto out;
built:
  t->stats.rows = t->nrows - t->stats.duplicates;
  t->stats.bytes = table_bytes(t, ps.len);
  *out = t;
  t = NULL;
  r = 0;
out:
  free(ps.fields.v);
  free(ps.lines.v);
  lkp_table_free(t);
  return r;
}

void lkp_table_free(struct lkp_table *t) {
  if (!t) return;
  for (size_t i = 0; t->cols && i < t->ncols; i++) free(t->cols[i]);
  free(t->cols);
  free(t->name);
  free(t->path);
  free(t->_text);
  free(t->_fields);
  free(t->_slots);
  free(t->_v4_start);
  free(t->_v4_row);
  free(t->_v4_dir);
  free(t->_v6_start);
  free(t->_v6_row);
  free(t);
}

/* {===================== sets ===================== */

struct lkp_set *lkp_set_new(void) {
  struct lkp_set *s = xcalloc(1, sizeof *s);
  hmap_init(&s->by_name);
  atomic_init(&s->_refs, 1);
  return s;
}

int lkp_set_add(struct lkp_set *s, struct lkp_table *t, char **errmsg) {
  void **slot = hmap_put(&s->by_name, t->name, strlen(t->name));
  if (*slot) {
    *errmsg = xasprintf("%s: lookup table name \"%s\" is already used by %s", t->path, t->name,
                        ((struct lkp_table *)*slot)->path);
    lkp_table_free(t);
    return -1;
  }
  *slot = t;
  s->tables = xrealloc(s->tables, (s->n + 1) * sizeof *s->tables);
  s->tables[s->n++] = t;
  s->bytes += t->stats.bytes;
  return 0;
}

static void set_free(struct lkp_set *s) {
  for (size_t i = 0; i < s->n; i++) lkp_table_free(s->tables[i]);
  free(s->tables);
  hmap_free(&s->by_name);
  free(s);
}

int lkp_set_load(const struct lkp_spec *specs, size_t n, const char *base_dir,
                 struct lkp_set **out, char **errmsg) {
  struct lkp_set *s = lkp_set_new();
  *out = NULL;
  for (size_t i = 0; i < n; i++) {
    struct lkp_spec sp = specs[i];
    char *joined = NULL;
    if (!sp.path || !*sp.path) {
      *errmsg = xasprintf("lookup table \"%s\": no path", sp.name ? sp.name : "");
      set_free(s);
      return -1;
    }
    if (sp.path[0] != '/' && base_dir && *base_dir)
      sp.path = joined = xasprintf("%s/%s", base_dir, sp.path);
    struct lkp_table *t;
    int r = lkp_table_load(&sp, &t, errmsg);
    free(joined);
    if (r != 0 || lkp_set_add(s, t, errmsg) != 0) {
      set_free(s);
      return -1;
    }
  }
  *out = s;
  return 0;
}

const struct lkp_table *lkp_set_get(const struct lkp_set *s, const char *name) {
  return s ? hmap_get(&s->by_name, name, strlen(name)) : NULL;
}

struct lkp_set *lkp_set_ref(struct lkp_set *s) {
  if (s) atomic_fetch_add_explicit(&s->_refs, 1, memory_order_relaxed);
  return s;
}

void lkp_set_unref(struct lkp_set *s) {
  /* acq_rel: every reader's last use happens before the free. */
  if (s && atomic_fetch_sub_explicit(&s->_refs, 1, memory_order_acq_rel) == 1) set_free(s);
}

/* }============================================================ */

/* {===================== discovery ===================== */

static bool table_file(const char *name) {
  return name[0] != '.' && (str_ends_with(name, ".csv") || str_ends_with(name, ".CSV") ||
                            str_ends_with(name, ".txt") || str_ends_with(name, ".list"));
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the table files of dir (sorted), or dir itself when it is a file. */
static void discover_path(const char *path, struct vec *files) {
  struct stat st;
  if (stat(path, &st) != 0) return;
  if (!S_ISDIR(st.st_mode)) {
    vec_push(files, xstrdup(path));
    return;
  }
  DIR *d = opendir(path);
  if (!d) return;
  struct vec names = {0};
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (table_file(e->d_name)) vec_push(&names, xstrdup(e->d_name));
  closedir(d);
  if (names.len > 1) qsort(names.items, names.len, sizeof *names.items, cmp_names);
  for (size_t i = 0; i < names.len; i++) {
    vec_push(files, xasprintf("%s/%s", path, (char *)names.items[i]));
    free(names.items[i]);
  }
  vec_free(&names);
}

static char *dir_of(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return xstrdup(path);
  const char *slash = strrchr(path, '/');
  return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup(".");
}

int lkp_set_discover(char *const *roots, size_t nroots, char *const *extra, size_t nextra,
                     struct lkp_set **out, char **errmsg) {
  struct vec files = {0};
  for (size_t i = 0; i < nextra; i++) discover_path(extra[i], &files);
  for (size_t i = 0; i < nroots; i++) {
    /* <root>/lookups, else the first lookups/ up to three folders up (like lib/) */
    char *dir = dir_of(roots[i]);
    for (int up = 0; up < 4; up++) {
      char *cand = xasprintf("%s/lookups", dir);
      struct stat st;
      bool found = stat(cand, &st) == 0 && S_ISDIR(st.st_mode);
      if (found) discover_path(cand, &files);
      free(cand);
      char *parent = xasprintf("%s/..", dir);
      free(dir);
      dir = parent;
      if (found) break;
    }
    free(dir);
  }
  struct lkp_spec *specs = xcalloc(files.len ? files.len : 1, sizeof *specs);
  struct vec names = {0};
  size_t n = 0;
  for (size_t i = 0; i < files.len; i++) {
    const char *f = files.items[i];
    const char *base = strrchr(f, '/');
    base = base ? base + 1 : f;
    char *name = xstrndup(base, strcspn(base, "."));
    bool dup = false; /* the same table found twice (two roots, one lookups/): first wins */
    for (size_t k = 0; k < names.len && !dup; k++) dup = strcmp(names.items[k], name) == 0;
    if (dup) {
      free(name);
      continue;
    }
    vec_push(&names, name);
    specs[n].name = name;
    specs[n].path = f;
    specs[n].kind = LKP_KIND_AUTO;
    specs[n].format = LKP_FORMAT_AUTO;
    n++;
  }
  int rc = lkp_set_load(specs, n, NULL, out, errmsg);
  for (size_t i = 0; i < names.len; i++) free(names.items[i]);
  vec_free(&names);
  for (size_t i = 0; i < files.len; i++) free(files.items[i]);
  vec_free(&files);
  free(specs);
  return rc;
}

/* }============================================================ */


/* lookup.h — lookup tables (IOC lists, allow-lists, asset inventories) loaded from files
 * into read-only indexed tables: exact keys in a hash table, IP addresses and CIDRs by
 * longest-prefix match (IPv4 and IPv6).
 *
 * Files are CSV (RFC 4180 with a header row; lines starting with '#' are comments) or
 * plain lists (one value per line, '#' comments, blank lines ignored). A table is built
 * once and never changes; a set groups named tables. Neither holds mutable state, so one
 * set may be read from any number of threads at once without locking. Reloading (SIGHUP)
 * builds a new set; lkp_set_ref/lkp_set_unref let the old one live until the last
 * worker has switched over.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_LOOKUP_H
#define LP0_LOOKUP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum lkp_kind { LKP_KIND_AUTO, LKP_KIND_EXACT, LKP_KIND_CIDR };
enum lkp_format { LKP_FORMAT_AUTO, LKP_FORMAT_CSV, LKP_FORMAT_LIST };

/* What to load. All strings are borrowed for the duration of the load call. */
struct lkp_spec {
  const char *name;  /* table name: [A-Za-z_][A-Za-z0-9_]* */
  const char *path;  /* relative paths are taken from base_dir (lkp_set_load) */
  const char *key;   /* CSV key column; NULL = the first column. Lists: must be NULL */
  enum lkp_kind kind;     /* AUTO: CIDR when every key is an address or CIDR, else EXACT */
  enum lkp_format format; /* AUTO: CSV for *.csv (any case), else LIST */
  bool ignore_case;       /* EXACT: compare keys ASCII case-insensitively */
};

/* What loading found; also what `lp0 check` and the daemon's reload log print. */
struct lkp_stats {
  size_t rows;              /* rows kept (one per distinct key) */
  size_t duplicates;        /* rows whose key repeats an earlier row's: the first wins */
  unsigned long first_duplicate_line; /* 0 when none */
  size_t skipped;           /* comment and blank lines */
  size_t v4, v6;            /* CIDR: IPv4 and IPv6 prefixes (v4-mapped IPv6 counts as v4) */
  size_t normalised;        /* CIDR: prefixes written with host bits set (they are cleared) */
  unsigned long non_address_line; /* AUTO that became EXACT: first key that is not an
                                     address or CIDR (0 when kind was forced or CIDR) */
  size_t bytes;             /* heap held by the table */
};

/* An IPv4 or IPv6 address; IPv4 also for v4-mapped IPv6 (::ffff:a.b.c.d). */
struct lkp_addr {
  int family; /* 4 or 6 */
  uint32_t v4;
  uint64_t hi, lo; /* IPv6, most significant half first */
};

/* A slot of an EXACT table's hash index: row + 1 (0 = empty), the high half of the key's
 * hash and where the key text is, so a probe costs one cache line and a hit one more. */
struct lkp_slot {
  uint32_t row1, tag, key;
};

/* One loaded table. Every field is read-only after lkp_table_load; the _ fields are the
 * index (see lookup.c). Field strings live in the table's own buffer. */
struct lkp_table {
  char *name;
  char *path;
  enum lkp_kind kind;   /* EXACT or CIDR, never AUTO once loaded */
  char **cols;          /* column names; a list file has one column, "value" */
  size_t ncols;
  size_t key_col;
  size_t nrows;
  bool ignore_case;
  struct lkp_stats stats;
  char *_text;          /* the file, unescaped in place: every field is a C string here */
  uint32_t *_fields;    /* nrows * ncols offsets into _text */
  struct lkp_slot *_slots; /* EXACT: open addressing, _mask + 1 of them */
  size_t _mask;
  uint32_t *_v4_start, *_v4_row; /* CIDR: disjoint IPv4 ranges, sorted by first address */
  size_t _n4;
  uint32_t *_v4_dir;    /* CIDR: first range index per top 16 bits (65537), or NULL */
  uint64_t *_v6_start;  /* CIDR: IPv6 ranges, (hi, lo) pairs, sorted */
  uint32_t *_v6_row;
  size_t _n6;
};

/* Loads one table. Returns 0 and a new table in *out (free with lkp_table_free), or -1
 * with *errmsg (free with free()) of the form "FILE:LINE: message" or "FILE: message". */
int lkp_table_load(const struct lkp_spec *spec, struct lkp_table **out, char **errmsg);
void lkp_table_free(struct lkp_table *t);

/* Finds key (len bytes, no NUL needed) and stores the row index in *row. EXACT: equal
 * key (ASCII case folded with ignore_case). CIDR: key is an IPv4 or IPv6 address (a
 * v4-mapped IPv6 address is looked up as IPv4); the row of the most specific prefix
 * containing it. Returns false when nothing matches or the key is not an address. */
bool lkp_find(const struct lkp_table *t, const char *key, size_t len, size_t *row);
/* Same for an address already parsed (CIDR tables only; false on an EXACT table). */
bool lkp_find_addr(const struct lkp_table *t, const struct lkp_addr *a, size_t *row);
/* Field col of row, a NUL-terminated string owned by the table. */
const char *lkp_field(const struct lkp_table *t, size_t row, size_t col);
/* Index of the column named name, or -1. */
long lkp_column(const struct lkp_table *t, const char *name);

/* Parses an address (IPv4 dotted quad, IPv6 text form; no zone, no brackets). */
bool lkp_parse_addr(const char *s, size_t len, struct lkp_addr *out);
/* Parses "addr/len" or a bare address (/32, /128); host bits are cleared, and *had_host
 * (when not NULL) tells whether some were set. v4-mapped prefixes of length >= 96 become
 * IPv4. */
bool lkp_parse_prefix(const char *s, size_t len, struct lkp_addr *net, unsigned *plen,
                      bool *had_host);
/* Is a inside net/plen (same family after v4-mapping)? */
bool lkp_prefix_contains(const struct lkp_addr *net, unsigned plen, const struct lkp_addr *a);

/* A set of tables by name, immutable once loaded, shared read-only between threads. */
struct lkp_set {
  struct hmap by_name;        /* name -> struct lkp_table * */
  struct lkp_table **tables;  /* in spec order, owned */
  size_t n;
  size_t bytes;               /* sum of the tables' bytes */
  atomic_uint _refs;
};

/* Loads every spec (relative paths under base_dir, which may be NULL) into a new set with
 * one reference. All or nothing: on the first error returns -1 with *errmsg (free()). */
int lkp_set_load(const struct lkp_spec *specs, size_t n, const char *base_dir,
                 struct lkp_set **out, char **errmsg);
/* An empty set (no tables), one reference. */
struct lkp_set *lkp_set_new(void);
/* Adds t (taken, even on failure) to s, which must not be shared yet. Returns 0, or -1
 * with *errmsg when the name is already used. */
int lkp_set_add(struct lkp_set *s, struct lkp_table *t, char **errmsg);
/* The table named name, or NULL. */
const struct lkp_table *lkp_set_get(const struct lkp_set *s, const char *name);
/* Reference counting for sharing across threads and reloads: each holder takes a
 * reference; the last unref frees the set and its tables. NULL is accepted. */
struct lkp_set *lkp_set_ref(struct lkp_set *s);
void lkp_set_unref(struct lkp_set *s);

/* The tables a detection set uses: every *.csv, *.txt and *.list file in extra (files or
 * folders, e.g. the configuration's `lookups`), then in the lookups/ folder beside each
 * root (or the nearest one up to three folders up, like lib/). Each file is a table
 * named after it (production_accounts.csv: "production_accounts"), keyed by its first
 * column, kind auto. A name seen twice: the first wins. Same result as lkp_set_load. */
int lkp_set_discover(char *const *roots, size_t nroots, char *const *extra, size_t nextra,
                     struct lkp_set **out, char **errmsg);

const char *lkp_kind_name(enum lkp_kind k);

#endif

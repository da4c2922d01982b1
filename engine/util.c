/* util.c — growable buffers, checked allocation, a string hash map.
 *
 * The hash map uses linear probing with tombstones avoided by backward-shift deletion,
 * so lookups stay short after many deletions (dedup windows come and go).
 * SPDX-License-Identifier: MIT
 */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void oom(size_t n) {
  fprintf(stderr, "lp0: out of memory (allocating %zu bytes)\n", n);
  abort();
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom(n);
  return p;
}

void *xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) oom(n * size);
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n);
  return q;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xstrndup(const char *s, size_t n) {
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *xasprintf(const char *fmt, ...) {
  struct buf b;
  va_list ap;
  buf_init(&b);
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return xstrdup("");
  buf_reserve(&b, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(b.data, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b.len = (size_t)n;
  return buf_take(&b);
}

void buf_init(struct buf *b) { b->data = NULL, b->len = 0, b->cap = 0; }

void buf_free(struct buf *b) {
  free(b->data);
  buf_init(b);
}

void buf_reserve(struct buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len - 1) oom(SIZE_MAX);
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n) {
  buf_reserve(b, n);
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s) { buf_append(b, s, strlen(s)); }

void buf_putc(struct buf *b, char c) { buf_append(b, &c, 1); }

void buf_printf(struct buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0) return;
  buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s) {
  if (s[0] < 0x80) return 1;
  size_t n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  return n;
}

void buf_put_xml(struct buf *b, const char *s) {
  while (*s) {
    const unsigned char c = (unsigned char)*s;
    size_t n = utf8_len((const unsigned char *)s);
    switch (c) {
    case '&': buf_puts(b, "&amp;"); break;
    case '<': buf_puts(b, "&lt;"); break;
    case '>': buf_puts(b, "&gt;"); break;
    case '"': buf_puts(b, "&quot;"); break;
    case '\'': buf_puts(b, "&apos;"); break;
    default:
      /* XML 1.0 forbids most control characters even escaped, and needs valid UTF-8. */
      if (n == 0 || (c < 0x20 && c != '\n' && c != '\t' && c != '\r')) {
        buf_putc(b, '?');
        n = 1;
      } else {
        buf_append(b, s, n);
      }
    }
    s += n ? n : 1;
  }
}

char *buf_take(struct buf *b) {
  char *p = b->data ? b->data : xstrdup("");
  buf_init(b);
  return p;
}

void vec_push(struct vec *v, void *p) {
  if (v->len == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 8;
    v->items = xrealloc(v->items, v->cap * sizeof *v->items);
  }
  v->items[v->len++] = p;
}

void vec_free(struct vec *v) {
  free(v->items);
  v->items = NULL, v->len = 0, v->cap = 0;
}

uint64_t hash_bytes(const void *p, size_t n) {
  /* FNV-1a, 64-bit: short keys, good enough spread, no dependency. */
  const unsigned char *s = p;
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 1099511628211ULL;
  }
  return h;
}

void hmap_init(struct hmap *m) { m->slots = NULL, m->cap = 0, m->len = 0; }

void hmap_free(struct hmap *m) {
  for (size_t i = 0; i < m->cap; i++) free(m->slots[i].key);
  free(m->slots);
  hmap_init(m);
}

static struct hmap_entry *find_slot(const struct hmap *m, const char *key, size_t klen,
                                    uint64_t h) {
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    struct hmap_entry *e = &m->slots[i];
    if (!e->key) return e;
    if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) return e;
  }
}

void *hmap_get(const struct hmap *m, const char *key, size_t klen) {
  if (!m->len) return NULL;
  struct hmap_entry *e = find_slot(m, key, klen, hash_bytes(key, klen));
  return e->key ? e->value : NULL;
}

static void grow(struct hmap *m) {
  struct hmap_entry *old = m->slots;
  size_t oldcap = m->cap;
  m->cap = oldcap ? oldcap * 2 : 16;
  m->slots = xcalloc(m->cap, sizeof *m->slots);
  for (size_t i = 0; i < oldcap; i++) {
    if (!old[i].key) continue;
    *find_slot(m, old[i].key, old[i].klen, old[i].hash) = old[i];
  }
  free(old);
}

void **hmap_put(struct hmap *m, const char *key, size_t klen) {
  if ((m->len + 1) * 4 >= m->cap * 3) grow(m);
  uint64_t h = hash_bytes(key, klen);
  struct hmap_entry *e = find_slot(m, key, klen, h);
  if (!e->key) {
    e->key = xstrndup(key, klen);
    e->klen = klen;
    e->hash = h;
    e->value = NULL;
    m->len++;
  }
  return &e->value;
}

void *hmap_del(struct hmap *m, const char *key, size_t klen) {
  if (!m->len) return NULL;
  struct hmap_entry *e = find_slot(m, key, klen, hash_bytes(key, klen));
  if (!e->key) return NULL;
  void *value = e->value;
  free(e->key);
  e->key = NULL;
  m->len--;
  /* Backward-shift: move later entries of the probe run into the hole. */
  size_t mask = m->cap - 1, hole = (size_t)(e - m->slots);
  for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
    size_t home = m->slots[i].hash & mask;
    /* Entry i may move into the hole if its home is not in (hole, i]. */
    bool between = hole < i ? (home > hole && home <= i) : (home > hole || home <= i);
    if (!between) {
      m->slots[hole] = m->slots[i];
      m->slots[i].key = NULL;
      hole = i;
    }
  }
  return value;
}

bool str_ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  struct buf b;
  buf_init(&b);
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_append(&b, chunk, n);
  int failed = ferror(f);
  int saved = errno;
  fclose(f);
  if (failed) {
    buf_free(&b);
    errno = saved ? saved : EIO;
    return NULL;
  }
  if (len) *len = b.len;
  return buf_take(&b);
}

int cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

size_t peak_rss(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (size_t)ru.ru_maxrss * 1024;
}

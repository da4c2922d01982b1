/* util.h — growable buffers, checked allocation, string helpers, a string hash map.
 *
 * Allocation failure is not survivable in the engine's data structures (a half-built
 * detection index is worse than an exit), so xmalloc/xrealloc/xstrdup abort with a
 * message when the system refuses memory. User-controlled sizes (bodies, lines, Lua
 * memory) are capped before they reach these calls.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_UTIL_H
#define LP0_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a new string (free with free()) formatted like printf. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated once anything was appended. */
struct buf {
  char *data;
  size_t len;
  size_t cap;
};
void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with XML escaping (&, <, >, ", '). */
void buf_put_xml(struct buf *b, const char *s);
/* Transfers the data to the caller (free with free()) and resets the buffer. */
char *buf_take(struct buf *b);

/* A growable array of pointers. */
struct vec {
  void **items;
  size_t len;
  size_t cap;
};
void vec_push(struct vec *v, void *p);
void vec_free(struct vec *v); /* frees the array, not the items */

uint64_t hash_bytes(const void *p, size_t n);

/* An open-addressing hash map from byte strings to void*. Keys are copied. */
struct hmap_entry {
  char *key;
  size_t klen;
  uint64_t hash;
  void *value;
};
struct hmap {
  struct hmap_entry *slots;
  size_t cap; /* power of two */
  size_t len;
};
void hmap_init(struct hmap *m);
/* Frees keys and slots; values are the caller's (free them first with hmap_each). */
void hmap_free(struct hmap *m);
void *hmap_get(const struct hmap *m, const char *key, size_t klen);
/* Returns the slot's value pointer for key, inserting NULL first if absent. */
void **hmap_put(struct hmap *m, const char *key, size_t klen);
/* Removes key; returns its value or NULL. */
void *hmap_del(struct hmap *m, const char *key, size_t klen);

bool str_ends_with(const char *s, const char *suffix);
/* Reads a whole file; returns a new NUL-terminated buffer or NULL with errno set. */
char *read_file(const char *path, size_t *len);
/* Number of online CPUs, at least 1. */
int cpu_count(void);
/* Peak resident set size of this process in bytes. */
size_t peak_rss(void);

#endif

/* json.c — cJSON helpers shared by the prefilter, the alert writer and the test runner.
 *
 * cJSON keeps numbers as doubles; we print them with %.17g so a key built from a Lua
 * integer in a `match` table and one built from the same number in an event agree.
 * SPDX-License-Identifier: MIT
 */
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

int json_path_init(struct json_path *p, const char *text) {
  memset(p, 0, sizeof *p);
  if (!*text) return -1;
  p->text = xstrdup(text);
  for (const char *s = text;;) {
    const char *dot = strchr(s, '.');
    size_t n = dot ? (size_t)(dot - s) : strlen(s);
    if (n == 0) {
      json_path_free(p);
      return -1;
    }
    p->seg = xrealloc(p->seg, (p->nseg + 1) * sizeof *p->seg);
    p->seg[p->nseg++] = xstrndup(s, n);
    if (!dot) break;
    s = dot + 1;
  }
  return 0;
}

void json_path_free(struct json_path *p) {
  for (size_t i = 0; i < p->nseg; i++) free(p->seg[i]);
  free(p->seg);
  free(p->text);
  memset(p, 0, sizeof *p);
}

const cJSON *json_path_get(const cJSON *root, const struct json_path *p) {
  const cJSON *n = root;
  for (size_t i = 0; n && i < p->nseg; i++) {
    if (!cJSON_IsObject(n)) return NULL;
    n = cJSON_GetObjectItemCaseSensitive(n, p->seg[i]);
  }
  return n;
}

bool json_scalar_key(const cJSON *v, struct buf *b) {
  if (!v) return false;
  if (cJSON_IsString(v)) {
    buf_putc(b, 's');
    buf_puts(b, v->valuestring);
  } else if (cJSON_IsNumber(v)) {
    buf_printf(b, "n%.17g", v->valuedouble);
  } else if (cJSON_IsBool(v)) {
    buf_putc(b, cJSON_IsTrue(v) ? 't' : 'f');
  } else {
    return false;
  }
  return true;
}

static bool is_empty_container(const cJSON *v) {
  return (cJSON_IsObject(v) || cJSON_IsArray(v)) && v->child == NULL;
}

bool json_equal(const cJSON *a, const cJSON *b) {
  if (!a || !b) return a == b;
  if (is_empty_container(a) && is_empty_container(b)) return true;
  if ((a->type & 0xFF) != (b->type & 0xFF)) return false;
  switch (a->type & 0xFF) {
  case cJSON_False:
  case cJSON_True:
  case cJSON_NULL: return true;
  case cJSON_Number: return a->valuedouble == b->valuedouble;
  case cJSON_String:
  case cJSON_Raw: return strcmp(a->valuestring, b->valuestring) == 0;
  case cJSON_Array: {
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next)
      if (!json_equal(x, y)) return false;
    return !x && !y;
  }
  case cJSON_Object: {
    int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b);
    if (na != nb) return false;
    for (const cJSON *x = a->child; x; x = x->next)
      if (!json_equal(x, cJSON_GetObjectItemCaseSensitive(b, x->string))) return false;
    return true;
  }
  default: return false;
  }
}

char *json_print(const cJSON *node) {
  char *s = cJSON_PrintUnformatted(node);
  if (!s) return xstrdup("null");
  char *copy = xstrdup(s); /* callers free() everything; cJSON may use another allocator */
  cJSON_free(s);
  return copy;
}

cJSON *json_parse(const char *s, size_t len, size_t *errpos) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(s, len, &end, 0);
  if (root && end) {
    /* cJSON stops after the first value; anything but white space after it is an error. */
    const char *stop = s + len;
    while (end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
    if (end < stop && *end) {
      cJSON_Delete(root);
      root = NULL;
    }
  }
  if (!root && errpos) *errpos = end && end >= s ? (size_t)(end - s) : 0;
  return root;
}

/* {===================== arena ===================== */

#define ARENA_MIN (64u << 10)
#define ARENA_MAX (32u << 20) /* a bigger document spills to malloc rather than pin memory */

static _Thread_local struct {
  char *buf;
  size_t cap, used, wanted;
  bool active;
} arena;

static void *arena_malloc(size_t n) {
  if (!arena.active) return malloc(n);
  n = (n + 15) & ~(size_t)15;
  if (arena.used + n > arena.cap) {
    if (arena.used + n <= ARENA_MAX && arena.used + n > arena.wanted)
      arena.wanted = arena.used + n; /* grow at the next reset */
    return malloc(n);
  }
  void *p = arena.buf + arena.used;
  arena.used += n;
  return p;
}

static void arena_free(void *p) {
  char *c = p;
  if (arena.buf && c >= arena.buf && c < arena.buf + arena.cap) return;
  free(p);
}

static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void arena_install(void) {
  cJSON_Hooks hooks = {arena_malloc, arena_free};
  cJSON_InitHooks(&hooks);
}

void json_arena_setup(void) { pthread_once(&arena_once, arena_install); }

void json_arena_begin(void) {
  if (!arena.buf || arena.wanted > arena.cap) {
    size_t cap = arena.cap ? arena.cap : ARENA_MIN;
    while (cap < arena.wanted) cap *= 2;
    char *buf = malloc(cap);
    if (!buf) return; /* no arena: cJSON uses malloc */
    free(arena.buf);
    arena.buf = buf;
    arena.cap = cap;
    arena.wanted = 0;
  }
  arena.used = 0;
  arena.active = true;
}

void json_arena_end(void) {
  arena.active = false;
  arena.used = 0;
}

void json_arena_release(void) {
  free(arena.buf);
  arena.buf = NULL;
  arena.cap = arena.used = arena.wanted = 0;
  arena.active = false;
}

/* }============================================================ */

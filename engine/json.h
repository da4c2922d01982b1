/* json.h — cJSON helpers that need no Lua: dotted field paths, scalar keys for the
 * prefilter index, and JSON equality for test expectations.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_JSON_H
#define LP0_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* A dotted field path ("userIdentity.type") split once into segments. */
struct json_path {
  char *text;     /* the original path, owned */
  char **seg;     /* segments, owned */
  size_t nseg;
};
/* Returns 0, or -1 when the path is empty or has an empty segment. */
int json_path_init(struct json_path *p, const char *text);
void json_path_free(struct json_path *p);
/* The node at the path (exact keys), or NULL. Borrowed from root. */
const cJSON *json_path_get(const cJSON *root, const struct json_path *p);

/* Appends the prefilter key of a scalar to b ("s" + string bytes, "n" + %.17g, "t"/"f").
 * Returns false (appending nothing) for null, arrays and objects. */
bool json_scalar_key(const cJSON *v, struct buf *b);

/* Structural equality; numbers compare exactly, an empty object equals an empty array. */
bool json_equal(const cJSON *a, const cJSON *b);

/* Returns a new unformatted JSON string of node (free with free()). */
char *json_print(const cJSON *node);

/* Parses a NUL-terminated or length-delimited buffer; on failure returns NULL and
 * stores the byte offset of the error in *errpos. */
cJSON *json_parse(const char *s, size_t len, size_t *errpos);

/* A per-thread arena for cJSON's allocations while one event is parsed and evaluated:
 * an event is ~100 small allocations that all die together, so bump allocation and a
 * reset beat malloc/free per node. Outside begin/end cJSON allocates with malloc as
 * usual; memory from the arena must not outlive json_arena_end (cJSON_free of it is a
 * no-op). json_arena_setup() installs the hooks once per process. */
void json_arena_setup(void);
void json_arena_begin(void);
void json_arena_end(void);
/* Frees this thread's arena (call before a thread exits). */
void json_arena_release(void);

#endif

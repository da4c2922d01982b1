/* stdlib_embed.h — the stdlib/ Lua files compiled into the binary (cmake/embed.cmake).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_STDLIB_EMBED_H
#define LP0_STDLIB_EMBED_H

#include <stddef.h>

struct stdlib_file {
  const char *name; /* file name without .lua */
  const char *data;
  size_t len;
};
/* Sorted by name, terminated by { NULL, NULL, 0 }. */
extern const struct stdlib_file stdlib_files[];

#endif

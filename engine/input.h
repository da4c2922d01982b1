/* input.h — reading event files for replay: NDJSON, a JSON document (array, CloudTrail
 * {"Records": [...]}, pretty-printed object), plain or gzip (by magic bytes), or stdin.
 *
 * The reader only frames records; it parses nothing except the first line, to tell
 * NDJSON from a multi-line document. Parsing happens on the workers.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_INPUT_H
#define LP0_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <zlib.h>

#include "util.h"

#define INPUT_MAX_RECORD (256u << 20) /* a line or a whole document */

struct input {
  char *name; /* owned; "-" is stdin, shown as "<stdin>" */
  gzFile gz;
  struct buf data;  /* unread bytes are data.data[pos..data.len) */
  size_t pos;
  bool eof, started, doc_mode, done;
  unsigned long line;            /* line number of the next record */
  unsigned long long bytes;      /* uncompressed bytes read */
  struct buf record;             /* the current record (doc mode / long lines) */
};

/* Opens path ("-" = stdin). Returns 0, or -1 with *err (free()). */
int input_open(struct input *in, const char *path, char **err);
/* Returns 1 with the next record (borrowed until the next call; NUL-terminated), 0 at
 * the end, -1 on a read error (*err) or a record over INPUT_MAX_RECORD (*err; the record
 * is skipped and reading can go on). */
int input_next(struct input *in, const char **text, size_t *len, unsigned long *line, char **err);
void input_close(struct input *in);

#endif

/* input.c — framing replay input into records (see input.h).
 *
 * zlib's gzread reads gzip and plain files alike (it checks the magic bytes), so every
 * input goes through it. Lines are returned in place from the read buffer when they fit;
 * a record that spans reads is assembled in `record`.
 * SPDX-License-Identifier: MIT
 */
#include "input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

#define INPUT_CHUNK (1u << 20)

int input_open(struct input *in, const char *path, char **err) {
  memset(in, 0, sizeof *in);
  buf_init(&in->data);
  buf_init(&in->record);
  in->line = 1;
  if (strcmp(path, "-") == 0) {
    int fd = dup(STDIN_FILENO);
    in->gz = fd >= 0 ? gzdopen(fd, "rb") : NULL;
    if (!in->gz && fd >= 0) close(fd);
    in->name = xstrdup("<stdin>");
  } else {
    in->gz = gzopen(path, "rb");
    in->name = xstrdup(path);
  }
  if (!in->gz) {
    *err = xasprintf("%s: cannot open: %s", in->name, strerror(errno ? errno : ENOMEM));
    free(in->name);
    in->name = NULL;
    return -1;
  }
  gzbuffer(in->gz, 256 * 1024);
  return 0;
}

void input_close(struct input *in) {
  if (in->gz) gzclose(in->gz);
  buf_free(&in->data);
  buf_free(&in->record);
  free(in->name);
  memset(in, 0, sizeof *in);
}

/* Reads more bytes into data. Returns bytes read, 0 at EOF, -1 on error. */
static int fill(struct input *in, char **err) {
  if (in->eof) return 0;
  if (in->pos > 0) { /* compact */
    memmove(in->data.data, in->data.data + in->pos, in->data.len - in->pos);
    in->data.len -= in->pos;
    in->pos = 0;
  }
  buf_reserve(&in->data, INPUT_CHUNK);
  int n = gzread(in->gz, in->data.data + in->data.len, INPUT_CHUNK);
  if (n < 0) {
    int zerr;
    const char *msg = gzerror(in->gz, &zerr);
    *err = xasprintf("%s: read error: %s", in->name, zerr == Z_ERRNO ? strerror(errno) : msg);
    return -1;
  }
  if (n == 0) in->eof = true;
  in->data.len += (size_t)n;
  in->data.data[in->data.len] = '\0';
  in->bytes += (unsigned long long)n;
  return n;
}

static bool blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return false;
  return true;
}

/* The next line (without its newline) in place, or NULL at the end. */
static int next_line(struct input *in, char **line, size_t *len, char **err) {
  for (;;) {
    char *start = in->data.data ? in->data.data + in->pos : NULL;
    size_t avail = in->data.len - in->pos;
    char *nl = start ? memchr(start, '\n', avail) : NULL;
    if (nl) {
      *line = start;
      *len = (size_t)(nl - start);
      *nl = '\0';
      in->pos += *len + 1;
      return 1;
    }
    if (avail > INPUT_MAX_RECORD) {
      *err = xasprintf("%s:%lu: line longer than %u bytes skipped", in->name, in->line,
                       INPUT_MAX_RECORD);
      /* drop everything up to the next newline */
      in->pos = in->data.len;
      while (fill(in, err) > 0) {
        char *n2 = memchr(in->data.data, '\n', in->data.len);
        if (n2) {
          in->pos = (size_t)(n2 - in->data.data) + 1;
          break;
        }
        in->pos = in->data.len;
      }
      in->line++;
      return -2;
    }
    int rc = fill(in, err);
    if (rc < 0) return -1;
    if (rc == 0) {
      if (in->data.len == in->pos) return 0;
      *line = in->data.data + in->pos;
      *len = in->data.len - in->pos;
      in->pos = in->data.len;
      return 1;
    }
  }
}

/* Reads the rest of the input after the first line into one document record. */
static int slurp(struct input *in, const char *first, size_t flen, char **err) {
  in->record.len = 0;
  buf_append(&in->record, first, flen);
  buf_putc(&in->record, '\n');
  for (;;) {
    buf_append(&in->record, in->data.data + in->pos, in->data.len - in->pos);
    in->pos = in->data.len;
    if (in->record.len > INPUT_MAX_RECORD) {
      *err = xasprintf("%s: document larger than %u bytes", in->name, INPUT_MAX_RECORD);
      return -1;
    }
    int rc = fill(in, err);
    if (rc < 0) return -1;
    if (rc == 0) return 0;
  }
}

int input_next(struct input *in, const char **text, size_t *len, unsigned long *lineno, char **err) {
  char *line;
  size_t n;
  if (in->done) return 0;
  for (;;) {
    int rc = next_line(in, &line, &n, err);
    if (rc == -2) return -1;
    if (rc < 0) {
      in->done = true;
      return -1;
    }
    if (rc == 0) {
      in->done = true;
      return 0;
    }
    unsigned long at = in->line++;
    if (n && line[n - 1] == '\r') line[--n] = '\0';
    if (blank(line, n)) continue;
    if (!in->started) {
      in->started = true;
      size_t i = 0;
      while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
      size_t errpos = 0;
      cJSON *probe = (line[i] == '{' || line[i] == '[') ? json_parse(line, n, &errpos) : NULL;
      /* A first line that opens a value and runs out of input is the start of a
       * multi-line document; one with an error before its end is a malformed line. */
      size_t end = n;
      while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) end--;
      if (!probe && i < n && (line[i] == '{' || line[i] == '[') && errpos + 1 >= end) {
        /* A multi-line document (pretty-printed array, Records file, or object). */
        in->doc_mode = true;
        char *first = xstrndup(line, n);
        int rc2 = slurp(in, first, n, err);
        free(first);
        in->done = true;
        if (rc2 < 0) return -1;
        *text = in->record.data;
        *len = in->record.len;
        *lineno = at;
        return 1;
      }
      cJSON_Delete(probe);
    }
    *text = line;
    *len = n;
    *lineno = at;
    return 1;
  }
}

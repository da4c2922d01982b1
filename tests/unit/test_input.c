/* Unit tests of input.c: NDJSON framing, documents, gzip, CRLF, line numbers. */
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "input.h"

static char dir[] = "/tmp/lp0-test-input-XXXXXX";

static char *write_file(const char *name, const char *text, int gz) {
  char *path = xasprintf("%s/%s", dir, name);
  if (gz) {
    gzFile f = gzopen(path, "wb");
    gzwrite(f, text, (unsigned)strlen(text));
    gzclose(f);
  } else {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
  }
  return path;
}

/* Reads all records; returns count, stores the last record and its line. */
static int read_all(const char *path, char *last, size_t lastlen, unsigned long *lastline, int *errors) {
  struct input in;
  char *err = NULL;
  const char *text;
  size_t len;
  unsigned long line;
  int n = 0, rc;
  *errors = 0;
  if (input_open(&in, path, &err) != 0) {
    free(err);
    return -1;
  }
  while ((rc = input_next(&in, &text, &len, &line, &err)) != 0) {
    if (rc < 0) {
      (*errors)++;
      free(err);
      err = NULL;
      continue;
    }
    snprintf(last, lastlen, "%.*s", (int)len, text);
    *lastline = line;
    n++;
  }
  input_close(&in);
  return n;
}

int main(void) {
  char last[256];
  unsigned long line = 0;
  int errors;
  if (!mkdtemp(dir)) return 2;
  const char *nd = "{\"a\":1}\n\n  \n{\"a\":2}\r\n{\"a\":3}";
  char *p1 = write_file("a.ndjson", nd, 0);
  ASSERT_EQ_INT(read_all(p1, last, sizeof last, &line, &errors), 3);
  ASSERT_EQ_STR(last, "{\"a\":3}"); /* no trailing newline, still read */
  ASSERT_EQ_INT(line, 5);
  char *p2 = write_file("a.ndjson.gz", nd, 1);
  ASSERT_EQ_INT(read_all(p2, last, sizeof last, &line, &errors), 3);
  ASSERT_EQ_INT(line, 5);
  const char *doc = "{\n  \"Records\": [\n    {\"a\": 1},\n    {\"a\": 2}\n  ]\n}\n";
  char *p3 = write_file("records.json", doc, 1);
  ASSERT_EQ_INT(read_all(p3, last, sizeof last, &line, &errors), 1); /* one document */
  ASSERT_TRUE(strstr(last, "\"Records\"") && strstr(last, "{\"a\": 2}"));
  ASSERT_EQ_INT(line, 1);
  char *p4 = write_file("bad.ndjson", "{\"a\":1}\nnot json\n{\"a\":", 0);
  ASSERT_EQ_INT(read_all(p4, last, sizeof last, &line, &errors), 3); /* framing only */
  ASSERT_EQ_INT(errors, 0);
  char *p5 = xasprintf("%s/missing", dir);
  ASSERT_EQ_INT(read_all(p5, last, sizeof last, &line, &errors), -1);
  char *cmd = xasprintf("rm -rf %s", dir);
  if (system(cmd) != 0) CHECK_FAIL("cleanup failed");
  free(cmd), free(p1), free(p2), free(p3), free(p4), free(p5);
  CHECK_DONE();
}

/* baseline_cjson.c - the reference point of the replay benchmark: parse each NDJSON line.
 *
 * Reads FILE line by line (getline) and runs cJSON_ParseWithLength + cJSON_Delete on each
 * line, nothing else: no classification, no Lua, no detections, no output per event. The
 * time covers reading and parsing, as lp0's own figure does. It is the floor a detection
 * engine built on cJSON cannot beat with one thread, measured on the same machine in the
 * same run (tests/bench/run.sh). Prints one summary line in the shape of lp0's:
 *
 *   baseline: N events, B bytes in S s (E events/s, M MB/s), P parse errors, peak RSS R MB
 *
 * Build: cc -O2 -std=c11 -o baseline_cjson baseline_cjson.c -lcjson
 * usage: baseline_cjson FILE
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s FILE\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "r");
  if (!f) {
    fprintf(stderr, "baseline: %s: %s\n", argv[1], strerror(errno));
    return 2;
  }
  char *line = NULL;
  size_t cap = 0;
  unsigned long long events = 0, bad = 0, bytes = 0;
  ssize_t len;
  double start = now();
  while ((len = getline(&line, &cap, f)) > 0) {
    bytes += (unsigned long long)len;
    size_t n = (size_t)len;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    if (n == 0) continue; /* blank lines are not events, as in lp0 */
    cJSON *root = cJSON_ParseWithLength(line, n);
    if (root) events++;
    else bad++;
    cJSON_Delete(root);
  }
  double secs = now() - start;
  int rc = ferror(f) ? 1 : 0;
  free(line);
  fclose(f);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("baseline: %llu events, %llu bytes in %.3f s (%.0f events/s, %.1f MB/s), "
         "%llu parse errors, peak RSS %.1f MB\n",
         events, bytes, secs, secs > 0 ? (double)events / secs : 0.0,
         secs > 0 ? (double)bytes / secs / (1024.0 * 1024.0) : 0.0, bad,
         (double)ru.ru_maxrss / 1024.0);
  return rc;
}

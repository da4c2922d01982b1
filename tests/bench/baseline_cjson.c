/* baseline_cjson.c — the floor for the replay benchmark: read NDJSON lines and
 * cJSON_Parse + cJSON_Delete each, nothing else. Prints events/s.
 * usage: baseline_cjson FILE */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  FILE *f = fopen(argv[1], "r");
  if (!f) return perror(argv[1]), 2;
  char *line = NULL;
  size_t cap = 0;
  long n = 0, bad = 0;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0) {
    cJSON *j = cJSON_ParseWithLength(line, (size_t)len);
    if (j) n++;
    else bad++;
    cJSON_Delete(j);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  printf("cjson-baseline: %ld events in %.3f s (%.0f events/s), %ld bad\n", n, s, (double)n / s, bad);
  free(line);
  fclose(f);
  return 0;
}

/* testrun.h — `lp0 test`: the unit tests that ship with detections, and *_spec.lua files.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_TESTRUN_H
#define LP0_TESTRUN_H

#include <stdbool.h>
#include <stddef.h>

struct test_opts {
  char **paths; /* borrowed */
  size_t npaths;
  const char *filter; /* substring of detection id, file or test name; NULL = all */
  const char *junit;  /* JUnit XML output path, or NULL */
  bool verbose, require_tests;
};

/* Runs the tests; returns the exit code (0 all passed, 1 failures, 2 setup error). */
int test_run(const struct test_opts *o);

#endif

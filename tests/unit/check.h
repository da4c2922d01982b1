/* check.h — typed assertions for the unit tests: each failure prints both operands and
 * the location, and counts; main() returns failures != 0 (ctest reads the exit code).
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_CHECK_H
#define LP0_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failures, check_count;

#define CHECK_FAIL(...)                                   \
  do {                                                    \
    check_failures++;                                     \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);       \
    fprintf(stderr, __VA_ARGS__);                         \
    fputc('\n', stderr);                                  \
  } while (0)

#define ASSERT_TRUE(c)                                             \
  do {                                                             \
    check_count++;                                                 \
    if (!(c)) CHECK_FAIL("expected true: %s", #c);                 \
  } while (0)

#define ASSERT_EQ_INT(a, b)                                                              \
  do {                                                                                   \
    long long a_ = (long long)(a), b_ = (long long)(b);                                  \
    check_count++;                                                                       \
    if (a_ != b_) CHECK_FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_);                  \
  } while (0)

#define ASSERT_EQ_DBL(a, b)                                                              \
  do {                                                                                   \
    double a_ = (a), b_ = (b);                                                           \
    check_count++;                                                                       \
    if (fabs(a_ - b_) > 1e-6) CHECK_FAIL("%s == %s: %.6f != %.6f", #a, #b, a_, b_);      \
  } while (0)

#define ASSERT_EQ_STR(a, b)                                                              \
  do {                                                                                   \
    const char *a_ = (a), *b_ = (b);                                                     \
    check_count++;                                                                       \
    if (!a_ || !b_ || strcmp(a_, b_) != 0)                                               \
      CHECK_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)",               \
                 b_ ? b_ : "(null)");                                                    \
  } while (0)

#define CHECK_DONE()                                                          \
  do {                                                                        \
    printf("%d passed, %d failed\n", check_count - check_failures, check_failures); \
    return check_failures ? 1 : 0;                                            \
  } while (0)

#endif

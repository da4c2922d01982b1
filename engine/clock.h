/* clock.h — event time: parsing the timestamp formats of the bundled log types and
 * formatting epoch seconds as RFC 3339. No time zone database, no locale, no global state.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_CLOCK_H
#define LP0_CLOCK_H

#include <stddef.h>

/* Parses RFC 3339 / ISO 8601 ("2024-10-31T08:04:00Z", "...08:04:00.123+02:00"), the same
 * with a space instead of 'T', without a zone (read as UTC: Okta's "2021-01-08 21:28:34.875"),
 * or a decimal number of epoch seconds/milliseconds/microseconds/nanoseconds (by magnitude).
 * Stores epoch seconds with fraction in *out. Returns 0, or -1 when s is not a time. */
int clk_parse(const char *s, size_t n, double *out);

/* Epoch seconds from a JSON number: magnitude picks s, ms, us or ns. */
double clk_from_number(double v);

/* Formats epoch seconds as "YYYY-MM-DDTHH:MM:SS[.mmm]Z" into out (at least 32 bytes).
 * Milliseconds are printed only when the time has a fraction. Returns out. */
char *clk_format(double t, char *out, size_t outlen);

/* Wall-clock now, epoch seconds. */
double clk_now(void);
/* Monotonic nanoseconds for measuring durations. */
unsigned long long clk_mono_ns(void);

#endif

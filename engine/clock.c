/* clock.c — timestamp parsing and formatting for event time.
 *
 * Event time decides dedup windows, so parsing must be exact and deterministic: we
 * compute days from the civil date ourselves instead of calling timegm(), which is not
 * in C11 and depends on the process time zone state.
 * SPDX-License-Identifier: MIT
 */
#include "clock.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  long long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3u : 9u)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d) {
  z += 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (long long)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *s, size_t n, size_t at, size_t count, unsigned *out) {
  unsigned v = 0;
  if (at + count > n) return -1;
  for (size_t i = at; i < at + count; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return 0;
}

static int parse_number(const char *s, size_t n, double *out) {
  char tmp[64], *end;
  if (n == 0 || n >= sizeof tmp) return -1;
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  double v = strtod(tmp, &end);
  if (*end || !isfinite(v)) return -1;
  *out = clk_from_number(v);
  return 0;
}

double clk_from_number(double v) {
  double a = fabs(v);
  if (a >= 1e17) return v / 1e9;
  if (a >= 1e14) return v / 1e6;
  if (a >= 1e11) return v / 1e3;
  return v;
}

int clk_parse(const char *s, size_t n, double *out) {
  unsigned y, mo, d, h, mi, sec = 0;
  size_t i;
  if (n >= 1 && s[0] >= '0' && s[0] <= '9' && (n < 5 || s[4] != '-'))
    return parse_number(s, n, out);
  if (digits(s, n, 0, 4, &y) || n < 10 || s[4] != '-' || digits(s, n, 5, 2, &mo) ||
      s[7] != '-' || digits(s, n, 8, 2, &d))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return -1;
  double frac = 0, offset = 0;
  h = mi = 0;
  i = 10;
  if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    if (digits(s, n, 11, 2, &h) || n < 16 || s[13] != ':' || digits(s, n, 14, 2, &mi))
      return -1;
    i = 16;
    if (i < n && s[i] == ':') {
      if (digits(s, n, 17, 2, &sec)) return -1;
      i = 19;
      if (i < n && (s[i] == '.' || s[i] == ',')) {
        double scale = 0.1;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
          frac += (s[i] - '0') * scale;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return -1;
  }
  if (i < n) {
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
      i++;
    } else if (s[i] == '+' || s[i] == '-') {
      unsigned oh, om = 0;
      int sign = s[i] == '-' ? -1 : 1;
      if (digits(s, n, i + 1, 2, &oh)) return -1;
      size_t j = i + 3;
      if (j < n && s[j] == ':') j++;
      if (j < n && digits(s, n, j, 2, &om)) return -1;
      if (j < n) j += 2;
      if (j != n) return -1;
      offset = sign * (oh * 3600.0 + om * 60.0);
      i = n;
    } else {
      return -1;
    }
  }
  long long days = days_from_civil(y, mo, d);
  *out = (double)days * 86400.0 + h * 3600.0 + mi * 60.0 + sec + frac - offset;
  return 0;
}

char *clk_format(double t, char *out, size_t outlen) {
  double whole = floor(t);
  long long secs = (long long)whole;
  long ms = lround((t - whole) * 1000.0);
  if (ms == 1000) secs++, ms = 0;
  long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  long long rem = secs - days * 86400;
  long long y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  int hh = (int)(rem / 3600), mm = (int)(rem % 3600 / 60), ss = (int)(rem % 60);
  if (ms)
    snprintf(out, outlen, "%04lld-%02u-%02uT%02d:%02d:%02d.%03ldZ", y, m, d, hh, mm, ss, ms);
  else
    snprintf(out, outlen, "%04lld-%02u-%02uT%02d:%02d:%02dZ", y, m, d, hh, mm, ss);
  return out;
}

double clk_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned long long clk_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

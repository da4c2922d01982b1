/* wildcard.c — wildcard matching for suppressions (and any C caller that takes patterns
 * from users), byte for byte the language of stdlib/strings.lua's glob. (Not "glob.c":
 * engine/ is on the include path, and a glob.h there would hide the system's.)
 *
 * The matcher is the classic single-backtrack-point loop: on a mismatch it returns to the
 * last '*' and lets it swallow one more byte. That is enough because every other token
 * consumes a length fixed by the subject ('?' takes exactly the UTF-8 character there),
 * so the leftmost placement of each star-free piece is always a right one; the cost is
 * bounded by pattern length times subject length, never exponential. Nothing is
 * compiled or cached: suppression patterns are short and evaluated only on matches.
 * SPDX-License-Identifier: MIT
 */
#include "wildcard.h"


/* Reads the class opening at p[0] == '['. Returns the byte after its ']' and sets *hit to
 * whether c is in the set, or returns NULL when the class is not closed. */
static const char *class_at(const char *p, unsigned char c, bool *hit) {
  const char *q = p + 1;
  bool neg = false, in = false, first = true;
  if (*q == '!' || *q == '^') neg = true, q++;
  while (*q) {
    if (*q == ']' && !first) {
      *hit = in != neg;
      return q + 1;
    }
    first = false;
    if (*q == '\\' && q[1]) q++;
    unsigned char lo = (unsigned char)*q;
    if (q[1] == '-' && q[2] && q[2] != ']') {
      unsigned char hi = (unsigned char)q[2];
      if (c >= lo && c <= hi) in = true;
      q += 3;
    } else {
      if (c == lo) in = true;
      q++;
    }
  }
  return NULL;
}

/* Lua's utf8.charpattern: a lead byte, then every continuation byte after it. */
static size_t utf8_char(const unsigned char *s, size_t i, size_t n) {
  unsigned char c = s[i];
  if (!(c <= 0x7F || (c >= 0xC2 && c <= 0xFD))) return 0;
  size_t k = 1;
  while (i + k < n && s[i + k] >= 0x80 && s[i + k] <= 0xBF) k++;
  return k;
}

/* Matches the one token at *pp (not '*', not the end) against s[i] (i < n). Returns the
 * bytes it consumes, 0 for no match, and moves *pp past the token. */
static size_t token(const char **pp, const unsigned char *s, size_t i, size_t n) {
  const char *p = *pp;
  if (*p == '?') {
    *pp = p + 1;
    return utf8_char(s, i, n);
  }
  if (*p == '[') {
    bool hit = false;
    const char *end = class_at(p, s[i], &hit);
    if (end) {
      *pp = end;
      return hit ? 1 : 0;
    }
  } else if (*p == '\\' && p[1]) {
    p++;
  }
  *pp = p + 1;
  return (unsigned char)*p == s[i] ? 1 : 0;
}

bool wildcard_match(const char *pat, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  const char *p = pat, *star_p = NULL;
  size_t i = 0, star_i = 0;
  for (;;) {
    if (*p == '*') {
      while (*p == '*') p++;
      if (*p == '\0') return true; /* a trailing star takes the rest */
      star_p = p, star_i = i;
      continue;
    }
    if (*p == '\0') {
      if (i == n) return true;
    } else if (i < n) {
      const char *q = p;
      size_t k = token(&q, s, i, n);
      if (k) {
        p = q, i += k;
        continue;
      }
    }
    if (!star_p || star_i >= n) return false;
    p = star_p, i = ++star_i;
  }
}

bool wildcard_has_magic(const char *pat) {
  for (const char *p = pat; *p; p++) {
    bool hit;
    if (*p == '*' || *p == '?') return true;
    if (*p == '[' && class_at(p, 0, &hit)) return true;
    if (*p == '\\' && p[1]) p++;
  }
  return false;
}

const char *wildcard_check(const char *pat) {
  for (const char *p = pat; *p; p++) {
    bool hit;
    if (*p == '[') {
      const char *end = class_at(p, 0, &hit);
      if (!end) return "'[' is not closed (it is read as a literal '[')";
      p = end - 1;
    } else if (*p == '\\') {
      if (!p[1]) return "trailing '\\' (it is read as a literal '\\')";
      p++;
    }
  }
  return NULL;
}

/* wildcard.h — shell-style wildcard matching in C, with the semantics of the stdlib's
 * strings.glob, so a pattern means the same in a suppressions file as in a detection.
 *
 *   *        any run of bytes, '/' and '.' included (ARNs, detection ids)
 *   ?        one UTF-8 character
 *   [abc]    one byte of the set; [a-z] byte ranges; [!...] or [^...] negates; a ']'
 *            right after '[' (or '[!') is a member; '\' escapes inside the set
 *   \x       the byte x literally
 * An unclosed '[' is a literal '[' (wildcard_check reports it). Matching is case-sensitive.
 * SPDX-License-Identifier: MIT
 */
#ifndef LP0_WILDCARD_H
#define LP0_WILDCARD_H

#include <stdbool.h>
#include <stddef.h>

/* Does the whole of s[0..n) match pat? Time is O(strlen(pat) * n) at worst, whatever the
 * number of stars (no exponential backtracking). */
bool wildcard_match(const char *pat, const char *s, size_t n);

/* True when pat holds a wildcard ('*', '?' or a closed '[...]'): a pattern without one
 * matches only itself. */
bool wildcard_has_magic(const char *pat);

/* NULL when pat is well formed, else a static description of what will be read
 * literally ("'[' is not closed", "trailing '\\'"). */
const char *wildcard_check(const char *pat);

#endif

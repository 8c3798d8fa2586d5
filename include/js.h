/*
 * The JavaScript semantics the reference (Node) applies to strings, numbers
 * and times, in one place: the \s whitespace set and trim(), string length
 * and slice() in UTF-16 code units, truncate() and String(v), truthiness,
 * Math.round(), Number(), Number#toString (js-number.c) and
 * Date.prototype.toISOString(). Strings are UTF-8 (invalid bytes count as
 * one U+FFFD each). Pure, except js_now_ms().
 *
 * Ownership: functions returning char * return a new string the caller
 * frees; the others borrow their arguments.
 */
#ifndef ACPX_JS_H
#define ACPX_JS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

/* Decode the code point at s[*i] (n bytes in all) and advance *i; U+FFFD
 * for a byte that does not start a valid sequence (advancing one byte). */
unsigned int	 js_utf8_next(const char *s, size_t n, size_t *i);

/*
 * Copy of in[0..len) with invalid UTF-8 replaced by U+FFFD as Node's
 * decoder replaces it (each maximal invalid prefix one U+FFFD);
 * NUL-terminated, length in *outlen. Caller frees.
 */
char		*js_utf8_fix(const char *in, size_t len, size_t *outlen);

/* Non-zero if cp is in the JavaScript WhiteSpace + LineTerminator set. */
int		 js_is_space(unsigned int cp);

/* Bytes of the JavaScript whitespace character at s (at most n bytes
 * available; SIZE_MAX for a NUL-terminated string), or 0. */
size_t		 js_space(const char *s, size_t n);

/* String.prototype.trim() / trimEnd() on the span [*s, *s + *n). */
void		 js_trim(const char **s, size_t *n);
void		 js_trim_end(const char **s, size_t *n);

/* s.trim() as a new string. Caller frees. */
char		*js_trim_dup(const char *s);

/* Non-zero if s is empty or only JavaScript whitespace. */
int		 js_blank(const char *s);

/* s.length: the UTF-16 code units of [s, s + n). */
size_t		 js_length(const char *s, size_t n);

/* s.length of a NUL-terminated string. */
size_t		 js_strlen(const char *s);

/*
 * s.slice(0, units): the bytes of the longest prefix of [s, s + n) whose
 * UTF-16 length is at most units. *split (if not NULL) is set when the
 * next character is a surrogate pair cut in half by the slice (JavaScript
 * would keep its lone high surrogate; callers write U+FFFD or drop it).
 */
size_t		 js_slice(const char *s, size_t n, size_t units, int *split);

/*
 * The reference's truncate(s, max): s if it fits in max units, else its
 * first max - 3 units (a split pair dropped) and "...". Caller frees.
 */
char		*js_truncate_dup(const char *s, size_t max);

/*
 * Append truncate(s, max) as the renderers write it: s if it fits in max
 * units, else its first max - 3 units and "..." (a split pair leaves
 * U+FFFD, as Node writes a lone surrogate).
 */
void		 js_truncate(struct buf *, const char *s, size_t n, size_t max);

/* Append s.replace(/\s+/g, " ").trim(). */
void		 js_collapse_ws(struct buf *, const char *s, size_t n);

/* Append String(v) as a template literal would (NULL is "undefined"). */
void		 js_string_of(struct buf *, const json_t *v);

/* JavaScript truthiness of a JSON value (NULL, null, false, 0, NaN, ""
 * are not). */
int		 js_truthy(const json_t *v);

/* Math.round(x). */
double		 js_round(double x);
/* floor(x) and C's round(x) (halves away from zero), exact, without libm. */
double		 js_floor(double x);
double		 js_round_away(double x);

/*
 * String(v) of a number ("0.1", "1", "1e+21", "NaN", "-Infinity") into buf
 * (NUL-terminated, truncated to size; js-number.c). Returns the length.
 */
size_t		 js_number_string(double v, char *buf, size_t size);

/* Number(s): 0 and *out, or -1 when the result is NaN. */
int		 js_number(const char *s, double *out);

/* Milliseconds since the epoch, as Date.now(). */
int64_t		 js_now_ms(void);

/* new Date(ms).toISOString(): "YYYY-MM-DDTHH:MM:SS.mmmZ". Caller frees. */
char		*js_iso_time(int64_t ms);

/* new Date().toISOString(). Caller frees. */
char		*js_iso_now(void);

#endif

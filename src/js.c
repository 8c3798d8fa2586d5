#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "js.h"
#include "xmalloc.h"

/*
 * JavaScript string, number and time semantics over UTF-8 C strings. The
 * reference measures and cuts strings in UTF-16 code units, trims with the
 * \s set and prints times with toISOString(); every module that must
 * match it byte for byte calls these.
 */

/* ----------------------------------------------------------------- UTF-8 */

unsigned int
js_utf8_next(const char *s, size_t n, size_t *i)
{
	const unsigned char	*p = (const unsigned char *)s + *i;
	size_t			 left = n - *i, need, k;
	unsigned int		 cp;

	if (p[0] < 0x80) {
		(*i)++;
		return (p[0]);
	}
	if ((p[0] & 0xe0) == 0xc0) {
		need = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		need = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		need = 4;
		cp = p[0] & 0x07;
	} else {
		(*i)++;
		return (0xfffd);
	}
	if (left < need) {
		(*i)++;
		return (0xfffd);
	}
	/* Byte by byte: a NUL ends the check on a NUL-terminated string. */
	for (k = 1; k < need; k++) {
		if ((p[k] & 0xc0) != 0x80) {
			(*i)++;
			return (0xfffd);
		}
		cp = (cp << 6) | (p[k] & 0x3f);
	}
	*i += need;
	return (cp);
}

/*
 * UTF-8 repair as Node decodes bytes (WHATWG TextDecoder): each maximal
 * invalid prefix becomes one U+FFFD.
 */
char *
js_utf8_fix(const char *in, size_t len, size_t *outlen)
{
	const unsigned char	*s = (const unsigned char *)in;
	char			*out;
	size_t			 i = 0, o = 0, k, need;
	unsigned char		 c, lo, hi;

	out = xmalloc(len * 3 + 1);
	while (i < len) {
		c = s[i];
		if (c < 0x80) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			need = 0;
		for (k = 1; need != 0 && k <= need && i + k < len; k++) {
			if (s[i + k] < lo || s[i + k] > hi)
				break;
			lo = 0x80;
			hi = 0xbf;
		}
		if (need != 0 && k == need + 1) {
			memcpy(out + o, s + i, k);
			o += k;
			i += k;
			continue;
		}
		/* One U+FFFD per maximal bad prefix; reread the next byte. */
		memcpy(out + o, "\xef\xbf\xbd", 3);
		o += 3;
		i += need == 0 ? 1 : k;
	}
	out[o] = '\0';
	*outlen = o;
	return (out);
}

/* ------------------------------------------------------------ whitespace */

int
js_is_space(unsigned int cp)
{
	switch (cp) {
	case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x20:
	case 0xa0: case 0x1680: case 0x2028: case 0x2029: case 0x202f:
	case 0x205f: case 0x3000: case 0xfeff:
		return (1);
	}
	return (cp >= 0x2000 && cp <= 0x200a);
}

size_t
js_space(const char *s, size_t n)
{
	size_t	i = 0;

	if (n == 0)
		return (0);
	if (!js_is_space(js_utf8_next(s, n, &i)))
		return (0);
	return (i);
}

void
js_trim_end(const char **s, size_t *n)
{
	size_t		 i, last = 0;
	unsigned int	 cp;
	unsigned char	 c;

	/*
	 * An ASCII byte always starts a code point of its own (continuation
	 * bytes are 0x80-0xbf), so trailing ASCII is judged from the end; only
	 * a non-ASCII last byte needs the decode from the start.
	 */
	while (*n > 0 && (c = (unsigned char)(*s)[*n - 1]) < 0x80) {
		if (!js_is_space(c))
			return;
		(*n)--;
	}
	for (i = 0; i < *n;) {
		cp = js_utf8_next(*s, *n, &i);
		if (!js_is_space(cp))
			last = i;
	}
	*n = last;
}

void
js_trim(const char **s, size_t *n)
{
	size_t	k;

	while ((k = js_space(*s, *n)) != 0) {
		*s += k;
		*n -= k;
	}
	js_trim_end(s, n);
}

char *
js_trim_dup(const char *s)
{
	size_t	n = strlen(s);

	js_trim(&s, &n);
	return (xstrndup(s, n));
}

int
js_blank(const char *s)
{
	size_t	k;

	while ((k = js_space(s, SIZE_MAX)) != 0)
		s += k;
	return (*s == '\0');
}

/* --------------------------------------------------------------- lengths */

size_t
js_length(const char *s, size_t n)
{
	size_t	i, units = 0;

	for (i = 0; i < n;) {
		if ((unsigned char)s[i] < 0x80) {	/* ASCII runs */
			i++;
			units++;
			continue;
		}
		units += js_utf8_next(s, n, &i) >= 0x10000 ? 2 : 1;
	}
	return (units);
}

size_t
js_strlen(const char *s)
{
	return (js_length(s, strlen(s)));
}

size_t
js_slice(const char *s, size_t n, size_t units, int *split)
{
	size_t		 i = 0, used = 0, start;
	unsigned int	 cp;
	int		 w;

	if (split != NULL)
		*split = 0;
	while (i < n && used < units) {
		start = i;
		cp = js_utf8_next(s, n, &i);
		w = cp >= 0x10000 ? 2 : 1;
		if (used + w > units) {
			if (split != NULL)
				*split = 1;
			return (start);
		}
		used += w;
	}
	return (i);
}

char *
js_truncate_dup(const char *s, size_t max)
{
	size_t	 n = strlen(s), keep;
	char	*out;

	if (js_length(s, n) <= max)
		return (xstrdup(s));
	keep = js_slice(s, n, max > 3 ? max - 3 : 0, NULL);
	out = xmalloc(keep + 4);
	memcpy(out, s, keep);
	memcpy(out + keep, "...", 4);
	return (out);
}

/* ------------------------------------------------------------ to a buf */

/* Append the first units UTF-16 units of s (a split pair leaves U+FFFD). */
static void
js_slice_buf(struct buf *b, const char *s, size_t n, size_t units)
{
	int	split;

	buf_add(b, s, js_slice(s, n, units, &split));
	if (split)	/* the lone high surrogate, written as U+FFFD */
		buf_add(b, "\xef\xbf\xbd", 3);
}

void
js_truncate(struct buf *b, const char *s, size_t n, size_t max)
{
	if (js_length(s, n) <= max) {
		buf_add(b, s, n);
		return;
	}
	if (max <= 3) {
		js_slice_buf(b, s, n, max);
		return;
	}
	js_slice_buf(b, s, n, max - 3);
	buf_add(b, "...", 3);
}

void
js_collapse_ws(struct buf *b, const char *s, size_t n)
{
	size_t		 i = 0, start, first = b->len;
	unsigned int	 cp;
	int		 space = 0;

	while (i < n) {
		start = i;
		cp = js_utf8_next(s, n, &i);
		if (js_is_space(cp)) {
			space = 1;
			continue;
		}
		if (space && b->len > first)
			buf_addc(b, ' ');
		space = 0;
		buf_add(b, s + start, i - start);
	}
}

/* Array.prototype.toString: elements joined by ",", null → "". */
static void
js_array_string(struct buf *b, const json_t *a, int depth)
{
	const json_t	*e;
	size_t		 i;

	json_array_foreach(a, i, e) {
		if (i > 0)
			buf_addc(b, ',');
		if (json_is_null(e))
			continue;
		if (json_is_array(e)) {
			if (depth < 32)
				js_array_string(b, e, depth + 1);
		} else
			js_string_of(b, e);
	}
}

void
js_string_of(struct buf *b, const json_t *v)
{
	char	num[64];
	size_t	n;

	if (v == NULL) {
		buf_adds(b, "undefined");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		buf_add(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		if (json_integer_value(v) >= -9007199254740992LL &&
		    json_integer_value(v) <= 9007199254740992LL)
			n = (size_t)snprintf(num, sizeof num, "%lld",
			    (long long)json_integer_value(v));
		else
			n = js_number_string((double)json_integer_value(v), num,
			    sizeof num);
		buf_add(b, num, n);
		break;
	case JSON_REAL:
		n = js_number_string(json_real_value(v), num, sizeof num);
		buf_add(b, num, n);
		break;
	case JSON_TRUE:
		buf_adds(b, "true");
		break;
	case JSON_FALSE:
		buf_adds(b, "false");
		break;
	case JSON_NULL:
		buf_adds(b, "null");
		break;
	case JSON_ARRAY:
		js_array_string(b, v, 0);
		break;
	case JSON_OBJECT:
	default:
		buf_adds(b, "[object Object]");
		break;
	}
}

int
js_truthy(const json_t *v)
{
	if (v == NULL)
		return (0);
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return (0);
	case JSON_STRING:
		return (json_string_length(v) > 0);
	case JSON_INTEGER:
		return (json_integer_value(v) != 0);
	case JSON_REAL:
		return (json_real_value(v) != 0 &&
		    json_real_value(v) == json_real_value(v));
	default:
		return (1);
	}
}

/* --------------------------------------------------------------- numbers */

/*
 * floor() without libm: exact. Below 2^52 in magnitude the conversion to
 * long long truncates toward zero exactly; above, every double (and
 * infinity, NaN) is its own floor. -0.0 stays -0.0, as floor() keeps it.
 */
double
js_floor(double x)
{
	double	t;

	if (!(fabs(x) < 4503599627370496.0))
		return (x);
	t = (double)(long long)x;
	if (t == x)
		return (x);
	return (t > x ? t - 1 : t);
}

/* C's round(): halves away from zero, exact (x - floor(x) is exact). */
double
js_round_away(double x)
{
	if (!(fabs(x) < 4503599627370496.0))
		return (x);
	if (signbit(x))
		return (-js_round(-x));
	return (js_round(x));
}

double
js_round(double x)
{
	double	r = js_floor(x);

	if (x - r >= 0.5)
		r += 1;
	return (r);
}

/* Digits of base in [p, ...) to the end of the string; -1 if none or bad. */
static int
js_number_radix(const char *p, int base, double *out)
{
	double	v = 0;
	int	d;

	if (*p == '\0')
		return (-1);
	for (; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p))
			d = *p - '0';
		else if (isxdigit((unsigned char)*p))
			d = tolower((unsigned char)*p) - 'a' + 10;
		else
			return (-1);
		if (d >= base)
			return (-1);
		v = v * base + d;
	}
	*out = v;
	return (0);
}

/* StringToNumber on the trimmed text t. */
static int
js_number_trimmed(const char *p, double *out)
{
	const char	*end, *e;
	double		 v;
	int		 sign = 1;

	if (*p == '\0') {
		*out = 0;
		return (0);
	}
	if (p[0] == '0' && p[1] != '\0' && strchr("xXoObB", p[1]) != NULL)
		return (js_number_radix(p + 2, p[1] == 'x' || p[1] == 'X' ?
		    16 : p[1] == 'o' || p[1] == 'O' ? 8 : 2, out));
	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
	}
	if (strcmp(p, "Infinity") == 0) {
		*out = sign * INFINITY;
		return (0);
	}
	/* Digits, optional fraction, optional exponent; no hex floats, no "inf". */
	end = p;
	while (isdigit((unsigned char)*end))
		end++;
	if (*end == '.') {
		end++;
		while (isdigit((unsigned char)*end))
			end++;
	}
	if (end == p || (end == p + 1 && *p == '.'))
		return (-1);
	if (*end == 'e' || *end == 'E') {
		e = end + 1;
		if (*e == '+' || *e == '-')
			e++;
		if (!isdigit((unsigned char)*e))
			return (-1);
		while (isdigit((unsigned char)*e))
			e++;
		end = e;
	}
	if (*end != '\0')
		return (-1);
	errno = 0;
	v = strtod(p, NULL);
	*out = sign * v;
	return (0);
}

int
js_number(const char *s, double *out)
{
	char	*t = js_trim_dup(s);
	int	 rv;

	rv = js_number_trimmed(t, out);
	free(t);
	return (rv);
}

/* ----------------------------------------------------------------- times */

int64_t
js_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * The proleptic Gregorian date of a day count since 1970-01-01 (Howard
 * Hinnant's civil_from_days): what gmtime_r() gives, without the time
 * zone file glibc's gmtime_r() loads on its first call.
 */
static void
js_civil(int64_t days, int64_t *y, int *m, int *d)
{
	int64_t		era, doe, yoe, doy, mp;

	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;				/* [0, 146096] */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);		/* [0, 365] */
	mp = (5 * doy + 2) / 153;				/* [0, 11] */
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* v (0 <= v < 10^n) as n decimal digits, zero-padded. */
static void
js_digits(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

char *
js_iso_time(int64_t ms)
{
	int64_t		 sec = ms / 1000, frac = ms % 1000, days, rem, y;
	int		 mon, mday;
	char		*out;

	if (frac < 0) {		/* before 1970: floor, as Date does */
		frac += 1000;
		sec--;
	}
	days = sec / 86400;
	rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	js_civil(days, &y, &mon, &mday);
	if (y < 0 || y > 9999) {
		xasprintf(&out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    (int)y, mon, mday, (int)(rem / 3600),
		    (int)(rem % 3600 / 60), (int)(rem % 60), (int)frac);
		return (out);
	}
	/* The common case without printf: one per event line. */
	out = xmalloc(sizeof "YYYY-MM-DDTHH:MM:SS.mmmZ");
	js_digits(out, (int)y, 4);
	out[4] = '-';
	js_digits(out + 5, mon, 2);
	out[7] = '-';
	js_digits(out + 8, mday, 2);
	out[10] = 'T';
	js_digits(out + 11, (int)(rem / 3600), 2);
	out[13] = ':';
	js_digits(out + 14, (int)(rem % 3600 / 60), 2);
	out[16] = ':';
	js_digits(out + 17, (int)(rem % 60), 2);
	out[19] = '.';
	js_digits(out + 20, (int)frac, 3);
	out[23] = 'Z';
	out[24] = '\0';
	return (out);
}

char *
js_iso_now(void)
{
	return (js_iso_time(js_now_ms()));
}

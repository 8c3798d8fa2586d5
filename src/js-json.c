#include <config.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "buf.h"
#include "js.h"
#include "js-json.h"
#include "xmalloc.h"

/*
 * JSON.parse as V8 (Node 20) runs it: the value, or the message V8 throws,
 * with its positions in UTF-16 code units and its "Unexpected token"
 * context window. A recursive descent over the UTF-8 bytes; the input is
 * expected to be valid UTF-8 (a truncated sequence at the end is
 * tolerated).
 */

/*
 * Deeper nesting is refused with the RangeError text the reference's own
 * recursive walkers would throw.
 */
#define JS_JSON_MAX_DEPTH	4096


struct js_jp {
	const char	*s;
	size_t		 len;
	size_t		 i;
	int		 depth;
	char		*cause;
};

/* UTF-16 offset of byte offset at (V8 positions count code units). */
static size_t
js_jp_pos16(const struct js_jp *p, size_t at)
{
	return (js_length(p->s, at < p->len ? at : p->len));
}

/* Append the source's UTF-16 units [from, to) as UTF-8 (split pairs: U+FFFD). */
static void
js_jp_substr(const struct js_jp *p, size_t from, size_t to,
    char **out)
{
	size_t	 i = 0, u = 0, clen, units, olen = 0;
	char	*buf = xmalloc(p->len * 3 + 4);

	while (i < p->len && u < to) {
		unsigned char c = (unsigned char)p->s[i];

		clen = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (clen > p->len - i)
			clen = p->len - i;	/* truncated sequence (argv) */
		units = clen == 4 ? 2 : 1;
		if (u >= from && u + units <= to && c == 0) {
			/* A NUL cannot travel in a C string. */
			memcpy(buf + olen, "\xef\xbf\xbd", 3);
			olen += 3;
		} else if (u >= from && u + units <= to) {
			memcpy(buf + olen, p->s + i, clen);
			olen += clen;
		} else if (u + units > from && u < to) {
			memcpy(buf + olen, "\xef\xbf\xbd", 3);
			olen += 3;
		}
		u += units;
		i += clen;
	}
	buf[olen] = '\0';
	*out = buf;
}

static void
js_jp_fail(struct js_jp *p, size_t at, const char *what)
{
	if (p->cause != NULL)
		return;
	xasprintf(&p->cause, "%s in JSON at position %zu", what,
	    js_jp_pos16(p, at));
}

/* The message for an unexpected token at byte offset at (V8's lookup). */
static void
js_jp_unexpected(struct js_jp *p, size_t at)
{
	static const char *const special[] = { "[object Object]", "undefined",
	    "Infinity", "NaN" };
	char		 tok[8], *ctx;
	unsigned char	 c;
	size_t		 i, clen, len16, pos16;

	if (p->cause != NULL)
		return;
	if (at >= p->len) {
		p->cause = xstrdup("Unexpected end of JSON input");
		return;
	}
	c = (unsigned char)p->s[at];
	if (c == '"') {
		js_jp_fail(p, at, "Unexpected string");
		return;
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		js_jp_fail(p, at, "Unexpected number");
		return;
	}
	for (i = 0; i < nitems(special); i++) {
		if (p->len == strlen(special[i]) &&
		    memcmp(p->s, special[i], p->len) == 0) {
			xasprintf(&p->cause, "\"%s\" is not valid JSON",
			    special[i]);
			return;
		}
	}
	clen = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (clen > p->len - at)
		clen = p->len - at;	/* truncated sequence (argv) */
	if (clen == 4 || c == 0)
		strcpy(tok, "\xef\xbf\xbd");	/* a lone high surrogate; NUL */
	else {
		memcpy(tok, p->s + at, clen);
		tok[clen] = '\0';
	}
	len16 = js_jp_pos16(p, p->len);
	pos16 = js_jp_pos16(p, at);
	if (len16 <= 20) {
		js_jp_substr(p, 0, len16, &ctx);
		xasprintf(&p->cause, "Unexpected token '%s', \"%s\" is not "
		    "valid JSON", tok, ctx);
	} else if (pos16 < 10) {
		js_jp_substr(p, 0, pos16 + 10, &ctx);
		xasprintf(&p->cause, "Unexpected token '%s', \"%s\"... is not "
		    "valid JSON", tok, ctx);
	} else if (pos16 < len16 - 10) {
		js_jp_substr(p, pos16 - 10, pos16 + 10, &ctx);
		xasprintf(&p->cause, "Unexpected token '%s', ...\"%s\"... is "
		    "not valid JSON", tok, ctx);
	} else {
		js_jp_substr(p, pos16 - 10, len16, &ctx);
		xasprintf(&p->cause, "Unexpected token '%s', ...\"%s\" is not "
		    "valid JSON", tok, ctx);
	}
	free(ctx);
}

static void
js_jp_ws(struct js_jp *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' ||
	    p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int
js_jp_hex(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static void
js_jp_put_cp(struct buf *b, unsigned int cp)
{
	char	u[4];
	size_t	n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_add(b, u, n);
}

/* Four hex digits at p->i; -1 and an error if not. */
static long
js_jp_u4(struct js_jp *p)
{
	long	v = 0;
	int	k, h;

	for (k = 0; k < 4; k++) {
		if (p->i >= p->len || (h = js_jp_hex(p->s[p->i])) == -1) {
			js_jp_fail(p, p->i, "Bad Unicode escape");
			return (-1);
		}
		v = v * 16 + h;
		p->i++;
	}
	return (v);
}

/* A string at p->i (the opening quote). */
static char *
js_jp_string(struct js_jp *p, size_t *outlen)
{
	struct buf	 b = BUF_INITIALIZER;
	size_t		 clen;
	long		 cp, lo;
	unsigned char	 c;

	buf_add(&b, "", 0);
	p->i++;
	for (;;) {
		if (p->i >= p->len) {
			js_jp_fail(p, p->len, "Unterminated string");
			goto fail;
		}
		c = (unsigned char)p->s[p->i];
		if (c == '"') {
			p->i++;
			break;
		}
		if (c == '\\') {
			if (++p->i >= p->len) {
				js_jp_unexpected(p, p->len);
				goto fail;
			}
			c = (unsigned char)p->s[p->i];
			switch (c) {
			case '"': case '\\': case '/':
				buf_add(&b, (char *)&c, 1);
				break;
			case 'b':
				buf_add(&b, "\b", 1);
				break;
			case 'f':
				buf_add(&b, "\f", 1);
				break;
			case 'n':
				buf_add(&b, "\n", 1);
				break;
			case 'r':
				buf_add(&b, "\r", 1);
				break;
			case 't':
				buf_add(&b, "\t", 1);
				break;
			case 'u':
				p->i++;
				if ((cp = js_jp_u4(p)) == -1)
					goto fail;
				if (cp >= 0xd800 && cp <= 0xdbff &&
				    p->i + 1 < p->len && p->s[p->i] == '\\' &&
				    p->s[p->i + 1] == 'u') {
					size_t save = p->i;

					p->i += 2;
					if ((lo = js_jp_u4(p)) == -1)
						goto fail;
					if (lo >= 0xdc00 && lo <= 0xdfff)
						cp = 0x10000 + ((cp - 0xd800) << 10) +
						    (lo - 0xdc00);
					else {
						p->i = save;
						cp = 0xfffd;
					}
				} else if (cp >= 0xd800 && cp <= 0xdfff)
					cp = 0xfffd;	/* lone surrogate */
				js_jp_put_cp(&b, (unsigned int)cp);
				continue;
			default:
				/* Past Latin-1, V8 reports the character. */
				if (c >= 0xc4) {
					js_jp_unexpected(p, p->i);
					goto fail;
				}
				js_jp_fail(p, p->i, "Bad escaped character");
				goto fail;
			}
			p->i++;
			continue;
		}
		if (c < 0x20) {
			js_jp_fail(p, p->i,
			    "Bad control character in string literal");
			goto fail;
		}
		clen = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (p->i + clen > p->len)
			clen = p->len - p->i;
		buf_add(&b, p->s + p->i, clen);
		p->i += clen;
	}
	*outlen = b.len;
	return (buf_take(&b));
fail:
	buf_free(&b);
	return (NULL);
}

static int
js_jp_digit(const struct js_jp *p)
{
	return (p->i < p->len && p->s[p->i] >= '0' && p->s[p->i] <= '9');
}

/* A number at p->i. */
static json_t *
js_jp_number(struct js_jp *p)
{
	size_t		 start = p->i;
	int		 real = 0;
	char		*text, *end;
	long long	 ll;
	double		 d;

	if (p->s[p->i] == '-')
		p->i++;
	if (p->i < p->len && p->s[p->i] == '0') {
		p->i++;
		if (js_jp_digit(p)) {
			js_jp_unexpected(p, p->i);
			return (NULL);
		}
	} else if (js_jp_digit(p)) {
		while (js_jp_digit(p))
			p->i++;
	} else {
		js_jp_fail(p, p->i, "No number after minus sign");
		return (NULL);
	}
	if (p->i < p->len && p->s[p->i] == '.') {
		real = 1;
		p->i++;
		if (!js_jp_digit(p)) {
			js_jp_fail(p, p->i, "Unterminated fractional number");
			return (NULL);
		}
		while (js_jp_digit(p))
			p->i++;
	}
	if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		real = 1;
		p->i++;
		if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (!js_jp_digit(p)) {
			js_jp_fail(p, p->i,
			    "Exponent part is missing a number");
			return (NULL);
		}
		while (js_jp_digit(p))
			p->i++;
	}
	text = xstrndup(p->s + start, p->i - start);
	if (!real) {
		errno = 0;
		ll = strtoll(text, &end, 10);
		if (errno == 0 && *end == '\0' && ll <= (1LL << 53) &&
		    ll >= -(1LL << 53)) {
			free(text);
			return (json_integer(ll));
		}
	}
	d = strtod(text, NULL);
	free(text);
	/* JS has Infinity; jansson cannot hold it: the largest double stands in. */
	if (isinf(d))
		d = d > 0 ? DBL_MAX : -DBL_MAX;
	return (json_real(d));
}

/* true/false/null at p->i (V8's ScanLiteral). */
static json_t *
js_jp_literal(struct js_jp *p, const char *lit, json_t *v)
{
	size_t	n = strlen(lit), remaining = p->len - p->i, k;

	if (remaining >= n && memcmp(p->s + p->i, lit, n) == 0) {
		p->i += n;
		return (v);
	}
	p->i++;
	for (k = 1; k < n && k < remaining; k++) {
		if (p->s[p->i] != lit[k]) {
			js_jp_unexpected(p, p->i);
			return (NULL);
		}
		p->i++;
	}
	js_jp_unexpected(p, p->len);
	return (NULL);
}

static json_t	*js_jp_value(struct js_jp *);

static json_t *
js_jp_object(struct js_jp *p)
{
	json_t	*obj = json_object(), *v;
	char	*key;
	size_t	 klen;
	int	 first = 1;

	p->i++;
	js_jp_ws(p);
	if (p->i < p->len && p->s[p->i] == '}') {
		p->i++;
		return (obj);
	}
	for (;;) {
		js_jp_ws(p);
		if (p->i >= p->len || p->s[p->i] != '"') {
			js_jp_fail(p, p->i, first ?
			    "Expected property name or '}'" :
			    "Expected double-quoted property name");
			goto fail;
		}
		if ((key = js_jp_string(p, &klen)) == NULL)
			goto fail;
		js_jp_ws(p);
		if (p->i >= p->len || p->s[p->i] != ':') {
			free(key);
			/* V8 names the colon only for the first property. */
			if (first)
				js_jp_fail(p, p->i,
				    "Expected ':' after property name");
			else
				js_jp_unexpected(p, p->i);
			goto fail;
		}
		p->i++;
		if ((v = js_jp_value(p)) == NULL) {
			free(key);
			goto fail;
		}
		json_object_setn_new_nocheck(obj, key, klen, v);
		free(key);
		first = 0;
		js_jp_ws(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->s[p->i] == '}') {
			p->i++;
			return (obj);
		}
		js_jp_fail(p, p->i, "Expected ',' or '}' after property value");
		goto fail;
	}
fail:
	json_decref(obj);
	return (NULL);
}

static json_t *
js_jp_array(struct js_jp *p)
{
	json_t	*arr = json_array(), *v;

	p->i++;
	js_jp_ws(p);
	if (p->i < p->len && p->s[p->i] == ']') {
		p->i++;
		return (arr);
	}
	for (;;) {
		if ((v = js_jp_value(p)) == NULL)
			goto fail;
		json_array_append_new(arr, v);
		js_jp_ws(p);
		if (p->i < p->len && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->len && p->s[p->i] == ']') {
			p->i++;
			return (arr);
		}
		js_jp_fail(p, p->i, "Expected ',' or ']' after array element");
		goto fail;
	}
fail:
	json_decref(arr);
	return (NULL);
}

static json_t *
js_jp_value(struct js_jp *p)
{
	json_t	*v = NULL;
	char	*s;
	size_t	 n;

	js_jp_ws(p);
	if (p->i >= p->len) {
		js_jp_unexpected(p, p->i);
		return (NULL);
	}
	if (++p->depth > JS_JSON_MAX_DEPTH) {
		if (p->cause == NULL)
			p->cause = xstrdup("Maximum call stack size exceeded");
		return (NULL);
	}
	switch (p->s[p->i]) {
	case '"':
		if ((s = js_jp_string(p, &n)) != NULL) {
			v = json_stringn_nocheck(s, n);
			free(s);
		}
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		v = js_jp_number(p);
		break;
	case '{':
		v = js_jp_object(p);
		break;
	case '[':
		v = js_jp_array(p);
		break;
	case 't':
		v = js_jp_literal(p, "true", json_true());
		break;
	case 'f':
		v = js_jp_literal(p, "false", json_false());
		break;
	case 'n':
		v = js_jp_literal(p, "null", json_null());
		break;
	default:
		js_jp_unexpected(p, p->i);
		break;
	}
	p->depth--;
	return (v);
}

json_t *
js_json_parse(const char *text, size_t len, char **cause)
{
	struct js_jp	 p;
	json_t			*v;

	memset(&p, 0, sizeof p);
	p.s = text;
	p.len = len;
	if ((v = js_jp_value(&p)) != NULL) {
		js_jp_ws(&p);
		if (p.i < p.len) {
			xasprintf(&p.cause, "Unexpected non-whitespace "
			    "character after JSON at position %zu",
			    js_jp_pos16(&p, p.i));
			json_decref(v);
			v = NULL;
		}
	}
	if (v == NULL) {
		*cause = p.cause != NULL ? p.cause :
		    xstrdup("Unexpected end of JSON input");
		return (NULL);
	}
	return (v);
}

char *
js_json_syntax_error(const char *text, size_t len)
{
	json_t	*v;
	char	*cause = NULL, *out;

	if ((v = js_json_parse(text, len, &cause)) != NULL) {
		json_decref(v);
		return (NULL);
	}
	xasprintf(&out, "SyntaxError: %s", cause);
	free(cause);
	return (out);
}

int
js_json_array_index(const char *key, uint32_t *out)
{
	uint64_t	v = 0;
	const char	*p;

	if (*key == '\0' || (key[0] == '0' && key[1] != '\0'))
		return (0);
	for (p = key; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - key >= 10)
			return (0);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v >= 4294967295ULL)
		return (0);
	*out = (uint32_t)v;
	return (1);
}

struct js_json_key {
	const char	*key;
	uint32_t	 index;
	int		 is_index;
	size_t		 seq;
};

static int
js_json_key_cmp(const void *a0, const void *b0)
{
	const struct js_json_key	*a = a0, *b = b0;

	if (a->is_index != b->is_index)
		return (a->is_index ? -1 : 1);
	if (a->is_index && a->index != b->index)
		return (a->index < b->index ? -1 : 1);
	return (a->seq < b->seq ? -1 : a->seq > b->seq);
}

const char **
js_json_keys(const json_t *obj, size_t *n)
{
	struct js_json_key	*k;
	const char		*key, **out;
	json_t			*v;
	size_t			 i = 0;

	*n = json_object_size(obj);
	k = xcalloc(*n + 1, sizeof *k);
	json_object_foreach((json_t *)obj, key, v) {
		k[i].key = key;
		k[i].seq = i;
		k[i].is_index = js_json_array_index(key, &k[i].index);
		i++;
	}
	qsort(k, *n, sizeof *k, js_json_key_cmp);
	out = xcalloc(*n + 1, sizeof *out);
	for (i = 0; i < *n; i++)
		out[i] = k[i].key;
	free(k);
	return (out);
}

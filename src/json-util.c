#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "js-json.h"
#include "json-util.h"
#include "xmalloc.h"

/*
 * JSON helpers, and json_dumps_js(): the serializer for every JSON byte a
 * user or peer sees. It reproduces ECMAScript JSON.stringify exactly:
 * Number#toString for numbers (shortest round-trip digits, exponent form
 * outside [1e-6, 1e21)), the JSON.stringify string escapes, and the
 * property order of a JS object (array-index keys first, ascending, then
 * the rest in insertion order).
 */

/*
 * Shortest decimal digits that read back as v (v finite, > 0): digits in
 * out (no dot, no trailing zeros) and the decimal exponent n such that
 * v = 0.d1d2... x 10^n. Returns the digit count.
 */
static int
json_shortest_digits(double v, char *out, int *n)
{
	char		 buf[40], cand[48], *e;
	uint64_t	 m, tries[3];
	int		 p, i, exp10, k, t;

	for (p = 1; p <= 17; p++) {
		snprintf(buf, sizeof buf, "%.*e", p - 1, v);
		e = strchr(buf, 'e');
		exp10 = atoi(e + 1);
		m = 0;
		for (i = 0; buf + i < e; i++) {
			if (buf[i] >= '0' && buf[i] <= '9')
				m = m * 10 + (uint64_t)(buf[i] - '0');
		}
		/*
		 * The correctly rounded p-digit string may miss the rounding
		 * interval next to a power of two while a neighbour hits it.
		 */
		tries[0] = m;
		tries[1] = m + 1;
		tries[2] = m > 1 ? m - 1 : m;
		for (t = 0; t < 3; t++) {
			snprintf(cand, sizeof cand, "%llue%d",
			    (unsigned long long)tries[t], exp10 - (p - 1));
			if (strtod(cand, NULL) != v)
				continue;
			k = snprintf(out, 24, "%llu",
			    (unsigned long long)tries[t]);
			/* exponent of the first digit, as 0.d x 10^n */
			*n = exp10 - (p - 1) + k;
			while (k > 1 && out[k - 1] == '0')
				out[--k] = '\0';
			return (k);
		}
	}
	/* Not reached for finite doubles; fall back to 17 digits. */
	snprintf(buf, sizeof buf, "%.16e", v);
	e = strchr(buf, 'e');
	*n = atoi(e + 1) + 1;
	k = 0;
	for (i = 0; buf + i < e; i++) {
		if (buf[i] >= '0' && buf[i] <= '9')
			out[k++] = buf[i];
	}
	out[k] = '\0';
	while (k > 1 && out[k - 1] == '0')
		out[--k] = '\0';
	return (k);
}

/* Write v as JavaScript's Number#toString (radix 10) does into buf. */
size_t
json_js_number(double v, char *buf, size_t size)
{
	char	 d[32], tmp[64];
	int	 k, n, i, e;
	size_t	 len = 0;

#define PUT(c) do { if (len + 1 < sizeof tmp) tmp[len++] = (c); } while (0)
	if (isnan(v))
		len = (size_t)snprintf(tmp, sizeof tmp, "NaN");
	else if (isinf(v))
		len = (size_t)snprintf(tmp, sizeof tmp, "%s",
		    v < 0 ? "-Infinity" : "Infinity");
	else if (v == 0)
		len = (size_t)snprintf(tmp, sizeof tmp, "0");
	else {
		if (v < 0) {
			PUT('-');
			v = -v;
		}
		k = json_shortest_digits(v, d, &n);
		if (k <= n && n <= 21) {
			for (i = 0; i < k; i++)
				PUT(d[i]);
			for (i = 0; i < n - k; i++)
				PUT('0');
		} else if (0 < n && n <= 21) {
			for (i = 0; i < n; i++)
				PUT(d[i]);
			PUT('.');
			for (; i < k; i++)
				PUT(d[i]);
		} else if (-6 < n && n <= 0) {
			PUT('0');
			PUT('.');
			for (i = 0; i < -n; i++)
				PUT('0');
			for (i = 0; i < k; i++)
				PUT(d[i]);
		} else {
			e = n - 1;
			PUT(d[0]);
			if (k > 1) {
				PUT('.');
				for (i = 1; i < k; i++)
					PUT(d[i]);
			}
			len += (size_t)snprintf(tmp + len, sizeof tmp - len,
			    "e%c%d", e < 0 ? '-' : '+', e < 0 ? -e : e);
		}
	}
#undef PUT
	if (size > 0) {
		if (len >= size)
			len = size - 1;
		memcpy(buf, tmp, len);
		buf[len] = '\0';
	}
	return (len);
}

/* JS number text of an integer: exact up to 2^53, else via double. */
static size_t
json_js_integer(json_int_t i, char *buf, size_t size)
{
	if (i >= -9007199254740992LL && i <= 9007199254740992LL)
		return ((size_t)snprintf(buf, size, "%lld", (long long)i));
	return (json_js_number((double)i, buf, size));
}

/* Append s (n bytes of UTF-8) as a JSON.stringify string literal. */
static void
json_js_quote(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char	*run = s, *end = s + n;
	char		 esc[7];
	unsigned char	 c;

	buf_reserve(b, n + 2);
	b->p[b->len++] = '"';
	for (; s < end; s++) {
		c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		buf_add(b, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"':
			buf_add(b, "\\\"", 2);
			break;
		case '\\':
			buf_add(b, "\\\\", 2);
			break;
		case '\b':
			buf_add(b, "\\b", 2);
			break;
		case '\f':
			buf_add(b, "\\f", 2);
			break;
		case '\n':
			buf_add(b, "\\n", 2);
			break;
		case '\r':
			buf_add(b, "\\r", 2);
			break;
		case '\t':
			buf_add(b, "\\t", 2);
			break;
		default:
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			buf_add(b, esc, 6);
			break;
		}
	}
	buf_add(b, run, (size_t)(end - run));
	buf_addc(b, '"');
}

struct json_js_key {
	const char	*key;
	size_t		 klen;
	uint32_t	 index;
	int		 is_index;
	size_t		 order;
	json_t		*value;
};

static int
json_js_key_cmp(const void *a0, const void *b0)
{
	const struct json_js_key *a = a0, *b = b0;

	if (a->is_index != b->is_index)
		return (a->is_index ? -1 : 1);
	if (a->is_index && a->index != b->index)
		return (a->index < b->index ? -1 : 1);
	return (a->order < b->order ? -1 : a->order > b->order);
}

static void	json_js_value(struct buf *, const json_t *, int, int);

static void
json_js_newline(struct buf *b, int indent, int depth)
{
	buf_addc(b, '\n');
	buf_fill(b, ' ', (size_t)indent * (size_t)depth);
}

static void
json_js_member(struct buf *b, const char *key, size_t klen,
    const json_t *value, int indent, int depth, int first)
{
	if (!first)
		buf_addc(b, ',');
	if (indent > 0)
		json_js_newline(b, indent, depth + 1);
	json_js_quote(b, key, klen);
	buf_addc(b, ':');
	if (indent > 0)
		buf_addc(b, ' ');
	json_js_value(b, value, indent, depth + 1);
}

static void
json_js_object(struct buf *b, const json_t *v, int indent, int depth)
{
	struct json_js_key	*keys;
	const char		*key;
	json_t			*value;
	size_t			 n, i, klen;
	uint32_t		 index;
	int			 any_index = 0;

	if (json_object_size(v) == 0) {
		buf_add(b, "{}", 2);
		return;
	}
	json_object_keylen_foreach((json_t *)v, key, klen, value) {
		if (key[0] >= '0' && key[0] <= '9' && strlen(key) == klen &&
		    js_json_array_index(key, &index)) {
			any_index = 1;
			break;
		}
	}
	buf_addc(b, '{');
	if (!any_index) {
		/* The common case: insertion order, no copy. */
		i = 0;
		json_object_keylen_foreach((json_t *)v, key, klen, value)
			json_js_member(b, key, klen, value, indent, depth, i++ == 0);
	} else {
		/* Array-index keys come first, ascending, as in JS objects. */
		keys = xreallocarray(NULL, json_object_size(v), sizeof *keys);
		n = 0;
		json_object_keylen_foreach((json_t *)v, key, klen, value) {
			keys[n].key = key;
			keys[n].klen = klen;
			keys[n].order = n;
			keys[n].value = value;
			keys[n].is_index = strlen(key) == klen &&
			    js_json_array_index(key, &keys[n].index);
			n++;
		}
		qsort(keys, n, sizeof *keys, json_js_key_cmp);
		for (i = 0; i < n; i++)
			json_js_member(b, keys[i].key, keys[i].klen,
			    keys[i].value, indent, depth, i == 0);
		free(keys);
	}
	if (indent > 0)
		json_js_newline(b, indent, depth);
	buf_addc(b, '}');
}

static void
json_js_value(struct buf *b, const json_t *v, int indent, int depth)
{
	char	 num[64];
	size_t	 i, n;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_js_object(b, v, indent, depth);
		break;
	case JSON_ARRAY:
		if ((n = json_array_size(v)) == 0) {
			buf_add(b, "[]", 2);
			break;
		}
		buf_addc(b, '[');
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_addc(b, ',');
			if (indent > 0)
				json_js_newline(b, indent, depth + 1);
			json_js_value(b, json_array_get(v, i), indent,
			    depth + 1);
		}
		if (indent > 0)
			json_js_newline(b, indent, depth);
		buf_addc(b, ']');
		break;
	case JSON_STRING:
		json_js_quote(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		n = json_js_integer(json_integer_value(v), num, sizeof num);
		buf_add(b, num, n);
		break;
	case JSON_REAL:
		if (!isfinite(json_real_value(v)))
			buf_add(b, "null", 4);
		else {
			n = json_js_number(json_real_value(v), num, sizeof num);
			buf_add(b, num, n);
		}
		break;
	case JSON_TRUE:
		buf_add(b, "true", 4);
		break;
	case JSON_FALSE:
		buf_add(b, "false", 5);
		break;
	case JSON_NULL:
	default:
		buf_add(b, "null", 4);
		break;
	}
}

/* JSON.stringify(v) (indent 0) or JSON.stringify(v, null, indent) text. Caller owns. */
char *
json_dumps_js(const json_t *v, int indent)
{
	struct buf	b = BUF_INITIALIZER;

	if (indent > 10)
		indent = 10;
	if (indent < 0)
		indent = 0;
	if (v == NULL)
		buf_add(&b, "null", 4);
	else
		json_js_value(&b, v, indent, 0);
	return (buf_take(&b));
}

/* Borrowed string member or NULL if absent / not a string. */
const char *
json_str(const json_t *obj, const char *key)
{
	return (json_string_value(json_object_get(obj, key)));
}

/* Borrowed object member or NULL if absent / not an object. */
json_t *
json_obj(const json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	return (json_is_object(v) ? v : NULL);
}

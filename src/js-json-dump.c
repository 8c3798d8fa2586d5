#include <config.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "js.h"
#include "js-json.h"
#include "xmalloc.h"

/*
 * js_json_dumps(): the serializer for every JSON byte a user or peer sees.
 * It reproduces ECMAScript JSON.stringify exactly: Number#toString for
 * numbers (js_number_string(), shortest round-trip digits), the
 * JSON.stringify string escapes, and the property order of a JS object
 * (array-index keys first, ascending, then the rest in insertion order).
 */

/* Integers written exactly at any size (js_json_dumps_exact()). */
static int	js_json_exact;

/* JS number text of an integer: exact up to 2^53, else via double. */
static size_t
js_json_integer(json_int_t i, char *buf, size_t size)
{
	if (js_json_exact || (i >= -9007199254740992LL &&
	    i <= 9007199254740992LL))
		return ((size_t)snprintf(buf, size, "%lld", (long long)i));
	return (js_number_string((double)i, buf, size));
}

/* The bytes JSON.stringify escapes: controls, '"' and '\\'. */
static const unsigned char js_json_escaped[256] = {
	[0x00] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	[0x10] = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	['"'] = 1, ['\\'] = 1
};

/* Append s (n bytes of UTF-8) as a JSON.stringify string literal. */
static void
js_json_quote(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char	*run = s, *end = s + n;
	char		 esc[7];
	unsigned char	 c;

	/* Most strings need no escape: one copy, no per-piece appends. */
	while (s < end && !js_json_escaped[(unsigned char)*s])
		s++;
	if (buf_reserve(b, n + 2) == -1)
		return;
	b->p[b->len++] = '"';
	if (s == end) {
		memcpy(b->p + b->len, run, n);
		b->len += n;
		b->p[b->len++] = '"';
		b->p[b->len] = '\0';
		return;
	}
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

struct js_json_key {
	const char	*key;
	size_t		 klen;
	uint32_t	 index;
	int		 is_index;
	size_t		 order;
	json_t		*value;
};

static int
js_json_key_cmp(const void *a0, const void *b0)
{
	const struct js_json_key *a = a0, *b = b0;

	if (a->is_index != b->is_index)
		return (a->is_index ? -1 : 1);
	if (a->is_index && a->index != b->index)
		return (a->index < b->index ? -1 : 1);
	return (a->order < b->order ? -1 : a->order > b->order);
}

static void	js_json_value(struct buf *, const json_t *, int, int);

/*
 * js_json_dumps_at(): the value written as nothing, and where. Set only
 * for the length of that call, as js_json_exact is: JSON is written on the
 * event loop's thread only (the one other thread, fsutil-bg.c's worker,
 * writes none).
 */
static const json_t	*js_json_split_slot;
static size_t		 js_json_split_at;

static void
js_json_newline(struct buf *b, int indent, int depth)
{
	buf_addc(b, '\n');
	buf_fill(b, ' ', (size_t)indent * (size_t)depth);
}

static void
js_json_member(struct buf *b, const char *key, size_t klen,
    const json_t *value, int indent, int depth, int first)
{
	if (!first)
		buf_addc(b, ',');
	if (indent > 0)
		js_json_newline(b, indent, depth + 1);
	js_json_quote(b, key, klen);
	buf_addc(b, ':');
	if (indent > 0)
		buf_addc(b, ' ');
	js_json_value(b, value, indent, depth + 1);
}

static void
js_json_object(struct buf *b, const json_t *v, int indent, int depth)
{
	struct js_json_key	*keys;
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
			js_json_member(b, key, klen, value, indent, depth, i++ == 0);
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
		qsort(keys, n, sizeof *keys, js_json_key_cmp);
		for (i = 0; i < n; i++)
			js_json_member(b, keys[i].key, keys[i].klen,
			    keys[i].value, indent, depth, i == 0);
		free(keys);
	}
	if (indent > 0)
		js_json_newline(b, indent, depth);
	buf_addc(b, '}');
}

static void
js_json_value(struct buf *b, const json_t *v, int indent, int depth)
{
	char	 num[64];
	size_t	 i, n;

	if (v == js_json_split_slot) {
		js_json_split_at = b->len;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		js_json_object(b, v, indent, depth);
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
				js_json_newline(b, indent, depth + 1);
			js_json_value(b, json_array_get(v, i), indent,
			    depth + 1);
		}
		if (indent > 0)
			js_json_newline(b, indent, depth);
		buf_addc(b, ']');
		break;
	case JSON_STRING:
		js_json_quote(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		n = js_json_integer(json_integer_value(v), num, sizeof num);
		buf_add(b, num, n);
		break;
	case JSON_REAL:
		if (!isfinite(json_real_value(v)))
			buf_add(b, "null", 4);
		else {
			n = js_number_string(json_real_value(v), num, sizeof num);
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
js_json_dumps(const json_t *v, int indent)
{
	return (js_json_dumps_at(v, indent, 0, NULL, NULL));
}

/*
 * js_json_dumps(v, indent) as written depth levels deep (every line after
 * the first indented by indent * depth more), with the value slot (held by
 * v, found by identity; NULL: none) left out: *at is where its text goes.
 * Caller owns.
 */
char *
js_json_dumps_at(const json_t *v, int indent, int depth, const json_t *slot,
    size_t *at)
{
	struct buf	b = BUF_INITIALIZER;

	/* Room for a typical message at once: no doubling from 64 bytes. */
	(void)buf_reserve(&b, 256);
	if (indent > 10)
		indent = 10;
	if (indent < 0)
		indent = 0;
	js_json_split_slot = slot;
	js_json_split_at = (size_t)-1;
	if (v == NULL)
		buf_add(&b, "null", 4);
	else
		js_json_value(&b, v, indent, depth);
	js_json_split_slot = NULL;
	if (at != NULL)
		*at = js_json_split_at;
	return (buf_take(&b));
}

/*
 * js_json_dumps(v, 0) with the value slot (a member or element of v, found
 * by identity) left out: *at is where its text goes, so that the text
 * before *at, JSON.stringify(slot's value), then the text from *at is
 * JSON.stringify(v with that value). (size_t)-1 if v does not hold slot.
 * Caller owns.
 */
char *
js_json_dumps_split(const json_t *v, const json_t *slot, size_t *at)
{
	return (js_json_dumps_at(v, 0, 0, slot, at));
}

char *
js_json_dumps_exact(const json_t *v)
{
	char	*text;

	js_json_exact = 1;
	text = js_json_dumps_at(v, 0, 0, NULL, NULL);
	js_json_exact = 0;
	return (text);
}

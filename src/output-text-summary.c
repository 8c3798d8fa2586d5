#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "js-json.h"
#include "js.h"
#include "output.h"
#include "output-impl.h"
#include "output-text-impl.h"

/*
 * One-line summaries of a tool call for the text renderer, as the
 * reference writes them: its input (summarizeToolInput) and its files
 * (formatLocations); and the string builders the renderer shares
 * (strings that may be undefined, distinct strings joined).
 */

#define TEXT_MAX_INLINE		220
#define TEXT_MAX_LOCATIONS	5

/* ------------------------------------------------------------ utilities */

void
output_text_summary_join_init(struct text_join *j, const char *sep)
{
	j->seen = json_object();
	memset(&j->out, 0, sizeof j->out);
	j->count = 0;
	j->sep = sep;
}

void
output_text_summary_join_add(struct text_join *j, const char *s, size_t n)
{
	if (json_object_getn(j->seen, s, n) != NULL)
		return;
	json_object_setn_new_nocheck(j->seen, s, n, json_true());
	if (j->count++ > 0)
		buf_adds(&j->out, j->sep);
	buf_add(&j->out, s, n);
}

/* Move the joined text into out (defined only if anything was added). */
void
output_text_summary_join_done(struct text_join *j, struct text_str *out)
{
	if (j->count > 0) {
		buf_add(&out->b, j->out.p, j->out.len);
		out->defined = 1;
	}
	json_decref(j->seen);
	buf_free(&j->out);
}

void
output_text_summary_str_free(struct text_str *s)
{
	buf_free(&s->b);
	s->defined = 0;
}

/* toInline: collapse whitespace, then truncate to 220 units. */
static void
text_inline(struct buf *out, const char *s, size_t n)
{
	struct buf	tmp = BUF_INITIALIZER;

	js_collapse_ws(&tmp, s, n);
	js_truncate(out, tmp.p != NULL ? tmp.p : "", tmp.len, TEXT_MAX_INLINE);
	buf_free(&tmp);
}

/* readFirstString: the first key holding a non-blank string, trimmed. */
static int
text_first_string(const json_t *rec, const char *const *keys,
    const char **s, size_t *n)
{
	const json_t	*v;

	for (; *keys != NULL; keys++) {
		v = json_object_get(rec, *keys);
		if (!json_is_string(v))
			continue;
		*s = json_string_value(v);
		*n = json_string_length(v);
		js_trim(s, n);
		if (*n > 0)
			return (1);
	}
	return (0);
}


/* --------------------------------------------------------- summaries */

/* summarizeToolInput into out; out->defined = 0 for undefined. */
void
output_text_summary_input(const json_t *v, struct text_str *out)
{
	static const char *const cmd_keys[] = { "command", "cmd", "program",
	    NULL };
	static const char *const arg_keys[] = { "args", "arguments", NULL };
	static const char *const loc_keys[] = { "path", "file", "filePath",
	    "filepath", "target", "uri", "url", NULL };
	static const char *const query_keys[] = { "query", "pattern", "text",
	    "search", NULL };
	struct buf	 tmp = BUF_INITIALIZER;
	const json_t	*args, *e;
	const char	*s, *es;
	size_t		 n, i, en, found;
	const char *const *k;
	char		*json;

	if (v == NULL || json_is_null(v))
		return;
	out->defined = 1;
	if (json_is_string(v) || json_is_number(v) || json_is_boolean(v)) {
		js_string_of(&tmp, v);
		text_inline(&out->b, tmp.p, tmp.len);
		buf_free(&tmp);
		return;
	}
	if (json_is_object(v)) {
		if (text_first_string(v, cmd_keys, &s, &n)) {
			buf_add(&tmp, s, n);
			for (k = arg_keys; *k != NULL; k++) {
				args = json_object_get(v, *k);
				if (!json_is_array(args))
					continue;
				found = 0;
				json_array_foreach(args, i, e) {
					if (!json_is_string(e))
						continue;
					es = json_string_value(e);
					en = json_string_length(e);
					js_trim(&es, &en);
					if (en == 0)
						continue;
					found++;
				}
				if (found == 0)
					continue;
				json_array_foreach(args, i, e) {
					if (!json_is_string(e))
						continue;
					es = json_string_value(e);
					en = json_string_length(e);
					js_trim(&es, &en);
					if (en == 0)
						continue;
					buf_addc(&tmp, ' ');
					buf_add(&tmp, es, en);
				}
				break;
			}
			text_inline(&out->b, tmp.p, tmp.len);
			buf_free(&tmp);
			return;
		}
		if (text_first_string(v, loc_keys, &s, &n) ||
		    text_first_string(v, query_keys, &s, &n)) {
			text_inline(&out->b, s, n);
			return;
		}
	}
	json = js_json_dumps(v, 0);
	text_inline(&out->b, json, strlen(json));
	free(json);
}

/* formatLocations: unique path[:line], 5 shown, then ", +N more". */
void
output_text_summary_files(const json_t *locs, struct text_str *out)
{
	struct text_join	 j;
	struct buf		 item = BUF_INITIALIZER;
	const json_t		*loc, *path, *line;
	const char		*s;
	size_t			 i, n, shown = 0, total, klen;
	double			 d;
	char			 num[64];
	json_t			*seen;
	const char		*key;
	json_t			*val;

	if (!json_is_array(locs) || json_array_size(locs) == 0)
		return;
	output_text_summary_join_init(&j, ", ");
	seen = json_object();
	json_array_foreach(locs, i, loc) {
		path = json_object_get(loc, "path");
		if (!json_is_string(path))
			continue;
		s = json_string_value(path);
		n = json_string_length(path);
		js_trim(&s, &n);
		if (n == 0)
			continue;
		buf_reset(&item);
		buf_add(&item, s, n);
		line = json_object_get(loc, "line");
		if (json_is_integer(line)) {
			buf_addc(&item, ':');
			if (json_integer_value(line) < 1)
				buf_addc(&item, '1');
			else
				js_string_of(&item, line);
		} else if (json_is_real(line) && isfinite(json_real_value(line))) {
			d = json_real_value(line);
			/* Math.trunc without libm: doubles >= 2^52 are integral. */
			if (d > -4503599627370496.0 && d < 4503599627370496.0)
				d = (double)(long long)d;
			js_number_string(d < 1 ? 1 : d, num, sizeof num);
			buf_addc(&item, ':');
			buf_adds(&item, num);
		}
		json_object_setn_new_nocheck(seen, item.p, item.len,
		    json_true());
	}
	total = json_object_size(seen);
	json_object_keylen_foreach(seen, key, klen, val) {
		if (shown == TEXT_MAX_LOCATIONS)
			break;
		output_text_summary_join_add(&j, key, klen);
		shown++;
	}
	if (total > shown)
		buf_printf(&j.out, ", +%zu more", total - shown);
	json_decref(seen);
	buf_free(&item);
	output_text_summary_join_done(&j, out);
}

/* String(v) of a field for a template literal. */

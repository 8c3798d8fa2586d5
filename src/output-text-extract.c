#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "js-json.h"
#include "output.h"
#include "output-impl.h"
#include "output-text-impl.h"

/*
 * The text of a tool's output for the text renderer (extractOutputText,
 * summarizeToolContent, limitOutputBlock): rawOutput and content blocks
 * reduced to distinct trimmed fragments, then cut to 28 lines and 2000
 * UTF-16 units.
 */

#define TEXT_MAX_OUTPUT_CHARS	2000
#define TEXT_MAX_OUTPUT_LINES	28
#define TEXT_MAX_DEPTH		4

static void	text_extract(const json_t *, int, struct text_str *);

static void
text_field(struct buf *b, const json_t *obj, const char *key)
{
	js_string_of(b, json_object_get(obj, key));
}

/* textFromContentBlock into out. */
static void
text_content_block(const json_t *c, struct text_str *out)
{
	const char	*type;
	const json_t	*v, *res;

	if (!json_is_object(c))
		return;
	type = json_string_value(json_object_get(c, "type"));
	if (type == NULL)
		return;
	if (strcmp(type, "text") == 0) {
		v = json_object_get(c, "text");
		if (!json_is_string(v))
			return;
		buf_add(&out->b, json_string_value(v), json_string_length(v));
		out->defined = 1;
	} else if (strcmp(type, "resource_link") == 0) {
		v = json_object_get(c, "title");
		if (v == NULL || json_is_null(v))
			v = json_object_get(c, "name");
		if (v == NULL || json_is_null(v))
			v = json_object_get(c, "uri");
		if (!json_is_string(v))
			return;
		buf_add(&out->b, json_string_value(v), json_string_length(v));
		out->defined = 1;
	} else if (strcmp(type, "resource") == 0) {
		res = json_object_get(c, "resource");
		if (!json_is_object(res))
			return;
		out->defined = 1;
		v = json_object_get(res, "text");
		if (json_is_string(v)) {
			buf_add(&out->b, json_string_value(v),
			    json_string_length(v));
			return;
		}
		buf_adds(&out->b, "[resource] ");
		text_field(&out->b, res, "uri");
		v = json_object_get(res, "mimeType");
		if (js_truthy(v)) {
			buf_adds(&out->b, " (");
			js_string_of(&out->b, v);
			buf_addc(&out->b, ')');
		}
	} else if (strcmp(type, "image") == 0 || strcmp(type, "audio") == 0) {
		buf_printf(&out->b, "[%s] ", type);
		text_field(&out->b, c, "mimeType");
		out->defined = 1;
	}
}

static size_t
text_count_lines(const json_t *s)
{
	const char	*p = json_string_value(s);
	size_t		 i, n = json_string_length(s), lines = 1;

	for (i = 0; i < n; i++)
		lines += p[i] == '\n';
	return (lines);
}

/* summarizeToolContentEntry into out. */
static void
text_content_entry(const json_t *e, struct text_str *out)
{
	struct text_str	 block = { BUF_INITIALIZER, 0 };
	const json_t	*old, *new;
	const char	*type, *s;
	size_t		 n;
	long long	 delta;

	type = json_string_value(json_object_get(e, "type"));
	if (type == NULL)
		return;
	if (strcmp(type, "content") == 0) {
		text_content_block(json_object_get(e, "content"), &block);
		if (block.defined && block.b.len > 0) {
			s = block.b.p;
			n = block.b.len;
			js_trim(&s, &n);
			if (n > 0) {
				s = block.b.p;
				n = block.b.len;
				js_trim_end(&s, &n);
				buf_add(&out->b, s, n);
				out->defined = 1;
			}
		}
		output_text_summary_str_free(&block);
	} else if (strcmp(type, "diff") == 0) {
		old = json_object_get(e, "oldText");
		new = json_object_get(e, "newText");
		if (!json_is_string(new))
			return;
		delta = (long long)text_count_lines(new);
		if (json_is_string(old) && json_string_length(old) > 0)
			delta -= (long long)text_count_lines(old);
		else if (js_truthy(old))
			return;
		buf_adds(&out->b, "diff ");
		text_field(&out->b, e, "path");
		if (delta == 0)
			buf_adds(&out->b, " (line count unchanged)");
		else
			buf_printf(&out->b, " (%s%lld lines)",
			    delta > 0 ? "+" : "", delta);
		out->defined = 1;
	} else if (strcmp(type, "terminal") == 0) {
		buf_adds(&out->b, "[terminal] ");
		text_field(&out->b, e, "terminalId");
		out->defined = 1;
	}
}

/* summarizeToolContent: trimmed, distinct fragments joined by blank lines. */
void
output_text_extract_content(const json_t *content, struct text_str *out)
{
	struct text_join	 j;
	struct text_str		 frag;
	const json_t		*e;
	const char		*s;
	size_t			 i, n;

	if (!json_is_array(content) || json_array_size(content) == 0)
		return;
	output_text_summary_join_init(&j, "\n\n");
	json_array_foreach(content, i, e) {
		if (!json_is_object(e))
			continue;
		memset(&frag, 0, sizeof frag);
		text_content_entry(e, &frag);
		if (frag.defined && frag.b.len > 0) {
			s = frag.b.p;
			n = frag.b.len;
			js_trim(&s, &n);
			if (n > 0)
				output_text_summary_join_add(&j, s, n);
		}
		output_text_summary_str_free(&frag);
	}
	output_text_summary_join_done(&j, out);
}

static void
text_extract_array(const json_t *v, int depth, struct text_str *out)
{
	struct text_join	 j;
	struct text_str		 part;
	const json_t		*e;
	size_t			 i;

	output_text_summary_join_init(&j, "\n");
	json_array_foreach(v, i, e) {
		memset(&part, 0, sizeof part);
		text_extract(e, depth + 1, &part);
		if (part.defined && part.b.len > 0)
			output_text_summary_join_add(&j, part.b.p, part.b.len);
		output_text_summary_str_free(&part);
	}
	output_text_summary_join_done(&j, out);
}

static void
text_extract_record(const json_t *v, int depth, struct text_str *out)
{
	static const char *const keys[] = { "stdout", "stderr", "output",
	    "content", "text", "message", "result", "response", "value" };
	struct text_join	 j;
	struct text_str		 part;
	const json_t		*e;
	size_t			 i;
	char			*json;

	output_text_summary_join_init(&j, "\n");
	for (i = 0; i < nitems(keys); i++) {
		if ((e = json_object_get(v, keys[i])) == NULL)
			continue;
		memset(&part, 0, sizeof part);
		text_extract(e, depth + 1, &part);
		if (part.defined && part.b.len > 0)
			output_text_summary_join_add(&j, part.b.p, part.b.len);
		output_text_summary_str_free(&part);
	}
	output_text_summary_join_done(&j, out);
	if (out->defined)
		return;
	json = js_json_dumps(v, 2);
	if (strcmp(json, "{}") != 0) {
		buf_adds(&out->b, json);
		out->defined = 1;
	}
	free(json);
}

/* extractOutputText into out. */
static void
text_extract(const json_t *v, int depth, struct text_str *out)
{
	const char	*s;
	size_t		 n;

	if (v == NULL || json_is_null(v))
		return;
	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
		js_trim_end(&s, &n);
		if (n > 0) {
			buf_add(&out->b, s, n);
			out->defined = 1;
		}
		return;
	}
	if (json_is_number(v) || json_is_boolean(v)) {
		js_string_of(&out->b, v);
		out->defined = 1;
		return;
	}
	if (depth >= TEXT_MAX_DEPTH)
		return;
	if (json_is_array(v))
		text_extract_array(v, depth, out);
	else
		text_extract_record(v, depth, out);
}

/* extractOutputText of v. */
void
output_text_extract(const json_t *v, struct text_str *out)
{
	text_extract(v, 0, out);
}

/* limitOutputBlock: CRLF → LF, trim, 28 lines, 2000 units. */
void
output_text_extract_limit(struct buf *out, const char *s, size_t n)
{
	struct buf	 norm = BUF_INITIALIZER, lim = BUF_INITIALIZER;
	const char	*p;
	size_t		 i, lines = 0, total = 1, end;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		buf_addc(&norm, s[i]);
	}
	p = norm.p != NULL ? norm.p : "";
	n = norm.len;
	js_trim(&p, &n);
	if (n == 0) {
		buf_free(&norm);
		return;
	}
	for (i = 0; i < n; i++)
		total += p[i] == '\n';
	end = n;
	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && ++lines == TEXT_MAX_OUTPUT_LINES) {
			end = i;
			break;
		}
	}
	buf_add(&lim, p, end);
	if (total > TEXT_MAX_OUTPUT_LINES)
		buf_printf(&lim, "\n... (%zu more lines)",
		    total - TEXT_MAX_OUTPUT_LINES);
	js_truncate(out, lim.p, lim.len, TEXT_MAX_OUTPUT_CHARS);
	buf_free(&lim);
	buf_free(&norm);
}


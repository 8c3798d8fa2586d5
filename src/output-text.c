#include <config.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "error.h"
#include "json-util.h"
#include "output.h"
#include "output-impl.h"
#include "xmalloc.h"

/*
 * The text renderer (spec acpx-cli.md §4.2): the agent's answer streamed
 * raw, and "sections" for thinking, plans, tool calls, client operations,
 * stop reasons, permission notices/escalations and errors. A section starts
 * on a fresh line, separated from earlier output by one blank line. Tool
 * calls are merged per toolCallId: a non-final status is printed once, a
 * final one (completed/failed) whenever its rendered payload changes.
 * Lengths and cuts are in UTF-16 units and whitespace is JavaScript's, so
 * the bytes match the reference.
 */

#define TEXT_MAX_THOUGHT	900
#define TEXT_MAX_INLINE		220
#define TEXT_MAX_OUTPUT_CHARS	2000
#define TEXT_MAX_OUTPUT_LINES	28
#define TEXT_MAX_LOCATIONS	5
#define TEXT_MAX_DEPTH		4
#define SUPPRESSED_READ_OUTPUT	"[read output suppressed]"

#define ANSI_BOLD	"1"
#define ANSI_DIM	"2"
#define ANSI_RED	"31"
#define ANSI_GREEN	"32"
#define ANSI_YELLOW	"33"

struct text_tool {
	json_t	*id;		/* toolCallId as sent; NULL if absent */
	json_t	*title;		/* last non-blank title string */
	json_t	*status;	/* the fields below: NULL = never sent */
	json_t	*kind;
	json_t	*locations;
	json_t	*raw_input;
	json_t	*raw_output;
	json_t	*content;
	int	 started;	/* the non-final line was printed */
	char	*signature;	/* last printed final payload */
};

struct output_text {
	json_t			 *index;	/* tool key → position in tools */
	struct text_tool	**tools;
	size_t			  ntools;
	size_t			  anon;		/* ids that never match */

	struct obuf		  thought;
	struct obuf		  line;
	struct obuf		  key;
	int			  wrote_any;
	int			  at_line_start;
};

/* A string under construction with "is it defined" (JS undefined). */
struct text_str {
	struct obuf	b;
	int		defined;
};

/* Joins distinct strings with a separator (dedupeStrings + join). */
struct text_join {
	json_t		*seen;
	struct obuf	 out;
	size_t		 count;
	const char	*sep;
};

static void	text_extract(const json_t *, int, struct text_str *);

/* ------------------------------------------------------------ utilities */

static void
text_join_init(struct text_join *j, const char *sep)
{
	j->seen = json_object();
	memset(&j->out, 0, sizeof j->out);
	j->count = 0;
	j->sep = sep;
}

static void
text_join_add(struct text_join *j, const char *s, size_t n)
{
	if (json_object_getn(j->seen, s, n) != NULL)
		return;
	json_object_setn_new_nocheck(j->seen, s, n, json_true());
	if (j->count++ > 0)
		obuf_adds(&j->out, j->sep);
	obuf_add(&j->out, s, n);
}

/* Move the joined text into out (defined only if anything was added). */
static void
text_join_done(struct text_join *j, struct text_str *out)
{
	if (j->count > 0) {
		obuf_add(&out->b, j->out.p, j->out.len);
		out->defined = 1;
	}
	json_decref(j->seen);
	obuf_free(&j->out);
}

static void
text_str_free(struct text_str *s)
{
	obuf_free(&s->b);
	s->defined = 0;
}

/* toInline: collapse whitespace, then truncate to 220 units. */
static void
text_inline(struct obuf *out, const char *s, size_t n)
{
	struct obuf	tmp = { NULL, 0, 0 };

	js_collapse_ws(&tmp, s, n);
	js_truncate(out, tmp.p != NULL ? tmp.p : "", tmp.len, TEXT_MAX_INLINE);
	obuf_free(&tmp);
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

/* ------------------------------------------------------------- writing */

static void
text_write(struct output *o, struct output_text *t, const char *s, size_t n)
{
	if (n == 0)
		return;
	output_out(o, s, n);
	t->wrote_any = 1;
	t->at_line_start = s[n - 1] == '\n';
}

/* Write t->line plus '\n'. */
static void
text_write_line(struct output *o, struct output_text *t)
{
	obuf_addc(&t->line, '\n');
	text_write(o, t, t->line.p, t->line.len);
	obuf_reset(&t->line);
}

static void
text_begin_section(struct output *o, struct output_text *t)
{
	if (!t->at_line_start)
		text_write(o, t, "\n", 1);
	if (t->wrote_any)
		text_write(o, t, "\n", 1);
}

static void
text_ansi_open(struct output *o, struct obuf *b, const char *code)
{
	if (o->opts.color)
		obuf_printf(b, "\033[%sm", code);
}

static void
text_ansi_close(struct output *o, struct obuf *b)
{
	if (o->opts.color)
		obuf_adds(b, "\033[0m");
}

/* Append tag in bold (colour) or plain. */
static void
text_bold(struct output *o, struct obuf *b, const char *tag)
{
	text_ansi_open(o, b, ANSI_BOLD);
	obuf_adds(b, tag);
	text_ansi_close(o, b);
}

/* Append a status word coloured by the status it stands for. */
static void
text_status(struct output *o, struct obuf *b, const char *label,
    const char *status)
{
	const char	*code = ANSI_YELLOW;

	if (strcmp(status, "completed") == 0)
		code = ANSI_GREEN;
	else if (strcmp(status, "failed") == 0)
		code = ANSI_RED;
	text_ansi_open(o, b, code);
	obuf_adds(b, label);
	text_ansi_close(o, b);
}

/* Write each line of s as prefix + line (indentBlock + writeLine). */
static void
text_write_block(struct output *o, struct output_text *t, const char *s,
    size_t n, const char *prefix)
{
	const char	*nl;

	for (;;) {
		nl = memchr(s, '\n', n);
		obuf_adds(&t->line, prefix);
		obuf_add(&t->line, s, nl != NULL ? (size_t)(nl - s) : n);
		if (nl == NULL)
			break;
		obuf_addc(&t->line, '\n');
		n -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
	text_write_line(o, t);
}

/* ------------------------------------------------------------ thinking */

static void
text_flush_thought(struct output *o, struct output_text *t)
{
	struct obuf	 norm = { NULL, 0, 0 }, cut = { NULL, 0, 0 };
	const char	*s, *p, *nl;
	size_t		 i, n;
	int		 first = 1;

	if (t->thought.len == 0)
		return;
	/* \r\n? → \n */
	s = t->thought.p;
	for (i = 0; i < t->thought.len; i++) {
		if (s[i] != '\r') {
			obuf_addc(&norm, s[i]);
			continue;
		}
		obuf_addc(&norm, '\n');
		if (i + 1 < t->thought.len && s[i + 1] == '\n')
			i++;
	}
	obuf_reset(&t->thought);
	s = norm.p;
	n = norm.len;
	js_trim(&s, &n);
	js_truncate(&cut, s, n, TEXT_MAX_THOUGHT);
	obuf_free(&norm);
	if (cut.len == 0) {
		obuf_free(&cut);
		return;
	}
	text_begin_section(o, t);
	p = cut.p;
	n = cut.len;
	for (;;) {
		nl = memchr(p, '\n', n);
		text_ansi_open(o, &t->line, ANSI_DIM);
		obuf_adds(&t->line, first ? "[thinking] " : "           ");
		obuf_add(&t->line, p, nl != NULL ? (size_t)(nl - p) : n);
		text_ansi_close(o, &t->line);
		text_write_line(o, t);
		first = 0;
		if (nl == NULL)
			break;
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	obuf_free(&cut);
}

/* --------------------------------------------------------- tool summary */

/* summarizeToolInput into out; out->defined = 0 for undefined. */
static void
text_tool_input(const json_t *v, struct text_str *out)
{
	static const char *const cmd_keys[] = { "command", "cmd", "program",
	    NULL };
	static const char *const arg_keys[] = { "args", "arguments", NULL };
	static const char *const loc_keys[] = { "path", "file", "filePath",
	    "filepath", "target", "uri", "url", NULL };
	static const char *const query_keys[] = { "query", "pattern", "text",
	    "search", NULL };
	struct obuf	 tmp = { NULL, 0, 0 };
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
		obuf_free(&tmp);
		return;
	}
	if (json_is_object(v)) {
		if (text_first_string(v, cmd_keys, &s, &n)) {
			obuf_add(&tmp, s, n);
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
					obuf_addc(&tmp, ' ');
					obuf_add(&tmp, es, en);
				}
				break;
			}
			text_inline(&out->b, tmp.p, tmp.len);
			obuf_free(&tmp);
			return;
		}
		if (text_first_string(v, loc_keys, &s, &n) ||
		    text_first_string(v, query_keys, &s, &n)) {
			text_inline(&out->b, s, n);
			return;
		}
	}
	json = json_dumps_js(v, 0);
	text_inline(&out->b, json, strlen(json));
	free(json);
}

/* formatLocations: unique path[:line], 5 shown, then ", +N more". */
static void
text_tool_files(const json_t *locs, struct text_str *out)
{
	struct text_join	 j;
	struct obuf		 item = { NULL, 0, 0 };
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
	text_join_init(&j, ", ");
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
		obuf_reset(&item);
		obuf_add(&item, s, n);
		line = json_object_get(loc, "line");
		if (json_is_integer(line)) {
			obuf_addc(&item, ':');
			if (json_integer_value(line) < 1)
				obuf_addc(&item, '1');
			else
				js_string_of(&item, line);
		} else if (json_is_real(line) && isfinite(json_real_value(line))) {
			d = json_real_value(line);
			/* Math.trunc without libm: doubles >= 2^52 are integral. */
			if (d > -4503599627370496.0 && d < 4503599627370496.0)
				d = (double)(long long)d;
			json_js_number(d < 1 ? 1 : d, num, sizeof num);
			obuf_addc(&item, ':');
			obuf_adds(&item, num);
		}
		json_object_setn_new_nocheck(seen, item.p, item.len,
		    json_true());
	}
	total = json_object_size(seen);
	json_object_keylen_foreach(seen, key, klen, val) {
		if (shown == TEXT_MAX_LOCATIONS)
			break;
		text_join_add(&j, key, klen);
		shown++;
	}
	if (total > shown)
		obuf_printf(&j.out, ", +%zu more", total - shown);
	json_decref(seen);
	obuf_free(&item);
	text_join_done(&j, out);
}

/* String(v) of a field for a template literal. */
static void
text_field(struct obuf *b, const json_t *obj, const char *key)
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
		obuf_add(&out->b, json_string_value(v), json_string_length(v));
		out->defined = 1;
	} else if (strcmp(type, "resource_link") == 0) {
		v = json_object_get(c, "title");
		if (v == NULL || json_is_null(v))
			v = json_object_get(c, "name");
		if (v == NULL || json_is_null(v))
			v = json_object_get(c, "uri");
		if (!json_is_string(v))
			return;
		obuf_add(&out->b, json_string_value(v), json_string_length(v));
		out->defined = 1;
	} else if (strcmp(type, "resource") == 0) {
		res = json_object_get(c, "resource");
		if (!json_is_object(res))
			return;
		out->defined = 1;
		v = json_object_get(res, "text");
		if (json_is_string(v)) {
			obuf_add(&out->b, json_string_value(v),
			    json_string_length(v));
			return;
		}
		obuf_adds(&out->b, "[resource] ");
		text_field(&out->b, res, "uri");
		v = json_object_get(res, "mimeType");
		if (js_truthy(v)) {
			obuf_adds(&out->b, " (");
			js_string_of(&out->b, v);
			obuf_addc(&out->b, ')');
		}
	} else if (strcmp(type, "image") == 0 || strcmp(type, "audio") == 0) {
		obuf_printf(&out->b, "[%s] ", type);
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
	struct text_str	 block = { { NULL, 0, 0 }, 0 };
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
				obuf_add(&out->b, s, n);
				out->defined = 1;
			}
		}
		text_str_free(&block);
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
		obuf_adds(&out->b, "diff ");
		text_field(&out->b, e, "path");
		if (delta == 0)
			obuf_adds(&out->b, " (line count unchanged)");
		else
			obuf_printf(&out->b, " (%s%lld lines)",
			    delta > 0 ? "+" : "", delta);
		out->defined = 1;
	} else if (strcmp(type, "terminal") == 0) {
		obuf_adds(&out->b, "[terminal] ");
		text_field(&out->b, e, "terminalId");
		out->defined = 1;
	}
}

/* summarizeToolContent: trimmed, distinct fragments joined by blank lines. */
static void
text_tool_content(const json_t *content, struct text_str *out)
{
	struct text_join	 j;
	struct text_str		 frag;
	const json_t		*e;
	const char		*s;
	size_t			 i, n;

	if (!json_is_array(content) || json_array_size(content) == 0)
		return;
	text_join_init(&j, "\n\n");
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
				text_join_add(&j, s, n);
		}
		text_str_free(&frag);
	}
	text_join_done(&j, out);
}

static void
text_extract_array(const json_t *v, int depth, struct text_str *out)
{
	struct text_join	 j;
	struct text_str		 part;
	const json_t		*e;
	size_t			 i;

	text_join_init(&j, "\n");
	json_array_foreach(v, i, e) {
		memset(&part, 0, sizeof part);
		text_extract(e, depth + 1, &part);
		if (part.defined && part.b.len > 0)
			text_join_add(&j, part.b.p, part.b.len);
		text_str_free(&part);
	}
	text_join_done(&j, out);
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

	text_join_init(&j, "\n");
	for (i = 0; i < nitems(keys); i++) {
		if ((e = json_object_get(v, keys[i])) == NULL)
			continue;
		memset(&part, 0, sizeof part);
		text_extract(e, depth + 1, &part);
		if (part.defined && part.b.len > 0)
			text_join_add(&j, part.b.p, part.b.len);
		text_str_free(&part);
	}
	text_join_done(&j, out);
	if (out->defined)
		return;
	json = json_dumps_js(v, 2);
	if (strcmp(json, "{}") != 0) {
		obuf_adds(&out->b, json);
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
			obuf_add(&out->b, s, n);
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

/* renderToolOutput: suppressed, or raw output + content fragments. */
static void
text_tool_output(struct output *o, const struct text_tool *tool,
    struct text_str *out)
{
	struct text_join	 j;
	struct text_str		 raw = { { NULL, 0, 0 }, 0 };
	struct text_str		 content = { { NULL, 0, 0 }, 0 };
	const char		*s;
	size_t			 n;

	if (o->opts.suppress_reads &&
	    output_tool_read_like(tool->kind, tool->title)) {
		obuf_adds(&out->b, SUPPRESSED_READ_OUTPUT);
		out->defined = 1;
		return;
	}
	text_extract(tool->raw_output, 0, &raw);
	text_tool_content(tool->content, &content);
	text_join_init(&j, "\n\n");
	if (raw.defined) {
		s = raw.b.p;
		n = raw.b.len;
		js_trim(&s, &n);
		if (n > 0)
			text_join_add(&j, s, n);
	}
	if (content.defined) {
		s = content.b.p;
		n = content.b.len;
		js_trim(&s, &n);
		if (n > 0)
			text_join_add(&j, s, n);
	}
	text_join_done(&j, out);
	text_str_free(&raw);
	text_str_free(&content);
}

/* limitOutputBlock: CRLF → LF, trim, 28 lines, 2000 units. */
static void
text_limit_output(struct obuf *out, const char *s, size_t n)
{
	struct obuf	 norm = { NULL, 0, 0 }, lim = { NULL, 0, 0 };
	const char	*p;
	size_t		 i, lines = 0, total = 1, end;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		obuf_addc(&norm, s[i]);
	}
	p = norm.p != NULL ? norm.p : "";
	n = norm.len;
	js_trim(&p, &n);
	if (n == 0) {
		obuf_free(&norm);
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
	obuf_add(&lim, p, end);
	if (total > TEXT_MAX_OUTPUT_LINES)
		obuf_printf(&lim, "\n... (%zu more lines)",
		    total - TEXT_MAX_OUTPUT_LINES);
	js_truncate(out, lim.p, lim.len, TEXT_MAX_OUTPUT_CHARS);
	obuf_free(&lim);
	obuf_free(&norm);
}

/* ---------------------------------------------------------------- tools */

static void
text_tool_free(struct text_tool *tool)
{
	json_decref(tool->id);
	json_decref(tool->title);
	json_decref(tool->status);
	json_decref(tool->kind);
	json_decref(tool->locations);
	json_decref(tool->raw_input);
	json_decref(tool->raw_output);
	json_decref(tool->content);
	free(tool->signature);
	free(tool);
}

/* The Map key of a toolCallId: objects never compare equal. */
static void
text_tool_key(struct output_text *t, const json_t *id)
{
	obuf_reset(&t->key);
	if (id == NULL)
		obuf_adds(&t->key, "u");
	else if (json_is_string(id)) {
		obuf_adds(&t->key, "s:");
		obuf_add(&t->key, json_string_value(id), json_string_length(id));
	} else if (json_is_number(id)) {
		obuf_adds(&t->key, "n:");
		js_string_of(&t->key, id);
	} else if (json_is_boolean(id) || json_is_null(id)) {
		obuf_adds(&t->key, "l:");
		js_string_of(&t->key, id);
	} else
		obuf_printf(&t->key, "o:%zu", t->anon++);
}

static struct text_tool *
text_tool_get(struct output_text *t, const json_t *id)
{
	struct text_tool	*tool;
	json_t			*pos;

	text_tool_key(t, id);
	pos = json_object_getn(t->index, t->key.p, t->key.len);
	if (pos != NULL)
		return (t->tools[json_integer_value(pos)]);
	tool = xcalloc(1, sizeof *tool);
	if (id != NULL)
		tool->id = json_incref((json_t *)id);
	t->tools = xreallocarray(t->tools, t->ntools + 1, sizeof *t->tools);
	t->tools[t->ntools] = tool;
	json_object_setn_new_nocheck(t->index, t->key.p, t->key.len,
	    json_integer((json_int_t)t->ntools));
	t->ntools++;
	return (tool);
}

/* Replace *slot with update[key] if the update has that key. */
static void
text_tool_merge(json_t **slot, const json_t *update, const char *key)
{
	json_t	*v;

	if ((v = json_object_get(update, key)) == NULL)
		return;
	json_decref(*slot);
	*slot = json_incref(v);
}

static int
text_status_is(const json_t *status, const char *word)
{
	return (json_is_string(status) &&
	    strcmp(json_string_value(status), word) == 0);
}

static void
text_render_tool(struct output *o, struct output_text *t,
    struct text_tool *tool, int final, const struct text_str *input,
    const struct text_str *files, const struct text_str *output)
{
	struct obuf	 lim = { NULL, 0, 0 };
	const char	*status, *label;

	status = json_is_string(tool->status) ?
	    json_string_value(tool->status) : "unknown";
	if (final || strcmp(status, "pending") == 0)
		label = status;
	else
		label = "running";
	text_begin_section(o, t);
	text_bold(o, &t->line, "[tool]");
	obuf_addc(&t->line, ' ');
	if (tool->title != NULL)
		js_string_of(&t->line, tool->title);
	else
		js_string_of(&t->line, tool->id);
	obuf_adds(&t->line, " (");
	text_status(o, &t->line, label, status);
	obuf_addc(&t->line, ')');
	text_write_line(o, t);
	if (final && js_truthy(tool->kind)) {
		obuf_adds(&t->line, "  kind: ");
		js_string_of(&t->line, tool->kind);
		text_write_line(o, t);
	}
	if (input->defined && input->b.len > 0) {
		obuf_adds(&t->line, "  input: ");
		obuf_add(&t->line, input->b.p, input->b.len);
		text_write_line(o, t);
	}
	if (files->defined && files->b.len > 0) {
		obuf_adds(&t->line, "  files: ");
		obuf_add(&t->line, files->b.p, files->b.len);
		text_write_line(o, t);
	}
	if (output->defined && output->b.len > 0) {
		obuf_adds(&t->line, "  output:");
		text_write_line(o, t);
		text_limit_output(&lim, output->b.p, output->b.len);
		text_write_block(o, t, lim.p != NULL ? lim.p : "", lim.len,
		    "    ");
		obuf_free(&lim);
	}
}

/* The JSON of the final payload, to print a final status only on change. */
static char *
text_tool_signature(const struct text_tool *tool,
    const struct text_str *input, const struct text_str *files,
    const struct text_str *output)
{
	json_t	*p;
	char	*s;

	p = json_object();
	if (tool->title != NULL)
		json_object_set(p, "title", tool->title);
	if (tool->status != NULL)
		json_object_set(p, "status", tool->status);
	if (tool->kind != NULL)
		json_object_set(p, "kind", tool->kind);
	if (input->defined)
		json_object_set_new(p, "input", json_stringn_nocheck(
		    input->b.p != NULL ? input->b.p : "", input->b.len));
	if (files->defined)
		json_object_set_new(p, "files", json_stringn_nocheck(
		    files->b.p != NULL ? files->b.p : "", files->b.len));
	if (output->defined)
		json_object_set_new(p, "output", json_stringn_nocheck(
		    output->b.p != NULL ? output->b.p : "", output->b.len));
	s = json_dumps_js(p, 0);
	json_decref(p);
	return (s);
}

static void
text_tool_update(struct output *o, struct output_text *t, const json_t *u)
{
	struct text_tool	*tool;
	struct text_str		 input = { { NULL, 0, 0 }, 0 };
	struct text_str		 files = { { NULL, 0, 0 }, 0 };
	struct text_str		 output = { { NULL, 0, 0 }, 0 };
	const json_t		*title;
	const char		*s;
	size_t			 n;
	char			*sig;
	int			 final;

	tool = text_tool_get(t, json_object_get(u, "toolCallId"));
	title = json_object_get(u, "title");
	if (json_is_string(title)) {
		s = json_string_value(title);
		n = json_string_length(title);
		js_trim(&s, &n);
		if (n > 0) {
			json_decref(tool->title);
			tool->title = json_incref((json_t *)title);
		}
	}
	text_tool_merge(&tool->status, u, "status");
	text_tool_merge(&tool->kind, u, "kind");
	text_tool_merge(&tool->locations, u, "locations");
	text_tool_merge(&tool->raw_input, u, "rawInput");
	text_tool_merge(&tool->raw_output, u, "rawOutput");
	text_tool_merge(&tool->content, u, "content");

	final = text_status_is(tool->status, "completed") ||
	    text_status_is(tool->status, "failed");
	if (!final && tool->started)
		return;
	text_tool_input(tool->raw_input, &input);
	text_tool_files(tool->locations, &files);
	if (final) {
		text_tool_output(o, tool, &output);
		sig = text_tool_signature(tool, &input, &files, &output);
		if (tool->signature != NULL &&
		    strcmp(sig, tool->signature) == 0) {
			free(sig);
			goto out;
		}
		free(tool->signature);
		tool->signature = sig;
	} else
		tool->started = 1;
	text_render_tool(o, t, tool, final, &input, &files, &output);
out:
	text_str_free(&input);
	text_str_free(&files);
	text_str_free(&output);
}

/* ------------------------------------------------------------- sections */

static void
text_plan(struct output *o, struct output_text *t, const json_t *u)
{
	const json_t	*e, *v;
	size_t		 i;

	text_begin_section(o, t);
	text_bold(o, &t->line, "[plan]");
	text_write_line(o, t);
	json_array_foreach(json_object_get(u, "entries"), i, e) {
		obuf_adds(&t->line, "  - [");
		v = json_object_get(e, "status");
		obuf_add(&t->line, json_string_value(v), json_string_length(v));
		obuf_adds(&t->line, "] ");
		v = json_object_get(e, "content");
		obuf_add(&t->line, json_string_value(v), json_string_length(v));
		text_write_line(o, t);
	}
}

static void
text_session_update(struct output *o, struct output_text *t, const json_t *u)
{
	const char	*kind;
	const json_t	*c, *text;
	int		 thought;

	kind = json_string_value(json_object_get(u, "sessionUpdate"));
	thought = strcmp(kind, "agent_thought_chunk") == 0;
	if (!thought)
		text_flush_thought(o, t);
	if (thought || strcmp(kind, "agent_message_chunk") == 0) {
		c = json_object_get(u, "content");
		if (strcmp(json_string_value(json_object_get(c, "type")),
		    "text") != 0)
			return;
		text = json_object_get(c, "text");
		if (thought)
			obuf_add(&t->thought, json_string_value(text),
			    json_string_length(text));
		else
			text_write(o, t, json_string_value(text),
			    json_string_length(text));
	} else if (strcmp(kind, "tool_call") == 0 ||
	    strcmp(kind, "tool_call_update") == 0)
		text_tool_update(o, t, u);
	else if (strcmp(kind, "plan") == 0)
		text_plan(o, t, u);
}

/* "[error] CODE: message" in red, then the hints dimmed. */
static void
text_error_section(struct output *o, struct output_text *t,
    const struct acpx_error *err)
{
	char		*hints, *p, *nl;

	text_flush_thought(o, t);
	text_begin_section(o, t);
	text_ansi_open(o, &t->line, ANSI_RED);
	obuf_printf(&t->line, "[error] %s: %s", acpx_code_name(err->code),
	    err->message);
	text_ansi_close(o, &t->line);
	text_write_line(o, t);
	if ((hints = acpx_error_hints(err, o->opts.agent_name)) == NULL)
		return;
	for (p = hints; p != NULL; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		text_ansi_open(o, &t->line, ANSI_DIM);
		obuf_adds(&t->line, p);
		text_ansi_close(o, &t->line);
		text_write_line(o, t);
	}
	free(hints);
}

/* An error response in either direction: "[error] RUNTIME: <details|message>". */
static void
text_error_response(struct output *o, struct output_text *t,
    const json_t *msg, const json_t *message)
{
	struct acpx_error	*err;
	const json_t		*details;
	const char		*s = json_string_value(message), *d;
	size_t			 n;

	details = json_object_get(json_object_get(json_object_get(msg,
	    "error"), "data"), "details");
	if (json_is_object(json_object_get(json_object_get(msg, "error"),
	    "data")) && json_is_string(details)) {
		d = json_string_value(details);
		n = json_string_length(details);
		js_trim(&d, &n);
		if (n > 0) {
			err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "acp",
			    "%.*s", (int)n, d);
			goto render;
		}
	}
	err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "acp", "%s", s);
render:
	text_error_section(o, t, err);
	acpx_error_free(err);
}

static void
text_escalation_line(struct output *o, struct output_text *t,
    const char *label, const json_t *v)
{
	struct obuf	val = { NULL, 0, 0 };

	js_string_of(&val, v);
	obuf_printf(&t->line, "%s: ", label);
	obuf_add(&t->line, val.p, val.len);
	obuf_free(&val);
}

/* The permission escalation section (policy "escalate", no TTY). */
static void
text_escalation(struct output *o, struct output_text *t, const json_t *ev)
{
	struct obuf	 details = { NULL, 0, 0 };
	struct text_str	 input = { { NULL, 0, 0 }, 0 };
	const json_t	*v;

	text_flush_thought(o, t);
	text_begin_section(o, t);
	text_bold(o, &t->line, "[permission]");
	obuf_addc(&t->line, ' ');
	js_string_of(&t->line, json_object_get(ev, "message"));
	text_write_line(o, t);

	/* Build the detail lines in t->line, then indent them as a block. */
	text_escalation_line(o, t, "sessionId", json_object_get(ev,
	    "sessionId"));
	obuf_addc(&t->line, '\n');
	text_escalation_line(o, t, "toolCallId", json_object_get(ev,
	    "toolCallId"));
	if (js_truthy(v = json_object_get(ev, "toolName"))) {
		obuf_addc(&t->line, '\n');
		text_escalation_line(o, t, "toolName", v);
	}
	obuf_addc(&t->line, '\n');
	text_escalation_line(o, t, "toolTitle", json_object_get(ev,
	    "toolTitle"));
	if ((v = json_object_get(ev, "toolInput")) != NULL) {
		text_tool_input(v, &input);
		obuf_adds(&t->line, "\ntoolInput: ");
		if (input.defined)
			obuf_add(&t->line, input.b.p, input.b.len);
		else
			obuf_adds(&t->line, "(structured input)");
		text_str_free(&input);
	}
	if (js_truthy(v = json_object_get(ev, "toolKind"))) {
		obuf_addc(&t->line, '\n');
		text_escalation_line(o, t, "toolKind", v);
	}
	if (js_truthy(v = json_object_get(ev, "matchedRule"))) {
		obuf_addc(&t->line, '\n');
		text_escalation_line(o, t, "matchedRule", v);
	}
	obuf_add(&details, t->line.p, t->line.len);
	obuf_reset(&t->line);
	text_write_block(o, t, details.p, details.len, "  ");
	obuf_free(&details);
}

/* --------------------------------------------------------------- hooks */

static void *
output_text_create(struct output *o)
{
	struct output_text	*t;

	t = xcalloc(1, sizeof *t);
	t->index = json_object();
	t->at_line_start = 1;
	return (t);
}

static void
output_text_free(void *arg)
{
	struct output_text	*t = arg;
	size_t			 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ntools; i++)
		text_tool_free(t->tools[i]);
	free(t->tools);
	json_decref(t->index);
	obuf_free(&t->thought);
	obuf_free(&t->line);
	obuf_free(&t->key);
	free(t);
}

static void
output_text_message(struct output *o, void *arg, const json_t *msg,
    enum output_dir dir)
{
	struct output_text	*t = arg;
	const json_t		*v;
	struct obuf		 method = { NULL, 0, 0 };

	if ((v = output_msg_permission_escalation(msg)) != NULL)
		text_escalation(o, t, v);
	if ((v = output_msg_permission_notice(msg)) != NULL) {
		text_begin_section(o, t);
		text_bold(o, &t->line, "[permission]");
		obuf_addc(&t->line, ' ');
		obuf_add(&t->line, json_string_value(v), json_string_length(v));
		text_write_line(o, t);
	} else if ((v = output_msg_session_update(msg)) != NULL)
		text_session_update(o, t, v);
	else if (output_msg_method(msg, &method) && method.len > 0 &&
	    strcmp(method.p, "session/prompt") != 0 &&
	    strcmp(method.p, "session/cancel") != 0 &&
	    strcmp(method.p, "session/update") != 0) {
		text_flush_thought(o, t);
		text_begin_section(o, t);
		text_bold(o, &t->line, "[client]");
		obuf_addc(&t->line, ' ');
		obuf_add(&t->line, method.p, method.len);
		obuf_adds(&t->line, " (");
		text_status(o, &t->line, "running", "in_progress");
		obuf_addc(&t->line, ')');
		text_write_line(o, t);
	} else if ((v = output_msg_stop_reason(msg)) != NULL) {
		text_flush_thought(o, t);
		text_begin_section(o, t);
		text_ansi_open(o, &t->line, ANSI_DIM);
		obuf_adds(&t->line, "[done] ");
		obuf_add(&t->line, json_string_value(v), json_string_length(v));
		text_ansi_close(o, &t->line);
		text_write_line(o, t);
	} else if ((v = output_msg_error_message(msg)) != NULL)
		text_error_response(o, t, msg, v);
	obuf_free(&method);
	output_out_flush(o);
}

static void
output_text_turn_error(struct output *o, void *arg,
    const struct acpx_error *err)
{
	text_error_section(o, arg, err);
	output_out_flush(o);
}

static void
output_text_turn_end(struct output *o, void *arg)
{
	struct output_text	*t = arg;

	text_flush_thought(o, t);
	if (!t->at_line_start)
		text_write(o, t, "\n", 1);
	output_out_flush(o);
}

/* Top-level: stderr "<message>" then the hint lines (not dimmed). */
static void
output_text_error(struct output *o, void *arg, const struct acpx_error *err)
{
	struct obuf	 b = { NULL, 0, 0 };
	char		*hints;

	if (o->opts.json_strict)
		return;
	obuf_adds(&b, err->message);
	obuf_addc(&b, '\n');
	if ((hints = acpx_error_hints(err, o->opts.agent_name)) != NULL) {
		obuf_adds(&b, hints);
		obuf_addc(&b, '\n');
		free(hints);
	}
	output_err(o, b.p, b.len);
	obuf_free(&b);
}

const struct output_renderer output_text_renderer = {
	output_text_create,
	output_text_free,
	output_text_message,
	output_text_turn_error,
	output_text_turn_end,
	output_text_error
};

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "js-json.h"
#include "output.h"
#include "output-impl.h"
#include "output-text-impl.h"
#include "xmalloc.h"

/*
 * Tool calls in the text renderer: tool_call and tool_call_update merged
 * per toolCallId; a non-final status is printed once, a final one
 * (completed/failed) whenever its rendered payload changes. Also the
 * permission escalation section, which summarises a tool's input.
 */

#define SUPPRESSED_READ_OUTPUT	"[read output suppressed]"

/* renderToolOutput: suppressed, or raw output + content fragments. */
static void
text_tool_output(struct output *o, const struct text_tool *tool,
    struct text_str *out)
{
	struct text_join	 j;
	struct text_str		 raw = { BUF_INITIALIZER, 0 };
	struct text_str		 content = { BUF_INITIALIZER, 0 };
	const char		*s;
	size_t			 n;

	if (o->opts.suppress_reads &&
	    output_tool_read_like(tool->kind, tool->title)) {
		buf_adds(&out->b, SUPPRESSED_READ_OUTPUT);
		out->defined = 1;
		return;
	}
	output_text_extract(tool->raw_output, &raw);
	output_text_extract_content(tool->content, &content);
	output_text_summary_join_init(&j, "\n\n");
	if (raw.defined) {
		s = raw.b.p;
		n = raw.b.len;
		js_trim(&s, &n);
		if (n > 0)
			output_text_summary_join_add(&j, s, n);
	}
	if (content.defined) {
		s = content.b.p;
		n = content.b.len;
		js_trim(&s, &n);
		if (n > 0)
			output_text_summary_join_add(&j, s, n);
	}
	output_text_summary_join_done(&j, out);
	output_text_summary_str_free(&raw);
	output_text_summary_str_free(&content);
}

/* ---------------------------------------------------------------- tools */

void
output_text_tool_free(struct text_tool *tool)
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
	buf_reset(&t->key);
	if (id == NULL)
		buf_adds(&t->key, "u");
	else if (json_is_string(id)) {
		buf_adds(&t->key, "s:");
		buf_add(&t->key, json_string_value(id), json_string_length(id));
	} else if (json_is_number(id)) {
		buf_adds(&t->key, "n:");
		js_string_of(&t->key, id);
	} else if (json_is_boolean(id) || json_is_null(id)) {
		buf_adds(&t->key, "l:");
		js_string_of(&t->key, id);
	} else
		buf_printf(&t->key, "o:%zu", t->anon++);
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

/* Replace *slot with v if the update has that member (v not NULL). */
static void
text_tool_merge(json_t **slot, const json_t *v)
{
	if (v == NULL)
		return;
	json_decref(*slot);
	*slot = json_incref((json_t *)v);
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
	struct buf	 lim = BUF_INITIALIZER;
	const char	*status, *label;

	status = json_is_string(tool->status) ?
	    json_string_value(tool->status) : "unknown";
	if (final || strcmp(status, "pending") == 0)
		label = status;
	else
		label = "running";
	output_text_write_section(o, t);
	output_text_write_bold(o, &t->line, "[tool]");
	buf_addc(&t->line, ' ');
	if (tool->title != NULL)
		js_string_of(&t->line, tool->title);
	else
		js_string_of(&t->line, tool->id);
	buf_adds(&t->line, " (");
	output_text_write_status(o, &t->line, label, status);
	buf_addc(&t->line, ')');
	output_text_write_line(o, t);
	if (final && js_truthy(tool->kind)) {
		buf_adds(&t->line, "  kind: ");
		js_string_of(&t->line, tool->kind);
		output_text_write_line(o, t);
	}
	if (input->defined && input->b.len > 0) {
		buf_adds(&t->line, "  input: ");
		buf_add(&t->line, input->b.p, input->b.len);
		output_text_write_line(o, t);
	}
	if (files->defined && files->b.len > 0) {
		buf_adds(&t->line, "  files: ");
		buf_add(&t->line, files->b.p, files->b.len);
		output_text_write_line(o, t);
	}
	if (output->defined && output->b.len > 0) {
		buf_adds(&t->line, "  output:");
		output_text_write_line(o, t);
		output_text_extract_limit(&lim, output->b.p, output->b.len);
		output_text_write_block(o, t, lim.p != NULL ? lim.p : "",
		    lim.len, "    ");
		buf_free(&lim);
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
	s = js_json_dumps(p, 0);
	json_decref(p);
	return (s);
}

void
output_text_tool_update(struct output *o, struct output_text *t,
    const struct acp_update *ev)
{
	struct text_tool	*tool;
	struct text_str		 input = { BUF_INITIALIZER, 0 };
	struct text_str		 files = { BUF_INITIALIZER, 0 };
	struct text_str		 output = { BUF_INITIALIZER, 0 };
	const json_t		*title;
	const char		*s;
	size_t			 n;
	char			*sig;
	int			 final;

	tool = text_tool_get(t, ev->tool_call_id);
	title = ev->title;
	if (json_is_string(title)) {
		s = json_string_value(title);
		n = json_string_length(title);
		js_trim(&s, &n);
		if (n > 0) {
			json_decref(tool->title);
			tool->title = json_incref((json_t *)title);
		}
	}
	text_tool_merge(&tool->status, ev->status);
	text_tool_merge(&tool->kind, ev->tool_kind);
	text_tool_merge(&tool->locations, ev->locations);
	text_tool_merge(&tool->raw_input, ev->raw_input);
	text_tool_merge(&tool->raw_output, ev->raw_output);
	text_tool_merge(&tool->content, ev->content);

	final = text_status_is(tool->status, "completed") ||
	    text_status_is(tool->status, "failed");
	if (!final && tool->started)
		return;
	output_text_summary_input(tool->raw_input, &input);
	output_text_summary_files(tool->locations, &files);
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
	output_text_summary_str_free(&input);
	output_text_summary_str_free(&files);
	output_text_summary_str_free(&output);
}

/* ---------------------------------------------------------- escalation */

static void
text_escalation_line(struct output *o, struct output_text *t,
    const char *label, const json_t *v)
{
	struct buf	val = BUF_INITIALIZER;

	js_string_of(&val, v);
	buf_printf(&t->line, "%s: ", label);
	buf_add(&t->line, val.p, val.len);
	buf_free(&val);
}

/* The permission escalation section (policy "escalate", no TTY). */
void
output_text_tool_escalation(struct output *o, struct output_text *t,
    const json_t *ev)
{
	struct buf	 details = BUF_INITIALIZER;
	struct text_str	 input = { BUF_INITIALIZER, 0 };
	const json_t	*v;

	output_text_flush_thought(o, t);
	output_text_write_section(o, t);
	output_text_write_bold(o, &t->line, "[permission]");
	buf_addc(&t->line, ' ');
	js_string_of(&t->line, json_object_get(ev, "message"));
	output_text_write_line(o, t);

	/* Build the detail lines in t->line, then indent them as a block. */
	text_escalation_line(o, t, "sessionId", json_object_get(ev,
	    "sessionId"));
	buf_addc(&t->line, '\n');
	text_escalation_line(o, t, "toolCallId", json_object_get(ev,
	    "toolCallId"));
	if (js_truthy(v = json_object_get(ev, "toolName"))) {
		buf_addc(&t->line, '\n');
		text_escalation_line(o, t, "toolName", v);
	}
	buf_addc(&t->line, '\n');
	text_escalation_line(o, t, "toolTitle", json_object_get(ev,
	    "toolTitle"));
	if ((v = json_object_get(ev, "toolInput")) != NULL) {
		output_text_summary_input(v, &input);
		buf_adds(&t->line, "\ntoolInput: ");
		if (input.defined)
			buf_add(&t->line, input.b.p, input.b.len);
		else
			buf_adds(&t->line, "(structured input)");
		output_text_summary_str_free(&input);
	}
	if (js_truthy(v = json_object_get(ev, "toolKind"))) {
		buf_addc(&t->line, '\n');
		text_escalation_line(o, t, "toolKind", v);
	}
	if (js_truthy(v = json_object_get(ev, "matchedRule"))) {
		buf_addc(&t->line, '\n');
		text_escalation_line(o, t, "matchedRule", v);
	}
	buf_add(&details, t->line.p, t->line.len);
	buf_reset(&t->line);
	output_text_write_block(o, t, details.p, details.len, "  ");
	buf_free(&details);
}


#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "output.h"
#include "output-impl.h"
#include "output-text-impl.h"
#include "xmalloc.h"

/*
 * The text renderer (spec acpx-cli.md §4.2): the agent's answer streamed
 * raw, and "sections" for thinking, plans, tool calls, client operations,
 * stop reasons, permission notices/escalations and errors. A section starts
 * on a fresh line, separated from earlier output by one blank line. Tool
 * calls are merged per toolCallId (output-text-tool.c).
 * Lengths and cuts are in UTF-16 units and whitespace is JavaScript's, so
 * the bytes match the reference.
 */

#define TEXT_MAX_THOUGHT	900

/* ------------------------------------------------------------ thinking */

void
output_text_flush_thought(struct output *o, struct output_text *t)
{
	struct buf	 norm = BUF_INITIALIZER, cut = BUF_INITIALIZER;
	const char	*s, *p, *nl;
	size_t		 i, n;
	int		 first = 1;

	if (t->thought.len == 0)
		return;
	/* \r\n? → \n */
	s = t->thought.p;
	for (i = 0; i < t->thought.len; i++) {
		if (s[i] != '\r') {
			buf_addc(&norm, s[i]);
			continue;
		}
		buf_addc(&norm, '\n');
		if (i + 1 < t->thought.len && s[i + 1] == '\n')
			i++;
	}
	buf_reset(&t->thought);
	s = norm.p;
	n = norm.len;
	js_trim(&s, &n);
	js_truncate(&cut, s, n, TEXT_MAX_THOUGHT);
	buf_free(&norm);
	if (cut.len == 0) {
		buf_free(&cut);
		return;
	}
	output_text_write_section(o, t);
	p = cut.p;
	n = cut.len;
	for (;;) {
		nl = memchr(p, '\n', n);
		output_text_write_ansi_open(o, &t->line, ANSI_DIM);
		buf_adds(&t->line, first ? "[thinking] " : "           ");
		buf_add(&t->line, p, nl != NULL ? (size_t)(nl - p) : n);
		output_text_write_ansi_close(o, &t->line);
		output_text_write_line(o, t);
		first = 0;
		if (nl == NULL)
			break;
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
	buf_free(&cut);
}

/* ------------------------------------------------------------- sections */

static void
text_plan(struct output *o, struct output_text *t, const json_t *entries)
{
	const json_t	*e, *v;
	size_t		 i;

	output_text_write_section(o, t);
	output_text_write_bold(o, &t->line, "[plan]");
	output_text_write_line(o, t);
	json_array_foreach(entries, i, e) {
		buf_adds(&t->line, "  - [");
		v = json_object_get(e, "status");
		buf_add(&t->line, json_string_value(v), json_string_length(v));
		buf_adds(&t->line, "] ");
		v = json_object_get(e, "content");
		buf_add(&t->line, json_string_value(v), json_string_length(v));
		output_text_write_line(o, t);
	}
}

/* A well-formed update: chunks of text, tool calls and plans show. */
static void
text_session_update(struct output *o, struct output_text *t,
    const struct acp_update *ev)
{
	if (ev->kind != ACP_UPDATE_AGENT_THOUGHT_CHUNK)
		output_text_flush_thought(o, t);
	switch (ev->kind) {
	case ACP_UPDATE_AGENT_THOUGHT_CHUNK:
		if (ev->text != NULL)
			buf_add(&t->thought, ev->text, ev->text_len);
		break;
	case ACP_UPDATE_AGENT_MESSAGE_CHUNK:
		if (ev->text != NULL)
			output_text_write(o, t, ev->text, ev->text_len);
		break;
	case ACP_UPDATE_TOOL_CALL:
	case ACP_UPDATE_TOOL_CALL_UPDATE:
		output_text_tool_update(o, t, ev);
		break;
	case ACP_UPDATE_PLAN:
		text_plan(o, t, ev->entries);
		break;
	default:
		break;
	}
}

/* "[error] CODE: message" in red, then the hints dimmed. */
static void
text_error_section(struct output *o, struct output_text *t,
    const struct acpx_error *err)
{
	char		*hints, *p, *nl;

	output_text_flush_thought(o, t);
	output_text_write_section(o, t);
	output_text_write_ansi_open(o, &t->line, ANSI_RED);
	buf_printf(&t->line, "[error] %s: %s", acpx_error_code_name(err->code),
	    err->message);
	output_text_write_ansi_close(o, &t->line);
	output_text_write_line(o, t);
	if ((hints = acpx_error_hints(err, o->opts.agent_name)) == NULL)
		return;
	for (p = hints; p != NULL; p = nl) {
		if ((nl = strchr(p, '\n')) != NULL)
			*nl++ = '\0';
		output_text_write_ansi_open(o, &t->line, ANSI_DIM);
		buf_adds(&t->line, p);
		output_text_write_ansi_close(o, &t->line);
		output_text_write_line(o, t);
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
		output_text_tool_free(t->tools[i]);
	free(t->tools);
	json_decref(t->index);
	buf_free(&t->thought);
	buf_free(&t->line);
	buf_free(&t->key);
	free(t);
}

static void
output_text_message(struct output *o, void *arg, const json_t *msg,
    enum output_dir dir)
{
	struct output_text	*t = arg;
	const json_t		*v;
	struct buf		 method = BUF_INITIALIZER;
	struct acp_update	 ev;

	if ((v = output_msg_permission_escalation(msg)) != NULL)
		output_text_tool_escalation(o, t, v);
	if ((v = output_msg_permission_notice(msg)) != NULL) {
		output_text_write_section(o, t);
		output_text_write_bold(o, &t->line, "[permission]");
		buf_addc(&t->line, ' ');
		buf_add(&t->line, json_string_value(v), json_string_length(v));
		output_text_write_line(o, t);
	} else if (output_msg_session_update(msg, &ev))
		text_session_update(o, t, &ev);
	else if (output_msg_method(msg, &method) && method.len > 0 &&
	    strcmp(method.p, "session/prompt") != 0 &&
	    strcmp(method.p, "session/cancel") != 0 &&
	    strcmp(method.p, "session/update") != 0) {
		output_text_flush_thought(o, t);
		output_text_write_section(o, t);
		output_text_write_bold(o, &t->line, "[client]");
		buf_addc(&t->line, ' ');
		buf_add(&t->line, method.p, method.len);
		buf_adds(&t->line, " (");
		output_text_write_status(o, &t->line, "running", "in_progress");
		buf_addc(&t->line, ')');
		output_text_write_line(o, t);
	} else if ((v = output_msg_stop_reason(msg)) != NULL) {
		output_text_flush_thought(o, t);
		output_text_write_section(o, t);
		output_text_write_ansi_open(o, &t->line, ANSI_DIM);
		buf_adds(&t->line, "[done] ");
		buf_add(&t->line, json_string_value(v), json_string_length(v));
		output_text_write_ansi_close(o, &t->line);
		output_text_write_line(o, t);
	} else if ((v = output_msg_error_message(msg)) != NULL)
		text_error_response(o, t, msg, v);
	buf_free(&method);
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

	output_text_flush_thought(o, t);
	if (!t->at_line_start)
		output_text_write(o, t, "\n", 1);
	output_out_flush(o);
}

/* Top-level: stderr "<message>" then the hint lines (not dimmed). */
static void
output_text_error(struct output *o, void *arg, const struct acpx_error *err)
{
	struct buf	 b = BUF_INITIALIZER;
	char		*hints;

	if (o->opts.json_strict)
		return;
	if (o->opts.color_err)
		buf_adds(&b, "\033[" ANSI_RED "m");
	buf_adds(&b, err->message);
	if (o->opts.color_err)
		buf_adds(&b, "\033[0m");
	buf_addc(&b, '\n');
	if ((hints = acpx_error_hints(err, o->opts.agent_name)) != NULL) {
		buf_adds(&b, hints);
		buf_addc(&b, '\n');
		free(hints);
	}
	output_err(o, b.p, b.len);
	buf_free(&b);
}

const struct output_renderer output_text_renderer = {
	output_text_create,
	output_text_free,
	output_text_message,
	output_text_turn_error,
	output_text_turn_end,
	output_text_error
};


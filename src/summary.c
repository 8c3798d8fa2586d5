#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "acp-update.h"
#include "acpx.h"
#include "buf.h"
#include "summary.h"
#include "xmalloc.h"

/* The text of the prompt's blocks (resource links by their URI). */
static char *
summary_goal(const json_t *goal)
{
	struct buf		 b = BUF_INITIALIZER;
	const json_t		*blk;
	const char		*type, *t;
	size_t			 i;

	buf_printf(&b, "%s", "");
	json_array_foreach(goal, i, blk) {
		type = json_string_value(json_object_get(blk, "type"));
		if (type == NULL)
			continue;
		if (strcmp(type, "text") == 0 &&
		    (t = json_string_value(json_object_get(blk, "text"))) != NULL)
			buf_printf(&b, "%s%s", b.len > 0 ? "\n" : "", t);
		else if ((t = json_string_value(json_object_get(blk, "uri"))) !=
		    NULL || (t = json_string_value(json_object_get(
		    json_object_get(blk, "resource"), "uri"))) != NULL)
			buf_printf(&b, "%s[%s: %s]", b.len > 0 ? "\n" : "",
			    type, t);
	}
	if (b.len > SUMMARY_GOAL_MAX)
		strcpy(b.p + SUMMARY_GOAL_MAX - 3, "...");
	return (buf_take(&b));
}

/* Add path to the ordered file set with a note ("written", "diff", ...). */
static void
summary_file(json_t *files, const char *path, const char *note)
{
	json_t	*cur;

	if (path == NULL || *path == '\0')
		return;
	cur = json_object_get(files, path);
	/* A stronger note wins: written > diff > touched. */
	if (cur != NULL && (strcmp(json_string_value(cur), "written") == 0 ||
	    strcmp(note, "touched") == 0))
		return;
	json_object_set_new(files, path, json_string(note));
}

/* Merge a tool_call/tool_call_update into the call table. */
static void
summary_tool(json_t *calls, json_t *order, json_t *files,
    const struct acp_update *ev)
{
	const char	*id, *t, *type;
	const json_t	*e, *c, *v;
	json_t		*call;
	size_t		 i;

	if ((id = json_string_value(ev->tool_call_id)) == NULL)
		return;
	if ((call = json_object_get(calls, id)) == NULL) {
		call = json_object();
		json_object_set_new(call, "output", json_string(""));
		json_object_set_new(calls, id, call);
		json_array_append_new(order, json_string(id));
	}
	for (i = 0; i < 3; i++) {
		v = i == 0 ? ev->title : i == 1 ? ev->status : ev->tool_kind;
		if (json_is_string(v))
			json_object_set(call, i == 0 ? "title" : i == 1 ?
			    "status" : "kind", (json_t *)v);
	}
	json_array_foreach(ev->locations, i, e)
		summary_file(files, json_string_value(json_object_get(e,
		    "path")), "touched");
	json_array_foreach(ev->content, i, e) {
		type = json_string_value(json_object_get(e, "type"));
		if (type == NULL)
			continue;
		if (strcmp(type, "diff") == 0)
			summary_file(files, json_string_value(json_object_get(e,
			    "path")), "diff");
		c = json_object_get(e, "content");
		if (strcmp(type, "content") == 0 && (t = json_string_value(
		    json_object_get(c, "text"))) != NULL)
			json_object_set_new(call, "output", json_string(t));
	}
	if ((t = json_string_value(ev->raw_output)) != NULL)
		json_object_set_new(call, "output", json_string(t));
}

/* The last lines of an output, bounded, into b. Returns lines added. */
static size_t
summary_tail(struct buf *b, const char *text, size_t room)
{
	const char	*p, *start[SUMMARY_LINES_PER_STEP];
	size_t		 len[SUMMARY_LINES_PER_STEP], n = 0, i, j, l;

	for (p = text; *p != '\0';) {
		l = strcspn(p, "\n");
		if (strspn(p, " \t\r") < l) {
			if (n == SUMMARY_LINES_PER_STEP) {
				memmove(start, start + 1, (n - 1) * sizeof *start);
				memmove(len, len + 1, (n - 1) * sizeof *len);
				n--;
			}
			start[n] = p;
			len[n++] = l > 0 && p[l - 1] == '\r' ? l - 1 : l;
		}
		p += l;
		if (*p == '\n')
			p++;
	}
	i = n > room ? n - room : 0;
	for (j = i; j < n; j++) {
		if (len[j] > SUMMARY_LINE_MAX)
			buf_printf(b, "    %.*s...\n", SUMMARY_LINE_MAX - 3,
			    start[j]);
		else
			buf_printf(b, "    %.*s\n", (int)len[j], start[j]);
	}
	return (n - i);
}

/* Build the continuation summary of a turn. */
char *
summary_build(const json_t *goal, const json_t *messages, const char *signal)
{
	struct buf		 b = BUF_INITIALIZER;
	json_t			*calls, *order, *files, *call;
	const json_t		*m, *p, *e, *res, *plan = NULL;
	struct acp_update	 ev;
	const char		*method, *kind, *st, *title, *path, *out;
	char			*g;
	size_t			 i, n, lines = 0;

	calls = json_object();
	order = json_array();
	files = json_object();
	json_array_foreach(messages, i, m) {
		method = json_string_value(json_object_get(m, "method"));
		p = json_object_get(m, "params");
		if (method != NULL && strcmp(method, "session/update") == 0) {
			acp_update_parse_params(p, &ev);
			if (acp_update_is_tool(ev.kind))
				summary_tool(calls, order, files, &ev);
			else if (ev.kind == ACP_UPDATE_PLAN)
				plan = ev.entries;
		} else if (method != NULL &&
		    strcmp(method, "fs/write_text_file") == 0)
			summary_file(files, json_string_value(json_object_get(p,
			    "path")), "written");
		else if (method == NULL && (res = json_object_get(m,
		    "result")) != NULL && json_is_string(json_object_get(res,
		    "output")) && json_object_get(res, "truncated") != NULL) {
			/* Our answer to terminal/output: keep as a step output. */
			call = json_object();
			json_object_set_new(call, "title",
			    json_string("terminal output"));
			json_object_set(call, "output", json_object_get(res,
			    "output"));
			json_object_set_new(call, "status", json_string("output"));
			xasprintf(&g, "\x01term-%zu", i);
			json_object_set_new(calls, g, call);
			json_array_append_new(order, json_string(g));
			free(g);
		}
	}

	buf_printf(&b, "[acpx fallback] The previous agent stopped because of "
	    "a provider failure, not because of the task. Continue the task "
	    "from where it stopped; do not redo the completed steps.\n\n");
	g = summary_goal(goal);
	buf_printf(&b, "## Original goal\n%s\n\n", *g != '\0' ? g : "(none)");
	free(g);

	buf_printf(&b, "## Completed steps\n");
	n = 0;
	json_array_foreach(order, i, e) {
		call = json_object_get(calls, json_string_value(e));
		st = json_string_value(json_object_get(call, "status"));
		if (st == NULL || strcmp(st, "completed") != 0)
			continue;
		if (n++ == SUMMARY_ITEMS_MAX) {
			buf_printf(&b, "- ...\n");
			break;
		}
		title = json_string_value(json_object_get(call, "title"));
		kind = json_string_value(json_object_get(call, "kind"));
		buf_printf(&b, "- %s%s%s%s\n", title != NULL ? title :
		    "(untitled tool call)", kind != NULL ? " (" : "",
		    kind != NULL ? kind : "", kind != NULL ? ")" : "");
	}
	if (n == 0)
		buf_printf(&b, "- none\n");

	buf_printf(&b, "\n## Files changed or attempted\n");
	n = 0;
	json_object_foreach(files, path, e) {
		if (n++ == SUMMARY_ITEMS_MAX) {
			buf_printf(&b, "- ...\n");
			break;
		}
		buf_printf(&b, "- %s (%s)\n", path, json_string_value(e));
	}
	if (n == 0)
		buf_printf(&b, "- none\n");

	buf_printf(&b, "\n## Relevant output\n");
	n = 0;
	json_array_foreach(order, i, e) {
		call = json_object_get(calls, json_string_value(e));
		out = json_string_value(json_object_get(call, "output"));
		st = json_string_value(json_object_get(call, "status"));
		if (out == NULL || strspn(out, " \t\r\n") == strlen(out) ||
		    lines >= SUMMARY_OUTPUT_LINES)
			continue;
		title = json_string_value(json_object_get(call, "title"));
		buf_printf(&b, "- %s (%s):\n", title != NULL ? title :
		    "(untitled tool call)", st != NULL ? st : "pending");
		lines += summary_tail(&b, out, SUMMARY_OUTPUT_LINES - lines);
		n++;
	}
	if (n == 0)
		buf_printf(&b, "- none\n");

	buf_printf(&b, "\n## Provider failure\n%s\n",
	    signal != NULL ? signal : "(unknown)");

	buf_printf(&b, "\n## Remaining work\n");
	n = 0;
	json_array_foreach(plan, i, e) {
		st = json_string_value(json_object_get(e, "status"));
		if (st != NULL && strcmp(st, "completed") == 0)
			continue;
		if (n++ == SUMMARY_ITEMS_MAX) {
			buf_printf(&b, "- ...\n");
			break;
		}
		buf_printf(&b, "- %s%s%s\n", json_string_value(json_object_get(e,
		    "content")) != NULL ? json_string_value(json_object_get(e,
		    "content")) : "(unnamed entry)", st != NULL &&
		    strcmp(st, "in_progress") == 0 ? " (in progress)" : "", "");
	}
	if (n == 0)
		buf_printf(&b, "- continue the original task from where it "
		    "stopped\n");

	json_decref(calls);
	json_decref(order);
	json_decref(files);
	return (buf_take(&b));
}

/* The continuation prompt: the summary, then the original blocks. */
json_t *
summary_continuation(const char *summary, const json_t *goal)
{
	json_t		*blocks = json_array();
	const json_t	*e;
	size_t		 i;

	json_array_append_new(blocks, json_pack("{s:s, s:s}", "type", "text",
	    "text", summary));
	json_array_foreach(goal, i, e)
		json_array_append(blocks, (json_t *)e);
	return (blocks);
}

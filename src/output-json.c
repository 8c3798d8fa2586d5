#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "acp-update.h"
#include "js-json.h"
#include "output.h"
#include "output-impl.h"
#include "xmalloc.h"

/*
 * The json renderer: the turn's raw ACP JSON-RPC traffic, one
 * JSON.stringify line per message, written as it arrives; acpx's own
 * errors as JSON-RPC error responses with "id":null. With --suppress-reads
 * the results of fs/read_text_file and the output of read-like tool calls
 * are replaced (on copies) exactly as the reference's sanitizer does.
 */

#define SUPPRESSED_READ_OUTPUT	"[read output suppressed]"

struct output_json {
	json_t	*requests;	/* "in:n:3" → method, until answered */
	json_t	*tools;		/* toolCallId → {title, kind} */
	struct buf key;
};

static void *
output_json_create(struct output *o)
{
	struct output_json	*j;

	j = xcalloc(1, sizeof *j);
	if (o->opts.suppress_reads) {
		j->requests = json_object();
		j->tools = json_object();
	}
	return (j);
}

static void
output_json_free(void *arg)
{
	struct output_json	*j = arg;

	if (j == NULL)
		return;
	json_decref(j->requests);
	json_decref(j->tools);
	buf_free(&j->key);
	free(j);
}

/* Write one compact line of v and flush. */
static void
output_json_line(struct output *o, const json_t *v)
{
	char	*s;

	s = js_json_dumps(v, 0);
	output_out(o, s, strlen(s));
	output_out(o, "\n", 1);
	output_out_flush(o);
	free(s);
}

/* Methods the agent calls on acpx (everything else is acpx → agent). */
static int
output_json_inbound_method(const char *m)
{
	return (strncmp(m, "fs/", 3) == 0 || strncmp(m, "terminal/", 9) == 0 ||
	    strcmp(m, "session/request_permission") == 0 ||
	    strcmp(m, "session/update") == 0);
}

/* "<dir>:<s|n>:<id>" into j->key; 0 if the id is not a string or number. */
static int
output_json_key(struct output_json *j, const char *dir, const json_t *id)
{
	buf_reset(&j->key);
	buf_adds(&j->key, dir);
	if (json_is_string(id))
		buf_adds(&j->key, ":s:");
	else if (json_is_number(id))
		buf_adds(&j->key, ":n:");
	else
		return (0);
	js_string_of(&j->key, id);
	return (1);
}

static const char *
output_json_dir_name(enum output_dir dir)
{
	return (dir == OUTPUT_DIR_INBOUND ? "in" : "out");
}

/*
 * If msg answers an fs/read_text_file request, a copy with result.content
 * suppressed (caller owns), else NULL. Forgets the answered request.
 */
static json_t *
output_json_read_response(struct output_json *j, const json_t *msg,
    enum output_dir dir)
{
	const json_t	*id, *result, *content;
	const char	*method = NULL;
	json_t		*copy, *rcopy;
	int		 has_in, has_out, use_in;

	id = json_object_get(msg, "id");
	if (json_object_get(msg, "result") == NULL &&
	    json_object_get(msg, "error") == NULL)
		return (NULL);
	result = json_object_get(msg, "result");
	if (dir == OUTPUT_DIR_UNKNOWN) {
		/* A response travels opposite to its request: try both. */
		if (!output_json_key(j, "in", id))
			return (NULL);
		has_in = json_object_get(j->requests, j->key.p) != NULL;
		output_json_key(j, "out", id);
		has_out = json_object_get(j->requests, j->key.p) != NULL;
		use_in = has_in && (!has_out || (json_is_object(result) &&
		    json_is_string(json_object_get(result, "content"))));
		output_json_key(j, use_in ? "in" : "out", id);
	} else if (!output_json_key(j, output_json_dir_name(
	    dir == OUTPUT_DIR_INBOUND ? OUTPUT_DIR_OUTBOUND :
	    OUTPUT_DIR_INBOUND), id))
		return (NULL);
	method = json_string_value(json_object_get(j->requests, j->key.p));
	if (method == NULL || strcmp(method, "fs/read_text_file") != 0 ||
	    result == NULL) {
		json_object_del(j->requests, j->key.p);
		return (NULL);
	}
	json_object_del(j->requests, j->key.p);
	content = json_object_get(result, "content");
	if (!json_is_object(result) || !json_is_string(content))
		return (NULL);
	rcopy = json_copy((json_t *)result);
	json_object_set_new(rcopy, "content",
	    json_string(SUPPRESSED_READ_OUTPUT));
	copy = json_copy((json_t *)msg);
	json_object_set_new(copy, "result", rcopy);
	return (copy);
}

/*
 * If msg is a tool_call/tool_call_update of a read-like tool, a copy with
 * rawOutput and content suppressed (caller owns), else NULL.
 */
static json_t *
output_json_read_tool(struct output_json *j, const json_t *msg)
{
	const json_t		*params, *update, *id, *kind, *title;
	const char		*method;
	json_t			*state, *copy, *pcopy, *ucopy, *block;
	struct acp_update	 ev;

	method = json_string_value(json_object_get(msg, "method"));
	if (method == NULL || strcmp(method, "session/update") != 0)
		return (NULL);
	params = json_object_get(msg, "params");
	update = json_object_get(params, "update");
	if (!json_is_object(params) || !json_is_object(update))
		return (NULL);
	if (!acp_update_is_tool(acp_update_parse(update, &ev)))
		return (NULL);
	id = ev.tool_call_id;
	if (!json_is_string(id))
		return (NULL);

	if ((state = json_object_getn(j->tools, json_string_value(id),
	    json_string_length(id))) == NULL) {
		state = json_object();
		json_object_setn_new(j->tools, json_string_value(id),
		    json_string_length(id), state);
	}
	title = ev.title;
	if (json_is_string(title))
		json_object_set(state, "title", (json_t *)title);
	kind = ev.tool_kind;
	if (json_is_string(kind) || json_is_null(kind))
		json_object_set(state, "kind", (json_t *)kind);
	if (!output_tool_read_like(json_object_get(state, "kind"),
	    json_object_get(state, "title")))
		return (NULL);

	ucopy = json_copy((json_t *)update);
	if (ev.raw_output != NULL)
		json_object_set_new(ucopy, "rawOutput", json_pack("{s:s}",
		    "content", SUPPRESSED_READ_OUTPUT));
	if (json_is_array(ev.content)) {
		block = json_pack("[{s:s, s:{s:s, s:s}}]", "type", "content",
		    "content", "type", "text", "text", SUPPRESSED_READ_OUTPUT);
		json_object_set_new(ucopy, "content", block);
	}
	pcopy = json_copy((json_t *)params);
	json_object_set_new(pcopy, "update", ucopy);
	copy = json_copy((json_t *)msg);
	json_object_set_new(copy, "params", pcopy);
	return (copy);
}

/* Remember (direction, id) → method of a request. */
static void
output_json_track(struct output_json *j, const json_t *msg,
    enum output_dir dir)
{
	const char	*method;

	method = json_string_value(json_object_get(msg, "method"));
	if (method == NULL)
		return;
	if (dir == OUTPUT_DIR_UNKNOWN)
		dir = output_json_inbound_method(method) ? OUTPUT_DIR_INBOUND :
		    OUTPUT_DIR_OUTBOUND;
	if (!output_json_key(j, output_json_dir_name(dir),
	    json_object_get(msg, "id")))
		return;
	json_object_set_new(j->requests, j->key.p, json_string(method));
}

static void
output_json_message(struct output *o, void *arg, const json_t *msg,
    enum output_dir dir)
{
	struct output_json	*j = arg;
	json_t			*copy;

	if (!o->opts.suppress_reads) {
		output_json_line(o, msg);
		return;
	}
	if ((copy = output_json_read_response(j, msg, dir)) == NULL &&
	    (copy = output_json_read_tool(j, msg)) == NULL)
		output_json_track(j, msg, dir);
	output_json_line(o, copy != NULL ? copy : msg);
	json_decref(copy);
}

static void
output_json_turn_error(struct output *o, void *arg,
    const struct acpx_error *err)
{
	json_t	*line;

	line = acpx_error_json(err);
	output_json_line(o, line);
	json_decref(line);
}

static void
output_json_turn_end(struct output *o, void *arg)
{
}

/* Top-level errors always say "sessionId":"unknown", as the reference. */
static void
output_json_error(struct output *o, void *arg, const struct acpx_error *err)
{
	struct acpx_error	 tmp = *err;
	json_t			*line;

	tmp.session_id = NULL;
	line = acpx_error_json(&tmp);
	output_json_line(o, line);
	json_decref(line);
}

const struct output_renderer output_json_renderer = {
	output_json_create,
	output_json_free,
	output_json_message,
	output_json_turn_error,
	output_json_turn_end,
	output_json_error
};

#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "acp-update.h"
#include "conversation.h"
#include "conversation-impl.h"
#include "jget.h"
#include "js-json.h"
#include "session-record.h"
#include "xmalloc.h"

/*
 * session/update notifications in the conversation (the reference's
 * conversation-model.ts): agent text and thinking appended to the
 * trailing Agent message, user chunks as User messages, tool calls as
 * ToolUse entries with their tool results, usage and cost, the title, and
 * the acpx state (mode, available commands, config options).
 */

/*
 * The name a ToolUse has until a title or kind names it: the reference
 * writes the update kind's name there.
 */
#define CONV_TOOL_UNNAMED	acp_update_kind_name(ACP_UPDATE_TOOL_CALL)

/* extractText for an agent chunk. Borrowed or into *tmp; NULL if none. */
static const char *
conv_block_text(const json_t *c, char **tmp)
{
	const char	*type = jget_str(c, "type"), *s;
	const json_t	*res;

	*tmp = NULL;
	if (type == NULL)
		return (NULL);
	if (strcmp(type, "text") == 0)
		return (jget_str(c, "text"));
	if (strcmp(type, "resource_link") == 0) {
		if ((s = jget_str(c, "title")) != NULL)
			return (s);
		if ((s = jget_str(c, "name")) != NULL)
			return (s);
		return (jget_str(c, "uri"));
	}
	if (strcmp(type, "resource") == 0) {
		res = json_object_get(c, "resource");
		if ((s = jget_str(res, "text")) != NULL)
			return (s);
		return (jget_str(res, "uri"));
	}
	if (strcmp(type, "audio") == 0) {
		xasprintf(tmp, "[audio] %s", jget_str(c, "mimeType") != NULL ?
		    jget_str(c, "mimeType") : "undefined");
		return (*tmp);
	}
	return (NULL);
}


/* The trailing Agent message (created if the last message is not one). */
static json_t *
conv_agent(struct session_record *r)
{
	json_t	*last, *agent;
	size_t	 n = json_array_size(r->messages);

	if (n > 0) {
		last = json_array_get(r->messages, n - 1);
		if ((agent = json_object_get(last, "Agent")) != NULL)
			return (agent);
	}
	agent = json_pack("{s:[], s:{}}", "content", "tool_results");
	json_array_append_new(r->messages, json_pack("{s:o}", "Agent", agent));
	return (agent);
}

static void
conv_append_text(json_t *agent, const char *text, int thinking)
{
	json_t		*content = json_object_get(agent, "content");
	json_t		*last, *inner;
	const char	*old;
	char		*joined, *t;

	last = json_array_get(content, json_array_size(content) - 1);
	if (!thinking && last != NULL &&
	    (old = jget_str(last, "Text")) != NULL) {
		xasprintf(&joined, "%s%s", old, text);
		if ((t = conversation_trim_text(joined,
		    CONVERSATION_MAX_TEXT)) != NULL) {
			free(joined);
			joined = t;
		}
		json_object_set_new(last, "Text", json_string(joined));
		free(joined);
		return;
	}
	if (thinking && last != NULL &&
	    (inner = json_object_get(last, "Thinking")) != NULL &&
	    (old = jget_str(inner, "text")) != NULL) {
		xasprintf(&joined, "%s%s", old, text);
		if ((t = conversation_trim_text(joined,
		    CONVERSATION_MAX_THINKING)) != NULL) {
			free(joined);
			joined = t;
		}
		json_object_set_new(inner, "text", json_string(joined));
		free(joined);
		return;
	}
	if (thinking)
		json_array_append_new(content, json_pack("{s:{s:s, s:n}}",
		    "Thinking", "text", text, "signature"));
	else
		json_array_append_new(content, json_pack("{s:s}", "Text", text));
}

static int
conv_status_has(const char *status, const char *const *words)
{
	char	*low;
	size_t	 i;
	int	 hit = 0;

	low = xstrdup(status);
	for (i = 0; low[i] != '\0'; i++) {
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] += 'a' - 'A';
	}
	for (i = 0; words[i] != NULL && !hit; i++)
		hit = strstr(low, words[i]) != NULL;
	free(low);
	return (hit);
}

/* toToolResultContent / toRawInput text of a JSON value. Caller owns. */
static char *
conv_value_text(const json_t *v, size_t max)
{
	char	*s, *t;

	if (json_is_string(v))
		s = xstrdup(json_string_value(v));
	else if ((s = js_json_dumps(v, 0)) == NULL)
		s = xstrdup("");
	if ((t = conversation_trim_text(s, max)) != NULL) {
		free(s);
		s = t;
	}
	return (s);
}

static void
conv_tool_call(struct session_record *r, const struct acp_update *ev)
{
	static const char *const done[] = { "complete", "done", "success",
	    "failed", "error", "cancel", NULL };
	static const char *const bad[] = { "fail", "error", NULL };
	const char	*id = json_string_value(ev->tool_call_id), *cur;
	json_t		*agent, *content, *c, *tool = NULL, *tr, *res, *v, *is_err;
	const json_t	*status, *raw, *output;
	char		*name, *text;
	size_t		 i;

	if (id == NULL)
		return;
	agent = conv_agent(r);
	content = json_object_get(agent, "content");
	json_array_foreach(content, i, c) {
		json_t *t = json_object_get(c, "ToolUse");

		if (t != NULL && jget_str(t, "id") != NULL &&
		    strcmp(jget_str(t, "id"), id) == 0) {
			tool = t;
			break;
		}
	}
	if (tool == NULL) {
		tool = json_pack("{s:s, s:s, s:s, s:{}, s:b, s:n}", "id", id,
		    "name", CONV_TOOL_UNNAMED, "raw_input", "{}", "input",
		    "is_input_complete", 0, "thought_signature");
		json_array_append_new(content, json_pack("{s:o}", "ToolUse",
		    tool));
	}

	if (ev->title != NULL) {
		name = session_record_trim(json_string_value(ev->title));
		if (name != NULL) {
			json_object_set_new(tool, "name", json_string(name));
			free(name);
		}
	}
	if (ev->tool_kind != NULL) {
		cur = jget_str(tool, "name");
		name = session_record_trim(json_string_value(ev->tool_kind));
		if (name != NULL && (cur == NULL || *cur == '\0' ||
		    strcmp(cur, CONV_TOOL_UNNAMED) == 0))
			json_object_set_new(tool, "name", json_string(name));
		free(name);
	}
	if ((raw = ev->raw_input) != NULL) {
		json_object_set_new(tool, "input", json_is_null(raw) ?
		    json_object() : json_deep_copy(raw));
		if (json_is_null(raw))
			text = xstrdup("{}");
		else
			text = conv_value_text(raw, CONVERSATION_MAX_TOOL);
		json_object_set_new(tool, "raw_input", json_string(text));
		free(text);
	}
	status = ev->status;
	if (status != NULL)
		json_object_set_new(tool, "is_input_complete", json_boolean(
		    json_is_string(status) && conv_status_has(
		    json_string_value(status), done)));

	if (ev->raw_output == NULL && status == NULL && ev->title == NULL &&
	    ev->tool_kind == NULL)
		return;
	tr = json_object_get(agent, "tool_results");
	res = json_object_get(tr, id);
	if (res == NULL) {
		res = json_pack("{s:s, s:s, s:b, s:{s:s}}", "tool_use_id", id,
		    "tool_name", CONV_TOOL_UNNAMED, "is_error", 0, "content",
		    "Text", "");
		json_object_set_new(tr, id, res);
	}
	/* Rebuild in key order: tool_use_id, tool_name, is_error, content, output. */
	if (status != NULL)
		is_err = json_boolean(json_is_string(status) &&
		    conv_status_has(json_string_value(status), bad));
	else
		is_err = json_incref(json_object_get(res, "is_error"));
	v = json_pack("{s:s, s:O, s:o, s:O}", "tool_use_id", id,
	    "tool_name", json_object_get(tool, "name"), "is_error", is_err,
	    "content", json_object_get(res, "content"));
	output = ev->raw_output;
	if (output != NULL && !json_is_null(output)) {
		text = conv_value_text(output, CONVERSATION_MAX_TOOL);
		json_object_set_new(v, "content", json_pack("{s:s}", "Text",
		    text));
		free(text);
		json_object_set_new(v, "output", json_deep_copy(output));
	} else if (output != NULL) {
		/* rawOutput null: JSON.stringify(null) is "null" in content. */
		json_object_set_new(v, "content", json_pack("{s:s}", "Text",
		    ""));
		if (json_object_get(res, "output") != NULL)
			json_object_set(v, "output", json_object_get(res,
			    "output"));
	} else if (json_object_get(res, "output") != NULL)
		json_object_set(v, "output", json_object_get(res, "output"));
	json_object_set_new(tr, id, v);
}


static void
conv_usage_update(struct session_record *r, const struct acp_update *ev)
{
	const json_t	*cost, *amount;
	json_t		*usage, *c = NULL;
	char		*tmp;

	usage = conversation_usage(ev->usage_meta != NULL ? ev->usage_meta :
	    ev->update);
	if ((cost = ev->cost) != NULL && json_is_object(cost)) {
		c = json_object();
		amount = json_object_get(cost, "amount");
		if (json_is_number(amount) && isfinite(json_number_value(amount))
		    && json_number_value(amount) >= 0)
			json_object_set(c, "amount", (json_t *)amount);
		/* Kept trimmed, as it reads back from disk. */
		if ((tmp = session_record_trim(jget_str(cost, "currency"))) !=
		    NULL) {
			json_object_set_new(c, "currency", json_string(tmp));
			free(tmp);
		}
		if (json_object_size(c) == 0) {
			json_decref(c);
			c = NULL;
		}
	}
	if (usage != NULL)
		conversation_apply_usage(r, usage, NULL);
	if (c != NULL) {
		json_decref(r->cumulative_cost);
		r->cumulative_cost = c;
	}
}

static void

conv_commands(struct session_record *r, const json_t *commands)
{
	json_t		*list = json_array(), *cmd;
	const json_t	*e;
	char		*name, *desc;
	size_t		 i;

	json_array_foreach(commands, i, e) {
		if (!json_is_object(e) ||
		    (name = session_record_trim(jget_str(e, "name"))) == NULL)
			continue;
		cmd = json_pack("{s:s}", "name", name);
		free(name);
		if ((desc = session_record_trim(jget_str(e, "description"))) !=
		    NULL) {
			json_object_set_new(cmd, "description", json_string(desc));
			free(desc);
		}
		json_object_set_new(cmd, "has_input", json_boolean(
		    json_object_get(e, "input") != NULL &&
		    !json_is_null(json_object_get(e, "input"))));
		json_array_append_new(list, cmd);
	}
	json_object_set_new(session_record_acpx(r), "available_commands", list);
}

/* Apply one session/update notification's params or update object. */
int

conversation_apply_update(struct session_record *r, const json_t *params,
    const char *now)
{
	const json_t		*u = json_object_get(params, "update"), *t;
	const char		*text;
	char			*tmp;
	json_t			*uc;
	struct acp_update	 ev;

	if (u == NULL)
		u = params;
	switch (acp_update_parse(u, &ev)) {
	case ACP_UPDATE_NONE:
		return (0);
	case ACP_UPDATE_USER_MESSAGE_CHUNK:
		if ((uc = conversation_user_content(ev.content)) != NULL) {
			tmp = conversation_uuid();
			json_array_append_new(r->messages, json_pack(
			    "{s:{s:s, s:[o]}}", "User", "id", tmp, "content", uc));
			free(tmp);
		}
		break;
	case ACP_UPDATE_AGENT_MESSAGE_CHUNK:
	case ACP_UPDATE_AGENT_THOUGHT_CHUNK:
		text = conv_block_text(ev.content, &tmp);
		if (text != NULL && *text != '\0')
			conv_append_text(conv_agent(r), text,
			    ev.kind == ACP_UPDATE_AGENT_THOUGHT_CHUNK);
		free(tmp);
		break;
	case ACP_UPDATE_TOOL_CALL:
	case ACP_UPDATE_TOOL_CALL_UPDATE:
		conv_tool_call(r, &ev);
		break;
	case ACP_UPDATE_USAGE:
		conv_usage_update(r, &ev);
		break;
	case ACP_UPDATE_SESSION_INFO:
		if ((t = ev.title) != NULL) {
			json_decref(r->title);
			r->title = json_is_string(t) ? json_incref((json_t *)t) :
			    json_null();
		}
		break;
	case ACP_UPDATE_AVAILABLE_COMMANDS:
		conv_commands(r, ev.commands);
		break;
	case ACP_UPDATE_CURRENT_MODE:
		if (ev.mode_id != NULL)
			json_object_set(session_record_acpx(r),
			    "current_mode_id", (json_t *)ev.mode_id);
		break;
	case ACP_UPDATE_CONFIG_OPTION:
		session_record_apply_config_update(r, ev.config_options);
		break;
	case ACP_UPDATE_PLAN:
	case ACP_UPDATE_QUOTA:
	case ACP_UPDATE_OTHER:
		break;
	}
	conversation_touch(r, now);
	/* session_info_update's updatedAt wins over the clock. */
	if (ev.kind == ACP_UPDATE_SESSION_INFO && ev.updated_at != NULL)
		session_record_set(&r->updated_at, ev.updated_at);
	/* An update changes the last message or appends one. */
	conversation_trim_last(r);
	return (1);
}

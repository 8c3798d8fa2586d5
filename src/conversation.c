#include <config.h>

#include <sys/random.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "acp-update.h"
#include "conversation.h"
#include "js.h"
#include "json-util.h"
#include "session-record.h"
#include "xmalloc.h"

/*
 * The Zed-thread-like conversation the reference keeps in every record
 * (conversation-model.ts): prompts, session/update notifications and
 * prompt usage mapped into messages, with its trimming rules. String
 * lengths are counted in UTF-16 code units, as JavaScript counts them.
 */

/*
 * The name a ToolUse has until a title or kind names it: the reference
 * writes the update kind's name there.
 */
#define CONV_TOOL_UNNAMED	acp_update_kind_name(ACP_UPDATE_TOOL_CALL)

/* ---------------------------------------------------------------- text */

/*
 * trimRuntimeText: if s is longer than max UTF-16 units, its first max-3
 * units and "...". Returns a new string or NULL when s fits.
 */
static char *
conv_trim_text(const char *s, size_t max)
{
	if (js_strlen(s) <= max)
		return (NULL);
	return (js_truncate_dup(s, max));
}

/* Replace string member key of o by its trimmed form if too long. */
static void
conv_trim_member(json_t *o, const char *key, size_t max)
{
	const char	*s = json_str(o, key);
	char		*t;

	if (s == NULL || (t = conv_trim_text(s, max)) == NULL)
		return;
	json_object_set_new(o, key, json_string(t));
	free(t);
}

/* A random RFC 4122 v4 UUID. */
char *
conversation_uuid(void)
{
	unsigned char	 b[16];
	char		*out;
	size_t		 got = 0;
	ssize_t		 n;

	while (got < sizeof b) {
		if ((n = getrandom(b + got, sizeof b - got, 0)) <= 0)
			fatal("getrandom failed");
		got += n;
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	xasprintf(&out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return (out);
}

static void
conv_touch(struct session_record *r, const char *now)
{
	if (now != NULL)
		session_record_set(&r->updated_at, now);
}

/* ---------------------------------------------------------------- blocks */

/* extractText for an agent chunk. Borrowed or into *tmp; NULL if none. */
static const char *
conv_block_text(const json_t *c, char **tmp)
{
	const char	*type = json_str(c, "type"), *s;
	const json_t	*res;

	*tmp = NULL;
	if (type == NULL)
		return (NULL);
	if (strcmp(type, "text") == 0)
		return (json_str(c, "text"));
	if (strcmp(type, "resource_link") == 0) {
		if ((s = json_str(c, "title")) != NULL)
			return (s);
		if ((s = json_str(c, "name")) != NULL)
			return (s);
		return (json_str(c, "uri"));
	}
	if (strcmp(type, "resource") == 0) {
		res = json_object_get(c, "resource");
		if ((s = json_str(res, "text")) != NULL)
			return (s);
		return (json_str(res, "uri"));
	}
	if (strcmp(type, "audio") == 0) {
		xasprintf(tmp, "[audio] %s", json_str(c, "mimeType") != NULL ?
		    json_str(c, "mimeType") : "undefined");
		return (*tmp);
	}
	return (NULL);
}

/* contentToUserContent. Caller owns; NULL if the block does not map. */
static json_t *
conv_user_content(const json_t *c)
{
	const char	*type = json_str(c, "type"), *s;
	const json_t	*res;

	if (type == NULL)
		return (NULL);
	if (strcmp(type, "text") == 0 && (s = json_str(c, "text")) != NULL)
		return (json_pack("{s:s}", "Text", s));
	if (strcmp(type, "resource_link") == 0 && json_str(c, "uri") != NULL) {
		if ((s = json_str(c, "title")) == NULL &&
		    (s = json_str(c, "name")) == NULL)
			s = json_str(c, "uri");
		return (json_pack("{s:{s:s, s:s}}", "Mention", "uri",
		    json_str(c, "uri"), "content", s));
	}
	if (strcmp(type, "resource") == 0) {
		res = json_object_get(c, "resource");
		if ((s = json_str(res, "text")) != NULL)
			return (json_pack("{s:s}", "Text", s));
		if ((s = json_str(res, "uri")) != NULL)
			return (json_pack("{s:{s:s, s:s}}", "Mention", "uri", s,
			    "content", s));
		return (NULL);
	}
	if (strcmp(type, "image") == 0 && json_str(c, "data") != NULL)
		return (json_pack("{s:{s:s, s:n}}", "Image", "source",
		    json_str(c, "data"), "size"));
	if (strcmp(type, "audio") == 0 && json_str(c, "data") != NULL &&
	    json_str(c, "mimeType") != NULL)
		return (json_pack("{s:{s:s, s:s}}", "Audio", "source",
		    json_str(c, "data"), "mime_type", json_str(c, "mimeType")));
	return (NULL);
}

/* ---------------------------------------------------------------- trim */

static void
conv_trim_message(json_t *m)
{
	json_t		*body, *c, *inner, *tr, *res;
	const char	*k;
	size_t		 i;

	if ((body = json_object_get(m, "User")) != NULL) {
		json_array_foreach(json_object_get(body, "content"), i, c)
			conv_trim_member(c, "Text", CONVERSATION_MAX_TEXT);
		return;
	}
	if ((body = json_object_get(m, "Agent")) == NULL)
		return;
	json_array_foreach(json_object_get(body, "content"), i, c) {
		if (json_object_get(c, "Text") != NULL)
			conv_trim_member(c, "Text", CONVERSATION_MAX_TEXT);
		else if ((inner = json_object_get(c, "Thinking")) != NULL)
			conv_trim_member(inner, "text", CONVERSATION_MAX_THINKING);
		else if ((inner = json_object_get(c, "ToolUse")) != NULL)
			conv_trim_member(inner, "raw_input", CONVERSATION_MAX_TOOL);
	}
	tr = json_object_get(body, "tool_results");
	json_object_foreach(tr, k, res) {
		conv_trim_member(json_object_get(res, "content"), "Text",
		    CONVERSATION_MAX_TOOL);
		conv_trim_member(res, "output", CONVERSATION_MAX_TOOL);
	}
}

/* Enforce the message count and text length limits in place. */
void
conversation_trim(struct session_record *r)
{
	json_t		*m, *keep;
	size_t		 i, n, drop;
	const char	*k;
	void		*tmp;

	n = json_array_size(r->messages);
	if (n > CONVERSATION_MAX_MESSAGES) {
		keep = json_array();
		for (i = n - CONVERSATION_MAX_MESSAGES; i < n; i++)
			json_array_append(keep, json_array_get(r->messages, i));
		json_decref(r->messages);
		r->messages = keep;
	}
	json_array_foreach(r->messages, i, m)
		conv_trim_message(m);
	n = json_object_size(r->request_token_usage);
	if (n > CONVERSATION_MAX_REQUEST_USAGE) {
		drop = n - CONVERSATION_MAX_REQUEST_USAGE;
		json_object_foreach_safe(r->request_token_usage, tmp, k, m) {
			if (drop == 0)
				break;
			json_object_del(r->request_token_usage, k);
			drop--;
		}
	}
}

/* ---------------------------------------------------------------- prompt */

/* A prompt was submitted: push a User message. */
const char *
conversation_add_prompt(struct session_record *r, const json_t *blocks,
    const char *now)
{
	json_t		*content = json_array(), *c, *msg;
	const json_t	*b;
	char		*id;
	size_t		 i;

	json_array_foreach(blocks, i, b) {
		if ((c = conv_user_content(b)) != NULL) {
			conv_trim_member(c, "Text", CONVERSATION_MAX_TEXT);
			json_array_append_new(content, c);
		}
	}
	if (json_array_size(content) == 0) {
		json_decref(content);
		return (NULL);
	}
	id = conversation_uuid();
	msg = json_pack("{s:{s:s, s:o}}", "User", "id", id, "content", content);
	free(id);
	json_array_append_new(r->messages, msg);
	conv_touch(r, now);
	conversation_trim(r);
	/* The message may have been trimmed away only if the limit is 0. */
	msg = json_array_get(r->messages, json_array_size(r->messages) - 1);
	return (json_str(json_object_get(msg, "User"), "id"));
}

/* ---------------------------------------------------------------- updates */

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
	    (old = json_str(last, "Text")) != NULL) {
		xasprintf(&joined, "%s%s", old, text);
		if ((t = conv_trim_text(joined, CONVERSATION_MAX_TEXT)) != NULL) {
			free(joined);
			joined = t;
		}
		json_object_set_new(last, "Text", json_string(joined));
		free(joined);
		return;
	}
	if (thinking && last != NULL &&
	    (inner = json_object_get(last, "Thinking")) != NULL &&
	    (old = json_str(inner, "text")) != NULL) {
		xasprintf(&joined, "%s%s", old, text);
		if ((t = conv_trim_text(joined, CONVERSATION_MAX_THINKING)) !=
		    NULL) {
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
	else if ((s = json_dumps_js(v, 0)) == NULL)
		s = xstrdup("");
	if ((t = conv_trim_text(s, max)) != NULL) {
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

		if (t != NULL && json_str(t, "id") != NULL &&
		    strcmp(json_str(t, "id"), id) == 0) {
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
		cur = json_str(tool, "name");
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

/* sourceToTokenUsage: the usage fields found in src, or NULL. Caller owns. */
static json_t *
conv_usage(const json_t *src)
{
	static const char *const keys[][4] = {
		{ "input_tokens", "input_tokens", "inputTokens", NULL },
		{ "output_tokens", "output_tokens", "outputTokens", NULL },
		{ "cache_creation_input_tokens", "cache_creation_input_tokens",
		    "cacheCreationInputTokens", "cachedWriteTokens" },
		{ "cache_read_input_tokens", "cache_read_input_tokens",
		    "cacheReadInputTokens", "cachedReadTokens" },
		{ "thought_tokens", "thought_tokens", "thoughtTokens", NULL },
		{ "total_tokens", "total_tokens", "totalTokens", NULL },
	};
	json_t		*out;
	const json_t	*v;
	size_t		 i, j;

	if (!json_is_object(src))
		return (NULL);
	out = json_object();
	for (i = 0; i < nitems(keys); i++) {
		for (j = 1; j < 4 && keys[i][j] != NULL; j++) {
			v = json_object_get(src, keys[i][j]);
			if (json_is_number(v) && isfinite(json_number_value(v)) &&
			    json_number_value(v) >= 0) {
				json_object_set(out, keys[i][0], (json_t *)v);
				break;
			}
		}
	}
	if (json_object_size(out) == 0) {
		json_decref(out);
		return (NULL);
	}
	return (out);
}

/* Id of the last User message, or NULL (borrowed). */
static const char *
conv_last_user(const struct session_record *r)
{
	size_t		 n = json_array_size(r->messages);
	const json_t	*u;

	while (n-- > 0) {
		u = json_object_get(json_array_get(r->messages, n), "User");
		if (u != NULL)
			return (json_str(u, "id"));
	}
	return (NULL);
}

static void
conv_apply_usage(struct session_record *r, json_t *usage, const char *user_id)
{
	char	*id;

	if (user_id == NULL)
		user_id = conv_last_user(r);
	id = user_id != NULL ? xstrdup(user_id) : NULL;
	json_decref(r->cumulative_token_usage);
	r->cumulative_token_usage = usage;
	if (id != NULL)
		json_object_set_new(r->request_token_usage, id,
		    json_deep_copy(usage));
	free(id);
}

static void
conv_usage_update(struct session_record *r, const struct acp_update *ev)
{
	const json_t	*cost, *amount;
	json_t		*usage, *c = NULL;
	char		*tmp;

	usage = conv_usage(ev->usage_meta != NULL ? ev->usage_meta :
	    ev->update);
	if ((cost = ev->cost) != NULL && json_is_object(cost)) {
		c = json_object();
		amount = json_object_get(cost, "amount");
		if (json_is_number(amount) && isfinite(json_number_value(amount))
		    && json_number_value(amount) >= 0)
			json_object_set(c, "amount", (json_t *)amount);
		/* Kept trimmed, as it reads back from disk. */
		if ((tmp = session_record_trim(json_str(cost, "currency"))) !=
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
		conv_apply_usage(r, usage, NULL);
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
		    (name = session_record_trim(json_str(e, "name"))) == NULL)
			continue;
		cmd = json_pack("{s:s}", "name", name);
		free(name);
		if ((desc = session_record_trim(json_str(e, "description"))) !=
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
		if ((uc = conv_user_content(ev.content)) != NULL) {
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
	case ACP_UPDATE_OTHER:
		break;
	}
	conv_touch(r, now);
	/* session_info_update's updatedAt wins over the clock. */
	if (ev.kind == ACP_UPDATE_SESSION_INFO && ev.updated_at != NULL)
		session_record_set(&r->updated_at, ev.updated_at);
	conversation_trim(r);
	return (1);
}

/* Apply a session/prompt result's usage to the prompt's user message. */
void
conversation_apply_prompt_usage(struct session_record *r,
    const json_t *result, const char *user_message_id, const char *now)
{
	json_t	*usage;

	if ((usage = conv_usage(json_object_get(result, "usage"))) == NULL)
		return;
	conv_apply_usage(r, usage, user_message_id);
	conv_touch(r, now);
	conversation_trim(r);
}

/* Apply a session/prompt result's usage (to the last user message). */
void
conversation_apply_prompt_result(struct session_record *r,
    const json_t *result, const char *now)
{
	conversation_apply_prompt_usage(r, result, NULL, now);
}

/* ---------------------------------------------------------------- history */

static void
conv_join(char **acc, const char *part)
{
	char	*t;

	if (*acc == NULL) {
		*acc = xstrdup(part);
		return;
	}
	xasprintf(&t, "%s %s", *acc, part);
	free(*acc);
	*acc = t;
}

/* History entries of the record's messages. */
struct conversation_entry *
conversation_entries(const struct session_record *r, size_t *np)
{
	struct conversation_entry	*v = NULL;
	const json_t			*m, *body, *c, *in;
	char				*acc, *text, *tmp;
	const char			*role, *s;
	size_t				 i, j, n = 0;

	json_array_foreach(r->messages, i, m) {
		acc = NULL;
		if ((body = json_object_get(m, "User")) != NULL) {
			role = "user";
			json_array_foreach(json_object_get(body, "content"), j, c) {
				tmp = NULL;
				if ((s = json_str(c, "Text")) != NULL)
					;
				else if ((in = json_object_get(c, "Mention")) !=
				    NULL)
					s = json_str(in, "content");
				else if ((in = json_object_get(c, "Image")) != NULL)
					s = json_str(in, "source") != NULL &&
					    *json_str(in, "source") != '\0' ?
					    json_str(in, "source") : "[image]";
				else if ((in = json_object_get(c, "Audio")) != NULL) {
					s = json_str(in, "mime_type");
					xasprintf(&tmp, "[audio] %s", s != NULL &&
					    *s != '\0' ? s : "audio");
					s = tmp;
				}
				conv_join(&acc, s != NULL ? s : "");
				free(tmp);
			}
		} else if ((body = json_object_get(m, "Agent")) != NULL) {
			role = "assistant";
			json_array_foreach(json_object_get(body, "content"), j, c) {
				tmp = NULL;
				if ((s = json_str(c, "Text")) != NULL)
					;
				else if ((in = json_object_get(c, "Thinking")) !=
				    NULL)
					s = json_str(in, "text");
				else if (json_object_get(c, "RedactedThinking") !=
				    NULL)
					s = "[redacted_thinking]";
				else if ((in = json_object_get(c, "ToolUse")) !=
				    NULL) {
					xasprintf(&tmp, "[tool:%s]",
					    json_str(in, "name") != NULL ?
					    json_str(in, "name") : "undefined");
					s = tmp;
				}
				conv_join(&acc, s != NULL ? s : "");
				free(tmp);
			}
		} else
			continue;
		text = session_record_trim(acc);
		free(acc);
		if (text == NULL)
			continue;
		v = xreallocarray(v, n + 1, sizeof *v);
		v[n].role = role;
		v[n].text = text;
		n++;
	}
	*np = n;
	return (v);
}

void
conversation_entries_free(struct conversation_entry *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

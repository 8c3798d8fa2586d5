#include <config.h>

#include <sys/random.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "conversation.h"
#include "conversation-impl.h"
#include "jget.h"
#include "js.h"
#include "session-record.h"
#include "xmalloc.h"

/*
 * The Zed-thread-like conversation the reference keeps in every record
 * (conversation-model.ts): prompts and prompt usage mapped into messages,
 * with its trimming rules; session/update notifications are mapped in
 * conversation-update.c. String lengths are counted in UTF-16 code
 * units, as JavaScript counts them.
 */

/* ---------------------------------------------------------------- text */

/*
 * trimRuntimeText: if s is longer than max UTF-16 units, its first max-3
 * units and "...". Returns a new string or NULL when s fits.
 */
char *
conversation_trim_text(const char *s, size_t max)
{
	if (js_strlen(s) <= max)
		return (NULL);
	return (js_truncate_dup(s, max));
}

/* Replace string member key of o by its trimmed form if too long. */
static void
conv_trim_member(json_t *o, const char *key, size_t max)
{
	const json_t	*v = json_object_get(o, key);
	const char	*s = json_string_value(v);
	char		*t;

	/* No more UTF-16 units than UTF-8 bytes: short ones fit unread. */
	if (s == NULL || json_string_length(v) <= max ||
	    (t = conversation_trim_text(s, max)) == NULL)
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

/* updated_at = now. */
void
conversation_touch(struct session_record *r, const char *now)
{
	if (now != NULL)
		session_record_set(&r->updated_at, now);
}

/* contentToUserContent. Caller owns; NULL if the block does not map. */
json_t *
conversation_user_content(const json_t *c)
{
	const char	*type = jget_str(c, "type"), *s;
	const json_t	*res;

	if (type == NULL)
		return (NULL);
	if (strcmp(type, "text") == 0 && (s = jget_str(c, "text")) != NULL)
		return (json_pack("{s:s}", "Text", s));
	if (strcmp(type, "resource_link") == 0 && jget_str(c, "uri") != NULL) {
		if ((s = jget_str(c, "title")) == NULL &&
		    (s = jget_str(c, "name")) == NULL)
			s = jget_str(c, "uri");
		return (json_pack("{s:{s:s, s:s}}", "Mention", "uri",
		    jget_str(c, "uri"), "content", s));
	}
	if (strcmp(type, "resource") == 0) {
		res = json_object_get(c, "resource");
		if ((s = jget_str(res, "text")) != NULL)
			return (json_pack("{s:s}", "Text", s));
		if ((s = jget_str(res, "uri")) != NULL)
			return (json_pack("{s:{s:s, s:s}}", "Mention", "uri", s,
			    "content", s));
		return (NULL);
	}
	if (strcmp(type, "image") == 0 && jget_str(c, "data") != NULL)
		return (json_pack("{s:{s:s, s:n}}", "Image", "source",
		    jget_str(c, "data"), "size"));
	if (strcmp(type, "audio") == 0 && jget_str(c, "data") != NULL &&
	    jget_str(c, "mimeType") != NULL)
		return (json_pack("{s:{s:s, s:s}}", "Audio", "source",
		    jget_str(c, "data"), "mime_type", jget_str(c, "mimeType")));
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

/* The count limits: the oldest messages and request usages go. */
static void
conv_trim_count(struct session_record *r)
{
	json_t		*m, *keep;
	size_t		 i, n, drop;
	const char	*k;
	void		*tmp;

	n = json_array_size(r->messages);
	if (n > CONVERSATION_MAX_MESSAGES) {
		r->conv_dropped += (long long)(n - CONVERSATION_MAX_MESSAGES);
		keep = json_array();
		for (i = n - CONVERSATION_MAX_MESSAGES; i < n; i++)
			json_array_append(keep, json_array_get(r->messages, i));
		json_decref(r->messages);
		r->messages = keep;
	}
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

/* Enforce the message count and text length limits in place. */
void
conversation_trim(struct session_record *r)
{
	static unsigned long long	 epoch;
	json_t				*m;
	size_t				 i;

	conv_trim_count(r);
	json_array_foreach(r->messages, i, m)
		conv_trim_message(m);
	r->trimmed = 1;
	/* Any message may have changed: a new mark. */
	r->conv_epoch = ++epoch;
	r->conv_dropped = 0;
}

/*
 * The same after a change to the last message only (or a message
 * appended): when the others are known to be within the limits
 * (r->trimmed), only the last one is measured.
 */
void
conversation_trim_last(struct session_record *r)
{
	size_t	n;

	if (!r->trimmed) {
		conversation_trim(r);
		return;
	}
	conv_trim_count(r);
	if ((n = json_array_size(r->messages)) > 0)
		conv_trim_message(json_array_get(r->messages, n - 1));
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
		if ((c = conversation_user_content(b)) != NULL) {
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
	conversation_touch(r, now);
	conversation_trim_last(r);
	/* The message may have been trimmed away only if the limit is 0. */
	msg = json_array_get(r->messages, json_array_size(r->messages) - 1);
	return (jget_str(json_object_get(msg, "User"), "id"));
}


/* ---------------------------------------------------------------- usage */


/* sourceToTokenUsage: the usage fields found in src, or NULL. Caller owns. */
json_t *
conversation_usage(const json_t *src)
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
			return (jget_str(u, "id"));
	}
	return (NULL);
}

/* usage (taken) becomes the cumulative usage and user_id's. */
void
conversation_apply_usage(struct session_record *r, json_t *usage,
    const char *user_id)
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


/* Apply a session/prompt result's usage to the prompt's user message. */
void
conversation_apply_prompt_usage(struct session_record *r,
    const json_t *result, const char *user_message_id, const char *now)
{
	json_t	*usage;

	usage = conversation_usage(json_object_get(result, "usage"));
	if (usage == NULL)
		return;
	conversation_apply_usage(r, usage, user_message_id);
	conversation_touch(r, now);
	conversation_trim_last(r);	/* no message changed */
}

/* Apply a session/prompt result's usage (to the last user message). */
void
conversation_apply_prompt_result(struct session_record *r,
    const json_t *result, const char *now)
{
	conversation_apply_prompt_usage(r, result, NULL, now);
}

#include <config.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "agent-registry.h"
#include "session-record-impl.h"
#include "xmalloc.h"

/*
 * A session record as it is written: the disk (snake_case) object in the
 * reference's key order, its camelCase view, and the check of a record's
 * keys.
 */

/* ---------------------------------------------------------- serialise */

static void
record_put_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

/* Copy v (or, sharing, reference it: a read-only view) into o. */
static void
record_put_v(json_t *o, const char *key, const json_t *v, int share)
{
	if (v != NULL)
		json_object_set_new(o, key, share ? json_incref((json_t *)v) :
		    json_deep_copy(v));
}

static json_t *
record_argv_json(char *const *argv)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; argv[i] != NULL; i++)
		json_array_append_new(a, json_string(argv[i]));
	return (a);
}

/* Build either form; camel selects the in-memory key names. */
static json_t *
record_build(const struct session_record *r, int camel, int share)
{
	json_t		*o = json_object(), *imp;
	const char	*k;
	json_t		*v;

#define K(snake, cc)	(camel ? (cc) : (snake))
#define record_put(o, k, v)	record_put_v((o), (k), (v), share)
	json_object_set_new(o, "schema", json_string(SESSION_RECORD_SCHEMA));
	record_put_str(o, K("acpx_record_id", "acpxRecordId"), r->record_id);
	record_put_str(o, K("acp_session_id", "acpSessionId"), r->acp_session_id);
	record_put_str(o, K("agent_session_id", "agentSessionId"),
	    r->agent_session_id);
	record_put_str(o, K("agent_command", "agentCommand"), r->agent_command);
	if (r->agent_argv != NULL)
		json_object_set_new(o, K("agent_argv", "agentArgv"),
		    record_argv_json(r->agent_argv));
	record_put_str(o, "cwd", r->cwd);
	record_put_str(o, "name", r->name);
	record_put_str(o, K("created_at", "createdAt"), r->created_at);
	record_put_str(o, K("last_used_at", "lastUsedAt"), r->last_used_at);
	json_object_set_new(o, K("last_seq", "lastSeq"),
	    json_integer(r->last_seq));
	record_put_str(o, K("last_request_id", "lastRequestId"),
	    r->last_request_id);
	record_put(o, K("event_log", "eventLog"), r->event_log);
	json_object_set_new(o, "closed", json_boolean(r->closed));
	record_put_str(o, K("closed_at", "closedAt"), r->closed_at);
	if (r->pid > 0)
		json_object_set_new(o, "pid", json_integer(r->pid));
	record_put_str(o, K("agent_started_at", "agentStartedAt"),
	    r->agent_started_at);
	record_put_str(o, K("last_prompt_at", "lastPromptAt"), r->last_prompt_at);
	record_put(o, K("last_agent_exit_code", "lastAgentExitCode"),
	    r->last_agent_exit_code);
	record_put(o, K("last_agent_exit_signal", "lastAgentExitSignal"),
	    r->last_agent_exit_signal);
	record_put_str(o, K("last_agent_exit_at", "lastAgentExitAt"),
	    r->last_agent_exit_at);
	record_put_str(o, K("last_agent_disconnect_reason",
	    "lastAgentDisconnectReason"), r->last_agent_disconnect_reason);
	record_put(o, K("protocol_version", "protocolVersion"),
	    r->protocol_version);
	record_put(o, K("agent_capabilities", "agentCapabilities"),
	    r->agent_capabilities);
	record_put(o, "title", r->title);
	if (r->messages != NULL)
		record_put(o, "messages", r->messages);
	else
		json_object_set_new(o, "messages", json_array());
	record_put_str(o, "updated_at", r->updated_at);
	record_put(o, "cumulative_token_usage", r->cumulative_token_usage);
	record_put(o, "cumulative_cost", r->cumulative_cost);
	record_put(o, "request_token_usage", r->request_token_usage);
	record_put(o, "acpx", r->acpx);
	if (r->imported_from != NULL) {
		if (camel)
			imp = json_pack("{s:O?, s:O?, s:O?, s:O?}", "recordId",
			    json_object_get(r->imported_from, "record_id"),
			    "cwdOriginal", json_object_get(r->imported_from,
			    "cwd_original"), "exportedBy",
			    json_object_get(r->imported_from, "exported_by"),
			    "exportedAt", json_object_get(r->imported_from,
			    "exported_at"));
		else
			imp = share ? json_incref(r->imported_from) :
			    json_deep_copy(r->imported_from);
		json_object_set_new(o, K("imported_from", "importedFrom"), imp);
	}
	if (!camel && r->extra != NULL) {
		json_object_foreach(r->extra, k, v) {
			if (json_object_get(o, k) == NULL)
				record_put(o, k, v);
		}
	}
#undef record_put
#undef K
	return (o);
}

/* The on-disk object: known keys in order, then the unknown ones. */
json_t *
session_record_to_disk(const struct session_record *r)
{
	return (record_build(r, 0, 0));
}

/* The same, sharing the record's JSON values (a read-only view). */
json_t *
session_record_to_disk_view(const struct session_record *r)
{
	return (record_build(r, 0, 1));
}

/* The camelCase in-memory form (sessions show/list --format json, IPC). */
json_t *
session_record_to_camel(const struct session_record *r)
{
	return (record_build(r, 1, 0));
}

/* ---------------------------------------------------------- key policy */

static int
record_snake(const char *k)
{
	static const char *const tags[] = { "User", "Agent", "Resume", "Text",
	    "Mention", "Image", "Audio", "Thinking", "RedactedThinking",
	    "ToolUse" };
	size_t	i;

	if (*k >= 'a' && *k <= 'z') {
		for (i = 1; k[i] != '\0'; i++) {
			if (!((k[i] >= 'a' && k[i] <= 'z') ||
			    (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
				break;
		}
		if (k[i] == '\0')
			return (1);
	}
	for (i = 0; i < nitems(tags); i++) {
		if (strcmp(k, tags[i]) == 0)
			return (1);
	}
	return (0);
}

/*
 * Check v's keys; path (a buffer of *cap bytes, grown as needed) holds the
 * dotted path to v, which a key is appended to and cut off again (no
 * allocation per key).
 */
static void
record_check(const json_t *v, char **path, size_t *cap, char **out)
{
#define RC_PATH(s)	{ s, sizeof(s) - 1 }
	static const struct {
		const char	*s;
		size_t		 len;
	} maps[] = {
		RC_PATH("request_token_usage"),
		RC_PATH("messages.Agent.tool_results"),
		RC_PATH("acpx.session_options.env"),
		RC_PATH("acpx.available_model_names")
	}, opaque[] = {
		RC_PATH("agent_capabilities"),
		RC_PATH("messages.Agent.content.ToolUse.input"),
		RC_PATH("acpx.desired_config_options"),
		RC_PATH("acpx.config_options"),
		RC_PATH("messages.Agent.tool_results.output")
	};
#undef RC_PATH
	const char	*k, *child, *dot;
	const json_t	*c;
	char		*tmp;
	size_t		 i, len = strlen(*path), klen, clen;
	int		 skip_key = 0, skip;

	if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			record_check(c, path, cap, out);
		return;
	}
	if (!json_is_object(v))
		return;
	/* Paths are compared by length first: most differ there. */
	for (i = 0; i < nitems(maps); i++) {
		if (len == maps[i].len && memcmp(*path, maps[i].s, len) == 0)
			skip_key = 1;
	}
	json_object_foreach((json_t *)v, k, c) {
		klen = strlen(k);
		if (len + klen + 2 > *cap) {
			*cap = len + klen + 2 + 64;
			*path = xreallocarray(*path, *cap, 1);
		}
		if (len > 0)
			(*path)[len] = '.';
		memcpy(*path + len + (len > 0), k, klen + 1);
		child = *path;
		clen = len + (len > 0) + klen;
		if (!skip_key && !record_snake(k)) {
			xasprintf(&tmp, "%s%s%s", *out != NULL ? *out : "",
			    *out != NULL ? ", " : "", child);
			free(*out);
			*out = tmp;
		}
		if (!json_is_object(c) && !json_is_array(c)) {
			(*path)[len] = '\0';
			continue;	/* no keys below */
		}
		skip = 0;
		/* tool_results.<id>.output: compare without the id. */
		if (clen > 28 && memcmp(child, "messages.Agent.tool_results.",
		    28) == 0 && (dot = strchr(child + 28, '.')) != NULL &&
		    strcmp(dot, ".output") == 0)
			skip = 1;
		for (i = 0; !skip && i < nitems(opaque); i++) {
			if (clen == opaque[i].len &&
			    memcmp(child, opaque[i].s, clen) == 0)
				skip = 1;
		}
		if (!skip)
			record_check(c, path, cap, out);
		(*path)[len] = '\0';
	}
}

/* Key policy of one element of messages: 0 or -1. */
int
session_record_check_message_keys(const json_t *msg)
{
	char	*bad = NULL, *path;
	size_t	 cap = 256;

	path = xmalloc(cap);
	memcpy(path, "messages", sizeof "messages");
	record_check(msg, &path, &cap, &bad);
	free(path);
	free(bad);
	return (bad == NULL ? 0 : -1);
}

/* Key policy of a disk object: 0 or -1 with *cause. */
int
session_record_check_keys(const json_t *disk, char **cause)
{
	char	*bad = NULL, *path;
	size_t	 cap = 256;

	path = xmalloc(cap);
	*path = '\0';
	record_check(disk, &path, &cap, &bad);
	free(path);
	if (bad == NULL)
		return (0);
	xasprintf(cause, "Persisted key policy violation (expected snake_case "
	    "keys): %s", bad);
	free(bad);
	return (-1);
}

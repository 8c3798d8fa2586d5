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
#include "js.h"
#include "json-util.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * The acpx.session.v1 record: parse with the reference's normalisation
 * (parseSessionRecord), serialise in its key order (serializeSessionRecord-
 * ForDisk), camelCase in-memory form, key policy. Unknown top-level keys are
 * kept in extra and written after the known ones.
 */

/* ---------------------------------------------------------------- helpers */

/* String.prototype.trim(): a copy, or NULL if nothing is left. */
char *
session_record_trim(const char *str)
{
	size_t	n;

	if (str == NULL)
		return (NULL);
	n = strlen(str);
	js_trim(&str, &n);
	return (n == 0 ? NULL : xstrndup(str, n));
}

#define record_trim(s)	session_record_trim(s)

/* Trimmed non-empty copy of a session name, or NULL. */
char *
session_record_normalize_name(const char *s)
{
	return (record_trim(s));
}

/* Replace a string field with a copy of v (NULL = absent). */
void
session_record_set(char **field, const char *v)
{
	char	*old = *field;

	*field = v != NULL ? xstrdup(v) : NULL;
	free(old);
}

static void
record_set_json(json_t **field, json_t *v)
{
	json_decref(*field);
	*field = v;
}

static char **
record_argv_copy(char *const *argv)
{
	char	**out;
	size_t	  n, i;

	if (argv == NULL)
		return (NULL);
	for (n = 0; argv[n] != NULL; n++)
		;
	out = xcalloc(n + 1, sizeof *out);
	for (i = 0; i < n; i++)
		out[i] = xstrdup(argv[i]);
	return (out);
}

static void
record_argv_free(char **argv)
{
	size_t	i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* ---------------------------------------------------------- event log */

/* The default event_log object for a record id. */
json_t *
session_record_default_event_log(const char *record_id)
{
	char	*path = session_store_segment_path(record_id, 0);
	json_t	*el;

	el = json_pack("{s:s, s:i, s:I, s:i, s:n}", "active_path", path,
	    "segment_count", SESSION_EVENT_MAX_SEGMENTS, "max_segment_bytes",
	    (json_int_t)SESSION_EVENT_MAX_SEGMENT_BYTES, "max_segments",
	    SESSION_EVENT_MAX_SEGMENTS, "last_write_error");
	free(path);
	return (el);
}

/* ---------------------------------------------------------- create/free */

/* A new open record for a freshly created ACP session. */
struct session_record *
session_record_create(const char *session_id, const char *agent_command,
    char *const *argv, const char *cwd, const char *name, const char *now)
{
	struct session_record	*r;

	r = xcalloc(1, sizeof *r);
	r->record_id = xstrdup(session_id);
	r->acp_session_id = xstrdup(session_id);
	r->agent_command = xstrdup(agent_command);
	r->agent_argv = record_argv_copy(argv);
	r->cwd = xstrdup(cwd);
	r->name = record_trim(name);
	r->created_at = xstrdup(now);
	r->last_used_at = xstrdup(now);
	r->event_log = session_record_default_event_log(session_id);
	r->title = json_null();
	r->messages = json_array();
	r->updated_at = xstrdup(now);
	r->cumulative_token_usage = json_object();
	r->request_token_usage = json_object();
	r->acpx = json_object();
	r->extra = json_object();
	return (r);
}

/* Deep copy. */
struct session_record *
session_record_copy(const struct session_record *r)
{
	struct session_record	*c;

	c = xcalloc(1, sizeof *c);
	c->record_id = xstrdup(r->record_id);
	c->acp_session_id = xstrdup(r->acp_session_id);
	session_record_set(&c->agent_session_id, r->agent_session_id);
	c->agent_command = xstrdup(r->agent_command);
	c->agent_argv = record_argv_copy(r->agent_argv);
	c->cwd = xstrdup(r->cwd);
	session_record_set(&c->name, r->name);
	c->created_at = xstrdup(r->created_at);
	c->last_used_at = xstrdup(r->last_used_at);
	c->last_seq = r->last_seq;
	session_record_set(&c->last_request_id, r->last_request_id);
	c->event_log = json_deep_copy(r->event_log);
	c->closed = r->closed;
	session_record_set(&c->closed_at, r->closed_at);
	c->pid = r->pid;
	session_record_set(&c->agent_started_at, r->agent_started_at);
	session_record_set(&c->last_prompt_at, r->last_prompt_at);
	c->last_agent_exit_code = json_deep_copy(r->last_agent_exit_code);
	c->last_agent_exit_signal = json_deep_copy(r->last_agent_exit_signal);
	session_record_set(&c->last_agent_exit_at, r->last_agent_exit_at);
	session_record_set(&c->last_agent_disconnect_reason,
	    r->last_agent_disconnect_reason);
	c->protocol_version = json_deep_copy(r->protocol_version);
	c->agent_capabilities = json_deep_copy(r->agent_capabilities);
	c->title = json_deep_copy(r->title);
	c->messages = json_deep_copy(r->messages);
	c->updated_at = xstrdup(r->updated_at);
	c->cumulative_token_usage = json_deep_copy(r->cumulative_token_usage);
	c->cumulative_cost = json_deep_copy(r->cumulative_cost);
	c->request_token_usage = json_deep_copy(r->request_token_usage);
	c->acpx = json_deep_copy(r->acpx);
	c->imported_from = json_deep_copy(r->imported_from);
	c->extra = json_deep_copy(r->extra);
	return (c);
}

void
session_record_free(struct session_record *r)
{
	if (r == NULL)
		return;
	free(r->record_id);
	free(r->acp_session_id);
	free(r->agent_session_id);
	free(r->agent_command);
	record_argv_free(r->agent_argv);
	free(r->cwd);
	free(r->name);
	free(r->created_at);
	free(r->last_used_at);
	free(r->last_request_id);
	json_decref(r->event_log);
	free(r->closed_at);
	free(r->agent_started_at);
	free(r->last_prompt_at);
	json_decref(r->last_agent_exit_code);
	json_decref(r->last_agent_exit_signal);
	free(r->last_agent_exit_at);
	free(r->last_agent_disconnect_reason);
	json_decref(r->protocol_version);
	json_decref(r->agent_capabilities);
	json_decref(r->title);
	json_decref(r->messages);
	free(r->updated_at);
	json_decref(r->cumulative_token_usage);
	json_decref(r->cumulative_cost);
	json_decref(r->request_token_usage);
	json_decref(r->acpx);
	json_decref(r->imported_from);
	json_decref(r->extra);
	free(r);
}

/* ---------------------------------------------------------- serialise */

static void
record_put_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

static void
record_put(json_t *o, const char *key, const json_t *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_deep_copy(v));
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
record_build(const struct session_record *r, int camel)
{
	json_t		*o = json_object(), *imp;
	const char	*k;
	json_t		*v;

#define K(snake, cc)	(camel ? (cc) : (snake))
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
			imp = json_deep_copy(r->imported_from);
		json_object_set_new(o, K("imported_from", "importedFrom"), imp);
	}
#undef K
	if (!camel && r->extra != NULL) {
		json_object_foreach(r->extra, k, v) {
			if (json_object_get(o, k) == NULL)
				json_object_set_new(o, k, json_deep_copy(v));
		}
	}
	return (o);
}

/* The on-disk object: known keys in order, then the unknown ones. */
json_t *
session_record_to_disk(const struct session_record *r)
{
	return (record_build(r, 0));
}

/* The camelCase in-memory form (sessions show/list --format json, IPC). */
json_t *
session_record_to_camel(const struct session_record *r)
{
	return (record_build(r, 1));
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

static void
record_check(const json_t *v, const char *path, char **out)
{
	static const char *const maps[] = { "request_token_usage",
	    "messages.Agent.tool_results", "acpx.session_options.env",
	    "acpx.available_model_names" };
	static const char *const opaque[] = { "agent_capabilities",
	    "messages.Agent.content.ToolUse.input",
	    "acpx.desired_config_options", "acpx.config_options",
	    "messages.Agent.tool_results.output" };
	const char	*k;
	const json_t	*c;
	char		*child, *tmp, *norm;
	size_t		 i;
	int		 skip_key = 0, skip;

	if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			record_check(c, path, out);
		return;
	}
	if (!json_is_object(v))
		return;
	for (i = 0; i < nitems(maps); i++) {
		if (strcmp(path, maps[i]) == 0)
			skip_key = 1;
	}
	json_object_foreach((json_t *)v, k, c) {
		if (*path == '\0')
			child = xstrdup(k);
		else
			xasprintf(&child, "%s.%s", path, k);
		if (!skip_key && !record_snake(k)) {
			xasprintf(&tmp, "%s%s%s", *out != NULL ? *out : "",
			    *out != NULL ? ", " : "", child);
			free(*out);
			*out = tmp;
		}
		/* tool_results.<id>.output: compare without the id. */
		norm = NULL;
		if (strncmp(child, "messages.Agent.tool_results.", 28) == 0 &&
		    strchr(child + 28, '.') != NULL &&
		    strcmp(strchr(child + 28, '.'), ".output") == 0)
			norm = xstrdup("messages.Agent.tool_results.output");
		skip = 0;
		for (i = 0; i < nitems(opaque); i++) {
			if (strcmp(norm != NULL ? norm : child, opaque[i]) == 0)
				skip = 1;
		}
		free(norm);
		if (!skip)
			record_check(c, child, out);
		free(child);
	}
}

/* Key policy of a disk object: 0 or -1 with *cause. */
int
session_record_check_keys(const json_t *disk, char **cause)
{
	char	*bad = NULL;

	record_check(disk, "", &bad);
	if (bad == NULL)
		return (0);
	xasprintf(cause, "Persisted key policy violation (expected snake_case "
	    "keys): %s", bad);
	free(bad);
	return (-1);
}

/* ---------------------------------------------------------- setters */

/* The agent was spawned. */
void
session_record_agent_started(struct session_record *r, pid_t pid,
    const char *now)
{
	r->pid = pid;
	session_record_set(&r->agent_started_at, now);
	record_set_json(&r->last_agent_exit_code, NULL);
	record_set_json(&r->last_agent_exit_signal, NULL);
	session_record_set(&r->last_agent_exit_at, NULL);
	session_record_set(&r->last_agent_disconnect_reason, NULL);
}

/* The agent is gone. */
void
session_record_agent_exited(struct session_record *r, int status,
    const char *reason, const char *now)
{
	char	sig[32];

	r->pid = 0;
	record_set_json(&r->last_agent_exit_code, json_null());
	record_set_json(&r->last_agent_exit_signal, json_null());
	if (status >= 0 && WIFEXITED(status))
		record_set_json(&r->last_agent_exit_code,
		    json_integer(WEXITSTATUS(status)));
	else if (status >= 0 && WIFSIGNALED(status)) {
		snprintf(sig, sizeof sig, "SIG%s",
		    sigabbrev_np(WTERMSIG(status)) != NULL ?
		    sigabbrev_np(WTERMSIG(status)) : "UNKNOWN");
		record_set_json(&r->last_agent_exit_signal, json_string(sig));
	}
	session_record_set(&r->last_agent_exit_at, now);
	if (reason != NULL)
		session_record_set(&r->last_agent_disconnect_reason, reason);
}

/* The acpx state object, created empty if absent. */
json_t *
session_record_acpx(struct session_record *r)
{
	if (r->acpx == NULL)
		r->acpx = json_object();
	return (r->acpx);
}

/* {value, name} strings, or NULL. */
static int
record_model_entry(const json_t *o, const char *idkey, json_t *ids,
    json_t *names)
{
	if (json_str(o, idkey) == NULL || json_str(o, "name") == NULL)
		return (0);
	json_array_append_new(ids, json_string(json_str(o, idkey)));
	json_object_set_new(names, json_str(o, idkey),
	    json_string(json_str(o, "name")));
	return (1);
}

/*
 * modelStateFromConfigOptions: {"configId","current","ids","names"} of the
 * best model select option, or NULL. Caller owns.
 */
static json_t *
record_config_models(const json_t *opts)
{
	const json_t	*o, *e, *g;
	json_t		*best = NULL, *ids, *names;
	const char	*type, *cat, *id;
	size_t		 i, j, k;
	int		 prio, best_prio = -1, ok;

	json_array_foreach(opts, i, o) {
		type = json_str(o, "type");
		cat = json_str(o, "category");
		id = json_str(o, "id");
		if (type == NULL || strcmp(type, "select") != 0 || id == NULL ||
		    json_str(o, "currentValue") == NULL ||
		    !((cat != NULL && strcmp(cat, "model") == 0) ||
		    strcmp(id, "model") == 0) ||
		    !json_is_array(json_object_get(o, "options")))
			continue;
		ids = json_array();
		names = json_object();
		ok = 1;
		json_array_foreach(json_object_get(o, "options"), j, e) {
			if (!record_model_entry(e, "value", ids, names))
				ok = 0;
		}
		if (!ok) {
			json_array_clear(ids);
			json_object_clear(names);
			ok = 1;
			json_array_foreach(json_object_get(o, "options"), j, g) {
				if (json_str(g, "group") == NULL ||
				    json_str(g, "name") == NULL ||
				    !json_is_array(json_object_get(g, "options"))) {
					ok = 0;
					break;
				}
				json_array_foreach(json_object_get(g, "options"),
				    k, e) {
					if (!record_model_entry(e, "value", ids,
					    names))
						ok = 0;
				}
			}
		}
		prio = cat != NULL && strcmp(cat, "model") == 0 ?
		    (strcmp(id, "model") == 0 ? 2 : 1) : 0;
		if (!ok || prio <= best_prio) {
			json_decref(ids);
			json_decref(names);
			continue;
		}
		json_decref(best);
		best = json_pack("{s:s, s:s, s:o, s:o}", "configId", id,
		    "current", json_str(o, "currentValue"), "ids", ids, "names",
		    names);
		best_prio = prio;
	}
	return (best);
}

/* modelStateFromLegacyResponse, or NULL. Caller owns. */
static json_t *
record_legacy_models(const json_t *result)
{
	const json_t	*models = json_object_get(result, "models"), *e;
	json_t		*ids, *names;
	size_t		 i;

	if (!json_is_object(models) || json_str(models, "currentModelId") ==
	    NULL || !json_is_array(json_object_get(models, "availableModels")))
		return (NULL);
	ids = json_array();
	names = json_object();
	json_array_foreach(json_object_get(models, "availableModels"), i, e)
		(void)record_model_entry(e, "modelId", ids, names);
	return (json_pack("{s:s, s:o, s:o}", "current",
	    json_str(models, "currentModelId"), "ids", ids, "names", names));
}

/* applyAdvertisedModelState. */
static void
record_advertise(json_t *acpx, const json_t *models)
{
	json_object_set(acpx, "current_model_id", json_object_get(models,
	    "current"));
	json_object_set_new(acpx, "available_models",
	    json_deep_copy(json_object_get(models, "ids")));
	json_object_set_new(acpx, "available_model_names",
	    json_deep_copy(json_object_get(models, "names")));
	json_object_set_new(acpx, "model_control", json_string(
	    json_object_get(models, "configId") != NULL ? "config_option" :
	    "legacy_set_model"));
}

static void
record_clear_models(json_t *acpx)
{
	json_object_del(acpx, "current_model_id");
	json_object_del(acpx, "available_models");
	json_object_del(acpx, "available_model_names");
	json_object_del(acpx, "model_control");
}

/*
 * cloneSessionAcpxState's key order (its keys exist even when undefined,
 * so later assignments keep these positions); reset_on_next_ensure and
 * unknown keys are not cloned, except the Warp routing state, which is
 * ours and not the agent's to reset: an agent that answers with
 * configOptions (opencode does, on session/new, load and resume) must not
 * make a session forget the agent that serves it. Returns a new object.
 */
static json_t *
record_acpx_clone(const json_t *acpx, int *had_names)
{
	static const char *const order[] = { "current_mode_id",
	    "desired_mode_id", "desired_config_options", "current_model_id",
	    "available_models", "available_model_names", "model_control",
	    "available_commands", "config_options", "session_options",
	    "serving_agent", "routing_history" };
	json_t	*c = json_object();
	size_t	 i;

	*had_names = json_object_get(acpx, "available_model_names") != NULL;
	for (i = 0; i < nitems(order); i++) {
		if (json_object_get(acpx, order[i]) != NULL)
			json_object_set_new(c, order[i],
			    json_deep_copy(json_object_get(acpx, order[i])));
	}
	return (c);
}

/* Lay out acpx in the clone order (positions of undefined keys kept). */
static json_t *
record_acpx_layout(const json_t *acpx, int had_names)
{
	static const char *const order[] = { "current_mode_id",
	    "desired_mode_id", "desired_config_options", "current_model_id",
	    "available_models", "available_model_names", "model_control",
	    "available_commands", "config_options", "session_options" };
	json_t		*c = json_object(), *v;
	const char	*k;
	size_t		 i;

	for (i = 0; i < nitems(order); i++) {
		if (!had_names && strcmp(order[i], "available_model_names") == 0)
			continue;
		if ((v = json_object_get(acpx, order[i])) != NULL)
			json_object_set(c, order[i], v);
	}
	json_object_foreach((json_t *)acpx, k, v) {
		if (json_object_get(c, k) == NULL)
			json_object_set(c, k, v);
	}
	return (c);
}

/*
 * applyConfigOptionsModelState on acpx (in place): config_options and the
 * model state they advertise, keeping legacy set_model control.
 */
static void
record_apply_config_state(json_t *acpx, const json_t *opts)
{
	json_t		*prev, *models;
	const char	*mc = json_str(acpx, "model_control");
	int		 legacy;

	prev = record_config_models(json_object_get(acpx, "config_options"));
	legacy = (mc != NULL && strcmp(mc, "legacy_set_model") == 0) ||
	    (mc == NULL && prev == NULL &&
	    json_is_array(json_object_get(acpx, "available_models")));
	json_decref(prev);
	json_object_set_new(acpx, "config_options", json_deep_copy(opts));
	if ((models = record_config_models(opts)) != NULL) {
		record_advertise(acpx, models);
		json_decref(models);
	} else if (legacy)
		json_object_set_new(acpx, "model_control",
		    json_string("legacy_set_model"));
	else
		record_clear_models(acpx);
}

/* config_option_update: the options and their model state, no re-layout. */
void
session_record_apply_config_update(struct session_record *r,
    const json_t *opts)
{
	if (json_is_array(opts))
		record_apply_config_state(session_record_acpx(r), opts);
}

/* Record what an ACP session response told us. */
void
session_record_apply_session_result(struct session_record *r,
    const json_t *result)
{
	const json_t	*meta, *opts;
	char		*asid = NULL;
	json_t		*acpx, *clone, *models;
	int		 had_names;

	meta = json_object_get(result, "_meta");
	if (json_is_object(meta)) {
		if ((asid = record_trim(json_str(meta, "agentSessionId"))) == NULL)
			asid = record_trim(json_str(meta, "sessionId"));
	}
	if (asid != NULL) {
		free(r->agent_session_id);
		r->agent_session_id = asid;
	}
	acpx = session_record_acpx(r);
	opts = json_object_get(result, "configOptions");
	if (json_is_array(opts)) {
		/* applyConfigOptionsToState works on a clone. */
		clone = record_acpx_clone(acpx, &had_names);
		record_apply_config_state(clone, opts);
		json_decref(r->acpx);
		r->acpx = record_acpx_layout(clone, had_names);
		json_decref(clone);
		acpx = r->acpx;
	}
	/* syncAdvertisedModelState with the session's models. */
	if ((models = record_config_models(opts)) == NULL)
		models = record_legacy_models(result);
	if (models != NULL) {
		record_advertise(acpx, models);
		json_decref(models);
	}
}

/* Record initialize's protocolVersion and agentCapabilities. */
void
session_record_apply_init(struct session_record *r, const json_t *init)
{
	const json_t	*v;

	if (json_is_number(v = json_object_get(init, "protocolVersion")))
		record_set_json(&r->protocol_version, json_incref((json_t *)v));
	if (json_is_object(v = json_object_get(init, "agentCapabilities")))
		record_set_json(&r->agent_capabilities, json_deep_copy(v));
}

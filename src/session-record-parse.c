#include <config.h>

#include <sys/types.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "agent-registry.h"
#include "json-util.h"
#include "session-record.h"
#include "xmalloc.h"

/*
 * Parsing and validation of acpx.session.v1 records with the reference's
 * normalisation (session/persistence/parse.ts): a file that breaks a rule
 * is not a record; optional parts are normalised (token usage fields in
 * order, the acpx state rebuilt key by key, an invalid event log replaced
 * by the default); unknown top-level keys are kept in extra.
 */

#define record_trim(s)	session_record_trim(s)


/* Disk keys the parser understands, in serialisation order. */
static const char *const record_keys[] = {
	"schema", "acpx_record_id", "acp_session_id", "agent_session_id",
	"agent_command", "agent_argv", "cwd", "name", "created_at",
	"last_used_at", "last_seq", "last_request_id", "event_log", "closed",
	"closed_at", "pid", "agent_started_at", "last_prompt_at",
	"last_agent_exit_code", "last_agent_exit_signal", "last_agent_exit_at",
	"last_agent_disconnect_reason", "protocol_version",
	"agent_capabilities", "title", "messages", "updated_at",
	"cumulative_token_usage", "cumulative_cost", "request_token_usage",
	"acpx", "imported_from"
};

static const char *const usage_fields[] = {
	"input_tokens", "output_tokens", "cache_creation_input_tokens",
	"cache_read_input_tokens", "thought_tokens", "total_tokens"
};

/* Commands of earlier built-in versions whose argv is today's built-in's. */
static const struct {
	const char	*name;
	const char	*command;
} record_legacy[] = {
	{ "pi", "npx pi-acp" },
	{ "pi", "npx pi-acp@^0.0.22" },
	{ "pi", "npx pi-acp@^0.0.26" },
	{ "codex", "npx @zed-industries/codex-acp" },
	{ "codex", "npx @zed-industries/codex-acp@^0.9.5" },
	{ "codex", "npx @zed-industries/codex-acp@^0.10.0" },
	{ "codex", "npx @zed-industries/codex-acp@^0.11.1" },
	{ "codex", "npx @zed-industries/codex-acp@^0.12.0" },
	{ "codex", "npx -y @agentclientprotocol/codex-acp@^0.0.44" },
	{ "codex", "npx -y @agentclientprotocol/codex-acp@^1.1.4" },
	{ "claude", "npx @zed-industries/claude-agent-acp" },
	{ "claude", "npx -y @zed-industries/claude-agent-acp" },
	{ "claude", "npx -y @zed-industries/claude-agent-acp@^0.21.0" },
	{ "claude", "npx -y @zed-industries/claude-agent-acp@^0.23.1" },
	{ "claude", "npx -y @zed-industries/claude-agent-acp@^0.24.2" },
	{ "claude", "npx -y @zed-industries/claude-agent-acp@^0.25.0" },
	{ "claude", "npx -y @zed-industries/claude-agent-acp@^0.31.0" },
	{ "claude", "npx -y @agentclientprotocol/claude-agent-acp@^0.36.1" },
	{ "claude", "npx -y @agentclientprotocol/claude-agent-acp@^0.37.0" },
	{ "claude", "npm exec @agentclientprotocol/claude-agent-acp@^0.36.1" },
	{ "claude", "npm exec @agentclientprotocol/claude-agent-acp@^0.37.0" },
	{ "gemini", "gemini" },
	{ "gemini", "gemini --experimental-acp" },
	{ "kiro", "kiro-cli acp" },
	{ "mux", "npx -y mux@^0.27.0 acp" },
	{ "opencode", "npx opencode-ai" },
};

/* ---------------------------------------------------------------- helpers */

/* Number.isInteger(v). */
static int
record_is_int(const json_t *v, long long *out)
{
	double	d;

	if (json_is_integer(v)) {
		if (out != NULL)
			*out = json_integer_value(v);
		return (1);
	}
	if (!json_is_real(v))
		return (0);
	d = json_real_value(v);
	if (!isfinite(d) || floor(d) != d || fabs(d) > 9007199254740991.0)
		return (0);
	if (out != NULL)
		*out = (long long)d;
	return (1);
}

static int
record_is_nonneg(const json_t *v)
{
	return (json_is_number(v) && isfinite(json_number_value(v)) &&
	    json_number_value(v) >= 0);
}

static int
record_is_pos_int(const json_t *v)
{
	long long	n;

	return (record_is_int(v, &n) && n > 0);
}

/* Optional string: absent/null → 0 (*out NULL), string → 0, else -1. */
static int
record_opt_str(const json_t *obj, const char *key, char **out)
{
	const json_t	*v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return (0);
	if (!json_is_string(v))
		return (-1);
	*out = xstrdup(json_string_value(v));
	return (0);
}

/* Built-in agent commands, resolved once: parsing 1,000 records stays cheap. */
static char	**parse_builtin_commands;
static size_t	  parse_nbuiltins;

static const char *
record_builtin_name(const char *command)
{
	struct agent_spec	 spec;
	size_t			 i;

	if (parse_builtin_commands == NULL) {
		parse_nbuiltins = agent_registry_count();
		parse_builtin_commands = xcalloc(parse_nbuiltins,
		    sizeof *parse_builtin_commands);
		for (i = 0; i < parse_nbuiltins; i++) {
			agent_registry_resolve(NULL, agent_registry_name(i), NULL,
			    &spec);
			parse_builtin_commands[i] = spec.command;
			spec.command = NULL;
			agent_spec_clear(&spec);
		}
	}
	for (i = 0; i < parse_nbuiltins; i++) {
		if (parse_builtin_commands[i] != NULL &&
		    strcmp(parse_builtin_commands[i], command) == 0)
			return (agent_registry_name(i));
	}
	for (i = 0; i < nitems(record_legacy); i++) {
		if (strcmp(record_legacy[i].command, command) == 0)
			return (record_legacy[i].name);
	}
	return (NULL);
}

/* resolveAgentArgvForCommand: today's argv of the built-in that had command. */
static char **
record_builtin_argv(const char *command)
{
	struct agent_spec	 spec;
	const char		*name;
	char			**argv;

	if ((name = record_builtin_name(command)) == NULL)
		return (NULL);
	agent_registry_resolve(NULL, name, NULL, &spec);
	argv = spec.argv;
	spec.argv = NULL;
	agent_spec_clear(&spec);
	return (argv);
}

/* ---------------------------------------------------------- conversation */

static int
record_valid_image(const json_t *v)
{
	const json_t	*size;

	if (!json_is_object(v) || !json_is_string(json_object_get(v, "source")))
		return (0);
	size = json_object_get(v, "size");
	if (size == NULL || json_is_null(size))
		return (1);
	return (json_is_object(size) &&
	    json_is_number(json_object_get(size, "width")) &&
	    isfinite(json_number_value(json_object_get(size, "width"))) &&
	    json_is_number(json_object_get(size, "height")) &&
	    isfinite(json_number_value(json_object_get(size, "height"))));
}

static int
record_opt_string_ok(const json_t *v)
{
	return (v == NULL || json_is_null(v) || json_is_string(v));
}

static int
record_valid_user_content(const json_t *v)
{
	const json_t	*m;

	if (!json_is_object(v))
		return (0);
	if (json_is_string(json_object_get(v, "Text")))
		return (1);
	if ((m = json_object_get(v, "Mention")) != NULL)
		return (json_is_object(m) && json_is_string(json_object_get(m,
		    "uri")) && json_is_string(json_object_get(m, "content")));
	if ((m = json_object_get(v, "Image")) != NULL)
		return (record_valid_image(m));
	if ((m = json_object_get(v, "Audio")) != NULL)
		return (json_is_object(m) && json_is_string(json_object_get(m,
		    "source")) && json_is_string(json_object_get(m, "mime_type")));
	return (0);
}

static int
record_valid_agent_content(const json_t *v)
{
	const json_t	*m;

	if (!json_is_object(v))
		return (0);
	if (json_is_string(json_object_get(v, "Text")))
		return (1);
	if ((m = json_object_get(v, "Thinking")) != NULL)
		return (json_is_object(m) && json_is_string(json_object_get(m,
		    "text")) && record_opt_string_ok(json_object_get(m,
		    "signature")));
	if (json_is_string(json_object_get(v, "RedactedThinking")))
		return (1);
	if ((m = json_object_get(v, "ToolUse")) != NULL)
		return (json_is_object(m) &&
		    json_is_string(json_object_get(m, "id")) &&
		    json_is_string(json_object_get(m, "name")) &&
		    json_is_string(json_object_get(m, "raw_input")) &&
		    json_object_get(m, "input") != NULL &&
		    json_is_boolean(json_object_get(m, "is_input_complete")) &&
		    record_opt_string_ok(json_object_get(m,
		    "thought_signature")));
	return (0);
}

static int
record_valid_tool_result(const json_t *v)
{
	const json_t	*c;

	if (!json_is_object(v) ||
	    !json_is_string(json_object_get(v, "tool_use_id")) ||
	    !json_is_string(json_object_get(v, "tool_name")) ||
	    !json_is_boolean(json_object_get(v, "is_error")))
		return (0);
	c = json_object_get(v, "content");
	if (!json_is_object(c))
		return (0);
	if (json_is_string(json_object_get(c, "Text")))
		return (1);
	if (json_object_get(c, "Image") != NULL)
		return (record_valid_image(json_object_get(c, "Image")));
	return (0);
}

static int
record_valid_message(const json_t *m)
{
	const json_t	*u, *e, *tr;
	const char	*k;
	size_t		 i;

	if (json_is_string(m))
		return (strcmp(json_string_value(m), "Resume") == 0);
	if (!json_is_object(m))
		return (0);
	if ((u = json_object_get(m, "User")) != NULL) {
		if (!json_is_object(u) || !json_is_string(json_object_get(u,
		    "id")) || !json_is_array(json_object_get(u, "content")))
			return (0);
		json_array_foreach(json_object_get(u, "content"), i, e) {
			if (!record_valid_user_content(e))
				return (0);
		}
		return (1);
	}
	if ((u = json_object_get(m, "Agent")) != NULL) {
		if (!json_is_object(u) || !json_is_array(json_object_get(u,
		    "content")))
			return (0);
		json_array_foreach(json_object_get(u, "content"), i, e) {
			if (!record_valid_agent_content(e))
				return (0);
		}
		tr = json_object_get(u, "tool_results");
		if (!json_is_object(tr))
			return (0);
		json_object_foreach((json_t *)tr, k, e) {
			if (!record_valid_tool_result(e))
				return (0);
		}
		return (1);
	}
	return (0);
}

/* parseTokenUsage: NULL (absent/null) → *out NULL; invalid → -1. */
static int
record_parse_usage(const json_t *raw, json_t **out)
{
	const json_t	*v;
	size_t		 i;

	*out = NULL;
	if (raw == NULL || json_is_null(raw))
		return (0);
	if (!json_is_object(raw))
		return (-1);
	*out = json_object();
	for (i = 0; i < nitems(usage_fields); i++) {
		if ((v = json_object_get(raw, usage_fields[i])) == NULL)
			continue;
		if (!record_is_nonneg(v)) {
			json_decref(*out);
			*out = NULL;
			return (-1);
		}
		json_object_set(*out, usage_fields[i], (json_t *)v);
	}
	return (0);
}

static int
record_parse_cost(const json_t *raw, json_t **out)
{
	const json_t	*amount, *currency;
	char		*cur;

	*out = NULL;
	if (raw == NULL || json_is_null(raw))
		return (0);
	if (!json_is_object(raw))
		return (-1);
	amount = json_object_get(raw, "amount");
	currency = json_object_get(raw, "currency");
	if (amount != NULL && !record_is_nonneg(amount))
		return (-1);
	if (currency != NULL && !json_is_string(currency))
		return (-1);
	*out = json_object();
	if (amount != NULL)
		json_object_set(*out, "amount", (json_t *)amount);
	if (currency != NULL &&
	    (cur = record_trim(json_string_value(currency))) != NULL) {
		json_object_set_new(*out, "currency", json_string(cur));
		free(cur);
	}
	if (json_object_size(*out) == 0) {
		json_decref(*out);
		*out = NULL;
	}
	return (0);
}

static int
record_parse_request_usage(const json_t *raw, json_t **out)
{
	const char	*k;
	json_t		*v, *u;

	*out = NULL;
	if (raw == NULL || json_is_null(raw))
		return (0);
	if (!json_is_object(raw))
		return (-1);
	*out = json_object();
	json_object_foreach((json_t *)raw, k, v) {
		if (record_parse_usage(v, &u) == -1 || u == NULL) {
			json_decref(*out);
			*out = NULL;
			return (-1);
		}
		json_object_set_new(*out, k, u);
	}
	return (0);
}

/* ---------------------------------------------------------- acpx state */

/* Object of the string values of raw, or NULL (empty unless keep_empty). */
static json_t *
record_string_map(const json_t *raw, int keep_empty)
{
	const char	*k;
	json_t		*v, *out;

	if (!json_is_object(raw))
		return (NULL);
	out = json_object();
	json_object_foreach((json_t *)raw, k, v) {
		if (json_is_string(v))
			json_object_set(out, k, v);
	}
	if (json_object_size(out) == 0 && !keep_empty) {
		json_decref(out);
		return (NULL);
	}
	return (out);
}

static int
record_string_array(const json_t *v)
{
	const json_t	*e;
	size_t		 i;

	if (!json_is_array(v))
		return (0);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return (0);
	}
	return (1);
}

static json_t *
record_parse_commands(const json_t *raw)
{
	const json_t	*e;
	json_t		*out, *cmd;
	char		*name, *desc;
	size_t		 i;

	if (!json_is_array(raw))
		return (NULL);
	out = json_array();
	json_array_foreach(raw, i, e) {
		if (json_is_string(e)) {
			if ((name = record_trim(json_string_value(e))) != NULL) {
				json_array_append_new(out,
				    json_pack("{s:s}", "name", name));
				free(name);
			}
			continue;
		}
		if (!json_is_object(e) || (name = record_trim(json_str(e,
		    "name"))) == NULL)
			continue;
		cmd = json_pack("{s:s}", "name", name);
		free(name);
		if ((desc = record_trim(json_str(e, "description"))) != NULL) {
			json_object_set_new(cmd, "description",
			    json_string(desc));
			free(desc);
		}
		if (json_is_boolean(json_object_get(e, "has_input")))
			json_object_set(cmd, "has_input",
			    json_object_get(e, "has_input"));
		json_array_append_new(out, cmd);
	}
	if (json_array_size(out) == 0) {
		json_decref(out);
		return (NULL);
	}
	return (out);
}

static json_t *
record_parse_session_options(const json_t *raw)
{
	json_t		*out, *m;
	const json_t	*sp;

	if (!json_is_object(raw))
		return (NULL);
	out = json_object();
	if (json_is_string(json_object_get(raw, "model")))
		json_object_set(out, "model", json_object_get(raw, "model"));
	if (record_string_array(json_object_get(raw, "allowed_tools")))
		json_object_set_new(out, "allowed_tools",
		    json_deep_copy(json_object_get(raw, "allowed_tools")));
	if (record_is_pos_int(json_object_get(raw, "max_turns")))
		json_object_set(out, "max_turns",
		    json_object_get(raw, "max_turns"));
	sp = json_object_get(raw, "system_prompt");
	if (json_is_string(sp) && json_string_length(sp) > 0)
		json_object_set(out, "system_prompt", (json_t *)sp);
	else if (json_is_object(sp) && json_str(sp, "append") != NULL &&
	    *json_str(sp, "append") != '\0')
		json_object_set_new(out, "system_prompt", json_pack("{s:s}",
		    "append", json_str(sp, "append")));
	if ((m = record_string_map(json_object_get(raw, "env"), 0)) != NULL)
		json_object_set_new(out, "env", m);
	if (json_object_size(out) == 0) {
		json_decref(out);
		return (NULL);
	}
	return (out);
}

static int
record_has_model_option(const json_t *options)
{
	const json_t	*o;
	const char	*s;
	size_t		 i;

	json_array_foreach(options, i, o) {
		if (((s = json_str(o, "category")) != NULL &&
		    strcmp(s, "model") == 0) ||
		    ((s = json_str(o, "id")) != NULL && strcmp(s, "model") == 0))
			return (1);
	}
	return (0);
}

/* parseAcpxState: the reference's normalised acpx object, or NULL. */
static json_t *
record_parse_acpx(const json_t *raw)
{
	json_t		*st, *m;
	const json_t	*v, *e;
	const char	*mc;
	size_t		 i;
	int		 objs;

	if (!json_is_object(raw))
		return (NULL);
	st = json_object();
	if (json_is_true(json_object_get(raw, "reset_on_next_ensure")))
		json_object_set_new(st, "reset_on_next_ensure", json_true());
	if (json_is_string(v = json_object_get(raw, "current_mode_id")))
		json_object_set(st, "current_mode_id", (json_t *)v);
	if (json_is_string(v = json_object_get(raw, "desired_mode_id")))
		json_object_set(st, "desired_mode_id", (json_t *)v);
	if ((m = record_string_map(json_object_get(raw,
	    "desired_config_options"), 0)) != NULL)
		json_object_set_new(st, "desired_config_options", m);
	if ((m = record_string_map(json_object_get(raw,
	    "available_model_names"), 1)) != NULL)
		json_object_set_new(st, "available_model_names", m);
	if (json_is_string(v = json_object_get(raw, "current_model_id")))
		json_object_set(st, "current_model_id", (json_t *)v);
	if (record_string_array(v = json_object_get(raw, "available_models")))
		json_object_set_new(st, "available_models", json_deep_copy(v));
	mc = json_str(raw, "model_control");
	if (mc != NULL && (strcmp(mc, "config_option") == 0 ||
	    strcmp(mc, "legacy_set_model") == 0))
		json_object_set_new(st, "model_control", json_string(mc));
	v = json_object_get(raw, "config_options");
	if (json_is_array(v)) {
		objs = 1;
		json_array_foreach(v, i, e) {
			if (!json_is_object(e))
				objs = 0;
		}
		if (objs)
			json_object_set_new(st, "config_options",
			    json_deep_copy(v));
	}
	if (json_object_get(st, "model_control") == NULL &&
	    json_object_get(st, "available_models") != NULL)
		json_object_set_new(st, "model_control", json_string(
		    record_has_model_option(json_object_get(st,
		    "config_options")) ? "config_option" : "legacy_set_model"));
	if ((m = record_parse_commands(json_object_get(raw,
	    "available_commands"))) != NULL)
		json_object_set_new(st, "available_commands", m);
	if ((m = record_parse_session_options(json_object_get(raw,
	    "session_options"))) != NULL)
		json_object_set_new(st, "session_options", m);
	/* Warp routing (ours, issue 7): the serving agent and its history. */
	if (json_is_string(v = json_object_get(raw, "serving_agent")))
		json_object_set(st, "serving_agent", (json_t *)v);
	if (json_is_array(v = json_object_get(raw, "routing_history")))
		json_object_set_new(st, "routing_history", json_deep_copy(v));
	return (st);
}

/* ---------------------------------------------------------- event log */

static json_t *
record_parse_event_log(const json_t *raw, const char *record_id)
{
	json_t		*el;
	const json_t	*v;

	if (!json_is_object(raw) || !json_is_string(json_object_get(raw,
	    "active_path")) ||
	    !record_is_pos_int(json_object_get(raw, "segment_count")) ||
	    !record_is_pos_int(json_object_get(raw, "max_segment_bytes")) ||
	    !record_is_pos_int(json_object_get(raw, "max_segments")))
		return (session_record_default_event_log(record_id));
	el = json_object();
	json_object_set(el, "active_path", json_object_get(raw, "active_path"));
	json_object_set(el, "segment_count",
	    json_object_get(raw, "segment_count"));
	json_object_set(el, "max_segment_bytes",
	    json_object_get(raw, "max_segment_bytes"));
	json_object_set(el, "max_segments", json_object_get(raw, "max_segments"));
	if (json_is_string(v = json_object_get(raw, "last_write_at")))
		json_object_set(el, "last_write_at", (json_t *)v);
	v = json_object_get(raw, "last_write_error");
	if (v != NULL)
		json_object_set_new(el, "last_write_error", json_is_string(v) ?
		    json_incref((json_t *)v) : json_null());
	return (el);
}

/* ---------------------------------------------------------- parse */

static struct session_record *
record_fail(struct session_record *r, char **cause, const char *why)
{
	session_record_free(r);
	if (cause != NULL)
		*cause = xstrdup(why);
	return (NULL);
}

static int
record_is_known(const char *key)
{
	size_t	i;

	for (i = 0; i < nitems(record_keys); i++) {
		if (strcmp(record_keys[i], key) == 0)
			return (1);
	}
	return (0);
}

/* Parse a record file's JSON with the reference's rules. */
struct session_record *
session_record_parse(const json_t *o, char **cause)
{
	struct session_record	*r;
	const json_t		*v, *e;
	const char		*k;
	long long		 n;
	size_t			 i;
	static const char *const required[] = { "acpx_record_id",
	    "acp_session_id", "agent_command", "cwd", "created_at",
	    "last_used_at" };

	if (cause != NULL)
		*cause = NULL;
	if (!json_is_object(o))
		return (record_fail(NULL, cause, "not a JSON object"));
	if ((k = json_str(o, "schema")) == NULL ||
	    strcmp(k, SESSION_RECORD_SCHEMA) != 0)
		return (record_fail(NULL, cause, "unsupported schema"));
	for (i = 0; i < nitems(required); i++) {
		if (!json_is_string(json_object_get(o, required[i])))
			return (record_fail(NULL, cause, "missing required "
			    "fields"));
	}
	if (!record_is_int(json_object_get(o, "last_seq"), &n) || n < 0)
		return (record_fail(NULL, cause, "invalid last_seq"));

	r = xcalloc(1, sizeof *r);
	r->record_id = xstrdup(json_str(o, "acpx_record_id"));
	r->acp_session_id = xstrdup(json_str(o, "acp_session_id"));
	r->agent_session_id = record_trim(json_str(o, "agent_session_id"));
	r->agent_command = xstrdup(json_str(o, "agent_command"));
	r->cwd = xstrdup(json_str(o, "cwd"));
	r->created_at = xstrdup(json_str(o, "created_at"));
	r->last_used_at = xstrdup(json_str(o, "last_used_at"));
	r->last_seq = n;
	r->messages = NULL;
	r->extra = json_object();

	v = json_object_get(o, "agent_argv");
	if (record_string_array(v) && json_array_size(v) > 0 &&
	    json_string_length(json_array_get(v, 0)) > 0) {
		r->agent_argv = xcalloc(json_array_size(v) + 1,
		    sizeof *r->agent_argv);
		json_array_foreach(v, i, e)
			r->agent_argv[i] = xstrdup(json_string_value(e));
	} else
		r->agent_argv = record_builtin_argv(r->agent_command);

	v = json_object_get(o, "name");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return (record_fail(r, cause, "invalid name"));
		r->name = record_trim(json_string_value(v));
	}
	v = json_object_get(o, "pid");
	if (v != NULL && !json_is_null(v)) {
		if (!record_is_int(v, &n) || n <= 0 || n > 0x7fffffff)
			return (record_fail(r, cause, "invalid pid"));
		r->pid = (pid_t)n;
	}
	v = json_object_get(o, "closed");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return (record_fail(r, cause, "invalid closed"));
		r->closed = json_is_true(v);
	}
	if (record_opt_str(o, "closed_at", &r->closed_at) == -1 ||
	    record_opt_str(o, "agent_started_at", &r->agent_started_at) == -1 ||
	    record_opt_str(o, "last_prompt_at", &r->last_prompt_at) == -1 ||
	    record_opt_str(o, "last_agent_exit_at", &r->last_agent_exit_at) ==
	    -1 || record_opt_str(o, "last_agent_disconnect_reason",
	    &r->last_agent_disconnect_reason) == -1 ||
	    record_opt_str(o, "last_request_id", &r->last_request_id) == -1)
		return (record_fail(r, cause, "invalid optional string field"));
	v = json_object_get(o, "last_agent_exit_code");
	if (v != NULL) {
		if (json_is_null(v))
			r->last_agent_exit_code = json_null();
		else if (record_is_int(v, &n))
			r->last_agent_exit_code = json_incref((json_t *)v);
		else
			return (record_fail(r, cause, "invalid exit code"));
	}
	v = json_object_get(o, "last_agent_exit_signal");
	if (v != NULL) {
		if (!json_is_null(v) && !json_is_string(v))
			return (record_fail(r, cause, "invalid exit signal"));
		r->last_agent_exit_signal = json_incref((json_t *)v);
	}

	/* Conversation. */
	v = json_object_get(o, "messages");
	if (!json_is_array(v))
		return (record_fail(r, cause, "invalid messages"));
	json_array_foreach(v, i, e) {
		if (!record_valid_message(e))
			return (record_fail(r, cause, "invalid message"));
	}
	if (!json_is_string(json_object_get(o, "updated_at")))
		return (record_fail(r, cause, "invalid updated_at"));
	r->updated_at = xstrdup(json_str(o, "updated_at"));
	v = json_object_get(o, "title");
	if (v != NULL) {
		if (!json_is_null(v) && !json_is_string(v))
			return (record_fail(r, cause, "invalid title"));
		r->title = json_incref((json_t *)v);
	}
	if (record_parse_usage(json_object_get(o, "cumulative_token_usage"),
	    &r->cumulative_token_usage) == -1 ||
	    record_parse_cost(json_object_get(o, "cumulative_cost"),
	    &r->cumulative_cost) == -1 ||
	    record_parse_request_usage(json_object_get(o, "request_token_usage"),
	    &r->request_token_usage) == -1)
		return (record_fail(r, cause, "invalid token usage"));
	if (r->cumulative_token_usage == NULL)
		r->cumulative_token_usage = json_object();
	if (r->request_token_usage == NULL)
		r->request_token_usage = json_object();
	/* Shared with the input, which the caller drops (scan, load). */
	r->messages = json_incref(json_object_get(o, "messages"));

	v = json_object_get(o, "imported_from");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_object(v) ||
		    !json_is_string(json_object_get(v, "record_id")) ||
		    !json_is_string(json_object_get(v, "cwd_original")) ||
		    !json_is_string(json_object_get(v, "exported_by")) ||
		    !json_is_string(json_object_get(v, "exported_at")))
			return (record_fail(r, cause, "invalid imported_from"));
		r->imported_from = json_pack("{s:O, s:O, s:O, s:O}",
		    "record_id", json_object_get(v, "record_id"),
		    "cwd_original", json_object_get(v, "cwd_original"),
		    "exported_by", json_object_get(v, "exported_by"),
		    "exported_at", json_object_get(v, "exported_at"));
	}

	r->event_log = record_parse_event_log(json_object_get(o, "event_log"),
	    r->record_id);
	if (json_is_number(v = json_object_get(o, "protocol_version")))
		r->protocol_version = json_incref((json_t *)v);
	if (json_is_object(v = json_object_get(o, "agent_capabilities")))
		r->agent_capabilities = json_incref((json_t *)v);
	r->acpx = record_parse_acpx(json_object_get(o, "acpx"));

	json_object_foreach((json_t *)o, k, e) {
		if (!record_is_known(k))
			json_object_set_new(r->extra, k, json_deep_copy(e));
	}
	return (r);
}


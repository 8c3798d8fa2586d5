#include <config.h>

#include <sys/types.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "agent-registry.h"
#include "jget.h"
#include "js.h"
#include "session-record-impl.h"
#include "xmalloc.h"

/*
 * Parsing and validation of acpx.session.v1 records with the reference's
 * normalisation (session/persistence/parse.ts): a file that breaks a rule
 * is not a record; optional parts are normalised (token usage fields in
 * order, the acpx state rebuilt key by key, an invalid event log replaced
 * by the default); unknown top-level keys are kept in extra. The messages
 * are checked in session-record-msg.c, the optional parts normalised in
 * session-record-state.c.
 */

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
	if (!isfinite(d) || js_floor(d) != d || fabs(d) > 9007199254740991.0)
		return (0);
	if (out != NULL)
		*out = (long long)d;
	return (1);
}

int
session_record_is_nonneg(const json_t *v)
{
	return (json_is_number(v) && isfinite(json_number_value(v)) &&
	    json_number_value(v) >= 0);
}

int
session_record_is_pos_int(const json_t *v)
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
			agent_registry_spec_clear(&spec);
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
	agent_registry_spec_clear(&spec);
	return (argv);
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
	if ((k = jget_str(o, "schema")) == NULL ||
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
	r->record_id = xstrdup(jget_str(o, "acpx_record_id"));
	r->acp_session_id = xstrdup(jget_str(o, "acp_session_id"));
	r->agent_session_id = session_record_trim(jget_str(o, "agent_session_id"));
	r->agent_command = xstrdup(jget_str(o, "agent_command"));
	r->cwd = xstrdup(jget_str(o, "cwd"));
	r->created_at = xstrdup(jget_str(o, "created_at"));
	r->last_used_at = xstrdup(jget_str(o, "last_used_at"));
	r->last_seq = n;
	r->messages = NULL;
	r->extra = json_object();

	v = json_object_get(o, "agent_argv");
	if (session_record_string_array(v) && json_array_size(v) > 0 &&
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
		r->name = session_record_trim(json_string_value(v));
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
		if (!session_record_valid_message(e))
			return (record_fail(r, cause, "invalid message"));
	}
	if (!json_is_string(json_object_get(o, "updated_at")))
		return (record_fail(r, cause, "invalid updated_at"));
	r->updated_at = xstrdup(jget_str(o, "updated_at"));
	v = json_object_get(o, "title");
	if (v != NULL) {
		if (!json_is_null(v) && !json_is_string(v))
			return (record_fail(r, cause, "invalid title"));
		r->title = json_incref((json_t *)v);
	}
	if (session_record_parse_usage(json_object_get(o, "cumulative_token_usage"),
	    &r->cumulative_token_usage) == -1 ||
	    session_record_parse_cost(json_object_get(o, "cumulative_cost"),
	    &r->cumulative_cost) == -1 ||
	    session_record_parse_request_usage(json_object_get(o, "request_token_usage"),
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

	r->event_log = session_record_parse_event_log(json_object_get(o, "event_log"),
	    r->record_id);
	if (json_is_number(v = json_object_get(o, "protocol_version")))
		r->protocol_version = json_incref((json_t *)v);
	if (json_is_object(v = json_object_get(o, "agent_capabilities")))
		r->agent_capabilities = json_incref((json_t *)v);
	r->acpx = session_record_parse_acpx(json_object_get(o, "acpx"));

	json_object_foreach((json_t *)o, k, e) {
		if (!record_is_known(k))
			json_object_set_new(r->extra, k, json_deep_copy(e));
	}
	return (r);
}


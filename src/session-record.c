#include <config.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acpx.h"
#include "js.h"
#include "session-path.h"
#include "session-record-impl.h"
#include "session-record.h"
#include "xmalloc.h"

/*
 * The acpx.session.v1 record in memory: create, copy, free, the field
 * setters. Parsed with the reference's normalisation (parseSessionRecord)
 * in session-record-parse.c, serialised in its key order (serializeSession-
 * RecordForDisk) in session-record-disk.c, updated from the agent's answers
 * in session-record-agent.c. Unknown top-level keys are kept in extra and
 * written after the known ones.
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

/* Trimmed non-empty copy of a session name, or NULL. */
char *
session_record_normalize_name(const char *s)
{
	return (session_record_trim(s));
}

/* Replace a string field with a copy of v (NULL = absent). */
void
session_record_set(char **field, const char *v)
{
	char	*old = *field;

	*field = v != NULL ? xstrdup(v) : NULL;
	free(old);
}

void
session_record_set_json(json_t **field, json_t *v)
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
	char	*path = session_path_segment(record_id, 0);
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
	r->name = session_record_trim(name);
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

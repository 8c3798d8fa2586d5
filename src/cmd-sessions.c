#include <config.h>

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "acpx.h"
#include "agent-registry.h"
#include "buf.h"
#include "cli-invocation.h"
#include "cli-validate.h"
#include "cmd-diag.h"
#include "cmd-sessions.h"
#include "cmd.h"
#include "complete.h"
#include "config-file.h"
#include "conversation.h"
#include "jget.h"
#include "js-json.h"
#include "js.h"
#include "output.h"
#include "queue-lease.h"
#include "session-index.h"
#include "session-lock.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * `sessions` (list, show, history, read) and the helpers the
 * other subcommands share. Outputs are the reference's byte for byte
 * (cli/output/render.ts, cli/command-handlers.ts).
 */

/* ---------------------------------------------------------------- helpers */

/* The "No named session ..." / "No cwd session ..." error. */
struct acpx_error *
cmd_sessions_missing(const struct invocation *inv, const char *name)
{
	char			*norm = session_record_normalize_name(name);
	struct acpx_error	*err;

	if (norm != NULL)
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "No named session \"%s\" for cwd %s and agent %s", name,
		    inv->cwd, inv->agent.name);
	else
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli",
		    "No cwd session for %s and agent %s", inv->cwd,
		    inv->agent.name);
	free(norm);
	return (err);
}

/* Warning for a skipped record file. */
void
cmd_sessions_warn(const char *path, const char *why, void *arg)
{
	struct output	*out = arg;

	output_notice(out, "warning: skipping session record %s: %s", path, why);
}

/* The exact-scope record. */
struct session_record *
cmd_sessions_find_scoped(const struct invocation *inv, struct output *out,
    int include_closed)
{
	return (session_index_find(inv->agent.command, inv->cwd, inv->session,
	    include_closed, cmd_sessions_warn, out));
}

/* Explicit argv: a built-in or a configured agent with argv, not --agent. */
int
cmd_sessions_agent_has_argv(const struct invocation *inv)
{
	const struct config_agent	*ca = NULL;
	char				*norm;
	const char			*canon;
	int				 rc;

	if (inv->agent_override || inv->agent.argv == NULL)
		return (0);
	norm = agent_registry_normalize(inv->agent.name);
	canon = agent_registry_canonical(norm);
	if (inv->config != NULL && (ca = config_find_agent(inv->config,
	    norm)) == NULL)
		ca = config_find_agent(inv->config, canon);
	if (ca != NULL)
		rc = ca->argv != NULL;
	else
		rc = agent_registry_is_builtin(norm) ||
		    agent_registry_is_builtin(canon);
	free(norm);
	return (rc);
}

static const char *
sessions_opt(const struct invocation *inv, const char *key)
{
	return (jget_str(inv->verb_opts, key));
}

static int
sessions_flag(const struct invocation *inv, const char *key)
{
	const json_t	*v = json_object_get(inv->verb_opts, key);

	return (v != NULL && !json_is_false(v) && !json_is_null(v));
}

/* ---------------------------------------------------------------- show */

static void
sessions_line(struct output *out, const char *key, const char *v)
{
	output_result_text(out, "%s: %s", key, v != NULL ? v : "-");
}

/* String(value) of a JSON scalar, "-" for null/absent. Caller owns. */
static char *
sessions_display(const json_t *v)
{
	char	buf[64];

	if (v == NULL || json_is_null(v))
		return (xstrdup("-"));
	if (json_is_string(v))
		return (xstrdup(json_string_value(v)));
	if (json_is_number(v)) {
		js_number_string(json_number_value(v), buf, sizeof buf);
		return (xstrdup(buf));
	}
	if (json_is_boolean(v))
		return (xstrdup(json_is_true(v) ? "true" : "false"));
	return (xstrdup("-"));
}

/* The record's warp routing history, or NULL if none. */
static const json_t *
sessions_routing(const struct session_record *r)
{
	const json_t	*h = json_object_get(r->acpx, "routing_history");

	return (json_array_size(h) > 0 ? h : NULL);
}

/* Text: the serving agent and the routing history with its summaries. */
static void
sessions_routing_text(struct output *out, const struct session_record *r)
{
	const json_t	*h = sessions_routing(r), *ev;
	const char	*type, *s;
	size_t		 i, len;

	if (h == NULL)
		return;
	sessions_line(out, "servingAgent", jget_str(r->acpx, "serving_agent"));
	output_result_text(out, "routing:");
	json_array_foreach(h, i, ev) {
		type = jget_str(ev, "type");
		if (type != NULL && strcmp(type, "fallback") == 0) {
			output_result_text(out, "  %s fallback %s \xe2\x86\x92 %s "
			    "(%s), hop %lld", jget_str(ev, "at"), jget_str(ev,
			    "from"), jget_str(ev, "to"), jget_str(ev, "reason"),
			    (long long)json_integer_value(json_object_get(ev,
			    "hop")));
			output_result_text(out, "    signal: %s",
			    jget_str(ev, "signal"));
			output_result_text(out, "    summary:");
			s = jget_str(ev, "summary");
			while (s != NULL && *s != '\0') {
				len = strcspn(s, "\n");
				output_result_text(out, "      %.*s", (int)len, s);
				s += len;
				if (*s == '\n')
					s++;
			}
		} else
			output_result_text(out, "  %s %s on %s: %s",
			    jget_str(ev, "at"), type != NULL ? type : "event",
			    jget_str(ev, "agent"), jget_str(ev, "error"));
	}
}

static int
sessions_show_run(const struct invocation *inv, struct output *out)
{
	struct session_record		*r;
	struct conversation_entry	*e;
	size_t				 n;
	json_t				*o;
	char				 pid[32], *code, *sig;

	if ((r = cmd_sessions_find_scoped(inv, out, 1)) == NULL)
		return (output_fail(out, cmd_sessions_missing(inv, inv->session)));
	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		o = session_record_to_camel(r);
		cmd_diag_json(o, r, inv->verbose);
		output_result_json(out, o);
		json_decref(o);
		break;
	case ACPX_FORMAT_QUIET:
		output_result_text(out, "%s", r->record_id);
		break;
	case ACPX_FORMAT_TEXT:
		e = conversation_entries(r, &n);
		conversation_entries_free(e, n);
		snprintf(pid, sizeof pid, "%ld", (long)r->pid);
		code = sessions_display(r->last_agent_exit_code);
		sig = sessions_display(r->last_agent_exit_signal);
		sessions_line(out, "id", r->record_id);
		sessions_line(out, "sessionId", r->acp_session_id);
		sessions_line(out, "agentSessionId", r->agent_session_id);
		sessions_line(out, "agent", r->agent_command);
		sessions_line(out, "cwd", r->cwd);
		sessions_line(out, "name", r->name);
		sessions_line(out, "created", r->created_at);
		sessions_line(out, "lastActivity", r->last_used_at);
		sessions_line(out, "lastPrompt", r->last_prompt_at);
		sessions_line(out, "closed", r->closed ? "yes" : "no");
		sessions_line(out, "closedAt", r->closed_at);
		sessions_line(out, "pid", r->pid > 0 ? pid : NULL);
		sessions_line(out, "agentStartedAt", r->agent_started_at);
		sessions_line(out, "lastExitCode", code);
		sessions_line(out, "lastExitSignal", sig);
		sessions_line(out, "lastExitAt", r->last_agent_exit_at);
		sessions_line(out, "disconnectReason",
		    r->last_agent_disconnect_reason);
		output_result_text(out, "historyEntries: %zu", n);
		sessions_routing_text(out, r);
		cmd_diag_text(out, r, inv->verbose);
		free(code);
		free(sig);
		break;
	}
	session_record_free(r);
	return (ACPX_EXIT_SUCCESS);
}

/* ---------------------------------------------------------------- history */

static int
sessions_history_run(const struct invocation *inv, struct output *out,
    int read_all)
{
	struct session_record		*r;
	struct conversation_entry	*e;
	size_t				 n, i, first;
	long				 limit = 0;
	const char			*v;
	json_t				*o, *entries;

	v = sessions_opt(inv, read_all ? "tail" : "limit");
	if (v != NULL)
		limit = strtol(v, NULL, 10);
	else if (!read_all)
		limit = 20;
	if ((r = cmd_sessions_find_scoped(inv, out, 1)) == NULL)
		return (output_fail(out, cmd_sessions_missing(inv, inv->session)));
	e = conversation_entries(r, &n);
	first = limit == 0 || (size_t)limit >= n ? 0 : n - (size_t)limit;
	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		entries = json_array();
		for (i = first; i < n; i++)
			json_array_append_new(entries, json_pack("{s:s, s:s, s:s}",
			    "role", e[i].role, "timestamp", r->updated_at,
			    "textPreview", e[i].text));
		o = json_pack("{s:s, s:s, s:i, s:i, s:o}", "id", r->record_id,
		    "sessionId", r->acp_session_id, "limit", (int)limit, "count",
		    (int)(n - first), "entries", entries);
		if (sessions_routing(r) != NULL)
			json_object_set(o, "routing",
			    (json_t *)sessions_routing(r));
		output_result_json(out, o);
		json_decref(o);
		break;
	case ACPX_FORMAT_QUIET:
		for (i = first; i < n; i++)
			output_result_text(out, "%s", e[i].text);
		break;
	case ACPX_FORMAT_TEXT:
		output_result_text(out, "session: %s (%zu/%zu shown)",
		    r->record_id, n - first, n);
		if (n - first == 0)
			output_result_text(out, "No history");
		for (i = first; i < n; i++)
			output_result_text(out, "%s\t%s\t%s", r->updated_at,
			    e[i].role, e[i].text);
		sessions_routing_text(out, r);
		break;
	}
	conversation_entries_free(e, n);
	session_record_free(r);
	return (ACPX_EXIT_SUCCESS);
}

/* ---------------------------------------------------------------- list */

static void
sessions_print_local(struct output *out, struct session_list *l)
{
	json_t	*a;
	size_t	 i;

	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		a = json_array();
		for (i = 0; i < l->n; i++)
			json_array_append_new(a, session_record_to_camel(l->v[i]));
		output_result_json(out, a);
		json_decref(a);
		break;
	case ACPX_FORMAT_QUIET:
		for (i = 0; i < l->n; i++)
			output_result_text(out, "%s%s", l->v[i]->record_id,
			    l->v[i]->closed ? " [closed]" : "");
		break;
	case ACPX_FORMAT_TEXT:
		if (l->n == 0)
			output_result_text(out, "No sessions");
		for (i = 0; i < l->n; i++)
			output_result_text(out, "%s%s\t%s\t%s\t%s",
			    l->v[i]->record_id, l->v[i]->closed ? " [closed]" :
			    "", l->v[i]->name != NULL ? l->v[i]->name : "-",
			    l->v[i]->cwd, l->v[i]->last_used_at);
		break;
	}
}

/*
 * Text and quiet listings need only what the index holds; the lines go
 * out in results of about 64 KiB (a write each, not one per session).
 */
static void
sessions_print_index(struct output *out, const struct session_index_list *l)
{
	const struct session_index_entry	*e;
	struct buf				 b;
	size_t					 i;

	if (output_format(out) == ACPX_FORMAT_TEXT && l->n == 0) {
		output_result_text(out, "No sessions");
		return;
	}
	buf_init(&b, 0);
	for (i = 0; i < l->n; i++) {
		e = &l->v[i];
		if (b.len > 0)
			(void)buf_addc(&b, '\n');
		(void)buf_adds(&b, e->record_id);
		if (e->closed)
			(void)buf_adds(&b, " [closed]");
		if (output_format(out) != ACPX_FORMAT_QUIET) {
			(void)buf_addc(&b, '\t');
			(void)buf_adds(&b, e->name != NULL ? e->name : "-");
			(void)buf_addc(&b, '\t');
			(void)buf_adds(&b, e->cwd);
			(void)buf_addc(&b, '\t');
			(void)buf_adds(&b, e->last_used_at);
		}
		if (b.len >= 64 * 1024 || i + 1 == l->n) {
			output_result_text(out, "%s", b.p);
			buf_reset(&b);
		}
	}
	buf_free(&b);
}

static int
sessions_list_local(const struct invocation *inv, struct output *out,
    const char *filter_cwd)
{
	struct session_list		 l;
	struct session_index_list	 il;
	char				*cause = NULL;
	size_t				 i, j;
	int				 rc;

	if (output_format(out) != ACPX_FORMAT_JSON) {
		rc = session_index_scan(inv->agent.command, 0, &il,
		    cmd_sessions_warn, out, &cause);
		if (rc == -1)
			return (output_fail(out, acpx_error_new(
			    ACPX_CODE_RUNTIME, NULL, "cli", "%s", cause)));
		for (i = j = 0; i < il.n; i++) {
			if (filter_cwd == NULL ||
			    strcmp(il.v[i].cwd, filter_cwd) == 0)
				il.v[j++] = il.v[i];
		}
		il.n = j;
		session_index_sort_recent(&il);
		sessions_print_index(out, &il);
		session_index_list_free(&il);
		return (ACPX_EXIT_SUCCESS);
	}
	if (session_store_scan(inv->agent.command, &l, cmd_sessions_warn, out,
	    &cause) == -1)
		return (output_fail(out, acpx_error_new(ACPX_CODE_RUNTIME,
		    NULL, "cli", "%s", cause)));
	if (filter_cwd != NULL) {
		for (i = j = 0; i < l.n; i++) {
			if (strcmp(l.v[i]->cwd, filter_cwd) == 0)
				l.v[j++] = l.v[i];
			else
				session_record_free(l.v[i]);
		}
		l.n = j;
	}
	session_store_list_sort_recent(&l);
	sessions_print_local(out, &l);
	session_store_list_free(&l);
	return (ACPX_EXIT_SUCCESS);
}

static void
sessions_print_agent(struct output *out, const json_t *res)
{
	const json_t	*s;
	size_t		 i;
	char		*meta;
	const char	*next;

	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		output_result_json(out, res);
		break;
	case ACPX_FORMAT_QUIET:
		json_array_foreach(json_object_get(res, "sessions"), i, s)
			output_result_text(out, "%s", jget_str(s, "sessionId") !=
			    NULL ? jget_str(s, "sessionId") : "undefined");
		break;
	case ACPX_FORMAT_TEXT:
		if (json_array_size(json_object_get(res, "sessions")) == 0)
			output_result_text(out, "No sessions");
		json_array_foreach(json_object_get(res, "sessions"), i, s) {
			char *title = sessions_display(json_object_get(s,
			    "title"));
			char *upd = sessions_display(json_object_get(s,
			    "updatedAt"));
			char *sid = sessions_display(json_object_get(s,
			    "sessionId"));
			char *cwd = json_object_get(s, "cwd") != NULL ?
			    sessions_display(json_object_get(s, "cwd")) :
			    xstrdup("undefined");
			const json_t *m = json_object_get(s, "_meta");

			meta = m != NULL && !json_is_null(m) ?
			    js_json_dumps(m, 0) : xstrdup("-");
			output_result_text(out, "%s\t%s\t%s\t%s\t%s", sid, title,
			    cwd, upd, meta);
			free(title);
			free(upd);
			free(sid);
			free(cwd);
			free(meta);
		}
		next = jget_str(res, "nextCursor");
		if (next != NULL && *next != '\0')
			output_result_text(out, "Next cursor: %s", next);
		break;
	}
}

static int
sessions_list_run(const struct invocation *inv, struct output *out)
{
	struct cmd_sessions_agent	*sa;
	struct acp_client	*c;
	struct acpx_error	*err = NULL;
	json_t			*init = NULL, *res = NULL, *o;
	const json_t		*caps;
	const char		*cursor = sessions_opt(inv, "cursor");
	const char		*fv = sessions_opt(inv, "filter-cwd");
	char			*filter = NULL;
	int			 rc, listed = 0;

	if (fv != NULL && *fv != '\0')
		filter = session_store_abspath(inv->cwd, fv);
	if (sessions_flag(inv, "local")) {
		rc = sessions_list_local(inv, out, filter);
		free(filter);
		return (rc);
	}

	if ((sa = cmd_sessions_agent_new(inv, out, &err)) == NULL) {
		free(filter);
		return (output_fail(out, err));
	}
	c = cmd_sessions_agent_client(sa);
	acp_client_start(c, cmd_sessions_agent_done, sa);
	if (cmd_sessions_agent_wait(sa, &init, &err) == -1) {
		cmd_sessions_agent_close(sa);
		cmd_sessions_agent_free(sa);
		/* A spawn failure falls back to the local list, filters ignored. */
		if (err->detail_code != NULL &&
		    strcmp(err->detail_code, "AGENT_SPAWN_ENOENT") == 0) {
			acpx_error_free(err);
			free(filter);
			return (sessions_list_local(inv, out, NULL));
		}
		free(filter);
		return (output_fail(out, err));
	}
	caps = json_object_get(json_object_get(init, "agentCapabilities"),
	    "sessionCapabilities");
	if (json_object_get(caps, "list") != NULL &&
	    !json_is_null(json_object_get(caps, "list")) &&
	    !json_is_false(json_object_get(caps, "list"))) {
		acp_client_session_list(c, filter, cursor, cmd_sessions_agent_done,
		    sa);
		if (cmd_sessions_agent_wait(sa, &res, &err) == 0)
			listed = 1;
	}
	cmd_sessions_agent_close(sa);
	cmd_sessions_agent_free(sa);
	json_decref(init);
	if (err != NULL) {
		free(filter);
		return (output_fail(out, err));
	}
	if (!listed) {
		if (cursor != NULL || filter != NULL) {
			free(filter);
			return (output_fail(out, acpx_error_new(
			    ACPX_CODE_RUNTIME, NULL, "cli", "Agent command "
			    "\"%s\" does not advertise sessionCapabilities.list; "
			    "cannot use agent-side session/list filters",
			    inv->agent.command)));
		}
		free(filter);
		return (sessions_list_local(inv, out, NULL));
	}
	o = json_object();
	if (json_object_get(res, "_meta") != NULL)
		json_object_set(o, "_meta", json_object_get(res, "_meta"));
	json_object_set_new(o, "source", json_string("agent"));
	json_object_set(o, "sessions", json_object_get(res, "sessions") !=
	    NULL ? json_object_get(res, "sessions") : json_array());
	if (cursor != NULL)
		json_object_set_new(o, "cursor", json_string(cursor));
	if (filter != NULL)
		json_object_set_new(o, "cwd", json_string(filter));
	if (json_object_get(res, "nextCursor") != NULL)
		json_object_set(o, "nextCursor", json_object_get(res,
		    "nextCursor"));
	sessions_print_agent(out, o);
	json_decref(o);
	json_decref(res);
	free(filter);
	return (ACPX_EXIT_SUCCESS);
}

/* ------------------------------------------------------- the command rows */

static int
sessions_history_cmd(const struct invocation *inv, struct output *out)
{
	return (sessions_history_run(inv, out, 0));
}

static int
sessions_read_cmd(const struct invocation *inv, struct output *out)
{
	return (sessions_history_run(inv, out, 1));
}

static const struct cmd_opt o_local = CMD_OPT("--local", NULL, "--local",
    "local", "List local acpx session records instead of agent protocol "
    "sessions", CMD_OPT_BOOL, NULL);
static const struct cmd_opt o_cursor = CMD_OPT("--cursor <cursor>", NULL,
    "--cursor", "cursor", "Opaque ACP session/list cursor", CMD_OPT_VALUE,
    cli_validate_cursor);
static const struct cmd_opt o_filter_cwd = CMD_OPTV("--filter-cwd <dir>",
    NULL, "--filter-cwd", "filterCwd", "Filter agent sessions by working "
    "directory", CMD_OPT_VALUE, cli_validate_filter_cwd, CMD_VALUES_DIR, NULL);
static const struct cmd_opt *const list_opts[] = { &o_local, &o_cursor,
    &o_filter_cwd, NULL };

static const struct cmd_opt o_limit = { "--limit <count>", NULL, "--limit",
    "limit", "Maximum number of entries to show (default: 20)",
    CMD_OPT_VALUE, cli_validate_limit, 0, "20", CMD_VALUES_NONE, NULL };
static const struct cmd_opt *const history_opts[] = { &o_limit, NULL };
static const struct cmd_opt o_tail = CMD_OPT("--tail <count>", NULL,
    "--tail", "tail", "Show only the last N entries instead of all history",
    CMD_OPT_VALUE, cli_validate_limit);
static const struct cmd_opt *const read_opts[] = { &o_tail, NULL };

/* sessions [list]: --local, or the agent's session/list (with its checks). */
static int
sessions_list_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	const json_t	*cursor, *v;
	int		 local;

	cli_prepare_words(inv, NULL);
	local = json_is_true(cli_prepare_cli(leaf, "local")) ||
	    json_is_true(cli_prepare_own(leaf, "local"));
	cursor = cli_prepare_cli_own(leaf, "cursor");
	v = cli_prepare_cli_own(leaf, "filterCwd");
	if (local)
		json_object_set_new(inv->verb_opts, "local", json_true());
	cli_prepare_verb_opt(inv, "cursor", cursor);
	cli_prepare_verb_opt(inv, "filter-cwd", v);
	if (cli_prepare_agent_verb(run, leaf, inv) == -1)
		return (-1);
	if (local && cursor != NULL) {
		cli_usage_error(run, "--cursor cannot be combined with --local");
		return (-1);
	}
	if (!local && (cli_prepare_perm_mode(run) == -1 ||
	    cli_prepare_policy(run, inv) == -1))
		return (-1);
	return (0);
}

/* The record subcommands: their options as verb_opts, globals, agent. */
int
cmd_sessions_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	static const char *const keys[][2] = { { "limit", "limit" },
	    { "tail", "tail" }, { "cursor", "cursor" }, { "output", "output" },
	    { "sourceCwd", "cwd" }, { "destinationCwd", "cwd" },
	    { "dryRun", "dry-run" }, { "before", "before" },
	    { "olderThan", "older-than" },
	    { "includeHistory", "include-history" } };
	size_t	i;

	if (inv->words == NULL)
		cli_prepare_words(inv, NULL);
	for (i = 0; i < nitems(keys); i++)
		cli_prepare_verb_opt(inv, keys[i][1],
		    cli_prepare_own(leaf, keys[i][0]));
	return (cli_prepare_agent_verb(run, leaf, inv));
}

/* close|show|history|read|export [name]. */
int
cmd_sessions_prepare_named(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	inv->session = cli_prepare_dup(cli_prepare_arg(leaf, 0));
	return (cmd_sessions_prepare(run, leaf, inv));
}

/* [name] of show|history|read|export: open or closed, this directory. */
int
cmd_sessions_complete_any(struct complete *c, const struct cmd_opt *o,
    int npos)
{
	if (o != NULL || npos != 0)
		return (0);
	complete_sessions(c, COMPLETE_EXACT_ANY);
	return (1);
}

static const struct cmd_entry cmd_sessions_list_entry = {
	.name = "list",
	.desc = "List sessions",
	.opts = list_opts,
	.flags = CMD_ACTION,
	.prepare = sessions_list_prepare,
	.run = sessions_list_run
};

static const struct cmd_entry cmd_sessions_show_entry = {
	.name = "show",
	.desc = "Show session metadata for current cwd",
	.args = cmd_opt_name_arg,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cmd_sessions_prepare_named,
	.run = sessions_show_run,
	.complete = cmd_sessions_complete_any
};

static const struct cmd_entry cmd_sessions_history_entry = {
	.name = "history",
	.desc = "Show recent session history entries",
	.opts = history_opts,
	.args = cmd_opt_name_arg,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cmd_sessions_prepare_named,
	.run = sessions_history_cmd,
	.complete = cmd_sessions_complete_any
};

static const struct cmd_entry cmd_sessions_read_entry = {
	.name = "read",
	.desc = "Read full session history",
	.opts = read_opts,
	.args = cmd_opt_name_arg,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cmd_sessions_prepare_named,
	.run = sessions_read_cmd,
	.complete = cmd_sessions_complete_any
};

static const struct cmd_entry *const cmd_sessions_subs[] = {
	&cmd_sessions_list_entry,
	&cmd_sessions_new_entry,
	&cmd_sessions_ensure_entry,
	&cmd_sessions_close_entry,
	&cmd_sessions_show_entry,
	&cmd_sessions_history_entry,
	&cmd_sessions_read_entry,
	&cmd_sessions_watch_entry,
	&cmd_sessions_export_entry,
	&cmd_sessions_import_entry,
	&cmd_sessions_prune_entry,
	NULL
};

const struct cmd_entry cmd_sessions_entry = {
	.name = "sessions",
	.desc = "List, ensure, create, or close sessions for this agent",
	.opts = list_opts,
	.subs = cmd_sessions_subs,
	.implies = "list",
	.flags = CMD_ACTION | CMD_AGENT,
	.prepare = sessions_list_prepare,
	.run = sessions_list_run
};

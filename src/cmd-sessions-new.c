#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cli-validate.h"
#include "cmd-sessions.h"
#include "cmd.h"
#include "complete.h"
#include "jget.h"
#include "js.h"
#include "model.h"
#include "output.h"
#include "proc.h"
#include "session-connect.h"
#include "session-index.h"
#include "session-lock.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * sessions new | ensure: spawn the agent, initialize, session/new (or
 * resume/load of --resume-session), apply --model, write the record, stop
 * the agent and write it again with the agent's exit (createSession).
 */

/* session_options from the flags (persistedSessionOptions), or NULL. */
static json_t *
new_session_options(const struct invocation *inv)
{
	json_t	*o = json_object();

	if (inv->model != NULL && strspn(inv->model, " \t\r\n") !=
	    strlen(inv->model))
		json_object_set_new(o, "model", json_string(inv->model));
	if (inv->allowed_tools != NULL)
		json_object_set(o, "allowed_tools", inv->allowed_tools);
	if (inv->max_turns > 0)
		json_object_set_new(o, "max_turns", json_integer(inv->max_turns));
	if (inv->system_prompt != NULL && strspn(inv->system_prompt,
	    " \t\r\n") != strlen(inv->system_prompt))
		json_object_set_new(o, "system_prompt",
		    json_string(inv->system_prompt));
	else if (inv->append_system_prompt != NULL &&
	    strspn(inv->append_system_prompt, " \t\r\n") !=
	    strlen(inv->append_system_prompt))
		json_object_set_new(o, "system_prompt", json_pack("{s:s}",
		    "append", inv->append_system_prompt));
	if (json_object_size(o) == 0) {
		json_decref(o);
		return (NULL);
	}
	return (o);
}

/*
 * applyRequestedModelIfAdvertised: 0 not applied, 1 applied (maybe with
 * *response), -1 with *err.
 */
static int
new_apply_model(const struct invocation *inv, struct output *out,
    struct cmd_sessions_agent *sa, const json_t *result, json_t **response,
    struct acpx_error **err)
{
	struct model_state	 ms;
	char			*model, *msg, *warning, *id;
	int			 have, rc = 1;

	*response = NULL;
	if ((model = session_record_trim(inv->model)) == NULL)
		return (0);
	have = model_state_parse(result, &ms) == 0;
	msg = model_check(model, have ? &ms : NULL,
	    model_agent_kind(inv->agent.argv), "apply", &warning);
	if (warning != NULL) {
		output_notice(out, "warning: %s", warning);
		free(warning);
	}
	if (msg != NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s", msg);
		free(msg);
		rc = -1;
	} else if (!have)
		rc = 0;
	else {
		id = model_resolve(model, &ms,
		    model_agent_kind(inv->agent.argv));
		if (ms.current == NULL || strcmp(ms.current, id) != 0) {
			if (ms.config_id != NULL)
				acp_client_set_config_option(
				    cmd_sessions_agent_client(sa), ms.config_id, id,
				    cmd_sessions_agent_done, sa);
			else
				acp_client_set_model(cmd_sessions_agent_client(sa),
				    id, cmd_sessions_agent_done, sa);
			if (cmd_sessions_agent_wait(sa, response, err) == -1)
				rc = -1;
		}
		free(id);
	}
	if (have)
		model_state_clear(&ms);
	free(model);
	return (rc);
}

/* Create a session and its record (createSession). */
static struct session_record *
new_create(const struct invocation *inv, struct output *out, int *interrupted,
    struct acpx_error **err)
{
	struct cmd_sessions_agent	*sa;
	struct acp_client	*c;
	struct session_record	*rec = NULL;
	json_t			*result = NULL, *response = NULL, *so, *fake;
	const char		*resume = jget_str(inv->verb_opts,
				    "resume-session");
	const char		*sid, *node, *node_agent;
	char			*started, *now, *cause = NULL;
	int			 applied;

	*err = NULL;
	*interrupted = 0;
	if ((sa = cmd_sessions_agent_new(inv, out, err)) == NULL)
		return (NULL);
	c = cmd_sessions_agent_client(sa);
	acp_client_set_cwd(c, inv->cwd);
	started = js_iso_now();
	session_connect_create(c, resume, cmd_sessions_agent_done, sa);
	if (cmd_sessions_agent_wait(sa, &result, err) == -1)
		goto out;
	sid = resume != NULL ? resume : acp_client_session_id(c);
	if ((applied = new_apply_model(inv, out, sa, result, &response,
	    err)) == -1)
		goto out;

	now = js_iso_now();
	rec = session_record_create(sid, inv->agent.command,
	    cmd_sessions_agent_has_argv(inv) ? inv->agent.argv : NULL, inv->cwd,
	    inv->session, now);
	free(now);
	session_record_agent_started(rec, acp_client_pid(c), started);
	if (!acp_client_running(c))
		rec->pid = 0;
	session_record_apply_init(rec, acp_client_init_result(c));
	if ((node = cmd_sessions_agent_node(sa, &node_agent)) != NULL) {
		/* The session lives on that node from now on. */
		json_object_set_new(session_record_acpx(rec), "node",
		    json_string(node));
		json_object_set_new(session_record_acpx(rec), "node_agent",
		    json_string(node_agent));
	}
	if ((so = new_session_options(inv)) != NULL)
		json_object_set_new(session_record_acpx(rec), "session_options",
		    so);
	session_record_apply_session_result(rec, result);
	if (response != NULL) {
		fake = json_pack("{s:O?}", "configOptions",
		    json_object_get(response, "configOptions"));
		session_record_apply_session_result(rec, fake);
		json_decref(fake);
	}
	if (applied == 1 && inv->model != NULL)
		json_object_set_new(session_record_acpx(rec), "current_model_id",
		    json_string(jget_str(session_record_acpx(rec),
		    "current_model_id") != NULL && response != NULL ?
		    jget_str(session_record_acpx(rec), "current_model_id") :
		    inv->model));
	if (session_store_save(rec, &cause) == -1)
		goto save_failed;
	cmd_sessions_agent_close(sa);
	now = js_iso_now();
	session_record_agent_exited(rec, -1, "connection_close", now);
	free(now);
	if (session_store_save(rec, &cause) == -1)
		goto save_failed;
	goto out;

save_failed:
	*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s", cause);
	free(cause);
	session_record_free(rec);
	rec = NULL;
out:
	if (rec == NULL)
		*interrupted = cmd_sessions_agent_interrupted(sa);
	cmd_sessions_agent_close(sa);
	cmd_sessions_agent_free(sa);
	json_decref(result);
	json_decref(response);
	free(started);
	return (rec);
}

/* The created-session banner (stderr; not in quiet). */
static void
new_banner(const struct invocation *inv, struct output *out,
    const struct session_record *rec)
{
	if (output_format(out) == ACPX_FORMAT_QUIET)
		return;
	output_notice(out, "created session %s (%s)", rec->name != NULL ?
	    rec->name : "cwd", rec->record_id);
	output_notice(out, "agent: %s", inv->agent.name);
	output_notice(out, "cwd: %s", rec->cwd);
}

static void
new_print(struct output *out, const struct session_record *rec, int created,
    const char *replaced, int ensure)
{
	json_t	*o;

	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		o = json_pack("{s:s, s:b, s:s, s:s}", "action",
		    "session_ensured", "created", created, "acpxRecordId",
		    rec->record_id, "acpxSessionId", rec->acp_session_id);
		if (rec->agent_session_id != NULL)
			json_object_set_new(o, "agentSessionId",
			    json_string(rec->agent_session_id));
		if (rec->name != NULL)
			json_object_set_new(o, "name", json_string(rec->name));
		if (replaced != NULL)
			json_object_set_new(o, "replacedSessionId",
			    json_string(replaced));
		output_result_json(out, o);
		json_decref(o);
		break;
	case ACPX_FORMAT_QUIET:
		output_result_text(out, "%s", rec->record_id);
		break;
	case ACPX_FORMAT_TEXT:
		if (ensure)
			output_result_text(out, "%s\t(%s)", rec->record_id,
			    created ? "created" : "existing");
		else if (replaced != NULL)
			output_result_text(out, "%s\t(replaced %s)",
			    rec->record_id, replaced);
		else
			output_result_text(out, "%s", rec->record_id);
		break;
	}
}

struct new_connect_wait {
	int			 done;
	struct acpx_error	*err;
};

static void
new_connect_cb(struct session_connect *sc,
    const struct session_connect_result *res, struct acpx_error *err,
    void *arg)
{
	struct new_connect_wait	*w = arg;

	w->done = 1;
	if (err != NULL) {
		w->err = acpx_error_new(err->code, err->detail_code, err->origin,
		    "%s", err->message);
		w->err->retryable = err->retryable;
	}
}

/* ensure --model on an existing session: connect, switch, save (setSessionModel). */
static int
new_ensure_model(const struct invocation *inv, struct output *out,
    struct session_record *rec, struct acpx_error **err)
{
	struct cmd_sessions_agent		*sa;
	struct session_connect_opts	 o;
	struct new_connect_wait		 w;
	struct model_state		 ms;
	json_t				*fake, *resp = NULL, *so;
	char				*msg, *warning, *cause = NULL, *now, *id;
	int				 have, rc = -1;

	*err = NULL;
	if ((sa = cmd_sessions_agent_new(inv, out, err)) == NULL)
		return (-1);
	memset(&o, 0, sizeof o);
	o.replacing_config = "model";
	memset(&w, 0, sizeof w);
	(void)session_connect(cmd_sessions_agent_client(sa), rec, &o,
	    new_connect_cb, &w);
	while (!w.done && !cmd_sessions_agent_interrupted(sa))
		ev_run(cmd_sessions_agent_loop(sa), EVRUN_ONCE);
	if (w.err != NULL) {
		*err = w.err;
		goto out;
	}
	fake = json_pack("{s:O?}", "configOptions", json_object_get(rec->acpx,
	    "config_options"));
	have = model_state_parse(fake, &ms) == 0;
	json_decref(fake);
	msg = model_check(inv->model, have ? &ms : NULL,
	    model_agent_kind(inv->agent.argv), "set", &warning);
	if (warning != NULL) {
		output_notice(out, "warning: %s", warning);
		free(warning);
	}
	if (msg != NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s", msg);
		free(msg);
		if (have)
			model_state_clear(&ms);
		goto out;
	}
	id = model_resolve(inv->model, have ? &ms : NULL,
	    model_agent_kind(inv->agent.argv));
	if (have && ms.config_id != NULL)
		acp_client_set_config_option(cmd_sessions_agent_client(sa),
		    ms.config_id, id, cmd_sessions_agent_done, sa);
	else
		acp_client_set_model(cmd_sessions_agent_client(sa), id,
		    cmd_sessions_agent_done, sa);
	free(id);
	if (have)
		model_state_clear(&ms);
	if (cmd_sessions_agent_wait(sa, &resp, err) == -1)
		goto out;
	/*
	 * As observed with the reference: only the desired model is
	 * persisted; the advertised state stays the session's at connect.
	 */
	so = json_object_get(session_record_acpx(rec), "session_options");
	if (!json_is_object(so)) {
		so = json_object();
		json_object_set_new(session_record_acpx(rec), "session_options",
		    so);
	}
	json_object_set_new(so, "model", json_string(inv->model));
	rc = 0;
out:
	cmd_sessions_agent_close(sa);
	now = js_iso_now();
	session_record_agent_exited(rec, -1, "connection_close", now);
	free(now);
	if (rc == 0 && session_store_save(rec, &cause) == -1) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s", cause);
		free(cause);
		rc = -1;
	}
	cmd_sessions_agent_free(sa);
	json_decref(resp);
	return (rc);
}

struct new_lock_wait {
	struct session_lock	*lock;
	int			 done;
	char			*cause;
};

static void
new_lock_cb(struct session_lock *lock, int rc, const char *cause, void *arg)
{
	struct new_lock_wait	*w = arg;

	w->done = 1;
	w->lock = lock;
	if (rc != 0)
		w->cause = xstrdup(cause != NULL ? cause : "lock failed");
}

/* sessions new | ensure. */
int
cmd_sessions_new_run(const struct invocation *inv, struct output *out,
    int ensure)
{
	struct session_record	*rec = NULL, *prior = NULL, *closed;
	struct acpx_error	*err = NULL;
	struct new_lock_wait	 w;
	struct session_lock_wait *lw;
	struct ev_loop		*loop;
	char			*lock_id = NULL, *boundary, *norm;
	char			*replaced = NULL;
	int			 created = 1, interrupted = 0, rc;

	memset(&w, 0, sizeof w);
	if (ensure) {
		norm = session_record_normalize_name(inv->session);
		lock_id = session_lock_ensure_id(inv->agent.command, inv->cwd,
		    norm);
		free(norm);
		loop = proc_default_loop();
		lw = session_lock_acquire(loop, lock_id, new_lock_cb, &w);
		(void)lw;
		while (!w.done)
			ev_run(loop, EVRUN_ONCE);
		free(lock_id);
		if (w.lock == NULL) {
			err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
			    w.cause);
			free(w.cause);
			return (output_fail(out, err));
		}
		boundary = session_store_git_root(inv->cwd);
		rec = session_index_find_walk(inv->agent.command, inv->cwd,
		    inv->session, boundary != NULL ? boundary : inv->cwd,
		    cmd_sessions_warn, out);
		free(boundary);
		if (rec != NULL) {
			created = 0;
			if (inv->model != NULL && strspn(inv->model, " \t") !=
			    strlen(inv->model) &&
			    new_ensure_model(inv, out, rec, &err) == -1) {
				session_lock_release(w.lock);
				session_record_free(rec);
				return (output_fail(out, err));
			}
		}
	} else if ((prior = cmd_sessions_find_scoped(inv, out, 0)) != NULL) {
		closed = cmd_sessions_close_record(inv, out, prior->record_id, &err);
		if (closed == NULL) {
			session_record_free(prior);
			return (output_fail(out, err));
		}
		session_record_free(closed);
		replaced = xstrdup(prior->record_id);
		if (inv->verbose)
			output_notice(out, "soft-closed prior session: %s",
			    replaced);
		session_record_free(prior);
	}

	if (rec == NULL)
		rec = new_create(inv, out, &interrupted, &err);
	session_lock_release(w.lock);
	if (rec == NULL) {
		free(replaced);
		if (interrupted) {
			acpx_error_free(err);
			return (ACPX_EXIT_INTERRUPTED);
		}
		return (output_fail(out, err));
	}
	if (created) {
		new_banner(inv, out, rec);
		if (!ensure && inv->verbose) {
			if (inv->session != NULL)
				output_notice(out, "created named session "
				    "\"%s\": %s", inv->session, rec->record_id);
			else
				output_notice(out, "created cwd session: %s",
				    rec->record_id);
		}
	}
	new_print(out, rec, created, replaced, ensure);
	rc = ACPX_EXIT_SUCCESS;
	free(replaced);
	session_record_free(rec);
	return (rc);
}

/* ------------------------------------------------------- the command row */

static const struct cmd_opt o_resume = CMD_OPT("--resume-session <id>",
    NULL, "--resume-session", "resumeSession",
    "Resume existing ACP session id", CMD_OPT_VALUE, cli_validate_resume);
static const struct cmd_opt o_no_wait = CMD_OPT("--no-wait", NULL,
    "--no-wait", "wait", "Fail with HOST_AT_CAPACITY instead of waiting for a "
    "free agent slot", CMD_OPT_NEGATE, NULL);
static const struct cmd_opt *const new_opts[] = { &cmd_opt_name, &o_resume,
    &o_no_wait, NULL };

/* --name, --resume-session, then every check of a prompt. */
static int
sessions_new_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	cli_prepare_words(inv, NULL);
	inv->session = cli_prepare_dup(cli_prepare_own(leaf, "name"));
	cli_prepare_verb_opt(inv, "resume-session",
	    cli_prepare_own(leaf, "resumeSession"));
	inv->no_wait = json_is_false(cli_prepare_own(leaf, "wait"));
	if (cli_prepare_globals(run, leaf, inv) == -1 ||
	    cli_prepare_perm_mode(run) == -1 ||
	    cli_prepare_policy(run, inv) == -1 ||
	    cli_prepare_agent(run, leaf, inv) == -1)
		return (-1);
	return (0);
}

static int
sessions_new_cmd(const struct invocation *inv, struct output *out)
{
	return (cmd_sessions_new_run(inv, out, 0));
}

static int
sessions_ensure_cmd(const struct invocation *inv, struct output *out)
{
	return (cmd_sessions_new_run(inv, out, 1));
}

/* new --name is a new name: nothing to offer. */
static int
sessions_new_complete(struct complete *c, const struct cmd_opt *o, int npos)
{
	if (o == NULL || strcmp(o->key, "name") != 0)
		return (0);
	complete_set_kind(c, COMPLETE_NONE);
	return (1);
}

/* ensure --name: the open sessions of the cwd walk. */
static int
sessions_ensure_complete(struct complete *c, const struct cmd_opt *o,
    int npos)
{
	if (o == NULL || strcmp(o->key, "name") != 0)
		return (0);
	complete_sessions(c, COMPLETE_WALK_OPEN);
	return (1);
}

const struct cmd_entry cmd_sessions_new_entry = {
	.name = "new",
	.desc = "Create a fresh session for current cwd",
	.opts = new_opts,
	.flags = CMD_ACTION,
	.prepare = sessions_new_prepare,
	.run = sessions_new_cmd,
	.complete = sessions_new_complete
};

const struct cmd_entry cmd_sessions_ensure_entry = {
	.name = "ensure",
	.desc = "Ensure a session exists for current cwd or ancestor",
	.opts = new_opts,
	.flags = CMD_ACTION,
	.prepare = sessions_new_prepare,
	.run = sessions_ensure_cmd,
	.complete = sessions_ensure_complete
};

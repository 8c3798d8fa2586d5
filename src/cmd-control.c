#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "acpx.h"
#include "agent-launch.h"
#include "cli-invocation.h"
#include "cli-validate.h"
#include "cmd-diag.h"
#include "cmd-opts.h"
#include "cmd-slots.h"
#include "cmd.h"
#include "complete.h"
#include "conversation.h"
#include "jget.h"
#include "js-json.h"
#include "js.h"
#include "output.h"
#include "proc.h"
#include "queue-client.h"
#include "queue-control.h"
#include "queue-lease.h"
#include "queue-proto.h"
#include "session-connect.h"
#include "session-index.h"
#include "session-lock.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * cancel, status, set-mode and set. Controls go to the session's running
 * owner; without one, set-mode and set connect to the agent directly
 * (turn lock, load or new + replay, the control, record saved, agent
 * stopped: no owner is left behind) and cancel has nothing to cancel.
 */

struct control_run {
	struct ev_loop		*loop;
	const struct invocation	*inv;
	struct output		*out;
	struct session_record	*rec;
	enum queue_control_kind	 kind;
	const char		*key;		/* as typed (printed) */
	const char		*config_id;	/* as sent */
	const char		*value;

	struct queue_client	*qc;
	struct queue_health	 health;
	enum queue_client_end	 how;
	int			 cancelled;
	json_t			*response;
	struct acpx_error	*err;

	/* Direct path. */
	struct session_lock_wait *lock_wait;
	struct session_lock	*lock;
	struct agent_launch	 launch;
	struct acp_client_opts	 copts;
	struct acp_client	*client;
	ev_timer		 timeout_w;
	int			 resumed;
	char			*load_error;
	int			 done;
};

static void
control_copy_err(struct control_run *c, const struct acpx_error *err)
{
	if (c->err != NULL || err == NULL)
		return;
	c->err = acpx_error_new(err->code, err->detail_code, err->origin, "%s",
	    err->message);
	c->err->retryable = err->retryable;
	if (err->acp != NULL)
		c->err->acp = json_deep_copy(err->acp);
}

/* Run the loop until done. */
static void
control_wait(struct control_run *c)
{
	while (!c->done)
		ev_run(c->loop, EVRUN_ONCE);
}


/* ---------------------------------------------------------------- owner */

static void
control_owner_message_cb(struct queue_client *qc, const struct queue_msg *m,
    void *arg)
{
	struct control_run	*c = arg;

	if (m->type == QUEUE_MSG_CANCEL_RESULT)
		c->cancelled = m->flag;
	if (m->response != NULL) {
		json_decref(c->response);
		c->response = json_deep_copy(m->response);
	}
}

static void
control_owner_done_cb(struct queue_client *qc, enum queue_client_end how,
    struct acpx_error *err, const struct queue_msg *owner_error, void *arg)
{
	struct control_run	*c = arg;

	c->how = how;
	control_copy_err(c, err);
	c->done = 1;
}

/* Send one control to the running owner; c->how says what happened. */
static void
control_on_owner(struct control_run *c, struct queue_request *req)
{
	struct queue_client_opts	opts;
	struct queue_client_cbs		cbs;

	memset(&opts, 0, sizeof opts);
	opts.record_id = c->rec->record_id;
	opts.any_owner = 1;
	memset(&cbs, 0, sizeof cbs);
	cbs.message = control_owner_message_cb;
	cbs.done = control_owner_done_cb;
	c->done = 0;
	c->qc = queue_client_send(c->loop, &opts, req, &cbs, c);
	control_wait(c);
}

/* ---------------------------------------------------------------- cancel */

static void
cancel_print(struct output *out, const char *record_id, int cancelled)
{
	json_t	*j;

	if (output_format(out) == ACPX_FORMAT_JSON) {
		j = json_pack("{s:s, s:s, s:b}", "action", "cancel_result",
		    "acpxRecordId", record_id, "cancelled", cancelled);
		output_result_json(out, j);
		json_decref(j);
		return;
	}
	output_result_text(out, "%s", cancelled ? "cancel requested" :
	    "nothing to cancel");
}

/* cancel: ask the owner to cancel the running turn. */
int
cmd_cancel_run(const struct invocation *inv, struct output *out)
{
	struct control_run	 c;
	struct queue_request	*req;
	int			 rc = ACPX_EXIT_SUCCESS;

	memset(&c, 0, sizeof c);
	c.inv = inv;
	c.out = out;
	if ((c.rec = cmd_prompt_find_session(inv, NULL)) == NULL) {
		cancel_print(out, "unknown", 0);
		return (ACPX_EXIT_SUCCESS);
	}
	c.loop = proc_default_loop();
	req = xcalloc(1, sizeof *req);
	req->type = QUEUE_REQ_CANCEL;
	req->request_id = conversation_uuid();
	control_on_owner(&c, req);
	if (c.how == QUEUE_CLIENT_FAILED) {
		acpx_error_set_session(c.err, c.rec->record_id);
		rc = output_fail(out, c.err);
		c.err = NULL;
	} else {
		if (c.how == QUEUE_CLIENT_DONE && inv->verbose)
			output_notice(out, "requested cancel on active owner pid "
			    "%ld for session %s", (long)queue_client_owner_pid(c.qc),
			    c.rec->record_id);
		cancel_print(out, c.rec->record_id, c.how == QUEUE_CLIENT_DONE &&
		    c.cancelled);
	}
	queue_client_free(c.qc);
	session_record_free(c.rec);
	return (rc);
}

/* ---------------------------------------------------------------- status */

static void
status_probe_cb(const struct queue_health *h, struct acpx_error *err,
    void *arg)
{
	struct control_run	*c = arg;

	c->health = *h;
	control_copy_err(c, err);
	c->done = 1;
}

/* HH:MM:SS since an ISO time, or NULL. Caller owns. */
static char *
status_uptime(const char *started)
{
	long long	t = queue_lease_parse_iso(started), s;
	struct timespec	ts;
	char		*out;

	if (t < 0)
		return (NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	s = ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - t) / 1000;
	if (s < 0)
		s = 0;
	xasprintf(&out, "%02lld:%02lld:%02lld", s / 3600, (s % 3600) / 60,
	    s % 60);
	return (out);
}

static void
status_no_session(const struct invocation *inv, struct output *out)
{
	json_t	*j;

	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		j = json_pack("{s:s, s:s, s:s}", "action", "status_snapshot",
		    "status", "no-session", "summary", "no active session");
		output_result_json(out, j);
		json_decref(j);
		break;
	case ACPX_FORMAT_QUIET:
		output_result_text(out, "no-session");
		break;
	case ACPX_FORMAT_TEXT:
		output_result_text(out, "session: -\nagent: %s\npid: -\nstatus: "
		    "no-session\nmodel: -\nmode: -\nuptime: -\nlastPromptTime: -",
		    inv->agent.command);
		break;
	}
}

/* A JSON value as text ("-" for absent/null). Caller owns. */
static char *
status_text(const json_t *v)
{
	char	*s;

	if (v == NULL || json_is_null(v))
		return (xstrdup("-"));
	if (json_is_string(v))
		return (xstrdup(json_string_value(v)));
	s = js_json_dumps(v, 0);
	return (s);
}

/* status: the session's owner state. */
int
cmd_status_run(const struct invocation *inv, struct output *out)
{
	struct control_run	 c;
	struct session_record	*rec;
	const json_t		*acpx, *model, *mode, *models, *code, *sig;
	const char		*state, *summary;
	char			*name, *uptime = NULL, *t[7];
	json_t			*j;
	int			 running, dead, exit_bad, i;

	name = inv->session != NULL ? session_record_normalize_name(
	    inv->session) : NULL;
	rec = session_index_find(inv->agent.command, inv->cwd, name, 0, NULL,
	    NULL);
	free(name);
	if (rec == NULL) {
		status_no_session(inv, out);
		return (ACPX_EXIT_SUCCESS);
	}
	memset(&c, 0, sizeof c);
	c.loop = proc_default_loop();
	c.qc = queue_client_probe(c.loop, rec->record_id, status_probe_cb, &c);
	control_wait(&c);
	queue_client_free(c.qc);
	acpx_error_free(c.err);

	code = rec->last_agent_exit_code;
	sig = rec->last_agent_exit_signal;
	exit_bad = (json_is_string(sig)) || (json_is_integer(code) &&
	    json_integer_value(code) != 0);
	running = c.health.healthy;
	dead = !running && (c.health.has_lease || exit_bad);
	state = running ? "running" : dead ? "dead" : "idle";
	summary = running ? "queue owner healthy" : dead ?
	    "queue owner unavailable" :
	    "session idle; queue owner will start on next prompt";
	acpx = rec->acpx;
	model = acpx != NULL ? json_object_get(acpx, "current_model_id") : NULL;
	mode = acpx != NULL ? json_object_get(acpx, "current_mode_id") : NULL;
	models = acpx != NULL ? json_object_get(acpx, "available_models") : NULL;
	if (running)
		uptime = status_uptime(rec->agent_started_at);

	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "action",
		    "status_snapshot", "status", running ? "alive" : state,
		    "summary", summary, "acpxRecordId", rec->record_id,
		    "acpxSessionId", rec->acp_session_id);
		if (rec->agent_session_id != NULL)
			json_object_set_new(j, "agentSessionId",
			    json_string(rec->agent_session_id));
		if (c.health.has_lease && c.health.pid > 0)
			json_object_set_new(j, "pid", json_integer(c.health.pid));
		if (model != NULL && !json_is_null(model))
			json_object_set(j, "model", (json_t *)model);
		if (mode != NULL && !json_is_null(mode))
			json_object_set(j, "mode", (json_t *)mode);
		if (models != NULL && !json_is_null(models))
			json_object_set(j, "availableModels", (json_t *)models);
		if (uptime != NULL)
			json_object_set_new(j, "uptime", json_string(uptime));
		if (rec->last_prompt_at != NULL)
			json_object_set_new(j, "lastPromptTime",
			    json_string(rec->last_prompt_at));
		if (dead && code != NULL && !json_is_null(code))
			json_object_set(j, "exitCode", (json_t *)code);
		if (dead && sig != NULL && !json_is_null(sig))
			json_object_set(j, "signal", (json_t *)sig);
		cmd_diag_json(j, rec, 0);
		output_result_json(out, j);
		json_decref(j);
		break;
	case ACPX_FORMAT_QUIET:
		output_result_text(out, "%s", state);
		break;
	case ACPX_FORMAT_TEXT:
		output_result_text(out, "session: %s", rec->record_id);
		if (rec->agent_session_id != NULL)
			output_result_text(out, "agentSessionId: %s",
			    rec->agent_session_id);
		output_result_text(out, "agent: %s", rec->agent_command);
		if (c.health.has_lease && c.health.pid > 0)
			output_result_text(out, "pid: %ld", (long)c.health.pid);
		else
			output_result_text(out, "pid: -");
		t[0] = status_text(model);
		t[1] = status_text(mode);
		t[2] = xstrdup(uptime != NULL ? uptime : "-");
		t[3] = xstrdup(rec->last_prompt_at != NULL ? rec->last_prompt_at :
		    "-");
		t[4] = status_text(code);
		t[5] = status_text(sig);
		t[6] = NULL;
		output_result_text(out, "status: %s\nmodel: %s\nmode: %s\n"
		    "uptime: %s\nlastPromptTime: %s", state, t[0], t[1], t[2],
		    t[3]);
		if (dead)
			output_result_text(out, "exitCode: %s\nsignal: %s", t[4],
			    t[5]);
		cmd_diag_text(out, rec, 0);
		for (i = 0; t[i] != NULL; i++)
			free(t[i]);
		break;
	}
	free(uptime);
	session_record_free(rec);
	return (ACPX_EXIT_SUCCESS);
}

/* ---------------------------------------------------------------- set-mode, set */

static void
direct_closed_cb(struct acp_client *client, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct control_run	*c = arg;
	char			*cause = NULL, *now;
	int			 status = -1;

	/* The agent is stopped: record its exit, release the lock. */
	if (c->rec->pid != 0 && c->rec->pid == acp_client_pid(client)) {
		(void)acp_client_exited(client, &status);
		now = js_iso_now();
		session_record_agent_exited(c->rec, status, "connection_close",
		    now);
		free(now);
	}
	if (session_store_save(c->rec, &cause) == -1) {
		if (c->err == NULL)
			c->err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, NULL,
			    "%s", cause);
		free(cause);
	}
	session_lock_release(c->lock);
	c->lock = NULL;
	c->done = 1;
}

/* Stop the agent (the direct path leaves nothing running). */
static void
direct_end(struct control_run *c)
{
	char	*cause = NULL;

	ev_timer_stop(c->loop, &c->timeout_w);
	if (c->rec != NULL && c->err == NULL &&
	    session_store_save(c->rec, &cause) == -1) {
		c->err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, NULL, "%s",
		    cause);
		free(cause);
	}
	if (c->client != NULL) {
		acp_client_close(c->client, direct_closed_cb, c);
		return;
	}
	session_lock_release(c->lock);
	c->lock = NULL;
	c->done = 1;
}

static void
direct_control_cb(const json_t *response, struct acpx_error *err, void *arg)
{
	struct control_run	*c = arg;

	control_copy_err(c, err);
	if (response != NULL)
		c->response = json_deep_copy(response);
	direct_end(c);
}

static void
direct_connect_cb(struct session_connect *sc,
    const struct session_connect_result *res, struct acpx_error *err,
    void *arg)
{
	struct control_run	*c = arg;

	if (err != NULL) {
		control_copy_err(c, err);
		direct_end(c);
		return;
	}
	c->resumed = res->resumed;
	if (res->load_error != NULL)
		c->load_error = xstrdup(res->load_error);
	queue_control_run(c->client, c->rec, c->kind, c->config_id, c->value,
	    direct_control_cb, c);
}

static void
direct_lock_cb(struct session_lock *lock, int rc, const char *cause,
    void *arg)
{
	struct control_run		*c = arg;
	struct session_connect_opts	 co;
	struct session_record		*fresh;
	struct acpx_error		*lerr = NULL;
	char				*err = NULL;

	c->lock_wait = NULL;
	if (rc == -1) {
		c->err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, NULL, "%s",
		    cause);
		c->done = 1;
		return;
	}
	c->lock = lock;
	if ((fresh = session_store_resolve(c->rec->record_id, &err)) == NULL) {
		c->err = acpx_error_new(ACPX_CODE_NO_SESSION, NULL, NULL, "%s",
		    err);
		free(err);
		direct_end(c);
		return;
	}
	session_record_free(c->rec);
	c->rec = fresh;
	/* A warp session's serving agent starts as the owner starts it. */
	if (agent_launch_session(c->inv->config,
	    jget_str(c->rec->acpx, "node") != NULL ? jget_str(c->rec->acpx,
	    "node_agent") : c->rec->agent_command,
	    jget_str(c->rec->acpx, "serving_agent"), jget_str(c->rec->acpx,
	    "node"), AGENT_LAUNCH_PERM(c->inv->perm_mode, c->inv->nonint),
	    &c->launch, &lerr) == -1) {
		c->err = lerr;
		direct_end(c);
		return;
	}
	cmd_opts_client(c->inv, &c->launch, &c->copts);
	c->client = acp_client_create(c->loop, &c->copts, NULL, NULL);
	acp_client_set_cwd(c->client, c->rec->cwd);
	memset(&co, 0, sizeof co);
	co.replacing_mode = c->kind == QUEUE_CONTROL_MODE;
	if (c->kind == QUEUE_CONTROL_MODEL)
		co.replacing_config = "model";
	else if (c->kind == QUEUE_CONTROL_CONFIG)
		co.replacing_config = c->config_id;
	co.verbose = c->inv->verbose;
	(void)session_connect(c->client, c->rec, &co, direct_connect_cb, c);
}

static void
direct_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control_run	*c = w->data;

	if (c->err == NULL)
		c->err = acpx_error_new(ACPX_CODE_TIMEOUT, NULL, NULL,
		    "Timed out after %lldms", c->inv->timeout_ms);
	if (c->lock_wait != NULL) {
		session_lock_wait_cancel(c->lock_wait);
		c->lock_wait = NULL;
		c->done = 1;
		return;
	}
	if (c->client != NULL)
		acp_client_kill(c->client);
}

/* No owner runs: connect directly, apply, save, stop the agent. */
static void
control_direct(struct control_run *c)
{
	struct slots_hold	*slot;

	/* Under the host-wide cap: a slot before the agent is spawned. */
	if (cmd_slots_acquire(c->inv, c->out, c->loop, "cli", NULL, &slot,
	    &c->err) == -1)
		return;
	c->done = 0;
	ev_timer_init(&c->timeout_w, direct_timeout_cb, 0., 0.);
	c->timeout_w.data = c;
	if (c->inv->timeout_ms > 0) {
		ev_timer_set(&c->timeout_w, c->inv->timeout_ms / 1000.0, 0.);
		ev_timer_start(c->loop, &c->timeout_w);
	}
	c->lock_wait = session_lock_acquire(c->loop, c->rec->record_id,
	    direct_lock_cb, c);
	control_wait(c);
	slots_hold_release(slot);	/* the agent is stopped */
}

/* Print the result of set-mode / set. */
static void
control_print(struct control_run *c)
{
	struct output	*out = c->out;
	const json_t	*opts;
	json_t		*j;
	const char	*action;

	opts = json_object_get(c->response, "configOptions");
	if (output_format(out) == ACPX_FORMAT_JSON) {
		if (c->kind == QUEUE_CONTROL_CONFIG) {
			j = json_pack("{s:s, s:s, s:s, s:b, s:O}", "action",
			    "config_set", "configId", c->key, "value", c->value,
			    "resumed", c->resumed, "configOptions",
			    json_is_array(opts) ? opts : json_null());
		} else {
			action = c->kind == QUEUE_CONTROL_MODE ? "mode_set" :
			    "model_set";
			j = json_pack("{s:s, s:s, s:b}", "action", action,
			    c->kind == QUEUE_CONTROL_MODE ? "modeId" : "modelId",
			    c->value, "resumed", c->resumed);
		}
		json_object_set_new(j, "acpxRecordId",
		    json_string(c->rec->record_id));
		json_object_set_new(j, "acpxSessionId",
		    json_string(c->rec->acp_session_id));
		if (c->rec->agent_session_id != NULL)
			json_object_set_new(j, "agentSessionId",
			    json_string(c->rec->agent_session_id));
		output_result_json(out, j);
		json_decref(j);
		return;
	}
	if (output_format(out) == ACPX_FORMAT_QUIET) {
		output_result_text(out, "%s", c->value);
		return;
	}
	switch (c->kind) {
	case QUEUE_CONTROL_MODE:
		output_result_text(out, "mode set: %s", c->value);
		break;
	case QUEUE_CONTROL_MODEL:
		output_result_text(out, "model set: %s", c->value);
		break;
	case QUEUE_CONTROL_CONFIG:
		output_result_text(out, "config set: %s=%s (%zu options)", c->key,
		    c->value, json_array_size(opts));
		break;
	}
}

/* set-mode / set: through the owner when one runs, else directly. */
static int
control_set(const struct invocation *inv, struct output *out,
    enum queue_control_kind kind, const char *key, const char *value)
{
	struct control_run	 c;
	struct queue_request	*req;
	struct acpx_error	*err = NULL;
	struct session_record	*fresh;
	char			*cause = NULL;
	const char		*what;
	int			 rc = ACPX_EXIT_SUCCESS;

	memset(&c, 0, sizeof c);
	c.inv = inv;
	c.out = out;
	c.kind = kind;
	c.key = key;
	c.value = value;
	if ((c.rec = cmd_prompt_find_session(inv, &err)) == NULL)
		return (output_fail(out, err));
	c.config_id = key != NULL ? queue_control_config_id(c.rec->agent_command,
	    key) : NULL;
	c.loop = proc_default_loop();

	req = xcalloc(1, sizeof *req);
	req->request_id = conversation_uuid();
	req->timeout_ms = inv->timeout_ms > 0 ? inv->timeout_ms : 0;
	switch (kind) {
	case QUEUE_CONTROL_MODE:
		req->type = QUEUE_REQ_SET_MODE;
		req->target = xstrdup(value);
		what = "session/set_mode on owner pid";
		break;
	case QUEUE_CONTROL_MODEL:
		req->type = QUEUE_REQ_SET_MODEL;
		req->target = xstrdup(value);
		what = "a model config update on owner pid";
		break;
	default:
		req->type = QUEUE_REQ_SET_CONFIG;
		req->config_id = xstrdup(c.config_id);
		req->value = xstrdup(value);
		what = "session/set_config_option on owner pid";
		break;
	}
	control_on_owner(&c, req);
	if (c.how == QUEUE_CLIENT_DONE) {
		if (inv->verbose)
			output_notice(out, "requested %s %ld for session %s", what,
			    (long)queue_client_owner_pid(c.qc), c.rec->record_id);
		/* The owner saved the record: print its current ids. */
		if ((fresh = session_store_resolve(c.rec->record_id,
		    &cause)) != NULL) {
			session_record_free(c.rec);
			c.rec = fresh;
		}
		free(cause);
	} else if (c.how == QUEUE_CLIENT_NO_OWNER)
		control_direct(&c);
	if (c.err != NULL) {
		acpx_error_set_session(c.err, c.rec->record_id);
		rc = output_fail(out, c.err);
		c.err = NULL;
	} else {
		if (inv->verbose && c.load_error != NULL)
			output_notice(out, "session reconnect failed, started "
			    "fresh session: %s", c.load_error);
		control_print(&c);
	}
	queue_client_free(c.qc);
	acp_client_free(c.client);
	agent_launch_clear(&c.launch);
	json_decref(c.response);
	free(c.load_error);
	session_record_free(c.rec);
	return (rc);
}

/* set-mode <mode>. */
int
cmd_set_mode_run(const struct invocation *inv, struct output *out)
{
	return (control_set(inv, out, QUEUE_CONTROL_MODE, NULL, inv->words[0]));
}

/* set <key> <value>; set model <id> switches the model. */
int
cmd_set_run(const struct invocation *inv, struct output *out)
{
	if (strcmp(inv->words[0], "model") == 0)
		return (control_set(inv, out, QUEUE_CONTROL_MODEL, NULL,
		    inv->words[1]));
	return (control_set(inv, out, QUEUE_CONTROL_CONFIG, inv->words[0],
	    inv->words[1]));
}

/* ------------------------------------------------------- the command row */

static const struct cmd_opt *const cmd_control_opts[] = { &cmd_opt_session,
    NULL };
static const struct cmd_arg cmd_control_mode_args[] = { { "<mode>",
    "Mode id", cli_validate_mode } };
static const struct cmd_arg cmd_control_set_args[] = {
	{ "<key>", "Config option id", cli_validate_config_key },
	{ "<value>", "Config option value", cli_validate_config_value },
};

/* -s and the arguments, the global flags and the agent. */
static int
cmd_control_prepare(struct cli_run *run, struct cli_cmd *leaf,
    struct invocation *inv)
{
	inv->session = cli_prepare_session(leaf, "session");
	cli_prepare_args_words(inv, leaf);
	return (cli_prepare_agent_verb(run, leaf, inv));
}

/* status -s: the open sessions of exactly this directory. */
static int
cmd_control_status_complete(struct complete *c, const struct cmd_opt *o,
    int npos)
{
	if (o == NULL || strcmp(o->key, "session") != 0)
		return (0);
	complete_sessions(c, COMPLETE_EXACT_OPEN);
	return (1);
}

const struct cmd_entry cmd_cancel_entry = {
	.name = "cancel",
	.desc = "Cancel active prompt for %s by default",
	.agent_desc = "Cooperatively cancel current in-flight prompt",
	.opts = cmd_control_opts,
	.flags = CMD_ACTION | CMD_DEFAULT_DESC | CMD_AGENT,
	.prepare = cmd_control_prepare,
	.run = cmd_cancel_run
};

const struct cmd_entry cmd_set_mode_entry = {
	.name = "set-mode",
	.desc = "Set session mode for %s by default",
	.agent_desc = "Set session mode",
	.opts = cmd_control_opts,
	.args = cmd_control_mode_args,
	.nargs = nitems(cmd_control_mode_args),
	.flags = CMD_ACTION | CMD_DEFAULT_DESC | CMD_AGENT,
	.prepare = cmd_control_prepare,
	.run = cmd_set_mode_run
};

const struct cmd_entry cmd_set_entry = {
	.name = "set",
	.desc = "Set session config option for %s by default",
	.agent_desc = "Set session config option",
	.opts = cmd_control_opts,
	.args = cmd_control_set_args,
	.nargs = nitems(cmd_control_set_args),
	.flags = CMD_ACTION | CMD_DEFAULT_DESC | CMD_AGENT,
	.prepare = cmd_control_prepare,
	.run = cmd_set_run
};

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.desc = "Show local status for %s by default",
	.agent_desc = "Show local status of current session agent process",
	.opts = cmd_control_opts,
	.flags = CMD_ACTION | CMD_DEFAULT_DESC | CMD_AGENT,
	.prepare = cmd_control_prepare,
	.run = cmd_status_run,
	.complete = cmd_control_status_complete
};

#include <config.h>

#include <sys/stat.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "cmdline.h"
#include "conversation.h"
#include "jget.h"
#include "journal.h"
#include "js.h"
#include "model.h"
#include "prompt-input.h"
#include "queue-control.h"
#include "queue-owner-impl.h"
#include "queue-proto.h"
#include "session-connect.h"
#include "session-lock.h"
#include "session-record.h"
#include "session-store.h"
#include "warp-serve.h"
#include "xmalloc.h"

/*
 * The steps of a prompt job on the owner's shared agent connection:
 * LOCK (the session's turn lock, the record, the journal's turn opened),
 * CONNECT (connect/load/resume/new; its messages held back until the
 * outcome is known), MODEL (the prompt's --model), PROMPT (session/prompt,
 * every message relayed to the submitter), LATE (answered; the adapter's
 * late updates still relayed), then the answer: record and journal closed,
 * the result or error sent, the job freed. The agent stays warm between
 * jobs unless the turn left it in an unknown state. The hooks (Warp
 * agents) see the turn begin, its messages, its prompt sent and ended.
 */

#define TURN_CANCEL_WAIT_S	2.5	/* timeout: wait for the cancelled answer */
/*
 * After the answer of an adapter known to talk after it
 * (agent_compat_answers_late(): the Claude adapter's session title), the
 * turn's late updates are still relayed: the turn ends once the agent has
 * sent no session/update for 1 s, at most 5 s after the answer
 * (runPromptTurn's SESSION_REPLY_IDLE_MS and SESSION_REPLY_DRAIN_TIMEOUT_MS
 * in the reference, which waits so for every agent). Other agents' turns
 * end at the answer: no idle second per turn.
 */
#define TURN_LATE_IDLE_S	1.0
#define TURN_LATE_LIMIT_S	5.0

static void	turn_finish(struct queue_owner *);
static void	turn_late_done(struct queue_owner *);
static void	turn_fail(struct queue_owner *, struct acpx_error *);

/* The running job if it is a prompt, else NULL. */
static struct queue_owner_job *
turn_job(struct queue_owner *o)
{
	struct queue_owner_job	*j = o->job;

	return (j != NULL && j->kind == QUEUE_OWNER_JOB_PROMPT ? j : NULL);
}

/* ---------------------------------------------------------------- prompt turns */

/*
 * The turn's sessionOptions: the prompt's over the payload's over the
 * record's. Caller owns.
 */
static json_t *
turn_session_options(struct queue_owner *o, struct queue_owner_job *j,
    const struct session_record *rec)
{
	json_t		*merged = json_object(), *saved;
	const json_t	*layers[3], *v;
	const char	*k;
	size_t		 i;

	saved = rec->acpx != NULL ? json_object_get(rec->acpx,
	    "session_options") : NULL;
	layers[0] = j->req->session_options;
	layers[1] = o->opts.session_options;
	layers[2] = NULL;
	if (json_is_object(saved)) {
		/* snake_case on disk. */
		if ((v = json_object_get(saved, "model")) != NULL)
			json_object_set(merged, "model", (json_t *)v);
		if ((v = json_object_get(saved, "allowed_tools")) != NULL)
			json_object_set(merged, "allowedTools", (json_t *)v);
		if ((v = json_object_get(saved, "max_turns")) != NULL)
			json_object_set(merged, "maxTurns", (json_t *)v);
		if ((v = json_object_get(saved, "system_prompt")) != NULL)
			json_object_set(merged, "systemPrompt", (json_t *)v);
	}
	for (i = 2; i-- > 0; ) {
		if (!json_is_object(layers[i]))
			continue;
		json_object_foreach((json_t *)layers[i], k, v)
			json_object_set(merged, k, (json_t *)v);
	}
	return (merged);
}

/* Point the client's options at this turn's. */
static void
turn_options(struct queue_owner *o, struct queue_owner_job *j)
{
	struct acp_client_opts	*co = &o->copts;
	const struct queue_request *r = j->req;
	json_t			*so;
	const json_t		*v;

	co->perm_mode = r->perm_mode;
	co->nonint = r->nonint >= 0 ? r->nonint : (o->opts.nonint ==
	    ACPX_NONINT_FAIL ? ACPX_NONINT_FAIL : ACPX_NONINT_DENY);
	co->permission_policy = r->permission_policy;
	co->prompt_retries = r->prompt_retries >= 0 ? r->prompt_retries :
	    (o->opts.prompt_retries > 0 ? o->opts.prompt_retries : 0);
	/* The _meta options point into the turn's session options. */
	json_decref(o->turn_so);
	so = o->turn_so = turn_session_options(o, j, j->rec);
	co->session.model = jget_str(so, "model");
	v = json_object_get(so, "allowedTools");
	co->session.allowed_tools = json_is_array(v) ? v : NULL;
	v = json_object_get(so, "maxTurns");
	co->session.max_turns = json_is_integer(v) ?
	    (int)json_integer_value(v) : 0;
	v = json_object_get(so, "systemPrompt");
	co->session.system_prompt = json_string_value(v);
	co->session.append_system_prompt = json_is_string(v) ? NULL :
	    jget_str(v, "append");
}

/* Send the buffered connect-phase messages, minus failed load/resume pairs. */
static void
turn_flush_connect(struct queue_owner *o, struct queue_owner_job *j,
    long long failed_id, long long resume_id)
{
	const json_t	*e, *msg, *id;
	json_t		*m;
	size_t		 i;
	const char	*method;

	j->connect_phase = 0;
	json_array_foreach(j->connect_buf, i, e) {
		msg = json_array_get(e, 1);
		id = json_object_get(msg, "id");
		if (json_is_integer(id) && ((failed_id >= 0 &&
		    json_integer_value(id) == failed_id) || (resume_id >= 0 &&
		    json_integer_value(id) == resume_id))) {
			method = jget_str(msg, "method");
			if (method == NULL || strcmp(method, "session/load") == 0 ||
			    strcmp(method, "session/resume") == 0)
				continue;
		}
		if (j->peer == NULL)
			continue;
		m = queue_msg_event(j->req->request_id,
		    json_is_true(json_array_get(e, 0)), msg, o->gen);
		queue_owner_peer_send(j->peer, m);
		json_decref(m);
	}
	json_array_clear(j->connect_buf);
}

/* The answer to session/prompt (of the turn's agent or of a fallback hop). */
void
queue_owner_turn_prompt_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct queue_owner	*o = arg;
	struct queue_owner_job	*j = turn_job(o);
	struct acpx_error	*ferr = NULL;

	if (j == NULL || j->state != JOB_PROMPT)
		return;
	/* A warp agent's provider failure: hop to the next agent. */
	switch (o->hooks->prompt_end(o, result, err, &ferr)) {
	case 1:
		return;
	case -1:
		turn_fail(o, ferr);
		return;
	}
	if (err != NULL) {
		turn_fail(o, queue_owner_job_error_copy(err));
		return;
	}
	/*
	 * The answer to the session/cancel of a timed-out turn: it has been
	 * relayed as an event; the turn still ends with the timeout.
	 */
	if (j->err != NULL) {
		turn_fail(o, NULL);
		return;
	}
	j->result = json_deep_copy(result);
	if (!acp_client_answers_late(c)) {
		turn_late_done(o);
		return;
	}
	/* Relay late updates first; the answer no longer times out. */
	j->state = JOB_LATE;
	j->late_start = ev_now(o->loop);
	ev_timer_stop(o->loop, &j->timeout_w);
	ev_timer_set(&j->late_w, TURN_LATE_IDLE_S, 0.);
	ev_timer_start(o->loop, &j->late_w);
}

/* The answered turn ends: the agent has been quiet long enough. */
static void
turn_late_done(struct queue_owner *o)
{
	struct queue_owner_job	*j = o->job;
	char			*now;

	ev_timer_stop(o->loop, &j->late_w);
	j->state = JOB_PROMPT;
	queue_owner_agent_chunk_flush(o);
	now = js_iso_now();
	conversation_apply_prompt_result(j->rec, j->result, now);
	free(now);
	turn_finish(o);
}

static void
turn_late_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_owner	*o = w->data;
	struct queue_owner_job	*j = turn_job(o);
	ev_tstamp		 now = ev_now(loop), left;

	ev_timer_stop(loop, w);
	if (j == NULL || j->state != JOB_LATE)
		return;
	left = acp_client_quiet_left(o->client, j->late_start, TURN_LATE_IDLE_S,
	    TURN_LATE_LIMIT_S, now);
	if (left <= 0.) {
		turn_late_done(o);
		return;
	}
	ev_timer_set(w, left, 0.);
	ev_timer_start(loop, w);
}

/* The owner's agent serves j's session already: its connect is a reuse. */
static int
turn_warm(struct queue_owner *o, struct queue_owner_job *j)
{
	const char	*sid;

	return (o->client != NULL && acp_client_running(o->client) &&
	    (sid = acp_client_session_id(o->client)) != NULL &&
	    j->rec->acp_session_id != NULL &&
	    strcmp(sid, j->rec->acp_session_id) == 0);
}

/*
 * The turn's first save, with the prompt (a failure fails the turn). Put
 * off while the connect will be a warm reuse: the save right after
 * session/prompt is written (turn_save_cb) is then the first.
 */
static int
turn_save_first(struct queue_owner *o, struct queue_owner_job *j)
{
	char	*err = NULL;

	if (j->saved || turn_warm(o, j))
		return (0);
	if (session_store_checkpoint(j->rec, &err) == -1) {
		turn_fail(o, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "runtime",
		    "%s", err));
		free(err);
		return (-1);
	}
	j->saved = 1;
	return (0);
}

/*
 * The save of the record with the turn's prompt, once session/prompt is
 * written: a prepare watcher of the lowest priority, so it runs after the
 * connection's flush of this loop iteration (jsonrpc_send()) and before
 * the loop waits again, thus before any answer of the agent is read. The
 * agent works on the prompt meanwhile; prompt_started follows the save
 * (a client told the prompt started finds it saved). The first save failing
 * fails the turn as it did before the prompt: the agent is asked to stop
 * (session/cancel), its answer still relayed, as after a timeout.
 */
static void
turn_save_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct queue_owner	*o = w->data;
	struct queue_owner_job	*j = turn_job(o);
	char			*cause = NULL;

	ev_prepare_stop(loop, w);
	if (j == NULL || j->rec == NULL || j->state != JOB_PROMPT)
		return;
	if (session_store_checkpoint(j->rec, &cause) == 0 || j->saved) {
		free(cause);	/* a later checkpoint: best effort */
		j->saved = 1;
		queue_owner_turn_started(o);
		return;
	}
	j->saved = 1;
	if (j->err == NULL)
		j->err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "runtime",
		    "%s", cause);
	free(cause);
	acp_client_cancel(o->client);
	ev_timer_stop(loop, &j->timeout_w);
	ev_timer_set(&j->timeout_w, TURN_CANCEL_WAIT_S, 0.);
	ev_timer_start(loop, &j->timeout_w);
}

/* Send session/prompt (or end at once when cancelled meanwhile). */
static void
turn_prompt(struct queue_owner *o)
{
	struct queue_owner_job	*j = o->job;
	struct acpx_error	*err = NULL;

	if (j->cancel) {
		j->result = json_pack("{s:s}", "stopReason", "cancelled");
		turn_finish(o);
		return;
	}
	if (prompt_input_check_caps(j->req->prompt,
	    acp_client_agent_caps(o->client), &err) == -1) {
		turn_fail(o, err);
		return;
	}
	j->state = JOB_PROMPT;
	/* A session on a node-bound agent: its node's proxy forces it. */
	if (j->req->force_fail != NULL && jget_str(j->rec->acpx,
	    "node_agent") != NULL)
		acp_client_prompt_meta(o->client, json_pack("{s:s}",
		    WARP_SERVE_META_FORCE_FAIL, j->req->force_fail));
	acp_client_prompt(o->client, j->req->prompt, queue_owner_turn_prompt_cb, o);
	/* The record with the prompt is saved once the prompt is written. */
	ev_prepare_start(o->loop, &j->save_w);
	o->hooks->prompt_sent(o);
}

/* The turn's prompt is on its way: prompt_started, when asked for. */
void
queue_owner_turn_started(struct queue_owner *o)
{
	struct queue_owner_job	*j = o->job;
	json_t			*m;

	if (j->req->report_started && j->peer != NULL) {
		m = queue_msg_simple(QUEUE_MSG_PROMPT_STARTED, j->req->request_id,
		    o->gen);
		queue_owner_peer_send(j->peer, m);
		json_decref(m);
	}
}

static void
turn_model_cb(const json_t *response, struct acpx_error *err, void *arg)
{
	struct queue_owner	*o = arg;
	struct queue_owner_job	*j = turn_job(o);

	if (j == NULL || j->state != JOB_MODEL)
		return;
	if (err != NULL) {
		turn_fail(o, queue_owner_job_error_copy(err));
		return;
	}
	turn_prompt(o);
}

/* --model of this turn: check it against what the session advertises. */
static void
turn_model(struct queue_owner *o)
{
	struct queue_owner_job	*j = o->job;
	struct model_state	 ms;
	const char		*model = o->copts.session.model;
	char			*msg, *warning = NULL;
	int			 have;

	if (j->req->session_options == NULL ||
	    jget_str(j->req->session_options, "model") == NULL ||
	    model == NULL || js_blank(model)) {
		turn_prompt(o);
		return;
	}
	have = queue_control_models(j->rec, &ms) == 0;
	msg = model_check(model, have ? &ms : NULL,
	    model_agent_kind(o->copts.argv), "apply", &warning);
	free(warning);
	if (msg != NULL) {
		if (have)
			model_state_clear(&ms);
		turn_fail(o, acpx_error_new(ACPX_CODE_RUNTIME, NULL, NULL, "%s",
		    msg));
		free(msg);
		return;
	}
	if (!have || (ms.current != NULL && strcmp(ms.current, model) == 0)) {
		if (have)
			model_state_clear(&ms);
		turn_prompt(o);
		return;
	}
	model_state_clear(&ms);
	j->state = JOB_MODEL;
	queue_control_run(o->client, j->rec, QUEUE_CONTROL_MODEL, NULL, model,
	    turn_model_cb, o);
}

static void
turn_connect_cb(struct session_connect *sc,
    const struct session_connect_result *res, struct acpx_error *err,
    void *arg)
{
	struct queue_owner	*o = arg;
	struct queue_owner_job	*j = turn_job(o);

	if (j == NULL)
		return;
	j->connect = NULL;
	if (j->state != JOB_CONNECT)
		return;
	if (err != NULL) {
		j->connect_phase = 0;
		json_array_clear(j->connect_buf);
		turn_fail(o, queue_owner_job_error_copy(err));
		return;
	}
	j->resumed = res->resumed;
	queue_owner_failure_reconnect(o, j, res);
	free(j->load_error);
	j->load_error = res->load_error != NULL ? xstrdup(res->load_error) :
	    NULL;
	turn_flush_connect(o, j, res->load_error != NULL ?
	    res->failed_request_id : -1, res->failed_resume_id);
	/* The record is checkpointed right after session/prompt. */
	turn_model(o);
}


static void
turn_lock_cb(struct session_lock *lock, int rc, const char *cause, void *arg)
{
	struct queue_owner			*o = arg;
	struct queue_owner_job		*j = o->job;
	struct session_connect_opts	 co;
	struct acpx_error		*werr = NULL;
	char				*err = NULL, *now;

	j->lock_wait = NULL;
	if (rc == -1) {
		turn_fail(o, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "runtime",
		    "%s", cause));
		return;
	}
	j->lock = lock;
	if ((j->rec = session_store_resolve_kept(o->opts.session_id,
	    &err)) == NULL) {
		turn_fail(o, acpx_error_new(ACPX_CODE_NO_SESSION, NULL,
		    "runtime", "%s", err));
		free(err);
		return;
	}
	if (j->cancel) {
		/* Cancelled while waiting: nothing is journaled. */
		j->result = json_pack("{s:s}", "stopReason", "cancelled");
		turn_finish(o);
		return;
	}
	now = js_iso_now();
	(void)conversation_add_prompt(j->rec, j->req->prompt, now);
	session_record_set(&j->rec->last_prompt_at, now);
	session_record_set(&j->rec->last_used_at, now);
	session_record_set(&j->rec->last_request_id, j->req->request_id);
	free(now);
	/* Checkpoints (no fsync) until the turn's end, saved durably. */
	if (turn_save_first(o, j) == -1)
		return;
	if (queue_owner_agent_journal(o, j->rec, &err) == -1 ||
	    journal_begin_turn(o->journal, j->rec, j->req->request_id,
	    &err) == -1) {
		turn_fail(o, acpx_error_new(ACPX_CODE_RUNTIME,
		    "SESSION_JOURNAL_WRITE_FAILED", "runtime", "%s", err));
		free(err);
		return;
	}
	turn_options(o, j);
	/* A warp agent: the serving agent's environment and harness. */
	switch (o->hooks->turn_begin(o, &werr)) {
	case -1:
		turn_fail(o, werr);
		return;
	case 1:
		return;		/* moved to another agent, started there */
	}
	memset(&co, 0, sizeof co);
	co.same_session_only = (j->req->resume_policy != NULL &&
	    strcmp(j->req->resume_policy, "same-session-only") == 0) ||
	    j->rec->imported_from != NULL;
	co.verbose = o->opts.verbose;
	co.log = queue_owner_agent_connect_log;
	/* The hook may have replaced the agent: then no reuse after all. */
	if (turn_save_first(o, j) == -1)
		return;
	queue_owner_failure_turn_begin(o, j);
	j->state = JOB_CONNECT;
	j->connect_phase = 1;
	j->connect = session_connect(queue_owner_agent_client(o), j->rec, &co,
	    turn_connect_cb, o);
}

static void
turn_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_owner	*o = w->data;
	struct queue_owner_job	*j = turn_job(o);

	if (j == NULL)
		return;
	if (j->err == NULL) {
		j->err = acpx_error_new(ACPX_CODE_TIMEOUT, NULL, NULL,
		    "Timed out after %lldms", j->req->timeout_ms);
		if (j->state == JOB_PROMPT) {
			/* Ask the agent to stop; its answer is still relayed. */
			acp_client_cancel(o->client);
			ev_timer_set(w, TURN_CANCEL_WAIT_S, 0.);
			ev_timer_start(loop, w);
			return;
		}
	}
	/* Not in a prompt, or the agent ignored the cancel: stop the agent. */
	(void)queue_owner_job_release(o, j);
	if (o->client != NULL)
		acp_client_kill(o->client);
	turn_fail(o, NULL);
}

/* Start a prompt turn. */
void
queue_owner_turn_start(struct queue_owner *o, struct queue_owner_job *j)
{
	j->state = JOB_LOCK;
	j->connect_buf = json_array();
	ev_timer_init(&j->timeout_w, turn_timeout_cb, 0., 0.);
	j->timeout_w.data = o;
	ev_timer_init(&j->late_w, turn_late_cb, 0., 0.);
	j->late_w.data = o;
	ev_prepare_init(&j->save_w, turn_save_cb);
	ev_set_priority(&j->save_w, EV_MINPRI);
	j->save_w.data = o;
	ev_timer_init(&j->checkpoint_w, queue_owner_agent_checkpoint_cb, 0., 0.);
	j->checkpoint_w.data = o;
	if (j->req->timeout_ms > 0) {
		ev_timer_set(&j->timeout_w, j->req->timeout_ms / 1000.0, 0.);
		ev_timer_start(o->loop, &j->timeout_w);
	}
	j->lock_wait = session_lock_acquire(o->loop, o->opts.session_id,
	    turn_lock_cb, o);
}

/* Cancel the running prompt (or the one about to run). 1 if there was one. */
int
queue_owner_turn_cancel(struct queue_owner *o, struct queue_owner_job *j)
{
	if (j == NULL || j->kind != QUEUE_OWNER_JOB_PROMPT)
		return (0);
	if (j->state == JOB_LATE) {
		/* Answered already: nothing to cancel; end it now. */
		turn_late_done(o);
		return (0);
	}
	o->hooks->cancel(o);	/* no fallback hop after a cancel */
	switch (j->state) {
	case JOB_QUEUED:	/* waiting for an agent slot */
		if (!queue_owner_slot_abandon(o))
			return (0);
		queue_owner_turn_cancelled(o);
		return (1);
	case JOB_PROMPT:
		acp_client_cancel(o->client);
		return (1);
	case JOB_LOCK:
		j->cancel = 1;
		if (j->lock_wait != NULL) {
			session_lock_wait_cancel(j->lock_wait);
			j->lock_wait = NULL;
			j->result = json_pack("{s:s}", "stopReason",
			    "cancelled");
			turn_finish(o);
		}
		return (1);
	case JOB_CONNECT:
	case JOB_MODEL:
		j->cancel = 1;
		return (1);
	default:
		return (0);
	}
}

/*
 * The end of a turn, success or failure: journal, save, release, answer,
 * then make the journal and the record's name durable. The answer waits
 * for every write and rename (a crash of the owner loses nothing the
 * client was told) and for the record's data fsync (no power loss leaves
 * a torn or empty record), not for the journal's fsync and the directory's
 * (a power loss in between may lose the turn's journal lines and the
 * rename: the record then is the checkpoint saved with the prompt).
 */
static void
turn_finish(struct queue_owner *o)
{
	struct queue_owner_job	*j = o->job;
	struct acpx_error	*err = j->err;
	json_t			*result, *m;
	char			*cause = NULL, *now;
	const char		*stop;
	int			 close_client = 0, emitted, durable = 0;

	ev_timer_stop(o->loop, &j->timeout_w);
	ev_timer_stop(o->loop, &j->late_w);
	ev_timer_stop(o->loop, &j->checkpoint_w);
	ev_prepare_stop(o->loop, &j->save_w);
	o->hooks->turn_end(o);
	queue_owner_agent_chunk_flush(o);
	if (queue_owner_job_release(o, j))
		close_client = 1;
	if (j->connect_phase) {
		j->connect_phase = 0;
		json_array_clear(j->connect_buf);
	}
	/*
	 * A prompt still running (timeout, connect failure...): stop the agent.
	 * One the agent answered with its own error is over: the agent stays,
	 * as the reference's does (it closes only on an unresolved prompt).
	 */
	if (err != NULL && (j->state == JOB_PROMPT || j->state ==
	    JOB_CONNECT || j->state == JOB_MODEL) && !(j->state ==
	    JOB_PROMPT && (err->flags & ACPX_ERROR_EMITTED)))
		close_client = 1;

	if (j->rec != NULL) {
		queue_owner_failure_turn_end(o, j);
		queue_owner_job_preserve_close(o, j);
		queue_owner_agent_lifecycle(o, j->rec);
		/*
		 * The agent is closed after the reply: record its exit now, as
		 * the reference does before it replies (a close that follows,
		 * such as sessions close, then finds it recorded).
		 */
		if (close_client && o->client != NULL && j->rec->pid != 0 &&
		    j->rec->pid == acp_client_pid(o->client)) {
			now = js_iso_now();
			session_record_agent_exited(j->rec, -1,
			    "connection_close", now);
			free(now);
		}
		if (o->journal != NULL) {
			if (err != NULL)
				result = journal_result_failed(err);
			else {
				stop = jget_str(j->result, "stopReason");
				result = journal_result_completed(stop,
				    json_object_get(j->result, "_meta"));
			}
			/* Written now, fsync'ed after the answer. */
			if (journal_end_turn(o->journal, j->rec,
			    j->req->request_id, result, &cause) == -1) {
				free(cause);
				cause = NULL;
				close_client = 1;
			} else
				durable |= QUEUE_OWNER_SYNC_JOURNAL;
			json_decref(result);
		}
		/* The journal tracked JSON-RPC ids; the turn's id is the queue's. */
		session_record_set(&j->rec->last_request_id, j->req->request_id);
		/* In place (data fsync'ed, renamed); the directory's fsync after. */
		if (session_store_save_deferred(j->rec, &cause) == -1) {
			free(cause);
			cause = NULL;
		} else
			durable |= QUEUE_OWNER_SYNC_RECORD;
	}
	queue_owner_agent_journal_keep(o);
	session_lock_release(j->lock);
	j->lock = NULL;

	if (j->peer != NULL && j->req->wait) {
		if (err != NULL) {
			emitted = (err->flags & ACPX_ERROR_EMITTED) != 0;
			m = queue_msg_error(j->req->request_id, err, emitted,
			    o->gen);
		} else if ((result = queue_owner_job_result(o, j)) != NULL)
			m = queue_msg_result(j->req->request_id, result, o->gen);
		else
			m = queue_msg_queue_error(j->req->request_id, o->gen,
			    "QUEUE_RUNTIME_PROMPT_FAILED", 0,
			    "Session record disappeared during the turn");
		queue_owner_peer_send(j->peer, m);
		json_decref(m);
	}
	if (j->peer != NULL)
		queue_owner_peer_end(j->peer);
	/* Answered: the fsyncs the answer did not wait for. */
	if (queue_owner_job_sync(o, durable) == -1)
		close_client = 1;
	queue_owner_job_keep(j);	/* answered: indexed, kept for the next */

	o->job = NULL;
	queue_owner_job_free(o, j);
	ev_timer_stop(o->loop, &o->grace_w);
	/* The next job waits until the agent is closed. */
	if (close_client && o->client != NULL)
		queue_owner_agent_close(o);
	queue_owner_kick(o);
}

/* The turn failed with err (stolen; NULL: the error already set). */
static void
turn_fail(struct queue_owner *o, struct acpx_error *err)
{
	struct queue_owner_job	*j = o->job;
	struct acpx_error	*e;

	if (err != NULL) {
		if (j->err == NULL)
			j->err = err;
		else
			acpx_error_free(err);
	}
	e = j->err;
	/*
	 * normalizeOutputError(error, {origin: runtime, detailCode}): the
	 * option wins over a detail read off an agent's error payload
	 * (AUTH_REQUIRED), not over one the error carries itself.
	 */
	if (e->detail_code == NULL || (e->acp != NULL &&
	    strcmp(e->detail_code, "AUTH_REQUIRED") == 0))
		acpx_error_set_detail(e, "QUEUE_RUNTIME_PROMPT_FAILED");
	/*
	 * Errors that carry their own origin in the reference keep it
	 * (AGENT_DISCONNECTED, AGENT_STARTUP_FAILED: "acp"); the rest get the
	 * queue path's default ("cli" is only exec's default).
	 */
	if (e->origin == NULL || strcmp(e->origin, "cli") == 0 ||
	    (e->acp != NULL && strcmp(e->origin, "acp") == 0 &&
	    strcmp(e->detail_code, "QUEUE_RUNTIME_PROMPT_FAILED") == 0)) {
		free(e->origin);
		e->origin = xstrdup("runtime");
	}
	turn_finish(o);
}

/* The turn failed with err (stolen). */
void
queue_owner_turn_fail(struct queue_owner *o, struct acpx_error *err)
{
	turn_fail(o, err);
}

/* The turn was cancelled before its prompt reached an agent. */
void
queue_owner_turn_cancelled(struct queue_owner *o)
{
	struct queue_owner_job	*j = o->job;

	json_decref(j->result);
	j->result = json_pack("{s:s}", "stopReason", "cancelled");
	turn_finish(o);
}

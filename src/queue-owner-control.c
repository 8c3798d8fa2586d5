#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "jget.h"
#include "js.h"
#include "queue-control.h"
#include "queue-owner-impl.h"
#include "queue-proto.h"
#include "session-connect.h"
#include "session-lock.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * The steps of a control job on an idle owner (set_mode, set_model,
 * set_config_option): LOCK (the turn lock, the record), CONNECT (same
 * session only), CONTROL (the request), then the answer with the record
 * saved; the agent stays warm. And close_session's job, run once the
 * owner has stopped everything else: CONTROL while session/close is in
 * flight (if the agent advertises it), then the answer.
 */

static void	control_finish(struct queue_owner *, const json_t *,
		    struct acpx_error *);

/* The running job if it is a control, else NULL. */
static struct queue_owner_job *
control_job(struct queue_owner *o)
{
	struct queue_owner_job	*j = o->job;

	return (j != NULL && j->kind == QUEUE_OWNER_JOB_CONTROL ? j : NULL);
}

static void
control_done_cb(const json_t *response, struct acpx_error *err, void *arg)
{
	struct queue_owner	*o = arg;
	struct queue_owner_job	*j = control_job(o);

	if (j == NULL || j->state != JOB_CONTROL)
		return;
	control_finish(o, response, err != NULL ?
	    queue_owner_job_error_copy(err) : NULL);
}

static void
control_connect_cb(struct session_connect *sc,
    const struct session_connect_result *res, struct acpx_error *err,
    void *arg)
{
	struct queue_owner	*o = arg;
	struct queue_owner_job	*j = control_job(o);
	enum queue_control_kind	 kind;
	const char		*key = NULL;

	if (j == NULL)
		return;
	j->connect = NULL;
	if (j->state != JOB_CONNECT)
		return;
	if (err != NULL) {
		control_finish(o, NULL, queue_owner_job_error_copy(err));
		return;
	}
	switch (j->req->type) {
	case QUEUE_REQ_SET_MODE:
		kind = QUEUE_CONTROL_MODE;
		break;
	case QUEUE_REQ_SET_MODEL:
		kind = QUEUE_CONTROL_MODEL;
		break;
	default:
		kind = QUEUE_CONTROL_CONFIG;
		key = j->req->config_id;
		break;
	}
	j->state = JOB_CONTROL;
	queue_control_run(o->client, j->rec, kind, key, kind ==
	    QUEUE_CONTROL_CONFIG ? j->req->value : j->req->target,
	    control_done_cb, o);
}

static void
control_lock_cb(struct session_lock *lock, int rc, const char *cause,
    void *arg)
{
	struct queue_owner		*o = arg;
	struct queue_owner_job		*j = o->job;
	struct session_connect_opts	 co;
	struct acpx_error		*werr = NULL;
	char				*err = NULL;

	j->lock_wait = NULL;
	if (rc == -1) {
		control_finish(o, NULL, acpx_error_new(ACPX_CODE_RUNTIME, NULL,
		    NULL, "%s", cause));
		return;
	}
	j->lock = lock;
	if ((j->rec = session_store_resolve(o->opts.session_id,
	    &err)) == NULL) {
		control_finish(o, NULL, acpx_error_new(ACPX_CODE_NO_SESSION,
		    NULL, NULL, "%s", err));
		free(err);
		return;
	}
	/* A warp agent: the serving agent's environment and harness. */
	if (o->hooks->prepare(o, &werr) == -1) {
		control_finish(o, NULL, werr);
		return;
	}
	memset(&co, 0, sizeof co);
	co.same_session_only = 1;
	co.replacing_mode = j->req->type == QUEUE_REQ_SET_MODE;
	if (j->req->type == QUEUE_REQ_SET_CONFIG)
		co.replacing_config = j->req->config_id;
	else if (j->req->type == QUEUE_REQ_SET_MODEL)
		co.replacing_config = "model";
	co.verbose = o->opts.verbose;
	co.log = queue_owner_agent_connect_log;
	j->state = JOB_CONNECT;
	j->connect = session_connect(queue_owner_agent_client(o), j->rec, &co,
	    control_connect_cb, o);
}

static void
control_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_owner	*o = w->data;
	struct queue_owner_job	*j = control_job(o);

	if (j == NULL)
		return;
	/* A request may be stuck in the agent: retire the connection. */
	if (o->client != NULL)
		acp_client_kill(o->client);
	control_finish(o, NULL, acpx_error_new(ACPX_CODE_TIMEOUT, NULL, NULL,
	    "Timed out after %lldms", j->req->timeout_ms));
}

/* Start a control job (set_mode, set_model, set_config_option). */
void
queue_owner_control_start(struct queue_owner *o, struct queue_owner_job *j)
{
	j->state = JOB_LOCK;
	ev_timer_init(&j->timeout_w, control_timeout_cb, 0., 0.);
	j->timeout_w.data = o;
	ev_timer_init(&j->checkpoint_w, queue_owner_agent_checkpoint_cb, 0.,
	    0.);
	j->checkpoint_w.data = o;
	if (j->req->timeout_ms > 0) {
		ev_timer_set(&j->timeout_w, j->req->timeout_ms / 1000.0, 0.);
		ev_timer_start(o->loop, &j->timeout_w);
	}
	j->lock_wait = session_lock_acquire(o->loop, o->opts.session_id,
	    control_lock_cb, o);
}

/* The end of a control job: save the record, answer, release. */
static void
control_finish(struct queue_owner *o, const json_t *response,
    struct acpx_error *err)
{
	struct queue_owner_job	*j = o->job;
	const struct queue_request *r = j->req;
	json_t			*m;
	char			*cause = NULL, *now;

	(void)queue_owner_job_release(o, j);
	queue_owner_agent_chunk_flush(o);
	if (j->rec != NULL) {
		now = js_iso_now();
		session_record_set(&j->rec->last_used_at, now);
		free(now);
		queue_owner_agent_lifecycle(o, j->rec);
		if (session_store_save(j->rec, &cause) == -1)
			free(cause);
	}
	session_lock_release(j->lock);
	j->lock = NULL;

	if (j->peer != NULL) {
		if (err != NULL) {
			/* makeQueueOwnerErrorFromUnknown(..., CONTROL_FAILED). */
			if (err->detail_code == NULL)
				acpx_error_set_detail(err,
				    "QUEUE_CONTROL_REQUEST_FAILED");
			if (err->origin == NULL || strcmp(err->detail_code,
			    "QUEUE_CONTROL_REQUEST_FAILED") == 0) {
				free(err->origin);
				err->origin = xstrdup("queue");
			}
			m = queue_msg_error(r->request_id, err, -1, o->gen);
		} else if (r->type == QUEUE_REQ_SET_MODE)
			m = queue_msg_set_mode(r->request_id, r->target, o->gen);
		else if (r->type == QUEUE_REQ_SET_MODEL)
			m = queue_msg_set_model(r->request_id, r->target,
			    json_is_array(json_object_get(response,
			    "configOptions")) ? response : NULL, o->gen);
		else
			m = queue_msg_set_config(r->request_id, response,
			    o->gen);
		queue_owner_job_send(o, j, m);
		queue_owner_peer_end(j->peer);
	}
	acpx_error_free(err);
	/* A failed control leaves the agent warm; a dead one is replaced later. */
	o->job = NULL;
	queue_owner_job_free(o, j);
	queue_owner_kick(o);
}

/*
 * cancel: a control job still waiting for an agent slot leaves the wait
 * with an error to its peer. 1 if it was one.
 */
int
queue_owner_control_cancel(struct queue_owner *o, struct queue_owner_job *j)
{
	if (j == NULL || j != o->job || j->kind != QUEUE_OWNER_JOB_CONTROL ||
	    j->state != JOB_QUEUED || !queue_owner_slot_abandon(o))
		return (0);
	control_finish(o, NULL, acpx_error_new(ACPX_CODE_RUNTIME,
	    "QUEUE_REQUEST_CANCELLED", NULL, "Control request cancelled while "
	    "waiting for a free agent slot"));
	return (1);
}

/* ---------------------------------------------------------------- close_session */

static void
close_answer(struct queue_owner *o, int closed)
{
	struct queue_owner_job	*j = o->closing;

	o->closing = NULL;
	if (o->job == j)
		o->job = NULL;
	if (j->peer != NULL) {
		queue_owner_job_send(o, j, queue_msg_bool(QUEUE_MSG_CLOSE_RESULT,
		    j->req->request_id, closed, o->gen));
		queue_owner_peer_end(j->peer);
	}
	queue_owner_job_free(o, j);
	queue_owner_kick(o);
}

static void
close_session_cb(struct acp_client *client, const json_t *result,
    struct acpx_error *err, void *arg)
{
	close_answer(arg, err == NULL);
}

/* Answer close_session: session/close if the agent advertises it. */
void
queue_owner_control_close_session(struct queue_owner *o)
{
	const json_t	*caps;

	caps = o->client != NULL ? acp_client_agent_caps(o->client) : NULL;
	if (o->client == NULL || !acp_client_running(o->client) ||
	    json_object_get(jget_obj(caps, "sessionCapabilities"),
	    "close") == NULL || acp_client_session_id(o->client) == NULL) {
		close_answer(o, 0);
		return;
	}
	o->job = o->closing;
	o->job->state = JOB_CONTROL;
	acp_client_session_close(o->client, close_session_cb, o);
}

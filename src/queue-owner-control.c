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
 * Controls on an idle owner (set_mode, set_model, set_config_option: turn
 * lock, same-session-only connect, the control, record saved; the agent
 * stays warm) and the answer to close_session.
 */

static void	control_finish(struct queue_owner *, const json_t *, struct acpx_error *);

static void
control_done_cb(const json_t *response, struct acpx_error *err, void *arg)
{
	struct queue_owner	*o = arg;

	if (o->control == NULL || o->state != TURN_CONTROL)
		return;
	control_finish(o, response, err != NULL ? queue_owner_turn_error_copy(err) : NULL);
}

static void
control_connect_cb(struct session_connect *sc,
    const struct session_connect_result *res, struct acpx_error *err,
    void *arg)
{
	struct queue_owner		*o = arg;
	struct queue_owner_control	*c = o->control;
	enum queue_control_kind	 kind;
	const char		*key = NULL;

	o->connect = NULL;
	if (c == NULL || o->state != TURN_CONTROL)
		return;
	if (err != NULL) {
		control_finish(o, NULL, queue_owner_turn_error_copy(err));
		return;
	}
	switch (c->req->type) {
	case QUEUE_REQ_SET_MODE:
		kind = QUEUE_CONTROL_MODE;
		break;
	case QUEUE_REQ_SET_MODEL:
		kind = QUEUE_CONTROL_MODEL;
		break;
	default:
		kind = QUEUE_CONTROL_CONFIG;
		key = c->req->config_id;
		break;
	}
	queue_control_run(o->client, o->rec, kind, key, kind ==
	    QUEUE_CONTROL_CONFIG ? c->req->value : c->req->target,
	    control_done_cb, o);
}

static void
control_lock_cb(struct session_lock *lock, int rc, const char *cause,
    void *arg)
{
	struct queue_owner			*o = arg;
	struct queue_owner_control		*c = o->control;
	struct session_connect_opts	 co;
	struct acpx_error		*werr = NULL;
	char				*err = NULL;

	o->lock_wait = NULL;
	if (rc == -1) {
		control_finish(o, NULL, acpx_error_new(ACPX_CODE_RUNTIME, NULL,
		    NULL, "%s", cause));
		return;
	}
	o->lock = lock;
	if ((o->rec = session_store_resolve(o->opts.session_id,
	    &err)) == NULL) {
		control_finish(o, NULL, acpx_error_new(ACPX_CODE_NO_SESSION,
		    NULL, NULL, "%s", err));
		free(err);
		return;
	}
	/* A warp agent: the serving agent's environment and harness. */
	if (queue_owner_warp_prepare(o, &werr) == -1) {
		control_finish(o, NULL, werr);
		return;
	}
	memset(&co, 0, sizeof co);
	co.same_session_only = 1;
	co.replacing_mode = c->req->type == QUEUE_REQ_SET_MODE;
	if (c->req->type == QUEUE_REQ_SET_CONFIG)
		co.replacing_config = c->req->config_id;
	else if (c->req->type == QUEUE_REQ_SET_MODEL)
		co.replacing_config = "model";
	co.verbose = o->opts.verbose;
	co.log = queue_owner_agent_connect_log;
	o->connect = session_connect(queue_owner_agent_client(o), o->rec, &co,
	    control_connect_cb, o);
}

static void
control_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_owner	*o = w->data;

	if (o->control == NULL)
		return;
	/* A request may be stuck in the agent: retire the connection. */
	if (o->client != NULL)
		acp_client_kill(o->client);
	control_finish(o, NULL, acpx_error_new(ACPX_CODE_TIMEOUT, NULL, NULL,
	    "Timed out after %lldms", o->control->req->timeout_ms));
}

/* Start an idle control (set_mode, set_model, set_config_option). */
void
queue_owner_control_start(struct queue_owner *o, struct queue_owner_control *c)
{
	o->control = c;
	o->state = TURN_CONTROL;
	ev_timer_init(&o->turn_timeout_w, control_timeout_cb, 0., 0.);
	o->turn_timeout_w.data = o;
	if (c->req->timeout_ms > 0) {
		ev_timer_set(&o->turn_timeout_w, c->req->timeout_ms / 1000.0, 0.);
		ev_timer_start(o->loop, &o->turn_timeout_w);
	}
	o->lock_wait = session_lock_acquire(o->loop, o->opts.session_id,
	    control_lock_cb, o);
}

/* The end of an idle control: save the record, answer, release. */
static void
control_finish(struct queue_owner *o, const json_t *response, struct acpx_error *err)
{
	struct queue_owner_control	*c = o->control;
	json_t			*m;
	char			*cause = NULL, *now;

	ev_timer_stop(o->loop, &o->turn_timeout_w);
	if (o->lock_wait != NULL) {
		session_lock_wait_cancel(o->lock_wait);
		o->lock_wait = NULL;
	}
	if (o->connect != NULL) {
		session_connect_cancel(o->connect);
		o->connect = NULL;
	}
	queue_owner_agent_chunk_flush(o);
	if (o->rec != NULL) {
		now = js_iso_now();
		session_record_set(&o->rec->last_used_at, now);
		free(now);
		queue_owner_agent_lifecycle(o, o->rec);
		if (session_store_save(o->rec, &cause) == -1)
			free(cause);
	}
	session_lock_release(o->lock);
	o->lock = NULL;

	if (c->peer != NULL) {
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
			m = queue_msg_error(c->req->request_id, err, -1, o->gen);
		} else if (c->req->type == QUEUE_REQ_SET_MODE)
			m = queue_msg_set_mode(c->req->request_id, c->req->target,
			    o->gen);
		else if (c->req->type == QUEUE_REQ_SET_MODEL)
			m = queue_msg_set_model(c->req->request_id,
			    c->req->target, json_is_array(json_object_get(response,
			    "configOptions")) ? response : NULL, o->gen);
		else
			m = queue_msg_set_config(c->req->request_id, response,
			    o->gen);
		queue_owner_peer_send(c->peer, m);
		json_decref(m);
		queue_owner_peer_end(c->peer);
	}
	acpx_error_free(err);
	session_record_free(o->rec);
	o->rec = NULL;
	o->control = NULL;
	queue_owner_control_free(c);
	/* A failed control leaves the agent warm; a dead one is replaced later. */
	o->state = TURN_IDLE;
	queue_owner_kick(o);
}

void
queue_owner_control_free(struct queue_owner_control *c)
{
	if (c == NULL)
		return;
	queue_request_free(c->req);
	free(c);
}

/* ---------------------------------------------------------------- close_session */

static void
close_answer(struct queue_owner *o, int closed)
{
	struct queue_owner_control	*c = o->closing;
	json_t			*m;

	o->closing = NULL;
	if (c->peer != NULL) {
		m = queue_msg_bool(QUEUE_MSG_CLOSE_RESULT, c->req->request_id,
		    closed, o->gen);
		queue_owner_peer_send(c->peer, m);
		json_decref(m);
		queue_owner_peer_end(c->peer);
	}
	queue_owner_control_free(c);
	queue_owner_kick(o);
}

static void
close_session_cb(struct acp_client *client, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct queue_owner	*o = arg;

	o->state = TURN_IDLE;
	close_answer(o, err == NULL);
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
	o->state = TURN_CONTROL;
	acp_client_session_close(o->client, close_session_cb, o);
}

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "buf.h"
#include "jget.h"
#include "journal.h"
#include "queue-owner-impl.h"
#include "queue-proto.h"
#include "session-connect.h"
#include "session-index.h"
#include "session-lock.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * The owner's jobs: one request that runs on the shared agent, a prompt
 * or a control, as one state machine. One job runs at a time (owner->job);
 * the others wait in the owner's queues (controls first, then prompts in
 * FIFO order; close_session waits for both to drain).
 *
 *	prompt	QUEUED -> LOCK -> CONNECT [-> MODEL] -> PROMPT [-> LATE]
 *		PROMPT -> CONNECT -> PROMPT: a fallback hop (the hooks)
 *	control	QUEUED -> LOCK -> CONNECT -> CONTROL
 *	close	QUEUED -> CONTROL (session/close, if the agent has it)
 *
 * From any state the job can be answered and freed: its result, an error,
 * a timeout, a cancel. The steps of each kind are queue-owner-turn.c and
 * queue-owner-control.c; every step callback first checks that the job it
 * was started for is still the running one in the state it left it in.
 */

struct queue_owner_job *
queue_owner_job_new(enum queue_owner_job_kind kind, struct queue_request *req,
    struct queue_owner_peer *peer)
{
	struct queue_owner_job	*j;

	j = xcalloc(1, sizeof *j);
	j->kind = kind;
	j->state = JOB_QUEUED;
	j->req = req;
	j->peer = peer;
	return (j);
}

/* Free a job that is answered or dropped (its peer has let go of it). */
void
queue_owner_job_free(struct queue_owner *o, struct queue_owner_job *j)
{
	if (j == NULL)
		return;
	ev_timer_stop(o->loop, &j->timeout_w);
	ev_timer_stop(o->loop, &j->checkpoint_w);
	ev_timer_stop(o->loop, &j->late_w);
	ev_prepare_stop(o->loop, &j->save_w);
	queue_request_free(j->req);
	session_record_free(j->rec);
	acpx_error_free(j->err);
	json_decref(j->result);
	free(j->load_error);
	json_decref(j->perm_req);
	json_decref(j->connect_buf);
	json_decref(j->chunk_params);
	buf_free(&j->chunk);
	free(j);
}

/* The prompt with this request id, running or waiting, or NULL. */
struct queue_owner_job *
queue_owner_job_find(struct queue_owner *o, const char *rid)
{
	struct queue_owner_job	*j = o->job;

	if (j != NULL && j->kind == QUEUE_OWNER_JOB_PROMPT &&
	    strcmp(j->req->request_id, rid) == 0)
		return (j);
	TAILQ_FOREACH(j, &o->pending, entry) {
		if (strcmp(j->req->request_id, rid) == 0)
			return (j);
	}
	return (NULL);
}

/* Run a job taken off its queue: the first step of its kind. */
void
queue_owner_job_start(struct queue_owner *o, struct queue_owner_job *j)
{
	o->job = j;
	if (queue_owner_slot_gate(o, j))
		return;		/* started again once it holds a slot */
	switch (j->kind) {
	case QUEUE_OWNER_JOB_PROMPT:
		queue_owner_turn_start(o, j);
		break;
	case QUEUE_OWNER_JOB_CONTROL:
		queue_owner_control_start(o, j);
		break;
	case QUEUE_OWNER_JOB_CLOSE:
		queue_owner_control_close_session(o);
		break;
	}
}

/*
 * cancel_prompt: the running prompt (rid NULL or its id) is cancelled
 * through the agent; a waiting one leaves the queue with an error. 1 if
 * there was one to cancel.
 */
int
queue_owner_job_cancel(struct queue_owner *o, const char *rid)
{
	struct queue_owner_job	*j;

	if (rid == NULL)
		return (queue_owner_control_cancel(o, o->job) ||
		    queue_owner_turn_cancel(o, o->job));
	if ((j = queue_owner_job_find(o, rid)) == NULL)
		return (0);
	if (j == o->job)
		return (queue_owner_turn_cancel(o, j));
	TAILQ_REMOVE(&o->pending, j, entry);
	o->npending--;
	queue_owner_job_drop(o, j, "QUEUE_REQUEST_CANCELLED", 0,
	    "Prompt cancelled before execution");
	queue_owner_depth_changed(o);
	return (1);
}

/* A job that never ran (off its queue): a queue error to its peer, freed. */
void
queue_owner_job_drop(struct queue_owner *o, struct queue_owner_job *j,
    const char *detail, int retryable, const char *message)
{
	queue_owner_peer_reject(j->peer, j->req->request_id, detail,
	    retryable, message);
	queue_owner_job_free(o, j);
}

/*
 * The running job is over: stop its timeout, give up waiting for the lock
 * and connecting. 1 if a connect was under way (the agent is then in an
 * unknown state).
 */
int
queue_owner_job_release(struct queue_owner *o, struct queue_owner_job *j)
{
	int	connecting = j->connect != NULL;

	ev_timer_stop(o->loop, &j->timeout_w);
	if (j->lock_wait != NULL) {
		session_lock_wait_cancel(j->lock_wait);
		j->lock_wait = NULL;
	}
	if (j->connect != NULL) {
		session_connect_cancel(j->connect);
		j->connect = NULL;
	}
	return (connecting);
}

/* Send msg (stolen) to the job's peer, if it still listens. */
void
queue_owner_job_send(struct queue_owner *o, struct queue_owner_job *j,
    json_t *msg)
{
	if (j->peer != NULL)
		queue_owner_peer_send(j->peer, msg);
	json_decref(msg);
}

/*
 * After a turn's answer: fsync the journal (QUEUE_OWNER_SYNC_JOURNAL: its
 * turn_result is written) and the directory of the record saved
 * (QUEUE_OWNER_SYNC_RECORD: session_store_save_deferred()), both in the
 * background (fsutil.h's worker: the loop goes on with the next request
 * while the device works; an owner that exits waits for them). -1 if the
 * journal cannot be written: the writer is closed (the next turn opens a
 * fresh one).
 */
int
queue_owner_job_sync(struct queue_owner *o, int what)
{
	char	*cause = NULL;
	int	 rc = 0;

	if ((what & QUEUE_OWNER_SYNC_JOURNAL) && o->journal != NULL &&
	    journal_sync_background(o->journal, &cause) == -1) {
		free(cause);
		journal_close(o->journal);
		o->journal = NULL;
		rc = -1;
	}
	if (what & QUEUE_OWNER_SYNC_RECORD)
		(void)session_store_sync_saved();
	return (rc);
}

/*
 * The turn is answered: the listing index learns the record as saved (the
 * next prompt's lookup then reads its file without parsing it), and the
 * record is kept for the next turn.
 */
void
queue_owner_job_keep(struct queue_owner_job *j)
{
	const char	*text;
	size_t		 len;

	if ((text = session_store_saved_text(j->rec, &len)) != NULL)
		session_index_note(j->rec, text, len);
	session_store_keep(&j->rec);
}

/* Copy of an error (the step owns the one it hands us). Caller owns. */
struct acpx_error *
queue_owner_job_error_copy(const struct acpx_error *err)
{
	struct acpx_error	*e;

	e = acpx_error_new(err->code, err->detail_code, err->origin, "%s",
	    err->message);
	e->retryable = err->retryable;
	e->flags = err->flags;
	if (err->acp != NULL)
		e->acp = json_deep_copy(err->acp);
	return (e);
}

/* The result object of a finished turn. Caller owns. */
json_t *
queue_owner_job_result(struct queue_owner *o, struct queue_owner_job *j)
{
	static const struct acp_perm_stats none;
	const struct acp_perm_stats	*st;
	json_t				*r, *stats;
	const json_t			*meta;
	const char			*stop;
	struct session_record		*rec;
	char				*cause = NULL;

	stop = jget_str(j->result, "stopReason");
	st = j->state == JOB_PROMPT && o->client != NULL ?
	    acp_client_perm_stats(o->client) : &none;
	stats = json_pack("{s:i, s:i, s:i, s:i}", "requested", st->requested,
	    "approved", st->approved, "denied", st->denied, "cancelled",
	    st->cancelled);
	r = json_pack("{s:s, s:s, s:o}", "stopReason", stop != NULL ? stop :
	    "end_turn", "sessionId", o->opts.session_id, "permissionStats",
	    stats);
	meta = json_object_get(j->result, "_meta");
	if (meta != NULL)
		json_object_set(r, "_meta", (json_t *)meta);
	if (j->req->no_record)
		;	/* the client asked for none (acpx-native) */
	else if (j->rec != NULL)
		json_object_set_new(r, "record", session_record_to_camel(j->rec));
	else if ((rec = session_store_resolve(o->opts.session_id,
	    &cause)) != NULL) {
		/* Cancelled before the turn took the session: as it is saved. */
		json_object_set_new(r, "record", session_record_to_camel(rec));
		session_record_free(rec);
	} else {
		/* A reader refuses a result without a record: never send one. */
		free(cause);
		json_decref(r);
		return (NULL);
	}
	json_object_set_new(r, "resumed", json_boolean(j->resumed));
	if (j->load_error != NULL)
		json_object_set_new(r, "loadError", json_string(j->load_error));
	return (r);
}

/* Keep a close that happened on disk during the turn. */
void
queue_owner_job_preserve_close(struct queue_owner *o, struct queue_owner_job *j)
{
	struct session_record	*disk;
	char			*cause = NULL;
	int			 closed;

	/* Still what we saved, not closed: nobody closed it meanwhile. */
	if (session_store_unchanged(j->rec, &closed) && !closed)
		return;
	if ((disk = session_store_load(o->opts.session_id, &cause)) == NULL) {
		free(cause);
		return;
	}
	if (disk->closed) {
		j->rec->closed = 1;
		session_record_set(&j->rec->closed_at, disk->closed_at);
		j->rec->pid = disk->pid;
	}
	session_record_free(disk);
}

#include <config.h>

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acp-update.h"
#include "acpx-error.h"
#include "buf.h"
#include "conversation.h"
#include "jget.h"
#include "journal.h"
#include "js.h"
#include "queue-owner-impl.h"
#include "queue-proto.h"
#include "session-lock.h"
#include "session-path.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * The owner's shared agent connection: created when a job needs it and
 * replaced when the agent behind it died, every ACP message it carries
 * (journaled, applied to the conversation, relayed to the submitter),
 * text chunks applied in batches, the debounced record checkpoint, and
 * closing the agent with the record's lifecycle snapshot.
 */

#define TURN_CHECKPOINT_S	0.5	/* debounce of live record saves */
#define TURN_CHUNK_HOLD		16384	/* text chunks applied at once */

/* ---------------------------------------------------------------- agent */

static int
turn_is_update(const json_t *msg)
{
	const char	*m = jget_str(msg, "method");

	return (m != NULL && strcmp(m, "session/update") == 0 &&
	    json_object_get(msg, "id") == NULL);
}

/* The text of an agent_message_chunk / agent_thought_chunk update, or NULL. */
static const char *
turn_chunk_text(const json_t *params, enum acp_update_kind *kind)
{
	struct acp_update	ev;

	*kind = acp_update_parse_params(params, &ev);
	if (*kind != ACP_UPDATE_AGENT_MESSAGE_CHUNK &&
	    *kind != ACP_UPDATE_AGENT_THOUGHT_CHUNK)
		return (NULL);
	return (ev.text);
}

/*
 * Apply the text chunks held back as one update: appending them one at a
 * time or all at once gives the same conversation, and applying (and
 * trimming) the conversation for every one of 100,000 chunks would not.
 */
void
queue_owner_agent_chunk_flush(struct queue_owner *o)
{
	json_t	*content;
	char	*now;

	if (o->chunk_params == NULL)
		return;
	content = json_object_get(json_object_get(o->chunk_params, "update"),
	    "content");
	json_object_set_new(content, "text", json_stringn(o->chunk.p != NULL ?
	    o->chunk.p : "", o->chunk.len));
	if (o->rec != NULL) {
		now = js_iso_now();
		if (conversation_apply_update(o->rec, o->chunk_params, now))
			o->dirty = 1;
		free(now);
	}
	json_decref(o->chunk_params);
	o->chunk_params = NULL;
	buf_reset(&o->chunk);
}

/* Hold back a text chunk (1), or 0 if params is not one. */
static int
turn_chunk_take(struct queue_owner *o, const json_t *params)
{
	enum acp_update_kind	 kind;
	struct acp_update	 held;
	const char		*text;

	if ((text = turn_chunk_text(params, &kind)) == NULL)
		return (0);
	if (o->chunk_params != NULL) {
		acp_update_parse_params(o->chunk_params, &held);
		if (held.kind != kind || !json_equal(json_object_get(
		    o->chunk_params, "sessionId"), json_object_get(params,
		    "sessionId")))
			queue_owner_agent_chunk_flush(o);
	}
	if (o->chunk_params == NULL) {
		o->chunk_params = json_deep_copy(params);
		buf_reset(&o->chunk);
	}
	(void)buf_adds(&o->chunk, text);	/* no maximum */
	/* The conversation keeps 8000 characters a message: hold back little. */
	if (o->chunk.len >= TURN_CHUNK_HOLD)
		queue_owner_agent_chunk_flush(o);
	return (1);
}

/* The debounced record checkpoint of a running turn. */
void
queue_owner_agent_checkpoint_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_owner	*o = w->data;
	char		*cause = NULL;

	queue_owner_agent_chunk_flush(o);
	if (o->rec != NULL && o->dirty) {
		if (session_store_save(o->rec, &cause) == -1)
			free(cause);
		o->dirty = 0;
	}
}

/* Every ACP message of the connection, in wire order. */
static void
turn_message_cb(struct acp_client *c, const json_t *msg, int outbound,
    void *arg)
{
	struct queue_owner	*o = arg;
	const json_t	*params;
	json_t		*m;
	char		*cause = NULL, *now;

	if (o->rec == NULL)
		return;
	if (turn_is_update(msg)) {
		params = json_object_get(msg, "params");
		if (turn_chunk_take(o, params))
			o->dirty = 1;
		else {
			queue_owner_agent_chunk_flush(o);
			now = js_iso_now();
			if (conversation_apply_update(o->rec, params, now))
				o->dirty = 1;
			free(now);
		}
		if (o->dirty && !ev_is_active(&o->checkpoint_w)) {
			ev_timer_set(&o->checkpoint_w, TURN_CHECKPOINT_S, 0.);
			ev_timer_start(o->loop, &o->checkpoint_w);
		}
	}
	if (o->active == NULL)
		return;		/* idle controls are not journaled */
	queue_owner_warp_tap(o, msg, outbound);
	if (o->journal != NULL &&
	    journal_append_message(o->journal, o->rec, msg, &cause) == -1) {
		free(cause);
		o->journal_failed = 1;
	}
	if (o->connect_phase) {
		json_array_append_new(o->connect_buf, json_pack("[b, O]",
		    outbound, msg));
		return;
	}
	if (o->active->peer != NULL) {
		m = queue_msg_event(o->active->req->request_id, outbound, msg,
		    o->gen);
		queue_owner_peer_send(o->active->peer, m);
		json_decref(m);
	}
}

static void
turn_log_cb(struct acp_client *c, const char *line, void *arg)
{
	queue_owner_log(arg, "%s", line);
}

/* The shared client, replaced when the agent behind it is gone. */
struct acp_client *
queue_owner_agent_client(struct queue_owner *o)
{
	static const struct acp_client_events ev = { turn_message_cb,
	    turn_log_cb, NULL };

	if (o->client != NULL && acp_client_running(o->client))
		return (o->client);
	if (o->client != NULL)
		acp_client_free(o->client);	/* reaps what is left */
	o->client = acp_client_create(o->loop, &o->copts, &ev, o);
	acp_client_set_cwd(o->client, o->cwd);
	return (o->client);
}

void
queue_owner_agent_connect_log(const char *line, void *arg)
{
	queue_owner_log(arg, "%s", line);
}

/* The active journal segment's identity and size. */
static int
journal_stat(struct queue_owner *o, struct stat *st)
{
	char	*path;
	int	 rc;

	path = session_path_segment(o->opts.session_id, 0);
	rc = stat(path, st);
	free(path);
	return (rc);
}

/*
 * The journal writer of this turn: the one of our last turn if nobody
 * wrote the journal since (opening one reads the whole history), else a
 * fresh one. -1 with *cause.
 */
int
queue_owner_agent_journal(struct queue_owner *o, char **cause)
{
	struct stat	st;

	if (o->journal != NULL && (journal_stat(o, &st) == -1 ||
	    st.st_dev != o->journal_st.st_dev ||
	    st.st_ino != o->journal_st.st_ino ||
	    st.st_size != o->journal_st.st_size)) {
		journal_close(o->journal);
		o->journal = NULL;
	}
	if (o->journal == NULL &&
	    (o->journal = journal_open(o->rec, cause)) == NULL)
		return (-1);
	return (0);
}

/* After a turn: keep the writer for the next turn if it is healthy. */
void
queue_owner_agent_journal_keep(struct queue_owner *o)
{
	if (o->journal == NULL)
		return;
	if (o->journal_failed || journal_stat(o, &o->journal_st) == -1) {
		journal_close(o->journal);
		o->journal = NULL;
	}
	o->journal_failed = 0;
}

/* Record the agent's exit (if it exited) in rec. */
void
queue_owner_agent_lifecycle(struct queue_owner *o, struct session_record *rec)
{
	int	 status;
	char	*now;

	if (o->client == NULL || !acp_client_exited(o->client, &status))
		return;
	if (rec->pid == 0 || rec->pid != acp_client_pid(o->client))
		return;
	now = js_iso_now();
	session_record_agent_exited(rec, status, "connection_close", now);
	free(now);
}

static void
turn_client_closed_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct queue_owner		*o = arg;
	struct session_record	*rec;
	struct session_lock	*lock = NULL;
	char			*cause = NULL, *now;
	int			 status = -1;	/* unknown: code and signal null */

	o->flags &= ~OWNER_CLIENT_CLOSING;
	/* The lifecycle snapshot, unless a turn of another owner holds the lock. */
	if (session_lock_try(o->opts.session_id, &lock, &cause) == 0) {
		if ((rec = session_store_load(o->opts.session_id,
		    &cause)) != NULL) {
			if (rec->pid != 0 && rec->pid == acp_client_pid(c)) {
				/*
				 * As the reference records a close: the
				 * connection closed first, no exit status.
				 */
				now = js_iso_now();
				session_record_agent_exited(rec, status,
				    "connection_close", now);
				free(now);
				if (session_store_save(rec, &cause) == -1) {
					free(cause);
					cause = NULL;
				}
			}
			session_record_free(rec);
		}
		session_lock_release(lock);
	}
	free(cause);
	if (o->client == c)
		o->client = NULL;
	acp_client_free(c);
	if (o->state == TURN_CLOSING)
		o->state = TURN_IDLE;
	queue_owner_kick(o);
}

/* Close the agent (stdin EOF, TERM, KILL); the owner kicks on when it is gone. */
void
queue_owner_agent_close(struct queue_owner *o)
{
	if (o->client == NULL || (o->flags & OWNER_CLIENT_CLOSING))
		return;
	o->flags |= OWNER_CLIENT_CLOSING;
	acp_client_close(o->client, turn_client_closed_cb, o);
}

/* The cancel grace ran out: kill the agent so the turn unwinds. */
void
queue_owner_agent_kill(struct queue_owner *o)
{
	if (o->client != NULL)
		acp_client_kill(o->client);
}


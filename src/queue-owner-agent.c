#include <config.h>

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acp-update.h"
#include "agent-launch.h"
#include "acpx-error.h"
#include "buf.h"
#include "conversation.h"
#include "jget.h"
#include "journal.h"
#include "js.h"
#include "js-json.h"
#include "queue-owner-impl.h"
#include "queue-proto.h"
#include "session-lock.h"
#include "session-path.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * The owner's shared agent connection: created when a job needs it,
 * replaced when the agent behind it died or another agent must serve
 * (retired: closed in the background), closed with the record's
 * lifecycle snapshot. What every ACP message it carries does to the
 * running job: applied to the record's conversation (text chunks in
 * batches, the record saved at most every 0.5 s), and for a prompt
 * journaled, shown to the hooks and relayed to the submitter (held back
 * while connecting). The journal writer, kept across turns while no one
 * else wrote the journal.
 *
 * Ownership: the owner's client belongs here (o->client); a retired one
 * frees itself once closed. The chunk buffer and checkpoint are the
 * job's (struct queue_owner_job).
 */

#define TURN_CHECKPOINT_S	0.5	/* debounce of live record saves */
#define TURN_CHUNK_HOLD		16384	/* text chunks applied at once */

/* ---------------------------------------------------------------- agent */

static int
agent_is_update(const json_t *msg)
{
	const char	*m = jget_str(msg, "method");

	return (m != NULL && strcmp(m, "session/update") == 0 &&
	    json_object_get(msg, "id") == NULL);
}

/*
 * An agent_message_chunk notification (ev its parsed update, with text) of
 * the plain shape, nothing else in it: {jsonrpc "2.0", method, params
 * {sessionId, update{sessionUpdate, content{type "text", text}}}}. Such
 * chunks may reach a quiet submitter merged (queue_owner_peer_merge_chunk).
 */
static int
agent_plain_chunk(const json_t *msg, const json_t *params, const json_t *sid,
    const struct acp_update *ev)
{
	const json_t	*v;

	return (ev->kind == ACP_UPDATE_AGENT_MESSAGE_CHUNK && ev->text != NULL &&
	    json_object_size(msg) == 3 && json_object_size(params) == 2 &&
	    json_object_size(ev->content) == 2 && json_is_string(sid) &&
	    json_object_size(json_object_get(params, "update")) == 2 &&
	    json_is_string(v = json_object_get(msg, "jsonrpc")) &&
	    strcmp(json_string_value(v), "2.0") == 0);
}

/*
 * Apply the text chunks held back as one update: appending them one at a
 * time or all at once gives the same conversation, and applying (and
 * trimming) the conversation for every one of 100,000 chunks would not.
 */
void
queue_owner_agent_chunk_flush(struct queue_owner *o)
{
	struct queue_owner_job	*j = o->job;
	json_t			*content;
	char			*now;

	if (j == NULL || j->chunk_params == NULL)
		return;
	content = json_object_get(json_object_get(j->chunk_params, "update"),
	    "content");
	/* Joined jansson strings: valid UTF-8 already, not checked again. */
	json_object_set_new(content, "text", json_stringn_nocheck(j->chunk.p !=
	    NULL ? j->chunk.p : "", j->chunk.len));
	if (j->rec != NULL) {
		now = js_iso_now();
		if (conversation_apply_update(j->rec, j->chunk_params, now))
			j->dirty = 1;
		free(now);
	}
	json_decref(j->chunk_params);
	j->chunk_params = NULL;
	buf_reset(&j->chunk);
}

/*
 * Hold back a text chunk (1), or 0 if params (parsed: ev; its sessionId
 * sid) is not one.
 */
static int
agent_chunk_take(struct queue_owner *o, struct queue_owner_job *j,
    const json_t *params, const json_t *sid, const struct acp_update *ev)
{
	const char	*text = ev->text;

	if ((ev->kind != ACP_UPDATE_AGENT_MESSAGE_CHUNK &&
	    ev->kind != ACP_UPDATE_AGENT_THOUGHT_CHUNK) || text == NULL)
		return (0);
	/* The same kind of the same session (what is held: o->chunk_*). */
	if (j->chunk_params != NULL && (o->chunk_kind != (int)ev->kind ||
	    !json_equal(o->chunk_sid, sid)))
		queue_owner_agent_chunk_flush(o);
	if (j->chunk_params == NULL) {
		j->chunk_params = json_deep_copy(params);
		o->chunk_kind = (int)ev->kind;
		o->chunk_sid = json_object_get(j->chunk_params, "sessionId");
		buf_reset(&j->chunk);
	}
	(void)buf_adds(&j->chunk, text);	/* no maximum */
	/* The conversation keeps 8000 characters a message: hold back little. */
	if (j->chunk.len >= TURN_CHUNK_HOLD)
		queue_owner_agent_chunk_flush(o);
	return (1);
}

/* The debounced record checkpoint of a running turn. */
void
queue_owner_agent_checkpoint_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_owner	*o = w->data;
	struct queue_owner_job	*j = o->job;
	char			*cause = NULL;

	queue_owner_agent_chunk_flush(o);
	if (j != NULL && j->rec != NULL && j->dirty) {
		if (session_store_checkpoint(j->rec, &cause) == -1)
			free(cause);
		j->dirty = 0;
	}
}

/* Every ACP message of the connection, in wire order. */
static void
agent_message_cb(struct acp_client *c, const json_t *msg, int outbound,
    void *arg)
{
	struct queue_owner	*o = arg;
	struct queue_owner_job	*j = o->job;
	const json_t		*params = NULL, *sid = NULL;
	struct acp_update	 ev;
	char			*cause = NULL, *now, *text = NULL;
	size_t			 len = 0;
	int			 plain = 0;

	/* Outside a turn the resolver still hears the agent (quota signals). */
	if (j == NULL || j->rec == NULL || j->kind != QUEUE_OWNER_JOB_PROMPT)
		o->hooks->tap(o, msg, outbound);
	if (j == NULL || j->rec == NULL)
		return;
	if (agent_is_update(msg)) {
		params = json_object_get(msg, "params");
		sid = json_object_get(params, "sessionId");
		acp_update_parse_params(params, &ev);
		plain = !outbound && agent_plain_chunk(msg, params, sid, &ev);
		if (agent_chunk_take(o, j, params, sid, &ev))
			j->dirty = 1;
		else {
			queue_owner_agent_chunk_flush(o);
			now = js_iso_now();
			if (conversation_apply_update(j->rec, params, now))
				j->dirty = 1;
			free(now);
		}
		if (j->dirty && !ev_is_active(&j->checkpoint_w)) {
			ev_timer_set(&j->checkpoint_w, TURN_CHECKPOINT_S, 0.);
			ev_timer_start(o->loop, &j->checkpoint_w);
		}
	}
	if (j->kind != QUEUE_OWNER_JOB_PROMPT)
		return;		/* idle controls are not journaled */
	o->hooks->tap(o, msg, outbound);
	queue_owner_failure_tap(o, j, msg, outbound);
	/* Serialised once: the journal line is the event's message. */
	if (o->journal != NULL || (!j->connect_phase && j->peer != NULL)) {
		text = js_json_dumps(msg, 0);
		len = strlen(text);
	}
	if (o->journal != NULL) {
		if (journal_append_message_text(o->journal, j->rec, msg, text,
		    len, &cause) == -1) {
			free(cause);
			o->journal_failed = 1;
		} else if (!ev_is_active(&o->journal_w))
			ev_prepare_start(o->loop, &o->journal_w);
	}
	if (j->connect_phase)
		json_array_append_new(j->connect_buf, json_pack("[b, O]",
		    outbound, msg));
	else if (j->peer != NULL && j->req->merge_chunks && plain)
		queue_owner_peer_merge_chunk(j->peer, j->req->request_id, msg,
		    sid, ev.text, ev.text_len);
	else if (j->peer != NULL)
		queue_owner_peer_send_event(j->peer, j->req->request_id,
		    outbound, text, len);
	free(text);
}

static void
agent_log_cb(struct acp_client *c, const char *line, void *arg)
{
	queue_owner_log(arg, "%s", line);
}

/* Read the agent again (a peer's backpressure ends with the connection). */
static void
agent_unpause(struct queue_owner *o)
{
	if (o->paused_by == NULL)
		return;
	o->paused_by = NULL;
	if (o->client != NULL)
		acp_client_pause(o->client, 0);
}

/* The shared client, replaced when the agent behind it is gone. */
struct acp_client *
queue_owner_agent_client(struct queue_owner *o)
{
	static const struct acp_client_events ev = { agent_message_cb,
	    agent_log_cb, NULL };

	if (o->client != NULL && acp_client_running(o->client))
		return (o->client);
	agent_unpause(o);
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
agent_journal_stat(struct queue_owner *o, struct stat *st)
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
queue_owner_agent_journal(struct queue_owner *o, struct session_record *rec,
    char **cause)
{
	struct stat	st;

	if (o->journal != NULL && (agent_journal_stat(o, &st) == -1 ||
	    st.st_dev != o->journal_st.st_dev ||
	    st.st_ino != o->journal_st.st_ino ||
	    st.st_size != o->journal_st.st_size)) {
		journal_close(o->journal);
		o->journal = NULL;
	}
	if (o->journal == NULL &&
	    (o->journal = journal_open(rec, cause)) == NULL)
		return (-1);
	return (0);
}

/* Write the appends of this loop iteration in one go. */
void
queue_owner_agent_journal_flush_cb(struct ev_loop *loop, ev_prepare *w,
    int revents)
{
	struct queue_owner	*o = w->data;
	char			*cause = NULL;

	ev_prepare_stop(loop, w);
	if (o->journal != NULL && journal_flush(o->journal, &cause) == -1) {
		free(cause);
		o->journal_failed = 1;
	}
}

/* After a turn: keep the writer for the next turn if it is healthy. */
void
queue_owner_agent_journal_keep(struct queue_owner *o)
{
	char	*cause = NULL;

	if (o->journal == NULL)
		return;
	if (journal_flush(o->journal, &cause) == -1) {
		free(cause);
		o->journal_failed = 1;
	}
	if (o->journal_failed || agent_journal_stat(o, &o->journal_st) == -1) {
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
agent_closed_cb(struct acp_client *c, const json_t *result,
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
	queue_owner_kick(o);
}

/*
 * What the next agent spawned runs: l's argv (NULL: the record's) with
 * its environment changes, the values to redact and its node (l is owned
 * by the caller, which keeps it until the agent is gone).
 */
void
queue_owner_agent_set_launch(struct queue_owner *o,
    const struct agent_launch *l)
{
	o->copts.argv = l->argv != NULL ? l->argv : o->agent_argv;
	o->copts.env_add = l->env_add;
	o->copts.env_unset = l->env_unset;
	o->copts.redact = l->secrets;
	o->copts.endpoint = l->endpoint;
	o->copts.node = l->node;
}

static void
agent_retired_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct queue_owner	*o = arg;

	if (o->client == c)
		o->client = NULL;
	acp_client_free(c);
	o->retiring--;
	queue_owner_kick(o);
}

/*
 * Detach the agent connection and close it (stdin EOF, TERM, KILL) in the
 * background: the next queue_owner_agent_client() spawns afresh.
 */
void
queue_owner_agent_retire(struct queue_owner *o)
{
	struct acp_client	*old = o->client;

	if (old == NULL)
		return;
	agent_unpause(o);
	o->client = NULL;
	o->retiring++;
	acp_client_abandon(old, o);
	acp_client_close(old, agent_retired_cb, o);
}

/* Close the agent (stdin EOF, TERM, KILL); the owner kicks on when it is gone. */
void
queue_owner_agent_close(struct queue_owner *o)
{
	if (o->client == NULL || (o->flags & OWNER_CLIENT_CLOSING))
		return;
	agent_unpause(o);	/* its end is read */
	o->flags |= OWNER_CLIENT_CLOSING;
	acp_client_close(o->client, agent_closed_cb, o);
}

/* The cancel grace ran out: kill the agent so the turn unwinds. */
void
queue_owner_agent_kill(struct queue_owner *o)
{
	if (o->client != NULL)
		acp_client_kill(o->client);
}


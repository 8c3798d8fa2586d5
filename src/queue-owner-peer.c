#include <config.h>

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "buf.h"
#include "queue-owner-impl.h"
#include "queue-proto.h"
#include "xmalloc.h"

/*
 * The owner's peers, one per connected client, in the manner of OpenSSH's
 * mux master: one request line per connection (framed by queue-framer),
 * dispatched through queue_owner_peer_handlers[] by its type (a type
 * without a row is answered with an error), replies queued in a struct buf
 * and written as the socket takes them (a reader stalled for 1 s is
 * dropped), half-close after the last reply.
 *
 * Ownership: the owner's peer list holds every peer; a closed peer is
 * marked dead and freed by queue_owner_peer_reap() from the owner's kick,
 * never inside one of its own callbacks. A job that a peer submitted
 * points back at it (job->peer) until the peer closes or ends, which
 * clears that pointer: the job outlives its submitter.
 */

#define PEER_DRAIN_S		1.0	/* stalled reader / after our end */
#define PEER_READ		65536
#define PEER_OUT_MAX		(256 * 1024 * 1024)
#define PEER_OUT_HIGH		(64 * 1024)	/* the agent waits past it */
#define PEER_OUT_LOW		(16 * 1024)	/* and is read again below */
#define PEER_MERGE_MAX		(64 * 1024)	/* text of one merged event */

struct queue_owner_peer {
	struct queue_owner	*owner;
	int			 fd;
	ev_io			 rd_w;
	ev_io			 wr_w;
	ev_timer		 drain_w;	/* stalled reader / ended socket */
	struct queue_framer	*in;
	struct buf		 out;		/* replies; sent up to outoff */
	size_t			 outoff;
	struct queue_owner_job	*job;		/* its job, if any */
	struct peer_frame {			/* an event line but its message */
		char		*rid;
		char		*text;
		size_t		 at;		/* where the message goes */
		size_t		 len;
	}			 frame[2];	/* inbound, outbound */
	json_t			*merge;		/* the first of the text chunks
					   being merged (a copy), or NULL */
	const json_t		*merge_sid;	/* its sessionId (borrowed) */
	char			*merge_rid;
	struct buf		 merge_text;	/* their text */
	int			 flags;
#define PEER_HANDLED	0x1	/* the request line was taken */
#define PEER_ENDING	0x2	/* half-close once flushed */
#define PEER_DEAD	0x4	/* closed; freed from the reaper */
#define PEER_STALLED	0x8	/* read nothing for PEER_DRAIN_S: not waited for */
#define PEER_LAST	0x10	/* the owner is stopping: a stall closes it */
	TAILQ_ENTRY(queue_owner_peer) entry;
};

static void	peer_submit(struct queue_owner_peer *, struct queue_request *);
static void	peer_cancel(struct queue_owner_peer *, struct queue_request *);
static void	peer_control(struct queue_owner_peer *, struct queue_request *);
static void	peer_close_session(struct queue_owner_peer *,
		    struct queue_request *);

/* What each request type does (the request line's "type"). */
static const struct {
	enum queue_req_type	 type;
	void			(*handler)(struct queue_owner_peer *,
				    struct queue_request *);
} queue_owner_peer_handlers[] = {
	{ QUEUE_REQ_SUBMIT,	peer_submit },
	{ QUEUE_REQ_CANCEL,	peer_cancel },
	{ QUEUE_REQ_SET_MODE,	peer_control },
	{ QUEUE_REQ_SET_MODEL,	peer_control },
	{ QUEUE_REQ_SET_CONFIG,	peer_control },
	{ QUEUE_REQ_CLOSE,	peer_close_session },
};

static void	peer_close(struct queue_owner_peer *);

/*
 * Backpressure: while a peer has more than PEER_OUT_HIGH unsent, the
 * agent is not read (it waits on its full pipe, as it would writing to a
 * slow terminal), so a stream costs the owner no more memory than that;
 * it is read again once the peer is down to PEER_OUT_LOW or gone. A peer
 * that reads nothing for PEER_DRAIN_S (a stopped client, a loaded
 * machine) is not waited for: its output is kept, up to PEER_OUT_MAX, as
 * the reference keeps it, and it is held to this again once it reads.
 * Nothing is dropped for being slow; only a stopping owner closes a
 * peer that stalls.
 */
static void
peer_pressure(struct queue_owner_peer *p)
{
	struct queue_owner	*o = p->owner;
	size_t			 pending = p->out.len - p->outoff +
				    p->merge_text.len;

	if (o->paused_by == NULL && pending > PEER_OUT_HIGH &&
	    !(p->flags & (PEER_DEAD|PEER_STALLED)) && o->client != NULL) {
		acp_client_pause(o->client, 1);
		o->paused_by = p;
		/* Held for a reader that may read nothing: the stall clock. */
		if (!ev_is_active(&p->drain_w)) {
			ev_timer_set(&p->drain_w, PEER_DRAIN_S, 0.);
			ev_timer_start(o->loop, &p->drain_w);
		}
	} else if (o->paused_by == p && (pending <= PEER_OUT_LOW ||
	    (p->flags & (PEER_DEAD|PEER_STALLED)))) {
		o->paused_by = NULL;
		if (o->client != NULL)
			acp_client_pause(o->client, 0);
	}
}

static void
peer_stop(struct queue_owner_peer *p)
{
	struct queue_owner	*o = p->owner;

	ev_io_stop(o->loop, &p->rd_w);
	ev_io_stop(o->loop, &p->wr_w);
	ev_timer_stop(o->loop, &p->drain_w);
}

/* Forget the job of a peer (the job outlives its submitter). */
static void
peer_detach(struct queue_owner_peer *p)
{
	if (p->job != NULL && p->job->peer == p)
		p->job->peer = NULL;
	p->job = NULL;
}

/* Close a peer now; its job goes on without it; freed by the reaper. */
static void
peer_close(struct queue_owner_peer *p)
{
	if (p->flags & PEER_DEAD)
		return;
	peer_stop(p);
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	p->flags |= PEER_DEAD;
	json_decref(p->merge);
	p->merge = NULL;
	buf_reset(&p->merge_text);
	peer_pressure(p);
	/* A disconnect never cancels a queued or running prompt. */
	peer_detach(p);
	queue_owner_kick(p->owner);
}

/* Write what we can; half-close when everything is out and we are ending. */
static void
peer_flush(struct queue_owner_peer *p)
{
	struct queue_owner	*o = p->owner;
	ssize_t			 n;

	while (p->outoff < p->out.len) {
		n = write(p->fd, p->out.p + p->outoff, p->out.len - p->outoff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			peer_close(p);	/* a dead reader: drop the rest */
			return;
		}
		p->outoff += (size_t)n;
		/* Progress: a slow reader is not a stalled one. */
		ev_timer_stop(o->loop, &p->drain_w);
		p->flags &= ~PEER_STALLED;
	}
	peer_pressure(p);
	if (p->outoff < p->out.len) {
		ev_io_start(o->loop, &p->wr_w);
		if (!ev_is_active(&p->drain_w)) {
			ev_timer_set(&p->drain_w, PEER_DRAIN_S, 0.);
			ev_timer_start(o->loop, &p->drain_w);
		}
		return;
	}
	ev_io_stop(o->loop, &p->wr_w);
	buf_reset(&p->out);
	p->outoff = 0;
	if (p->flags & PEER_ENDING) {
		(void)shutdown(p->fd, SHUT_WR);
		/* Wait for the client's EOF, at most the drain timeout. */
		if (!ev_is_active(&p->drain_w)) {
			ev_timer_set(&p->drain_w, PEER_DRAIN_S, 0.);
			ev_timer_start(o->loop, &p->drain_w);
		}
		ev_io_start(o->loop, &p->rd_w);
	}
}

/*
 * Queue the bytes of one line, given in up to three pieces, to a peer
 * (dropped if it is gone; a peer too far behind is closed).
 */
static void
peer_queue(struct queue_owner_peer *p, const char *a, size_t alen,
    const char *b, size_t blen, const char *c, size_t clen)
{
	size_t	len = alen + blen + clen;

	if (p->out.len - p->outoff + len > PEER_OUT_MAX) {
		peer_close(p);
		return;
	}
	/* Bytes already sent make room before the buffer would grow. */
	if (p->outoff > 0 && p->out.len + len + 1 > p->out.cap) {
		buf_drain(&p->out, p->outoff);
		p->outoff = 0;
	}
	/* No maximum: checked above. */
	(void)buf_add(&p->out, a, alen);
	(void)buf_add(&p->out, b, blen);
	(void)buf_add(&p->out, c, clen);
	peer_pressure(p);
	/* Written when the loop comes round: one write for a burst of events. */
	ev_io_start(p->owner->loop, &p->wr_w);
}

/*
 * Queue the text chunks merged so far as one event: the first one's
 * message with their text joined. Before anything else is queued, and
 * when the socket can take more.
 */
static void
peer_merge_flush(struct queue_owner_peer *p)
{
	json_t	*content, *ev;
	char	*line;
	size_t	 len;

	if (p->merge == NULL)
		return;
	content = json_object_get(json_object_get(json_object_get(p->merge,
	    "params"), "update"), "content");
	/* Joined jansson strings: valid UTF-8 already, not checked again. */
	json_object_set_new(content, "text", json_stringn_nocheck(
	    p->merge_text.p != NULL ? p->merge_text.p : "", p->merge_text.len));
	ev = queue_msg_event(p->merge_rid, 0, p->merge, p->owner->gen);
	json_decref(p->merge);
	p->merge = NULL;
	buf_reset(&p->merge_text);
	line = queue_proto_line(ev, &len);
	json_decref(ev);
	peer_queue(p, line, len, NULL, 0, NULL, 0);
	free(line);
}

/*
 * An inbound agent_message_chunk of the plain shape (jsonrpc, method,
 * params{sessionId, update{sessionUpdate, content{type "text", text}}}),
 * for a submitter that asked for merged chunks (mergeTextChunks): held
 * and joined with the next ones of the same session into one event, sent
 * when anything else is, when the socket can take more, or at
 * PEER_MERGE_MAX bytes of text. The journal keeps every message.
 */
void
queue_owner_peer_merge_chunk(struct queue_owner_peer *p, const char *rid,
    const json_t *msg, const json_t *sid, const char *text, size_t len)
{
	if (p == NULL || (p->flags & (PEER_DEAD|PEER_ENDING)))
		return;
	if (p->merge != NULL && (p->merge_text.len + len > PEER_MERGE_MAX ||
	    strcmp(p->merge_rid, rid) != 0 || !json_equal(sid, p->merge_sid)))
		peer_merge_flush(p);
	if (p->flags & PEER_DEAD)
		return;
	if (p->merge == NULL) {
		p->merge = json_deep_copy(msg);
		p->merge_sid = json_object_get(json_object_get(p->merge,
		    "params"), "sessionId");
		free(p->merge_rid);
		p->merge_rid = xstrdup(rid);
	}
	(void)buf_add(&p->merge_text, text, len);	/* bounded above */
	peer_pressure(p);
	ev_io_start(p->owner->loop, &p->wr_w);
}

/* Queue one message line to a peer (dropped if it is gone). */
void
queue_owner_peer_send(struct queue_owner_peer *p, const json_t *msg)
{
	char	*line;
	size_t	 len;

	if (p == NULL || (p->flags & (PEER_DEAD|PEER_ENDING)))
		return;
	peer_merge_flush(p);
	if (p->flags & PEER_DEAD)
		return;
	line = queue_proto_line(msg, &len);
	peer_queue(p, line, len, NULL, 0, NULL, 0);
	free(line);
}

/*
 * Queue the event line of one ACP message given as its compact text
 * (js_json_dumps(message, 0)): the same bytes as queue_owner_peer_send()
 * of queue_msg_event(rid, outbound, message, gen), without serialising the
 * message again. The line around it is made once per direction.
 */
void
queue_owner_peer_send_event(struct queue_owner_peer *p, const char *rid,
    int outbound, const char *text, size_t len)
{
	struct peer_frame	*f;

	if (p == NULL || (p->flags & (PEER_DEAD|PEER_ENDING)))
		return;
	peer_merge_flush(p);
	if (p->flags & PEER_DEAD)
		return;
	f = &p->frame[outbound != 0];
	if (f->text == NULL || strcmp(f->rid, rid) != 0) {
		free(f->text);
		free(f->rid);
		f->rid = xstrdup(rid);
		f->text = queue_msg_event_frame(rid, outbound, p->owner->gen,
		    &f->at, &f->len);
	}
	peer_queue(p, f->text, f->at, text, len, f->text + f->at,
	    f->len - f->at);
}

/* Send msg (stolen). */
static void
peer_reply(struct queue_owner_peer *p, json_t *msg)
{
	queue_owner_peer_send(p, msg);
	json_decref(msg);
}

/* The last message was queued: flush, then half-close. */
void
queue_owner_peer_end(struct queue_owner_peer *p)
{
	if (p == NULL || (p->flags & (PEER_DEAD|PEER_ENDING)))
		return;
	peer_merge_flush(p);
	if (p->flags & PEER_DEAD)
		return;
	p->flags |= PEER_ENDING;
	peer_detach(p);
	peer_flush(p);
}

/* Send a queue error and end the peer. */
void
queue_owner_peer_reject(struct queue_owner_peer *p, const char *rid,
    const char *detail, int retryable, const char *message)
{
	json_t	*m;

	if (p == NULL)
		return;
	m = queue_msg_queue_error(rid, p->owner->gen, detail, retryable,
	    message);
	queue_owner_peer_send(p, m);
	json_decref(m);
	queue_owner_peer_end(p);
}

static void
peer_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_owner_peer	*p = w->data;

	/* A reader that stalled: the agent goes on without waiting for it. */
	if (p->outoff < p->out.len && !(p->flags & PEER_LAST)) {
		p->flags |= PEER_STALLED;
		peer_pressure(p);
		return;
	}
	/* One that did not close after our end, or the owner is stopping. */
	peer_close(p);
}

static void
peer_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct queue_owner_peer	*p = w->data;

	peer_merge_flush(p);
	if (!(p->flags & PEER_DEAD))
		peer_flush(p);
}

/* A job for this peer's request (stolen), accepted. */
static struct queue_owner_job *
peer_accept_job(struct queue_owner_peer *p, enum queue_owner_job_kind kind,
    struct queue_request *req)
{
	struct queue_owner	*o = p->owner;
	struct queue_owner_job	*j;

	j = queue_owner_job_new(kind, req, p);
	p->job = j;
	ev_timer_stop(o->loop, &o->ttl_w);
	peer_reply(p, queue_msg_simple(QUEUE_MSG_ACCEPTED,
	    req->request_id, o->gen));
	return (j);
}

/* submit_prompt: run now on an idle owner, else wait in the FIFO. */
static void
peer_submit(struct queue_owner_peer *p, struct queue_request *req)
{
	struct queue_owner	*o = p->owner;
	struct queue_owner_job	*j;
	char			*msg;
	int			 idle;

	if (queue_owner_job_find(o, req->request_id) != NULL) {
		queue_owner_peer_reject(p, req->request_id,
		    "QUEUE_REQUEST_DUPLICATE", 0,
		    "Request is already queued or active");
		queue_request_free(req);
		return;
	}
	/* Handed straight to an idle owner, else bounded by maxQueueDepth. */
	idle = queue_owner_idle(o);
	if (!idle && o->npending >= o->opts.max_depth) {
		xasprintf(&msg, "Queue owner is overloaded (%d/%d queued)",
		    o->npending, o->opts.max_depth);
		queue_owner_peer_reject(p, req->request_id,
		    "QUEUE_OWNER_OVERLOADED", 1, msg);
		free(msg);
		queue_request_free(req);
		return;
	}
	j = peer_accept_job(p, QUEUE_OWNER_JOB_PROMPT, req);
	if (!req->wait)
		queue_owner_peer_end(p);	/* detaches: output is discarded */
	if (idle) {
		/* Never counted as waiting: it runs now. */
		o->first_wait = 0;
		queue_owner_job_start(o, j);
		return;
	}
	TAILQ_INSERT_TAIL(&o->pending, j, entry);
	o->npending++;
	queue_owner_depth_changed(o);
	queue_owner_kick(o);
}

/* cancel_prompt: answered at once. */
static void
peer_cancel(struct queue_owner_peer *p, struct queue_request *req)
{
	struct queue_owner	*o = p->owner;
	int			 cancelled;

	peer_reply(p, queue_msg_simple(QUEUE_MSG_ACCEPTED,
	    req->request_id, o->gen));
	cancelled = queue_owner_job_cancel(o, req->target);
	peer_reply(p, queue_msg_bool(QUEUE_MSG_CANCEL_RESULT,
	    req->request_id, cancelled, o->gen));
	queue_owner_peer_end(p);
	queue_request_free(req);
	queue_owner_kick(o);
}

/* set_mode, set_model, set_config_option: queued before the prompts. */
static void
peer_control(struct queue_owner_peer *p, struct queue_request *req)
{
	struct queue_owner	*o = p->owner;
	struct queue_owner_job	*j;

	j = peer_accept_job(p, QUEUE_OWNER_JOB_CONTROL, req);
	TAILQ_INSERT_TAIL(&o->controls, j, entry);
	queue_owner_kick(o);
}

/* close_session: stop everything, answer once the session is closed. */
static void
peer_close_session(struct queue_owner_peer *p, struct queue_request *req)
{
	struct queue_owner	*o = p->owner;

	if (o->closing != NULL) {
		queue_owner_peer_reject(p, req->request_id,
		    "QUEUE_OWNER_SHUTTING_DOWN", 1, "Queue owner is closing");
		queue_request_free(req);
		return;
	}
	o->closing = queue_owner_job_new(QUEUE_OWNER_JOB_CLOSE, req, p);
	p->job = o->closing;
	peer_reply(p, queue_msg_simple(QUEUE_MSG_ACCEPTED,
	    req->request_id, o->gen));
	queue_owner_shutdown(o, "close");
}

/* The first line of a connection. */
static void
peer_dispatch(struct queue_owner_peer *p, const char *line, size_t len)
{
	struct queue_owner		*o = p->owner;
	struct queue_request	*req;
	const char		*detail;
	size_t			 i;

	p->flags |= PEER_HANDLED;
	if ((req = queue_request_parse(line, len, &detail)) == NULL) {
		queue_owner_peer_reject(p, "unknown", detail, 0, strcmp(detail,
		    QUEUE_BAD_JSON) == 0 ? "Invalid queue request payload" :
		    "Invalid queue request");
		return;
	}
	if (o->flags & OWNER_CLOSING) {
		queue_owner_peer_reject(p, req->request_id, "QUEUE_OWNER_CLOSED", 1,
		    "Queue owner is shutting down");
		queue_request_free(req);
		return;
	}
	if (req->owner_generation > 0 && req->owner_generation != o->gen) {
		queue_owner_peer_reject(p, req->request_id,
		    "QUEUE_OWNER_GENERATION_MISMATCH", 0,
		    "Queue request targeted a stale queue owner generation");
		queue_request_free(req);
		return;
	}
	for (i = 0; i < nitems(queue_owner_peer_handlers); i++) {
		if (queue_owner_peer_handlers[i].type == req->type) {
			queue_owner_peer_handlers[i].handler(p, req);
			return;
		}
	}
	/* A type the parser knows and no row handles. */
	queue_owner_peer_reject(p, req->request_id, QUEUE_BAD_REQUEST, 0,
	    "Invalid queue request");
	queue_request_free(req);
}

static void
peer_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct queue_owner_peer	*p = w->data;
	char			*buf, *line;
	size_t			 len;
	ssize_t			 n;

	for (;;) {
		buf = queue_framer_reserve(p->in, PEER_READ);
		n = read(p->fd, buf, PEER_READ);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/*
			 * EOF or error. Before a request: nothing to do. After
			 * one: the job keeps running, its output is dropped.
			 */
			peer_close(p);
			return;
		}
		if (p->flags & PEER_HANDLED)
			continue;	/* later lines are ignored */
		queue_framer_commit(p->in, (size_t)n);
		switch (queue_framer_next(p->in, &line, &len)) {
		case QUEUE_FRAME_TOO_LONG:
			peer_close(p);	/* silently, as the reference */
			return;
		case QUEUE_FRAME_NEED_MORE:
			break;
		case QUEUE_FRAME_LINE:
			peer_dispatch(p, line, len);
			if (p->flags & PEER_DEAD)
				return;
			break;
		}
	}
}

/* Accept every pending connection (refusing other uids). */
void
queue_owner_peer_accept(struct queue_owner *o)
{
	struct queue_owner_peer	*p;
	struct ucred		 cred;
	socklen_t		 clen;
	size_t			 limit;
	char			*cause = NULL;
	int			 fd;

	for (;;) {
		fd = accept4(o->listen_fd, NULL, NULL, SOCK_NONBLOCK|SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;		/* EAGAIN, or EMFILE: try next time */
		}
		/* Peers of another uid are refused. */
		clen = sizeof cred;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1 ||
		    cred.uid != geteuid()) {
			close(fd);
			continue;
		}
		if (queue_proto_request_limit(&limit, &cause) == -1) {
			free(cause);
			cause = NULL;
			limit = 0;
		}
		p = xcalloc(1, sizeof *p);
		p->owner = o;
		p->fd = fd;
		p->in = queue_framer_create(limit != 0 ? limit :
		    QUEUE_PROTO_OWNER_MAX);
		ev_io_init(&p->rd_w, peer_read_cb, fd, EV_READ);
		p->rd_w.data = p;
		ev_io_init(&p->wr_w, peer_write_cb, fd, EV_WRITE);
		p->wr_w.data = p;
		ev_timer_init(&p->drain_w, peer_drain_cb, PEER_DRAIN_S, 0.);
		p->drain_w.data = p;
		TAILQ_INSERT_TAIL(&o->peers, p, entry);
		ev_io_start(o->loop, &p->rd_w);
	}
}

/* Free the peers that were closed. */
void
queue_owner_peer_reap(struct queue_owner *o)
{
	struct queue_owner_peer	*p, *np;
	size_t			 i;

	for (p = TAILQ_FIRST(&o->peers); p != NULL; p = np) {
		np = TAILQ_NEXT(p, entry);
		if (!(p->flags & PEER_DEAD))
			continue;
		TAILQ_REMOVE(&o->peers, p, entry);
		queue_framer_free(p->in);
		buf_free(&p->out);
		for (i = 0; i < nitems(p->frame); i++) {
			free(p->frame[i].rid);
			free(p->frame[i].text);
		}
		json_decref(p->merge);
		free(p->merge_rid);
		buf_free(&p->merge_text);
		free(p);
	}
}

/*
 * Shutdown: connections that have not sent their request get 1 s to;
 * one still being answered is closed once it reads nothing for 1 s.
 */
void
queue_owner_peer_shutdown(struct queue_owner *o)
{
	struct queue_owner_peer	*p;

	TAILQ_FOREACH(p, &o->peers, entry) {
		p->flags |= PEER_LAST;
		if (!(p->flags & PEER_DEAD) && (!(p->flags & PEER_HANDLED) ||
		    (p->flags & PEER_STALLED)) && !ev_is_active(&p->drain_w)) {
			ev_timer_set(&p->drain_w, PEER_DRAIN_S, 0.);
			ev_timer_start(o->loop, &p->drain_w);
		}
	}
}

/* 1 while a peer is still open (being answered or drained). */
int
queue_owner_peer_any(struct queue_owner *o)
{
	struct queue_owner_peer	*p;

	TAILQ_FOREACH(p, &o->peers, entry) {
		if (!(p->flags & PEER_DEAD))
			return (1);
	}
	return (0);
}

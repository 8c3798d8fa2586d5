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
#include "queue-owner-impl.h"
#include "queue-proto.h"
#include "xmalloc.h"

/*
 * The owner's connections: one request per connection, replies queued and
 * written as the socket takes them (a reader stalled for 1 s is dropped),
 * half-close after the last reply; requests dispatched to the FIFO, the
 * control queue or answered at once (cancel, errors).
 */

#define OWNER_DRAIN_S		1.0	/* stalled reader / after our end */
#define OWNER_READ		65536
#define OWNER_OUT_MAX		(256 * 1024 * 1024)

static void	owner_peer_close(struct owner_peer *);

static void
owner_peer_stop(struct owner_peer *p)
{
	struct owner	*o = p->owner;

	ev_io_stop(o->loop, &p->rd_w);
	ev_io_stop(o->loop, &p->wr_w);
	ev_timer_stop(o->loop, &p->drain_w);
}

/* Forget the job of a peer (the job outlives its submitter). */
static void
owner_peer_detach(struct owner_peer *p)
{
	if (p->task != NULL && p->task->peer == p)
		p->task->peer = NULL;
	if (p->control != NULL && p->control->peer == p)
		p->control->peer = NULL;
	p->task = NULL;
	p->control = NULL;
}

/* Close a peer now; its job goes on without it; freed by the reaper. */
static void
owner_peer_close(struct owner_peer *p)
{
	if (p->flags & PEER_DEAD)
		return;
	owner_peer_stop(p);
	if (p->fd != -1)
		close(p->fd);
	p->fd = -1;
	p->flags |= PEER_DEAD;
	/* A disconnect never cancels a queued or running prompt. */
	owner_peer_detach(p);
	owner_kick(p->owner);
}

/* Write what we can; half-close when everything is out and we are ending. */
static void
owner_peer_flush(struct owner_peer *p)
{
	struct owner	*o = p->owner;
	ssize_t		 n;

	while (p->outoff < p->outlen) {
		n = write(p->fd, p->out + p->outoff, p->outlen - p->outoff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			owner_peer_close(p);	/* a dead reader: drop the rest */
			return;
		}
		p->outoff += (size_t)n;
		/* Progress: a slow reader is not a stalled one. */
		if (!(p->flags & PEER_ENDING))
			ev_timer_stop(o->loop, &p->drain_w);
	}
	if (p->outoff < p->outlen) {
		ev_io_start(o->loop, &p->wr_w);
		if (!ev_is_active(&p->drain_w)) {
			ev_timer_set(&p->drain_w, OWNER_DRAIN_S, 0.);
			ev_timer_start(o->loop, &p->drain_w);
		}
		return;
	}
	ev_io_stop(o->loop, &p->wr_w);
	p->outoff = p->outlen = 0;
	if (p->flags & PEER_ENDING) {
		(void)shutdown(p->fd, SHUT_WR);
		/* Wait for the client's EOF, at most the drain timeout. */
		if (!ev_is_active(&p->drain_w)) {
			ev_timer_set(&p->drain_w, OWNER_DRAIN_S, 0.);
			ev_timer_start(o->loop, &p->drain_w);
		}
		ev_io_start(o->loop, &p->rd_w);
	}
}

/* Queue one message line to a peer (dropped if it is gone). */
void
owner_peer_send(struct owner_peer *p, const json_t *msg)
{
	char	*line;
	size_t	 len;

	if (p == NULL || (p->flags & (PEER_DEAD|PEER_ENDING)))
		return;
	line = queue_proto_line(msg, &len);
	if (p->outlen - p->outoff + len > OWNER_OUT_MAX) {
		free(line);
		owner_peer_close(p);
		return;
	}
	if (p->outoff > 0 && p->outoff == p->outlen)
		p->outoff = p->outlen = 0;
	if (p->outlen + len > p->outsize) {
		if (p->outoff > 0) {
			memmove(p->out, p->out + p->outoff, p->outlen - p->outoff);
			p->outlen -= p->outoff;
			p->outoff = 0;
		}
		while (p->outlen + len > p->outsize)
			p->outsize = p->outsize == 0 ? 4096 : p->outsize * 2;
		p->out = xreallocarray(p->out, 1, p->outsize);
	}
	memcpy(p->out + p->outlen, line, len);
	p->outlen += len;
	free(line);
	/* Written when the loop comes round: one write for a burst of events. */
	ev_io_start(p->owner->loop, &p->wr_w);
}

/* The last message was queued: flush, then half-close. */
void
owner_peer_end(struct owner_peer *p)
{
	if (p == NULL || (p->flags & (PEER_DEAD|PEER_ENDING)))
		return;
	p->flags |= PEER_ENDING;
	owner_peer_detach(p);
	owner_peer_flush(p);
}

static void
owner_peer_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* A reader that stalled for 1 s, or did not close after our end. */
	owner_peer_close(w->data);
}

static void
owner_peer_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	owner_peer_flush(w->data);
}

/* Send a queue error and end the peer. */
static void
owner_reject(struct owner_peer *p, const char *rid, const char *detail,
    int retryable, const char *message)
{
	json_t	*m;

	m = queue_msg_queue_error(rid, p->owner->gen, detail, retryable,
	    message);
	owner_peer_send(p, m);
	json_decref(m);
	owner_peer_end(p);
}

/* Find a task by request id (active or pending). */
static struct owner_task *
owner_find_task(struct owner *o, const char *rid)
{
	struct owner_task	*t;

	if (o->active != NULL && strcmp(o->active->req->request_id, rid) == 0)
		return (o->active);
	TAILQ_FOREACH(t, &o->pending, entry) {
		if (strcmp(t->req->request_id, rid) == 0)
			return (t);
	}
	return (NULL);
}

static void
owner_handle_submit(struct owner_peer *p, struct queue_request *req)
{
	struct owner		*o = p->owner;
	struct owner_task	*t;
	json_t			*m;
	char			*msg;
	int			 idle;

	if (owner_find_task(o, req->request_id) != NULL) {
		owner_reject(p, req->request_id, "QUEUE_REQUEST_DUPLICATE", 0,
		    "Request is already queued or active");
		queue_request_free(req);
		return;
	}
	/* Handed straight to an idle owner, else bounded by maxQueueDepth. */
	idle = o->active == NULL && o->state == TURN_IDLE &&
	    TAILQ_EMPTY(&o->controls) && TAILQ_EMPTY(&o->pending);
	if (!idle && o->npending >= o->opts.max_depth) {
		xasprintf(&msg, "Queue owner is overloaded (%d/%d queued)",
		    o->npending, o->opts.max_depth);
		owner_reject(p, req->request_id, "QUEUE_OWNER_OVERLOADED", 1, msg);
		free(msg);
		queue_request_free(req);
		return;
	}
	t = xcalloc(1, sizeof *t);
	t->req = req;
	t->peer = p;
	p->task = t;
	ev_timer_stop(o->loop, &o->ttl_w);
	m = queue_msg_simple(QUEUE_MSG_ACCEPTED, req->request_id, o->gen);
	owner_peer_send(p, m);
	json_decref(m);
	if (!req->wait)
		owner_peer_end(p);	/* detaches: output is discarded */
	if (idle) {
		/* Never counted as waiting: it runs now. */
		o->first_wait = 0;
		owner_turn_start(o, t);
		return;
	}
	TAILQ_INSERT_TAIL(&o->pending, t, entry);
	o->npending++;
	owner_depth_changed(o);
	owner_kick(o);
}

static void
owner_handle_cancel(struct owner_peer *p, struct queue_request *req)
{
	struct owner		*o = p->owner;
	struct owner_task	*t;
	json_t			*m;
	int			 cancelled = 0;

	m = queue_msg_simple(QUEUE_MSG_ACCEPTED, req->request_id, o->gen);
	owner_peer_send(p, m);
	json_decref(m);
	if (req->target == NULL)
		cancelled = owner_turn_cancel(o);
	else if ((t = owner_find_task(o, req->target)) != NULL) {
		if (t == o->active)
			cancelled = owner_turn_cancel(o);
		else {
			TAILQ_REMOVE(&o->pending, t, entry);
			o->npending--;
			m = queue_msg_queue_error(t->req->request_id, o->gen,
			    "QUEUE_REQUEST_CANCELLED", 0,
			    "Prompt cancelled before execution");
			if (t->peer != NULL) {
				owner_peer_send(t->peer, m);
				owner_peer_end(t->peer);
			}
			json_decref(m);
			owner_task_free(t);
			owner_depth_changed(o);
			cancelled = 1;
		}
	}
	m = queue_msg_bool(QUEUE_MSG_CANCEL_RESULT, req->request_id, cancelled,
	    o->gen);
	owner_peer_send(p, m);
	json_decref(m);
	owner_peer_end(p);
	queue_request_free(req);
	owner_kick(o);
}

static void
owner_handle_control(struct owner_peer *p, struct queue_request *req)
{
	struct owner		*o = p->owner;
	struct owner_control	*c;
	json_t			*m;

	c = xcalloc(1, sizeof *c);
	c->req = req;
	c->peer = p;
	p->control = c;
	TAILQ_INSERT_TAIL(&o->controls, c, entry);
	ev_timer_stop(o->loop, &o->ttl_w);
	m = queue_msg_simple(QUEUE_MSG_ACCEPTED, req->request_id, o->gen);
	owner_peer_send(p, m);
	json_decref(m);
	owner_kick(o);
}

/* close_session: stop everything, answer once the session is closed. */
static void
owner_handle_close(struct owner_peer *p, struct queue_request *req)
{
	struct owner		*o = p->owner;
	struct owner_control	*c;
	json_t			*m;

	if (o->closing != NULL) {
		owner_reject(p, req->request_id, "QUEUE_OWNER_SHUTTING_DOWN", 1,
		    "Queue owner is closing");
		queue_request_free(req);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->req = req;
	c->peer = p;
	p->control = c;
	o->closing = c;
	m = queue_msg_simple(QUEUE_MSG_ACCEPTED, req->request_id, o->gen);
	owner_peer_send(p, m);
	json_decref(m);
	owner_shutdown(o, "close");
}

/* The first line of a connection. */
static void
owner_dispatch(struct owner_peer *p, const char *line, size_t len)
{
	struct owner		*o = p->owner;
	struct queue_request	*req;
	const char		*detail;

	p->flags |= PEER_HANDLED;
	if ((req = queue_request_parse(line, len, &detail)) == NULL) {
		owner_reject(p, "unknown", detail, 0, strcmp(detail,
		    QUEUE_BAD_JSON) == 0 ? "Invalid queue request payload" :
		    "Invalid queue request");
		return;
	}
	if (o->flags & OWNER_CLOSING) {
		owner_reject(p, req->request_id, "QUEUE_OWNER_CLOSED", 1,
		    "Queue owner is shutting down");
		queue_request_free(req);
		return;
	}
	if (req->owner_generation > 0 && req->owner_generation != o->gen) {
		owner_reject(p, req->request_id,
		    "QUEUE_OWNER_GENERATION_MISMATCH", 0,
		    "Queue request targeted a stale queue owner generation");
		queue_request_free(req);
		return;
	}
	switch (req->type) {
	case QUEUE_REQ_SUBMIT:
		owner_handle_submit(p, req);
		break;
	case QUEUE_REQ_CANCEL:
		owner_handle_cancel(p, req);
		break;
	case QUEUE_REQ_CLOSE:
		owner_handle_close(p, req);
		break;
	case QUEUE_REQ_SET_MODE:
	case QUEUE_REQ_SET_MODEL:
	case QUEUE_REQ_SET_CONFIG:
		owner_handle_control(p, req);
		break;
	}
}

static void
owner_peer_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct owner_peer	*p = w->data;
	char			*buf, *line;
	size_t			 len;
	ssize_t			 n;

	for (;;) {
		buf = queue_framer_reserve(p->in, OWNER_READ);
		n = read(p->fd, buf, OWNER_READ);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			/*
			 * EOF or error. Before a request: nothing to do. After
			 * one: the job keeps running, its output is dropped.
			 */
			owner_peer_close(p);
			return;
		}
		if (p->flags & PEER_HANDLED)
			continue;	/* later lines are ignored */
		queue_framer_commit(p->in, (size_t)n);
		switch (queue_framer_next(p->in, &line, &len)) {
		case QUEUE_FRAME_TOO_LONG:
			owner_peer_close(p);	/* silently, as the reference */
			return;
		case QUEUE_FRAME_NEED_MORE:
			break;
		case QUEUE_FRAME_LINE:
			owner_dispatch(p, line, len);
			if (p->flags & PEER_DEAD)
				return;
			break;
		}
	}
}

/* Accept every pending connection (refusing other uids). */
void
owner_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct owner		*o = w->data;
	struct owner_peer	*p;
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
		ev_io_init(&p->rd_w, owner_peer_read_cb, fd, EV_READ);
		p->rd_w.data = p;
		ev_io_init(&p->wr_w, owner_peer_write_cb, fd, EV_WRITE);
		p->wr_w.data = p;
		ev_timer_init(&p->drain_w, owner_peer_drain_cb, OWNER_DRAIN_S, 0.);
		p->drain_w.data = p;
		TAILQ_INSERT_TAIL(&o->peers, p, entry);
		ev_io_start(loop, &p->rd_w);
	}
}

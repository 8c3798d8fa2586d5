#include <config.h>

#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "error.h"
#include "json-util.h"
#include "queue-client.h"
#include "queue-client-impl.h"
#include "queue-lease.h"
#include "queue-proto.h"
#include "xmalloc.h"

/*
 * One queue request on the loop, from finding the owner to its last reply.
 * The steps: find (lease, usability, recovery), connect (40 tries 50 ms
 * apart), exchange (request line out, reply lines in), and for prompts
 * with no owner: start lock, find again, spawn, poll until the new owner
 * accepts (120 polls 50 ms apart).
 */


/* ---------------------------------------------------------------- ending */

static void
qc_close_socket(struct queue_client *qc)
{
	ev_io_stop(qc->loop, &qc->rd_w);
	ev_io_stop(qc->loop, &qc->wr_w);
	if (qc->fd != -1)
		close(qc->fd);
	qc->fd = -1;
	free(qc->out);
	qc->out = NULL;
	qc->outlen = qc->outoff = 0;
	queue_framer_free(qc->in);
	qc->in = NULL;
	qc->acked = 0;
}

/* Stop keeping the new owner's stderr: it is served (or failed). */
void
queue_client_stop_capture(struct queue_client *qc)
{
	ev_io_stop(qc->loop, &qc->err_w);
	if (qc->err_fd != -1)
		close(qc->err_fd);
	qc->err_fd = -1;
	ev_io_stop(qc->loop, &qc->in_w);
	if (qc->in_fd != -1)
		close(qc->in_fd);
	qc->in_fd = -1;
}

void
queue_client_unlock(struct queue_client *qc)
{
	if (qc->lock_fd != -1)
		close(qc->lock_fd);	/* drops the flock */
	qc->lock_fd = -1;
}

/* The end: tell the caller once. */
void
queue_client_end(struct queue_client *qc, enum queue_client_end how,
    struct acpx_error *err, const struct queue_msg *owner_error)
{
	if (qc->state == QC_DONE) {
		acpx_error_free(err);
		return;
	}
	qc->state = QC_DONE;
	ev_timer_stop(qc->loop, &qc->timer_w);
	qc_close_socket(qc);
	queue_client_stop_capture(qc);
	queue_client_unlock(qc);
	if (qc->probe_cb != NULL)
		qc->probe_cb(&qc->health, err, qc->arg);
	else if (qc->cbs.done != NULL)
		qc->cbs.done(qc, how, err, owner_error, qc->arg);
	acpx_error_free(err);
}

void
queue_client_fail(struct queue_client *qc, struct acpx_error *err)
{
	queue_client_end(qc, QUEUE_CLIENT_FAILED, err, NULL);
}

/* A queue error (origin queue, not retryable unless said). Caller owns. */
struct acpx_error *
queue_client_error(const char *detail, int retryable, const char *fmt, const char *arg)
{
	struct acpx_error	*err;

	err = acpx_error_new(ACPX_CODE_RUNTIME, detail, "queue", fmt, arg);
	err->retryable = retryable;
	return (err);
}

/* "<msg>; request outcome is unknown. Do not automatically resubmit." */
static void
qc_uncertain(struct queue_client *qc, const char *detail, const char *msg)
{
	struct acpx_error	*err;

	err = acpx_error_new(ACPX_CODE_RUNTIME, detail != NULL ? detail :
	    "QUEUE_SUBMISSION_OUTCOME_UNKNOWN", "queue", "%s; request outcome "
	    "is unknown. Do not automatically resubmit.", msg);
	err->retryable = 0;
	queue_client_fail(qc, err);
}

static void
qc_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_client	*qc = w->data;
	void			(*fn)(struct queue_client *) = qc->timer_fn;

	qc->timer_fn = NULL;
	if (fn != NULL && qc->state != QC_DONE)
		fn(qc);
}

void
queue_client_after(struct queue_client *qc, double s, void (*fn)(struct queue_client *))
{
	ev_timer_stop(qc->loop, &qc->timer_w);
	qc->timer_fn = fn;
	ev_timer_set(&qc->timer_w, s, 0.);
	ev_timer_start(qc->loop, &qc->timer_w);
}

/* ---------------------------------------------------------------- exchange */

static void
qc_flush(struct queue_client *qc)
{
	ssize_t	n;

	while (qc->outoff < qc->outlen) {
		n = write(qc->fd, qc->out + qc->outoff, qc->outlen - qc->outoff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ev_io_start(qc->loop, &qc->wr_w);
				return;
			}
			qc_uncertain(qc, NULL, strerror(errno));
			return;
		}
		qc->outoff += (size_t)n;
	}
	ev_io_stop(qc->loop, &qc->wr_w);
}

static void
qc_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	qc_flush(w->data);
}

/* The owner is shutting down and said so before taking the request: retry. */
static int
qc_retry_closed(struct queue_client *qc, const struct queue_msg *m)
{
	if (qc->acked || m->detail_code == NULL ||
	    (strcmp(m->detail_code, "QUEUE_OWNER_CLOSED") != 0 &&
	    strcmp(m->detail_code, "QUEUE_OWNER_SHUTTING_DOWN") != 0) ||
	    qc->closed_retries++ >= QC_CLOSED_RETRIES || qc->req->type !=
	    QUEUE_REQ_SUBMIT)
		return (0);
	qc_close_socket(qc);
	queue_lease_info_free(qc->owner);
	qc->owner = NULL;
	qc->state = QC_FIND;
	queue_client_after(qc, QC_RETRY_S, queue_client_find);
	return (1);
}

/* One reply line. */
static void
qc_line(struct queue_client *qc, const char *line, size_t len)
{
	struct queue_msg	*m;
	const char		*detail;
	int			 submit = qc->req->type == QUEUE_REQ_SUBMIT, final;

	if ((m = queue_msg_parse(line, len, &detail)) == NULL) {
		qc_uncertain(qc, detail, strcmp(detail, QUEUE_PROTO_INVALID_JSON)
		    == 0 ? "Queue owner sent invalid JSON payload" :
		    "Queue owner sent malformed message");
		return;
	}
	if (m->owner_generation > 0 && qc->owner != NULL &&
	    m->owner_generation != qc->owner->generation) {
		queue_msg_free(m);
		qc_uncertain(qc, "QUEUE_OWNER_GENERATION_MISMATCH",
		    "Queue owner returned mismatched generation");
		return;
	}
	if (strcmp(m->request_id, qc->req->request_id) != 0) {
		queue_msg_free(m);
		qc_uncertain(qc, QUEUE_PROTO_MALFORMED,
		    "Queue owner sent malformed message");
		return;
	}
	if (m->type == QUEUE_MSG_ACCEPTED) {
		qc->acked = 1;
		ev_timer_stop(qc->loop, &qc->timer_w);
		queue_client_stop_capture(qc);
		queue_client_unlock(qc);
		if (qc->cbs.accepted != NULL)
			qc->cbs.accepted(qc, qc->arg);
		if (submit && !qc->req->wait && qc->state != QC_DONE)
			queue_client_end(qc, QUEUE_CLIENT_DONE, NULL, NULL);
		queue_msg_free(m);
		return;
	}
	if (m->type == QUEUE_MSG_ERROR) {
		if (!qc_retry_closed(qc, m))
			queue_client_end(qc, QUEUE_CLIENT_FAILED, queue_msg_to_error(m), m);
		queue_msg_free(m);
		return;
	}
	if (!qc->acked) {
		queue_msg_free(m);
		queue_client_fail(qc, queue_client_error("QUEUE_ACK_MISSING", 0, "%s", "Queue owner "
		    "did not acknowledge request; outcome unknown"));
		return;
	}
	if (submit)
		final = m->type == QUEUE_MSG_RESULT;
	else
		final = (qc->req->type == QUEUE_REQ_CANCEL && m->type ==
		    QUEUE_MSG_CANCEL_RESULT) || (qc->req->type ==
		    QUEUE_REQ_SET_MODE && m->type == QUEUE_MSG_SET_MODE_RESULT) ||
		    (qc->req->type == QUEUE_REQ_SET_MODEL && m->type ==
		    QUEUE_MSG_SET_MODEL_RESULT) || (qc->req->type ==
		    QUEUE_REQ_SET_CONFIG && m->type == QUEUE_MSG_SET_CONFIG_RESULT) ||
		    (qc->req->type == QUEUE_REQ_CLOSE && m->type ==
		    QUEUE_MSG_CLOSE_RESULT);
	if (!final && (!submit || (m->type != QUEUE_MSG_EVENT && m->type !=
	    QUEUE_MSG_PROMPT_STARTED && m->type !=
	    QUEUE_MSG_PERMISSION_ESCALATION))) {
		queue_msg_free(m);
		queue_client_fail(qc, queue_client_error("QUEUE_PROTOCOL_UNEXPECTED_RESPONSE", 0, "%s",
		    "Queue owner returned unexpected response; outcome unknown"));
		return;
	}
	if (qc->cbs.message != NULL)
		qc->cbs.message(qc, m, qc->arg);
	if (final)
		queue_client_end(qc, QUEUE_CLIENT_DONE, NULL, NULL);
	queue_msg_free(m);
}

static void
qc_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct queue_client	*qc = w->data;
	char			*buf, *line;
	size_t			 len;
	ssize_t			 n;
	enum queue_frame_status	 st;

	for (;;) {
		buf = queue_framer_reserve(qc->in, QC_READ);
		n = read(qc->fd, buf, QC_READ);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			qc_uncertain(qc, NULL, strerror(errno));
			return;
		}
		if (n == 0)
			break;
		queue_framer_commit(qc->in, (size_t)n);
		while ((st = queue_framer_next(qc->in, &line, &len)) ==
		    QUEUE_FRAME_LINE) {
			qc_line(qc, line, len);
			if (qc->state != QC_EXCHANGE)
				return;
		}
		if (st == QUEUE_FRAME_TOO_LONG) {
			qc_uncertain(qc, NULL, "Message buffer exceeded 10485760 "
			    "bytes");
			return;
		}
	}
	/* EOF. */
	if (!qc->acked)
		queue_client_fail(qc, queue_client_error("QUEUE_DISCONNECTED_BEFORE_ACK", 0, "%s",
		    "Queue owner disconnected before acknowledging request; "
		    "outcome unknown"));
	else if (qc->req->type == QUEUE_REQ_SUBMIT && !qc->req->wait)
		queue_client_end(qc, QUEUE_CLIENT_DONE, NULL, NULL);
	else
		queue_client_fail(qc, queue_client_error("QUEUE_DISCONNECTED_BEFORE_COMPLETION", 0,
		    "%s", qc->req->type == QUEUE_REQ_SUBMIT ? "Queue owner "
		    "disconnected before prompt completion; outcome unknown" :
		    "Queue owner disconnected before responding; outcome "
		    "unknown"));
}

/*
 * No "accepted" yet: an owner that stopped (SIGSTOP, a hang) still has its
 * socket accepting connections. Once its heartbeat is stale, give up on
 * this connection (nothing was accepted, so nothing runs twice) and go
 * through recovery: the stale owner is retired and a new one started.
 */
static void
qc_ack_watch(struct queue_client *qc)
{
	struct queue_lease_info	*cur;
	int			 hung;

	if (qc->state != QC_EXCHANGE || qc->acked)
		return;
	cur = queue_lease_read(qc->record_id);
	hung = queue_lease_same(cur, qc->owner) && !queue_lease_usable(cur);
	queue_lease_info_free(cur);
	if (!hung) {
		queue_client_after(qc, QC_ACK_WATCH_S, qc_ack_watch);
		return;
	}
	qc_close_socket(qc);
	queue_lease_info_free(qc->owner);
	qc->owner = NULL;
	qc->state = QC_FIND;
	queue_client_find(qc);
}

/* Connected: send the request line and read the replies. */
static void
qc_exchange(struct queue_client *qc)
{
	json_t	*j;

	qc->state = QC_EXCHANGE;
	qc->req->owner_generation = qc->owner->generation;
	j = queue_request_json(qc->req);
	qc->out = queue_proto_line(j, &qc->outlen);
	json_decref(j);
	qc->outoff = 0;
	qc->in = queue_framer_create(QUEUE_PROTO_CLIENT_MAX);
	ev_io_init(&qc->rd_w, qc_read_cb, qc->fd, EV_READ);
	qc->rd_w.data = qc;
	ev_io_init(&qc->wr_w, qc_write_cb, qc->fd, EV_WRITE);
	qc->wr_w.data = qc;
	ev_io_start(qc->loop, &qc->rd_w);
	queue_client_after(qc, QC_ACK_WATCH_S, qc_ack_watch);
	qc_flush(qc);
}

/* ---------------------------------------------------------------- connect */

/* Connection attempts failed: a usable lease means a mute owner. */
static void
qc_connect_failed(struct queue_client *qc)
{
	struct queue_lease_info	*cur;
	int			 mute;

	cur = queue_lease_read(qc->record_id);
	mute = queue_lease_same(cur, qc->owner) && queue_lease_usable(cur);
	queue_lease_info_free(cur);
	if (qc->probe_cb != NULL) {
		qc->health.has_lease = mute;
		qc->health.healthy = 0;
		queue_client_end(qc, QUEUE_CLIENT_DONE, NULL, NULL);
		return;
	}
	if (mute && qc->state != QC_START) {
		queue_client_fail(qc, queue_client_error("QUEUE_NOT_ACCEPTING_REQUESTS", 1, "%s",
		    qc->req->type == QUEUE_REQ_SUBMIT ? "Session queue owner is "
		    "running but not accepting queue requests" : "Session queue "
		    "owner is running but not accepting control requests"));
		return;
	}
	queue_lease_info_free(qc->owner);
	qc->owner = NULL;
	queue_client_no_owner(qc);
}

static void
qc_connect_try(struct queue_client *qc)
{
	struct sockaddr_un	 sun;
	struct queue_lease_info	*cur;
	int			 fd, e;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(qc->owner->socket_path) >= sizeof sun.sun_path) {
		queue_client_fail(qc, queue_client_error(NULL, -1, "Queue socket path is too long: %s",
		    qc->owner->socket_path));
		return;
	}
	strcpy(sun.sun_path, qc->owner->socket_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC,
	    0)) == -1) {
		queue_client_fail(qc, queue_client_error(NULL, -1, "socket: %s", strerror(errno)));
		return;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1 &&
	    errno != EINPROGRESS) {
		e = errno;
		close(fd);
		if (e != ENOENT && e != ECONNREFUSED && e != EAGAIN) {
			queue_client_fail(qc, queue_client_error(NULL, -1, "%s", strerror(e)));
			return;
		}
		if (++qc->tries >= (qc->probe_cb != NULL ? QC_PROBE_TRIES :
		    QC_CONNECT_TRIES)) {
			qc_connect_failed(qc);
			return;
		}
		queue_client_after(qc, QC_RETRY_S, qc_connect_try);
		return;
	}
	qc->fd = fd;
	if (qc->probe_cb != NULL) {
		/* Reachable; is it still the owner we looked at? */
		qc_close_socket(qc);
		cur = queue_lease_read(qc->record_id);
		if (queue_lease_same(cur, qc->owner)) {
			qc->health.has_lease = 1;
			qc->health.healthy = 1;
			qc->health.pid = qc->owner->pid;
			qc->health.queue_depth = qc->owner->queue_depth;
		}
		queue_lease_info_free(cur);
		queue_client_end(qc, QUEUE_CLIENT_DONE, NULL, NULL);
		return;
	}
	qc_exchange(qc);
}

/* Talk to this owner (li stolen). */
void
queue_client_use_owner(struct queue_client *qc, struct queue_lease_info *li)
{
	struct acpx_error	*err;
	const char		*a, *b;
	char			*cause = NULL;

	queue_lease_info_free(qc->owner);
	qc->owner = li;
	if (qc->probe_cb != NULL) {
		qc->health.pid = li->pid;
		qc->health.queue_depth = li->queue_depth;
	}
	if (qc->req != NULL && qc->req->type == QUEUE_REQ_SUBMIT) {
		a = li->mcp_config_path;
		b = qc->mcp_path;
		if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0) ||
		    (li->mcp_config_fingerprint == NULL) !=
		    (qc->mcp_fingerprint == NULL) || (qc->mcp_fingerprint != NULL &&
		    strcmp(li->mcp_config_fingerprint, qc->mcp_fingerprint) != 0)) {
			queue_client_fail(qc, queue_client_error("QUEUE_MCP_CONFIG_CONFLICT", 0, "%s",
			    "Session queue owner uses a different MCP config; "
			    "close the session before retrying"));
			return;
		}
	}
	/* A socket in a directory others can write to could be anyone's. */
	if (queue_lease_socket_dir_check(0, &cause) == -1) {
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "queue", "%s",
		    cause);
		free(cause);
		queue_client_fail(qc, err);
		return;
	}
	if (qc->state != QC_START)
		qc->state = QC_CONNECT;
	qc->tries = 0;
	qc_connect_try(qc);
}

/* ---------------------------------------------------------------- find */

/* Read the lease; use its owner, recover it, or there is none. */
void
queue_client_find(struct queue_client *qc)
{
	struct queue_lease_info	*li;

	if ((li = queue_lease_read(qc->record_id)) == NULL) {
		queue_client_no_owner(qc);
		return;
	}
	if (qc->any_owner || queue_lease_usable(li)) {
		queue_client_use_owner(qc, li);
		return;
	}
	/* Stale heartbeat, dead pid or a retirement mark: recover first. */
	if (qc->state != QC_START)
		qc->state = QC_RETIRE;
	queue_lease_info_free(qc->retiring);
	qc->retiring = li;
	qc->ret_sig = SIGTERM;
	qc->ret_require_stale = 1;
	queue_client_retire(qc);
}

/* ---------------------------------------------------------------- API */

static void
qc_begin_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct queue_client	*qc = w->data;
	json_t			*j;
	char			*line, *cause = NULL;
	size_t			 len, limit;

	ev_idle_stop(loop, w);
	if (qc->req != NULL) {
		j = queue_request_json(qc->req);
		line = queue_proto_line(j, &len);
		json_decref(j);
		free(line);
		if (queue_proto_request_limit(&limit, &cause) == -1) {
			queue_client_fail(qc, acpx_error_new(ACPX_CODE_RUNTIME, NULL, NULL,
			    "%s", cause));
			free(cause);
			return;
		}
		if (limit > 0 && len - 1 > limit) {
			queue_client_fail(qc, acpx_error_new(ACPX_CODE_RUNTIME,
			    "QUEUE_REQUEST_TOO_LARGE", "queue", "Queue request "
			    "exceeded ACPX_QUEUE_MAX_REQUEST_BYTES (%zu bytes); "
			    "raise or unset the limit", limit));
			return;
		}
	}
	queue_client_find(qc);
}

static struct queue_client *
qc_create(struct ev_loop *loop, const char *record_id)
{
	struct queue_client	*qc;

	qc = xcalloc(1, sizeof *qc);
	qc->loop = loop;
	qc->record_id = xstrdup(record_id);
	qc->fd = qc->lock_fd = qc->err_fd = qc->in_fd = -1;
	ev_timer_init(&qc->timer_w, qc_timer_cb, 0., 0.);
	qc->timer_w.data = qc;
	ev_idle_init(&qc->begin_w, qc_begin_cb);
	qc->begin_w.data = qc;
	ev_idle_start(loop, &qc->begin_w);
	return (qc);
}

/* Send req to the session's owner (starting one if opts say so). */
struct queue_client *
queue_client_send(struct ev_loop *loop, const struct queue_client_opts *opts,
    struct queue_request *req, const struct queue_client_cbs *cbs, void *arg)
{
	struct queue_client	*qc;

	qc = qc_create(loop, opts->record_id);
	if (opts->payload != NULL)
		qc->payload = json_incref(opts->payload);
	if (opts->mcp_path != NULL)
		qc->mcp_path = xstrdup(opts->mcp_path);
	if (opts->mcp_fingerprint != NULL)
		qc->mcp_fingerprint = xstrdup(opts->mcp_fingerprint);
	qc->any_owner = opts->any_owner;
	qc->req = req;
	qc->cbs = *cbs;
	qc->arg = arg;
	return (qc);
}

/* Probe the owner's health. */
struct queue_client *
queue_client_probe(struct ev_loop *loop, const char *record_id,
    queue_probe_cb cb, void *arg)
{
	struct queue_client	*qc;

	qc = qc_create(loop, record_id);
	qc->probe_cb = cb;
	qc->arg = arg;
	return (qc);
}

/* The owner's pid (0 until one was chosen). */
pid_t
queue_client_owner_pid(const struct queue_client *qc)
{
	return (qc->owner != NULL ? qc->owner->pid : 0);
}

void
queue_client_free(struct queue_client *qc)
{
	if (qc == NULL)
		return;
	ev_idle_stop(qc->loop, &qc->begin_w);
	ev_timer_stop(qc->loop, &qc->timer_w);
	qc_close_socket(qc);
	queue_client_stop_capture(qc);
	queue_client_unlock(qc);
	/* The owner lives on without us; libev reaps it if it exits first. */
	if (qc->spawn_pid != 0)
		ev_child_stop(qc->loop, &qc->child_w);
	queue_lease_info_free(qc->owner);
	queue_lease_info_free(qc->retiring);
	queue_request_free(qc->req);
	json_decref(qc->payload);
	free(qc->record_id);
	free(qc->mcp_path);
	free(qc->mcp_fingerprint);
	free(qc->input);
	free(qc->input_error);
	free(qc);
}

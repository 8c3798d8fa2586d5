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

#include "acpx-error.h"
#include "queue-client.h"
#include "queue-client-impl.h"
#include "queue-lease.h"
#include "queue-proto.h"
#include "progress.h"
#include "xmalloc.h"

/*
 * The queue client's exchange with an owner: writing the request, reading
 * the owner's lines (acknowledgement, events, the result or an error) and
 * retrying a request an owner refused while shutting down.
 */

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
			queue_client_uncertain(qc, NULL, strerror(errno));
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
	queue_client_close_socket(qc);
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
		queue_client_uncertain(qc, detail, strcmp(detail, QUEUE_PROTO_INVALID_JSON)
		    == 0 ? "Queue owner sent invalid JSON payload" :
		    "Queue owner sent malformed message");
		return;
	}
	if (m->owner_generation > 0 && qc->owner != NULL &&
	    m->owner_generation != qc->owner->generation) {
		queue_msg_free(m);
		queue_client_uncertain(qc, "QUEUE_OWNER_GENERATION_MISMATCH",
		    "Queue owner returned mismatched generation");
		return;
	}
	if (strcmp(m->request_id, qc->req->request_id) != 0 ||
	    (m->type == QUEUE_MSG_RESULT && m->flag && !qc->req->no_record)) {
		queue_msg_free(m);
		queue_client_uncertain(qc, QUEUE_PROTO_MALFORMED,
		    "Queue owner sent malformed message");
		return;
	}
	if (m->type == QUEUE_MSG_ACCEPTED) {
		qc->acked = 1;
		if (submit && qc->req->wait)
			progress_show(qc->loop, "waiting for the turn");
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
	if (m->type == QUEUE_MSG_PROMPT_STARTED)
		progress_show(qc->loop, "waiting for the agent");
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
			queue_client_uncertain(qc, NULL, strerror(errno));
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
			queue_client_uncertain(qc, NULL, "Message buffer exceeded 10485760 "
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
	queue_client_close_socket(qc);
	queue_lease_info_free(qc->owner);
	qc->owner = NULL;
	qc->state = QC_FIND;
	queue_client_find(qc);
}

/* Connected: send the request line and read the replies. */
void
queue_client_exchange(struct queue_client *qc)
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

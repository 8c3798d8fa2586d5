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
#include "xmalloc.h"

/*
 * One queue request on the loop, from finding the owner to its last reply.
 * The steps: find (lease, usability, recovery), connect (40 tries 50 ms
 * apart), exchange (request line out, reply lines in), and for prompts
 * with no owner: start lock, find again, spawn, poll until the new owner
 * accepts (120 polls 50 ms apart). Finding and connecting are in
 * queue-client-connect.c, the exchange in queue-client-wire.c, starting an
 * owner in queue-client-start.c.
 */

/* ---------------------------------------------------------------- ending */

void
queue_client_close_socket(struct queue_client *qc)
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
	queue_client_close_socket(qc);
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
void
queue_client_uncertain(struct queue_client *qc, const char *detail, const char *msg)
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
	queue_client_close_socket(qc);
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

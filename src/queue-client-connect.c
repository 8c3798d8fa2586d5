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
 * Finding and connecting to a queue owner: the lease, the socket, what a
 * refused or failed connection means (a stale owner, one starting up).
 */

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
		queue_client_close_socket(qc);
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
	queue_client_exchange(qc);
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

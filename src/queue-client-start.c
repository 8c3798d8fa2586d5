#include <config.h>

#include <sys/file.h>
#include <sys/types.h>
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
#include "js-json.h"
#include "queue-client.h"
#include "queue-client-impl.h"
#include "queue-lease.h"
#include "reaper.h"
#include "spawn.h"
#include "progress.h"
#include "xmalloc.h"

/*
 * Recovering a stale owner (verified SIGTERM, 12 s, SIGKILL, 1.5 s, then
 * its socket and lease removed) and starting a new one when none runs: the
 * start lock (one client starts, the others wait and then use its owner),
 * the detached `acpx __queue-owner` (under its keeper) with the payload on
 * its stdin and its stderr kept for startup errors, and the polls until it
 * takes requests. And a live owner whose heartbeat only looks stale (a
 * wall clock jumped) is watched before it is retired.
 */

/* ---------------------------------------------------------------- recovery */


/* After recovery: the same owner only if it is usable now. */
static void
qc_retired(struct queue_client *qc)
{
	struct queue_lease_info	*cur;

	qc->skew_watch = 0;
	cur = queue_lease_read(qc->record_id);
	if (queue_lease_same(cur, qc->retiring) && queue_lease_usable(cur)) {
		queue_lease_info_free(qc->retiring);
		qc->retiring = NULL;
		queue_client_use_owner(qc, cur);
		return;
	}
	queue_lease_info_free(cur);
	queue_lease_info_free(qc->retiring);
	qc->retiring = NULL;
	if (qc->state == QC_RETIRE)
		qc->state = QC_FIND;
	queue_client_no_owner(qc);
}

/* The retired owner is gone: remove its socket and lease. */
static void
qc_retire_cleanup(struct queue_client *qc)
{
	char	*cause = NULL;

	if (queue_lease_cleanup(qc->retiring, &cause) == -1) {
		queue_client_fail(qc, queue_client_error("QUEUE_OWNER_RETIREMENT_INCOMPLETE", 1, "%s",
		    cause));
		free(cause);
		return;
	}
	qc_retired(qc);
}

static void
qc_retire_poll(struct queue_client *qc)
{
	if ((kill(qc->retiring->pid, 0) == -1 && errno == ESRCH) ||
	    queue_lease_owner_gone(qc->retiring)) {
		qc_retire_cleanup(qc);
		return;
	}
	if (ev_now(qc->loop) < qc->ret_deadline) {
		queue_client_after(qc, QC_RETRY_S, qc_retire_poll);
		return;
	}
	if (qc->ret_sig == SIGTERM) {
		qc->ret_sig = SIGKILL;
		queue_client_retire(qc);
		return;
	}
	if (queue_lease_owner_gone(qc->retiring))
		qc_retire_cleanup(qc);
	else
		qc_retired(qc);
}

/*
 * Only the heartbeat looks stale while the owner lives: a wall clock that
 * jumped (ours or the owner's) does that too. Watch the heartbeat for one
 * interval (monotonic) before retiring: if it changes, the owner is alive
 * and is used as it is; if not, it is hung and retired.
 */
static int
qc_stale_only(const struct queue_client *qc, const struct queue_lease_info *li)
{
	return (!li->retirement && li->heartbeat_at != NULL &&
	    strlen(li->heartbeat_at) < sizeof qc->skew_hb &&
	    queue_lease_parse_iso(li->heartbeat_at) >= 0 &&
	    !queue_lease_owner_gone(li) && queue_lease_stale(li));
}

static void
qc_skew_poll(struct queue_client *qc)
{
	struct queue_lease_info	*cur;

	cur = queue_lease_read(qc->record_id);
	if (!queue_lease_same(cur, qc->retiring)) {
		queue_lease_info_free(cur);
		qc->skew_watch = 0;
		qc_retired(qc);		/* it changed hands: look again */
		return;
	}
	if (cur->heartbeat_at != NULL &&
	    strcmp(cur->heartbeat_at, qc->skew_hb) != 0 &&
	    !cur->retirement && !queue_lease_owner_gone(cur)) {
		/* It heartbeats: alive, only the clocks disagree. */
		qc->skew_watch = 0;
		queue_lease_info_free(qc->retiring);
		qc->retiring = NULL;
		if (qc->state == QC_RETIRE)
			qc->state = QC_FIND;
		queue_client_use_owner(qc, cur);
		return;
	}
	queue_lease_info_free(cur);
	if (ev_now(qc->loop) < qc->ret_deadline) {
		queue_client_after(qc, QC_RETRY_S * 4, qc_skew_poll);
		return;
	}
	qc->skew_watch = 2;	/* watched: retire it */
	queue_client_retire(qc);
}

/* One verified signal (spec §7.11): SIGTERM, 12 s, SIGKILL, 1.5 s. */
void
queue_client_retire(struct queue_client *qc)
{
	char	*cause = NULL;

	if (qc->ret_sig == SIGTERM && qc->ret_require_stale &&
	    qc->skew_watch == 0 && qc_stale_only(qc, qc->retiring)) {
		qc->skew_watch = 1;
		snprintf(qc->skew_hb, sizeof qc->skew_hb, "%s",
		    qc->retiring->heartbeat_at);
		qc->ret_deadline = ev_now(qc->loop) + QC_SKEW_WATCH_S;
		queue_client_after(qc, QC_RETRY_S * 4, qc_skew_poll);
		return;
	}

	switch (queue_lease_signal_owner(qc->retiring, qc->ret_sig,
	    qc->ret_require_stale, &cause)) {
	case QUEUE_LEASE_SIGNALLED:
		qc->ret_deadline = ev_now(qc->loop) + (qc->ret_sig == SIGTERM ?
		    QC_TERM_GRACE_S : QC_KILL_GRACE_S);
		queue_client_after(qc, QC_RETRY_S, qc_retire_poll);
		break;
	case QUEUE_LEASE_OWNER_GONE:
		qc_retire_cleanup(qc);
		break;
	case QUEUE_LEASE_RELEASED:
	case QUEUE_LEASE_FRESH:
		if (queue_lease_owner_gone(qc->retiring))
			qc_retire_cleanup(qc);
		else
			qc_retired(qc);
		break;
	case QUEUE_LEASE_UNVERIFIED:
		xasprintf(&cause, "Cannot safely retire queue owner pid %ld: its "
		    "process birth identity is unverified. Its lease was "
		    "retained. Retry from the same local process namespace with "
		    "process-query access, or let the owner finish normal "
		    "shutdown or idle expiry.", (long)qc->retiring->pid);
		queue_client_fail(qc, queue_client_error("QUEUE_OWNER_IDENTITY_UNVERIFIED", 1, "%s",
		    cause));
		free(cause);
		break;
	case QUEUE_LEASE_ERROR:
		queue_client_fail(qc, queue_client_error("QUEUE_LEASE_GUARD_SETTLEMENT_FAILED", 0,
		    "%s", cause != NULL ? cause : "queue lease guard failed"));
		free(cause);
		break;
	}
}

/* ---------------------------------------------------------------- start */

static void	qc_spawn(struct queue_client *);

static void
qc_err_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct queue_client	*qc = w->data;
	char			 buf[4096];
	ssize_t			 n;
	size_t			 keep;

	n = read(qc->err_fd, buf, sizeof buf);
	if (n == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		ev_io_stop(loop, w);
		close(qc->err_fd);
		qc->err_fd = -1;
		return;
	}
	/* Keep the last 4000 bytes. */
	if ((size_t)n >= QC_STDERR_MAX) {
		memcpy(qc->errbuf, buf + n - QC_STDERR_MAX, QC_STDERR_MAX);
		qc->errlen = QC_STDERR_MAX;
	} else {
		keep = qc->errlen + (size_t)n > QC_STDERR_MAX ?
		    QC_STDERR_MAX - (size_t)n : qc->errlen;
		memmove(qc->errbuf, qc->errbuf + qc->errlen - keep, keep);
		memcpy(qc->errbuf + keep, buf, (size_t)n);
		qc->errlen = keep + (size_t)n;
	}
	qc->errbuf[qc->errlen] = '\0';
}

static void
qc_in_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct queue_client	*qc = w->data;
	ssize_t			 n;

	while (qc->inputoff < qc->inputlen) {
		n = write(qc->in_fd, qc->input + qc->inputoff,
		    qc->inputlen - qc->inputoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n == -1) {
			free(qc->input_error);
			qc->input_error = xstrdup(strerror(errno));
			break;
		}
		qc->inputoff += (size_t)n;
	}
	ev_io_stop(loop, w);
	close(qc->in_fd);
	qc->in_fd = -1;
}

static void
qc_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct queue_client	*qc = w->data;

	ev_child_stop(loop, w);
	qc->spawn_exited = 1;
	qc->child_status = w->rstatus;
}

/* formatQueueOwnerStartupFailure. */
static void
qc_start_failed(struct queue_client *qc, const char *spawn_error)
{
	char	*msg, *tmp, *tail, *p;
	size_t	 n;

	xasprintf(&msg, "Session queue owner failed to start for session %s",
	    qc->record_id);
	if (spawn_error != NULL) {
		xasprintf(&tmp, "%s: spawn error: %s", msg, spawn_error);
		free(msg);
		msg = tmp;
	} else if (qc->spawn_exited) {
		if (WIFSIGNALED(qc->child_status))
			xasprintf(&tmp, "%s: exited with code null, signal SIG%s "
			    "before binding its socket", msg,
			    sigabbrev_np(WTERMSIG(qc->child_status)) != NULL ?
			    sigabbrev_np(WTERMSIG(qc->child_status)) : "UNKNOWN");
		else
			xasprintf(&tmp, "%s: exited with code %d before binding "
			    "its socket", msg, WEXITSTATUS(qc->child_status));
		free(msg);
		msg = tmp;
	}
	if (qc->input_error != NULL) {
		xasprintf(&tmp, "%s: startup input failed: %s", msg,
		    qc->input_error);
		free(msg);
		msg = tmp;
	}
	tail = xstrdup(qc->errbuf);
	for (p = tail; *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'; p++)
		;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\n' ||
	    p[n - 1] == '\t' || p[n - 1] == '\r'))
		p[--n] = '\0';
	if (n > 0) {
		xasprintf(&tmp, "%s: stderr:\n%s", msg, p);
		free(msg);
		msg = tmp;
	}
	free(tail);
	queue_client_fail(qc, acpx_error_new(ACPX_CODE_RUNTIME, NULL, NULL, "%s", msg));
	free(msg);
}

/* One startup poll: is the new owner there yet? */
static void
qc_poll(struct queue_client *qc)
{
	if (qc->spawn_exited && (!WIFEXITED(qc->child_status) ||
	    WEXITSTATUS(qc->child_status) != 0 || qc->input_error != NULL)) {
		qc_start_failed(qc, NULL);
		return;
	}
	if (++qc->polls > QC_START_POLLS) {
		qc_start_failed(qc, NULL);
		return;
	}
	queue_client_find(qc);
}

/*
 * Start `acpx __queue-keeper` detached, which starts `acpx __queue-owner`
 * as its child with the payload on its stdin (reaper.h): the keeper
 * outlives the owner just long enough to kill what the owner left.
 */
static void
qc_spawn(struct queue_client *qc)
{
	int		 in[2], err[2], devnull, fd;
	char		*self, *argv[3];
	pid_t		 pid;

	qc->spawned++;
	progress_show(qc->loop, "starting the queue owner");
	qc->state = QC_START;
	qc->polls = 0;
	queue_client_stop_capture(qc);
	if (qc->spawn_pid != 0)
		ev_child_stop(qc->loop, &qc->child_w);
	qc->spawn_exited = 0;
	qc->errlen = 0;
	qc->errbuf[0] = '\0';
	free(qc->input);
	qc->input = NULL;
	if ((self = spawn_self_path()) == NULL) {
		qc_start_failed(qc, "cannot find our own executable");
		return;
	}
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(err, O_CLOEXEC) == -1) {
		free(self);
		qc_start_failed(qc, strerror(errno));
		return;
	}
	argv[0] = self;
	argv[1] = "__queue-keeper";
	argv[2] = NULL;
	if ((pid = fork()) == -1) {
		free(self);
		qc_start_failed(qc, strerror(errno));
		return;
	}
	if (pid == 0) {
		/* New session: no terminal, no job-control signals. */
		(void)setsid();
		devnull = open("/dev/null", O_RDWR);
		(void)dup2(in[0], STDIN_FILENO);
		(void)dup2(devnull, STDOUT_FILENO);
		(void)dup2(err[1], STDERR_FILENO);
		/* Nothing of the caller's (a harness pipe, a terminal) stays open. */
		for (fd = 3; fd < 1024; fd++)
			(void)close(fd);
		signal(SIGPIPE, SIG_DFL);
		execv(self, argv);
		_exit(127);
	}
	free(self);
	reaper_own(pid);
	close(in[0]);
	close(err[1]);
	qc->spawn_pid = pid;
	ev_child_init(&qc->child_w, qc_child_cb, pid, 0);
	qc->child_w.data = qc;
	ev_child_start(qc->loop, &qc->child_w);

	qc->err_fd = err[0];
	(void)fcntl(qc->err_fd, F_SETFL, O_NONBLOCK);
	ev_io_init(&qc->err_w, qc_err_cb, qc->err_fd, EV_READ);
	qc->err_w.data = qc;
	ev_io_start(qc->loop, &qc->err_w);

	qc->in_fd = in[1];
	(void)fcntl(qc->in_fd, F_SETFL, O_NONBLOCK);
	qc->input = js_json_dumps(qc->payload, 0);
	qc->inputlen = strlen(qc->input);
	qc->inputoff = 0;
	ev_io_init(&qc->in_w, qc_in_cb, qc->in_fd, EV_WRITE);
	qc->in_w.data = qc;
	ev_io_start(qc->loop, &qc->in_w);

	queue_client_after(qc, QC_RETRY_S, qc_poll);
}

/* Try the start lock: one client at a time starts an owner. */
static void
qc_lock(struct queue_client *qc)
{
	char	*dir, *key, *path, *cause = NULL;

	qc->state = QC_LOCK;
	if (qc->lock_fd == -1) {
		if (queue_lease_socket_dir_check(1, &cause) == -1) {
			queue_client_fail(qc, acpx_error_new(ACPX_CODE_RUNTIME, NULL,
			    "queue", "%s", cause));
			free(cause);
			return;
		}
		dir = queue_lease_socket_dir();
		key = queue_lease_key(qc->record_id);
		xasprintf(&path, "%s/%s.start", dir, key);
		qc->lock_fd = open(path, O_RDWR|O_CREAT|O_CLOEXEC|O_NOFOLLOW,
		    0600);
		free(path);
		free(key);
		free(dir);
		if (qc->lock_fd == -1) {
			queue_client_fail(qc, queue_client_error(NULL, -1, "queue start lock: %s",
			    strerror(errno)));
			return;
		}
	}
	if (flock(qc->lock_fd, LOCK_EX|LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			queue_client_fail(qc, queue_client_error(NULL, -1, "queue start lock: %s",
			    strerror(errno)));
			return;
		}
		if (++qc->lock_polls > QC_LOCK_POLLS) {
			queue_client_fail(qc, queue_client_error("QUEUE_NOT_ACCEPTING_REQUESTS", 1,
			    "%s", "Timed out waiting for another client to start "
			    "the session queue owner"));
			return;
		}
		/* Another client is starting the owner: wait, then use it. */
		queue_client_after(qc, QC_RETRY_S, qc_lock);
		return;
	}
	/* Locked: look again (connect again, then start). */
	qc->state = QC_FIND;
	queue_client_find(qc);
}

/* No owner runs (or it went away). */
void
queue_client_no_owner(struct queue_client *qc)
{
	if (qc->probe_cb != NULL) {
		qc->health.has_lease = 0;
		qc->health.healthy = 0;
		qc->health.pid = 0;
		queue_client_end(qc, QUEUE_CLIENT_DONE, NULL, NULL);
		return;
	}
	if (qc->payload == NULL) {
		queue_client_end(qc, QUEUE_CLIENT_NO_OWNER, NULL, NULL);
		return;
	}
	if (qc->state == QC_START) {
		/*
		 * An owner that exited 0 lost the lease to one that is gone
		 * now (a reference owner finishing its shutdown): start again.
		 */
		if (qc->spawn_exited && WIFEXITED(qc->child_status) &&
		    WEXITSTATUS(qc->child_status) == 0 && qc->spawned < 5) {
			qc_spawn(qc);
			return;
		}
		queue_client_after(qc, QC_RETRY_S, qc_poll);	/* not bound yet */
		return;
	}
	if (qc->lock_fd == -1 || flock(qc->lock_fd, LOCK_EX|LOCK_NB) == -1) {
		qc_lock(qc);
		return;
	}
	qc_spawn(qc);
}


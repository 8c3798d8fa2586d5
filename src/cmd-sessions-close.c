#include <config.h>

#include <sys/types.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "acpx-error.h"
#include "acpx.h"
#include "cli-invocation.h"
#include "cmd-sessions.h"
#include "cmd.h"
#include "complete.h"
#include "events.h"
#include "js.h"
#include "output.h"
#include "proc.h"
#include "procfs.h"
#include "queue-lease.h"
#include "session-lock.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * sessions close and the close procedure that `sessions new` reuses for
 * its soft-close (§5.3): retire a running queue owner (verified signals),
 * stop a matching recorded agent, then mark the record closed under the
 * turn lock. Waiting runs the loop; it never sleeps.
 */

#define SESSIONS_TERM_WAIT	12.0
#define SESSIONS_KILL_WAIT	1.5
#define SESSIONS_POLL		0.1

/* ---------------------------------------------------------------- close */

static void
sessions_sleep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	*(int *)w->data = 1;
}

static void
sessions_sleep(struct ev_loop *loop, double seconds)
{
	ev_timer	t;
	int		done = 0;

	ev_timer_init(&t, sessions_sleep_cb, seconds, 0.);
	t.data = &done;
	ev_timer_start(loop, &t);
	while (!done)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
}

/* Retire a running queue owner: verified SIGTERM, then SIGKILL, cleanup. */
static void
sessions_retire_owner(struct ev_loop *loop, const char *record_id)
{
	struct queue_lease_info	*info;
	char			*cause = NULL;
	double			 waited;
	enum queue_lease_signal	 rc;

	if ((info = queue_lease_read(record_id)) == NULL)
		return;
	rc = queue_lease_signal_owner(info, SIGTERM, 0, &cause);
	free(cause);
	cause = NULL;
	if (rc == QUEUE_LEASE_SIGNALLED) {
		for (waited = 0; waited < SESSIONS_TERM_WAIT &&
		    !queue_lease_owner_gone(info); waited += SESSIONS_POLL)
			sessions_sleep(loop, SESSIONS_POLL);
		if (!queue_lease_owner_gone(info)) {
			(void)queue_lease_signal_owner(info, SIGKILL, 0, &cause);
			free(cause);
			cause = NULL;
			for (waited = 0; waited < SESSIONS_KILL_WAIT &&
			    !queue_lease_owner_gone(info); waited += SESSIONS_POLL)
				sessions_sleep(loop, SESSIONS_POLL);
		}
	}
	if (rc == QUEUE_LEASE_SIGNALLED || rc == QUEUE_LEASE_OWNER_GONE) {
		if (queue_lease_owner_gone(info))
			(void)queue_lease_cleanup(info, &cause);
		free(cause);
	}
	queue_lease_info_free(info);
}

/* Does /proc/<pid>/cmdline name the agent command's first token? */
static int
sessions_pid_matches(pid_t pid, const char *agent_command)
{
	char		 buf[8192], *tok, *base, *p, *end, *e;
	const char	*s;
	ssize_t		 n;
	int		 match = 0;

	for (s = agent_command; *s == ' ' || *s == '\t'; s++)
		;
	tok = xstrndup(s, strcspn(s, " \t\r\n"));
	if (*tok == '\0') {
		free(tok);
		return (0);
	}
	base = strrchr(tok, '/') != NULL ? strrchr(tok, '/') + 1 : tok;
	if ((n = procfs_cmdline(pid, buf, sizeof buf)) == -1) {
		free(tok);
		return (0);
	}
	end = buf + n;
	for (p = buf; p < end && !match; p += strlen(p) + 1) {
		while (*p == ' ' || *p == '\t')
			p++;
		for (e = p + strlen(p); e > p && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		if (*p == '\0')
			continue;
		e = strrchr(p, '/') != NULL ? strrchr(p, '/') + 1 : p;
		match = strcmp(e, base) == 0;
	}
	free(tok);
	return (match);
}

/* SIGTERM pid, wait, SIGKILL. */
static void
sessions_terminate(struct ev_loop *loop, pid_t pid)
{
	double	waited;

	if (kill(pid, SIGTERM) == -1)
		return;
	for (waited = 0; waited < SESSIONS_TERM_WAIT &&
	    session_lock_pid_alive(pid); waited += SESSIONS_POLL)
		sessions_sleep(loop, SESSIONS_POLL);
	if (!session_lock_pid_alive(pid))
		return;
	(void)kill(pid, SIGKILL);
	for (waited = 0; waited < SESSIONS_KILL_WAIT &&
	    session_lock_pid_alive(pid); waited += SESSIONS_POLL)
		sessions_sleep(loop, SESSIONS_POLL);
}

struct sessions_lock_wait {
	struct session_lock	*lock;
	int			 done;
	char			*cause;
};

static void
sessions_lock_cb(struct session_lock *lock, int rc, const char *cause,
    void *arg)
{
	struct sessions_lock_wait	*w = arg;

	w->done = 1;
	w->lock = lock;
	if (rc != 0)
		w->cause = xstrdup(cause != NULL ? cause : "lock failed");
}

/* Take the turn lock of lock_id, waiting on the loop. NULL + *cause. */
static struct session_lock *
sessions_lock(struct ev_loop *loop, const char *lock_id, char **cause)
{
	struct sessions_lock_wait	 w;

	memset(&w, 0, sizeof w);
	(void)session_lock_acquire(loop, lock_id, sessions_lock_cb, &w);
	while (!w.done)
		ev_run(loop, EVRUN_ONCE);
	*cause = w.cause;
	return (w.lock);
}

/*
 * A close is not an agent exit: the agent-exit fields stay what they were
 * before the owner was retired (the owner records the exit of the agent it
 * stops; the reference's close leaves no trace of that in the record).
 */
static void
sessions_keep_agent_exit(struct session_record *cur,
    const struct session_record *before)
{
	json_decref(cur->last_agent_exit_code);
	cur->last_agent_exit_code = json_deep_copy(before->last_agent_exit_code);
	json_decref(cur->last_agent_exit_signal);
	cur->last_agent_exit_signal =
	    json_deep_copy(before->last_agent_exit_signal);
	session_record_set(&cur->last_agent_exit_at, before->last_agent_exit_at);
	session_record_set(&cur->last_agent_disconnect_reason,
	    before->last_agent_disconnect_reason);
}

/* Full close procedure (§5.3). */
struct session_record *
cmd_sessions_close_record(const struct invocation *inv, struct output *out,
    const char *record_id, struct acpx_error **err)
{
	struct ev_loop		*loop = proc_default_loop();
	struct session_record	*rec, *cur;
	struct session_lock	*lock;
	char			*cause = NULL, *now;

	*err = NULL;
	if ((rec = session_store_resolve(record_id, &cause)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    cause);
		free(cause);
		return (NULL);
	}
	events_emit("session.closed", json_pack("{s:s, s:s?, s:s?}", "session",
	    rec->record_id, "name", rec->name, "cwd", rec->cwd));
	sessions_retire_owner(loop, rec->record_id);
	if (rec->pid > 0 && session_lock_pid_alive(rec->pid) &&
	    sessions_pid_matches(rec->pid, rec->agent_command))
		sessions_terminate(loop, rec->pid);

	if ((lock = sessions_lock(loop, rec->record_id, &cause)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    cause);
		free(cause);
		session_record_free(rec);
		return (NULL);
	}
	cur = session_store_resolve(rec->record_id, &cause);
	if (cur != NULL)
		sessions_keep_agent_exit(cur, rec);
	session_record_free(rec);
	if (cur == NULL) {
		session_lock_release(lock);
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    cause);
		free(cause);
		return (NULL);
	}
	now = js_iso_now();
	cur->pid = 0;
	cur->closed = 1;
	session_record_set(&cur->closed_at, now);
	free(now);
	if (session_store_save(cur, &cause) == -1) {
		session_lock_release(lock);
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "cli", "%s",
		    cause);
		free(cause);
		session_record_free(cur);
		return (NULL);
	}
	session_lock_release(lock);
	return (cur);
}

/* sessions close [name]. */
int
cmd_sessions_close_run(const struct invocation *inv, struct output *out)
{
	struct session_record	*rec, *closed;
	struct acpx_error	*err;
	json_t			*o;

	if ((rec = cmd_sessions_find_scoped(inv, out, 0)) == NULL)
		return (output_fail(out, cmd_sessions_missing(inv, inv->session)));
	closed = cmd_sessions_close_record(inv, out, rec->record_id, &err);
	session_record_free(rec);
	if (closed == NULL)
		return (output_fail(out, err));
	switch (output_format(out)) {
	case ACPX_FORMAT_JSON:
		o = json_pack("{s:s, s:s, s:s}", "action", "session_closed",
		    "acpxRecordId", closed->record_id, "acpxSessionId",
		    closed->acp_session_id);
		if (closed->agent_session_id != NULL)
			json_object_set_new(o, "agentSessionId",
			    json_string(closed->agent_session_id));
		output_result_json(out, o);
		json_decref(o);
		break;
	case ACPX_FORMAT_QUIET:
		break;
	case ACPX_FORMAT_TEXT:
		output_result_text(out, "%s", closed->record_id);
		break;
	}
	session_record_free(closed);
	return (ACPX_EXIT_SUCCESS);
}

/* ------------------------------------------------------- the command row */

/* [name]: the open sessions of exactly this directory. */
static int
sessions_close_complete(struct complete *c, const struct cmd_opt *o, int npos)
{
	if (o != NULL || npos != 0)
		return (0);
	complete_sessions(c, COMPLETE_EXACT_OPEN);
	return (1);
}

const struct cmd_entry cmd_sessions_close_entry = {
	.name = "close",
	.desc = "Close session for current cwd",
	.args = cmd_opt_name_arg,
	.nargs = 1,
	.flags = CMD_ACTION,
	.prepare = cmd_sessions_prepare_named,
	.run = cmd_sessions_close_run,
	.complete = sessions_close_complete
};

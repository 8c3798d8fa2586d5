#include <config.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "acpx.h"
#include "buf.h"
#include "cmdline.h"
#include "config-file.h"
#include "jget.h"
#include "journal.h"
#include "js.h"
#include "events.h"
#include "node-fs.h"
#include "proc.h"
#include "queue-lease.h"
#include "queue-owner.h"
#include "queue-owner-impl.h"
#include "queue-proto.h"
#include "run-registry.h"
#include "session-lock.h"
#include "session-record.h"
#include "session-store.h"
#include "xmalloc.h"

/*
 * The owner: one process (its loop and signals from proc.h), startup
 * (payload, lease, socket), the lease's heartbeat and queue depth, which
 * job runs next (controls before waiting prompts, one at a time, none
 * while the agent is being closed), the idle TTL and shutdown. Peers are
 * queue-owner-peer.c, the jobs queue-owner-job.c.
 *
 * Ownership: struct queue_owner lives on queue_owner_main()'s stack and
 * holds everything else; what is left at exit (the agent's options and
 * strings, the journal writer, the hooks' state) is freed there.
 */

#define OWNER_DEFAULT_TTL_MS	300000
#define OWNER_DEFAULT_DEPTH	16
#define OWNER_CANCEL_GRACE_S	0.75	/* active turn at shutdown */


/* A verbose "[acpx] ..." line on stderr (visible only while it is attached). */
void
queue_owner_log(struct queue_owner *o, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	if (!o->opts.verbose)
		return;
	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "[acpx] %s\n", line);
	free(line);
}

/* ---------------------------------------------------------------- payload */

static int
payload_bool(const json_t *o, const char *key)
{
	const json_t	*v = json_object_get(o, key);

	return (json_is_boolean(v) ? json_is_true(v) : -1);
}

/* Parse and validate the startup payload. -1 with *cause. */
static int
owner_payload(struct queue_owner_opts *op, const char *text, size_t len,
    char **cause)
{
	json_t		*o, *auth;
	const json_t	*v;
	json_t		*val;
	const char	*s, *k;
	double		 d;

	memset(op, 0, sizeof *op);
	op->nonint = op->auth_policy = op->fs = op->terminal = -1;
	op->prompt_retries = -1;
	if (len == 0) {
		*cause = xstrdup("queue owner startup payload is empty");
		return (-1);
	}
	/* JSON errors could quote credential bytes: never echo them. */
	if ((o = json_loadb(text, len, JSON_ALLOW_NUL, NULL)) == NULL) {
		*cause = xstrdup("queue owner payload must be valid JSON");
		return (-1);
	}
	if (!json_is_object(o)) {
		json_decref(o);
		*cause = xstrdup("queue owner payload must be an object");
		return (-1);
	}
	if ((s = jget_str(o, "sessionId")) == NULL || js_blank(s)) {
		json_decref(o);
		*cause = xstrdup("queue owner payload missing sessionId");
		return (-1);
	}
	op->session_id = xstrdup(s);
	s = jget_str(o, "permissionMode");
	if (s != NULL && strcmp(s, "approve-all") == 0)
		op->perm_mode = ACPX_PERM_APPROVE_ALL;
	else if (s != NULL && strcmp(s, "approve-reads") == 0)
		op->perm_mode = ACPX_PERM_APPROVE_READS;
	else if (s != NULL && strcmp(s, "deny-all") == 0)
		op->perm_mode = ACPX_PERM_DENY_ALL;
	else {
		json_decref(o);
		*cause = xstrdup("queue owner payload has invalid permissionMode");
		return (-1);
	}
	v = json_object_get(o, "mcpServers");
	op->mcp_servers = json_is_array(v) ? json_deep_copy(v) : json_array();
	if ((s = jget_str(o, "mcpConfigPath")) != NULL && *s != '\0')
		op->mcp_config_path = xstrdup(s);
	if ((s = jget_str(o, "mcpConfigFingerprint")) != NULL && *s != '\0')
		op->mcp_config_fingerprint = xstrdup(s);
	v = json_object_get(o, "authCredentials");
	if (json_is_object(v)) {
		auth = json_object();
		json_object_foreach((json_t *)v, k, val) {
			if (json_is_string(val))
				json_object_set(auth, k, val);
		}
		op->auth = auth;
	}
	if ((s = jget_str(o, "nonInteractivePermissions")) != NULL)
		op->nonint = strcmp(s, "fail") == 0 ? ACPX_NONINT_FAIL :
		    strcmp(s, "deny") == 0 ? ACPX_NONINT_DENY : -1;
	if ((s = jget_str(o, "authPolicy")) != NULL)
		op->auth_policy = strcmp(s, "fail") == 0 ? ACPX_AUTH_FAIL :
		    strcmp(s, "skip") == 0 ? ACPX_AUTH_SKIP : -1;
	op->fs = payload_bool(o, "fs");
	op->terminal = payload_bool(o, "terminal");
	op->verbose = payload_bool(o, "verbose") == 1;
	op->ttl_ms = OWNER_DEFAULT_TTL_MS;
	v = json_object_get(o, "ttlMs");
	if (json_is_number(v) && isfinite(d = json_number_value(v)) && d >= 0)
		op->ttl_ms = (long long)js_round(d);
	op->max_depth = OWNER_DEFAULT_DEPTH;
	v = json_object_get(o, "maxQueueDepth");
	if (json_is_number(v) && isfinite(d = json_number_value(v)))
		op->max_depth = d < 1 ? 1 : (int)js_round(d);
	v = json_object_get(o, "promptRetries");
	if (json_is_number(v) && isfinite(d = json_number_value(v)))
		op->prompt_retries = d < 0 ? 0 : (int)js_round(d);
	v = json_object_get(o, "sessionOptions");
	if (json_is_object(v))
		op->session_options = queue_proto_session_options(v, 1);
	json_decref(o);
	return (0);
}

static void
owner_opts_clear(struct queue_owner_opts *op)
{
	free(op->session_id);
	json_decref(op->mcp_servers);
	free(op->mcp_config_path);
	free(op->mcp_config_fingerprint);
	json_decref(op->auth);
	json_decref(op->session_options);
}

/* ---------------------------------------------------------------- loop */

/* Heartbeat now (queue depth changed, or the 5 s tick). */
static void
owner_heartbeat(struct queue_owner *o)
{
	char	*cause = NULL;

	if (o->lease == NULL || (o->flags & OWNER_CLOSING))
		return;
	if (queue_lease_refresh(o->lease, o->npending, &cause) == -1) {
		queue_owner_log(o, "queue owner heartbeat failed: %s", cause);
		free(cause);
		queue_owner_shutdown(o, "heartbeat");
		return;
	}
	o->depth_written = o->npending;
}

/* The number of waiting prompts changed: tell the lease (if it differs). */
void
queue_owner_depth_changed(struct queue_owner *o)
{
	if (o->npending != o->depth_written)
		owner_heartbeat(o);
}


/* Arm the idle TTL (0 = never); the first wait is at least 1 s. */
static void
owner_arm_ttl(struct queue_owner *o)
{
	double	s;

	if (o->opts.ttl_ms == 0 || ev_is_active(&o->ttl_w))
		return;
	s = o->opts.ttl_ms / 1000.0;
	if (o->first_wait && s < 1.0)
		s = 1.0;
	ev_timer_set(&o->ttl_w, s, 0.);
	ev_timer_start(o->loop, &o->ttl_w);
}

/* The shutdown is complete once no job runs and the agent is closed. */
static void
owner_finish(struct queue_owner *o)
{
	if (o->job != NULL || (o->flags & OWNER_CLIENT_CLOSING))
		return;
	if (o->closing != NULL) {
		queue_owner_job_start(o, o->closing);	/* answers, kicks again */
		return;
	}
	if (o->client != NULL) {
		queue_owner_agent_close(o);
		return;
	}
	if (o->retiring > 0)
		return;
	/* Peers still being answered get the drain timeout. */
	if (queue_owner_peer_any(o))
		return;
	o->flags |= OWNER_DONE;
	ev_break(o->loop, EVBREAK_ALL);
}

static void
owner_kick_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct queue_owner	*o = w->data;
	struct queue_owner_job	*j;

	ev_idle_stop(loop, w);
	queue_owner_peer_reap(o);
	if (o->flags & OWNER_CLOSING) {
		owner_finish(o);
		return;
	}
	/* One job at a time, and none while the agent is being closed. */
	if (o->job != NULL || (o->flags & OWNER_CLIENT_CLOSING))
		return;
	/* Controls go before the prompts that wait. */
	if ((j = TAILQ_FIRST(&o->controls)) != NULL) {
		TAILQ_REMOVE(&o->controls, j, entry);
		ev_timer_stop(loop, &o->ttl_w);
		queue_owner_job_start(o, j);
		return;
	}
	if ((j = TAILQ_FIRST(&o->pending)) != NULL) {
		TAILQ_REMOVE(&o->pending, j, entry);
		o->npending--;
		o->first_wait = 0;
		ev_timer_stop(loop, &o->ttl_w);
		queue_owner_depth_changed(o);
		queue_owner_job_start(o, j);
		return;
	}
	queue_owner_slot_idle(o);
	owner_arm_ttl(o);
}

/* 1 when nothing runs or waits: a new prompt may run at once. */
int
queue_owner_idle(struct queue_owner *o)
{
	return (o->job == NULL && !(o->flags & OWNER_CLIENT_CLOSING) &&
	    TAILQ_EMPTY(&o->controls) && TAILQ_EMPTY(&o->pending));
}

/* Look for the next thing to do once the current callback returns. */
void
queue_owner_kick(struct queue_owner *o)
{
	ev_idle_start(o->loop, &o->kick_w);
}

static void
owner_ttl_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_owner	*o = w->data;

	if (queue_owner_idle(o))
		queue_owner_shutdown(o, "ttl");
}

static void
owner_heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	owner_heartbeat(w->data);
}

static void
owner_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	queue_owner_peer_accept(w->data);
}

static void
owner_signal_cb(struct ev_loop *loop, int signo, void *arg)
{
	queue_owner_shutdown(arg, "signal");
}

static void
owner_grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_owner	*o = w->data;

	/* The turn ignored session/cancel: kill the agent so it unwinds. */
	queue_owner_agent_kill(o);
}

/*
 * Stop admission and unpublish at once (socket, lease) so a new client
 * starts a new owner instead of waiting on us; then let a running turn
 * finish under cancel (750 ms grace), close the agent and leave.
 */
void
queue_owner_shutdown(struct queue_owner *o, const char *why)
{
	struct queue_owner_job	*j;

	if (o->flags & OWNER_CLOSING)
		return;
	o->flags |= OWNER_CLOSING;
	queue_owner_log(o, "queue owner shutting down (%s) for session %s", why,
	    o->opts.session_id);
	events_emit("owner.stopped", json_pack("{s:s}", "reason", why));
	ev_timer_stop(o->loop, &o->heartbeat_w);
	ev_timer_stop(o->loop, &o->ttl_w);

	if (o->listen_fd != -1) {
		(void)unlink(o->socket_path);
		/* Connections already in the backlog get a retryable refusal. */
		queue_owner_peer_accept(o);
		ev_io_stop(o->loop, &o->listen_w);
		close(o->listen_fd);
		o->listen_fd = -1;
	}
	queue_lease_release(o->lease);
	o->lease = NULL;

	/* (A prompt sent with --no-wait has no peer left to tell.) */
	while ((j = TAILQ_FIRST(&o->pending)) != NULL) {
		TAILQ_REMOVE(&o->pending, j, entry);
		o->npending--;
		queue_owner_job_drop(o, j, "QUEUE_OWNER_SHUTTING_DOWN", 1,
		    "Queue owner shutting down before prompt execution");
	}
	while ((j = TAILQ_FIRST(&o->controls)) != NULL) {
		TAILQ_REMOVE(&o->controls, j, entry);
		queue_owner_job_drop(o, j, "QUEUE_OWNER_SHUTTING_DOWN", 1,
		    "Queue owner is closing");
	}
	/* Connections that have not sent their request yet get 1 s to do so. */
	queue_owner_peer_shutdown(o);
	if (queue_owner_turn_cancel(o, o->job)) {
		ev_timer_set(&o->grace_w, OWNER_CANCEL_GRACE_S, 0.);
		ev_timer_start(o->loop, &o->grace_w);
	}
	queue_owner_kick(o);
}

/* ---------------------------------------------------------------- startup */

/* Bind a temporary name, listen, then link into place. -1 with *cause. */
static int
owner_listen(struct queue_owner *o, char **cause)
{
	struct sockaddr_un	 sun;
	char			*tmp;
	mode_t			 old;
	int			 fd, rc;

	xasprintf(&tmp, "%s.%ld.tmp", o->socket_path, (long)getpid());
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(tmp) >= sizeof sun.sun_path) {
		xasprintf(cause, "socket path too long: %s", tmp);
		free(tmp);
		return (-1);
	}
	strcpy(sun.sun_path, tmp);
	if ((fd = socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC,
	    0)) == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		free(tmp);
		return (-1);
	}
	(void)unlink(tmp);
	old = umask(077);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (rc == -1 || listen(fd, SOMAXCONN) == -1) {
		xasprintf(cause, "listen %s: %s", o->socket_path,
		    strerror(errno));
		close(fd);
		(void)unlink(tmp);
		free(tmp);
		return (-1);
	}
	/*
	 * We hold the lease, so a file at the real path is a dead owner's;
	 * link() never replaces a live socket the way rename() would.
	 */
	if (link(tmp, o->socket_path) == -1 && (errno != EEXIST ||
	    (unlink(o->socket_path) == -1 && errno != ENOENT) ||
	    link(tmp, o->socket_path) == -1)) {
		xasprintf(cause, "listen %s: %s", o->socket_path,
		    strerror(errno));
		close(fd);
		(void)unlink(tmp);
		free(tmp);
		return (-1);
	}
	(void)unlink(tmp);
	free(tmp);
	o->listen_fd = fd;
	return (0);
}

/* The options the acp_client reads: agent and policies from record + payload. */
static int
owner_client_opts(struct queue_owner *o, struct session_record *rec, char **cause)
{
	struct acp_client_opts	*co = &o->copts;
	char			**argv = NULL;

	if (rec->agent_argv != NULL)
		argv = cmdline_copy(rec->agent_argv);
	else if (cmdline_split(rec->agent_command, &argv, cause) == -1)
		return (-1);
	o->agent_argv = argv;
	o->cwd = xstrdup(rec->cwd);
	o->agent_command = xstrdup(rec->agent_command);
	memset(co, 0, sizeof *co);
	co->argv = o->agent_argv;
	co->command = o->agent_command;
	co->cwd = o->cwd;
	co->json_strict = 1;		/* our stderr is nobody's */
	co->verbose = 0;		/* agent stderr must not go to a dead pipe */
	co->retry_notices = 0;
	co->perm_mode = o->opts.perm_mode;
	co->nonint = o->opts.nonint == ACPX_NONINT_FAIL ? ACPX_NONINT_FAIL :
	    ACPX_NONINT_DENY;
	co->auth_policy = o->opts.auth_policy == ACPX_AUTH_FAIL ?
	    ACPX_AUTH_FAIL : ACPX_AUTH_SKIP;
	co->auth = o->opts.auth;
	co->no_fs = o->opts.fs == 0;
	co->no_terminal = o->opts.terminal == 0;
	co->timeout_ms = -1;
	co->prompt_retries = o->opts.prompt_retries > 0 ?
	    o->opts.prompt_retries : 0;
	co->mcp_servers = o->opts.mcp_servers;
	return (0);
}

static void
owner_client_opts_clear(struct queue_owner *o)
{
	free(o->cwd);
	free(o->agent_command);
	cmdline_free(o->agent_argv);
	json_decref(o->turn_so);
	o->hooks->free(o);	/* the launch resolver's state */
	queue_owner_slot_free(o);
	memset(&o->copts, 0, sizeof o->copts);
}

/* Print the fatal message and return 1. */
static int
owner_fail(const char *cause)
{
	fprintf(stderr, "[acpx] queue owner failed: %s\n", cause);
	return (ACPX_EXIT_ERROR);
}

static void
owner_detach_stdio(void)
{
	int	fd;

	/* The spawning client stops reading our stderr once it is served. */
	if ((fd = open("/dev/null", O_RDWR|O_CLOEXEC)) == -1)
		return;
	(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* Run the owner until it exits. */
int
queue_owner_main(void)
{
	struct queue_owner		 o;
	struct session_record	*rec;
	char			*text = NULL, *cause = NULL;
	size_t			 len = 0;
	int			 rc = ACPX_EXIT_SUCCESS;

	if (getsid(0) != getpid())
		(void)setsid();
	memset(&o, 0, sizeof o);
	o.listen_fd = -1;
	TAILQ_INIT(&o.peers);
	TAILQ_INIT(&o.pending);
	TAILQ_INIT(&o.controls);
	o.first_wait = 1;
	o.hooks = &queue_owner_warp_hooks;
	o.depth_written = -1;

	if (node_fs_read_fd(STDIN_FILENO, &text, &len, &cause) == -1) {
		rc = owner_fail(cause);
		free(cause);
		return (rc);
	}
	if (owner_payload(&o.opts, text, len, &cause) == -1) {
		free(text);
		rc = owner_fail(cause);
		free(cause);
		owner_opts_clear(&o.opts);
		return (rc);
	}
	free(text);
	if (queue_lease_socket_dir_check(1, &cause) == -1)
		goto fail;
	o.lease = queue_lease_acquire(o.opts.session_id, o.opts.mcp_config_path,
	    o.opts.mcp_config_fingerprint, &cause);
	if (o.lease == NULL) {
		if (cause != NULL)
			goto fail;
		owner_opts_clear(&o.opts);
		return (ACPX_EXIT_SUCCESS);	/* another owner won */
	}
	o.gen = queue_lease_generation(o.lease);
	o.socket_path = xstrdup(queue_lease_socket(o.lease));
	if ((rec = session_store_resolve(o.opts.session_id, &cause)) == NULL)
		goto fail;
	if (owner_client_opts(&o, rec, &cause) == -1) {
		session_record_free(rec);
		goto fail;
	}
	events_register("owner", rec->record_id, rec->name,
	    rec->agent_command, rec->cwd);
	session_record_free(rec);

	o.proc = proc_start(0);
	o.loop = proc_loop(o.proc);
	run_registry_loop(o.loop);
	if (owner_listen(&o, &cause) == -1)
		goto fail;
	ev_io_init(&o.listen_w, owner_accept_cb, o.listen_fd, EV_READ);
	o.listen_w.data = &o;
	ev_io_start(o.loop, &o.listen_w);
	ev_timer_init(&o.heartbeat_w, owner_heartbeat_cb,
	    QUEUE_LEASE_HEARTBEAT_MS / 1000.0, QUEUE_LEASE_HEARTBEAT_MS / 1000.0);
	o.heartbeat_w.data = &o;
	ev_timer_init(&o.ttl_w, owner_ttl_cb, 0., 0.);
	o.ttl_w.data = &o;
	ev_timer_init(&o.grace_w, owner_grace_cb, 0., 0.);
	o.grace_w.data = &o;
	ev_idle_init(&o.kick_w, owner_kick_cb);
	o.kick_w.data = &o;
	ev_prepare_init(&o.journal_w, queue_owner_agent_journal_flush_cb);
	o.journal_w.data = &o;
	proc_set_signals(o.proc, owner_signal_cb, &o);
	queue_owner_log(&o, "queue owner ready for session %s (ttlMs=%lld, "
	    "maxQueueDepth=%d)", o.opts.session_id, o.opts.ttl_ms,
	    o.opts.max_depth);
	events_emit("owner.started", json_pack("{s:I}", "ttlMs", o.opts.ttl_ms));
	owner_heartbeat(&o);
	ev_timer_start(o.loop, &o.heartbeat_w);
	owner_detach_stdio();
	queue_owner_kick(&o);

	while (!(o.flags & OWNER_DONE))
		ev_run(o.loop, 0);

	queue_owner_peer_reap(&o);
	proc_clear_signals(o.proc);
	goto out;
fail:
	rc = owner_fail(cause);
	free(cause);
	if (o.listen_fd != -1) {
		close(o.listen_fd);
		(void)unlink(o.socket_path);
	}
out:
	journal_close(o.journal);
	queue_lease_release(o.lease);
	owner_client_opts_clear(&o);
	owner_opts_clear(&o.opts);
	free(o.socket_path);
	run_registry_loop(NULL);
	proc_free(o.proc);
	return (rc);
}

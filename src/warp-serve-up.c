#include <config.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "agent-launch.h"
#include "agent-registry.h"
#include "auth-env.h"
#include "config-file.h"
#include "acpx-error.h"
#include "events-acp.h"
#include "events.h"
#include "jget.h"
#include "jsonrpc.h"
#include "secrets.h"
#include "slots.h"
#include "spawn.h"
#include "warp-endpoint.h"
#include "warp-serve-impl.h"
#include "warp-tap.h"
#include "xmalloc.h"

/*
 * The harnesses behind the proxy: each is started the way exec starts
 * its agent (agent_launch_prepare(): registry argv, Warp environment,
 * secrets only in the spawn's environment), in its own process group,
 * and initialized with the client's own initialize params (so it is
 * offered exactly the client capabilities the client advertised). Its
 * stderr goes to ours line by line with the launch's secrets redacted.
 * Its requests go to the client with ids mapped and the answers come
 * back; its notifications go to the client with the session id mapped.
 * Under the host-wide cap (slots.h) each harness waits in the host-wide
 * FIFO for a slot before it is spawned (STARTING meanwhile) and holds it
 * until it has exited; a proxy that is itself the agent of an acpx
 * holding a slot for it runs its harnesses in that slot.
 */

#define WS_MAX_MESSAGE		(64ULL * 1024 * 1024)	/* as the client */
#define WS_ORPHANS_MAX		64	/* updates before session/new answers */
#define WS_EXIT_WAIT_S		0.25	/* for its exit status after EOF at start */

/* An agent request forwarded to the client. */
struct ws_back {
	struct ws_up	*up;
	json_t		*uid;		/* the harness's id */
	struct ws_sess	*sess;		/* or NULL */
};

/* The line cap, as the client has it (ACPX_MAX_ACP_MESSAGE_BYTES). */
size_t
warp_serve_max_message(void)
{
	const char		*v = getenv("ACPX_MAX_ACP_MESSAGE_BYTES");
	unsigned long long	 n;
	char			*end;

	if (v == NULL || *v == '\0')
		return (WS_MAX_MESSAGE);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0')
		return (WS_MAX_MESSAGE);
	return ((size_t)n);
}

/* -------------------------------------------------------------- stderr */

static void
ws_up_errline(struct ws_up *up)
{
	char	*red;
	size_t	 n;
	ssize_t	 w;
	const char *p;

	if (up->errlen == 0)
		return;
	up->errline[up->errlen] = '\0';
	red = secrets_redact_values(up->errline, up->launch.secrets);
	up->errlen = 0;
	p = red;
	n = strlen(red);
	while (n > 0) {
		if ((w = write(STDERR_FILENO, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		p += w;
		n -= (size_t)w;
	}
	free(red);
}

/* A chunk of the harness's stderr: whole lines, redacted, to ours. */
static void
ws_up_err_cb(const char *buf, size_t n, void *arg)
{
	struct ws_up	*up = arg;
	size_t		 i;

	for (i = 0; i < n; i++) {
		/* A NUL would cut the line short for the redaction. */
		up->errline[up->errlen++] = buf[i] == '\0' ? ' ' : buf[i];
		if (buf[i] == '\n' || up->errlen == WS_ERRLINE_MAX - 1)
			ws_up_errline(up);
	}
}

/* The harness's stderr tail with the secrets hidden. Caller owns. */
char *
warp_serve_up_stderr(const struct ws_up *up)
{
	if (up->child == NULL)
		return (xstrdup(""));
	return (secrets_redact_values(spawn_stderr_tail(up->child),
	    up->launch.secrets));
}

/* ------------------------------------------------------------- readiness */

static void
ws_up_settle(struct ws_up *up)
{
	struct ws_waiter	*w = up->waiters;
	size_t			 i, n = up->nwaiters;

	up->waiters = NULL;
	up->nwaiters = 0;
	if (up->state == WS_UP_READY)
		events_emit("agent.initialized", json_pack("{s:s}", "warpAgent",
		    up->agent));
	for (i = 0; i < n; i++)
		w[i].cb(up, up->state == WS_UP_READY ? NULL : up->err, w[i].arg);
	free(w);
}

/* The harness could not start: err (taken) says why. */
static void
ws_up_fail(struct ws_up *up, struct acpx_error *err)
{
	if (up->state != WS_UP_STARTING) {
		acpx_error_free(err);
		return;
	}
	up->state = WS_UP_FAILED;
	up->err = err;
	warp_serve_log(up->ws, "%s could not start: %s", up->agent, err->message);
	if (up->child != NULL)
		spawn_terminate(up->child, -1, 0, WS_GRACE_MS);
	ws_up_settle(up);
}

void
warp_serve_up_when_ready(struct ws_up *up, ws_up_cb cb, void *arg)
{
	if (up->state != WS_UP_STARTING) {
		cb(up, up->state == WS_UP_READY ? NULL : up->err != NULL ?
		    up->err : NULL, arg);
		return;
	}
	up->waiters = xreallocarray(up->waiters, up->nwaiters + 1,
	    sizeof *up->waiters);
	up->waiters[up->nwaiters].cb = cb;
	up->waiters[up->nwaiters].arg = arg;
	up->nwaiters++;
}

int
warp_serve_up_usable(const struct ws_up *up)
{
	return (up != NULL && up->state == WS_UP_READY && up->rpc != NULL &&
	    !jsonrpc_closed(up->rpc, NULL));
}

/* "load" or "resume": does the harness offer it? */
int
warp_serve_up_can(const struct ws_up *up, const char *cap)
{
	const json_t	*caps = json_object_get(up->init_result,
			    "agentCapabilities"), *r;

	if (strcmp(cap, "load") == 0)
		return (json_is_true(json_object_get(caps, "loadSession")));
	r = json_object_get(json_object_get(caps, "sessionCapabilities"), cap);
	return (r != NULL && !json_is_null(r) && !json_is_false(r));
}

/* The live harness running agent, or NULL. */
struct ws_up *
warp_serve_up_running(struct ws *ws, const char *agent)
{
	struct ws_up	*up;

	for (up = ws->ups; up != NULL; up = up->next) {
		if (strcmp(up->agent, agent) == 0 &&
		    (up->state == WS_UP_STARTING || warp_serve_up_usable(up)))
			return (up);
	}
	return (NULL);
}

/* ---------------------------------------------------------------- wire */

static void
ws_up_auth_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct ws_up	*up = arg;

	if (up->state != WS_UP_STARTING)
		return;
	if (st != JSONRPC_RESULT) {
		ws_up_fail(up, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "acp",
		    "%s: authenticate failed: %s", up->agent,
		    st == JSONRPC_ERROR ? jget_str(error, "message") != NULL ?
		    jget_str(error, "message") : "error" : "disconnected"));
		return;
	}
	up->state = WS_UP_READY;
	ws_up_settle(up);
}

/* The harness went away before initialize was answered. */
static void
ws_up_startup_failed(struct ws_up *up)
{
	char	*tail, *p;

	ev_timer_stop(up->ws->loop, &up->exit_w);
	if (up->state != WS_UP_STARTING)
		return;
	tail = warp_serve_up_stderr(up);
	for (p = tail; *p != '\0'; p++) {
		if (isspace((unsigned char)*p))
			*p = ' ';
	}
	while (p > tail && p[-1] == ' ')
		*--p = '\0';
	ws_up_fail(up, acpx_error_new(ACPX_CODE_RUNTIME,
	    "AGENT_STARTUP_FAILED", "acp", "ACP agent %s exited before "
	    "initialize completed%s%s", up->agent, *tail != '\0' ?
	    ": " : "", tail));
	free(tail);
}

static void
ws_up_exit_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ws_up_startup_failed(w->data);
}


/* The harness closed its output while starting. */
void
warp_serve_up_start_closed(struct ws_up *up)
{
	/* Name its stderr once all of it is read: at its exit. */
	if (up->exited)
		ws_up_startup_failed(up);
	else {
		up->init_closed = 1;
		ev_timer_start(up->ws->loop, &up->exit_w);
	}
}

static void
ws_up_init_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct ws_up	*up = arg;

	if (up->state != WS_UP_STARTING)
		return;
	if (st == JSONRPC_CLOSED) {
		warp_serve_up_start_closed(up);
		return;
	}
	if (st == JSONRPC_ERROR) {
		ws_up_fail(up, acpx_error_from_acp(error, NULL, "acp"));
		return;
	}
	up->init_result = json_deep_copy(result);
	/* A warp harness that takes its provider over ACP gets it first. */
	if (warp_serve_endpoint_start(up))
		return;
	warp_serve_up_init_auth(up);
}

/* After initialize (and setLlmEndpoints): authenticate as the client did. */
void
warp_serve_up_init_auth(struct ws_up *up)
{
	const json_t	*m, *result = up->init_result;
	size_t		 i;

	/* A harness started after the client authenticated gets it too. */
	if (up->ws->auth_method != NULL) {
		json_array_foreach(json_object_get(result, "authMethods"), i, m) {
			if (jget_str(m, "id") != NULL && strcmp(jget_str(m, "id"),
			    up->ws->auth_method) == 0) {
				up->authed = 1;
				jsonrpc_request(up->rpc, "authenticate",
				    json_pack("{s:s}", "methodId",
				    up->ws->auth_method), ws_up_auth_cb, up);
				return;
			}
		}
	}
	up->state = WS_UP_READY;
	warp_serve_log(up->ws, "%s initialized", up->agent);
	ws_up_settle(up);
}

static void
ws_back_done(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct ws_back	*b = arg;
	struct ws_up	*up = b->up;
	json_t		*msg;

	if (up->rpc != NULL && !jsonrpc_closed(up->rpc, NULL)) {
		if (st == JSONRPC_RESULT) {
			if (b->sess != NULL && b->sess->turn != NULL) {
				msg = json_pack("{s:s, s:O, s:O}", "jsonrpc",
				    "2.0", "id", b->uid, "result", result);
				warp_serve_turn_tap(b->sess, msg, 0);
				json_decref(msg);
			}
			jsonrpc_reply(up->rpc, b->uid, json_deep_copy(result));
		} else if (st == JSONRPC_ERROR)
			jsonrpc_reply_error(up->rpc, b->uid,
			    (int)json_integer_value(json_object_get(error, "code")),
			    jget_str(error, "message"),
			    json_deep_copy(json_object_get(error, "data")));
		else
			jsonrpc_reply_error(up->rpc, b->uid, WS_RPC_INTERNAL,
			    "Internal error", json_pack("{s:s}", "details",
			    "the ACP client disconnected"));
	}
	json_decref(b->uid);
	free(b);
}

/* The harness asks the client something: forward it, ids mapped. */
static void
ws_up_request_cb(struct jsonrpc *rpc, const json_t *id, const char *method,
    const json_t *params, void *arg)
{
	struct ws_up	*up = arg;
	struct ws	*ws = up->ws;
	struct ws_sess	*s = NULL;
	struct ws_back	*b;
	json_t		*p, *msg;
	const char	*sid = jget_str(params, "sessionId");

	if (sid != NULL && (s = warp_serve_sess_by_up(ws, up, sid)) == NULL) {
		/* A session that moved to another agent (or never was ours). */
		jsonrpc_reply_error(rpc, id, WS_RPC_INTERNAL, "Internal error",
		    json_pack("{s:s}", "details", "session is no longer served "
		    "by this agent"));
		return;
	}
	if (ws->client == NULL || ws->closing) {
		jsonrpc_reply_error(rpc, id, WS_RPC_INTERNAL, "Internal error",
		    json_pack("{s:s}", "details", "the ACP client disconnected"));
		return;
	}
	if (s != NULL && s->turn != NULL) {
		msg = json_pack("{s:s, s:O, s:s, s:O?}", "jsonrpc", "2.0", "id",
		    id, "method", method, "params", params);
		warp_serve_turn_tap(s, msg, 1);
		json_decref(msg);
	}
	/* On a node, fs and terminals are served here (warp-serve-node.c). */
	if (warp_serve_node_request(up, s, id, method, params))
		return;
	p = s != NULL ? warp_serve_sess_rewrite(params, sid, s->id) :
	    params != NULL ? json_incref((json_t *)params) : NULL;
	b = xcalloc(1, sizeof *b);
	b->up = up;
	b->uid = json_deep_copy(id);
	b->sess = s;
	jsonrpc_request(ws->client, method, p, ws_back_done, b);
}

static void
ws_up_flush_orphans(struct ws_up *up, struct ws_sess *s)
{
	json_t	*o, *p;
	size_t	 i;

	if (up->orphans == NULL)
		return;
	for (i = 0; i < json_array_size(up->orphans); ) {
		o = json_array_get(up->orphans, i);
		if (strcmp(jget_str(json_object_get(o, "params"), "sessionId"),
		    s->up_sid) != 0) {
			i++;
			continue;
		}
		p = warp_serve_sess_rewrite(json_object_get(o, "params"), s->up_sid,
		    s->id);
		warp_serve_notify_client(up->ws, jget_str(o, "method"), p);
		json_array_remove(up->orphans, i);
	}
}

/* A session of this harness is now bound: send what waited for it. */
void
warp_serve_up_bound(struct ws_up *up, struct ws_sess *s)
{
	ws_up_flush_orphans(up, s);
}

static void
ws_up_notify_cb(struct jsonrpc *rpc, const char *method, const json_t *params,
    void *arg)
{
	struct ws_up	*up = arg;
	struct ws	*ws = up->ws;
	struct ws_sess	*s = NULL;
	const char	*sid = jget_str(params, "sessionId");
	json_t		*msg;

	if (ws->client == NULL || ws->closing)
		return;
	warp_serve_turn_idle_tap(up, sid, method, params);
	if (sid != NULL && (s = warp_serve_sess_by_up(ws, up, sid)) == NULL) {
		/* Maybe a session/new that has not answered yet. */
		if (up->state != WS_UP_READY || !warp_serve_up_usable(up))
			return;
		if (up->orphans == NULL)
			up->orphans = json_array();
		if (json_array_size(up->orphans) < WS_ORPHANS_MAX)
			json_array_append_new(up->orphans, json_pack("{s:s, s:O}",
			    "method", method, "params", params));
		return;
	}
	if (s != NULL && s->suppress && strcmp(method, "session/update") == 0)
		return;
	if (s != NULL && s->turn != NULL) {
		msg = json_pack("{s:s, s:s, s:O?}", "jsonrpc", "2.0", "method",
		    method, "params", params);
		warp_serve_turn_tap(s, msg, 1);
		json_decref(msg);
	}
	warp_serve_notify_client(ws, method, s != NULL ? warp_serve_sess_rewrite(params, sid,
	    s->id) : params != NULL ? json_incref((json_t *)params) : NULL);
}

static void
ws_up_noise_cb(struct jsonrpc *rpc, const char *line, size_t len,
    const char *why, void *arg)
{
	struct ws_up	*up = arg;

	/* Not ours to show on stdout: a note on stderr when verbose. */
	if (strcmp(why, JSONRPC_NOISE_NOT_OBJECT) != 0)
		warp_serve_log(up->ws, "%s: not JSON: %.*s", up->agent,
		    (int)(len > 200 ? 200 : len), line);
}

static void
ws_up_closed_cb(struct jsonrpc *rpc, enum jsonrpc_close_reason why, void *arg)
{
	struct ws_up	*up = arg;
	struct ws_sess	*s;

	warp_serve_log(up->ws, "%s: connection closed (%s)", up->agent,
	    why == JSONRPC_CLOSE_TOO_LARGE ? "line too long" :
	    why == JSONRPC_CLOSE_EOF ? "eof" : why == JSONRPC_CLOSE_IO ?
	    "i/o error" : "local");
	if (up->state == WS_UP_READY)
		up->state = WS_UP_CLOSED;
	for (s = up->ws->sessions; s != NULL; s = s->next) {
		if (s->up == up)
			s->up = NULL;	/* detached: reattached on next use */
	}
	if (up->ws->primary == up)
		up->ws->primary = NULL;
	if (up->child != NULL)
		spawn_terminate(up->child, -1, WS_GRACE_MS, WS_GRACE_MS);
}

static void
ws_up_exit_cb(struct child *child, int status, void *arg)
{
	struct ws_up	*up = arg;

	up->exited = 1;
	slots_hold_release(up->slot);	/* the harness is gone */
	up->slot = NULL;
	events_acp_exited(status);
	ws_up_errline(up);
	if (up->init_closed)
		ws_up_startup_failed(up);
	warp_serve_log(up->ws, "%s exited (status %d)", up->agent, status);
	/* Its stdout may still hold answers: the rpc closes on EOF. */
	warp_serve_maybe_done(up->ws);
}

/* Spawn the prepared harness and send it initialize. */
void
warp_serve_up_spawn(struct ws_up *up)
{
	struct ws		*ws = up->ws;
	struct child_opts	 co;
	struct jsonrpc_callbacks rcb;
	char			**envp, *cause = NULL;
	char *const		*add, *const *unset;
	int			 err_no = 0, in_fd, out_fd;

	memset(&co, 0, sizeof co);
	warp_endpoint_spawn_env(up->launch.endpoint, up->endpoint_fallback,
	    up->launch.env_add, up->launch.env_unset, &add, &unset);
	envp = auth_env_build(ws->opts->config != NULL ?
	    ws->opts->config->auth : NULL, unset, add);
	co.argv = up->launch.argv;
	co.envp = envp;
	co.cwd = ws->opts->cwd;
	co.stderr_mode = CHILD_STDERR_KEEP;
	co.new_pgrp = 1;
	co.err_cb = ws_up_err_cb;
	co.err_arg = up;
	up->child = spawn_child(ws->loop, &co, ws_up_exit_cb, up, &err_no,
	    &cause);
	auth_env_free(envp);
	if (up->child == NULL) {
		ws_up_fail(up, acpx_error_new(ACPX_CODE_RUNTIME,
		    err_no == ENOENT ? "AGENT_SPAWN_ENOENT" : NULL, "cli",
		    "Failed to spawn agent command: %s: %s", up->agent,
		    cause != NULL ? cause : "error"));
		free(cause);
		return;
	}
	warp_serve_log(ws, "started %s (pid %ld)", up->agent,
	    (long)spawn_pid(up->child));
	events_acp_spawned(up->launch.argv, spawn_pid(up->child));
	spawn_take_fds(up->child, &in_fd, &out_fd);
	memset(&rcb, 0, sizeof rcb);
	rcb.request = ws_up_request_cb;
	rcb.notify = ws_up_notify_cb;
	rcb.noise = ws_up_noise_cb;
	rcb.closed = ws_up_closed_cb;
	up->rpc = jsonrpc_create(ws->loop, out_fd, in_fd, warp_serve_max_message(),
	    &rcb, up);
	jsonrpc_request(up->rpc, "initialize", ws->init_params != NULL ?
	    json_deep_copy(ws->init_params) : json_pack("{s:i}",
	    "protocolVersion", 1), ws_up_init_cb, up);
}


/* ------------------------------------------------------------- the cap */

static void
ws_up_slot_cb(struct slots_hold *h, void *arg)
{
	struct ws_up	*up = arg;

	up->slot_wait = NULL;
	up->slot = h;
	warp_serve_log(up->ws, "%s: agent slot taken", up->agent);
	warp_serve_up_spawn(up);
}

/*
 * Wait for an agent slot before the harness is spawned: 1 waiting (spawned
 * from the callback), 0 spawn now (no cap, or the proxy's own slot).
 */
static int
ws_up_slot(struct ws_up *up)
{
	struct ws		*ws = up->ws;
	struct slots_caps	 caps;
	struct agent_spec	 spec;
	char			*cause = NULL;
	int			 capped, busy, cap, waiting;

	if (ws->opts->config == NULL || slots_ancestor_holds())
		return (0);
	agent_registry_resolve(ws->opts->config, up->agent, NULL, &spec);
	capped = slots_caps(ws->opts->config, spec.command, &caps);
	agent_registry_spec_clear(&spec);
	if (!capped)
		return (0);
	if (!slots_free_now(&caps)) {
		slots_busy(&caps, &busy, &cap, &waiting);
		fprintf(stderr, "[acpx] warp serve: %s: waiting for a free agent "
		    "slot (%d/%d busy)\n", up->agent, busy, cap);
	}
	up->slot_wait = slots_wait(ws->loop, &caps, "warp", NULL, ws_up_slot_cb,
	    up, &cause);
	slots_caps_clear(&caps);
	if (up->slot_wait == NULL) {
		warp_serve_log(ws, "agent slots unusable, not capped: %s", cause);
		free(cause);
		return (0);
	}
	return (1);
}

/* ------------------------------------------------------------- start */

/*
 * Start the harness of agent (prepared launch taken over when given,
 * else prepared here, with a cooldown pick when pick) and initialize it
 * with the client's params. Always returns an up; one that could not
 * start is WS_UP_FAILED with its error.
 */
struct ws_up *
warp_serve_up_start(struct ws *ws, const char *agent, int pick,
    struct agent_launch *launch)
{
	struct ws_up		*up, **tail;
	struct acpx_error	*err = NULL;

	up = xcalloc(1, sizeof *up);
	up->ws = ws;
	up->state = WS_UP_STARTING;
	ev_timer_init(&up->exit_w, ws_up_exit_wait_cb, WS_EXIT_WAIT_S, 0.);
	up->exit_w.data = up;
	for (tail = &ws->ups; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = up;
	if (ws->closing) {
		up->agent = xstrdup(agent);
		ws_up_fail(up, acpx_error_new(ACPX_CODE_RUNTIME, NULL, "acp",
		    "the proxy is closing"));
		if (launch != NULL)
			agent_launch_clear(launch);
		return (up);
	}

	if (launch != NULL) {
		up->launch = *launch;
		memset(launch, 0, sizeof *launch);
	} else if (agent_launch_prepare(ws->opts->config, agent, NULL,
	    (pick ? AGENT_LAUNCH_PICK : 0) | (ws->opts->on_node ?
	    AGENT_LAUNCH_HERE : AGENT_LAUNCH_PERM(ws->opts->perm_mode,
	    ws->opts->nonint)) | (ws->opts->no_fallback ? 0 :
	    AGENT_LAUNCH_TAP), &up->launch, &err) == -1) {
		up->agent = xstrdup(agent);
		ws_up_fail(up, err);
		return (up);
	}
	up->agent = xstrdup(up->launch.agent != NULL ? up->launch.agent :
	    agent);
	/* Its provider tap, if it has one, for as long as the harness runs. */
	warp_tap_start(up->launch.tap, ws->loop, warp_serve_turn_tap_failed, up);
	if (up->launch.notice != NULL)
		warp_serve_log(ws, "%s", up->launch.notice);
	if (!ws_up_slot(up))
		warp_serve_up_spawn(up);
	return (up);
}

long long
warp_serve_up_request(struct ws_up *up, const char *method, json_t *params,
    jsonrpc_done_cb cb, void *arg)
{
	return (jsonrpc_request(up->rpc, method, params, cb, arg));
}

void
warp_serve_up_notify(struct ws_up *up, const char *method, json_t *params)
{
	if (up->rpc != NULL)
		jsonrpc_notify(up->rpc, method, params);
	else
		json_decref(params);
}

/* stdin EOF, then TERM, then KILL after the grace. */
void
warp_serve_up_close(struct ws_up *up)
{
	slots_wait_cancel(up->slot_wait);	/* never spawned */
	up->slot_wait = NULL;
	if (up->state == WS_UP_STARTING) {
		up->state = WS_UP_FAILED;
		up->err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "acp",
		    "the proxy is closing");
		ws_up_settle(up);
	}
	if (up->state == WS_UP_READY)
		up->state = WS_UP_CLOSED;
	if (up->rpc != NULL)
		jsonrpc_shutdown_write(up->rpc);
	if (up->child != NULL)
		spawn_terminate(up->child, -1, WS_GRACE_MS, WS_GRACE_MS);
}

/* SIGKILL now (a stalled agent that ignores cancel). */
void
warp_serve_up_kill(struct ws_up *up)
{
	if (up->child != NULL && !up->exited)
		spawn_signal(up->child, SIGKILL);
}

/* Close the harnesses no session uses and new sessions do not go to. */
void
warp_serve_up_retire_unused(struct ws *ws)
{
	struct ws_up	*up;
	struct ws_sess	*s;
	int		 used;

	for (up = ws->ups; up != NULL; up = up->next) {
		if (up == ws->primary || up->state != WS_UP_READY)
			continue;
		used = 0;
		for (s = ws->sessions; s != NULL; s = s->next)
			used |= s->up == up;
		if (!used) {
			warp_serve_log(ws, "retiring %s", up->agent);
			warp_serve_up_close(up);
		}
	}
}

/* Free every harness (at the end: all have exited or are killed now). */
void
warp_serve_up_free_all(struct ws *ws)
{
	struct ws_up	*up;

	/* Callbacks that run from here may add to the list: take from its head. */
	while ((up = ws->ups) != NULL) {
		ws->ups = up->next;
		warp_serve_node_free(up);	/* before its rpc goes */
		ws_up_errline(up);
		ev_timer_stop(ws->loop, &up->exit_w);
		slots_wait_cancel(up->slot_wait);
		if (up->rpc != NULL) {
			jsonrpc_close(up->rpc);	/* pending requests complete */
			jsonrpc_free(up->rpc);
		}
		if (up->child != NULL)
			spawn_free(up->child);
		slots_hold_release(up->slot);
		json_decref(up->init_result);
		json_decref(up->orphans);
		if (up->err != NULL)
			acpx_error_free(up->err);
		agent_launch_clear(&up->launch);
		free(up->waiters);
		free(up->agent);
		free(up);
	}
	ws->ups = NULL;
}

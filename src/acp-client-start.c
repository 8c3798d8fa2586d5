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

#include "acp-client.h"
#include "acp-client-impl.h"
#include "acpx-error.h"
#include "acpx.h"
#include "agent-compat.h"
#include "auth-env.h"
#include "cmdline.h"
#include "client-fs.h"
#include "client-term.h"
#include "events-acp.h"
#include "events.h"
#include "jget.h"
#include "jsonrpc.h"
#include "permission.h"
#include "progress.h"
#include "spawn.h"
#include "secrets.h"
#include "warp-endpoint.h"
#include "xmalloc.h"

/*
 * Starting the agent: spawn it (its launch argv and environment, never
 * acpx's own environment changed), wire the JSON-RPC callbacks, send
 * initialize and, when the agent advertises auth methods we hold
 * credentials for, authenticate. A startup failure names the exit status
 * and the agent's stderr (secrets redacted).
 */

/* "exit=9, signal=null" parts from a wait status. */
static void
exit_parts(struct acp_client *c, char *code, size_t codesz, char *sig,
    size_t sigsz)
{
	snprintf(code, codesz, "null");
	snprintf(sig, sigsz, "null");
	if (!(c->flags & ACP_EXITED))
		return;
	if (WIFEXITED(c->exit_status))
		snprintf(code, codesz, "%d", WEXITSTATUS(c->exit_status));
	else if (WIFSIGNALED(c->exit_status))
		snprintf(sig, sigsz, "SIG%s",
		    sigabbrev_np(WTERMSIG(c->exit_status)) != NULL ?
		    sigabbrev_np(WTERMSIG(c->exit_status)) : "UNKNOWN");
}

/* Agent stderr collapsed to one line, for startup errors. Caller owns. */
static char *
stderr_summary(struct acp_client *c)
{
	const char	*s = c->child != NULL ? spawn_stderr_tail(c->child) : "";
	char		*out = xmalloc(strlen(s) + 1), *o = out;
	int		 space = 0;

	for (; *s != '\0'; s++) {
		if (isspace((unsigned char)*s)) {
			space = 1;
			continue;
		}
		if (space && o != out)
			*o++ = ' ';
		space = 0;
		*o++ = *s;
	}
	*o = '\0';
	return (out);
}

static struct acpx_error *
startup_failed_error(struct acp_client *c)
{
	char	 code[16], sig[32], *tail, *raw;
	struct acpx_error *err;

	exit_parts(c, code, sizeof code, sig, sizeof sig);
	raw = stderr_summary(c);
	tail = secrets_redact_values(raw, c->opts->redact);	/* a harness may echo its key */
	free(raw);
	/* ssh's own failure: the node went away after it was checked. */
	if (c->opts->node != NULL && strcmp(code, "255") == 0) {
		err = acpx_error_new(ACPX_CODE_NODE_UNREACHABLE, NULL, "acp",
		    "Node '%s' is unreachable: ssh exited 255 before the "
		    "agent started%s%s", c->opts->node, *tail != '\0' ?
		    ": " : "", tail);
		free(tail);
		return (err);
	}
	err = acpx_error_new(ACPX_CODE_RUNTIME, "AGENT_STARTUP_FAILED", "acp",
	    "ACP agent exited before initialize completed (exit=%s, "
	    "signal=%s)%s%s", code, sig, *tail != '\0' ? ": " : "", tail);
	free(tail);
	return (err);
}

/* ---------------------------------------------------------------- wire */

static void
acp_tap_cb(struct jsonrpc *rpc, const json_t *msg, int outbound, void *arg)
{
	struct acp_client	*c = arg;
	json_t			*scrubbed;

	/* Replayed history during session/load: neither rendered nor journaled. */
	if (c->suppress_updates && !outbound && json_object_get(msg, "id") ==
	    NULL && jget_str(msg, "method") != NULL &&
	    strcmp(jget_str(msg, "method"), "session/update") == 0) {
		c->last_update = ev_now(c->loop);
		return;
	}
	/* The provider's key goes to the agent only. */
	if (outbound && c->opts->endpoint != NULL &&
	    (scrubbed = warp_endpoint_scrub(msg)) != NULL) {
		if (c->ev.message != NULL)
			c->ev.message(c, scrubbed, outbound, c->ev_arg);
		json_decref(scrubbed);
		return;
	}
	if (c->ev.message != NULL)
		c->ev.message(c, msg, outbound, c->ev_arg);
}

static void
acp_noise_cb(struct jsonrpc *rpc, const char *line, size_t len,
    const char *why, void *arg)
{
	struct acp_client	*c = arg;

	/* Valid JSON that is not an object: the reference drops it silently. */
	if (c->opts->json_strict || strcmp(why, JSONRPC_NOISE_NOT_OBJECT) == 0 ||
	    agent_compat_benign_line(c->opts->argv, line, len))
		return;
	acp_client_diag(c, "Failed to parse JSON message: %.*s %s", (int)len,
	    line, why);
}

static void
acp_diag_cb(struct jsonrpc *rpc, const char *text, void *arg)
{
	struct acp_client	*c = arg;

	if (!c->opts->json_strict)
		acp_client_diag(c, "%s", text);
}

static void
acp_notify_cb(struct jsonrpc *rpc, const char *method, const json_t *params,
    void *arg)
{
	struct acp_client	*c = arg;
	const char		*bad;

	if (strcmp(method, "session/update") == 0)
		c->last_update = ev_now(c->loop);
	if (strcmp(method, "session/update") == 0 && c->step == STEP_PROMPT)
		c->side_effects = 1;
	if (strcmp(method, "session/update") == 0 && (bad =
	    events_acp_update_check(params, &c->invalid_updates)) != NULL &&
	    c->invalid_updates == 1)
		acp_client_log(c, "ignoring a malformed session/update (%s); "
		    "any further ones are only counted", bad);
}

void
acp_client_start_exit_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct acp_client	*c = w->data;
	struct acpx_error	*err;

	ev_timer_stop(loop, w);
	if ((err = c->pending_err) == NULL)
		err = startup_failed_error(c);
	c->pending_err = NULL;
	acp_client_step_done(c, NULL, err);
}

static void
acp_closed_cb(struct jsonrpc *rpc, enum jsonrpc_close_reason why, void *arg)
{
	struct acp_client	*c = arg;

	/* The pending request callbacks already ran with JSONRPC_CLOSED. */
	c->flags |= ACP_DISCONNECTED;
	/* Closing and the agent is gone: all it wrote has been read. */
	if (c->step == STEP_CLOSE && (c->flags & ACP_EXITED)) {
		ev_timer_stop(c->loop, &c->close_drain_w);
		acp_client_step_done(c, NULL, NULL);
	}
}

/*
 * The agent closed the connection during start: fail the step once its
 * exit status is known, to name it in the message.
 */
void
acp_client_start_closed(struct acp_client *c)
{
	if (c->flags & ACP_EXITED)
		acp_client_start_exit_wait_cb(c->loop, &c->exit_wait_w, 0);
	else
		ev_timer_start(c->loop, &c->exit_wait_w);
}

static void
acp_child_exit_cb(struct child *child, int status, void *arg)
{
	struct acp_client	*c = arg;

	c->flags |= ACP_EXITED;
	c->exit_status = status;
	events_acp_exited(status);
	if (c->step == STEP_START && ev_is_active(&c->exit_wait_w)) {
		ev_timer_stop(c->loop, &c->exit_wait_w);
		acp_client_start_exit_wait_cb(c->loop, &c->exit_wait_w, 0);
	} else if (c->step == STEP_CLOSE)
		acp_client_close_exited(c);
}

/* initialize (and authenticate) done: the start step completes. */
static void
acp_initialized(struct acp_client *c)
{
	c->flags |= ACP_INITIALIZED;
	events_acp_initialized(c->ev_t0, c->init_result);
	acp_client_log(c, "initialized protocol version %lld", json_integer_value(
	    json_object_get(c->init_result, "protocolVersion")));
	acp_client_step_done(c, c->init_result, NULL);
}

static void
acp_authenticate_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct acp_client	*c = arg;

	if (c->flags & ACP_CLOSING)
		return;

	if (st != JSONRPC_RESULT) {
		acp_client_step_done(c, NULL, acp_client_request_error(c, st, error));
		return;
	}
	acp_client_log(c, "authenticated with method %s (%s)", c->auth_method,
	    c->auth_source);
	acp_initialized(c);
}

static void
acp_initialize_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct acp_client	*c = arg;
	struct acpx_error	*err;

	if (c->flags & ACP_CLOSING)
		return;
	if (st == JSONRPC_CLOSED && (err = acp_client_too_large_error(c)) != NULL) {
		acp_client_step_done(c, NULL, err);
		return;
	}
	if (st == JSONRPC_CLOSED) {
		acp_client_start_closed(c);
		return;
	}
	if (st == JSONRPC_ERROR) {
		acp_client_step_done(c, NULL, acp_client_request_error(c, st, error));
		return;
	}
	c->init_result = json_deep_copy(result);
	/* A warp agent that takes its provider over ACP gets it first. */
	if (acp_client_endpoint_start(c))
		return;
	acp_client_init_auth(c);
}

/* After initialize (and setLlmEndpoints): authenticate if we can. */
void
acp_client_init_auth(struct acp_client *c)
{
	const json_t		*methods, *m;
	const char		*id, *chosen = NULL, *src = NULL;
	char			*list = NULL, *tmp;
	size_t			 i;
	struct acpx_error	*err;

	methods = json_object_get(c->init_result, "authMethods");
	json_array_foreach(methods, i, m) {
		if ((id = jget_str(m, "id")) == NULL)
			continue;
		if ((src = auth_env_source(id, c->opts->auth)) != NULL) {
			chosen = id;
			break;
		}
		xasprintf(&tmp, "%s%s%s", list != NULL ? list : "",
		    list != NULL ? ", " : "", id);
		free(list);
		list = tmp;
	}
	if (chosen != NULL) {
		free(list);
		c->auth_method = xstrdup(chosen);
		c->auth_source = src;
		jsonrpc_request(c->rpc, "authenticate",
		    json_pack("{s:s}", "methodId", chosen), acp_authenticate_cb, c);
		return;
	}
	if (json_array_size(methods) > 0) {
		if (c->opts->auth_policy == ACPX_AUTH_FAIL) {
			err = acpx_error_new(ACPX_CODE_RUNTIME,
			    "AUTH_REQUIRED", "acp", "agent advertised auth methods "
			    "[%s] but no matching credentials found", list);

			free(list);
			acp_client_step_done(c, NULL, err);
			return;
		}
		acp_client_log(c, "agent advertised auth methods [%s] but no matching "
		    "credentials found — skipping (agent may handle auth "
		    "internally)", list);
	}
	free(list);
	acp_initialized(c);
}

/* Parse ACPX_MAX_ACP_MESSAGE_BYTES; -1 with *cause on a bad value. */
static int
acp_max_message(size_t *max, char **cause)
{
	const char	*v = getenv("ACPX_MAX_ACP_MESSAGE_BYTES");
	char		*t, *p;
	unsigned long long n;

	*max = ACP_DEFAULT_MAX_MESSAGE;
	if (v == NULL)
		return (0);
	t = xstrdup(v);
	for (p = t + strlen(t); p > t && isspace((unsigned char)p[-1]); )
		*--p = '\0';
	for (p = t; isspace((unsigned char)*p); p++)
		;
	if (*p == '\0') {
		free(t);
		return (0);
	}
	if (strspn(p, "0123456789") != strlen(p) || strlen(p) > 16 ||
	    (n = strtoull(p, NULL, 10)) > 9007199254740991ULL) {
		free(t);
		*cause = xstrdup("ACPX_MAX_ACP_MESSAGE_BYTES must be a "
		    "non-negative safe integer; zero is unlimited");
		return (-1);
	}
	free(t);
	*max = (size_t)n;
	return (0);
}

/* Spawn the agent and initialize it (+authenticate). */
void
acp_client_start(struct acp_client *c, acp_done_cb cb, void *arg)
{
	const struct acp_client_opts *o = c->opts;
	char			*cause = NULL;
	size_t			 max;
	unsigned long long	 ceiling;
	struct acpx_error	*err;

	acp_client_step_begin(c, STEP_START, cb, arg);
	c->ev_t0 = events_now_ms();
	events_redact(o->redact);
	if (acp_max_message(&max, &cause) == -1 ||
	    client_term_ceiling(&ceiling, &cause) == -1) {
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, NULL, "%s", cause);
		free(cause);
		acp_client_step_done(c, NULL, err);
		return;
	}
	c->max_message = max;
	acp_client_spawn_init(c);
}

/*
 * Spawn the agent and send initialize (the start step is under way; a
 * warp agent that refused its endpoint over ACP comes back here once,
 * with the environment table).
 */
void
acp_client_spawn_init(struct acp_client *c)
{
	struct child_opts	 opts;
	struct jsonrpc_callbacks rcb;
	const struct acp_client_opts *o = c->opts;
	int			 err_no = 0, in_fd, out_fd;
	char			*cause = NULL, **a, **launch;
	char *const		*add, *const *unset;
	json_t			*caps;
	char			**envp;
	struct acpx_error	*err;

	/* Qoder takes --max-turns/--allowed-tools as spawn arguments. */
	if ((launch = agent_compat_argv(o->argv, &o->session)) == NULL)
		launch = cmdline_copy(o->argv);
	if (o->verbose) {
		char *line = xstrdup(""), *tmp;

		/* "<command> <args joined>", as the reference logs it. */
		for (a = launch + 1; *a != NULL; a++) {
			xasprintf(&tmp, "%s%s%s", line, *line != '\0' ? " " : "", *a);
			free(line);
			line = tmp;
		}
		acp_client_log(c, "spawning agent: %s %s", launch[0], line);
		free(line);
	}

	memset(&opts, 0, sizeof opts);
	warp_endpoint_spawn_env(o->endpoint, c->endpoint_fallback, o->env_add,
	    o->env_unset, &add, &unset);
	envp = auth_env_build(o->auth, unset, add);
	opts.envp = envp;
	opts.argv = launch;
	opts.cwd = ACP_CWD(c);
	opts.stderr_mode = o->verbose ? CHILD_STDERR_PASS : CHILD_STDERR_KEEP;
	opts.new_pgrp = 1;
	c->child = spawn_child(c->loop, &opts, acp_child_exit_cb, c, &err_no,
	    &cause);
	auth_env_free(envp);
	cmdline_free(launch);
	if (c->child == NULL) {
		if (err_no == ENOENT || err_no == ENOTDIR || err_no == EACCES)
			err = acpx_error_new(ACPX_CODE_RUNTIME,
			    err_no == ENOENT ? "AGENT_SPAWN_ENOENT" : NULL, "cli",
			    "Failed to spawn agent command: %s. The agent process "
			    "could not start because a required executable, "
			    "interpreter, working directory, or other launch path "
			    "was not found. Check the command, effective PATH, and "
			    "working directory, or verify the custom agent's "
			    "configured argv.", o->command);
		else
			err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "acp",
			    "Failed to spawn agent command: %s: %s",
			    o->command, cause != NULL ? cause : "error");
		free(cause);
		acp_client_step_done(c, NULL, err);
		return;
	}
	spawn_take_fds(c->child, &in_fd, &out_fd);
	events_acp_spawned(o->argv, spawn_pid(c->child));

	memset(&rcb, 0, sizeof rcb);
	rcb.request = acp_client_req_cb;
	rcb.notify = acp_notify_cb;
	rcb.tap = acp_tap_cb;
	rcb.noise = acp_noise_cb;
	rcb.closed = acp_closed_cb;
	rcb.diag = acp_diag_cb;
	c->rpc = jsonrpc_create(c->loop, out_fd, in_fd, c->max_message, &rcb,
	    c);

	caps = json_pack("{s:{s:b, s:b}, s:b}", "fs", "readTextFile", !o->no_fs,
	    "writeTextFile", !o->no_fs, "terminal", !o->no_terminal);
	agent_compat_client_caps(o->argv, caps);
	c->step_id = jsonrpc_request(c->rpc, "initialize",
	    json_pack("{s:i, s:o, s:o}", "protocolVersion", 1,
	    "clientCapabilities", caps, "clientInfo",
	    agent_compat_client_info(o->argv)), acp_initialize_cb, c);
	/* After the request: its "[client] initialize" line is drawn. */
	progress_show(c->loop, "starting the agent");
}

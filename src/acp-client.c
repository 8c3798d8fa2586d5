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
#include "js.h"
#include "jsonrpc.h"
#include "permission.h"
#include "spawn.h"
#include "secrets.h"
#include "progress.h"
#include "xmalloc.h"

/*
 * One ACP agent connection: spawn, initialize (+authenticate), session/new,
 * session/prompt, session/cancel, and the agent's requests to us. Every
 * step is asynchronous and completes through an acp_done_cb; the caller
 * owns the order of steps. Errors are built here as struct acpx_error and
 * handed to the step's callback, never printed.
 */

#define ACP_TERM_GRACE_MS	1500
#define ACP_CLOSE_DRAIN_MS	100	/* output after the agent's exit */

void
acp_client_log(struct acp_client *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	if (!c->opts->verbose || c->ev.log == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	c->ev.log(c, line, c->ev_arg);
	free(line);
}

/* A diagnostic for the user: the diag event, else a line on stderr. */
void
acp_client_diag(struct acp_client *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	if (c->ev.diag != NULL)
		c->ev.diag(c, line, c->ev_arg);
	else
		fprintf(stderr, "%s\n", line);
	free(line);
}

/*
 * The stream ended under a pending request. Like the reference, name the
 * first thing observed (the connection closing); its exit status is not
 * known yet at that moment, so it reads null, deterministically.
 */
static struct acpx_error *
disconnected_error(struct acp_client *c, const char *reason)
{
	return (acpx_error_new(ACPX_CODE_RUNTIME, "AGENT_DISCONNECTED", "acp",
	    "ACP agent disconnected during request (%s, exit=null, "
	    "signal=null)", reason));
}

/* ---------------------------------------------------------------- steps */

void
acp_client_step_begin(struct acp_client *c, enum acp_step step, acp_done_cb cb,
    void *arg)
{
	c->step = step;
	c->step_cb = cb;
	c->step_arg = arg;
}

void
acp_client_step_done(struct acp_client *c, const json_t *result,
    struct acpx_error *err)
{
	acp_done_cb	 cb = c->step_cb;
	void		*arg = c->step_arg;

	if (c->step == STEP_PROMPT)
		events_acp_turn_ended(result, err, c->ev_t0, c->invalid_updates);
	c->step = STEP_NONE;
	c->step_cb = NULL;
	c->step_arg = NULL;
	if (cb != NULL)
		cb(c, result, err, arg);
	acpx_error_free(err);
}

/* ACP_MESSAGE_TOO_LARGE if the connection closed over a long line, else NULL. */
struct acpx_error *
acp_client_too_large_error(struct acp_client *c)
{
	enum jsonrpc_close_reason why;
	struct acpx_error	*err;

	if (c->rpc == NULL || !jsonrpc_closed(c->rpc, &why) ||
	    why != JSONRPC_CLOSE_TOO_LARGE)
		return (NULL);
	err = acpx_error_new(ACPX_CODE_RUNTIME, "ACP_MESSAGE_TOO_LARGE", "acp",
	    "ACP message exceeded ACPX_MAX_ACP_MESSAGE_BYTES (%zu bytes). "
	    "Increase the limit or set it to 0 for unlimited input.",
	    c->max_message);
	err->retryable = 0;
	return (err);
}

/* Error for a request that ended without a result. */
struct acpx_error *
acp_client_request_error(struct acp_client *c, enum jsonrpc_status st,
    const json_t *error)
{
	struct acpx_error	*err;

	if (st == JSONRPC_ERROR) {
		err = acpx_error_from_acp(error, NULL, "acp");
		err->flags |= ACPX_ERROR_EMITTED;
		return (err);
	}
	if (c->pending_err != NULL) {
		err = c->pending_err;
		c->pending_err = NULL;
		return (err);
	}
	if ((err = acp_client_too_large_error(c)) != NULL)
		return (err);
	return (disconnected_error(c, "connection_close"));
}

/*
 * Closing, and the agent has exited: the close is done once its output has
 * been read to the end (what it wrote after the answer, such as a session
 * title, is still rendered, as the reference renders whatever the agent
 * writes until it is gone), or after a short bound (a descendant may hold
 * the pipe open).
 */
void
acp_client_close_exited(struct acp_client *c)
{
	if (c->rpc == NULL || jsonrpc_closed(c->rpc, NULL)) {
		acp_client_step_done(c, NULL, NULL);
		return;
	}
	ev_timer_set(&c->close_drain_w, ACP_CLOSE_DRAIN_MS / 1000.0, 0.);
	ev_timer_start(c->loop, &c->close_drain_w);
}

static void
acp_close_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct acp_client	*c = w->data;

	ev_timer_stop(loop, w);
	if (c->step == STEP_CLOSE)
		acp_client_step_done(c, NULL, NULL);
}

static void
acp_session_new_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct acp_client	*c = arg;
	const char		*sid;

	if (c->flags & ACP_CLOSING)
		return;
	ev_timer_stop(c->loop, &c->create_w);
	if (c->create_timed_out) {
		/* Already reported as a timeout: a late answer changes nothing. */
		c->create_timed_out = 0;
		return;
	}

	if (st != JSONRPC_RESULT) {
		acp_client_step_done(c, NULL, acp_client_request_error(c, st, error));
		return;
	}
	if ((sid = jget_str(result, "sessionId")) == NULL) {
		acp_client_step_done(c, NULL, acpx_error_new(ACPX_CODE_RUNTIME, NULL,
		    "acp", "Agent returned no sessionId from session/new"));
		return;
	}
	free(c->session_id);
	c->session_id = xstrdup(sid);
	events_acp_session("session/new", sid);
	acp_client_step_done(c, result, NULL);
}

/* The reference's ceiling on the Claude adapter's session/new. */
#define ACP_CLAUDE_CREATE_TIMEOUT_MS	60000

/* ACPX_CLAUDE_ACP_SESSION_CREATE_TIMEOUT_MS if a positive number, else 60 s. */
static double
acp_claude_create_timeout(void)
{
	const char	*v = getenv("ACPX_CLAUDE_ACP_SESSION_CREATE_TIMEOUT_MS");
	char		*t, *end;
	double		 ms = 0;

	if (v != NULL && !js_blank(v)) {
		t = js_trim_dup(v);
		ms = strtod(t, &end);
		if (*end != '\0' || !(ms > 0) || ms > 1e12)
			ms = 0;
		free(t);
	}
	if (ms <= 0)
		ms = ACP_CLAUDE_CREATE_TIMEOUT_MS;
	return ((double)(long long)(ms + 0.5) / 1000.0);
}

static void
acp_create_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct acp_client	*c = w->data;
	struct acpx_error	*err;

	ev_timer_stop(loop, w);
	if (c->flags & ACP_CLOSING)
		return;
	c->create_timed_out = 1;
	err = acpx_error_new(ACPX_CODE_TIMEOUT,
	    "CLAUDE_ACP_SESSION_CREATE_TIMEOUT", "acp", "Claude ACP session "
	    "creation timed out before session/new completed. This matches the "
	    "known persistent-session stall seen with some Claude Code and "
	    "@agentclientprotocol/claude-agent-acp combinations. In harnessed or "
	    "non-interactive runs, prefer --approve-all with "
	    "nonInteractivePermissions=deny, upgrade Claude Code and the Claude "
	    "ACP adapter, or use acpx claude exec as a one-shot fallback.");
	err->retryable = 1;
	acp_client_step_done(c, NULL, err);
}

/* session/new in the client's cwd. */
void
acp_client_session_new(struct acp_client *c, acp_done_cb cb, void *arg)
{
	json_t	*params, *meta;

	acp_client_step_begin(c, STEP_REQUEST, cb, arg);
	c->create_timed_out = 0;
	if (agent_compat_is_claude_acp(c->opts->argv)) {
		ev_timer_set(&c->create_w, acp_claude_create_timeout(), 0.);
		ev_timer_start(c->loop, &c->create_w);
	}
	params = json_pack("{s:s, s:O}", "cwd", ACP_CWD(c), "mcpServers",
	    c->opts->mcp_servers);
	if ((meta = agent_compat_session_meta(c->opts->argv,
	    &c->opts->session)) != NULL)
		json_object_set_new(params, "_meta", meta);
	c->step_id = jsonrpc_request(c->rpc, "session/new", params,
	    acp_session_new_cb, c);
	progress_show(c->loop, "starting the session");
}

static void
acp_plain_cb(struct jsonrpc *rpc, enum jsonrpc_status st, const json_t *result,
    const json_t *error, void *arg)
{
	struct acp_client	*c = arg;

	if (c->flags & ACP_CLOSING)
		return;

	if (st != JSONRPC_RESULT) {
		acp_client_step_done(c, NULL, acp_client_request_error(c, st, error));
		return;
	}
	acp_client_step_done(c, result, NULL);
}

/* session/set_config_option {configId, value} for the active session. */
void
acp_client_set_config_option(struct acp_client *c, const char *key,
    const char *value, acp_done_cb cb, void *arg)
{
	acp_client_step_begin(c, STEP_REQUEST, cb, arg);
	c->step_id = jsonrpc_request(c->rpc, "session/set_config_option",
	    json_pack("{s:s, s:s, s:s}", "sessionId", c->session_id, "configId",
	    key, "value", value), acp_plain_cb, c);
}

/* session/set_model {sessionId, modelId} (legacy model switch). */
void
acp_client_set_model(struct acp_client *c, const char *model, acp_done_cb cb,
    void *arg)
{
	acp_client_step_begin(c, STEP_REQUEST, cb, arg);
	c->step_id = jsonrpc_request(c->rpc, "session/set_model",
	    json_pack("{s:s, s:s}", "sessionId", c->session_id, "modelId", model),
	    acp_plain_cb, c);
}

static void	acp_send_prompt(struct acp_client *);

static int
acp_retryable(const json_t *error)
{
	json_int_t	code = json_integer_value(json_object_get(error, "code"));

	return (code == -32603 || code == -32700);
}

static void
acp_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct acp_client	*c = w->data;

	ev_timer_stop(loop, w);
	acp_send_prompt(c);
}

static void
acp_prompt_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct acp_client	*c = arg;
	int			 delay_ms;

	if (c->flags & ACP_CLOSING)
		return;

	if (st == JSONRPC_ERROR && acp_retryable(error) && !c->side_effects &&
	    c->prompt_attempt < c->opts->prompt_retries &&
	    !(c->flags & ACP_CLOSING)) {
		delay_ms = c->prompt_attempt < 4 ? 1000 << c->prompt_attempt :
		    10000;
		if (delay_ms > 10000)
			delay_ms = 10000;
		c->prompt_attempt++;
		/* suppressSdkConsoleErrors: --json-strict or quiet. */
		if (c->opts->retry_notices)
			acp_client_diag(c, "[acpx] prompt failed (%s), retrying "
			    "in %dms (attempt %d/%d)", json_string_value(
			    json_object_get(error, "message")), delay_ms,
			    c->prompt_attempt, c->opts->prompt_retries);
		ev_timer_set(&c->retry_w, delay_ms / 1000.0, 0.);
		ev_timer_start(c->loop, &c->retry_w);
		return;
	}
	json_decref(c->prompt_blocks);
	c->prompt_blocks = NULL;
	json_decref(c->prompt_meta);
	c->prompt_meta = NULL;
	if (st != JSONRPC_RESULT) {
		acp_client_step_done(c, NULL, acp_client_request_error(c, st, error));
		return;
	}
	acp_client_step_done(c, result, NULL);
}

static void
acp_send_prompt(struct acp_client *c)
{
	json_t	*params;

	c->side_effects = 0;
	params = json_pack("{s:s, s:O}", "sessionId", c->session_id, "prompt",
	    c->prompt_blocks);
	if (c->prompt_meta != NULL)
		json_object_set(params, "_meta", c->prompt_meta);
	c->step_id = jsonrpc_request(c->rpc, "session/prompt", params,
	    acp_prompt_cb, c);
	progress_show(c->loop, "waiting for the agent");
}

/* The _meta of the next prompt (see acp-client.h). */
void
acp_client_prompt_meta(struct acp_client *c, json_t *meta)
{
	json_decref(c->prompt_meta);
	c->prompt_meta = meta;
}

/* session/prompt with content blocks (borrowed). */
void
acp_client_prompt(struct acp_client *c, const json_t *blocks, acp_done_cb cb,
    void *arg)
{
	acp_client_step_begin(c, STEP_PROMPT, cb, arg);
	memset(&c->stats, 0, sizeof c->stats);
	c->flags &= ~ACP_CANCELLING;
	c->prompt_attempt = 0;
	c->prompt_blocks = json_incref((json_t *)blocks);
	c->ev_t0 = events_now_ms();
	events_emit("turn.started", NULL);
	acp_send_prompt(c);
}

/* session/cancel for the active session (only while a prompt runs). */
void
acp_client_cancel(struct acp_client *c)
{
	if (c->rpc == NULL || c->session_id == NULL || c->step != STEP_PROMPT ||
	    (c->flags & ACP_DISCONNECTED))
		return;
	c->flags |= ACP_CANCELLING;
	jsonrpc_notify(c->rpc, "session/cancel",
	    json_pack("{s:s}", "sessionId", c->session_id));
}

/* Close the agent: stdin EOF, grace, TERM, KILL; cb once it is reaped. */
void
acp_client_close(struct acp_client *c, acp_done_cb cb, void *arg)
{
	c->flags |= ACP_CLOSING;
	ev_timer_stop(c->loop, &c->retry_w);
	ev_timer_stop(c->loop, &c->create_w);
	ev_timer_stop(c->loop, &c->exit_wait_w);
	/* A step still waiting is abandoned: its callback never runs. */
	acp_client_step_begin(c, STEP_CLOSE, cb, arg);
	client_term_free(c->terms);
	c->terms = NULL;
	if (c->rpc != NULL)
		jsonrpc_shutdown_write(c->rpc);
	if (c->child == NULL) {
		acp_client_step_done(c, NULL, NULL);
		return;
	}
	if (c->flags & ACP_EXITED) {
		acp_client_close_exited(c);
		return;
	}
	spawn_terminate(c->child, -1,
	    agent_compat_stdin_grace_ms(c->opts->argv),
	    ACP_TERM_GRACE_MS);
}

/* Kill the agent now (timeouts, interrupts): SIGKILL its process group. */
void
acp_client_kill(struct acp_client *c)
{
	if (c->child != NULL && !(c->flags & ACP_EXITED))
		spawn_signal(c->child, SIGKILL);
}

struct acp_client *
acp_client_create(struct ev_loop *loop, const struct acp_client_opts *opts,
    const struct acp_client_events *ev, void *arg)
{
	struct acp_client	*c;

	c = xcalloc(1, sizeof *c);
	c->loop = loop;
	c->opts = opts;
	if (ev != NULL)
		c->ev = *ev;
	c->ev_arg = arg;
	ev_timer_init(&c->retry_w, acp_retry_cb, 0., 0.);
	c->retry_w.data = c;
	ev_timer_init(&c->create_w, acp_create_timeout_cb, 0., 0.);
	c->create_w.data = c;
	ev_timer_init(&c->exit_wait_w, acp_client_start_exit_wait_cb,
	    ACP_EXIT_WAIT_MS / 1000.0, 0.);
	c->exit_wait_w.data = c;
	ev_timer_init(&c->close_drain_w, acp_close_drain_cb, 0., 0.);
	c->close_drain_w.data = c;
	return (c);
}

void
acp_client_free(struct acp_client *c)
{
	if (c == NULL)
		return;
	ev_timer_stop(c->loop, &c->retry_w);
	ev_timer_stop(c->loop, &c->create_w);
	ev_timer_stop(c->loop, &c->exit_wait_w);
	ev_timer_stop(c->loop, &c->close_drain_w);
	c->flags |= ACP_CLOSING;
	client_term_free(c->terms);
	if (c->rpc != NULL)
		jsonrpc_free(c->rpc);
	if (c->child != NULL)
		spawn_free(c->child);
	json_decref(c->init_result);
	json_decref(c->prompt_blocks);
	json_decref(c->prompt_meta);
	acpx_error_free(c->pending_err);
	free(c->session_id);
	free(c->auth_method);
	free(c->cwd);
	free(c->load_id);
	free(c);
}

const struct acp_perm_stats *
acp_client_perm_stats(const struct acp_client *c)
{
	return (&c->stats);
}

const json_t *
acp_client_agent_caps(const struct acp_client *c)
{
	return (json_object_get(c->init_result, "agentCapabilities"));
}

const char *
acp_client_session_id(const struct acp_client *c)
{
	return (c->session_id);
}

/* ---------------------------------------------------- persistent sessions */

/* Use cwd instead of the options' (before start). */
void
acp_client_set_cwd(struct acp_client *c, const char *cwd)
{
	free(c->cwd);
	c->cwd = cwd != NULL ? xstrdup(cwd) : NULL;
}

static void
acp_session_load_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct acp_client	*c = arg;
	char			*id;

	if (c->flags & ACP_CLOSING)
		return;
	id = c->load_id;
	c->load_id = NULL;
	if (st != JSONRPC_RESULT) {
		free(id);
		acp_client_step_done(c, NULL, acp_client_request_error(c, st, error));
		return;
	}
	free(c->session_id);
	c->session_id = id;
	events_acp_session(c->load_method, id);
	acp_client_step_done(c, result, NULL);
}

static void
acp_session_attach(struct acp_client *c, const char *method,
    const char *session_id, acp_done_cb cb, void *arg)
{
	json_t	*params, *meta;

	acp_client_step_begin(c, STEP_REQUEST, cb, arg);
	free(c->load_id);
	c->load_id = xstrdup(session_id);
	c->load_method = method;
	params = json_pack("{s:s, s:s, s:O}", "sessionId", session_id, "cwd",
	    ACP_CWD(c), "mcpServers", c->opts->mcp_servers);
	/* Beyond the reference: a reloaded session keeps its isolation. */
	if ((meta = agent_compat_session_meta(c->opts->argv,
	    &c->opts->session)) != NULL)
		json_object_set_new(params, "_meta", meta);
	c->step_id = jsonrpc_request(c->rpc, method, params,
	    acp_session_load_cb, c);
}

/* session/load {sessionId, cwd, mcpServers}. */
void
acp_client_session_load(struct acp_client *c, const char *session_id,
    acp_done_cb cb, void *arg)
{
	acp_session_attach(c, "session/load", session_id, cb, arg);
}

/* session/resume {sessionId, cwd, mcpServers}. */
void
acp_client_session_resume(struct acp_client *c, const char *session_id,
    acp_done_cb cb, void *arg)
{
	acp_session_attach(c, "session/resume", session_id, cb, arg);
}

/* session/list {cwd?, cursor?}. */
void
acp_client_session_list(struct acp_client *c, const char *cwd,
    const char *cursor, acp_done_cb cb, void *arg)
{
	json_t	*params = json_object();

	if (cwd != NULL)
		json_object_set_new(params, "cwd", json_string(cwd));
	if (cursor != NULL)
		json_object_set_new(params, "cursor", json_string(cursor));
	acp_client_step_begin(c, STEP_REQUEST, cb, arg);
	c->step_id = jsonrpc_request(c->rpc, "session/list", params,
	    acp_plain_cb, c);
}

/* session/close {sessionId} for the active session. */
void
acp_client_session_close(struct acp_client *c, acp_done_cb cb, void *arg)
{
	acp_client_step_begin(c, STEP_REQUEST, cb, arg);
	c->step_id = jsonrpc_request(c->rpc, "session/close",
	    json_pack("{s:s?}", "sessionId", c->session_id), acp_plain_cb, c);
}

/* session/set_mode {sessionId, modeId}. */
void
acp_client_set_mode(struct acp_client *c, const char *mode_id, acp_done_cb cb,
    void *arg)
{
	acp_client_step_begin(c, STEP_REQUEST, cb, arg);
	c->step_id = jsonrpc_request(c->rpc, "session/set_mode",
	    json_pack("{s:s?, s:s}", "sessionId", c->session_id, "modeId",
	    mode_id), acp_plain_cb, c);
}

/* Drop session/update notifications before the tap while on. */
void
acp_client_suppress_updates(struct acp_client *c, int on)
{
	c->suppress_updates = on;
}

double
acp_client_last_update(const struct acp_client *c)
{
	return (c->last_update);
}

double
acp_client_quiet_left(const struct acp_client *c, double start, double idle,
    double limit, double now)
{
	double	since = c != NULL && c->last_update > start ? c->last_update :
		    start, left = since + idle - now;

	return (left < start + limit - now ? left : start + limit - now);
}

int
acp_client_answers_late(const struct acp_client *c)
{
	return (agent_compat_answers_late(c->opts->argv));
}

const json_t *
acp_client_init_result(const struct acp_client *c)
{
	return (c->init_result);
}

pid_t
acp_client_pid(const struct acp_client *c)
{
	return (c->child != NULL ? spawn_pid(c->child) : 0);
}

int
acp_client_exited(const struct acp_client *c, int *status)
{
	if (!(c->flags & ACP_EXITED))
		return (0);
	if (status != NULL)
		*status = c->exit_status;
	return (1);
}

int
acp_client_running(const struct acp_client *c)
{
	return ((c->flags & ACP_INITIALIZED) && !(c->flags & (ACP_DISCONNECTED |
	    ACP_CLOSING | ACP_EXITED)));
}

void
acp_client_pause(struct acp_client *c, int on)
{
	if (c->rpc != NULL)
		jsonrpc_pause(c->rpc, on);
}

long long
acp_client_last_request_id(const struct acp_client *c)
{
	return (c->step_id);
}

const struct acp_client_opts *
acp_client_opts(const struct acp_client *c)
{
	return (c->opts);
}

/* The agent's stderr tail with the launch's secrets redacted. Caller owns. */
char *
acp_client_stderr_text(const struct acp_client *c)
{
	return (secrets_redact_values(c->child != NULL ?
	    spawn_stderr_tail(c->child) : "", c->opts->redact));
}

/* Forget the callback of the pending step if it was given arg. */
void
acp_client_abandon(struct acp_client *c, void *arg)
{
	if (c->step_arg == arg && arg != NULL) {
		c->step_cb = NULL;
		c->step_arg = NULL;
	}
}

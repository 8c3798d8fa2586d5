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
#include "acpx.h"
#include "agent-compat.h"
#include "auth-env.h"
#include "cli.h"
#include "cmdline.h"
#include "config-file.h"
#include "client-fs.h"
#include "client-term.h"
#include "error.h"
#include "js.h"
#include "json-util.h"
#include "jsonrpc.h"
#include "permission.h"
#include "spawn.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * One ACP agent connection: spawn, initialize (+authenticate), session/new,
 * session/prompt, session/cancel, and the agent's requests to us. Every
 * step is asynchronous and completes through an acp_done_cb; the caller
 * owns the order of steps. Errors are built here as struct acpx_error and
 * handed to the step's callback, never printed.
 */

#define ACP_DEFAULT_MAX_MESSAGE	(64ULL * 1024 * 1024)
#define ACP_TERM_GRACE_MS	1500
#define ACP_CLOSE_DRAIN_MS	100	/* output after the agent's exit */
#define ACP_EXIT_WAIT_MS	250	/* wait for exit status after stdout EOF */

/* The session directory: acp_client_set_cwd()'s, else the invocation's. */
#define ACP_CWD(c)	((c)->cwd != NULL ? (c)->cwd : (c)->inv->cwd)

enum acp_step {
	STEP_NONE = 0,
	STEP_START,
	STEP_REQUEST,		/* session/new, set_config_option, ... */
	STEP_PROMPT,
	STEP_CLOSE
};

struct acp_client {
	struct ev_loop		*loop;
	const struct invocation	*inv;
	struct acp_client_events ev;
	void			*ev_arg;

	struct child		*child;
	struct jsonrpc		*rpc;
	struct client_term	*terms;		/* the agent's terminals */
	json_t			*init_result;
	char			*session_id;
	struct acp_perm_stats	 stats;

	/* The step in progress and whom to tell. */
	enum acp_step		 step;
	acp_done_cb		 step_cb;
	void			*step_arg;
	long long		 step_id;	/* request id of the step */
	json_t			*prompt_blocks;	/* for retries */
	int			 prompt_attempt;
	int			 side_effects;	/* updates/client ops during a prompt */
	ev_timer		 retry_w;

	/* Claude's adapter: session/new must answer within this (timed_out once it did not). */
	ev_timer		 create_w;
	int			 create_timed_out;

	/* Startup failure: wait briefly for the exit status after EOF. */
	ev_timer		 exit_wait_w;
	/* Closing, the agent exited: wait briefly for the rest of its output. */
	ev_timer		 close_drain_w;
	struct acpx_error	*pending_err;

	int			 flags;
#define ACP_INITIALIZED		0x1
#define ACP_DISCONNECTED	0x2
#define ACP_CLOSING		0x4
#define ACP_EXITED		0x8
#define ACP_CANCELLING		0x10	/* session/cancel sent for this turn */
	int			 exit_status;
	size_t			 max_message;	/* ACPX_MAX_ACP_MESSAGE_BYTES */
	char			*cwd;		/* acp_client_set_cwd(), or NULL */
	int			 suppress_updates;
	double			 last_update;	/* ev_now() of the last session/update */
	char			*load_id;	/* session/load|resume in flight */
	char			*auth_method;	/* the method we authenticate with */
	const char		*auth_source;	/* "env" or "config" */
};

static void	acp_step_done(struct acp_client *, const json_t *,
		    struct acpx_error *);

static void
acp_log(struct acp_client *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
acp_log(struct acp_client *c, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	if (!c->inv->verbose || c->ev.log == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	c->ev.log(c, line, c->ev_arg);
	free(line);
}

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
	tail = warp_launch_redact(raw);	/* a harness may echo its key */
	free(raw);
	err = acpx_error_new(ACPX_CODE_RUNTIME, "AGENT_STARTUP_FAILED", "acp",
	    "ACP agent exited before initialize completed (exit=%s, "
	    "signal=%s)%s%s", code, sig, *tail != '\0' ? ": " : "", tail);
	free(tail);
	return (err);
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

/* ---------------------------------------------------------------- wire */

static void
acp_tap_cb(struct jsonrpc *rpc, const json_t *msg, int outbound, void *arg)
{
	struct acp_client	*c = arg;

	/* Replayed history during session/load: neither rendered nor journaled. */
	if (c->suppress_updates && !outbound && json_object_get(msg, "id") ==
	    NULL && json_str(msg, "method") != NULL &&
	    strcmp(json_str(msg, "method"), "session/update") == 0) {
		c->last_update = ev_now(c->loop);
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
	if (c->inv->json_strict || strcmp(why, JSONRPC_NOISE_NOT_OBJECT) == 0 ||
	    agent_benign_line(c->inv->agent.argv, line, len))
		return;
	fprintf(stderr, "Failed to parse JSON message: %.*s %s\n", (int)len,
	    line, why);
}

static void
acp_diag_cb(struct jsonrpc *rpc, const char *text, void *arg)
{
	struct acp_client	*c = arg;

	if (!c->inv->json_strict)
		fprintf(stderr, "%s\n", text);
}

static void
acp_notify_cb(struct jsonrpc *rpc, const char *method, const json_t *params,
    void *arg)
{
	struct acp_client	*c = arg;

	if (strcmp(method, "session/update") == 0)
		c->last_update = ev_now(c->loop);
	if (strcmp(method, "session/update") == 0 && c->step == STEP_PROMPT)
		c->side_effects = 1;
}

/* Ask on the TTY (stdin) whether to allow; blocking read of one line. */
static int
acp_tty_ask(const char *prompt)
{
	char	buf[64];
	size_t	n = 0;
	ssize_t	r;
	char	ch;

	/*
	 * XXX: a blocking read of the user's answer. The turn cannot make
	 * progress until the user answers, and only exec on a TTY asks.
	 */
	fputs(prompt, stderr);
	fflush(stderr);
	while ((r = read(STDIN_FILENO, &ch, 1)) == 1 && ch != '\n') {
		if (n < sizeof buf - 1)
			buf[n++] = ch;
	}
	buf[n] = '\0';
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = '\0';
	return (strcasecmp(buf, "y") == 0 || strcasecmp(buf, "yes") == 0);
}

static int
acp_is_codex(struct acp_client *c)
{
	const char	*name = json_str(json_object_get(c->init_result,
	    "agentInfo"), "name");

	return (name != NULL && strcmp(name, "@agentclientprotocol/codex-acp") == 0);
}

static void
acp_handle_permission(struct acp_client *c, const json_t *id,
    const json_t *params)
{
	struct perm_decision	 d;
	json_t			*resp, *codex = NULL, *meta, *acpx;
	const json_t		*req = params;
	char			*now;
	const char		*cls, *notice = NULL;
	int			 allow = 0, can_prompt;

	if (c->flags & ACP_CANCELLING) {
		/* A request that arrives after session/cancel is cancelled. */
		resp = json_pack("{s:{s:s}}", "outcome", "outcome", "cancelled");
		c->stats.requested++;
		c->stats.cancelled++;
		jsonrpc_reply(c->rpc, id, resp);
		return;
	}
	if (acp_is_codex(c) && (codex = permission_codex_prefer(params)) != NULL)
		req = codex;
	now = js_iso_now();
	can_prompt = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	permission_decide(req, c->inv->perm_mode, c->inv->nonint,
	    c->inv->permission_policy, can_prompt, now, &d);
	free(now);
	if (d.action == PERM_ASK)
		allow = acp_tty_ask(d.prompt);
	resp = permission_response(&d, allow);
	if (acp_is_codex(c) &&
	    (notice = permission_codex_notice(params, resp)) != NULL) {
		if ((meta = json_object_get(resp, "_meta")) == NULL) {
			meta = json_object();
			json_object_set_new(resp, "_meta", meta);
		}
		if ((acpx = json_object_get(meta, "acpx")) == NULL) {
			acpx = json_object();
			json_object_set_new(meta, "acpx", acpx);
		}
		json_object_set_new(acpx, "permissionNotice", json_string(notice));
	}
	c->stats.requested++;
	if (d.action == PERM_UNAVAILABLE) {
		c->stats.cancelled++;
		c->stats.prompt_unavailable = 1;
	} else {
		cls = permission_classify(params, resp);
		if (strcmp(cls, "approved") == 0)
			c->stats.approved++;
		else if (strcmp(cls, "denied") == 0)
			c->stats.denied++;
		else
			c->stats.cancelled++;
	}
	permission_decision_clear(&d);
	json_decref(codex);
	jsonrpc_reply(c->rpc, id, resp);
}

/* fs and terminal denials count as permission decisions (exit code 5). */
static void
acp_count_perm(struct acp_client *c, enum client_fs_perm perm)
{
	if (perm == CLIENT_FS_PERM_NONE)
		return;
	c->stats.requested++;
	if (perm == CLIENT_FS_PERM_DENIED)
		c->stats.denied++;
	else {
		c->stats.cancelled++;
		c->stats.prompt_unavailable = 1;
	}
}

/* fs write prompt: header and details first, as the reference prints them. */
static int
acp_fs_ask(const char *header, const char *details, const char *question)
{
	if (header != NULL)
		fprintf(stderr, "\n%s\n", header);
	if (details != NULL && strspn(details, " \t\r\n") != strlen(details))
		fprintf(stderr, "%s\n", details);
	return (acp_tty_ask(question));
}

/* Permission settings for fs and terminal requests. */
static void
acp_perm_opts(struct acp_client *c, struct client_fs_opts *o)
{
	memset(o, 0, sizeof *o);
	o->cwd = ACP_CWD(c);
	o->mode = c->inv->perm_mode;
	o->nonint = c->inv->nonint;
	o->can_prompt = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
	o->ask = acp_fs_ask;
}

/*
 * Answer an agent request with a result or a JSON-RPC error object (both
 * stolen), now or later (terminals); dropped if the connection is gone.
 */
static void
acp_term_reply_cb(void *arg, const json_t *id, json_t *result, json_t *error)
{
	struct acp_client	*c = arg;

	if (c->rpc == NULL || (c->flags & ACP_DISCONNECTED)) {
		json_decref(result);
		json_decref(error);
		return;
	}
	if (result != NULL)
		jsonrpc_reply(c->rpc, id, result);
	else {
		jsonrpc_reply_error(c->rpc, id,
		    (int)json_integer_value(json_object_get(error, "code")),
		    json_string_value(json_object_get(error, "message")),
		    json_incref(json_object_get(error, "data")));
		json_decref(error);
	}
}

static void
acp_handle_fs(struct acp_client *c, const json_t *id, const char *method,
    const json_t *params)
{
	struct client_fs_opts	 o;
	enum client_fs_perm	 perm;
	json_t			*res, *error;

	acp_perm_opts(c, &o);
	if (strcmp(method, "fs/read_text_file") == 0)
		res = client_fs_read(&o, params, &error, &perm);
	else
		res = client_fs_write(&o, params, &error, &perm);
	acp_count_perm(c, perm);
	acp_term_reply_cb(c, id, res, error);
}

static void
acp_handle_term(struct acp_client *c, const json_t *id, const char *method,
    const json_t *params)
{
	struct client_fs_opts	 o;
	enum client_fs_perm	 perm;

	acp_perm_opts(c, &o);
	if (c->terms == NULL)
		c->terms = client_term_create(c->loop, ACP_CWD(c),
		    acp_term_reply_cb, c);
	client_term_request(c->terms, method, id, params, &o, &perm);
	acp_count_perm(c, perm);
}

static void
acp_reply_not_found(struct acp_client *c, const json_t *id, const char *method)
{
	char	*msg;

	xasprintf(&msg, "\"Method not found\": %s", method);
	jsonrpc_reply_error(c->rpc, id, -32601, msg,
	    json_pack("{s:s}", "method", method));
	free(msg);
}

static void
acp_request_cb(struct jsonrpc *rpc, const json_t *id, const char *method,
    const json_t *params, void *arg)
{
	struct acp_client	*c = arg;

	if (c->step == STEP_PROMPT)
		c->side_effects = 1;
	if (strcmp(method, "session/request_permission") == 0)
		acp_handle_permission(c, id, params);
	else if (!c->inv->no_fs && (strcmp(method, "fs/read_text_file") == 0 ||
	    strcmp(method, "fs/write_text_file") == 0))
		acp_handle_fs(c, id, method, params);
	else if (!c->inv->no_terminal && client_term_handles(method))
		acp_handle_term(c, id, method, params);
	else if (strcmp(method, "_cognition.ai/request_diagnostics") == 0 &&
	    agent_is_devin_acp(c->inv->agent.argv))
		jsonrpc_reply(c->rpc, id, json_object());	/* as the reference */
	else
		acp_reply_not_found(c, id, method);
}

static void
acp_exit_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct acp_client	*c = w->data;
	struct acpx_error	*err;

	ev_timer_stop(loop, w);
	if ((err = c->pending_err) == NULL)
		err = startup_failed_error(c);
	c->pending_err = NULL;
	acp_step_done(c, NULL, err);
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
		acp_step_done(c, NULL, NULL);
	}
}

/* ---------------------------------------------------------------- steps */

static void
acp_step_begin(struct acp_client *c, enum acp_step step, acp_done_cb cb,
    void *arg)
{
	c->step = step;
	c->step_cb = cb;
	c->step_arg = arg;
}

static void
acp_step_done(struct acp_client *c, const json_t *result,
    struct acpx_error *err)
{
	acp_done_cb	 cb = c->step_cb;
	void		*arg = c->step_arg;

	c->step = STEP_NONE;
	c->step_cb = NULL;
	c->step_arg = NULL;
	if (cb != NULL)
		cb(c, result, err, arg);
	acpx_error_free(err);
}

/* ACP_MESSAGE_TOO_LARGE if the connection closed over a long line, else NULL. */
static struct acpx_error *
acp_too_large_error(struct acp_client *c)
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
static struct acpx_error *
acp_request_error(struct acp_client *c, enum jsonrpc_status st,
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
	if ((err = acp_too_large_error(c)) != NULL)
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
static void
acp_close_exited(struct acp_client *c)
{
	if (c->rpc == NULL || jsonrpc_closed(c->rpc, NULL)) {
		acp_step_done(c, NULL, NULL);
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
		acp_step_done(c, NULL, NULL);
}

static void
acp_child_exit_cb(struct child *child, int status, void *arg)
{
	struct acp_client	*c = arg;

	c->flags |= ACP_EXITED;
	c->exit_status = status;
	if (c->step == STEP_START && ev_is_active(&c->exit_wait_w)) {
		ev_timer_stop(c->loop, &c->exit_wait_w);
		acp_exit_wait_cb(c->loop, &c->exit_wait_w, 0);
	} else if (c->step == STEP_CLOSE)
		acp_close_exited(c);
}

/* initialize (and authenticate) done: the start step completes. */
static void
acp_initialized(struct acp_client *c)
{
	c->flags |= ACP_INITIALIZED;
	acp_log(c, "initialized protocol version %lld", json_integer_value(
	    json_object_get(c->init_result, "protocolVersion")));
	acp_step_done(c, c->init_result, NULL);
}

/* The config's auth map (borrowed), or NULL. */
static const json_t *
acp_auth_config(struct acp_client *c)
{
	return (c->inv->config != NULL ? c->inv->config->auth : NULL);
}

static void
acp_authenticate_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct acp_client	*c = arg;

	if (c->flags & ACP_CLOSING)
		return;

	if (st != JSONRPC_RESULT) {
		acp_step_done(c, NULL, acp_request_error(c, st, error));
		return;
	}
	acp_log(c, "authenticated with method %s (%s)", c->auth_method,
	    c->auth_source);
	acp_initialized(c);
}

static void
acp_initialize_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct acp_client	*c = arg;
	const json_t		*methods, *m;
	const char		*id, *chosen = NULL, *src = NULL;
	char			*list = NULL, *tmp;
	size_t			 i;
	struct acpx_error	*err;

	if (c->flags & ACP_CLOSING)
		return;
	if (st == JSONRPC_CLOSED && (err = acp_too_large_error(c)) != NULL) {
		acp_step_done(c, NULL, err);
		return;
	}
	if (st == JSONRPC_CLOSED) {
		/* Wait for the exit status to name it in the message. */
		if (c->flags & ACP_EXITED)
			acp_exit_wait_cb(c->loop, &c->exit_wait_w, 0);
		else
			ev_timer_start(c->loop, &c->exit_wait_w);
		return;
	}
	if (st == JSONRPC_ERROR) {
		acp_step_done(c, NULL, acp_request_error(c, st, error));
		return;
	}
	c->init_result = json_deep_copy(result);

	methods = json_object_get(result, "authMethods");
	json_array_foreach(methods, i, m) {
		if ((id = json_str(m, "id")) == NULL)
			continue;
		if ((src = auth_env_source(id, acp_auth_config(c))) != NULL) {
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
		if (c->inv->auth_policy == ACPX_AUTH_FAIL) {
			err = acpx_error_new(ACPX_CODE_RUNTIME,
			    "AUTH_REQUIRED", "acp", "agent advertised auth methods "
			    "[%s] but no matching credentials found", list);

			free(list);
			acp_step_done(c, NULL, err);
			return;
		}
		acp_log(c, "agent advertised auth methods [%s] but no matching "
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
	struct child_opts	 opts;
	struct jsonrpc_callbacks rcb;
	const struct invocation	*inv = c->inv;
	int			 err_no = 0, in_fd, out_fd;
	char			*cause = NULL, **a, **launch;
	size_t			 max;
	unsigned long long	 ceiling;
	json_t			*caps;
	char			**envp;
	struct acpx_error	*err;

	acp_step_begin(c, STEP_START, cb, arg);
	if (acp_max_message(&max, &cause) == -1 ||
	    client_term_ceiling(&ceiling, &cause) == -1) {
		err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, NULL, "%s", cause);
		free(cause);
		acp_step_done(c, NULL, err);
		return;
	}
	/* Qoder takes --max-turns/--allowed-tools as spawn arguments. */
	if ((launch = agent_launch_argv(inv)) == NULL)
		launch = cmdline_copy(inv->agent.argv);
	if (inv->verbose) {
		char *line = xstrdup(""), *tmp;

		/* "<command> <args joined>", as the reference logs it. */
		for (a = launch + 1; *a != NULL; a++) {
			xasprintf(&tmp, "%s%s%s", line, *line != '\0' ? " " : "", *a);
			free(line);
			line = tmp;
		}
		acp_log(c, "spawning agent: %s %s", launch[0], line);
		free(line);
	}

	memset(&opts, 0, sizeof opts);
	envp = auth_env_build(acp_auth_config(c));
	opts.envp = envp;
	opts.argv = launch;
	opts.cwd = ACP_CWD(c);
	opts.stderr_mode = inv->verbose ? CHILD_STDERR_PASS : CHILD_STDERR_KEEP;
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
			    "configured argv.", inv->agent.command);
		else
			err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "acp",
			    "Failed to spawn agent command: %s: %s",
			    inv->agent.command, cause != NULL ? cause : "error");
		free(cause);
		acp_step_done(c, NULL, err);
		return;
	}
	spawn_take_fds(c->child, &in_fd, &out_fd);
	c->max_message = max;

	memset(&rcb, 0, sizeof rcb);
	rcb.request = acp_request_cb;
	rcb.notify = acp_notify_cb;
	rcb.tap = acp_tap_cb;
	rcb.noise = acp_noise_cb;
	rcb.closed = acp_closed_cb;
	rcb.diag = acp_diag_cb;
	c->rpc = jsonrpc_create(c->loop, out_fd, in_fd, max, &rcb, c);

	caps = json_pack("{s:{s:b, s:b}, s:b}", "fs", "readTextFile", !inv->no_fs,
	    "writeTextFile", !inv->no_fs, "terminal", !inv->no_terminal);
	agent_client_caps(inv->agent.argv, caps);
	c->step_id = jsonrpc_request(c->rpc, "initialize",
	    json_pack("{s:i, s:o, s:o}", "protocolVersion", 1,
	    "clientCapabilities", caps, "clientInfo",
	    agent_client_info(inv->agent.argv)), acp_initialize_cb, c);
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
		acp_step_done(c, NULL, acp_request_error(c, st, error));
		return;
	}
	if ((sid = json_str(result, "sessionId")) == NULL) {
		acp_step_done(c, NULL, acpx_error_new(ACPX_CODE_RUNTIME, NULL,
		    "acp", "Agent returned no sessionId from session/new"));
		return;
	}
	free(c->session_id);
	c->session_id = xstrdup(sid);
	acp_step_done(c, result, NULL);
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
	acp_step_done(c, NULL, err);
}

/* session/new in the invocation's cwd. */
void
acp_client_session_new(struct acp_client *c, acp_done_cb cb, void *arg)
{
	json_t	*params, *meta;

	acp_step_begin(c, STEP_REQUEST, cb, arg);
	c->create_timed_out = 0;
	if (agent_is_claude_acp(c->inv->agent.argv)) {
		ev_timer_set(&c->create_w, acp_claude_create_timeout(), 0.);
		ev_timer_start(c->loop, &c->create_w);
	}
	params = json_pack("{s:s, s:O}", "cwd", ACP_CWD(c), "mcpServers",
	    c->inv->mcp_servers);
	if ((meta = agent_session_meta(c->inv)) != NULL)
		json_object_set_new(params, "_meta", meta);
	c->step_id = jsonrpc_request(c->rpc, "session/new", params,
	    acp_session_new_cb, c);
}

static void
acp_plain_cb(struct jsonrpc *rpc, enum jsonrpc_status st, const json_t *result,
    const json_t *error, void *arg)
{
	struct acp_client	*c = arg;

	if (c->flags & ACP_CLOSING)
		return;

	if (st != JSONRPC_RESULT) {
		acp_step_done(c, NULL, acp_request_error(c, st, error));
		return;
	}
	acp_step_done(c, result, NULL);
}

/* session/set_config_option {configId, value} for the active session. */
void
acp_client_set_config_option(struct acp_client *c, const char *key,
    const char *value, acp_done_cb cb, void *arg)
{
	acp_step_begin(c, STEP_REQUEST, cb, arg);
	c->step_id = jsonrpc_request(c->rpc, "session/set_config_option",
	    json_pack("{s:s, s:s, s:s}", "sessionId", c->session_id, "configId",
	    key, "value", value), acp_plain_cb, c);
}

/* session/set_model {sessionId, modelId} (legacy model switch). */
void
acp_client_set_model(struct acp_client *c, const char *model, acp_done_cb cb,
    void *arg)
{
	acp_step_begin(c, STEP_REQUEST, cb, arg);
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
	    c->prompt_attempt < c->inv->prompt_retries &&
	    !(c->flags & ACP_CLOSING)) {
		delay_ms = c->prompt_attempt < 4 ? 1000 << c->prompt_attempt :
		    10000;
		if (delay_ms > 10000)
			delay_ms = 10000;
		c->prompt_attempt++;
		/* suppressSdkConsoleErrors: --json-strict or quiet. */
		if (!c->inv->json_strict && c->inv->format != ACPX_FORMAT_QUIET)
			fprintf(stderr, "[acpx] prompt failed (%s), retrying in "
			    "%dms (attempt %d/%d)\n", json_string_value(
			    json_object_get(error, "message")), delay_ms,
			    c->prompt_attempt, c->inv->prompt_retries);
		ev_timer_set(&c->retry_w, delay_ms / 1000.0, 0.);
		ev_timer_start(c->loop, &c->retry_w);
		return;
	}
	json_decref(c->prompt_blocks);
	c->prompt_blocks = NULL;
	if (st != JSONRPC_RESULT) {
		acp_step_done(c, NULL, acp_request_error(c, st, error));
		return;
	}
	acp_step_done(c, result, NULL);
}

static void
acp_send_prompt(struct acp_client *c)
{
	c->side_effects = 0;
	c->step_id = jsonrpc_request(c->rpc, "session/prompt",
	    json_pack("{s:s, s:O}", "sessionId", c->session_id, "prompt",
	    c->prompt_blocks), acp_prompt_cb, c);
}

/* session/prompt with content blocks (borrowed). */
void
acp_client_prompt(struct acp_client *c, const json_t *blocks, acp_done_cb cb,
    void *arg)
{
	acp_step_begin(c, STEP_PROMPT, cb, arg);
	memset(&c->stats, 0, sizeof c->stats);
	c->flags &= ~ACP_CANCELLING;
	c->prompt_attempt = 0;
	c->prompt_blocks = json_incref((json_t *)blocks);
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
	acp_step_begin(c, STEP_CLOSE, cb, arg);
	client_term_free(c->terms);
	c->terms = NULL;
	if (c->rpc != NULL)
		jsonrpc_shutdown_write(c->rpc);
	if (c->child == NULL) {
		acp_step_done(c, NULL, NULL);
		return;
	}
	if (c->flags & ACP_EXITED) {
		acp_close_exited(c);
		return;
	}
	spawn_terminate(c->child, -1, agent_stdin_grace_ms(c->inv->agent.argv),
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
acp_client_create(struct ev_loop *loop, const struct invocation *inv,
    const struct acp_client_events *ev, void *arg)
{
	struct acp_client	*c;

	c = xcalloc(1, sizeof *c);
	c->loop = loop;
	c->inv = inv;
	if (ev != NULL)
		c->ev = *ev;
	c->ev_arg = arg;
	ev_timer_init(&c->retry_w, acp_retry_cb, 0., 0.);
	c->retry_w.data = c;
	ev_timer_init(&c->create_w, acp_create_timeout_cb, 0., 0.);
	c->create_w.data = c;
	ev_timer_init(&c->exit_wait_w, acp_exit_wait_cb,
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

/* Use cwd instead of the invocation's (before start). */
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
		acp_step_done(c, NULL, acp_request_error(c, st, error));
		return;
	}
	free(c->session_id);
	c->session_id = id;
	acp_step_done(c, result, NULL);
}

static void
acp_session_attach(struct acp_client *c, const char *method,
    const char *session_id, acp_done_cb cb, void *arg)
{
	json_t	*params, *meta;

	acp_step_begin(c, STEP_REQUEST, cb, arg);
	free(c->load_id);
	c->load_id = xstrdup(session_id);
	params = json_pack("{s:s, s:s, s:O}", "sessionId", session_id, "cwd",
	    ACP_CWD(c), "mcpServers", c->inv->mcp_servers);
	/* Beyond the reference: a reloaded session keeps its isolation. */
	if ((meta = agent_session_meta(c->inv)) != NULL)
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
	acp_step_begin(c, STEP_REQUEST, cb, arg);
	c->step_id = jsonrpc_request(c->rpc, "session/list", params,
	    acp_plain_cb, c);
}

/* session/close {sessionId} for the active session. */
void
acp_client_session_close(struct acp_client *c, acp_done_cb cb, void *arg)
{
	acp_step_begin(c, STEP_REQUEST, cb, arg);
	c->step_id = jsonrpc_request(c->rpc, "session/close",
	    json_pack("{s:s?}", "sessionId", c->session_id), acp_plain_cb, c);
}

/* session/set_mode {sessionId, modeId}. */
void
acp_client_set_mode(struct acp_client *c, const char *mode_id, acp_done_cb cb,
    void *arg)
{
	acp_step_begin(c, STEP_REQUEST, cb, arg);
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
	return (agent_answers_late(c->inv->agent.argv));
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

long long
acp_client_last_request_id(const struct acp_client *c)
{
	return (c->step_id);
}

const struct invocation *
acp_client_invocation(const struct acp_client *c)
{
	return (c->inv);
}

/* The agent's stderr tail with warp secrets redacted. Caller owns. */
char *
acp_client_stderr_text(const struct acp_client *c)
{
	return (warp_launch_redact(c->child != NULL ?
	    spawn_stderr_tail(c->child) : ""));
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

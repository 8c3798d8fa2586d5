#include <config.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>

#include "agent-registry.h"
#include "config-file.h"
#include "acpx-error.h"
#include "events.h"
#include "jget.h"
#include "jsonrpc.h"
#include "proc.h"
#include "reaper.h"
#include "secrets.h"
#include "warp-serve-impl.h"
#include "xmalloc.h"

/*
 * The client side of the proxy: our stdin/stdout as an ACP agent. Every
 * request of the client is answered exactly once: forwarded to the
 * harness that serves its session (ids mapped: the harness sees our own
 * ids, the client gets its own back), or answered here (initialize,
 * session/new, session/load, session/resume, session/prompt go through
 * the session and turn logic; bad input gets a JSON-RPC error).
 * Notifications of the client go to the harness with the session id
 * mapped. The harness is talked to with jsonrpc directly rather than
 * through acp-client: the proxy forwards the client's own initialize,
 * requests and answers verbatim, which the client engine, built to
 * answer the agent itself, would have to be taken apart for.
 */

void
warp_serve_log(struct ws *ws, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;

	if (!ws->opts->verbose)
		return;
	va_start(ap, fmt);
	xvasprintf(&line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "[acpx] warp serve: %s\n", line);
	free(line);
}

/* ------------------------------------------------------------ answers */

static char *
ws_cid_key(const json_t *cid)
{
	char	*k = json_dumps(cid, JSON_ENCODE_ANY|JSON_COMPACT);

	return (k != NULL ? k : xstrdup("?"));
}

static void
ws_cid_done(struct ws *ws, const json_t *cid)
{
	char	*k = ws_cid_key(cid);

	json_object_del(ws->cids, k);
	free(k);
}

void
warp_serve_reply(struct ws *ws, const json_t *cid, json_t *result)
{
	ws_cid_done(ws, cid);
	if (ws->client != NULL)
		jsonrpc_reply(ws->client, cid, result);
	else
		json_decref(result);
}

void
warp_serve_reply_error(struct ws *ws, const json_t *cid, int code, const char *message,
    json_t *data)
{
	ws_cid_done(ws, cid);
	if (ws->client != NULL)
		jsonrpc_reply_error(ws->client, cid, code, message, data);
	else
		json_decref(data);
}

/* text with every harness's secrets hidden. Caller owns. */
static char *
ws_redact(struct ws *ws, const char *text)
{
	struct ws_up	*up;
	char		*out = xstrdup(text), *tmp;

	for (up = ws->ups; up != NULL; up = up->next) {
		if (up->launch.secrets == NULL)
			continue;
		tmp = secrets_redact_values(out, up->launch.secrets);
		free(out);
		out = tmp;
	}
	return (out);
}

/*
 * The harness's answer (or its disconnection) as the client's answer; a
 * harness may quote its provider's key in an error: hidden.
 */
void
warp_serve_reply_rpc_error(struct ws *ws, const json_t *cid,
    enum jsonrpc_status st, const json_t *error)
{
	const json_t	*code = json_object_get(error, "code");
	char		*msg, *data, *red;
	json_t		*d = NULL;
	json_error_t	 e;

	if (st != JSONRPC_ERROR) {
		warp_serve_reply_error(ws, cid, WS_RPC_INTERNAL, "Internal error",
		    json_pack("{s:s, s:s}", "details", "the ACP agent "
		    "disconnected", "acpxCode", "RUNTIME"));
		return;
	}
	msg = ws_redact(ws, jget_str(error, "message") != NULL ?
	    jget_str(error, "message") : "Internal error");
	if (json_object_get(error, "data") != NULL &&
	    (data = json_dumps(json_object_get(error, "data"),
	    JSON_ENCODE_ANY|JSON_COMPACT)) != NULL) {
		red = ws_redact(ws, data);
		d = json_loads(red, JSON_DECODE_ANY, &e);
		free(red);
		free(data);
	}
	warp_serve_reply_error(ws, cid, json_is_integer(code) ?
	    (int)json_integer_value(code) : WS_RPC_INTERNAL, msg, d);
	free(msg);
}

/* An acpx error as the client's answer; extra keys (taken) join data. */
void
warp_serve_reply_acpx_error(struct ws *ws, const json_t *cid,
    const struct acpx_error *err, json_t *extra)
{
	json_t	*data;

	data = json_pack("{s:s}", "acpxCode", acpx_error_code_name(err->code));
	if (err->detail_code != NULL)
		json_object_set_new(data, "detailCode",
		    json_string(err->detail_code));
	if (err->origin != NULL)
		json_object_set_new(data, "origin", json_string(err->origin));
	if (extra != NULL) {
		json_object_update(data, extra);
		json_decref(extra);
	}
	warp_serve_reply_error(ws, cid, acpx_error_code_rpc(err->code), err->message, data);
}

void
warp_serve_notify_client(struct ws *ws, const char *method, json_t *params)
{
	if (ws->client != NULL && !ws->closing)
		jsonrpc_notify(ws->client, method, params);
	else
		json_decref(params);
}

/* ------------------------------------------------------------ forward */

static void
ws_fwd_free(struct ws_fwd *f)
{
	json_decref(f->cid);
	json_decref(f->params);
	free(f->method);
	free(f);
}

static void
ws_fwd_done(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct ws_fwd	*f = arg;
	struct ws	*ws = f->ws;
	const char	*m;

	if (st == JSONRPC_RESULT) {
		if (f->sess != NULL)
			warp_serve_sess_remember(f->sess, f->method, f->params, result);
		if (strcmp(f->method, "authenticate") == 0 &&
		    (m = jget_str(f->params, "methodId")) != NULL) {
			free(ws->auth_method);
			ws->auth_method = xstrdup(m);
		}
		warp_serve_reply(ws, f->cid, json_deep_copy(result));
	} else
		warp_serve_reply_rpc_error(ws, f->cid, st, error);
	ws_fwd_free(f);
}

/*
 * Forward a client request to up (the session's harness when sess is
 * given: its id mapped); the answer goes back under cid.
 */
void
warp_serve_forward(struct ws *ws, struct ws_sess *sess, struct ws_up *up,
    const json_t *cid, const char *method, const json_t *params)
{
	struct ws_fwd	*f;
	json_t		*p;

	if (!warp_serve_up_usable(up)) {
		warp_serve_reply_error(ws, cid, WS_RPC_INTERNAL, "Internal error",
		    json_pack("{s:s}", "details", "the ACP agent is not "
		    "running"));
		return;
	}
	f = xcalloc(1, sizeof *f);
	f->ws = ws;
	f->sess = sess;
	f->cid = json_deep_copy(cid);
	f->method = xstrdup(method);
	f->params = params != NULL ? json_deep_copy(params) : NULL;
	if (sess != NULL && sess->up_sid != NULL)
		p = warp_serve_sess_rewrite(params, sess->id, sess->up_sid);
	else
		p = params != NULL ? json_deep_copy(params) : NULL;
	warp_serve_up_request(up, method, p, ws_fwd_done, f);
}

/* ------------------------------------------------------------ initialize */

struct ws_pending {
	struct ws	*ws;
	json_t		*cid;
	char		*method;
	json_t		*params;
};

static struct ws_pending *
ws_pending_new(struct ws *ws, const json_t *cid, const char *method,
    const json_t *params)
{
	struct ws_pending	*p = xcalloc(1, sizeof *p);

	p->ws = ws;
	p->cid = json_deep_copy(cid);
	p->method = xstrdup(method);
	p->params = params != NULL ? json_deep_copy(params) : NULL;
	return (p);
}

static void
ws_pending_free(struct ws_pending *p)
{
	json_decref(p->cid);
	json_decref(p->params);
	free(p->method);
	free(p);
}

/* The initialize answer: the harness's, plus what the proxy honours. */
static json_t *
ws_init_answer(struct ws *ws, struct ws_up *up)
{
	json_t		*r = json_deep_copy(up->init_result), *caps, *sc, *info;
	const json_t	*hinfo = json_object_get(up->init_result, "agentInfo");
	char		*title;

	if (!json_is_object(r)) {
		json_decref(r);
		r = json_pack("{s:i}", "protocolVersion", 1);
	}
	if (!json_is_object(caps = json_object_get(r, "agentCapabilities"))) {
		caps = json_object();
		json_object_set_new(r, "agentCapabilities", caps);
	}
	/* The proxy gives a warp harness its provider: no other. */
	if (up->launch.endpoint != NULL)
		json_object_del(caps, "llmEndpoints");
	/* The proxy's session map honours both, whatever the harness does. */
	json_object_set_new(caps, "loadSession", json_true());
	if (!json_is_object(sc = json_object_get(caps, "sessionCapabilities"))) {
		sc = json_object();
		json_object_set_new(caps, "sessionCapabilities", sc);
	}
	if (!json_is_object(json_object_get(sc, "resume")))
		json_object_set_new(sc, "resume", json_object());
	xasprintf(&title, "acpx warp serve %s (%s)", up->agent,
	    jget_str(hinfo, "name") != NULL ? jget_str(hinfo, "name") :
	    "harness");
	info = json_pack("{s:s, s:s, s:s}", "name", "acpx", "title", title,
	    "version", PACKAGE_VERSION);
	free(title);
	json_object_set_new(r, "agentInfo", info);
	if (!json_is_object(json_object_get(r, "_meta")))
		json_object_set_new(r, "_meta", json_object());
	json_object_set_new(json_object_get(r, "_meta"), "acpx", json_pack(
	    "{s:s, s:s, s:O?}", "agent", ws->name, "serving", up->agent,
	    "harness", hinfo));
	return (r);
}

static void
ws_init_ready(struct ws_up *up, const struct acpx_error *err, void *arg)
{
	struct ws_pending	*p = arg;
	struct ws		*ws = p->ws;

	if (err != NULL) {
		warp_serve_reply_acpx_error(ws, p->cid, err, NULL);
		if (ws->primary == up)
			ws->primary = NULL;
	} else {
		ws->initialized = 1;
		warp_serve_reply(ws, p->cid, ws_init_answer(ws, up));
	}
	ws_pending_free(p);
}

static void
ws_initialize(struct ws *ws, const json_t *cid, const json_t *params)
{
	if (ws->initialized || ws->primary != NULL) {
		warp_serve_reply_error(ws, cid, WS_RPC_INVALID, "Invalid request",
		    json_pack("{s:s}", "details", "already initialized"));
		return;
	}
	json_decref(ws->init_params);
	ws->init_params = params != NULL ? json_deep_copy(params) :
	    json_object();
	/* The first agent of the chain that is not cooling down. */
	ws->primary = warp_serve_up_start(ws, ws->name, 1, NULL);
	warp_serve_up_when_ready(ws->primary, ws_init_ready,
	    ws_pending_new(ws, cid, "initialize", params));
}

/* The harness new sessions go to, started again if it died. */
static struct ws_up *
ws_primary(struct ws *ws)
{
	if (ws->primary == NULL || (ws->primary->state != WS_UP_STARTING &&
	    !warp_serve_up_usable(ws->primary)))
		ws->primary = warp_serve_up_start(ws, ws->name, 1, NULL);
	return (ws->primary);
}

static void
ws_primary_ready(struct ws_up *up, const struct acpx_error *err, void *arg)
{
	struct ws_pending	*p = arg;
	struct ws		*ws = p->ws;

	if (err != NULL)
		warp_serve_reply_acpx_error(ws, p->cid, err, NULL);
	else if (strcmp(p->method, "session/new") == 0)
		warp_serve_session_new(ws, p->cid, p->params);
	else
		warp_serve_forward(ws, NULL, up, p->cid, p->method, p->params);
	ws_pending_free(p);
}

/* --------------------------------------------------------------- dispatch */

static void
ws_sess_ready(struct ws_sess *s, const json_t *result,
    const struct acpx_error *err, void *arg)
{
	struct ws_pending	*p = arg;
	struct ws		*ws = p->ws;

	if (err != NULL)
		warp_serve_reply_acpx_error(ws, p->cid, err, NULL);
	else if (strcmp(p->method, "session/prompt") == 0)
		warp_serve_turn_prompt(ws, s, p->cid, p->params);
	else
		warp_serve_forward(ws, s, s->up, p->cid, p->method, p->params);
	ws_pending_free(p);
}

static void	ws_dispatch(struct ws *, const json_t *, const char *,
		    const json_t *);

static void
ws_after_init(struct ws_up *up, const struct acpx_error *err, void *arg)
{
	struct ws_pending	*p = arg;

	ws_dispatch(p->ws, p->cid, p->method, p->params);
	ws_pending_free(p);
}

static void
ws_client_request(struct jsonrpc *rpc, const json_t *id, const char *method,
    const json_t *params, void *arg)
{
	struct ws	*ws = arg;
	char		*k;
	json_t		*own;

	/* On a node, sessions run in our directory (warp-serve-node.c). */
	if ((own = warp_serve_node_params(ws, method, params)) != NULL) {
		ws_client_request(rpc, id, method, own, arg);
		json_decref(own);
		return;
	}
	if (ws->closing) {
		jsonrpc_reply_error(rpc, id, WS_RPC_INTERNAL, "Internal error",
		    json_pack("{s:s}", "details", "the proxy is closing"));
		return;
	}
	k = ws_cid_key(id);
	if (json_object_get(ws->cids, k) != NULL) {
		free(k);
		jsonrpc_reply_error(rpc, id, WS_RPC_INVALID, "Invalid request",
		    json_pack("{s:s}", "details", "duplicate request id: a "
		    "request with this id is still in flight"));
		return;
	}
	json_object_set_new(ws->cids, k, json_true());
	free(k);

	if (strcmp(method, "initialize") == 0) {
		ws_initialize(ws, id, params);
		return;
	}
	if (!ws->initialized && ws->primary != NULL &&
	    ws->primary->state == WS_UP_STARTING) {
		/* Sent before initialize was answered: after it. */
		warp_serve_up_when_ready(ws->primary, ws_after_init,
		    ws_pending_new(ws, id, method, params));
		return;
	}
	ws_dispatch(ws, id, method, params);
}

/* A client request (id recorded), past initialize. */
static void
ws_dispatch(struct ws *ws, const json_t *id, const char *method,
    const json_t *params)
{
	struct ws_sess	*s = NULL;
	const char	*sid;

	if (!ws->initialized) {
		warp_serve_reply_error(ws, id, WS_RPC_INVALID, "Invalid request",
		    json_pack("{s:s}", "details", "not initialized: send "
		    "initialize first"));
		return;
	}
	if (params != NULL && !json_is_object(params)) {
		warp_serve_reply_error(ws, id, -32602, "Invalid params", NULL);
		return;
	}
	if (strcmp(method, "session/new") == 0) {
		warp_serve_up_when_ready(ws_primary(ws), ws_primary_ready,
		    ws_pending_new(ws, id, method, params));
		return;
	}
	if (strcmp(method, "session/load") == 0 ||
	    strcmp(method, "session/resume") == 0) {
		warp_serve_session_load(ws, id, method, params);
		return;
	}
	if ((sid = jget_str(params, "sessionId")) != NULL) {
		if ((s = warp_serve_sess_lookup(ws, sid)) == NULL) {
			warp_serve_reply_error(ws, id, WS_RPC_NOT_FOUND,
			    "Resource not found", json_pack("{s:s, s:s}",
			    "details", "unknown session", "sessionId", sid));
			return;
		}
		warp_serve_sess_ensure(s, ws_sess_ready, ws_pending_new(ws, id, method,
		    params));
		return;
	}
	if (strcmp(method, "session/prompt") == 0) {
		warp_serve_reply_error(ws, id, -32602, "Invalid params",
		    json_pack("{s:s}", "details", "sessionId is required"));
		return;
	}
	/* authenticate, session/list, extensions: the primary harness. */
	warp_serve_up_when_ready(ws_primary(ws), ws_primary_ready,
	    ws_pending_new(ws, id, method, params));
}

static void
ws_client_notify(struct jsonrpc *rpc, const char *method,
    const json_t *params, void *arg)
{
	struct ws	*ws = arg;
	struct ws_sess	*s;
	const char	*sid = jget_str(params, "sessionId");

	if (!ws->initialized || ws->closing)
		return;
	if (sid != NULL) {
		if ((s = warp_serve_sess_find(ws, sid)) == NULL)
			return;
		if (strcmp(method, "session/cancel") == 0) {
			warp_serve_turn_cancel(s);
			return;
		}
		if (warp_serve_up_usable(s->up) && s->up_sid != NULL)
			warp_serve_up_notify(s->up, method, warp_serve_sess_rewrite(params,
			    s->id, s->up_sid));
		return;
	}
	if (warp_serve_up_usable(ws->primary))
		warp_serve_up_notify(ws->primary, method, params != NULL ?
		    json_deep_copy(params) : NULL);
}

static void
ws_client_noise(struct jsonrpc *rpc, const char *line, size_t len,
    const char *why, void *arg)
{
	struct ws	*ws = arg;

	if (ws->closing)
		return;
	if (strcmp(why, JSONRPC_NOISE_NOT_OBJECT) == 0)
		jsonrpc_reply_error(rpc, json_null(), WS_RPC_INVALID,
		    "Invalid request", json_pack("{s:s}", "details",
		    "a JSON-RPC message must be an object"));
	else
		jsonrpc_reply_error(rpc, json_null(), WS_RPC_PARSE,
		    "Parse error", json_pack("{s:s}", "details", why));
}

static void	ws_shutdown(struct ws *, int status);

static void
ws_client_closed(struct jsonrpc *rpc, enum jsonrpc_close_reason why,
    void *arg)
{
	struct ws	*ws = arg;

	if (why == JSONRPC_CLOSE_TOO_LARGE) {
		fprintf(stderr, "[acpx] warp serve: a message from the client "
		    "exceeds the size limit (ACPX_MAX_ACP_MESSAGE_BYTES); "
		    "closing\n");
		ws_shutdown(ws, 1);
		return;
	}
	warp_serve_log(ws, "client closed the connection");
	ws_shutdown(ws, 0);
}

/* ------------------------------------------------------------ lifecycle */

void
warp_serve_maybe_done(struct ws *ws)
{
	struct ws_up	*up;

	if (!ws->closing)
		return;
	for (up = ws->ups; up != NULL; up = up->next) {
		if (up->child != NULL && !up->exited)
			return;
	}
	ws->done = 1;
}

static void
ws_shutdown(struct ws *ws, int status)
{
	struct ws_up	*up;

	if (ws->closing)
		return;
	ws->closing = 1;
	ws->status = status;
	warp_serve_turn_abort_all(ws);
	if (ws->client != NULL && !jsonrpc_closed(ws->client, NULL))
		jsonrpc_close(ws->client);
	for (up = ws->ups; up != NULL; up = up->next)
		warp_serve_up_close(up);
	warp_serve_maybe_done(ws);
}

static void
ws_signal_cb(struct ev_loop *loop, int signo, void *arg)
{
	struct ws	*ws = arg;

	warp_serve_log(ws, "signal %d: closing", signo);
	ws_shutdown(ws, 0);
}

int
warp_serve_main(const struct warp_serve_opts *opts)
{
	struct ws		 ws;
	struct jsonrpc_callbacks cb;

	/* A SIGKILLed worker leaves nothing: the keeper cleans up after it. */
	(void)reaper_keeper_fork();
	events_register("warp-serve", NULL, NULL, opts->agent, opts->cwd);

	memset(&ws, 0, sizeof ws);
	ws.opts = opts;
	ws.name = agent_registry_normalize(opts->agent);
	ws.cids = json_object();
	ws.home = config_home();
	ws.proc = proc_start(0);
	ws.loop = proc_loop(ws.proc);
	ev_loop_fork(ws.loop);
	proc_set_signals(ws.proc, ws_signal_cb, &ws);

	memset(&cb, 0, sizeof cb);
	cb.request = ws_client_request;
	cb.notify = ws_client_notify;
	cb.noise = ws_client_noise;
	cb.closed = ws_client_closed;
	ws.client = jsonrpc_create(ws.loop, STDIN_FILENO, STDOUT_FILENO,
	    warp_serve_max_message(), &cb, &ws);
	warp_serve_log(&ws, "serving %s", ws.name);

	while (!ws.done)
		ev_run(ws.loop, EVRUN_ONCE);

	warp_serve_turn_abort_all(&ws);
	warp_serve_up_free_all(&ws);
	warp_serve_sess_free_all(&ws);
	if (ws.client != NULL)
		jsonrpc_free(ws.client);
	proc_free(ws.proc);
	json_decref(ws.cids);
	json_decref(ws.init_params);
	free(ws.auth_method);
	free(ws.home);
	free(ws.name);
	return (ws.status);
}

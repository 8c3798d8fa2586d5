#include <config.h>

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <jansson.h>

#include "conversation.h"
#include "acpx-error.h"
#include "fsutil.h"
#include "js.h"
#include "jget.h"
#include "secrets.h"
#include "summary.h"
#include "warp-serve-impl.h"
#include "xmalloc.h"

/*
 * The client's sessions. A client session id is ours (a random UUID): it
 * never changes, whichever agent and upstream session serve it. The map
 * is one file per session, ~/.acpx/warp/sessions/<id>.json, written
 * atomically (fsutil.h) by the one proxy serving it, so any number of
 * proxies share the directory without a lock and without losing each
 * other's updates:
 *
 *	{"version":1,"sessionId":"<id>","agent":"<id given>","serving":
 *	 "<agent now>","upstreamSessionId":"<its id>","cwd":"/w",
 *	 "mode":..,"model":..,"config":{..},"history":[routing events],
 *	 "turns":["summary of a finished turn", ...],"updatedAt":".."}
 *
 * mcpServers are not kept (a client's MCP environment may hold its own
 * secrets): session/load and session/resume bring them again. Turn
 * summaries are built by summary.c and redacted with the harness's
 * secrets before they are kept.
 *
 * Attaching a session to a harness: the serving agent's harness is
 * started if needed; session/resume or session/load upstream when it
 * offers them (resume when the client resumes: replayed updates are then
 * dropped), else a new upstream session whose first prompt is preceded
 * by the summary of the session so far.
 */

#define WS_MAP_VERSION	1
#define WS_MAP_MAX	(4 * 1024 * 1024)

/* A waiter for a session's attach. */
struct ws_attach {
	ws_attach_cb		 cb;
	void			*arg;
	struct ws_attach	*next;
};

static struct ws_attach	*ws_attach_list_take(struct ws_sess *);

/* ---------------------------------------------------------------- ids */

static int
ws_sess_id_ok(const char *id)
{
	size_t	n = strlen(id);

	return (n > 0 && n <= 200 && id[0] != '.' &&
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == n);
}

static char *
ws_map_dir(const struct ws *ws)
{
	char	*d;

	xasprintf(&d, "%s/.acpx/warp/sessions", ws->home);
	return (d);
}

static char *
ws_map_path(const struct ws *ws, const char *id)
{
	char	*p;

	xasprintf(&p, "%s/.acpx/warp/sessions/%s.json", ws->home, id);
	return (p);
}

/* sessionId in params replaced from -> to (a new reference). */
json_t *
warp_serve_sess_rewrite(const json_t *params, const char *from, const char *to)
{
	json_t		*p;
	const char	*sid = jget_str(params, "sessionId");

	if (params == NULL)
		return (NULL);
	if (sid == NULL || from == NULL || to == NULL || strcmp(sid, from) != 0)
		return (json_incref((json_t *)params));
	p = json_copy((json_t *)params);
	json_object_set_new(p, "sessionId", json_string(to));
	return (p);
}

/* ---------------------------------------------------------------- map */

static struct ws_sess *
ws_sess_alloc(struct ws *ws, const char *id)
{
	struct ws_sess	*s = xcalloc(1, sizeof *s), **tail;

	s->ws = ws;
	s->id = xstrdup(id);
	s->history = json_array();
	s->config = json_object();
	s->turns = json_array();
	s->mcp = json_array();
	for (tail = &ws->sessions; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = s;
	return (s);
}

static void
ws_set(char **p, const char *v)
{
	free(*p);
	*p = v != NULL ? xstrdup(v) : NULL;
}

/* Write the session's map file (a local write; atomic). */
void
warp_serve_sess_save(struct ws_sess *s)
{
	struct ws	*ws = s->ws;
	json_t		*v;
	char		*dir, *path, *text, *now;
	const char	*op = NULL;

	now = js_iso_now();
	v = json_pack("{s:i, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:O, "
	    "s:O, s:O, s:s}", "version", WS_MAP_VERSION, "sessionId", s->id,
	    "agent", s->agent, "serving", s->serving, "upstreamSessionId",
	    s->up_sid, "cwd", s->cwd, "mode", s->mode, "model", s->model,
	    "config", s->config, "history", s->history, "turns", s->turns,
	    "updatedAt", now);
	free(now);
	text = json_dumps(v, JSON_INDENT(2));
	json_decref(v);
	xasprintf(&dir, "%s/.acpx", ws->home);
	(void)mkdir(dir, 0700);
	free(dir);
	xasprintf(&dir, "%s/.acpx/warp", ws->home);
	(void)mkdir(dir, 0700);
	free(dir);
	dir = ws_map_dir(ws);
	(void)mkdir(dir, 0700);
	path = ws_map_path(ws, s->id);
	if (text == NULL || fsutil_write(path, text, strlen(text), 0, &op) == -1)
		fprintf(stderr, "[acpx] warp serve: cannot write %s: %s: %s\n",
		    path, op != NULL ? op : "json", strerror(errno));
	free(text);
	free(path);
	free(dir);
}

/* A session of the map (not attached), or NULL. */
static struct ws_sess *
ws_sess_read(struct ws *ws, const char *id)
{
	struct ws_sess	*s;
	json_t		*v, *x;
	json_error_t	 e;
	char		*path;

	if (!ws_sess_id_ok(id))
		return (NULL);
	path = ws_map_path(ws, id);
	v = json_load_file(path, 0, &e);
	free(path);
	if (!json_is_object(v) || jget_str(v, "agent") == NULL ||
	    jget_str(v, "serving") == NULL ||
	    json_integer_value(json_object_get(v, "version")) != WS_MAP_VERSION) {
		json_decref(v);
		return (NULL);
	}
	s = ws_sess_alloc(ws, id);
	s->agent = xstrdup(jget_str(v, "agent"));
	s->serving = xstrdup(jget_str(v, "serving"));
	ws_set(&s->up_sid, jget_str(v, "upstreamSessionId"));
	ws_set(&s->cwd, jget_str(v, "cwd"));
	ws_set(&s->mode, jget_str(v, "mode"));
	ws_set(&s->model, jget_str(v, "model"));
	if (json_is_object(x = json_object_get(v, "config")))
		json_object_update(s->config, x);
	if (json_is_array(x = json_object_get(v, "history")))
		json_array_extend(s->history, x);
	if (json_is_array(x = json_object_get(v, "turns")))
		json_array_extend(s->turns, x);
	json_decref(v);
	warp_serve_log(ws, "session %s from the map: served by %s", id, s->serving);
	return (s);
}

struct ws_sess *
warp_serve_sess_find(struct ws *ws, const char *id)
{
	struct ws_sess	*s;

	for (s = ws->sessions; s != NULL; s = s->next) {
		if (strcmp(s->id, id) == 0)
			return (s);
	}
	return (NULL);
}

/* A session of this proxy, else of the map (detached), else NULL. */
struct ws_sess *
warp_serve_sess_lookup(struct ws *ws, const char *id)
{
	struct ws_sess	*s;

	if ((s = warp_serve_sess_find(ws, id)) != NULL)
		return (s);
	return (ws_sess_read(ws, id));
}

struct ws_sess *
warp_serve_sess_by_up(struct ws *ws, const struct ws_up *up, const char *up_sid)
{
	struct ws_sess	*s;

	for (s = ws->sessions; s != NULL; s = s->next) {
		if (s->up == up && s->up_sid != NULL &&
		    strcmp(s->up_sid, up_sid) == 0)
			return (s);
	}
	return (NULL);
}

void
warp_serve_sess_history(struct ws_sess *s, json_t *event)
{
	json_array_append_new(s->history, event);
}

/* The session is served by up's upstream session up_sid now. */
void
warp_serve_sess_bind(struct ws_sess *s, struct ws_up *up, const char *up_sid,
    const json_t *result)
{
	const json_t	*o;

	s->up = up;
	ws_set(&s->up_sid, up_sid);
	ws_set(&s->serving, up->agent);
	if (json_is_array(o = json_object_get(result, "configOptions"))) {
		json_decref(s->options);
		s->options = json_deep_copy(o);
	}
}

/* A client's choice succeeded: remember it for a later agent. */
void
warp_serve_sess_remember(struct ws_sess *s, const char *method, const json_t *params,
    const json_t *result)
{
	const json_t	*o, *v;

	if (strcmp(method, "session/set_mode") == 0 &&
	    jget_str(params, "modeId") != NULL)
		ws_set(&s->mode, jget_str(params, "modeId"));
	else if (strcmp(method, "session/set_model") == 0 &&
	    jget_str(params, "modelId") != NULL)
		ws_set(&s->model, jget_str(params, "modelId"));
	else if (strcmp(method, "session/set_config_option") == 0 &&
	    jget_str(params, "configId") != NULL &&
	    (v = json_object_get(params, "value")) != NULL)
		json_object_set_new(s->config, jget_str(params, "configId"),
		    json_deep_copy(v));
	else
		return;
	if (json_is_array(o = json_object_get(result, "configOptions"))) {
		json_decref(s->options);
		s->options = json_deep_copy(o);
	}
	warp_serve_sess_save(s);
}

/* A turn ended: keep its summary (bounded) for a later reattach. */
void
warp_serve_sess_turn_done(struct ws_sess *s, const json_t *goal, const json_t *msgs)
{
	char	*sum, *red;

	sum = summary_build(goal, msgs, NULL);
	red = secrets_redact_values(sum, s->up != NULL ?
	    s->up->launch.secrets : NULL);
	free(sum);
	json_array_append_new(s->turns, json_string(red));
	free(red);
	while (json_array_size(s->turns) > WS_TURNS_KEPT)
		json_array_remove(s->turns, 0);
	warp_serve_sess_save(s);
}

/* The summary of the session so far, for a new upstream session. */
char *
warp_serve_sess_context(const struct ws_sess *s)
{
	const json_t	*t;
	size_t		 i, n = json_array_size(s->turns), len = 0, first = 0;
	char		*out, *tmp;

	if (n == 0)
		return (NULL);
	/* The newest turns that fit. */
	for (i = n; i > 0; i--) {
		len += strlen(json_string_value(json_array_get(s->turns, i - 1)));
		if (len > WS_CONTEXT_MAX && i < n) {
			first = i;
			break;
		}
	}
	out = xstrdup("[acpx] This session continues on a new agent session; "
	    "the previous one could not be reopened. The session so far, "
	    "turn by turn:");
	for (i = first; i < n; i++) {
		t = json_array_get(s->turns, i);
		xasprintf(&tmp, "%s\n\n%s", out, json_string_value(t));
		free(out);
		out = tmp;
	}
	return (out);
}

/* ---------------------------------------------------------------- attach */

struct ws_open {
	struct ws_sess	*s;
	struct ws_up	*up;
	ws_attach_cb	 cb;
	void		*arg;
	json_t		*result;
};

static void
ws_open_replayed(struct ws_sess *s, void *arg)
{
	struct ws_open	*o = arg;

	o->cb(s, o->result, NULL, o->arg);
	json_decref(o->result);
	free(o);
}

static void
ws_open_new_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct ws_open		*o = arg;
	struct ws_sess		*s = o->s;
	struct acpx_error	*err;
	const char		*sid = jget_str(result, "sessionId");

	if (st != JSONRPC_RESULT || sid == NULL) {
		err = st == JSONRPC_ERROR ? acpx_error_from_acp(error, NULL,
		    "acp") : acpx_error_new(ACPX_CODE_RUNTIME,
		    "AGENT_DISCONNECTED", "acp", "%s: session/new failed",
		    o->up->agent);
		o->cb(s, NULL, err, o->arg);
		acpx_error_free(err);
		free(o);
		return;
	}
	warp_serve_sess_bind(s, o->up, sid, result);
	warp_serve_sess_save(s);
	warp_serve_up_bound(o->up, s);
	o->result = json_deep_copy(result);
	json_object_del(o->result, "sessionId");
	warp_serve_replay_choices(s, result, ws_open_replayed, o);
}

/* A new upstream session for s on up (ready), choices replayed. */
void
warp_serve_sess_open_new(struct ws_sess *s, struct ws_up *up, ws_attach_cb cb,
    void *arg)
{
	struct ws_open	*o = xcalloc(1, sizeof *o);

	o->s = s;
	o->up = up;
	o->cb = cb;
	o->arg = arg;
	warp_serve_up_request(up, "session/new", json_pack("{s:s, s:O}", "cwd",
	    s->cwd != NULL ? s->cwd : s->ws->opts->cwd, "mcpServers", s->mcp),
	    ws_open_new_cb, o);
}

static void
ws_attach_settle(struct ws_sess *s, const json_t *result,
    const struct acpx_error *err)
{
	struct ws_attach	*a = ws_attach_list_take(s), *next;

	s->attaching = 0;
	s->suppress = 0;
	for (; a != NULL; a = next) {
		next = a->next;
		a->cb(s, result, err, a->arg);
		free(a);
	}
}

static void
ws_attach_opened(struct ws_sess *s, const json_t *result,
    const struct acpx_error *err, void *arg)
{
	char	*ctx;

	if (err == NULL && (ctx = warp_serve_sess_context(s)) != NULL) {
		free(s->context);
		s->context = ctx;
		warp_serve_log(s->ws, "session %s: new upstream session %s on %s, the "
		    "summary goes before the next prompt", s->id, s->up_sid,
		    s->serving);
	}
	ws_attach_settle(s, result, err);
}

static void
ws_attach_reopen_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct ws_sess		*s = arg;
	struct ws_up		*up;
	struct acpx_error	*err;
	json_t			*r;

	if (st == JSONRPC_RESULT) {
		warp_serve_log(s->ws, "session %s reopened on %s", s->id, s->serving);
		r = json_deep_copy(result);
		if (json_is_array(json_object_get(r, "configOptions"))) {
			json_decref(s->options);
			s->options = json_deep_copy(json_object_get(r,
			    "configOptions"));
		}
		warp_serve_sess_save(s);
		ws_attach_settle(s, r, NULL);
		json_decref(r);
		return;
	}
	/* It could not be reopened: a new one with the summary. */
	warp_serve_log(s->ws, "session %s: reopening %s failed; a new upstream "
	    "session", s->id, s->up_sid);
	up = s->up;
	s->up = NULL;
	s->suppress = 0;
	if (!warp_serve_up_usable(up)) {
		err = acpx_error_new(ACPX_CODE_RUNTIME, "AGENT_DISCONNECTED",
		    "acp", "ACP agent %s disconnected", s->serving);
		ws_attach_settle(s, NULL, err);
		acpx_error_free(err);
		return;
	}
	warp_serve_sess_open_new(s, up, ws_attach_opened, NULL);
}

static void
ws_attach_ready(struct ws_up *up, const struct acpx_error *err, void *arg)
{
	struct ws_sess	*s = arg;
	const char	*how = NULL;
	int		 resume = s->suppress;

	if (err != NULL) {
		ws_attach_settle(s, NULL, err);
		return;
	}
	if (s->up_sid != NULL) {
		if (resume && warp_serve_up_can(up, "resume"))
			how = "session/resume";
		else if (warp_serve_up_can(up, "load"))
			how = "session/load";
		else if (warp_serve_up_can(up, "resume"))
			how = "session/resume";
	}
	if (how == NULL) {
		warp_serve_sess_open_new(s, up, ws_attach_opened, NULL);
		return;
	}
	/* Route its replay (load) to the client under the client's id. */
	s->up = up;
	if (strcmp(how, "session/resume") == 0)
		s->suppress = 0;
	warp_serve_log(s->ws, "session %s: %s %s on %s", s->id, how, s->up_sid,
	    up->agent);
	warp_serve_up_request(up, how, json_pack("{s:s, s:s, s:O}", "sessionId",
	    s->up_sid, "cwd", s->cwd != NULL ? s->cwd : s->ws->opts->cwd,
	    "mcpServers", s->mcp), ws_attach_reopen_cb, s);
}

static struct ws_attach *
ws_attach_list_take(struct ws_sess *s)
{
	struct ws_attach	*a = s->waiters;

	s->waiters = NULL;
	return (a);
}

/*
 * Attach s (if it is not) and call cb; resume: replayed updates are
 * dropped (the client resumes, it has the history).
 */
static void
ws_sess_attach(struct ws_sess *s, int resume, ws_attach_cb cb, void *arg)
{
	struct ws_attach	*a, **tail;
	struct ws_up		*up;

	if (warp_serve_up_usable(s->up) && s->up_sid != NULL && !s->attaching) {
		cb(s, NULL, NULL, arg);
		return;
	}
	a = xcalloc(1, sizeof *a);
	a->cb = cb;
	a->arg = arg;
	for (tail = &s->waiters; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = a;
	if (s->attaching)
		return;
	s->attaching = 1;
	s->suppress = resume;
	s->up = NULL;
	if ((up = warp_serve_up_running(s->ws, s->serving)) == NULL)
		up = warp_serve_up_start(s->ws, s->serving, 0, NULL);
	warp_serve_up_when_ready(up, ws_attach_ready, s);
}

/* Attached, for a request of the client on s. */
void
warp_serve_sess_ensure(struct ws_sess *s, ws_attach_cb cb, void *arg)
{
	ws_sess_attach(s, 0, cb, arg);
}

/* ---------------------------------------------------- client requests */

struct ws_creq {
	struct ws	*ws;
	json_t		*cid;
	json_t		*params;
	struct ws_up	*up;
};

static void
ws_creq_free(struct ws_creq *c)
{
	json_decref(c->cid);
	json_decref(c->params);
	free(c);
}

static void
ws_new_cb(struct jsonrpc *rpc, enum jsonrpc_status st, const json_t *result,
    const json_t *error, void *arg)
{
	struct ws_creq	*c = arg;
	struct ws	*ws = c->ws;
	struct ws_sess	*s;
	const char	*sid = jget_str(result, "sessionId");
	const json_t	*mcp = json_object_get(c->params, "mcpServers");
	json_t		*r;
	char		*id;

	if (st != JSONRPC_RESULT || sid == NULL) {
		if (st == JSONRPC_RESULT)
			warp_serve_reply_error(ws, c->cid, WS_RPC_INTERNAL,
			    "Internal error", json_pack("{s:s}", "details",
			    "session/new answered without a sessionId"));
		else
			warp_serve_reply_rpc_error(ws, c->cid, st, error);
		ws_creq_free(c);
		return;
	}
	id = conversation_uuid();
	s = ws_sess_alloc(ws, id);
	free(id);
	s->agent = xstrdup(ws->name);
	ws_set(&s->cwd, jget_str(c->params, "cwd") != NULL ?
	    jget_str(c->params, "cwd") : ws->opts->cwd);
	if (json_is_array(mcp)) {
		json_decref(s->mcp);
		s->mcp = json_deep_copy(mcp);
	}
	warp_serve_sess_bind(s, c->up, sid, result);
	warp_serve_sess_save(s);
	warp_serve_log(ws, "session %s: %s on %s", s->id, sid, c->up->agent);
	r = json_deep_copy(result);
	json_object_set_new(r, "sessionId", json_string(s->id));
	warp_serve_reply(ws, c->cid, r);
	warp_serve_up_bound(c->up, s);
	ws_creq_free(c);
}

/* session/new on the primary harness (ready): the answer gets our id. */
void
warp_serve_session_new(struct ws *ws, const json_t *cid, const json_t *params)
{
	struct ws_creq	*c = xcalloc(1, sizeof *c);

	c->ws = ws;
	c->cid = json_deep_copy(cid);
	c->params = params != NULL ? json_deep_copy(params) : json_object();
	c->up = ws->primary;
	warp_serve_up_request(ws->primary, "session/new", params != NULL ?
	    json_deep_copy(params) : json_object(), ws_new_cb, c);
}

static void
ws_load_attached(struct ws_sess *s, const json_t *result,
    const struct acpx_error *err, void *arg)
{
	struct ws_creq	*c = arg;
	json_t		*r;

	if (err != NULL)
		warp_serve_reply_acpx_error(c->ws, c->cid, err, NULL);
	else {
		r = json_is_object(result) ? json_deep_copy(result) :
		    json_object();
		json_object_del(r, "sessionId");
		if (json_object_get(r, "configOptions") == NULL &&
		    s->options != NULL)
			json_object_set(r, "configOptions", s->options);
		warp_serve_reply(c->ws, c->cid, r);
	}
	ws_creq_free(c);
}

/* session/load, session/resume: through the map. */
void
warp_serve_session_load(struct ws *ws, const json_t *cid, const char *method,
    const json_t *params)
{
	struct ws_sess	*s;
	struct ws_creq	*c;
	const char	*sid = jget_str(params, "sessionId");
	const json_t	*mcp = json_object_get(params, "mcpServers");

	if (sid == NULL) {
		warp_serve_reply_error(ws, cid, -32602, "Invalid params",
		    json_pack("{s:s}", "details", "sessionId is required"));
		return;
	}
	if ((s = warp_serve_sess_lookup(ws, sid)) == NULL) {
		warp_serve_reply_error(ws, cid, WS_RPC_NOT_FOUND, "Resource not found: "
		    "session", json_pack("{s:s}", "sessionId", sid));
		return;
	}
	if (jget_str(params, "cwd") != NULL)
		ws_set(&s->cwd, jget_str(params, "cwd"));
	if (json_is_array(mcp)) {
		json_decref(s->mcp);
		s->mcp = json_deep_copy(mcp);
	}
	c = xcalloc(1, sizeof *c);
	c->ws = ws;
	c->cid = json_deep_copy(cid);
	ws_sess_attach(s, strcmp(method, "session/resume") == 0,
	    ws_load_attached, c);
}

void
warp_serve_sess_free_all(struct ws *ws)
{
	struct ws_sess		*s, *next;
	struct ws_attach	*a, *an;

	for (s = ws->sessions; s != NULL; s = next) {
		next = s->next;
		for (a = s->waiters; a != NULL; a = an) {
			an = a->next;
			free(a);
		}
		free(s->id);
		free(s->agent);
		free(s->serving);
		free(s->up_sid);
		free(s->cwd);
		json_decref(s->mcp);
		json_decref(s->history);
		free(s->mode);
		free(s->model);
		json_decref(s->config);
		json_decref(s->options);
		json_decref(s->turns);
		free(s->context);
		warp_route_stamp_clear(&s->stamp);
		free(s);
	}
	ws->sessions = NULL;
}

#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#include "acp-update.h"
#include "acpx-error.h"
#include "events.h"
#include "agent-launch.h"
#include "fallback.h"
#include "jget.h"
#include "jsonrpc.h"
#include "summary.h"
#include "warp-serve-impl.h"
#include "warp-tap.h"
#include "xmalloc.h"

/*
 * A client's session/prompt. It goes to the harness serving the session
 * (the session's summary first when it was reattached to a new upstream
 * session); every message of the turn is recorded for the fallback
 * (fallback.h: classifier, cooldown, next agent, continuation summary)
 * and for the session's own summary. On a provider failure (the
 * session/prompt error, a "successful" turn that was one, the harness's
 * stderr, the stall rule) the next agent of the chain is started, a new
 * upstream session opened, the mode and config choices replayed, the
 * client told (`_acpx/fallback`, a `[fallback]` thought chunk,
 * config_option_update / current_mode_update), and the summary and the
 * original prompt sent; its updates stream under the client's session id
 * and the client's one session/prompt gets the final answer. A cancel
 * during a hop ends the prompt as cancelled; no further hop follows.
 *
 * Before a prompt is sent, a serving agent the route rule would skip for
 * its quota (exhausted, or under warp.quotaReserve) is left the same way
 * (reason "quota", no cooldown), the session so far put before the hop's
 * summary and the prompt; quota signals outside a turn are recorded for
 * the harness's agent.
 *
 * A turn's callbacks carry the turn itself; a turn that ends (cancel,
 * shutdown) while a hop step is pending is marked done and freed by
 * that step's callback.
 */

static void	ws_turn_send(struct ws_sess *, struct ws_turn *, const json_t *blocks);

static void
ws_turn_free(struct ws_turn *t)
{
	json_decref(t->cid);
	json_decref(t->goal);
	json_decref(t->params);
	json_decref(t->msgs);
	fallback_free(t->fb);
	fallback_hop_clear(&t->hop);
	free(t);
}

/* The turn is over for the client (answered): forget it. */
static void
ws_turn_end(struct ws_sess *s, struct ws_turn *t)
{
	ev_timer_stop(s->ws->loop, &t->stall_w);
	if (s->turn == t)
		s->turn = NULL;
	events_emit("turn.ended", json_pack("{s:b}", "cancelled", t->cancelled));
	t->done = 1;
	if (!t->pending)
		ws_turn_free(t);
}

/* Record a message of the turn; an inbound one feeds the stall rule. */
void
warp_serve_turn_tap(struct ws_sess *s, const json_t *msg, int inbound)
{
	struct ws_turn	*t = s->turn;

	if (t == NULL)
		return;
	/* The session's own summary reads no message chunks: keep none. */
	if (!acp_update_is_chunk(acp_update_kind_of(jget_str(jget_obj(
	    jget_obj(msg, "params"), "update"), "sessionUpdate"))))
		json_array_append(t->msgs, (json_t *)msg);
	fallback_tap(t->fb, msg);
	if (inbound && !t->stalled && ev_is_active(&t->stall_w))
		ev_timer_again(s->ws->loop, &t->stall_w);
}

/* A notification outside a turn: quota signals only. */
void
warp_serve_turn_idle_tap(struct ws_up *up, const char *sid,
    const char *method, const json_t *params)
{
	struct ws_sess	*s;
	json_t		*msg;

	if (strcmp(method, "session/update") != 0)
		return;
	if (sid != NULL && (s = warp_serve_sess_by_up(up->ws, up, sid)) != NULL &&
	    s->turn != NULL)
		return;		/* the turn's fallback taps it */
	msg = json_pack("{s:s, s:s, s:O?}", "jsonrpc", "2.0", "method", method,
	    "params", params);
	warp_quota_tap_config(up->ws->opts->config, up->agent, msg);
	json_decref(msg);
}

/* ---------------------------------------------------------------- stall */

static void
ws_stall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct ws_turn	*t = w->data;
	struct ws_sess	*s = t->sess;

	ev_timer_stop(loop, w);
	if (s->turn != t || t->up == NULL)
		return;
	if (t->stalled) {
		/* No answer to the cancel either: the prompt ends in error. */
		warp_serve_log(s->ws, "session %s: no answer to cancel; killing %s",
		    s->id, t->up->agent);
		warp_serve_up_kill(t->up);
		return;
	}
	warp_serve_log(s->ws, "session %s: provider stall: no update for %llds, "
	    "cancelling", s->id, fallback_stall_seconds(t->fb));
	t->stalled = 1;
	fallback_stalled(t->fb);
	warp_serve_up_notify(t->up, "session/cancel", json_pack("{s:s}", "sessionId",
	    s->up_sid));
	ev_timer_set(w, WS_STALL_CANCEL_S, 0.);
	ev_timer_start(loop, w);
}

/* The provider tap of an upstream ended the turn: as the stall rule. */
void
warp_serve_turn_tap_failed(void *arg)
{
	struct ws_up	*up = arg;
	struct ws_sess	*s;
	struct ws_turn	*t;

	for (s = up->ws->sessions; s != NULL; s = s->next) {
		if ((t = s->turn) == NULL || t->up != up || t->stalled ||
		    t->cancelled || t->hopping || s->up_sid == NULL)
			continue;
		warp_serve_log(s->ws, "session %s: provider tap: %s's provider "
		    "failed, cancelling", s->id, up->agent);
		t->stalled = 1;
		warp_serve_up_notify(up, "session/cancel", json_pack("{s:s}",
		    "sessionId", s->up_sid));
		ev_timer_stop(up->ws->loop, &t->stall_w);
		ev_timer_set(&t->stall_w, WS_STALL_CANCEL_S, 0.);
		ev_timer_start(up->ws->loop, &t->stall_w);
	}
}

/* ---------------------------------------------------------------- replay */

struct ws_replay {
	struct ws_sess	*s;
	json_t		*todo;		/* [[method, params], ...] */
	size_t		 i;
	void		(*done)(struct ws_sess *, void *);
	void		*arg;
};

/* Does a configOptions entry offer value (options or grouped options)? */
static int
ws_offers(const json_t *opts, const json_t *value)
{
	const json_t	*o;
	size_t		 i;

	json_array_foreach(opts, i, o) {
		if (json_equal(json_object_get(o, "value"), (json_t *)value))
			return (1);
		if (json_is_array(json_object_get(o, "options")) &&
		    ws_offers(json_object_get(o, "options"), value))
			return (1);
	}
	return (0);
}

static void	ws_replay_next(struct ws_replay *);

static void
ws_replay_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct ws_replay	*r = arg;
	struct ws_sess		*s = r->s;
	const json_t		*step = json_array_get(r->todo, r->i);
	const char		*m = json_string_value(json_array_get(step, 0));

	if (st == JSONRPC_RESULT) {
		if (json_is_array(json_object_get(result, "configOptions"))) {
			json_decref(s->options);
			s->options = json_deep_copy(json_object_get(result,
			    "configOptions"));
		}
		warp_serve_log(s->ws, "session %s: replayed %s on %s", s->id, m,
		    s->serving);
	} else
		warp_serve_log(s->ws, "session %s: %s not replayed on %s", s->id, m,
		    s->serving);
	r->i++;
	ws_replay_next(r);
}

static void
ws_replay_next(struct ws_replay *r)
{
	const json_t	*step = json_array_get(r->todo, r->i);

	if (step == NULL || !warp_serve_up_usable(r->s->up)) {
		json_decref(r->todo);
		r->done(r->s, r->arg);
		free(r);
		return;
	}
	warp_serve_up_request(r->s->up, json_string_value(json_array_get(step, 0)),
	    json_deep_copy(json_array_get(step, 1)), ws_replay_cb, r);
}

/*
 * The client's mode and config choices on a new upstream session
 * (result: its session/new answer), where the agent offers them; then
 * done(s, arg). s->options ends as the agent's current configOptions.
 */
void
warp_serve_replay_choices(struct ws_sess *s, const json_t *result,
    void (*done)(struct ws_sess *, void *), void *arg)
{
	struct ws_replay	*r = xcalloc(1, sizeof *r);
	const json_t		*modes = json_object_get(result, "modes");
	const json_t		*opts = json_object_get(result, "configOptions");
	const json_t		*o, *v, *m;
	const char		*key;
	size_t			 i;

	r->s = s;
	r->done = done;
	r->arg = arg;
	r->todo = json_array();
	if (s->mode != NULL && jget_str(modes, "currentModeId") != NULL &&
	    strcmp(jget_str(modes, "currentModeId"), s->mode) != 0) {
		json_array_foreach(json_object_get(modes, "availableModes"), i,
		    m) {
			if (jget_str(m, "id") != NULL &&
			    strcmp(jget_str(m, "id"), s->mode) == 0)
				json_array_append_new(r->todo, json_pack(
				    "[s, {s:s, s:s}]", "session/set_mode",
				    "sessionId", s->up_sid, "modeId", s->mode));
		}
	}
	json_object_foreach(s->config, key, v) {
		json_array_foreach(opts, i, o) {
			if (jget_str(o, "id") == NULL ||
			    strcmp(jget_str(o, "id"), key) != 0 ||
			    json_equal(json_object_get(o, "currentValue"),
			    (json_t *)v) || !ws_offers(json_object_get(o,
			    "options"), v))
				continue;
			json_array_append_new(r->todo, json_pack(
			    "[s, {s:s, s:s, s:O}]", "session/set_config_option",
			    "sessionId", s->up_sid, "configId", key, "value", v));
		}
	}
	if (s->model != NULL) {
		json_array_foreach(json_object_get(json_object_get(result,
		    "models"), "availableModels"), i, m) {
			if (jget_str(m, "modelId") != NULL &&
			    strcmp(jget_str(m, "modelId"), s->model) == 0)
				json_array_append_new(r->todo, json_pack(
				    "[s, {s:s, s:s}]", "session/set_model",
				    "sessionId", s->up_sid, "modelId", s->model));
		}
	}
	ws_replay_next(r);
}

/* ---------------------------------------------------------------- hop */

/* The prompt cannot go on: answer the client with err and end the turn. */
static void
ws_turn_fail(struct ws_sess *s, struct ws_turn *t,
    const struct acpx_error *err, const char *detail)
{
	json_t	*extra = NULL;

	if (detail != NULL)
		extra = json_pack("{s:s, s:s, s:O}", "detailCode", detail,
		    "sessionId", s->id, "routingHistory", s->history);
	warp_serve_reply_acpx_error(s->ws, t->cid, err, extra);
	ws_turn_end(s, t);
}

static void
ws_hop_opened(struct ws_sess *s, const json_t *result,
    const struct acpx_error *err, void *arg)
{
	struct ws_turn	*t = arg;
	const json_t	*modes = json_object_get(result, "modes");
	const char	*cur;

	t->pending = 0;
	if (t->done) {
		ws_turn_free(t);
		return;
	}
	t->hopping = 0;
	if (err != NULL) {
		ws_turn_fail(s, t, err, "WARP_FALLBACK_FAILED");
		return;
	}
	if (t->cancelled) {
		warp_serve_reply(s->ws, t->cid, json_pack("{s:s}", "stopReason",
		    "cancelled"));
		ws_turn_end(s, t);
		return;
	}
	/* The client's view of model and mode is the serving agent's. */
	if (s->options != NULL)
		warp_serve_notify_client(s->ws, "session/update", json_pack("{s:s, "
		    "s:{s:s, s:O}}", "sessionId", s->id, "update",
		    "sessionUpdate", acp_update_kind_name(ACP_UPDATE_CONFIG_OPTION),
		    "configOptions",
		    s->options));
	cur = s->mode;
	if (cur == NULL)
		cur = jget_str(modes, "currentModeId");
	if (modes != NULL && cur != NULL)
		warp_serve_notify_client(s->ws, "session/update", json_pack("{s:s, "
		    "s:{s:s, s:s}}", "sessionId", s->id, "update",
		    "sessionUpdate", acp_update_kind_name(ACP_UPDATE_CURRENT_MODE),
		    "currentModeId",
		    cur));
	warp_serve_up_retire_unused(s->ws);
	ws_turn_send(s, t, t->hop.prompt);
}

static void
ws_hop_ready(struct ws_up *up, const struct acpx_error *err, void *arg)
{
	struct ws_turn	*t = arg;
	struct ws_sess	*s = t->sess;

	if (t->done) {
		t->pending = 0;
		ws_turn_free(t);
		return;
	}
	if (err != NULL) {
		t->pending = 0;
		ws_turn_fail(s, t, err, "WARP_FALLBACK_FAILED");
		return;
	}
	if (t->cancelled) {
		t->pending = 0;
		warp_serve_reply(s->ws, t->cid, json_pack("{s:s}", "stopReason",
		    "cancelled"));
		ws_turn_end(s, t);
		return;
	}
	t->up = up;
	warp_serve_sess_open_new(s, up, ws_hop_opened, t);
}

/* A hop is ready in t->hop: tell the client, start the next agent. */
static void
ws_hop(struct ws_sess *s, struct ws_turn *t)
{
	struct ws		*ws = s->ws;
	struct fallback_hop	*hop = &t->hop;
	struct ws_up		*up, *old = s->up;
	json_t			*n, *p;
	char			*text;

	warp_serve_log(ws, "session %s: fallback %s -> %s (%s)", s->id, hop->from,
	    hop->to, hop->reason);
	warp_serve_sess_history(s, fallback_event(hop, time(NULL)));
	free(s->serving);
	s->serving = xstrdup(hop->to);
	s->up = NULL;
	free(s->up_sid);
	s->up_sid = NULL;	/* the failed agent's, of no use to the next */
	free(s->context);
	s->context = NULL;
	warp_serve_sess_save(s);

	n = fallback_notification(hop);
	p = json_deep_copy(json_object_get(n, "params"));
	json_decref(n);
	json_object_set_new(p, "sessionId", json_string(s->id));
	warp_serve_notify_client(ws, "_acpx/fallback", p);
	xasprintf(&text, "[fallback] %s \342\206\222 %s (%s)\n", hop->from,
	    hop->to, hop->reason);
	warp_serve_notify_client(ws, "session/update", json_pack("{s:s, s:{s:s, "
	    "s:{s:s, s:s}}}", "sessionId", s->id, "update", "sessionUpdate",
	    acp_update_kind_name(ACP_UPDATE_AGENT_THOUGHT_CHUNK), "content", "type", "text", "text", text));
	free(text);

	if ((up = warp_serve_up_running(ws, hop->to)) == NULL)
		up = warp_serve_up_start(ws, hop->to, 0, &hop->launch);
	/* New sessions go where this one went. */
	if (ws->primary == old || ws->primary == NULL)
		ws->primary = up;
	t->hopping = 1;
	t->pending = 1;
	t->up = NULL;
	warp_serve_up_when_ready(up, ws_hop_ready, t);
}

/*
 * Before the prompt: the serving agent's quota would make the route skip
 * it (fallback_before_turn()). 1 when the session moves to the next agent
 * (ws_hop(), the session so far first), 0 when the prompt goes on as it is.
 */
static int
ws_move_before(struct ws_sess *s, struct ws_turn *t)
{
	char	*notice = NULL, *ctx;
	json_t	*blocks;
	int	 rc;

	rc = fallback_before_turn(t->fb, &s->stamp, &t->hop, &notice);
	if (notice != NULL) {
		warp_serve_log(s->ws, "session %s: %s", s->id, notice);
		free(notice);
	}
	if (rc != 1)
		return (0);
	ctx = s->context != NULL ? xstrdup(s->context) :
	    warp_serve_sess_context(s);
	if (ctx != NULL) {
		blocks = summary_continuation(ctx, t->hop.prompt);
		json_decref(t->hop.prompt);
		t->hop.prompt = blocks;
		free(ctx);
	}
	ws_hop(s, t);
	return (1);
}

/* ---------------------------------------------------------------- prompt */

static void
ws_turn_prompt_cb(struct jsonrpc *rpc, enum jsonrpc_status st,
    const json_t *result, const json_t *error, void *arg)
{
	struct ws_turn		*t = arg;
	struct ws_sess		*s = t->sess;
	struct ws		*ws = s->ws;
	struct acpx_error	*ferr = NULL;
	json_t			*gone = NULL;
	char			*notice = NULL, *tail;
	int			 rc = 0;

	t->pending = 0;
	if (t->done) {
		ws_turn_free(t);
		return;
	}
	ev_timer_stop(ws->loop, &t->stall_w);
	if (st == JSONRPC_CLOSED)
		gone = json_pack("{s:i, s:s, s:{s:s}}", "code", WS_RPC_INTERNAL,
		    "message", "Internal error", "data", "details",
		    "the ACP agent disconnected during the prompt");
	if (t->fb != NULL && !t->cancelled && !ws->closing) {
		tail = t->up != NULL ? warp_serve_up_stderr(t->up) : NULL;
		fallback_hop_clear(&t->hop);
		fallback_tap_seen(t->fb, t->up != NULL ? t->up->launch.tap :
		    NULL);
		rc = fallback_after_turn(t->fb, st == JSONRPC_ERROR ? error :
		    gone, st == JSONRPC_RESULT ? result : NULL, tail, &t->hop,
		    &notice, &ferr);
		free(tail);
		if (notice != NULL) {
			warp_serve_log(ws, "%s", notice);
			free(notice);
		}
	}
	if (rc == 1) {
		json_decref(gone);
		ws_hop(s, t);
		return;
	}
	if (rc == -1) {
		warp_serve_sess_history(s, json_pack("{s:s, s:s, s:s}", "type",
		    "provider_failure", "agent", s->serving, "error",
		    ferr->message));
		warp_serve_sess_save(s);
		json_decref(gone);
		ws_turn_fail(s, t, ferr, "WARP_FALLBACK_EXHAUSTED");
		acpx_error_free(ferr);
		return;
	}
	if (st == JSONRPC_RESULT) {
		warp_serve_sess_turn_done(s, t->goal, t->msgs);
		warp_serve_reply(ws, t->cid, json_deep_copy(result));
	} else
		warp_serve_reply_rpc_error(ws, t->cid, st == JSONRPC_CLOSED ?
		    JSONRPC_ERROR : st, st == JSONRPC_CLOSED ? gone : error);
	json_decref(gone);
	ws_turn_end(s, t);
}

/* Send blocks as the session's prompt to its harness. */
static void
ws_turn_send(struct ws_sess *s, struct ws_turn *t, const json_t *blocks)
{
	json_t		*p;
	long long	 secs = fallback_stall_seconds(t->fb);

	if (!warp_serve_up_usable(s->up)) {
		warp_serve_reply_error(s->ws, t->cid, WS_RPC_INTERNAL, "Internal error",
		    json_pack("{s:s}", "details", "the ACP agent is not "
		    "running"));
		ws_turn_end(s, t);
		return;
	}
	t->up = s->up;
	p = json_copy(t->params);
	json_object_set_new(p, "sessionId", json_string(s->up_sid));
	json_object_set(p, "prompt", (json_t *)blocks);
	t->pending = 1;
	warp_serve_up_request(s->up, "session/prompt", p, ws_turn_prompt_cb, t);
	if (secs > 0 && !t->stalled) {
		ev_timer_init(&t->stall_w, ws_stall_cb, 0., (ev_tstamp)secs);
		t->stall_w.data = t;
		ev_timer_again(s->ws->loop, &t->stall_w);
	}
}

/* The client's session/prompt on s (attached). */
void
warp_serve_turn_prompt(struct ws *ws, struct ws_sess *s, const json_t *cid,
    const json_t *params)
{
	struct ws_turn		*t;
	struct acpx_error	*ferr = NULL;
	const json_t		*goal = json_object_get(params, "prompt");
	const char		*forced = ws->opts->force_fail;
	json_t			*blocks, *meta;

	if (!json_is_array(goal)) {
		warp_serve_reply_error(ws, cid, -32602, "Invalid params",
		    json_pack("{s:s}", "details", "prompt must be an array of "
		    "content blocks"));
		return;
	}
	if (s->turn != NULL) {
		warp_serve_reply_error(ws, cid, WS_RPC_INVALID, "Invalid request",
		    json_pack("{s:s}", "details", "a prompt is already running "
		    "in this session"));
		return;
	}
	/* A persistent session's --force-fail, from its queue owner. */
	meta = json_object_get(params, "_meta");
	if (ws->opts->on_node && jget_str(meta, WARP_SERVE_META_FORCE_FAIL) !=
	    NULL) {
		forced = jget_str(meta, WARP_SERVE_META_FORCE_FAIL);
		if (fallback_force_check(ws->opts->config, s->agent, forced,
		    &ferr) == -1) {
			warp_serve_reply_error(ws, cid, -32602, "Invalid params",
			    json_pack("{s:s}", "details", ferr->message));
			acpx_error_free(ferr);
			return;
		}
	}
	t = xcalloc(1, sizeof *t);
	t->sess = s;
	t->cid = json_deep_copy(cid);
	t->goal = json_deep_copy(goal);
	t->params = json_deep_copy(params);
	/* (Not passed on to the harness.) */
	json_object_del(json_object_get(t->params, "_meta"),
	    WARP_SERVE_META_FORCE_FAIL);
	t->msgs = json_array();
	ev_init(&t->stall_w, ws_stall_cb);
	t->stall_w.data = t;
	s->turn = t;
	events_emit("turn.started", NULL);
	t->fb = fallback_begin_serving(ws->opts->config, s->agent,
	    ws->opts->no_fallback, s->serving, &s->up->launch, t->goal);
	fallback_set_launch_flags(t->fb, (ws->opts->on_node ? AGENT_LAUNCH_HERE :
	    AGENT_LAUNCH_PERM(ws->opts->perm_mode, ws->opts->nonint)) |
	    (ws->opts->no_fallback ? 0 : AGENT_LAUNCH_TAP));
	if (s->up != NULL)	/* a new turn for its provider tap */
		warp_tap_reset(s->up->launch.tap);
	if (t->fb != NULL && forced != NULL &&
	    fallback_force_fail(t->fb, forced, &ferr) == -1)
		acpx_error_free(ferr);	/* checked at start or above */
	if (t->fb != NULL && ws_move_before(s, t))
		return;
	if (s->context != NULL) {
		/* Reattached on a new upstream session: the story so far first. */
		blocks = summary_continuation(s->context, t->goal);
		free(s->context);
		s->context = NULL;
		ws_turn_send(s, t, blocks);
		json_decref(blocks);
		return;
	}
	ws_turn_send(s, t, t->goal);
}

/* session/cancel from the client. */
void
warp_serve_turn_cancel(struct ws_sess *s)
{
	struct ws_turn	*t = s->turn;

	if (t != NULL) {
		t->cancelled = 1;
		if (t->hopping) {
			/* Nothing runs yet: the prompt ends here. */
			warp_serve_log(s->ws, "session %s: cancelled during a hop", s->id);
			warp_serve_reply(s->ws, t->cid, json_pack("{s:s}", "stopReason",
			    "cancelled"));
			ws_turn_end(s, t);
			return;
		}
	}
	if (warp_serve_up_usable(s->up) && s->up_sid != NULL)
		warp_serve_up_notify(s->up, "session/cancel", json_pack("{s:s}",
		    "sessionId", s->up_sid));
}

/* The proxy is closing: every turn ends now. */
void
warp_serve_turn_abort_all(struct ws *ws)
{
	struct ws_sess	*s;

	for (s = ws->sessions; s != NULL; s = s->next) {
		if (s->turn != NULL)
			ws_turn_end(s, s->turn);
	}
}

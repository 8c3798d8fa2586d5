#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <jansson.h>

#include "acp-client.h"
#include "acpx-error.h"
#include "acpx.h"
#include "agent-launch.h"
#include "cmdline.h"
#include "config-file.h"
#include "conversation.h"
#include "fallback.h"
#include "jget.h"
#include "js.h"
#include "queue-owner-impl.h"
#include "queue-proto.h"
#include "secrets.h"
#include "session-record.h"
#include "session-store.h"
#include "summary.h"
#include "warp.h"
#include "warp-tap.h"
#include "xmalloc.h"

/*
 * Warp agents behind the queue owner (spec warp-routing.md §7.5), plugged
 * into its jobs as queue_owner_warp_hooks: before a job connects, the
 * launch of the agent now serving the session (acpx.serving_agent, else
 * the id the session was created with) is prepared (agent-launch.h) and
 * its harness and environment are what the owner spawns; during a prompt
 * every ACP message is tapped for the fallback (fallback.h) and the stall
 * rule watches the prompt; on a provider failure the failed agent is
 * retired, the next one of the chain started on a new ACP session and
 * sent the summary and the original prompt, its traffic relayed to the
 * submitter after an `_acpx/fallback` notification, and the record
 * remembers the new serving agent and the routing history. Before a
 * prompt is sent, a serving agent the route rule would skip for its quota
 * (exhausted, or under warp.quotaReserve) is left the same way, reason
 * "quota", without a cooldown; the quota signals an agent sends outside a
 * turn (right after session/new or load, between turns) are recorded as
 * a turn's are.
 *
 * Ownership: the state (struct queue_owner_warp) is allocated for the
 * first warp session and freed by the free hook at exit; it owns the
 * config, the launches (whose argv and environment the agent's options
 * point into) and the turn's fallback.
 */

#define WARP_STALL_CANCEL_S	2.5	/* a stalled agent's answer to cancel */
#define WARP_CONTEXT_MAX	(32 * 1024)	/* bytes of the session so far */

/* What the owner keeps for Warp agents, once a session needs one. */
struct queue_owner_warp {
	struct config		*config;	/* full config, once needed */
	char			*serving;	/* the agent the client runs */
	struct agent_launch	 launch;	/* its launch: harness, env */
	struct agent_launch	 old_launch;	/* the one before the last swap */
	struct fallback		*fb;		/* the turn's fallback, or NULL */
	struct fallback_hop	 hop;		/* the hop under way */
	ev_timer		 stall_w;	/* warp.stallSeconds */
	int			 stalled;
	int			 cancelled;
	int			 moved;		/* the turn began with a quota move */
	struct warp_route_stamp	 stamp;		/* the state file found the
						   serving agent free */
};

static int	warp_move_before(struct queue_owner *);

static struct queue_owner_warp *
warp_state(struct queue_owner *o)
{
	if (o->warp == NULL)
		o->warp = xcalloc(1, sizeof *o->warp);
	return (o->warp);
}

/* The warp agent id a record was created with, or NULL. */
static const char *
warp_record_id(struct session_record *rec)
{
	const char	*cmd = rec->agent_command;

	/* On an execution node, the node's proxy routes (node-bind.h). */
	if (cmd == NULL || !warp_id_looks(cmd) ||
	    jget_str(rec->acpx, "node") != NULL)
		return (NULL);
	return (cmd);
}

/* The full config (warp section, agents), loaded once per owner. */
static struct config *
warp_config(struct queue_owner_warp *w, struct session_record *rec,
    char **cause)
{
	char	*home;

	if (w->config != NULL)
		return (w->config);
	home = config_home();
	w->config = config_load(home, rec->cwd, NULL, cause);
	free(home);
	return (w->config);
}

/*
 * The client's agent is now id, started with launch (moved into the
 * owner; it is empty afterwards). The previous launch is kept until the
 * next swap: a retired client may still be closing.
 */
static void	warp_tap_failed(void *);

static void
warp_use_launch(struct queue_owner *o, const char *id, struct agent_launch *l)
{
	struct queue_owner_warp	*w = o->warp;

	agent_launch_clear(&w->old_launch);
	w->old_launch = w->launch;
	w->launch = *l;
	memset(l, 0, sizeof *l);
	/* The provider tap serves the harness started from this launch. */
	warp_tap_stop(w->old_launch.tap);
	warp_tap_start(w->launch.tap, o->loop, warp_tap_failed, o);
	queue_owner_agent_set_launch(o, &w->launch);
	free(w->serving);
	w->serving = xstrdup(id);
}

/*
 * A session on an execution node: its agent is the node's proxy, over
 * ssh to that node only (agent-launch.h); a warm one is kept.
 */
static int
warp_prepare_node(struct queue_owner *o, struct session_record *rec,
    struct acpx_error **err)
{
	struct queue_owner_warp	*w = warp_state(o);
	char			*cause = NULL;
	struct agent_launch	 l;

	if (o->client != NULL && acp_client_running(o->client) &&
	    w->launch.node != NULL)
		return (0);
	if (warp_config(w, rec, &cause) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "runtime", "%s",
		    cause);
		free(cause);
		return (-1);
	}
	if (jget_str(rec->acpx, "node_agent") == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "runtime",
		    "the session record names node %s but no agent",
		    jget_str(rec->acpx, "node"));
		return (-1);
	}
	if (agent_launch_session(w->config, jget_str(rec->acpx, "node_agent"),
	    NULL, jget_str(rec->acpx, "node"), AGENT_LAUNCH_PERM(
	    o->opts.perm_mode, o->opts.nonint == ACPX_NONINT_FAIL ?
	    ACPX_NONINT_FAIL : ACPX_NONINT_DENY), &l, err) == -1)
		return (-1);
	warp_use_launch(o, jget_str(rec->acpx, "node_agent"), &l);
	o->copts.auth = NULL;	/* the node's agent uses the node's */
	return (0);
}

/*
 * Before the owner connects to a warp session (a prompt turn or an idle
 * control; the job's record loaded): prepare the serving agent's launch
 * (harness, environment) and point the spawn at it; a warm agent that is
 * another one is retired.
 */
static int
warp_prepare(struct queue_owner *o, struct acpx_error **err)
{
	struct session_record	*rec = o->job->rec;
	struct queue_owner_warp	*w;
	const char		*id, *serving;
	char			*cause = NULL;
	struct agent_launch	 l;

	*err = NULL;
	if (jget_str(rec->acpx, "node") != NULL)
		return (warp_prepare_node(o, rec, err));
	if ((id = warp_record_id(rec)) == NULL)
		return (0);
	w = warp_state(o);
	if (warp_config(w, rec, &cause) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "runtime", "%s",
		    cause);
		free(cause);
		return (-1);
	}
	if ((serving = jget_str(rec->acpx, "serving_agent")) == NULL)
		serving = id;
	/* A warm harness talks to the tap it was started with: keep it. */
	if (w->launch.tap != NULL && o->client != NULL &&
	    acp_client_running(o->client) && w->serving != NULL &&
	    strcmp(w->serving, serving) == 0)
		return (0);
	/* Secrets, checks, environment: the same launch step as exec. */
	if (agent_launch_session(w->config, id, serving, NULL, AGENT_LAUNCH_TAP,
	    &l, err) == -1)
		return (-1);
	/*
	 * A warm agent that is not the serving one is retired: detached from
	 * the owner first, so that this job's connect spawns the serving
	 * agent instead of reusing a connection that is going away.
	 */
	if (o->client != NULL && (w->serving == NULL ||
	    strcmp(w->serving, serving) != 0)) {
		queue_owner_log(o, "warp: retiring the warm %s, the session is "
		    "served by %s", w->serving != NULL ? w->serving : "agent",
		    serving);
		queue_owner_agent_retire(o);
	}
	warp_use_launch(o, serving, &l);
	return (0);
}

/* Before a prompt turn connects: warp_prepare(), then follow the prompt. */
static int
warp_turn_begin(struct queue_owner *o, struct acpx_error **err)
{
	struct queue_owner_job	*j = o->job;
	struct queue_owner_warp	*w;
	const char		*id;

	if (o->warp != NULL)
		o->warp->stalled = o->warp->cancelled = 0;
	if (warp_prepare(o, err) == -1)
		return (-1);
	if ((id = warp_record_id(j->rec)) == NULL)
		return (0);
	w = o->warp;
	warp_tap_reset(w->launch.tap);	/* a new turn for the provider tap */
	w->fb = fallback_begin_serving(w->config, id, j->req->no_fallback,
	    w->serving, &w->launch, j->req->prompt);
	fallback_set_launch_flags(w->fb, AGENT_LAUNCH_PERM(o->opts.perm_mode,
	    o->opts.nonint == ACPX_NONINT_FAIL ? ACPX_NONINT_FAIL :
	    ACPX_NONINT_DENY) | (j->req->no_fallback ? 0 : AGENT_LAUNCH_TAP));
	/* --force-fail of this prompt (its client checked the provider). */
	if (w->fb != NULL && j->req->force_fail != NULL &&
	    fallback_force_fail(w->fb, j->req->force_fail, err) == -1) {
		acpx_error_free(*err);
		*err = NULL;
	}
	/* Its quota would make the route skip the serving agent: move now. */
	return (w->fb != NULL ? warp_move_before(o) : 0);
}

/* Tap one message of the turn (and feed the stall rule). */
static void
warp_tap(struct queue_owner *o, const json_t *msg, int outbound)
{
	struct queue_owner_warp	*w = o->warp;

	if (w == NULL)
		return;
	if (w->fb == NULL || o->job == NULL) {
		/* Outside a turn: only the quota signals of the serving agent. */
		if (!outbound && w->launch.node == NULL)
			warp_quota_tap_config(w->config, w->serving, msg);
		return;
	}
	fallback_tap(w->fb, msg);
	if (!outbound && o->job->state == JOB_PROMPT && !w->stalled &&
	    ev_is_active(&w->stall_w))
		ev_timer_again(o->loop, &w->stall_w);
}

/* The first stall or provider failure of the session, into its record. */
static void __attribute__((format(printf, 3, 4)))
warp_first_failure(struct queue_owner *o, const char *kind, const char *fmt,
    ...)
{
	va_list	 ap;
	char	*detail, *now;

	if (o->job == NULL || o->job->rec == NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&detail, fmt, ap);
	va_end(ap);
	now = js_iso_now();
	if (session_record_failure_note(o->job->rec, kind, detail, now))
		o->job->dirty = 1;
	free(now);
	free(detail);
}

static void
warp_stall_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct queue_owner	*o = t->data;
	struct queue_owner_warp	*w = o->warp;

	ev_timer_stop(loop, t);
	if (o->job == NULL || o->job->kind != QUEUE_OWNER_JOB_PROMPT ||
	    o->job->state != JOB_PROMPT || o->client == NULL)
		return;
	if (w->stalled) {
		/* No answer to the cancel either: the prompt ends in error. */
		acp_client_kill(o->client);
		return;
	}
	queue_owner_log(o, "provider stall: no update for %llds, cancelling",
	    fallback_stall_seconds(w->fb));
	warp_first_failure(o, "stall", "no update for %llds from %s",
	    fallback_stall_seconds(w->fb), w->serving != NULL ? w->serving : "");
	w->stalled = 1;
	fallback_stalled(w->fb);
	acp_client_cancel(o->client);
	ev_timer_set(t, WARP_STALL_CANCEL_S, 0.);
	ev_timer_start(loop, t);
}

/*
 * The provider tap ended the turn (warp-tap.h): cancel it, and stop the
 * harness if it does not answer, as the stall rule does; the tap's
 * verdict is the turn's signal (fallback_tap_seen()).
 */
static void
warp_tap_failed(void *arg)
{
	struct queue_owner	*o = arg;
	struct queue_owner_warp	*w = o->warp;

	if (w == NULL || o->job == NULL ||
	    o->job->kind != QUEUE_OWNER_JOB_PROMPT ||
	    o->job->state != JOB_PROMPT || o->client == NULL || w->stalled)
		return;
	queue_owner_log(o, "provider tap: %s's provider failed, cancelling",
	    w->serving != NULL ? w->serving : "agent");
	w->stalled = 1;
	acp_client_cancel(o->client);
	ev_timer_stop(o->loop, &w->stall_w);
	ev_timer_init(&w->stall_w, warp_stall_cb, WARP_STALL_CANCEL_S, 0.);
	w->stall_w.data = o;
	ev_timer_start(o->loop, &w->stall_w);
}

/* session/prompt was sent: arm the stall rule. */
static void
warp_prompt_sent(struct queue_owner *o)
{
	struct queue_owner_warp	*w = o->warp;
	long long		 s;

	if (w == NULL)
		return;
	s = fallback_stall_seconds(w->fb);
	if (s <= 0 || w->stalled)
		return;
	ev_timer_init(&w->stall_w, warp_stall_cb, 0., (ev_tstamp)s);
	w->stall_w.data = o;
	ev_timer_again(o->loop, &w->stall_w);
}

/* The turn is over: forget the fallback. */
static void
warp_turn_end(struct queue_owner *o)
{
	struct queue_owner_warp	*w = o->warp;

	if (w == NULL)
		return;
	ev_timer_stop(o->loop, &w->stall_w);
	fallback_free(w->fb);
	w->fb = NULL;
	fallback_hop_clear(&w->hop);
	w->moved = 0;	/* a move whose agent never started */
}

/* Cancel requested: no hop after this. */
static void
warp_cancel(struct queue_owner *o)
{
	if (o->warp != NULL)
		o->warp->cancelled = 1;
}

/* Free what the owner keeps for warp agents. */
static void
warp_free(struct queue_owner *o)
{
	struct queue_owner_warp	*w = o->warp;

	if (w == NULL)
		return;
	warp_turn_end(o);
	if (w->config != NULL)
		config_free(w->config);
	warp_route_stamp_clear(&w->stamp);
	agent_launch_clear(&w->launch);
	agent_launch_clear(&w->old_launch);
	free(w->serving);
	free(w);
	o->warp = NULL;
}

/* Append an event to the record's routing history. */
static void
warp_history_add(struct session_record *rec, json_t *ev)
{
	json_t	*acpx = session_record_acpx(rec), *h;

	if (!json_is_array(h = json_object_get(acpx, "routing_history"))) {
		h = json_array();
		json_object_set_new(acpx, "routing_history", h);
	}
	json_array_append_new(h, ev);
}

static void
warp_hop_step_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct queue_owner	*o = arg;
	struct queue_owner_job	*j = o->job;
	char			*now, *cause = NULL;

	if (j == NULL || j->kind != QUEUE_OWNER_JOB_PROMPT ||
	    j->state != JOB_CONNECT || c != o->client)
		return;
	if (err != NULL) {
		queue_owner_turn_fail(o, queue_owner_job_error_copy(err));
		return;
	}
	if (j->cancel) {
		queue_owner_turn_cancelled(o);
		return;
	}
	if (acp_client_session_id(c) == NULL) {
		/* initialize done: the agent runs; open a new ACP session. */
		now = js_iso_now();
		session_record_agent_started(j->rec, acp_client_pid(c), now);
		free(now);
		session_record_apply_init(j->rec, acp_client_init_result(c));
		acp_client_session_new(c, warp_hop_step_cb, o);
		return;
	}
	session_record_set(&j->rec->acp_session_id, acp_client_session_id(c));
	session_record_set(&j->rec->agent_session_id, NULL);
	session_record_apply_session_result(j->rec, result);
	if (session_store_save(j->rec, &cause) == -1)
		free(cause);
	/* The hop's prompt: the summary and the original prompt. */
	j->state = JOB_PROMPT;
	acp_client_prompt(o->client, o->warp->hop.prompt,
	    queue_owner_turn_prompt_cb, o);
	warp_prompt_sent(o);
	if (o->warp->moved) {
		/* The turn's own prompt, on the agent it moved to. */
		o->warp->moved = 0;
		queue_owner_turn_started(o);
	}
}

/*
 * A hop decided (before a turn or after a failed one): record it, tell the
 * submitter, and replace the agent; the new one's steps go on in
 * warp_hop_step_cb().
 */
static void
warp_hop_go(struct queue_owner *o, struct queue_owner_job *j,
    struct fallback_hop *hop)
{
	json_t	*n;
	char	*cause = NULL;

	warp_history_add(j->rec, fallback_event(hop, time(NULL)));
	json_object_set_new(session_record_acpx(j->rec), "serving_agent",
	    json_string(hop->to));
	if (session_store_save(j->rec, &cause) == -1)
		free(cause);
	n = fallback_notification(hop);
	if (j->peer != NULL)
		queue_owner_job_send(o, j, queue_msg_event(j->req->request_id,
		    0, n, o->gen));
	json_decref(n);
	queue_owner_log(o, "fallback %s -> %s (%s)", hop->from, hop->to,
	    hop->reason);
	queue_owner_agent_retire(o);
	warp_use_launch(o, hop->to, &hop->launch);
	j->state = JOB_CONNECT;
	acp_client_start(queue_owner_agent_client(o), warp_hop_step_cb, o);
}

/*
 * The session so far for the agent a session moves to before a turn: the
 * record's conversation (the newest messages that fit, without the
 * prompt of this turn, which the record already holds), or NULL when
 * there is none. Redacted with the secrets of both launches. Caller owns.
 */
static char *
warp_move_context(const struct session_record *rec, char *const *from,
    char *const *to)
{
	struct conversation_entry	*e;
	size_t				 i, n, first, len = 0;
	char				*out, *tmp;

	e = conversation_entries(rec, &n);
	i = n;
	if (i > 0 && strcmp(e[i - 1].role, "user") == 0)
		i--;	/* this turn's prompt */
	first = i;
	while (first > 0 && len + strlen(e[first - 1].text) <= WARP_CONTEXT_MAX)
		len += strlen(e[--first].text);
	if (first == i) {
		conversation_entries_free(e, n);
		return (NULL);
	}
	out = xstrdup("[acpx] This session continues on another agent (the "
	    "one that served it is over its quota). The session so far, "
	    "message by message:");
	for (; first < i; first++) {
		xasprintf(&tmp, "%s\n\n%s: %s", out, e[first].role,
		    e[first].text);
		free(out);
		out = tmp;
	}
	conversation_entries_free(e, n);
	tmp = secrets_redact_values(out, from);
	free(out);
	out = secrets_redact_values(tmp, to);
	free(tmp);
	return (out);
}

/*
 * Before the turn connects: the serving agent's quota would make the
 * route skip it (fallback_before_turn()). 1 when the session moves to the
 * next agent (a hop without a failure: recorded, the submitter told, the
 * next agent started on a new ACP session and sent the summary and the
 * prompt), 0 when the turn goes on as it is.
 */
static int
warp_move_before(struct queue_owner *o)
{
	struct queue_owner_warp	*w = o->warp;
	struct queue_owner_job	*j = o->job;
	struct fallback_hop	*hop = &w->hop;
	char			*notice = NULL, *ctx;
	json_t			*blocks;
	int			 rc;

	fallback_hop_clear(hop);
	rc = fallback_before_turn(w->fb, &w->stamp, hop, &notice);
	if (notice != NULL) {
		queue_owner_log(o, "%s", notice);
		free(notice);
	}
	if (rc != 1)
		return (0);
	/* The session so far first: the next agent starts a new session. */
	if ((ctx = warp_move_context(j->rec, w->launch.secrets,
	    hop->launch.secrets)) != NULL) {
		blocks = summary_continuation(ctx, hop->prompt);
		json_decref(hop->prompt);
		hop->prompt = blocks;
		free(ctx);
	}
	w->moved = 1;
	warp_hop_go(o, j, hop);
	return (1);
}

/*
 * The prompt of the turn ended (result or err, borrowed): 0 the turn ends
 * as it is, 1 a hop is under way, -1 with *ferr a provider failure with
 * no hop left (a turn that looked done).
 */
static int
warp_prompt_end(struct queue_owner *o, const json_t *result,
    const struct acpx_error *err, struct acpx_error **ferr)
{
	struct queue_owner_warp	*w = o->warp;
	struct queue_owner_job	*j = o->job;
	struct fallback_hop	*hop;
	struct acpx_error	*e = NULL;
	char			*notice = NULL, *stderr_text, *cause = NULL;
	char			*now;
	int			 rc;

	*ferr = NULL;
	if (w == NULL)
		return (0);
	hop = &w->hop;
	ev_timer_stop(o->loop, &w->stall_w);
	if (w->fb == NULL || w->cancelled || j->cancel)
		return (0);
	fallback_hop_clear(hop);
	fallback_tap_seen(w->fb, w->launch.tap);
	stderr_text = o->client != NULL ? acp_client_stderr_text(o->client) :
	    NULL;
	rc = fallback_after_turn(w->fb, err != NULL ? err->acp : NULL,
	    result, stderr_text, hop, &notice, &e);
	w->stalled = 0;
	free(stderr_text);
	if (notice != NULL) {
		queue_owner_log(o, "%s", notice);
		free(notice);
	}
	if (rc == -1) {
		now = js_iso_now();
		warp_history_add(j->rec, json_pack("{s:s, s:s, s:s, s:s}",
		    "type", "provider_failure", "agent", w->serving != NULL ?
		    w->serving : "", "error", e->message, "at", now));
		free(now);
		warp_first_failure(o, "provider_failure", "%s: %s",
		    w->serving != NULL ? w->serving : "", e->message);
		if (session_store_save(j->rec, &cause) == -1) {
			free(cause);
			cause = NULL;
		}
		if (err == NULL) {
			*ferr = e;
			return (-1);
		}
		queue_owner_log(o, "fallback: %s", e->message);
		acpx_error_free(e);
		return (0);
	}
	if (rc == 0)
		return (0);

	/* The hop: record it, tell the submitter, replace the agent. */
	queue_owner_agent_chunk_flush(o);
	warp_first_failure(o, "provider_failure", "%s: %s (%s)", hop->from,
	    hop->reason, hop->signal != NULL ? hop->signal : "");
	warp_hop_go(o, j, hop);
	return (1);
}

const struct queue_owner_hooks queue_owner_warp_hooks = {
	.prepare = warp_prepare,
	.turn_begin = warp_turn_begin,
	.tap = warp_tap,
	.prompt_sent = warp_prompt_sent,
	.prompt_end = warp_prompt_end,
	.turn_end = warp_turn_end,
	.cancel = warp_cancel,
	.free = warp_free,
};

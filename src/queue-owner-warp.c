#include <config.h>

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
#include "fallback.h"
#include "jget.h"
#include "js.h"
#include "queue-owner-impl.h"
#include "queue-proto.h"
#include "session-record.h"
#include "session-store.h"
#include "warp.h"
#include "xmalloc.h"

/*
 * Warp agents behind the queue owner (spec warp-routing.md §7.5): before
 * a turn, the launch of the agent now serving the session
 * (acpx.serving_agent, else the id the session was created with) is
 * prepared (agent-launch.h) and its harness and environment are what the
 * owner spawns; during the
 * turn every ACP message is tapped for the fallback (fallback.h) and the
 * stall rule watches the prompt; on a provider failure the failed agent
 * is closed, the next one of the chain started on a new ACP session and
 * sent the summary and the original prompt, its traffic relayed to the
 * submitter after an `_acpx/fallback` notification, and the record
 * remembers the new serving agent and the routing history.
 */

#define WARP_STALL_CANCEL_S	2.5	/* a stalled agent's answer to cancel */

/* The warp agent id a record was created with, or NULL. */
static const char *
warp_record_id(struct queue_owner *o)
{
	const char	*cmd = o->rec->agent_command;

	if (cmd == NULL || !warp_id_looks(cmd))
		return (NULL);
	return (cmd);
}

/* The full config (warp section, agents), loaded once per owner. */
static struct config *
warp_owner_config(struct queue_owner *o, char **cause)
{
	char	*home;

	if (o->warp_config != NULL)
		return (o->warp_config);
	home = config_home();
	o->warp_config = config_load(home, o->rec->cwd, NULL, cause);
	free(home);
	return (o->warp_config);
}

/*
 * The client's agent is now id, started with launch (moved into the
 * owner; it is empty afterwards). The previous launch is kept until the
 * next swap: a retired client may still be closing.
 */
static void
warp_use_launch(struct queue_owner *o, const char *id, struct agent_launch *l)
{
	agent_launch_clear(&o->warp_old_launch);
	o->warp_old_launch = o->warp_launch;
	o->warp_launch = *l;
	memset(l, 0, sizeof *l);
	o->copts.argv = o->warp_launch.argv != NULL ? o->warp_launch.argv :
	    o->agent_argv;
	o->copts.env_add = o->warp_launch.env_add;
	o->copts.env_unset = o->warp_launch.env_unset;
	o->copts.redact = o->warp_launch.secrets;
	free(o->warp_serving);
	o->warp_serving = xstrdup(id);
}

/* The record's serving agent, or NULL. */
static const char *
warp_serving(struct queue_owner *o)
{
	return (jget_str(o->rec->acpx, "serving_agent"));
}

static void
warp_old_closed_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct queue_owner	*o = arg;

	if (o->client == c)
		o->client = NULL;
	acp_client_free(c);
	o->warp_retiring--;
	queue_owner_kick(o);
}

/*
 * Detach the owner's agent connection and close it (stdin EOF, TERM,
 * KILL) in the background: the next queue_owner_agent_client() spawns afresh.
 */
static void
warp_retire_client(struct queue_owner *o)
{
	struct acp_client	*old = o->client;

	if (old == NULL)
		return;
	o->client = NULL;
	o->warp_retiring++;
	acp_client_abandon(old, o);
	acp_client_close(old, warp_old_closed_cb, o);
}

/*
 * Before the owner connects to a warp session (a prompt turn or an idle
 * control; rec loaded): prepare the serving agent's launch (harness,
 * environment) and point the spawn at it; a warm agent that is another
 * one is retired. 0 (also for other agents), or -1 with *err (the agent
 * must not start; caller owns).
 */
int
queue_owner_warp_prepare(struct queue_owner *o, struct acpx_error **err)
{
	const char		*id, *serving;
	char			*cause = NULL;
	struct agent_launch	 l;

	*err = NULL;
	if ((id = warp_record_id(o)) == NULL)
		return (0);
	if (warp_owner_config(o, &cause) == NULL) {
		*err = acpx_error_new(ACPX_CODE_RUNTIME, NULL, "runtime", "%s",
		    cause);
		free(cause);
		return (-1);
	}
	if ((serving = warp_serving(o)) == NULL)
		serving = id;
	/* Secrets, checks, environment: the same launch step as exec. */
	if (agent_launch_session(o->warp_config, id, serving, &l, err) == -1)
		return (-1);
	/*
	 * A warm agent that is not the serving one is retired: detached from
	 * the owner first, so that this job's connect spawns the serving
	 * agent instead of reusing a connection that is going away.
	 */
	if (o->client != NULL && (o->warp_serving == NULL ||
	    strcmp(o->warp_serving, serving) != 0)) {
		queue_owner_log(o, "warp: retiring the warm %s, the session is "
		    "served by %s", o->warp_serving != NULL ? o->warp_serving :
		    "agent", serving);
		warp_retire_client(o);
	}
	warp_use_launch(o, serving, &l);
	return (0);
}

/*
 * Before a prompt turn connects: queue_owner_warp_prepare(), then follow the
 * prompt for fallback. 0, or -1 with *err (caller owns).
 */
int
queue_owner_warp_turn_begin(struct queue_owner *o, struct acpx_error **err)
{
	o->warp_stalled = 0;
	o->warp_cancelled = 0;
	if (queue_owner_warp_prepare(o, err) == -1)
		return (-1);
	if (warp_record_id(o) == NULL)
		return (0);
	o->fb = fallback_begin_serving(o->warp_config, warp_record_id(o),
	    o->active->req->no_fallback, o->warp_serving, &o->warp_launch,
	    o->active->req->prompt);
	return (0);
}

/* Tap one message of the turn (and feed the stall rule). */
void
queue_owner_warp_tap(struct queue_owner *o, const json_t *msg, int outbound)
{
	if (o->fb == NULL || o->active == NULL)
		return;
	fallback_tap(o->fb, msg);
	if (!outbound && o->state == TURN_PROMPT && !o->warp_stalled &&
	    ev_is_active(&o->warp_stall_w))
		ev_timer_again(o->loop, &o->warp_stall_w);
}

static void
warp_stall_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct queue_owner	*o = w->data;

	ev_timer_stop(loop, w);
	if (o->active == NULL || o->state != TURN_PROMPT || o->client == NULL)
		return;
	if (o->warp_stalled) {
		/* No answer to the cancel either: the prompt ends in error. */
		acp_client_kill(o->client);
		return;
	}
	queue_owner_log(o, "provider stall: no update for %llds, cancelling",
	    fallback_stall_seconds(o->fb));
	o->warp_stalled = 1;
	fallback_stalled(o->fb);
	acp_client_cancel(o->client);
	ev_timer_set(w, WARP_STALL_CANCEL_S, 0.);
	ev_timer_start(loop, w);
}

/* session/prompt was sent: arm the stall rule. */
void
queue_owner_warp_prompt_sent(struct queue_owner *o)
{
	long long	s = fallback_stall_seconds(o->fb);

	if (s <= 0 || o->warp_stalled)
		return;
	ev_timer_init(&o->warp_stall_w, warp_stall_cb, 0., (ev_tstamp)s);
	o->warp_stall_w.data = o;
	ev_timer_again(o->loop, &o->warp_stall_w);
}

/* The turn is over: forget the fallback. */
void
queue_owner_warp_turn_end(struct queue_owner *o)
{
	ev_timer_stop(o->loop, &o->warp_stall_w);
	fallback_free(o->fb);
	o->fb = NULL;
	fallback_hop_clear(&o->warp_hop);
}

/* Cancel requested: no hop after this. */
void
queue_owner_warp_cancel(struct queue_owner *o)
{
	o->warp_cancelled = 1;
}

/* Free what the owner keeps for warp agents. */
void
queue_owner_warp_free(struct queue_owner *o)
{
	queue_owner_warp_turn_end(o);
	if (o->warp_config != NULL)
		config_free(o->warp_config);
	o->warp_config = NULL;
	agent_launch_clear(&o->warp_launch);
	agent_launch_clear(&o->warp_old_launch);
	free(o->warp_serving);
	o->warp_serving = NULL;
}

/* Append an event to the record's routing history. */
static void
warp_history_add(struct queue_owner *o, json_t *ev)
{
	json_t	*acpx = session_record_acpx(o->rec), *h;

	if (!json_is_array(h = json_object_get(acpx, "routing_history"))) {
		h = json_array();
		json_object_set_new(acpx, "routing_history", h);
	}
	json_array_append_new(h, ev);
}


/* Hand a message of the hop to the submitter. */
static void
warp_relay(struct queue_owner *o, const json_t *msg)
{
	json_t	*m;

	if (o->active->peer == NULL)
		return;
	m = queue_msg_event(o->active->req->request_id, 0, msg, o->gen);
	queue_owner_peer_send(o->active->peer, m);
	json_decref(m);
}

static void
warp_hop_prompt(struct queue_owner *o)
{
	o->state = TURN_PROMPT;
	acp_client_prompt(o->client, o->warp_hop.prompt, queue_owner_turn_prompt_cb,
	    o);
	queue_owner_warp_prompt_sent(o);
}

static void
warp_hop_step_cb(struct acp_client *c, const json_t *result,
    struct acpx_error *err, void *arg)
{
	struct queue_owner	*o = arg;
	char		*now, *cause = NULL;

	if (o->active == NULL || o->state != TURN_CONNECT || c != o->client)
		return;
	if (err != NULL) {
		queue_owner_turn_fail(o, queue_owner_turn_error_copy(err));
		return;
	}
	if (o->active->cancel) {
		queue_owner_turn_cancelled(o);
		return;
	}
	if (acp_client_session_id(c) == NULL) {
		/* initialize done: the agent runs; open a new ACP session. */
		now = js_iso_now();
		session_record_agent_started(o->rec, acp_client_pid(c), now);
		free(now);
		session_record_apply_init(o->rec, acp_client_init_result(c));
		acp_client_session_new(c, warp_hop_step_cb, o);
		return;
	}
	session_record_set(&o->rec->acp_session_id, acp_client_session_id(c));
	session_record_set(&o->rec->agent_session_id, NULL);
	session_record_apply_session_result(o->rec, result);
	if (session_store_save(o->rec, &cause) == -1)
		free(cause);
	warp_hop_prompt(o);
}

/*
 * The prompt of the turn ended (result or err, borrowed). Returns 0 when
 * the turn ends as it is, 1 when a hop is under way (the prompt callback
 * runs again for the next agent), -1 with *ferr when a turn that looked
 * done was a provider failure with no hop left.
 */
int
queue_owner_warp_prompt_end(struct queue_owner *o, const json_t *result,
    const struct acpx_error *err, struct acpx_error **ferr)
{
	struct fallback_hop	*hop = &o->warp_hop;
	struct acpx_error	*e = NULL;
	json_t			*n;
	char			*notice = NULL, *stderr_text, *cause = NULL;
	char			*now;
	int			 rc;

	*ferr = NULL;
	ev_timer_stop(o->loop, &o->warp_stall_w);
	if (o->fb == NULL || o->warp_cancelled || o->active->cancel)
		return (0);
	fallback_hop_clear(hop);
	stderr_text = o->client != NULL ? acp_client_stderr_text(o->client) :
	    NULL;
	rc = fallback_after_turn(o->fb, err != NULL ? err->acp : NULL,
	    result, stderr_text, hop, &notice, &e);
	o->warp_stalled = 0;
	free(stderr_text);
	if (notice != NULL) {
		queue_owner_log(o, "%s", notice);
		free(notice);
	}
	if (rc == -1) {
		now = js_iso_now();
		warp_history_add(o, json_pack("{s:s, s:s, s:s, s:s}", "type",
		    "provider_failure", "agent", o->warp_serving != NULL ?
		    o->warp_serving : "", "error", e->message, "at", now));
		free(now);
		if (session_store_save(o->rec, &cause) == -1) {
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
	warp_history_add(o, fallback_event(hop, time(NULL)));
	json_object_set_new(session_record_acpx(o->rec), "serving_agent",
	    json_string(hop->to));
	if (session_store_save(o->rec, &cause) == -1)
		free(cause);
	n = fallback_notification(hop);
	warp_relay(o, n);
	json_decref(n);
	queue_owner_log(o, "fallback %s -> %s (%s)", hop->from, hop->to,
	    hop->reason);

	warp_retire_client(o);
	warp_use_launch(o, hop->to, &hop->launch);
	o->state = TURN_CONNECT;
	acp_client_start(queue_owner_agent_client(o), warp_hop_step_cb, o);
	return (1);
}

#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "acpx.h"
#include "agent-launch.h"
#include "agent-registry.h"
#include "cmdline.h"
#include "config-file.h"
#include "events.h"
#include "secrets.h"
#include "fallback.h"
#include "node-bind.h"
#include "summary.h"
#include "warp.h"
#include "warp-classify.h"
#include "warp-tap.h"
#include "xmalloc.h"

struct fallback {
	const struct config	*config;
	struct warp_config	*wc;
	const json_t		*goal;
	char			*first;		/* the agent the user named */
	char			*current;	/* the agent serving the prompt */
	json_t			*tried;		/* ids that failed, in order */
	json_t			*turn;		/* messages of the current turn */
	int			 hops;
	int			 no_fallback;	/* cooldown only */
	int			 stalled;	/* the turn ended by the stall rule */
	char			*forced;	/* --force-fail: this provider fails */
	char			**secrets;	/* the current launch's, for redaction */
	int			 launch_flags;	/* a hop's launch (agent-launch.h) */
	int			 tapped;	/* warp_tap_verdict() of the turn */
	struct warp_verdict	 tapv;		/* the provider tap's verdict */
};

static struct fallback *
fallback_new(const struct config *c, int no_fallback,
    const struct agent_launch *launch, const json_t *goal, char *name,
    struct warp_config *wc, char *current)
{
	struct fallback	*f;

	f = xcalloc(1, sizeof *f);
	f->config = c;
	f->secrets = launch != NULL ? cmdline_copy(launch->secrets) : NULL;
	f->wc = wc;
	f->goal = goal;
	f->first = name;
	f->current = current;
	f->tried = json_array();
	f->turn = json_array();
	f->no_fallback = no_fallback;
	events_emit("warp.serving", json_pack("{s:s}", "warpAgent", current));
	return (f);
}

/* The normalised warp agent id of agent, or NULL when fallback does not apply. */
static char *
fallback_applies(const struct config *c, const char *agent,
    struct warp_config **wcp)
{
	char	*name, *cause = NULL;

	if (agent == NULL || c == NULL)
		return (NULL);
	name = agent_registry_normalize(agent);
	/* A node-bound id: its node's proxy follows it (node-bind.h). */
	if (config_find_agent(c, name) != NULL ||
	    !warp_id_looks(name) || node_bind_bound(c, name)) {
		free(name);
		return (NULL);
	}
	if ((*wcp = warp_config_load(c, &cause)) == NULL) {
		free(cause);
		free(name);
		return (NULL);
	}
	return (name);
}

/* Follow a prompt on a warp agent; NULL when fallback does not apply. */
struct fallback *
fallback_begin(const struct config *c, const char *agent, int no_fallback,
    const struct agent_launch *launch, const json_t *goal)
{
	struct warp_config	*wc = NULL;
	char			*name;

	if ((name = fallback_applies(c, agent, &wc)) == NULL)
		return (NULL);
	/* The agent the launch step picked. */
	if (launch == NULL || launch->agent == NULL) {
		warp_config_free(wc);
		free(name);
		return (NULL);
	}
	return (fallback_new(c, no_fallback, launch, goal, name, wc,
	    xstrdup(launch->agent)));
}

/* Follow a prompt on the agent now serving a persistent session. */
struct fallback *
fallback_begin_serving(const struct config *c, const char *id,
    int no_fallback, const char *serving, const struct agent_launch *launch,
    const json_t *goal)
{
	struct warp_config	*wc = NULL;
	struct warp_target	 t;
	struct acpx_error	*err = NULL;
	char			*name;

	if ((name = fallback_applies(c, id, &wc)) == NULL)
		return (NULL);
	if (serving == NULL)
		serving = name;
	if (warp_target_resolve(wc, serving, &t, &err) == -1) {
		acpx_error_free(err);
		warp_config_free(wc);
		free(name);
		return (NULL);
	}
	warp_target_clear(&t);
	return (fallback_new(c, no_fallback, launch, goal, name, wc,
	    xstrdup(serving)));
}

/* The flags of a hop's launch (see fallback.h). */
void
fallback_set_launch_flags(struct fallback *f, int flags)
{
	if (f != NULL)
		f->launch_flags = flags;
}

/* warp.stallSeconds, 0 when off. */
long long
fallback_stall_seconds(const struct fallback *f)
{
	return (f != NULL ? f->wc->stall_s : 0);
}

/* The current turn is being ended by the stall rule. */
void
fallback_stalled(struct fallback *f)
{
	if (f != NULL)
		f->stalled = 1;
	events_emit("stall.detected", json_pack("{s:s*, s:I}", "warpAgent",
	    f != NULL ? f->current : NULL, "stallSeconds",
	    (json_int_t)fallback_stall_seconds(f)));
}

/* Free a fallback. */
void
fallback_free(struct fallback *f)
{
	if (f == NULL)
		return;
	warp_config_free(f->wc);
	free(f->first);
	free(f->current);
	json_decref(f->tried);
	json_decref(f->turn);
	cmdline_free(f->secrets);
	free(f->forced);
	warp_verdict_clear(&f->tapv);
	free(f);
}

/* The warp agent id now serving the prompt. */
const char *
fallback_agent(const struct fallback *f)
{
	return (f->current);
}

/* What the turn's provider tap saw (see fallback.h). */
void
fallback_tap_seen(struct fallback *f, const struct warp_tap *tap)
{
	if (f == NULL)
		return;
	warp_verdict_clear(&f->tapv);
	f->tapped = warp_tap_verdict(tap, &f->tapv);
}

/* Record one message of the current turn. */
void
fallback_tap(struct fallback *f, const json_t *msg)
{
	if (f != NULL && msg != NULL) {
		json_array_append(f->turn, (json_t *)msg);
		warp_quota_tap(f->wc, f->current, msg);	/* quota signals */
	}
}

static int
fallback_tried(const struct fallback *f, const char *id)
{
	const json_t	*e;
	size_t		 i;

	json_array_foreach(f->tried, i, e) {
		if (strcmp(json_string_value(e), id) == 0)
			return (1);
	}
	return (0);
}

/*
 * Record the current agent's provider failure: its cooldown by cause
 * (warp-cooldown.h). Returns a line for the user or NULL (caller frees).
 */
static char *
fallback_cooldown(struct fallback *f, const struct warp_verdict *v,
    time_t now)
{
	struct warp_cooldown_failure	 fl;
	struct warp_target		 t;
	struct warp_state		*st;
	struct acpx_error		*err = NULL;
	char				*home, *warning = NULL, *cause = NULL;
	char				*note = NULL;
	int				 lock;

	if (warp_target_resolve(f->wc, f->current, &t, &err) == -1) {
		acpx_error_free(err);
		return (NULL);
	}
	memset(&fl, 0, sizeof fl);
	fl.provider = t.provider->name;
	fl.model = t.model->model;
	fl.reason = v->reason;
	fl.retry_after = v->retry_after;
	fl.reset = warp_quota_believe(v->reset, now);
	fl.source = "fallback";
	home = config_home();
	lock = warp_state_lock(home);
	st = warp_state_load(home, &warning);
	warp_cooldown_record(f->wc, st, &fl, now, &note);
	if (warp_state_save(st, home, now, &cause) == -1)
		free(cause);
	warp_state_unlock(lock);
	warp_state_free(st);
	free(home);
	warp_target_clear(&t);
	if (warning != NULL && note != NULL) {
		xasprintf(&cause, "warning: %s\n%s", warning, note);
		free(note);
		note = cause;
	} else if (warning != NULL)
		xasprintf(&note, "warning: %s", warning);
	free(warning);
	return (note);
}

/* The secrets of this machine, or NULL when they do not load. */
static struct secrets *
fallback_secrets(const struct fallback *f)
{
	struct secrets		*s;
	enum secrets_status	 sst;
	char			*home = config_home(), *path, *cause = NULL;

	path = secrets_path(home, f->wc->env_file);
	s = secrets_load(path, &sst, &cause);
	free(cause);
	free(path);
	free(home);
	return (s);
}

/*
 * The next agent: [first, chain...] minus tried ones and those that may
 * not take a turn (warp_route_check(): cooling, secrets missing, forced).
 */
static char *
fallback_next(struct fallback *f, time_t now)
{
	struct warp_target	 t, cand;
	struct warp_state	*st;
	struct warp_route_check	 rc;
	struct warp_route_ctx	 x;
	struct secrets		*s;
	struct acpx_error	*err = NULL;
	char			**chain, *home, *warning = NULL, *next = NULL;
	size_t			 i;

	if (warp_target_resolve(f->wc, f->first, &t, &err) == -1) {
		acpx_error_free(err);
		return (NULL);
	}
	home = config_home();
	st = warp_state_load(home, &warning);
	free(warning);
	s = fallback_secrets(f);
	chain = warp_chain(f->wc, &t);
	warp_route_ctx_init(&x, f->wc, st, s, f->config, home, now);
	x.forced = f->forced;
	x.node_until = node_bind_state_until;
	for (i = 0; next == NULL; i++) {
		const char *id = i == 0 ? f->first : chain[i - 1];

		if (id == NULL)
			break;
		if (fallback_tried(f, id) || strcmp(id, f->current) == 0)
			continue;
		if (warp_target_resolve(f->wc, id, &cand, &err) == -1) {
			acpx_error_free(err);
			err = NULL;
			continue;
		}
		if (warp_route_check(&x, &cand, 1, &rc) ==
		    WARP_ROUTE_OK)
			next = xstrdup(id);
		warp_route_check_clear(&rc);
		warp_target_clear(&cand);
	}
	free(home);
	secrets_free(s);
	cmdline_free(chain);
	warp_state_free(st);
	warp_target_clear(&t);
	return (next);
}

/* Is the current agent on the provider the operator forces to fail? */
static int
fallback_is_forced(const struct fallback *f)
{
	struct warp_target	 t;
	struct acpx_error	*err = NULL;
	int			 hit;

	if (f->forced == NULL)
		return (0);
	if (warp_target_resolve(f->wc, f->current, &t, &err) == -1) {
		acpx_error_free(err);
		return (0);
	}
	hit = strcmp(t.provider->name, f->forced) == 0;
	warp_target_clear(&t);
	return (hit);
}

/*
 * Would no agent follow next (the hop now planned) if it failed too: no
 * hop left, or no other agent of the chain untried and free? Its harness
 * then keeps its own provider retries (warp.h, harness retries).
 */
static int
fallback_next_is_last(struct fallback *f, const char *next, time_t now)
{
	char	*cur, *after;

	if (f->hops + 1 >= f->wc->max_hops)
		return (1);
	cur = f->current;	/* already among the tried */
	f->current = (char *)next;
	after = fallback_next(f, now);
	f->current = cur;
	if (after == NULL)
		return (1);
	free(after);
	return (0);
}

/* --force-fail before a launch: see fallback.h. */
int
fallback_force_check(const struct config *c, const char *agent,
    const char *provider, struct acpx_error **err)
{
	struct fallback		 f;
	char			*name;
	int			 rc;

	memset(&f, 0, sizeof f);
	if ((name = fallback_applies(c, agent, &f.wc)) == NULL) {
		*err = acpx_error_new(ACPX_CODE_USAGE, "WARP_FORCE_FAIL", "cli",
		    "--force-fail needs a warp agent (<harness>-warp-<provider>-"
		    "<family>) with a valid warp config");
		return (-1);
	}
	rc = fallback_force_fail(&f, provider, err);
	free(f.forced);
	warp_config_free(f.wc);
	free(name);
	return (rc);
}

/* --force-fail: see fallback.h. */
int
fallback_force_fail(struct fallback *f, const char *provider,
    struct acpx_error **err)
{
	char	*norm = xstrdup(provider), *p;

	for (p = norm; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	if (warp_config_provider(f->wc, norm) == NULL) {
		*err = acpx_error_new(ACPX_CODE_USAGE, "WARP_PROVIDER_UNKNOWN",
		    "cli", "--force-fail: '%s' is not a configured warp provider "
		    "(see acpx warp list)", provider);
		free(norm);
		return (-1);
	}
	free(f->forced);
	f->forced = norm;
	return (0);
}

/* Does msg end the turn with a provider failure? */
int
fallback_turn_failed(struct fallback *f, const json_t *msg)
{
	struct warp_turn_end	 te;
	struct warp_verdict	 v;
	int			 hit;

	if (f == NULL || f->no_fallback || json_object_get(msg, "id") == NULL ||
	    json_object_get(msg, "method") != NULL)
		return (0);
	memset(&te, 0, sizeof te);
	te.error = json_object_get(msg, "error");
	te.result = json_object_get(msg, "result");
	if (te.error == NULL && json_object_get(te.result, "stopReason") == NULL)
		return (0);
	if (fallback_is_forced(f))
		return (1);
	te.messages = f->turn;
	te.patterns = json_object_get(f->wc->merged, "providerErrorPatterns");
	hit = warp_classify(&te, &v);
	warp_verdict_clear(&v);
	return (hit);
}

/*
 * The hop to next (taken: the caller's launch is in hop->launch already)
 * for reason, with signal (taken): the continuation summary of the turn
 * so far, the next agent's prompt; next serves from now on.
 */
static void
fallback_hop_fill(struct fallback *f, char *next, const char *reason,
    char *signal, struct fallback_hop *hop)
{
	char	*summary, *tmp;

	summary = summary_build(f->goal, f->turn, signal);
	/* Neither the failed agent's secrets nor the next one's. */
	tmp = secrets_redact_values(summary, f->secrets);
	hop->summary = secrets_redact_values(tmp, hop->launch.secrets);
	free(tmp);
	free(summary);
	cmdline_free(f->secrets);
	f->secrets = cmdline_copy(hop->launch.secrets);
	hop->from = xstrdup(f->current);
	hop->to = next;
	hop->reason = xstrdup(reason);
	hop->signal = signal;
	hop->prompt = summary_continuation(hop->summary, f->goal);
	hop->hop = ++f->hops;
	events_emit("fallback.hop", json_pack("{s:s, s:s, s:s, s:i}", "from",
	    hop->from, "to", hop->to, "reason", hop->reason, "hop", hop->hop));
	free(f->current);
	f->current = xstrdup(next);
	json_array_clear(f->turn);
}

/* The current turn ended: classify, record, and plan the hop. */
int
fallback_after_turn(struct fallback *f, const json_t *error,
    const json_t *result, const char *stderr_text, struct fallback_hop *hop,
    char **notice, struct acpx_error **err)
{
	struct warp_turn_end	 te;
	struct warp_verdict	 v;
	char			*signal, *next;
	time_t			 now = time(NULL);
	int			 forced = 0, tapped = f->tapped;
	json_t			*pev;

	memset(hop, 0, sizeof *hop);
	*notice = NULL;
	*err = NULL;
	memset(&te, 0, sizeof te);
	te.error = error;
	te.result = result;
	te.messages = f->turn;
	te.stderr_text = stderr_text;
	te.patterns = json_object_get(f->wc->merged, "providerErrorPatterns");
	f->tapped = 0;
	if (tapped == 2 && !fallback_is_forced(f)) {
		/* The provider tap ended the turn: its verdict is the signal. */
		f->stalled = 0;
		v = f->tapv;
		memset(&f->tapv, 0, sizeof f->tapv);
	} else if (f->stalled) {
		/* No update and no answer for warp.stallSeconds: a provider stall. */
		f->stalled = 0;
		memset(&v, 0, sizeof v);
		v.reason = "stalled";
		xasprintf(&v.signal, "no update and no answer for %llds "
		    "(warp.stallSeconds)", f->wc->stall_s);
	} else if ((forced = fallback_is_forced(f))) {
		/* A rehearsal: the turn fails whatever it answered. */
		memset(&v, 0, sizeof v);
		v.reason = "forced";
		xasprintf(&v.signal, "provider %s forced to fail (--force-fail)",
		    f->forced);
	} else if (!warp_classify(&te, &v)) {
		warp_verdict_clear(&v);
		return (0);
	}
	if (tapped == 1 && !forced) {
		/* The harness gave up after the failures the tap saw. */
		warp_verdict_clear(&v);
		v = f->tapv;
		memset(&f->tapv, 0, sizeof f->tapv);
	}
	signal = secrets_redact_values(v.signal, f->secrets);
	pev = json_pack("{s:s, s:s}", "warpAgent", f->current, "reason",
	    v.reason);
	if (v.status != 0) {	/* what the provider tap saw */
		json_object_set_new(pev, "class", json_string(
		    warp_cooldown_cause_name(warp_cooldown_cause(v.reason))));
		json_object_set_new(pev, "status", json_integer(v.status));
		if (v.retry_after > 0)
			json_object_set_new(pev, "retryAfter",
			    json_integer(v.retry_after));
	}
	events_emit("provider.failed", pev);
	if (!forced)	/* a rehearsal leaves the shared state alone */
		*notice = fallback_cooldown(f, &v, now);
	json_array_append_new(f->tried, json_string(f->current));
	if (f->no_fallback) {
		/* A stalled turn was cancelled by us: it must not look done. */
		if (strcmp(v.reason, "stalled") == 0 || forced ||
		    tapped == 2) {
			*err = acpx_error_new(ACPX_CODE_RUNTIME,
			    "WARP_PROVIDER_FAILURE", "acp", "Provider failure on "
			    "%s (%s): %s; fallback disabled (--no-fallback)",
			    f->current, v.reason, signal);
			free(signal);
			warp_verdict_clear(&v);
			return (-1);
		}
		free(signal);
		warp_verdict_clear(&v);
		return (0);
	}

	next = NULL;
	if (f->hops >= f->wc->max_hops)
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_PROVIDER_FAILURE",
		    "acp", "Provider failure on %s (%s): %s; no fallback after "
		    "%d hop%s (warp.maxHops)", f->current, v.reason, signal,
		    f->hops, f->hops == 1 ? "" : "s");
	else if ((next = fallback_next(f, now)) == NULL)
		*err = acpx_error_new(ACPX_CODE_RUNTIME, "WARP_PROVIDER_FAILURE",
		    "acp", "Provider failure on %s (%s): %s; no agent of its "
		    "fallback chain is left", f->current, v.reason, signal);
	else if (agent_launch_prepare(f->config, next, NULL, f->launch_flags |
	    (fallback_next_is_last(f, next, now) ? AGENT_LAUNCH_HOP |
	    AGENT_LAUNCH_HOP_LAST : AGENT_LAUNCH_HOP), &hop->launch,
	    err) == -1) {
		free(next);
		next = NULL;
	}
	if (next == NULL) {
		free(signal);
		warp_verdict_clear(&v);
		return (-1);
	}

	fallback_hop_fill(f, next, v.reason, signal, hop);
	warp_verdict_clear(&v);
	return (1);
}

/* Before a persistent session's turn: move off a quota-skipped agent. */
int
fallback_before_turn(struct fallback *f, struct warp_route_stamp *stamp,
    struct fallback_hop *hop, char **notice)
{
	struct acpx_error	*err = NULL;
	char			*why, *next, *home;
	time_t			 now = time(NULL);

	memset(hop, 0, sizeof *hop);
	*notice = NULL;
	if (f == NULL || f->no_fallback)
		return (0);
	home = config_home();
	if (!warp_route_quota_before(f->wc, home, f->current, now, stamp,
	    &why)) {
		free(home);
		return (0);
	}
	free(home);
	json_array_append_new(f->tried, json_string(f->current));
	next = NULL;
	if (f->hops >= f->wc->max_hops)
		xasprintf(notice, "warp: %s: %s; no hop left (warp.maxHops), "
		    "the turn stays on it", f->current, why);
	else if ((next = fallback_next(f, now)) == NULL)
		xasprintf(notice, "warp: %s: %s; no other agent of its fallback "
		    "chain is free, the turn stays on it", f->current, why);
	else if (agent_launch_prepare(f->config, next, NULL, f->launch_flags |
	    (fallback_next_is_last(f, next, now) ? AGENT_LAUNCH_HOP |
	    AGENT_LAUNCH_HOP_LAST : AGENT_LAUNCH_HOP), &hop->launch,
	    &err) == -1) {
		xasprintf(notice, "warp: %s: %s; %s cannot start (%s), the turn "
		    "stays on it", f->current, why, next, err->message);
		acpx_error_free(err);
		free(next);
		next = NULL;
	}
	if (next == NULL) {
		json_array_remove(f->tried, json_array_size(f->tried) - 1);
		free(why);
		return (0);
	}
	xasprintf(notice, "warp: %s: %s; the session moves to %s before the "
	    "turn", f->current, why, next);
	fallback_hop_fill(f, next, "quota", why, hop);
	return (1);
}

/* Free a hop. */
void
fallback_hop_clear(struct fallback_hop *hop)
{
	free(hop->from);
	free(hop->to);
	free(hop->reason);
	free(hop->signal);
	free(hop->summary);
	json_decref(hop->prompt);
	agent_launch_clear(&hop->launch);
	memset(hop, 0, sizeof *hop);
}

/* The json-mode report of a hop. */
json_t *
fallback_notification(const struct fallback_hop *hop)
{
	return (json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "jsonrpc",
	    "2.0", "method", "_acpx/fallback", "params", "from", hop->from,
	    "to", hop->to, "reason", hop->reason, "summary", hop->summary));
}

/* The routing event for a session's history. */
json_t *
fallback_event(const struct fallback_hop *hop, time_t now)
{
	char	*iso = warp_iso_time(now);
	json_t	*ev;

	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "type",
	    "fallback", "from", hop->from, "to", hop->to, "reason", hop->reason,
	    "signal", hop->signal, "summary", hop->summary, "hop", hop->hop,
	    "at", iso);
	free(iso);
	return (ev);
}

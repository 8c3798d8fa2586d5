/*
 * Provider-failure fallback (spec warp-routing.md §7): the hop logic shared
 * by `exec` (cmd-exec.c) and the queue owner's persistent prompts
 * (queue-owner-warp.c), and the stall rule's verdict. A struct
 * fallback follows one prompt on a warp agent: it records the turn's ACP
 * messages (fallback_tap), and when the turn ends it classifies the end
 * (warp-classify.h); on a provider failure it puts the provider/model into
 * cooldown (~/.acpx/warp/state.json, source "fallback"), picks the next
 * agent of the chain that is not cooling down, prepares its launch
 * (agent_launch_prepare(): harness and environment), and builds the hop: from, to, reason, the
 * exact signal, the continuation summary (summary.h) and the prompt for
 * the next agent (summary + original prompt). After warp.maxHops hops, or
 * with no agent left, the prompt fails with the last provider error.
 * Spawning the next agent and streaming it is the caller's job.
 */
#ifndef ACPX_FALLBACK_H
#define ACPX_FALLBACK_H

#include <time.h>

#include <jansson.h>

#include "acpx-error.h"
#include "agent-launch.h"

struct config;

struct fallback;

/* One hop from an agent that failed for a provider reason to the next. */
struct fallback_hop {
	char	*from;		/* warp agent id */
	char	*to;		/* warp agent id */
	char	*reason;	/* "quota-exhausted", "rate-limited", ... */
	char	*signal;	/* the exact provider failure signal */
	char	*summary;	/* continuation summary */
	json_t	*prompt;	/* content blocks: summary, then the original */
	int	 hop;		/* 1 for the first hop */
	struct agent_launch launch;	/* what starts hop->to */
};

/*
 * Follow a prompt (goal: its content blocks, borrowed for the fallback's
 * life) on the agent name (as given; NULL for an --agent override) with
 * config (borrowed for the fallback's life). NULL when fallback does not
 * apply: --agent, not a warp agent id, or a warp config that does not
 * load. With no_fallback it only records cooldowns (fallback_after_turn
 * returns 0). The current agent is the one launch (borrowed, prepared
 * with AGENT_LAUNCH_PICK) started; its secrets are redacted from signals
 * and summaries.
 */
struct fallback	*fallback_begin(const struct config *, const char *name,
		    int no_fallback, const struct agent_launch *launch,
		    const json_t *goal);

/*
 * fallback_begin() for a persistent session's prompt: id is the warp
 * agent id the session was created with (its chain is used), serving the
 * one that now holds the session (NULL: that same id), started as is with
 * launch: no cooldown pick, the context stays where it is.
 */
struct fallback	*fallback_begin_serving(const struct config *,
		    const char *id, int no_fallback, const char *serving,
		    const struct agent_launch *launch, const json_t *goal);

/*
 * --force-fail: every turn of an agent on provider fails as a provider
 * failure (reason "forced"), whatever it answered, and no agent on that
 * provider is picked as the next one; no cooldown is recorded (a
 * rehearsal of the fallback). -1 with *err (caller owns) when provider is
 * not configured.
 */
int		 fallback_force_fail(struct fallback *, const char *provider,
		    struct acpx_error **err);

/*
 * The check of --force-fail before anything starts: agent (NULL for an
 * --agent override) must be a warp agent and provider configured. -1 with
 * *err (caller owns) otherwise.
 */
int		 fallback_force_check(const struct config *, const char *agent,
		    const char *provider, struct acpx_error **err);

/* warp.stallSeconds of the prompt (0: off, or f NULL). */
long long	 fallback_stall_seconds(const struct fallback *);

/*
 * The agent_launch_prepare() flags of a hop's launch (default 0): the
 * client's permission mode and policy (AGENT_LAUNCH_PERM), which a
 * node-bound agent's proxy applies on its node, or AGENT_LAUNCH_HERE in
 * a node's own proxy. f may be NULL.
 */
void		 fallback_set_launch_flags(struct fallback *, int flags);

/*
 * The caller ends the current turn by the stall rule (it sent
 * session/cancel): the next fallback_after_turn() treats the turn as a
 * provider failure with reason "stalled", whatever its answer; with
 * --no-fallback it fails (-1) instead of passing as done.
 */
void		 fallback_stalled(struct fallback *);
void		 fallback_free(struct fallback *);

/* The warp agent id now serving the prompt. */
const char	*fallback_agent(const struct fallback *);

/*
 * The current turn ran with a provider tap (warp-tap.h; tap may be NULL):
 * call after the turn, before fallback_after_turn(). A tap that ended
 * the turn makes it a provider failure with the tap's verdict (the HTTP
 * status, class and Retry-After the provider answered); a failure the
 * tap saw in a turn that fails anyway replaces the harness's wording.
 */
struct warp_tap;
void		 fallback_tap_seen(struct fallback *, const struct warp_tap *);

/* Record one ACP message of the current turn (either direction; borrowed). */
void		 fallback_tap(struct fallback *, const json_t *msg);

/*
 * Non-zero if msg (just tapped) ends the turn (an error response, or a
 * result with a stopReason) with what classifies as a provider failure:
 * lets a renderer drop the cut-short turn's partial answer (quiet mode).
 */
int		 fallback_turn_failed(struct fallback *, const json_t *msg);

/*
 * The current turn ended: error = the session/prompt JSON-RPC error object
 * (or NULL), result = its result (or NULL), stderr_text = the agent's
 * stderr (or NULL). Returns 0 when it was not a provider failure; 1 when
 * a hop is ready in *hop (hop->launch starts the next agent; the
 * turn record is reset for it; free with fallback_hop_clear()); -1 when
 * it was a provider failure but no hop is possible (maxHops reached, chain
 * exhausted or cooling down): *err is the last provider error (caller
 * owns). Cooldown is recorded in every provider case; *notice may get a
 * line for the user (caller frees).
 */
int		 fallback_after_turn(struct fallback *, const json_t *error,
		    const json_t *result, const char *stderr_text,
		    struct fallback_hop *hop, char **notice,
		    struct acpx_error **err);
void		 fallback_hop_clear(struct fallback_hop *);

/*
 * Before a persistent session's turn is sent (nothing of it tapped yet):
 * when the route rule would skip the serving agent for its quota
 * (warp_route_quota_before(), stamp the caller's cache), plan the move to
 * the next agent of the chain as a hop: reason "quota", the quota line as
 * its signal, the continuation summary and prompt; no cooldown is
 * recorded (the reading is the cause). 1 with *hop ready (free with
 * fallback_hop_clear()); 0 when the turn stays (no quota skip, fallback
 * disabled, no hop left, no other agent free or startable: *notice then
 * says so). *notice: a line for the user or NULL (caller frees).
 */
struct warp_route_stamp;
int		 fallback_before_turn(struct fallback *,
		    struct warp_route_stamp *stamp, struct fallback_hop *hop,
		    char **notice);

/*
 * {"jsonrpc":"2.0","method":"_acpx/fallback","params":{from,to,reason,
 * summary}}: the json-mode report of a hop. Caller owns.
 */
json_t		*fallback_notification(const struct fallback_hop *);

/*
 * The routing event for a session's history: {type:"fallback", from, to,
 * reason, signal, summary, hop, at (ISO time)}. Caller owns.
 */
json_t		*fallback_event(const struct fallback_hop *, time_t now);

#endif

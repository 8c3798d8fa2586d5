/*
 * agent-launch: what to start for an agent, decided right before it is
 * spawned, the same way on every start path (exec, compare, sessions
 * new/ensure, the queue owner's turns and controls, a fallback hop, the
 * direct set-mode/set). The registry's argv plus what a launch resolver
 * adds: a row of the resolver table matches the agent name and fills the
 * environment changes, the secret values to redact and a notice. Warp is
 * the one resolver today (warp.h): warp agent ids (*-warp-*) get their
 * provider environment from the secrets file, possibly after a cooldown
 * pick of another agent of the chain; plain harness aliases get this
 * host's warp.hostDefaults. Secrets travel in the launch's environment
 * only, never in acpx's own (acp-client.h gives them to the spawn).
 *
 * A struct agent_launch owns everything it points to; agent_launch_clear()
 * frees it, wiping the environment values and secrets.
 */
#ifndef ACPX_AGENT_LAUNCH_H
#define ACPX_AGENT_LAUNCH_H

#include "acpx-error.h"

struct config;
struct warp_endpoint;
struct warp_tap;

struct agent_launch {
	char	**argv;		/* what to spawn, NULL-terminated */
	char	**env_add;	/* "NAME=VALUE" for the agent's environment */
	char	**env_unset;	/* names removed from the agent's environment */
	char	**secrets;	/* values never shown (redacted), NULL-terminated */
	char	 *agent;	/* the agent started: a resolver's pick, else the
				   normalised name; NULL when no resolver applied */
	char	 *notice;	/* a line for the user (a cooldown pick), or NULL */
	char	 *node;		/* the execution node it runs on (node-bind.h),
				   or NULL: here */
	struct warp_endpoint *endpoint;	/* a warp agent's provider over ACP
				   (warp-endpoint.h, bound to argv), or NULL */
	struct warp_tap *tap;	/* the provider tap the harness talks to
				   (warp-tap.h; AGENT_LAUNCH_TAP), or NULL */
};

/* A resolver may choose another agent of the name's fallback chain. */
#define AGENT_LAUNCH_PICK	0x1
/*
 * The permission mode and non-interactive policy of the client, for an
 * agent that serves fs and terminals itself (a node-bound agent's proxy):
 * AGENT_LAUNCH_PERM(mode, nonint) ORed into the flags.
 */
#define AGENT_LAUNCH_PERMS	0x2
#define AGENT_LAUNCH_PERM(mode, nonint)					\
	(AGENT_LAUNCH_PERMS | ((int)(mode) & 0xf) << 4 |		\
	((int)(nonint) & 0xf) << 8)
/* Start it on this machine even when it is bound to nodes. */
#define AGENT_LAUNCH_HERE	0x4
/*
 * A fallback walker's next agent: another would follow it (HOP), or none
 * would (HOP | HOP_LAST); a warp harness keeps its own provider retries
 * only as the last (warp.h, harness retries).
 */
#define AGENT_LAUNCH_HOP	0x1000
#define AGENT_LAUNCH_HOP_LAST	0x2000
/*
 * The caller serves a provider tap on its loop while the agent runs
 * (launch->tap: warp_tap_start(), warp-tap.h); without it no tap is made.
 */
#define AGENT_LAUNCH_TAP	0x4000
#define AGENT_LAUNCH_PERM_MODE(f)	(((f) >> 4) & 0xf)
#define AGENT_LAUNCH_NONINT(f)		(((f) >> 8) & 0xf)

/*
 * Prepare the launch of name (the agent name as given, before the
 * registry; NULL for an --agent override: no resolver applies) with
 * config (NULL: no resolver applies). argv is the agent's resolved argv
 * (copied into launch->argv), or NULL to resolve name through the
 * registry; when a resolver picked another agent, that agent's argv is
 * resolved instead. -1 with *err (caller owns) when the agent must not
 * start; launch is then empty. Local files only; nothing is spawned.
 */
int		 agent_launch_prepare(const struct config *, const char *name,
		    char *const *argv, int flags, struct agent_launch *,
		    struct acpx_error **err);

/*
 * Prepare is where node-bound agents (agents.<id>.nodes, node-bind.h) are
 * started on a node: launch->argv is then the ssh command line of the
 * node's proxy and launch->node the node chosen (the first reachable).
 */

/*
 * The launch of a saved session's agent for a process that starts it
 * again (the queue owner, direct controls): for a session on an execution
 * node (node, from the record), the node's proxy for agent_command on
 * that node only (NODE_UNREACHABLE when it is down; flags as for
 * prepare); for a session created with a warp agent id (agent_command),
 * the agent now serving it (serving, else agent_command) with its harness
 * argv and environment; other sessions need no launch step: 0 with
 * launch empty (argv NULL).
 */
int		 agent_launch_session(const struct config *,
		    const char *agent_command, const char *serving,
		    const char *node, int flags, struct agent_launch *,
		    struct acpx_error **err);

/* Free what a launch holds (values wiped); it is empty afterwards. */
void		 agent_launch_clear(struct agent_launch *);

#endif

/*
 * `acpx warp serve <agent-id>`: acpx as an ACP agent on stdin/stdout
 * (NDJSON JSON-RPC) in front of the harness that `acpx <agent-id> exec`
 * would start (agent-launch.h: registry, Warp resolver, secrets in the
 * spawn environment only). Every message is forwarded with ids mapped;
 * the proxy keeps one client session id per session for its whole life
 * and maps it to the agent now serving it and its upstream session
 * (~/.acpx/warp/sessions/<id>.json), falls back inside one prompt on a
 * provider failure (fallback.h), and reattaches a session after a restart
 * (upstream session/load or resume, else a new upstream session with a
 * continuation summary).
 *
 * The process is split by reaper_keeper_fork(): the keeper (the pid the
 * client started) kills whatever a killed worker leaves behind.
 *
 * warp-serve.c owns the client connection, the dispatch of its messages
 * and the lifecycle; warp-serve-up.c the harness processes;
 * warp-serve-session.c the sessions and the map files; warp-serve-turn.c
 * prompts, fallback hops, the stall rule and the replay of mode and
 * config choices (warp-serve-impl.h between them).
 */
#ifndef ACPX_WARP_SERVE_H
#define ACPX_WARP_SERVE_H

#include "acpx.h"

struct config;

/* What the command line gives the proxy; borrowed for its whole run. */
struct warp_serve_opts {
	const struct config	*config;	/* loaded config (warp, agents, auth) */
	const char		*agent;		/* the agent id as given */
	const char		*cwd;		/* default session directory */
	int			 no_fallback;	/* --no-fallback: cooldowns only */
	int			 verbose;	/* "[acpx] warp serve: ..." on stderr */
	/*
	 * The client's permission mode and non-interactive policy: passed to
	 * a node-bound harness's proxy; in node mode they decide the fs and
	 * terminal requests served here.
	 */
	enum acpx_perm_mode	 perm_mode;
	enum acpx_nonint	 nonint;
	/*
	 * --on-node: this proxy runs on an execution node for a client on
	 * another machine (node-bind.h): sessions run in cwd whatever the
	 * client says, the fs and terminal methods are served here, agents are
	 * started here even when bound to nodes.
	 */
	int			 on_node;
	const char		*force_fail;	/* --force-fail: this provider fails */
};

/*
 * In node mode, a session/prompt whose _meta has this key (a provider
 * name) is forced to fail as --force-fail forces a turn: a persistent
 * session's prompt --force-fail on the control machine (its queue owner
 * sets it) reaches the node's proxy, which resolves the provider there.
 */
#define WARP_SERVE_META_FORCE_FAIL	"acpx-native/forceFail"

/*
 * Serve until the client closes stdin or a SIGTERM/SIGINT/SIGHUP: the
 * harnesses get stdin EOF, then TERM, then KILL after a grace. Returns
 * the exit status (0 for a clean end). Runs the keeper split first.
 */
int		 warp_serve_main(const struct warp_serve_opts *);

#endif

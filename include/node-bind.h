/*
 * Agents bound to execution nodes (agents.<id>.nodes in the config): such
 * an agent is started as ACP over ssh through the node's own proxy,
 *
 *	ssh ... <node's acpx> [permission flags] warp serve --on-node <id>
 *
 * on the shared connection of `--node` (node-relay.h: BatchMode, the
 * private ControlPath, sshOptions, the node's shell quoting), run in the
 * node user's home directory. The proxy loads the node's secrets and
 * hostDefaults there and serves the fs and terminal methods itself (warp-serve.h);
 * nothing of this machine's environment crosses.
 *
 * This module owns the choice of node and the down marks: new work goes to
 * the first node of the list that answers (node_bind_probe()); an unreachable node (ssh exit 255, refused, no
 * answer within nodeConnectTimeout) is marked down for NODE_BIND_COOLDOWN_S
 * seconds in ~/.acpx/nodes-down.json (written atomically, fsutil.h) and the
 * next is tried, with a one-line notice on stderr; nodes marked down are
 * tried last. A session records its node and stays there.
 *
 * Blocking: the probe runs ssh to completion (bounded by
 * nodeConnectTimeout) before an agent starts, unless the node's shared
 * connection is up; it runs no event loop, so any caller may use it.
 * Ownership: strings returned are the caller's.
 */
#ifndef ACPX_NODE_BIND_H
#define ACPX_NODE_BIND_H

#include "acpx-error.h"
#include "acpx.h"

struct config;

#define NODE_BIND_COOLDOWN_S	60
#define NODE_BIND_STATE_FILE	"nodes-down.json"	/* under ~/.acpx */

/*
 * The start of agent (normalised id) on a node: *argv (the ssh command
 * line; free with node_relay_argv_free()) and *chosen (the node's name).
 * node NULL picks from the agent's binding (failover); a node name uses
 * that node only (a session's), NODE_UNREACHABLE when it cannot be
 * reached. perms: pass the client's mode and non-interactive policy to
 * the proxy (else the node's config decides). 0, or -1 with *err.
 */
int		 node_bind_launch(const struct config *, const char *agent,
		    const char *node, int perms, enum acpx_perm_mode,
		    enum acpx_nonint, char ***argv, char **chosen,
		    struct acpx_error **err);

/*
 * The names of this process's environment variables that look like
 * secrets (provider keys, WARP_*, ACPX_AUTH_*): removed from ssh's
 * environment. NULL-terminated, the caller's.
 */
char		**node_bind_env_unset(void);

/*
 * --force-fail <provider> for agent (as named on the command line): when
 * it is bound to nodes, its node's proxy is started with that option (it
 * resolves the provider there), and 1 is returned: the caller does not
 * force it here. 0 when it is not bound (nothing changes). For this
 * process's life; only that agent's start carries it, not a hop's.
 */
int		 node_bind_force_fail(const struct config *, const char *agent,
		    const char *provider);

/* Is agent (normalised) bound to nodes in this config? */
int		 node_bind_bound(const struct config *, const char *agent);
/* The same for an agent as named on the command line (NULL: no). */
int		 node_bind_bound_name(const struct config *, const char *name);

/*
 * node-bind-probe.c: can node n be reached now (a live shared connection,
 * else `acpx --version` over ssh within nodeConnectTimeout)? 0, or -1
 * with *err (NODE_UNREACHABLE when ssh could not reach it). Blocks (a
 * labelled step, on no event loop).
 */
struct config_node;
int		 node_bind_probe(const struct config_node *,
		    struct acpx_error **err);

/* node-bind-state.c: the down marks (home: $HOME). */
int		 node_bind_state_down(const char *home, const char *node);
/* When node's mark ends (ms since the epoch; may be past), 0 if none. */
long long	 node_bind_state_until(const char *home, const char *node);
void		 node_bind_state_mark(const char *home, const char *node,
		    int down, const char *cause);

#endif

/*
 * The agent registry (spec acpx-cli.md §7): the built-in agents with their
 * exact launch argv (the reference's 26 plus acpx-native's "demo"), the
 * aliases, name normalisation, and resolution of an agent name or an
 * --agent override to what to spawn: a configured agent, a built-in, a
 * warp agent id (<harness>-warp-<provider>-<family>: the harness's command,
 * see warp.h; its provider environment is added at launch by
 * agent_launch_prepare()), or the name itself as a raw command line.
 * Table-driven; no I/O except looking for acpx-demo-agent next to the
 * running binary.
 */
#ifndef ACPX_AGENT_REGISTRY_H
#define ACPX_AGENT_REGISTRY_H

#include <stddef.h>

struct config;

/* A resolved agent: what to spawn and how it is named. */
struct agent_spec {
	char		*name;		/* for messages: positional, else defaultAgent, else codex */
	char		*command;	/* identity string (session scope, display) */
	char		**argv;		/* NULL-terminated spawn argv, argv[0] looked up in PATH */
	char		*argv_error;	/* raw command that cannot be split: the spawn-time
					   RUNTIME message; argv is NULL then (never for exec) */
};

/* The default agent name when config has none. */
#define AGENT_REGISTRY_DEFAULT	"codex"

/* Number of built-in agents, and the name of the i-th (help order). */
size_t		 agent_registry_count(void);
const char	*agent_registry_name(size_t);

/* The display name of a built-in ("Claude Code"), or NULL. */
const char	*agent_registry_display(const char *name);

/* Non-zero if name is exactly (case-sensitively) a built-in's name. */
int		 agent_registry_is_builtin(const char *name);

/* normalizeAgentName(): trimmed, lower-cased (ASCII). Caller owns. */
char		*agent_registry_normalize(const char *name);

/* The canonical name for a normalised name (aliases such as factory-droid). */
const char	*agent_registry_canonical(const char *normalized);

/*
 * Resolve an agent. name = the agent name for messages (positional, else
 * config defaultAgent, else codex); override = the trimmed --agent value or
 * NULL. Fills spec (free with agent_registry_spec_clear()): command is the
 * identity string, argv what to spawn. When a raw command string cannot be split,
 * argv is NULL and argv_error holds the spawn-time message.
 */
void		 agent_registry_resolve(const struct config *, const char *name,
		    const char *override, struct agent_spec *spec);

/* Free what agent_registry_resolve() put into spec. */
void		 agent_registry_spec_clear(struct agent_spec *);

#endif
